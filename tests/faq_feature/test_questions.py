"""Questions, cards, menu and the learning loop, driven through the core with no framework."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.app import Application
from bot.clock import ManualClock
from bot.core.events import Button
from handlers.faq import EntryButton, FieldButton, MenuButton, entry_data
from storage.models import UnansweredQuestion
from tests.fakes import FakeMessenger, Recorded, UpdateFactory
from tests.faq_feature.helpers import add_person


def buttons(record: Recorded) -> list[Button]:
    return [b for row in record.message.buttons for b in row]


def labels(record: Recorded) -> list[str]:
    return [b.text for b in buttons(record)]


async def ask(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory, text: str, **kw
) -> Recorded:
    before = len(messenger.sent)
    await application.core.handle(updates.message(text, **kw))
    assert len(messenger.sent) == before + 1, messenger.texts()[before:]
    return messenger.sent[-1]


async def unanswered_rows(application: Application) -> list[UnansweredQuestion]:
    async with application.app.db.transaction() as session:
        return list(await session.scalars(select(UnansweredQuestion)))


async def test_answer_cards(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory, clock: ManualClock
) -> None:
    # Birth registration: accepted in person as urgent; the register must be signed there.
    card = await ask(application, messenger, updates, "lam giay khai sinh cho con")
    text = card.message.text
    assert "<b>Đăng ký khai sinh</b>" in text
    assert "cấp bách" in text and "Đang tiếp nhận trực tiếp" in text
    assert "ký vào sổ" in text and "không gửi qua bưu điện" in text
    assert "Mang theo" in text and "Giấy chứng sinh" in text
    assert "ví dụ" in text  # unverified time and fee are marked
    assert "🙋 Hỏi cán bộ" in labels(card)
    assert len(text) < 1200  # short enough for a phone screen

    # Marriage: not accepted now (the shipped rule was announced until 15 April 2020; the
    # clock says the 14th), and the result cannot be posted.
    card = await ask(application, messenger, updates, "đăng ký kết hôn")
    text = card.message.text
    assert "<b>Đăng ký kết hôn</b>" in text
    assert "tạm ngừng tiếp nhận" in text and "15/04/2020" in text
    assert "không gửi qua bưu điện được" in text

    # Online level 3: the portal, in the text and as a link button; results by post.
    card = await ask(application, messenger, updates, "cấp phiếu lý lịch tư pháp")
    text = card.message.text
    assert "trực tuyến" in text and "mức độ 3" in text
    assert "lltptructuyen.moj.gov.vn" in text and "bưu điện" in text
    portal = [b for b in buttons(card) if b.url]
    assert portal and portal[0].url == "https://lltptructuyen.moj.gov.vn"

    # Staff may ask too; an English client gets the English card.
    await add_person(application.app.db, name="Cán bộ Hà", role="staff", user_id="300")
    card = await ask(application, messenger, updates, "dang ky tam tru", user_id="300")
    assert "<b>Đăng ký tạm trú</b>" in card.message.text
    card = await ask(
        application, messenger, updates, "register a birth", user_id="301", language_code="en"
    )
    assert "<b>Birth registration</b>" in card.message.text
    assert "urgent" in card.message.text and "sign the register" in card.message.text

    # Before the rule started: normal service.
    clock.set(datetime(2020, 3, 20, 3, 0, tzinfo=UTC))
    card = await ask(application, messenger, updates, "đăng ký kết hôn")
    assert "Đang tiếp nhận bình thường" in card.message.text
    assert await unanswered_rows(application) == []


async def test_not_sure_courtesy_and_what_is_never_answered(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    reply = await ask(application, messenger, updates, "giá vàng hôm nay")
    text = reply.message.text
    assert "chưa chắc" in text and "1022" in text
    found = buttons(reply)
    assert any(b.data and FieldButton.matches(b.data) for b in found)  # the field menu
    assert any(b.phone == "1022" for b in found)  # a call button (Zalo) and the number in text
    assert any("Gửi câu hỏi cho cán bộ" in b.text for b in found)
    # The same question asked differently is counted under one normalised text.
    for again in ("Giá vàng hôm nay?", "gia vang hom nay"):
        await ask(application, messenger, updates, again)
    [row] = await unanswered_rows(application)
    assert row.count == 3 and row.kind == "none" and row.example == "giá vàng hôm nay"

    # User text is escaped.
    reply = await ask(application, messenger, updates, "<b>xyzxyz</b> & <i>")
    assert "&lt;b&gt;xyzxyz&lt;/b&gt; &amp; &lt;i&gt;" in reply.message.text

    # Greetings and thanks get a friendly answer and are not logged.
    hello = await ask(application, messenger, updates, "xin chào ad", first_name="Lan")
    assert hello.message.text.startswith("Xin chào Lan!")
    thanks = await ask(application, messenger, updates, "cảm ơn ad nhiều")
    assert thanks.message.text.startswith("Không có gì")

    # A state secret is refused before anything is stored.
    reply = await ask(application, messenger, updates, "Tài liệu TỐI MẬT về khai sinh")
    assert "khai sinh" not in reply.message.text.lower()
    # A message without text gets a hint.
    reply = await ask(application, messenger, updates, "")
    assert "/thutuc" in reply.message.text
    assert len(await unanswered_rows(application)) == 2  # gold price, the escaped one

    # A close call offers choices.
    reply = await ask(application, messenger, updates, "bằng lái")
    text = reply.message.text
    assert text.startswith("Bạn muốn hỏi:")
    assert "1) " in text and "2) " in text
    entry_ids = {
        EntryButton.unpack(b.data).entry_id
        for b in buttons(reply)
        if b.data and EntryButton.matches(b.data)
    }
    assert {"doi-gplx", "cap-lai-gplx"} <= entry_ids
    # Choosing one shows its card.
    press = next(b for b in buttons(reply) if b.data == EntryButton("cap-lai-gplx").pack())
    await application.core.handle(updates.press(press.data or ""))
    assert "Cấp lại giấy phép lái xe bị mất" in messenger.sent[-1].message.text
    kinds = {row.kind for row in await unanswered_rows(application)}
    assert "ambiguous" in kinds

    # In groups the bot stays quiet.
    before = len(messenger.sent)
    outcome = await application.core.handle(
        updates.message("đăng ký khai sinh", chat_id="-100900", group=True)
    )
    assert not outcome.handled and len(messenger.sent) == before


async def test_menu_topics_and_stale_buttons(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    menu = await ask(application, messenger, updates, "/thutuc")
    fields = [b for b in buttons(menu) if b.data and FieldButton.matches(b.data)]
    assert [b.text for b in fields][:3] == ["Hộ tịch", "Chứng thực", "Công chứng"]
    assert any("đang được tiếp nhận" in b.text for b in buttons(menu))
    await application.core.handle(updates.press(fields[0].data or "", message_id=menu.message_id))
    [page] = menu.edits
    assert "Hộ tịch" in page.text and "trang 1/" in page.text
    page_buttons = [b for row in page.buttons for b in row]
    assert any(b.text == "▶" for b in page_buttons)
    first = next(b for b in page_buttons if b.data and EntryButton.matches(b.data))
    await application.core.handle(updates.press(first.data or ""))
    assert "<b>Đăng ký khai sinh</b>" in messenger.sent[-1].message.text
    back = next(b for b in page_buttons if b.data == MenuButton().pack())
    await application.core.handle(updates.press(back.data or "", message_id=menu.message_id))
    assert menu.edits[-1].text.startswith("📂")

    # A field button from an older catalogue version reopens the menu instead.
    stale = FieldButton(version=999, field=0).pack()
    outcome = await application.core.handle(updates.press(stale, message_id=menu.message_id))
    assert outcome.callback_answer is not None and outcome.callback_answer.text
    assert menu.edits[-1].text.startswith("📂")
    outcome = await application.core.handle(updates.press(EntryButton("no-such-thing").pack()))
    assert outcome.callback_answer is not None and outcome.callback_answer.text

    # What is accepted now, by reason.
    await application.core.handle(updates.press(entry_data("topic:accepted-list")))
    text = messenger.sent[-1].message.text
    assert "Nộp trực tuyến:" in text and "Cấp phiếu lý lịch tư pháp" in text
    assert "Cấp bách, nộp trực tiếp:" in text and "Đăng ký khai sinh" in text
    assert "Đăng ký kết hôn;" not in text and not text.endswith("Đăng ký kết hôn")

    # The hotline: number in the text and a call button.
    await application.core.handle(updates.press(entry_data("topic:hotline")))
    sent = messenger.sent[-1]
    assert "1022" in sent.message.text
    assert any(b.phone == "1022" for b in buttons(sent))
