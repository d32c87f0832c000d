"""Webhook mode: pushes with the secret header, ordered retries, replies, targets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from bot.mockserver.client import MockClient
from tests.mockserver.conftest import BotApi


@dataclass
class Receiver:
    """A tiny webhook endpoint recording what it gets and answering as told."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    secrets: list[str | None] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    failures_left: int = 0
    reply: dict[str, Any] | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        self.content_types.append(request.content_type)
        if self.failures_left > 0:
            self.failures_left -= 1
            return web.Response(status=500)
        self.received.append(await request.json())
        self.arrived.set()
        if self.reply is not None:
            reply, self.reply = self.reply, None
            return web.json_response(reply)
        return web.Response()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(3):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


async def start_receiver() -> tuple[Receiver, web.AppRunner]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    return receiver, runner


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver, runner = await start_receiver()
    yield receiver
    await runner.cleanup()


async def test_push_with_secret_header(
    api: BotApi, mock: MockClient, receiver: Receiver, people: dict[str, int]
) -> None:
    await mock.send(42, 42, "trước khi có webhook")
    assert await api.ok("setWebhook", url=receiver.url, secret_token="s3cr3t-Token_1") is True
    await mock.send(42, 42, "sau khi có webhook")
    await receiver.wait_for(2)
    assert [u["message"]["text"] for u in receiver.received] == [
        "trước khi có webhook",
        "sau khi có webhook",
    ]
    assert receiver.secrets == ["s3cr3t-Token_1", "s3cr3t-Token_1"]
    assert receiver.content_types == ["application/json", "application/json"]
    info = await api.ok("getWebhookInfo")
    assert info["url"] == receiver.url
    assert info["pending_update_count"] == 0
    assert (await mock.stats())["webhook_pushes"] == 2


async def test_failed_pushes_are_retried_in_order(
    api: BotApi, mock: MockClient, receiver: Receiver, people: dict[str, int]
) -> None:
    receiver.failures_left = 2
    await api.ok("setWebhook", url=receiver.url)
    for text in ("một", "hai", "ba"):
        await mock.send(42, 42, text)
    await receiver.wait_for(3)
    assert [u["message"]["text"] for u in receiver.received] == ["một", "hai", "ba"]
    stats = await mock.stats()
    assert stats["webhook_failures"] == 2
    info = await api.ok("getWebhookInfo")
    assert info["last_error_message"].startswith("Wrong response from the webhook: 500")


async def test_delete_webhook_can_drop_pending_updates(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    await api.ok("setWebhook", url="http://127.0.0.1:9/unreachable")
    await mock.send(42, 42, "không tới được")
    assert (await api.ok("getWebhookInfo"))["pending_update_count"] == 1
    await api.ok("deleteWebhook", drop_pending_updates=True)
    assert (await api.ok("getWebhookInfo"))["url"] == ""
    assert await api.ok("getUpdates") == []


async def test_undelivered_updates_return_to_polling(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    await api.ok("setWebhook", url="http://127.0.0.1:9/unreachable")
    await mock.send(42, 42, "chờ")
    await api.ok("deleteWebhook")
    assert [u["message"]["text"] for u in await api.ok("getUpdates")] == ["chờ"]


async def test_method_in_the_webhook_reply_is_executed(
    api: BotApi, mock: MockClient, receiver: Receiver, people: dict[str, int]
) -> None:
    receiver.reply = {"method": "sendMessage", "chat_id": 42, "text": "Trả lời ngay"}
    await api.ok("setWebhook", url=receiver.url)
    sent = await mock.send(42, 42, "/start")
    replies = await mock.wait_bot_messages(42, after_id=sent["message_id"], timeout=2)
    assert [r["text"] for r in replies] == ["Trả lời ngay"]


async def test_targets_are_used_round_robin(
    api: BotApi, mock: MockClient, receiver: Receiver, people: dict[str, int]
) -> None:
    second, runner = await start_receiver()
    try:
        result = await mock.request(
            "POST", "/_mock/webhook/targets", json={"urls": [receiver.url, second.url]}
        )
        assert result["targets"] == [receiver.url, second.url]
        await api.ok("setWebhook", url="http://balancer.invalid/hook")
        for text in ("a", "b", "c", "d"):
            await mock.send(42, 42, text)
        await receiver.wait_for(2)
        await second.wait_for(2)
        assert [u["message"]["text"] for u in receiver.received] == ["a", "c"]
        assert [u["message"]["text"] for u in second.received] == ["b", "d"]
    finally:
        await runner.cleanup()
