"""The core driven with no chat framework: /start, languages, duplicates, errors."""

from __future__ import annotations

from bot.app import Application
from tests.fakes import FakeMessenger, UpdateFactory


async def test_start_greets_a_citizen_in_vietnamese_by_default(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    outcome = await application.core.handle(updates.message("/start", first_name="Lan"))
    assert outcome.handled
    [text] = messenger.texts()
    assert "Xin chào Lan" in text
    assert "/help" in text


async def test_start_answers_in_english_for_an_english_client(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    await application.core.handle(updates.message("/start", language_code="en-US"))
    assert messenger.texts()[0].startswith("Hello")


async def test_repeated_update_is_handled_once(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    first = await application.core.handle(updates.message("/help", update_id="77"))
    again = await application.core.handle(updates.message("/help", update_id="77"))
    assert first.handled and not first.duplicate
    assert again.duplicate
    assert len(messenger.sent) == 1


async def test_user_text_is_escaped(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    await application.core.handle(updates.message("/start", first_name="<b>Kẻ xấu</b>"))
    text = messenger.texts()[0]
    assert "&lt;b&gt;Kẻ xấu&lt;/b&gt;" in text
    assert "<b>Kẻ xấu</b>" not in text


async def test_lang_switch_is_remembered(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    await application.core.handle(updates.message("/lang en"))
    await application.core.handle(updates.message("/help"))
    assert messenger.texts()[0] == "Switched to English."
    assert messenger.texts()[1].startswith("<b>Commands you can use</b>")
    await application.core.handle(updates.message("/ngonngu vi"))
    assert messenger.texts()[2] == "Đã chuyển sang tiếng Việt."


async def test_unknown_command_is_explained_in_private_and_ignored_in_groups(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    await application.core.handle(updates.message("/bogus"))
    await application.core.handle(updates.message("/bogus", chat_id="-100", group=True))
    assert len(messenger.sent) == 1
    assert "/bogus" in messenger.texts()[0]


async def test_handler_exception_apologises_and_next_update_is_served(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory, monkeypatch
) -> None:
    route = application.core.routes.commands["help"]

    async def broken(ctx: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(
        application.core.routes.commands,
        "help",
        type(route)(route.names, broken, None, None, route.chats, False),
    )
    outcome = await application.core.handle(updates.message("/help"))
    assert outcome.errors == ["core.apology"]
    assert "Xin lỗi" in messenger.texts()[0]
    assert "boom" not in messenger.texts()[0]
    await application.core.handle(updates.message("/start"))
    assert "Xin chào" in messenger.texts()[1]


async def test_cancel_without_conversation(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    await application.core.handle(updates.message("/huy"))
    assert messenger.texts() == ["Không có thao tác nào đang dở để huỷ."]


async def test_stale_button_gets_a_polite_answer(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    outcome = await application.core.handle(updates.press("nosuch:1"))
    assert outcome.callback_answer is not None
    assert outcome.callback_answer.text == "Nút này đã cũ hoặc không còn hiệu lực."
    assert messenger.sent == []
