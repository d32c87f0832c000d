"""End to end: the real aiogram runtime against the mock server with Telegram's limits on.

A wave of outbox messages is going out at the limit; a citizen's /start must still be
answered promptly instead of waiting behind the wave.
"""

from __future__ import annotations

import asyncio

from bot.core.events import ChatRef, OutMessage
from bot.delivery.limits import LocalLimiter
from bot.delivery.outbox import OutboxWorker, enqueue
from bot.runner import RunningBot
from tests.chat import MockChatClient

WAVE = 400


async def test_interactive_reply_is_not_queued_behind_a_broadcast_wave(
    bot: RunningBot,
    chat: MockChatClient,
) -> None:
    app = bot.application.app
    app.delivery.limiter = LocalLimiter()
    await chat.post("/_mock/limits", {"enabled": True})
    first = 500_000
    await chat.post(
        "/_mock/users", [{"id": first + n, "first_name": f"CB{n}"} for n in range(WAVE)]
    )
    async with app.db.transaction() as session:
        for n in range(WAVE):
            await enqueue(
                session,
                key=f"e2e-wave:{n}",
                chat=ChatRef("telegram", str(first + n)),
                message=OutMessage("Nhắc: nộp báo cáo trước 16:30"),
                not_before=app.clock.now(),
            )
    worker = OutboxWorker(app.db, app.delivery, app.clock, "e2e-worker")
    stop = asyncio.Event()
    sending = asyncio.create_task(worker.run_forever(stop))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while (await chat.stats())["messages_sent"] < 30:  # a second into the wave
            assert loop.time() < deadline, "the wave did not start"
            await asyncio.sleep(0.05)
        citizen = await chat.user(499_999, "Hoa")
        asked = loop.time()
        [reply] = await citizen.ask("/start", timeout=5)
        latency = loop.time() - asked
        during = (await chat.stats())["messages_sent"]
    finally:
        stop.set()
        await asyncio.wait_for(sending, 10)
    assert reply["text"].startswith("Xin chào Hoa")
    assert latency < 1.0, f"reply took {latency:.2f}s during the wave"
    assert during < WAVE, "the wave had already finished: nothing was proven"
    stats = await chat.stats()
    assert stats["rate_limited"] <= 2, stats  # flood control hits, if any, are rare
