"""Both Telegram messengers turn the platform's answers into the same delivery errors, so the
delivery layer (retries, the shared rate limiter) treats the two runtimes alike."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.channels.telegram_aiogram_messenger import AiogramMessenger, make_bot
from bot.channels.telegram_ptb import PtbRuntime
from bot.channels.telegram_ptb_messenger import PtbMessenger, make_ptb_bot
from bot.core.events import ChatKind, ChatRef, OutMessage
from bot.delivery import errors
from bot.mockserver.server import MockServer
from tests.bot_fixtures import TOKEN
from tests.chat import MockChatClient

CHAT = ChatRef("telegram", "740001", ChatKind.PRIVATE)


@pytest.fixture(params=["aiogram", "ptb", "ptb-send-only"])
async def messenger(request: pytest.FixtureRequest, mock: MockServer) -> AsyncIterator[object]:
    if request.param == "ptb-send-only":
        # The lean client a send-only process uses (benchmarks/broadcast.py).
        ptb_bot = make_ptb_bot(TOKEN, mock.base_url)
        await ptb_bot.initialize()
        try:
            yield PtbMessenger(ptb_bot)
        finally:
            await ptb_bot.shutdown()
        return
    if request.param == "aiogram":
        bot = make_bot(TOKEN, mock.base_url)
        try:
            yield AiogramMessenger(bot)
        finally:
            await bot.session.close()
        return
    runtime = PtbRuntime(None, TOKEN, mock.base_url)  # type: ignore[arg-type]
    await runtime.application.initialize()
    try:
        yield runtime.messenger
    finally:
        await runtime.application.shutdown()


async def fault(chat: MockChatClient, code: int, **extra: object) -> None:
    await chat.post("/_mock/faults", {"method": "sendMessage", "error_code": code, **extra})


@pytest.mark.parametrize("code", [500, 502, 503])
async def test_a_5xx_is_a_server_error(messenger: object, chat: MockChatClient, code: int) -> None:
    await chat.user(740001, "Lan")
    await fault(chat, code)
    with pytest.raises(errors.ServerError):
        await messenger.send(CHAT, OutMessage("xin chào"))  # type: ignore[attr-defined]
    # The fault was used up: the next send goes through.
    sent = await messenger.send(CHAT, OutMessage("xin chào"))  # type: ignore[attr-defined]
    assert sent.message_id


@pytest.mark.parametrize(
    ("code", "extra", "expected"),
    [
        (429, {"retry_after": 2}, errors.RetryAfter),
        (403, {"description": "Forbidden: bot was blocked by the user"}, errors.Unreachable),
        (400, {"description": "Bad Request: chat not found"}, errors.Rejected),
    ],
)
async def test_client_errors_are_not_server_errors(
    messenger: object,
    chat: MockChatClient,
    code: int,
    extra: dict[str, object],
    expected: type[Exception],
) -> None:
    await chat.user(740001, "Lan")
    await fault(chat, code, **extra)
    with pytest.raises(expected) as caught:
        await messenger.send(CHAT, OutMessage("xin chào"))  # type: ignore[attr-defined]
    assert not isinstance(caught.value, errors.ServerError)


async def test_html_is_the_default_parse_mode(messenger: object, chat: MockChatClient) -> None:
    await chat.user(740001, "Lan")
    await messenger.send(CHAT, OutMessage("<b>Khẩn</b>: họp lúc 8:00"))  # type: ignore[attr-defined]
    [message] = await chat.messages(740001)
    assert message["parse_mode"] == "HTML"
    assert message["plain_text"] == "Khẩn: họp lúc 8:00"
    assert [e["type"] for e in message.get("entities", [])] == ["bold"]
