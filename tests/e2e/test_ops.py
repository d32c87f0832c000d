"""Operators' endpoints answer on a running bot."""

from __future__ import annotations

import aiohttp
from sqlalchemy.ext.asyncio import create_async_engine

from bot.runner import RunningBot
from tests.chat import MockChatClient


async def test_healthz_and_metrics(bot: RunningBot, chat: MockChatClient) -> None:
    user = await chat.user(210001, "Vy")
    await user.ask("/start")
    base = f"http://127.0.0.1:{bot.ops_port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as response:
            health = await response.json()
            assert response.status == 200
        async with http.get(f"{base}/metrics") as response:
            body = await response.text()
    assert health == {"status": "ok", "checks": {"database": True}}
    assert 'congvu_updates_total{channel="telegram",outcome="handled"} 1.0' in body
    assert "congvu_handler_seconds_bucket" in body
    assert 'congvu_messages_sent_total{channel="telegram"} 1.0' in body
    assert "congvu_outbox_depth 0.0" in body


async def test_healthz_reports_an_unreachable_database(bot: RunningBot) -> None:
    db = bot.application.app.db
    await db.engine.dispose()
    # Point the engine at a folder that does not exist: every connection fails.
    db.engine = create_async_engine("sqlite+aiosqlite:////nonexistent/folder/db.sqlite3")
    url = f"http://127.0.0.1:{bot.ops_port}/healthz"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 503
        assert (await response.json())["checks"]["database"] is False
