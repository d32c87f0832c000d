"""Sending through the OA API: parts, buttons, error codes, token retry, the 48-hour window."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import Application
from bot.channels.zalo import protocol
from bot.channels.zalo.runtime import ZaloRuntime
from bot.clock import ManualClock
from bot.core.events import Button, CallbackAnswer, ChatRef, OutMessage, SentRef
from bot.delivery.errors import Rejected, RetryAfter, Unreachable
from bot.mockserver.server import MockServer
from tests.zalo.conftest import ZaloControl, millis, sqlite_url, zalo_runtime

USER = "9001"
CHAT = ChatRef("zalo", USER)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path)  # the database is incidental here; test_tokens runs on both


@pytest.fixture
async def runtime(
    application: Application, mock: MockServer, control: ZaloControl, clock: ManualClock
) -> AsyncIterator[ZaloRuntime]:
    """The runtime's messenger registered with delivery; no webhook server needed here."""
    runtime = zalo_runtime(application, mock)
    await runtime.prepare()
    await control.post("/_mock/zalo/clock", {"now_ms": millis(clock)})
    await control.post(
        "/_mock/zalo/users", {"user_id": USER, "display_name": "Lan", "interacted": True}
    )
    # The user wrote just now, as far as the bot knows: replies are allowed.
    await runtime.contacts.wrote(USER, clock.now(), "m-1")
    try:
        yield runtime
    finally:
        await runtime.stop()


async def bot_texts(control: ZaloControl) -> list[str]:
    return [m["text"] for m in await control.messages(USER) if m["from_bot"]]


def long_answer(sentences: int) -> str:
    return " ".join(
        f"Câu {i}: hồ sơ gồm tờ khai và bản sao giấy tờ tùy thân." for i in range(sentences)
    )


async def test_html_is_sent_as_plain_text(runtime: ZaloRuntime, control: ZaloControl) -> None:
    ref = await runtime.messenger.send(CHAT, OutMessage("<b>Lệ phí</b>: 2.000&nbsp;đ &amp; miễn"))
    assert await bot_texts(control) == ["Lệ phí: 2.000\xa0đ & miễn"]
    assert ref.chat == CHAT and len(ref.message_id) == 32


async def test_long_text_goes_in_parts_with_buttons_on_the_last(
    runtime: ZaloRuntime, control: ZaloControl
) -> None:
    text = long_answer(100)  # ~5,600 characters
    buttons = ((Button("Gọi 1022", phone="1022"),),)
    await runtime.messenger.send(CHAT, OutMessage(text, buttons))
    messages = [m for m in await control.messages(USER) if m["from_bot"]]
    assert len(messages) == 3
    assert all(len(m["text"]) <= protocol.TEXT_LIMIT for m in messages)
    assert " ".join(m["text"] for m in messages) == text
    assert [len(m["buttons"]) for m in messages] == [0, 0, 1]


async def test_more_buttons_than_zalo_allows_go_in_a_second_message(
    runtime: ZaloRuntime, control: ZaloControl
) -> None:
    buttons = tuple((Button(f"Thủ tục {i}", data=f"faq:{i}"),) for i in range(7))
    await runtime.messenger.send(CHAT, OutMessage("Bạn muốn hỏi:", buttons))
    messages = [m for m in await control.messages(USER) if m["from_bot"]]
    assert [len(m["buttons"]) for m in messages] == [5, 2]
    assert [b["payload"] for m in messages for b in m["buttons"]] == [
        f"#q:faq:{i}" for i in range(7)
    ]


async def test_invalid_token_is_refreshed_and_the_send_retried_once(
    runtime: ZaloRuntime, control: ZaloControl
) -> None:
    await control.post("/_mock/zalo/tokens/expire")
    await runtime.messenger.send(CHAT, OutMessage("Đã nhận hồ sơ."))
    assert await bot_texts(control) == ["Đã nhận hồ sơ."]
    state = await control.tokens()
    assert (state["token_refused"], state["refreshes"]) == (1, 1)


async def test_token_refused_again_after_refresh_stops(
    runtime: ZaloRuntime, control: ZaloControl
) -> None:
    await control.post("/_mock/zalo/faults", {"error": -216, "times": 2})
    with pytest.raises(Rejected):
        await runtime.messenger.send(CHAT, OutMessage("Đã nhận hồ sơ."))
    assert (await control.tokens())["refreshes"] == 1  # one refresh, one retry, then stop
    assert await bot_texts(control) == []


ERROR_CODES: list[tuple[int, type[Exception]]] = [
    (-213, Unreachable),  # not following: stop until the user writes
    (-230, Unreachable),  # silent for 7 days
    (-232, Unreachable),  # never interacted
    (-32, RetryAfter),  # rate limit: back off
    (-211, Rejected),  # out of quota
    (-224, Rejected),
    (-240, Rejected),
    (-999, Rejected),  # anything unknown is not retried
]


async def test_error_codes_map_to_delivery_errors(
    runtime: ZaloRuntime, control: ZaloControl
) -> None:
    for code, error in ERROR_CODES:
        await control.post("/_mock/zalo/faults", {"error": code})
        with pytest.raises(error):
            await runtime.messenger.send(CHAT, OutMessage("Xin chào"))
    assert (await control.tokens())["refreshes"] == 0
    assert await bot_texts(control) == []


async def test_a_retried_long_message_does_not_repeat_delivered_parts(
    runtime: ZaloRuntime, control: ZaloControl, application: Application
) -> None:
    # The second part hits Zalo's rate limit once; delivery retries the whole message.
    await control.post("/_mock/zalo/faults", {"error": -32, "skip": 1, "times": 1})
    text = long_answer(100)
    await application.app.delivery.send(CHAT, OutMessage(text))
    texts = await bot_texts(control)
    assert len(texts) == 3 and " ".join(texts) == text


async def test_no_reply_outside_the_48_hour_window(
    runtime: ZaloRuntime, control: ZaloControl, clock: ManualClock
) -> None:
    clock.advance(timedelta(hours=47, minutes=59))
    await runtime.messenger.send(CHAT, OutMessage("Còn trong 48 giờ."))
    clock.advance(timedelta(minutes=2))
    with pytest.raises(Rejected):
        await runtime.messenger.send(CHAT, OutMessage("Quá 48 giờ."))
    with pytest.raises(Rejected):  # never wrote at all
        await runtime.messenger.send(ChatRef("zalo", "9999"), OutMessage("Chào bạn"))
    assert await bot_texts(control) == ["Còn trong 48 giờ."]
    # Writing again reopens the window, and the book survives a restart (it is in the DB).
    await runtime.contacts.wrote(USER, clock.now(), "m-2")
    runtime.contacts._cache.clear()
    assert await runtime.contacts.may_reply(USER)


async def test_the_window_never_moves_backwards(runtime: ZaloRuntime, clock: ManualClock) -> None:
    late = clock.now()
    await runtime.contacts.wrote(USER, late - timedelta(hours=3), "m-old")  # a late retry
    runtime.contacts._cache.clear()
    contact = await runtime.contacts.get(USER)
    assert contact is not None and contact.last_message_at == late


async def test_edit_sends_a_new_message_and_callback_answers_are_messages(
    runtime: ZaloRuntime, control: ZaloControl
) -> None:
    messenger = runtime.messenger
    ref = await messenger.send(CHAT, OutMessage("Chọn ngôn ngữ"))
    await messenger.edit(ref, OutMessage("Đã chuyển sang tiếng Việt."))
    # The same words as the edit: not said twice. Other words: said.
    await messenger.answer_callback(f"{USER}/m-5", CallbackAnswer("Đã chuyển sang tiếng Việt."))
    await messenger.answer_callback(f"{USER}/m-6", CallbackAnswer("Nút này đã cũ <3"))
    await messenger.answer_callback(f"{USER}/m-7", CallbackAnswer(None))
    await messenger.delete(SentRef(CHAT, ref.message_id))  # not possible on Zalo; no error
    assert await bot_texts(control) == [
        "Chọn ngôn ngữ",
        "Đã chuyển sang tiếng Việt.",
        "Nút này đã cũ <3",
    ]


async def test_mock_enforces_the_text_limit(
    runtime: ZaloRuntime, control: ZaloControl, mock: MockServer
) -> None:
    async with control.http.post(
        protocol.SEND_CS_PATH,
        json=protocol.text_body(USER, "x" * (protocol.TEXT_LIMIT + 1)),
        headers={protocol.ACCESS_TOKEN_HEADER: "any"},
    ) as answer:
        body = await answer.json()
    assert body["error"] == protocol.PARAMS_INVALID
    assert await bot_texts(control) == []


async def test_profile_name_is_read_from_zalo(runtime: ZaloRuntime) -> None:
    assert await runtime.messenger.display_name(USER) == "Lan"
    assert await runtime.messenger.display_name("404") == ""


async def test_runtime_from_settings(application: Application) -> None:
    settings = application.app.settings.model_copy(
        update={"zalo_app_id": "42", "zalo_secret_key": "app-secret", "zalo_api_url": "http://x"}
    )
    built = ZaloRuntime.from_settings(application.core, settings, refresh_token="seed")
    try:
        verifier = built.webhook.verifier
        # Until a separate OA key is configured, the one secret also signs events.
        assert (verifier.app_id, verifier.oa_secret_key) == ("42", "app-secret")
        assert built.tokens.app_secret == "app-secret"
        assert built.tokens.pair.refresh_token == "seed"
        assert built.messenger.api_url == "http://x"
    finally:
        await built.stop()
