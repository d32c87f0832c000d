"""Acceptance: citizens and staff over the mock chat server, with the real aiogram runtime."""

from __future__ import annotations

import base64

from bot.runner import RunningBot
from bot.services.faq.index import FaqIndex
from tests.chat import MockChatClient, bot_messages, buttons
from tests.faq_feature.helpers import BAD_CSV, add_person, bind_support_group, version_count

GROUP = -1001500
CITIZEN, STAFF, ADMIN = 710001, 710002, 710003


async def test_citizen_questions_get_cards_choices_and_not_sure(
    bot: RunningBot, chat: MockChatClient
) -> None:
    # Several citizens, because delivery paces replies to about one a second per chat.
    citizen = await chat.user(CITIZEN, "Lan")
    other = await chat.user(710011, "Minh")
    third = await chat.user(710012, "Hoa")

    [card] = await citizen.ask("lam giay khai sinh cho con")
    text = card["text"]
    assert text.startswith("📋 <b>Đăng ký khai sinh</b>")
    assert "tiếp nhận trực tiếp vì là hồ sơ cấp bách" in text
    assert "phải đến trực tiếp để ký vào sổ" in text
    assert "🙋 Hỏi cán bộ" in buttons(card)

    [marriage] = await other.ask("đăng ký kết hôn")
    assert "Đăng ký kết hôn" in marriage["text"]
    assert "tạm ngừng tiếp nhận" in marriage["text"]
    assert "không gửi qua bưu điện được" in marriage["text"]

    [unsure] = await third.ask("giá vàng hôm nay")
    assert "chưa chắc" in unsure["text"] and "1022" in unsure["text"]
    assert {"Hộ tịch", "Chứng thực", "🙋 Gửi câu hỏi cho cán bộ"} <= set(buttons(unsure))

    [choices] = await other.ask("bằng lái")
    assert choices["text"].startswith("Bạn muốn hỏi:")
    pressed = await other.press(choices, "Cấp lại giấy phép lái xe")
    await other.callback_answer(pressed)
    [chosen] = await other.bot_replies(int(choices["message_id"]))
    assert chosen["text"].startswith("📋 <b>Cấp lại giấy phép lái xe bị mất</b>")

    [hello] = await third.ask("chào ad")
    assert hello["text"].startswith("Xin chào Hoa!")

    # The menu, and what is accepted now.
    menu_user = await chat.user(710013, "Tâm")
    [menu] = await menu_user.ask("/thutuc")
    pressed = await menu_user.press(menu, "đang được tiếp nhận")
    await menu_user.callback_answer(pressed)
    [listing] = await menu_user.bot_replies(int(menu["message_id"]))
    assert "Nộp trực tuyến:" in listing["text"] and "Cấp bách, nộp trực tiếp:" in listing["text"]


async def test_handoff_round_trip(bot: RunningBot, chat: MockChatClient) -> None:
    db = bot.application.app.db
    await bind_support_group(db, str(GROUP))
    await add_person(db, name="Cán bộ Hà", role="staff", user_id=str(STAFF))
    citizen = await chat.user(CITIZEN, "Lan")
    staff = await chat.user(STAFF, "Hà")
    await chat.group(GROUP, "Hỗ trợ công dân", [STAFF])
    [started] = await staff.ask("/start")  # the staff member has a private chat with the bot

    [card] = await citizen.ask("trích lục khai sinh")
    await citizen.callback_answer(await citizen.press(card, "Hỏi cán bộ"))
    [prompt] = await citizen.bot_replies(int(card["message_id"]))
    assert "gõ câu hỏi" in prompt["text"]
    [sent] = await citizen.ask("Em ở tỉnh khác thì xin trích lục khai sinh thế nào?")
    assert "Đã chuyển câu hỏi" in sent["text"]

    [post] = await bot_messages(chat, GROUP, 0)
    assert "xin trích lục khai sinh thế nào" in post["text"]
    in_group = staff.in_chat(GROUP)
    await in_group.callback_answer(await in_group.press(post, "Trả lời"))
    [reply_prompt] = await staff.bot_replies(int(started["message_id"]))
    assert "Gõ câu trả lời" in reply_prompt["text"]

    answered = await staff.send(
        "Bạn nộp trực tuyến trên dichvucong.gov.vn, kết quả gửi qua bưu điện."
    )
    [relayed] = await staff.bot_replies(int(answered["message_id"]))
    assert "Đã gửi câu trả lời" in relayed["text"]
    [reply] = await citizen.bot_replies(int(sent["message_id"]))
    assert "Cán bộ trả lời" in reply["text"] and "dichvucong.gov.vn" in reply["text"]
    edited = next(m for m in await chat.messages(GROUP) if m["message_id"] == post["message_id"])
    assert "Cán bộ Hà đã trả lời" in edited["text"]

    # The second way: a staff member replies to the posted question in the group.
    second = await chat.user(710014, "Bình")
    [sent2] = await second.ask("/hoicanbo Tôi mất sổ hộ khẩu thì sao?")
    posts = await bot_messages(chat, GROUP, int(post["message_id"]))
    question = next(m for m in posts if "mất sổ hộ khẩu" in m["text"])
    await in_group.send(
        "Bạn làm thủ tục cấp lại tại công an phường.", reply_to=question["message_id"]
    )
    [reply2] = await second.bot_replies(int(sent2["message_id"]))
    assert "công an phường" in reply2["text"]


async def test_invalid_catalogue_upload_changes_nothing(
    bot: RunningBot, chat: MockChatClient
) -> None:
    db = bot.application.app.db
    await add_person(db, name="Quản trị", role="admin", user_id=str(ADMIN))
    admin = await chat.user(ADMIN, "Quản trị")
    before = bot.application.app.get(FaqIndex).current
    sent = await chat.post(
        "/_mock/documents",
        {
            "chat_id": ADMIN,
            "from_id": ADMIN,
            "filename": "danh-muc.csv",
            "content_base64": base64.b64encode(BAD_CSV).decode(),
        },
    )
    [report] = await admin.bot_replies(int(sent["message_id"]))
    assert "KHÔNG thay đổi" in report["text"]
    assert "row 2" in report["text"] and "row 3" in report["text"] and "row 4" in report["text"]
    assert await version_count(db) == 1
    assert bot.application.app.get(FaqIndex).current is before
    citizen = await chat.user(CITIZEN, "Lan")
    [card] = await citizen.ask("đăng ký khai sinh")
    assert card["text"].startswith("📋 <b>Đăng ký khai sinh</b>")
