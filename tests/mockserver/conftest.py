"""Fixtures for the mock chat server: a live server per test and two ways to talk to it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.mockserver import MockServer
from bot.mockserver.client import MockClient

TOKEN = "123456:TEST-token_ok"
BOT_ID = 123456


def form_value(value: Any) -> str:
    """Encode a parameter the way aiogram and PTB do: nested objects as JSON strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class BotApi:
    """Raw Bot API calls, so tests see real statuses and envelopes."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str = TOKEN) -> None:
        self.session = session
        self.base_url = base_url
        self.token = token

    def url(self, method: str, token: str | None = None) -> str:
        return f"{self.base_url}/bot{token or self.token}/{method}"

    async def call(
        self, method: str, *, token: str | None = None, **params: Any
    ) -> tuple[int, dict[str, Any]]:
        form = {key: form_value(value) for key, value in params.items() if value is not None}
        async with self.session.post(self.url(method, token), data=form) as response:
            return response.status, await response.json()

    async def ok(self, method: str, **params: Any) -> Any:
        status, body = await self.call(method, **params)
        assert status == 200, body
        assert body["ok"] is True, body
        return body["result"]

    async def error(self, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
        status, body = await self.call(method, **params)
        assert body["ok"] is False, body
        assert body["error_code"] == status, body
        return status, body


@pytest.fixture
async def server() -> AsyncIterator[MockServer]:
    async with MockServer() as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def mock(server: MockServer, session: aiohttp.ClientSession) -> MockClient:
    return MockClient(server.base_url, session)


@pytest.fixture
def api(server: MockServer, session: aiohttp.ClientSession) -> BotApi:
    return BotApi(session, server.base_url)


@pytest.fixture
async def people(mock: MockClient) -> dict[str, int]:
    """Two staff members and a group with both of them."""
    await mock.add_user(42, "Nguyễn Văn An", username="an_nguyen", language_code="vi")
    await mock.add_user(43, "Trần Thị Bình", username="binh_tran")
    await mock.add_chat(
        -1001, "supergroup", title="Phòng Hành chính", members=[42, 43], admins=[43]
    )
    return {"an": 42, "binh": 43, "group": -1001}
