"""The bot over every channel: Telegram (aiogram, python-telegram-bot) in webhook mode and Zalo
OA, all on one application, against the mock chat server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from bot.channels.zalo.runtime import ZaloRuntime
from bot.clock import ManualClock
from bot.config import Settings
from bot.mockserver.server import MockServer
from bot.runner import RunningBot, start_bot, start_zalo
from tests.bot_fixtures import TOKEN
from tests.chat import MockChatClient
from tests.conformance.channels import Talker, TelegramTalker, ZaloTalker

SECRET = "conformance-secret"
ZALO_APP, ZALO_KEY = "conformance-app", "conformance-oa-key"
CHANNELS = ["telegram-aiogram", "telegram-ptb", "zalo"]


@pytest.fixture(params=CHANNELS)
def channel(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def bot(
    settings: Settings, mock: MockServer, clock: ManualClock, channel: str
) -> AsyncIterator[RunningBot]:
    configured = settings.model_copy(
        update={
            "telegram_token": TOKEN,
            "telegram_api_url": mock.base_url,
            "telegram_runtime": "ptb" if channel == "telegram-ptb" else "aiogram",
            "webhook_secret": SECRET,
            "webhook_port": 0,
            "zalo_webhook_port": 0,
        }
    )
    running = await start_bot(configured, clock=clock, mode="webhook", schema="create")
    try:
        if channel == "zalo":
            await start_zalo(
                running,
                ZaloRuntime(
                    running.application.core,
                    app_id=ZALO_APP,
                    app_secret="conformance-app-secret",
                    oa_secret_key=ZALO_KEY,
                    api_url=mock.base_url,
                    oauth_url=mock.base_url,
                    access_token="access-0",
                    refresh_token="refresh-0",
                ),
            )
            async with (
                aiohttp.ClientSession(mock.base_url) as http,
                http.post(
                    "/_mock/zalo/webhook",
                    json={
                        "url": f"http://127.0.0.1:{running.zalo_port}/zalo/webhook",
                        "app_id": ZALO_APP,
                        "secret_key": ZALO_KEY,
                        "app_secret": "conformance-app-secret",
                        # Events are signed with the bot's manual time, so they are fresh.
                        "now_ms": int(clock.now().timestamp() * 1000),
                    },
                ) as response,
            ):
                assert response.status == 200
        yield running
    finally:
        await running.stop()


@dataclass
class People:
    """Makes the person the scenario needs on the channel under test."""

    channel: str
    chat: MockChatClient
    http: aiohttp.ClientSession
    webhook_url: str

    async def citizen(self, user_id: int, name: str) -> Talker:
        if self.channel == "zalo":
            async with self.http.post(
                "/_mock/zalo/users", json={"user_id": str(user_id), "display_name": name}
            ) as response:
                assert response.status == 200
            return ZaloTalker(self.http, str(user_id))
        await self.chat.user(user_id, name)
        return TelegramTalker(self.http, str(user_id), str(user_id), self.webhook_url, SECRET)


@pytest.fixture
async def people(
    channel: str, chat: MockChatClient, mock: MockServer, bot: RunningBot
) -> AsyncIterator[People]:
    url = f"http://127.0.0.1:{bot.webhook_port}/telegram/webhook"
    async with aiohttp.ClientSession(mock.base_url) as http:
        yield People(channel, chat, http, url)
