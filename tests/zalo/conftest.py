"""Fixtures for the Zalo channel: the mock server's Zalo side, the real runtime, a citizen.

The mock server itself (`mock`) comes from tests/bot_fixtures.py, like in every folder.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Application
from bot.channels.zalo.runtime import ZaloRuntime
from bot.clock import ManualClock
from bot.mockserver.server import MockServer

APP_ID = "1234567890123456789"
APP_SECRET = "app-secret-for-oauth"
OA_SECRET = "oa-secret-that-signs-events"


def sqlite_url(tmp_path: Path) -> str:
    """For modules that override `database_url`: SQLite only, where the database is incidental."""
    return f"sqlite+aiosqlite:///{tmp_path / 'congvu.sqlite3'}"


def millis(clock: ManualClock) -> int:
    return int(clock.now().timestamp() * 1000)


def zalo_runtime(application: Application, mock: MockServer) -> ZaloRuntime:
    """A Zalo runtime (not started) that talks to the mock's OA and OAuth APIs."""
    return ZaloRuntime(
        application.core,
        app_id=APP_ID,
        app_secret=APP_SECRET,
        oa_secret_key=OA_SECRET,
        api_url=mock.base_url,
        oauth_url=mock.base_url,
        access_token="configured-access",
        refresh_token="configured-refresh",
    )


@dataclass
class ZaloControl:
    """The mock's /_mock/zalo control API, with status checks."""

    http: aiohttp.ClientSession

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        query = {k: str(v) for k, v in params.items()}
        async with self.http.request(method, path, json=body, params=query) as response:
            data = await response.json()
            assert response.status == 200, f"{path}: {response.status} {data}"
            return data

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.call("POST", path, body)

    async def messages(self, user_id: str, after: int = 0, wait: float = 0) -> list[dict]:
        data = await self.call(
            "GET", f"/_mock/zalo/users/{user_id}/messages", after=after, wait=wait
        )
        return list(data["messages"])

    async def tokens(self) -> dict[str, Any]:
        return dict(await self.call("GET", "/_mock/zalo/tokens"))

    async def citizen(self, user_id: str, name: str) -> Citizen:
        await self.post("/_mock/zalo/users", {"user_id": user_id, "display_name": name})
        return Citizen(self, user_id)


@dataclass
class Citizen:
    control: ZaloControl
    user_id: str

    async def _answers(self, sent: dict[str, Any], settle: float) -> list[dict]:
        """The bot's messages after `sent`: wait for the first, then for stragglers."""
        after = int(sent["id"])
        first = await self.control.messages(self.user_id, after, wait=5)
        bot = [m for m in first if m["from_bot"]]
        assert bot, f"no answer to {sent['text']!r}"
        while True:
            await asyncio.sleep(settle)
            more = await self.control.messages(self.user_id, after)
            more_bot = [m for m in more if m["from_bot"]]
            if len(more_bot) == len(bot):
                return bot
            bot = more_bot

    async def ask(self, text: str, settle: float = 0.15) -> list[dict]:
        sent = await self.control.post(
            "/_mock/zalo/messages", {"user_id": self.user_id, "text": text}
        )
        return await self._answers(sent, settle)

    async def press(self, payload: str, settle: float = 0.15) -> list[dict]:
        sent = await self.control.post(
            "/_mock/zalo/buttons", {"user_id": self.user_id, "payload": payload}
        )
        return await self._answers(sent, settle)

    async def event(self, event_name: str, settle: float = 0.15) -> list[dict]:
        before = await self.control.messages(self.user_id)
        after = max([int(m["id"]) for m in before] or [0])
        await self.control.post(
            "/_mock/zalo/events", {"user_id": self.user_id, "event_name": event_name}
        )
        return await self._answers({"id": after, "text": event_name}, settle)


@pytest.fixture
async def control(mock: MockServer) -> AsyncIterator[ZaloControl]:
    async with aiohttp.ClientSession(mock.base_url) as http:
        yield ZaloControl(http)


@pytest.fixture
async def zalo(
    application: Application, mock: MockServer, control: ZaloControl, clock: ManualClock
) -> AsyncIterator[ZaloRuntime]:
    """The real Zalo runtime serving its webhook, the mock pushing to it."""
    runtime = zalo_runtime(application, mock)
    port = await runtime.start("127.0.0.1", 0)
    await control.post(
        "/_mock/zalo/webhook",
        {
            "url": f"http://127.0.0.1:{port}/zalo/webhook",
            "app_id": APP_ID,
            "secret_key": OA_SECRET,
            "app_secret": APP_SECRET,
            # The mock signs events with the bot's (manual) time, so they are not stale.
            "now_ms": millis(clock),
        },
    )
    try:
        yield runtime
    finally:
        await runtime.stop()
