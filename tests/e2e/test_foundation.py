"""The real Telegram runtimes (aiogram and python-telegram-bot) against the mock over HTTP."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config import Settings
from bot.runner import RunningBot, start_bot
from storage.models import Identity
from tests.chat import MockChatClient


@pytest.fixture(params=["aiogram", "ptb"])
def runtime(request: pytest.FixtureRequest) -> str:
    """Both Telegram runtimes run the same handlers and must behave the same."""
    return str(request.param)


async def test_start_in_vietnamese_and_english(bot: RunningBot, chat: MockChatClient) -> None:
    lan = await chat.user(200001, "Lan", language_code="vi")
    john = await chat.user(200002, "John", language_code="en")
    [vi] = await lan.ask("/start")
    [en] = await john.ask("/start")
    assert vi["text"].startswith("Xin chào Lan!")
    assert en["text"].startswith("Hello John!")


async def test_command_menus_registered_in_both_languages(
    bot: RunningBot, chat: MockChatClient
) -> None:
    stats = await chat.stats()
    assert stats["calls"].get("setMyCommands", 0) >= 2


async def test_repeated_update_is_handled_once(bot: RunningBot, chat: MockChatClient) -> None:
    user = await chat.user(200003, "Hoa")
    [reply] = await user.ask("/help")
    assert "/start" in reply["text"]
    # The same update handed to the core again (a redelivery) changes nothing.
    from bot.core.events import ChatRef, Incoming, Sender

    incoming = Incoming(
        channel="telegram",
        update_id="dup-1",
        chat=ChatRef("telegram", "200003"),
        sender=Sender("200003", "Hoa"),
        date=bot.application.app.clock.now(),
        text="/help",
        command="help",
    )
    first = await bot.application.core.handle(incoming)
    second = await bot.application.core.handle(incoming)
    assert first.handled and second.duplicate
    messages = await chat.messages(200003)
    assert len([m for m in messages if m["from"]["is_bot"]]) == 2


async def test_handler_exception_apologises_then_serves(
    bot: RunningBot, chat: MockChatClient, monkeypatch
) -> None:
    routes = bot.application.core.routes
    route = routes.commands["help"]

    async def broken(ctx: object) -> None:
        raise ValueError("database on fire")

    monkeypatch.setitem(
        routes.commands, "help", type(route)(route.names, broken, None, None, route.chats, False)
    )
    user = await chat.user(200004, "Minh")
    [apology] = await user.ask("/help")
    assert apology["text"].startswith("Xin lỗi")
    assert "fire" not in apology["text"]
    [greeting] = await user.ask("/start")
    assert greeting["text"].startswith("Xin chào Minh")


async def test_429_is_waited_out_and_the_message_arrives(
    bot: RunningBot, chat: MockChatClient
) -> None:
    user = await chat.user(200005, "Tú")
    await chat.post(
        "/_mock/faults",
        {"method": "sendMessage", "error_code": 429, "retry_after": 1, "times": 1},
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    [reply] = await user.ask("/start")
    assert reply["text"].startswith("Xin chào Tú")
    assert loop.time() - started >= 0.9
    stats = await chat.stats()
    assert stats["errors"].get("429", 0) >= 1


async def test_webhook_rejects_a_wrong_secret(
    bot_settings: Settings, chat: MockChatClient, clock: ManualClock
) -> None:
    configured = bot_settings.model_copy(
        update={"webhook_secret": "s3cret-token", "webhook_port": 0}
    )
    running = await start_bot(configured, clock=clock, mode="webhook", schema="create")
    try:
        url = f"http://127.0.0.1:{running.webhook_port}/telegram/webhook"
        update = {
            "update_id": 999,
            "message": {
                "message_id": 1,
                "date": 1586833200,
                "chat": {"id": 200006, "type": "private"},
                "from": {"id": 200006, "is_bot": False, "first_name": "Kẻ giả"},
                "text": "/start",
            },
        }
        async with aiohttp.ClientSession() as http:
            async with http.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            ) as response:
                assert response.status == 401
            async with http.post(url, json=update) as response:
                assert response.status == 401
        # The real path: the mock pushes with the right secret and the bot answers.
        user = await chat.user(200007, "Quân")
        [reply] = await user.ask("/start")
        assert reply["text"].startswith("Xin chào Quân")
        async with running.application.app.db.transaction() as session:
            forged = await session.scalar(
                select(func.count()).select_from(Identity).where(Identity.user_id == "200006")
            )
        assert forged == 0
    finally:
        await running.stop()
