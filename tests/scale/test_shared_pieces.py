"""The shared pieces the multi-instance test leans on, each alone against a real Redis.

* the scheduler lock stays with its holder through a tick longer than its TTL, and lapses
  within one TTL when the holder dies without releasing it;
* a send counts in the shared window from the platform's answer, not from the grant;
* a thousand senders waiting for a full window ask the limiter about once per grant each,
  not once per freed slot each.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.core.chatlocks import LocalChatLocks, RedisChatLocks, make_chat_locks
from bot.core.events import ChatRef
from bot.delivery.limits import (
    ChannelLimits,
    Decision,
    LocalLimiter,
    Priority,
    RedisLimiter,
    WaitingLine,
    acquire,
    make_limiter,
)
from bot.scheduler.leader import REDIS_KEY, RedisLeadership
from tests.scale.cluster import own_redis_db

INTERACTIVE = Priority.INTERACTIVE


def private(n: int) -> ChatRef:
    return ChatRef("telegram", str(500_000 + n))


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    async with own_redis_db() as url:
        yield url


async def test_the_scheduler_lock_outlives_a_long_tick(redis_url: str) -> None:
    leader = RedisLeadership(redis_url, ttl_ms=300)
    other = RedisLeadership(redis_url, ttl_ms=300)
    try:
        assert await leader.hold()
        # Four TTLs without a tick: the heartbeat, not the ticks, keeps the key.
        await asyncio.sleep(1.2)
        assert not await other.hold()
        assert await leader.hold()
        pid = (await leader.redis.get(REDIS_KEY)).decode().split(":")[1]
        assert pid.isdigit()  # operators can tell which process leads
    finally:
        await leader.release()
        await other.release()


async def test_a_dead_holders_lock_lapses_within_one_ttl(redis_url: str) -> None:
    dead = RedisLeadership(redis_url, ttl_ms=400)
    heir = RedisLeadership(redis_url, ttl_ms=400)
    try:
        assert await dead.hold()
        # SIGKILL: the heartbeat stops, nothing is released.
        assert dead._heartbeat is not None
        dead._heartbeat.cancel()
        assert not await heir.hold()
        await asyncio.sleep(0.45)
        assert await heir.hold()
        assert not await dead.hold()
    finally:
        await heir.release()
        await dead.release()


async def test_a_send_counts_from_the_platforms_answer(redis_url: str) -> None:
    limits = {"telegram": ChannelLimits(overall=2, overall_window=1.0, margin=0.0)}
    now = [1000.0]
    limiter = RedisLimiter(Redis.from_url(redis_url), limits, clock=lambda: now[0])
    try:
        first = await limiter.try_acquire(private(1), INTERACTIVE)
        second = await limiter.try_acquire(private(2), INTERACTIVE)
        assert first.granted and second.granted
        await limiter.settle(private(2), INTERACTIVE, second.ticket)  # answered at once
        # The first request took 0.4 s to leave and be answered (a busy event loop).
        now[0] += 0.4
        await limiter.settle(private(1), INTERACTIVE, first.ticket)
        now[0] += 0.7  # 1.1 s after both grants, 0.7 s after the first one's answer
        third = await limiter.try_acquire(private(3), INTERACTIVE)
        assert third.granted  # the second's slot is free: it was answered at once
        fourth = await limiter.try_acquire(private(4), INTERACTIVE)
        # The first's slot frees a window after its answer, not after its grant.
        assert fourth.wait == pytest.approx(0.3, abs=0.002)
        assert fourth.shared  # waiting for the channel's budget, not for its own chat
    finally:
        await limiter.aclose()


async def test_local_limiter_settles_too() -> None:
    now = [50.0]
    limiter = LocalLimiter({"telegram": ChannelLimits(overall=1, margin=0.0)}, clock=lambda: now[0])
    grant = await limiter.try_acquire(private(1), INTERACTIVE)
    now[0] += 0.5
    await limiter.settle(private(1), INTERACTIVE, grant.ticket)
    now[0] += 0.6
    assert (await limiter.try_acquire(private(2), INTERACTIVE)).wait == pytest.approx(0.4)


class CountingLimiter:
    """Counts how often the shared limiter is asked."""

    def __init__(self, inner: RedisLimiter) -> None:
        self.inner = inner
        self.asked = 0

    async def try_acquire(self, chat: ChatRef, priority: Priority) -> Decision:
        self.asked += 1
        return await self.inner.try_acquire(chat, priority)

    async def refund(self, chat: ChatRef, priority: Priority, ticket: str) -> None:
        await self.inner.refund(chat, priority, ticket)

    async def settle(self, chat: ChatRef, priority: Priority, ticket: str) -> None:
        await self.inner.settle(chat, priority, ticket)

    async def block(self, chat: ChatRef, seconds: float) -> None:
        await self.inner.block(chat, seconds)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def count_asks(redis_url: str, line: WaitingLine | None) -> int:
    """100 senders arriving at a window already full of sends spread over the last second
    (a steady stream): the slots free one at a time, 20 ms apart."""
    limits = {"telegram": ChannelLimits(overall=50, margin=0.0)}
    limiter = CountingLimiter(make_limiter(redis_url, limits))  # type: ignore[arg-type]
    try:
        for n in range(50):
            decision = await limiter.try_acquire(private(1000 + n), INTERACTIVE)
            assert decision.granted
            await limiter.settle(private(1000 + n), INTERACTIVE, decision.ticket)
            await asyncio.sleep(0.02)
        limiter.asked = 0

        async def send(n: int) -> None:
            grant = await acquire(limiter, private(n), INTERACTIVE, sleep=asyncio.sleep, line=line)
            await limiter.settle(private(n), INTERACTIVE, grant.ticket)  # answered at once

        await asyncio.wait_for(asyncio.gather(*(send(n) for n in range(100))), timeout=10)
        return limiter.asked
    finally:
        await limiter.aclose()


async def test_waiters_queue_instead_of_all_asking_redis(redis_url: str) -> None:
    in_line = await count_asks(redis_url, WaitingLine())
    # Each sender asks once, and the first in line about once per freed slot.
    assert in_line < 400, in_line


async def test_without_the_line_every_waiter_asks_on_every_freed_slot(redis_url: str) -> None:
    # What the line prevents (the same scenario): each waiter wakes for each freed slot.
    assert await count_asks(redis_url, None) > 2000


async def test_a_sender_held_by_its_own_chat_does_not_hold_the_line(redis_url: str) -> None:
    limits = {"telegram": ChannelLimits(overall=2, margin=0.0)}
    limiter = make_limiter(redis_url, limits)
    line = WaitingLine()
    try:
        blocked = private(1)
        await limiter.block(blocked, 5.0)  # a 429's retry_after for that chat
        stuck = asyncio.create_task(
            acquire(limiter, blocked, INTERACTIVE, sleep=asyncio.sleep, line=line)
        )
        await asyncio.sleep(0.05)
        # Others pass while it waits for its own chat.
        for n in range(2, 5):
            grant = await asyncio.wait_for(
                acquire(limiter, private(n), INTERACTIVE, sleep=asyncio.sleep, line=line), 2.0
            )
            await limiter.settle(private(n), INTERACTIVE, grant.ticket)
        assert not stuck.done()
        stuck.cancel()
    finally:
        await limiter.aclose()


# -- chat locks across instances ------------------------------------------------------------


def chat_locks(redis_url: str, ttl: float = 15.0) -> RedisChatLocks:
    return RedisChatLocks(Redis.from_url(redis_url), ttl=ttl)


async def test_two_instances_take_turns_on_one_chat(redis_url: str) -> None:
    # A message and a button press of one person, pushed to two instances at once.
    first, second = chat_locks(redis_url), chat_locks(redis_url)
    events: list[str] = []

    async def handle(locks: RedisChatLocks, name: str, work: float, chat: str = "42") -> None:
        async with locks.hold(f"telegram:{chat}"):
            events.append(f"{name} starts")
            await asyncio.sleep(work)
            events.append(f"{name} ends")

    try:
        slow = asyncio.create_task(handle(first, "message", 0.3))
        await asyncio.sleep(0.05)
        await asyncio.gather(slow, handle(second, "press", 0.0), handle(second, "other", 0.0))
        assert events[:2] == ["message starts", "message ends"]
        assert sorted(events[2:]) == ["other ends", "other starts", "press ends", "press starts"]
        # Other chats are not held back by it.
        async with first.hold("telegram:42"):
            await asyncio.wait_for(handle(second, "elsewhere", 0.0, chat="43"), 0.5)
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_chat_lock_of_a_dead_instance_lapses_and_a_live_one_is_renewed(
    redis_url: str,
) -> None:
    redis = Redis.from_url(redis_url)
    locks = chat_locks(redis_url, ttl=0.3)
    try:
        # An instance died holding the chat: its key lapses after the TTL.
        await redis.set("congvu:chat:telegram:7", "dead-instance", px=300)
        started = asyncio.get_running_loop().time()
        async with locks.hold("telegram:7"):
            waited = asyncio.get_running_loop().time() - started
        assert 0.2 < waited < 1.5
        # A live holder renews: another instance cannot take the chat after one TTL.
        other = chat_locks(redis_url, ttl=0.3)
        try:
            async with locks.hold("telegram:8"):
                await asyncio.sleep(1.0)  # more than three TTLs
                assert not await redis.set("congvu:chat:telegram:8", "thief", nx=True, px=300)
            assert await redis.get("congvu:chat:telegram:8") is None  # released on exit
        finally:
            await other.aclose()
    finally:
        await locks.aclose()
        await redis.aclose()


async def test_chat_locks_keep_working_in_this_process_when_redis_is_away(
    caplog: pytest.LogCaptureFixture,
) -> None:
    locks = RedisChatLocks(Redis.from_url("redis://127.0.0.1:1/0"))  # nothing listens there
    order: list[int] = []

    async def handle(n: int) -> None:
        async with locks.hold("telegram:1"):
            order.append(n)
            await asyncio.sleep(0.01)
            order.append(n)

    try:
        await asyncio.gather(*(handle(n) for n in range(3)))
        assert order == [0, 0, 1, 1, 2, 2]  # still one at a time, in arrival order
        assert "ordering per process only" in caplog.text
    finally:
        await locks.aclose()


def test_chat_locks_are_shared_only_when_redis_is_configured() -> None:
    assert isinstance(make_chat_locks(""), LocalChatLocks)
    assert isinstance(make_chat_locks("redis://127.0.0.1:6379/0"), RedisChatLocks)
