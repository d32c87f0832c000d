"""The outbox: idempotent enqueue, claims with leases, outcomes, crash recovery, two workers."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.core.events import Button, ChatKind, ChatRef, OutDocument, OutMessage
from bot.delivery.errors import Rejected, RetryAfter, Transient, Unreachable
from bot.delivery.outbox import (
    DEAD,
    PENDING,
    SENT,
    OutboxWorker,
    decode_message,
    enqueue,
    outbox_depth,
    purge,
)
from bot.delivery.service import Delivery
from storage.db import Database
from storage.models.delivery import OutboxMessage
from tests.delivery.doubles import ScriptedChannel, VirtualTime


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.create_all()
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def channel() -> ScriptedChannel:
    return ScriptedChannel(VirtualTime())


@pytest.fixture
def delivery(channel: ScriptedChannel) -> Delivery:
    delivery = Delivery(sleep=no_sleep)
    delivery.register(channel)
    return delivery


def worker(
    db: Database, delivery: Delivery, clock: ManualClock, name: str = "w1", **kwargs: object
) -> OutboxWorker:
    return OutboxWorker(db, delivery, clock, name, rng=random.Random(1), **kwargs)  # type: ignore[arg-type]


def person(n: int) -> ChatRef:
    return ChatRef("telegram", str(300_000 + n))


async def fill(db: Database, clock: ManualClock, count: int, *, prefix: str = "wave") -> None:
    async with db.transaction() as session:
        for n in range(count):
            await enqueue(
                session,
                key=f"{prefix}:{n}",
                chat=person(n),
                message=OutMessage(f"Nhắc việc {n}"),
                not_before=clock.now(),
                created_at=clock.now(),
            )


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_enqueue_is_idempotent_on_key_and_keeps_the_whole_message(
    db: Database, clock: ManualClock
) -> None:
    group = ChatRef("telegram", "-100777", ChatKind.GROUP, "Tổ công tác")
    message = OutMessage(
        "<b>Báo cáo ngày</b>",
        buttons=((Button("Xác nhận", data="ok:1"), Button("Mở", url="https://example.vn")),),
        document=OutDocument("bao-cao.xlsx", b"\x00\x01binary", "application/vnd.ms-excel"),
        disable_preview=False,
    )
    async with db.transaction() as session:
        assert await enqueue(
            session,
            key="report:u1:2020-04-14",
            chat=group,
            message=message,
            not_before=clock.now(),
        )
        assert not await enqueue(
            session,
            key="report:u1:2020-04-14",
            chat=group,
            message=OutMessage("other"),
            not_before=clock.now(),
        )
    async with db.transaction() as session:
        assert not await enqueue(
            session,
            key="report:u1:2020-04-14",
            chat=group,
            message=OutMessage("again"),
            not_before=clock.now(),
        )
    [row] = await rows(db)
    assert (row.status, row.attempts, row.chat_id) == (PENDING, 0, "-100777")
    assert decode_message(row.channel, row.chat_id, row.payload) == (group, message)


async def test_enqueue_rolls_back_with_the_callers_transaction(
    db: Database, clock: ManualClock
) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await enqueue(
                session, key="k", chat=person(1), message=OutMessage("x"), not_before=clock.now()
            )
            raise RuntimeError("the reminder could not be recorded")
    assert await rows(db) == []


async def test_drain_sends_what_is_due_and_records_it(
    db: Database, delivery: Delivery, channel: ScriptedChannel, clock: ManualClock
) -> None:
    await fill(db, clock, 5)
    async with db.transaction() as session:
        await enqueue(
            session,
            key="later",
            chat=person(99),
            message=OutMessage("mai"),
            not_before=clock.now() + timedelta(hours=1),
        )
    stats = await worker(db, delivery, clock).drain()
    assert stats.sent == 5
    assert sorted(s.text for s in channel.sent) == [f"Nhắc việc {n}" for n in range(5)]
    stored = {row.key: row for row in await rows(db)}
    assert stored["wave:0"].status == SENT
    assert stored["wave:0"].message_id is not None
    assert stored["wave:0"].sent_at == clock.now()
    assert stored["later"].status == PENDING
    async with db.transaction() as session:
        depth = await outbox_depth(session, clock.now())
    assert (depth.pending, depth.due, depth.dead) == (1, 0, 0)
    clock.advance(timedelta(hours=1))
    assert (await worker(db, delivery, clock).drain()).sent == 1


async def test_transient_failure_is_retried_later_then_dead_after_max_attempts(
    db: Database, delivery: Delivery, channel: ScriptedChannel, clock: ManualClock
) -> None:
    await fill(db, clock, 2)
    channel.failures[person(0).chat_id] = [Transient("502")]
    channel.failures[person(1).chat_id] = [Transient("500")] * 3
    sender = worker(db, delivery, clock, max_attempts=3)
    await sender.drain()
    first = {row.key: row for row in await rows(db)}
    assert first["wave:0"].status == PENDING
    assert first["wave:0"].attempts == 1
    assert first["wave:0"].not_before > clock.now() - timedelta(seconds=1)
    assert first["wave:0"].claimed_by is None
    for _ in range(3):
        clock.advance(timedelta(minutes=10))
        await sender.drain()
    final = {row.key: row for row in await rows(db)}
    assert final["wave:0"].status == SENT
    assert final["wave:1"].status == DEAD
    assert final["wave:1"].attempts == 3
    assert "500" in (final["wave:1"].error or "")
    assert [s.chat for s in channel.sent] == [person(0)]


async def test_429_pushes_the_row_back_without_counting_an_attempt(
    db: Database, delivery: Delivery, channel: ScriptedChannel, clock: ManualClock
) -> None:
    await fill(db, clock, 1)
    channel.failures[person(0).chat_id] = [RetryAfter(7)]
    sender = worker(db, delivery, clock)
    await sender.drain()
    [row] = await rows(db)
    assert (row.status, row.attempts) == (PENDING, 0)
    assert row.not_before == clock.now() + timedelta(seconds=7)
    assert sender.stats.received_429 == 1
    clock.advance(timedelta(seconds=7))
    await sender.drain()
    assert (await rows(db))[0].status == SENT


async def test_blocked_user_and_bad_request_are_dead_at_once(
    db: Database, delivery: Delivery, channel: ScriptedChannel, clock: ManualClock
) -> None:
    marked: list[ChatRef] = []

    async def on_unreachable(chat: ChatRef) -> None:
        marked.append(chat)

    delivery.on_unreachable = on_unreachable
    await fill(db, clock, 3)
    channel.failures[person(0).chat_id] = [Unreachable("Forbidden: bot was blocked by the user")]
    channel.failures[person(1).chat_id] = [Rejected("Bad Request: chat not found")]
    await worker(db, delivery, clock).drain()
    status = {row.key: (row.status, row.attempts) for row in await rows(db)}
    assert status == {"wave:0": (DEAD, 1), "wave:1": (DEAD, 1), "wave:2": (SENT, 1)}
    assert marked == [person(0)]
    assert channel.calls == 3


async def test_a_crashed_workers_rows_are_sent_once_after_the_lease(
    db: Database, delivery: Delivery, channel: ScriptedChannel, clock: ManualClock
) -> None:
    await fill(db, clock, 4)
    crashed = worker(db, delivery, clock, "crashed", lease=30)
    claimed = await crashed.claim(3)
    assert [c.key for c in claimed] == ["wave:0", "wave:1", "wave:2"]
    # ...and the process dies here, before sending anything.
    survivor = worker(db, delivery, clock, "survivor", lease=30)
    await survivor.drain()
    assert [s.text for s in channel.sent] == ["Nhắc việc 3"]
    clock.advance(timedelta(seconds=31))
    await survivor.drain()
    assert Counter(s.text for s in channel.sent) == Counter(f"Nhắc việc {n}" for n in range(4))
    assert all(row.status == SENT and row.claimed_by == "survivor" for row in await rows(db))
    # Had the first worker been alive but stalled past its lease, its late result is refused.
    await crashed.process(claimed[0])
    assert crashed.stats.lease_lost == 1


async def test_one_chat_gets_its_rows_one_at_a_time_in_order(
    db: Database, delivery: Delivery, channel: ScriptedChannel, clock: ManualClock
) -> None:
    async with db.transaction() as session:
        for n in range(3):
            await enqueue(
                session,
                key=f"a{n}",
                chat=person(1),
                message=OutMessage(f"a{n}"),
                not_before=clock.now(),
            )
        await enqueue(
            session, key="b", chat=person(2), message=OutMessage("b"), not_before=clock.now()
        )
    sender = worker(db, delivery, clock)
    assert [c.key for c in await sender.claim(10)] == ["a0", "b"]
    other = worker(db, delivery, clock, "w2")
    assert await other.claim(10) == []
    clock.advance(timedelta(minutes=1))  # leases expire; the chat's order still holds
    await other.drain()
    assert [s.text for s in channel.sent] == ["a0", "b", "a1", "a2"]


async def test_run_forever_sends_new_rows_when_woken_and_stops_on_the_event(
    db: Database, delivery: Delivery, channel: ScriptedChannel, clock: ManualClock
) -> None:
    sender = worker(db, delivery, clock, poll_interval=5.0)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run_forever(stop))
    await asyncio.sleep(0.05)
    await fill(db, clock, 3)
    sender.wake()
    for _ in range(200):
        if len(channel.sent) == 3:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, 2)
    assert len(channel.sent) == 3


async def two_workers_send_each_row_once(first: Database, second: Database) -> None:
    clock = ManualClock()
    await fill(first, clock, 300)
    channel = ScriptedChannel(VirtualTime())
    delivery = Delivery(sleep=no_sleep)
    delivery.register(channel)
    workers = [
        OutboxWorker(first, delivery, clock, "one", batch=7, concurrency=8),
        OutboxWorker(second, delivery, clock, "two", batch=7, concurrency=8),
    ]
    await asyncio.gather(*(w.drain() for w in workers))
    counts = Counter(s.text for s in channel.sent)
    assert len(counts) == 300
    assert max(counts.values()) == 1
    assert all(w.stats.sent > 0 for w in workers), [w.stats for w in workers]
    assert sum(w.stats.lease_lost for w in workers) == 0
    assert {row.status for row in await rows(first)} == {SENT}


async def test_two_workers_never_send_a_row_twice(database_url: str) -> None:
    """Separate engines, so separate connections: on PostgreSQL the claims race for real
    (SKIP LOCKED); on SQLite the database's single writer serialises them."""
    first, second = Database(database_url), Database(database_url)
    await first.create_all()
    try:
        await two_workers_send_each_row_once(first, second)
    finally:
        await first.dispose()
        await second.dispose()


async def test_stopping_hands_back_rows_still_waiting_for_the_limiter(
    db: Database, clock: ManualClock, channel: ScriptedChannel
) -> None:
    from bot.delivery.limits import LocalLimiter

    delivery = Delivery(limiter=LocalLimiter())
    delivery.register(channel)
    await fill(db, clock, 2)
    assert delivery.limiter is not None
    await delivery.limiter.block(person(0), 60)  # e.g. a long retry_after on this chat
    sender = worker(db, delivery, clock, max_limiter_wait=120.0)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run_forever(stop))
    for _ in range(200):
        if len(channel.sent) == 1:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, 1.0)
    stored = {row.key: row for row in await rows(db)}
    assert stored["wave:1"].status == SENT
    assert stored["wave:0"].status == PENDING
    assert stored["wave:0"].claimed_by is None  # claimable at once, no lease to wait out


async def test_purge_deletes_old_sent_rows_only(
    db: Database, delivery: Delivery, channel: ScriptedChannel, clock: ManualClock
) -> None:
    await fill(db, clock, 3)
    channel.failures[person(2).chat_id] = [Rejected("Bad Request: chat not found")]
    await worker(db, delivery, clock).drain()
    async with db.transaction() as session:
        assert await purge(session, before=clock.now()) == 0
        assert await purge(session, before=clock.now() + timedelta(days=1)) == 2
    assert [(row.key, row.status) for row in await rows(db)] == [("wave:2", DEAD)]
