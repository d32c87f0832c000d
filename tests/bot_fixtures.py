"""End-to-end fixtures for every test folder: the mock chat server and the real bot polling it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.mockserver.server import MockServer
from bot.runner import RunningBot, start_bot
from tests.chat import MockChatClient

TOKEN = "123456789:e2e-test-token"


@pytest.fixture
async def mock() -> AsyncIterator[MockServer]:
    server = MockServer(port=0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def chat(mock: MockServer) -> AsyncIterator[MockChatClient]:
    async with aiohttp.ClientSession(mock.base_url) as http:
        yield MockChatClient(http)


@pytest.fixture
def runtime() -> str:
    """The Telegram runtime; a test module overrides this fixture to run on both."""
    return "aiogram"


@pytest.fixture
def bot_settings(settings: Settings, mock: MockServer, runtime: str) -> Settings:
    return settings.model_copy(
        update={
            "telegram_token": TOKEN,
            "telegram_api_url": mock.base_url,
            "telegram_runtime": runtime,
        }
    )


@pytest.fixture
async def bot(bot_settings: Settings, clock: ManualClock) -> AsyncIterator[RunningBot]:
    running = await start_bot(bot_settings, clock=clock, mode="polling", schema="create")
    try:
        yield running
    finally:
        await running.stop()
