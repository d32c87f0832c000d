"""The same behaviour on every channel: Telegram on aiogram, Telegram on python-telegram-bot,
and Zalo OA. Staff features are Telegram-only and run on both Telegram runtimes elsewhere
(tests/e2e, tests/checkin, tests/tasks_feature, tests/reports)."""

from __future__ import annotations

from bot.runner import RunningBot
from tests.chat import MockChatClient, bot_messages
from tests.conformance.conftest import People
from tests.faq_feature.helpers import add_person, bind_support_group

SUPPORT_GROUP, STAFF = -1001777, 720002


async def test_start_and_help(people: People) -> None:
    lan = await people.citizen(720101, "Lan")
    [greeting] = await lan.ask("/start")
    assert greeting.text.startswith("Xin chào Lan!")
    [help_] = await lan.ask("/trogiup")
    assert "Các lệnh bạn dùng được" in help_.text and "/start" in help_.text


async def test_language_switch(people: People) -> None:
    lan = await people.citizen(720102, "Lan")
    [switched] = await lan.ask("/lang en")
    assert switched.text == "Switched to English."
    [help_] = await lan.ask("/help")
    assert help_.text.startswith("Commands you can use")
    [back] = await lan.ask("/ngonngu vi")
    assert back.text == "Đã chuyển sang tiếng Việt."


async def test_citizen_questions(people: People) -> None:
    lan = await people.citizen(720103, "Lan")
    [card] = await lan.ask("lam giay khai sinh cho con")
    assert "Đăng ký khai sinh" in card.text
    assert "cấp bách" in card.text and "ký vào sổ" in card.text
    assert any("Hỏi cán bộ" in label for label in card.buttons)

    # Zalo carries at most five buttons a message, so a long menu may come in two parts.
    unsure = " ".join(reply.text for reply in await lan.ask("giá vàng hôm nay"))
    assert "chưa chắc" in unsure and "1022" in unsure

    choices = await lan.ask("bằng lái")
    assert choices[0].text.startswith("Bạn muốn hỏi:")
    offered = next(r for r in choices if any("Cấp lại giấy phép" in b for b in r.buttons))
    chosen = await lan.press(offered, "Cấp lại giấy phép lái xe")
    assert any("Cấp lại giấy phép lái xe bị mất" in reply.text for reply in chosen)


async def test_handoff_round_trip(people: People, bot: RunningBot, chat: MockChatClient) -> None:
    db = bot.application.app.db
    await bind_support_group(db, str(SUPPORT_GROUP))
    await add_person(db, name="Cán bộ Hà", role="staff", user_id=str(STAFF))
    staff = await chat.user(STAFF, "Hà")
    await chat.group(SUPPORT_GROUP, "Hỗ trợ công dân", [STAFF])
    [started] = await staff.ask("/start")

    lan = await people.citizen(720104, "Lan")
    [card] = await lan.ask("trích lục khai sinh")
    [prompt] = await lan.press(card, "Hỏi cán bộ")
    assert "gõ câu hỏi" in prompt.text
    [sent] = await lan.ask("Em ở tỉnh khác thì xin trích lục khai sinh thế nào?")
    assert "Đã chuyển câu hỏi" in sent.text

    [post] = await bot_messages(chat, SUPPORT_GROUP, 0)
    assert "xin trích lục khai sinh thế nào" in post["text"]
    in_group = staff.in_chat(SUPPORT_GROUP)
    await in_group.callback_answer(await in_group.press(post, "Trả lời"))
    await staff.bot_replies(int(started["message_id"]))
    answered = await staff.send("Bạn nộp trực tuyến, kết quả gửi qua bưu điện.")
    await staff.bot_replies(int(answered["message_id"]))
    relayed = await lan.wait_for("Cán bộ trả lời")
    assert "qua bưu điện" in relayed.text


async def test_bad_input_is_explained(people: People) -> None:
    lan = await people.citizen(720105, "Lan")
    [unknown] = await lan.ask("/bogus")
    assert "Không có lệnh /bogus" in unknown.text
    [refused] = await lan.ask("/diemdanh")
    assert "chỉ dành cho cán bộ" in refused.text


async def test_repeated_update_is_answered_once(people: People) -> None:
    lan = await people.citizen(720106, "Lan")
    [only] = await lan.send_twice("/start")
    assert only.text.startswith("Xin chào")


async def test_recovers_from_flood_control_or_an_expired_token(
    people: People, chat: MockChatClient, channel: str
) -> None:
    lan = await people.citizen(720107, "Lan")
    if channel == "zalo":
        await chat.post("/_mock/zalo/tokens/expire", {})
    else:
        await chat.post(
            "/_mock/faults",
            {"method": "sendMessage", "error_code": 429, "retry_after": 1, "times": 1},
        )
    [greeting] = await lan.ask("/start")
    assert greeting.text.startswith("Xin chào Lan!")
    if channel == "zalo":
        tokens = await chat.get("/_mock/zalo/tokens")
        assert tokens["refreshes"] >= 1, tokens
    else:
        assert (await chat.stats())["errors"].get("429", 0) == 1
