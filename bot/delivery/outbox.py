"""The persistent outbox: waves, broadcasts and reminders that must survive a restart.

Enqueue inside the same transaction that decides the message (e.g. records the reminder):
either both are committed or neither. `key` makes enqueueing idempotent.

A worker claims due rows with a lease, sends them through Delivery at bulk priority, and
records each result in its own transaction the moment it is known.

Delivery guarantee, precisely:
- a row is marked sent (with the platform's message id) in one small transaction right after
  the platform accepted it, never batched, and that commit is shielded from cancellation;
- a crashed worker's rows become claimable again when their lease expires, so nothing is
  lost; live workers renew their leases, so a slow send is not taken over;
- what remains is at-least-once in two windows no client can close, since the Bot API has no
  idempotency key: (1) a crash between the platform accepting a message and our commit
  (a few milliseconds per message), and (2) a timeout after the platform processed the request
  but before its answer arrived; both resend that message once. A message is never lost.

Per chat, rows go out one at a time in (not_before, id) order, across all workers: a row is
not claimable while an earlier pending row of the same chat exists. A row that is pushed back
(backoff, 429) lets the chat's later rows pass it.

Claiming: PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED` inside one UPDATE … RETURNING, so
concurrent workers never claim the same row; SQLite runs the same single statement, which its
database-wide write lock makes atomic.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, literal, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.clock import Clock
from bot.core.events import Button, ChatKind, ChatRef, OutDocument, OutMessage, SentRef
from bot.delivery.errors import Rejected, RetryAfter, Throttled, Transient, Unreachable
from bot.delivery.limits import Priority
from bot.delivery.service import SINGLE_ATTEMPT, Delivery, RetryPolicy
from storage.db import Database
from storage.models.delivery import OutboxMessage

log = logging.getLogger(__name__)

PENDING = "pending"
SENT = "sent"
DEAD = "dead"
PAYLOAD_VERSION = 1
OUTBOX = OutboxMessage.__table__


# -- payload ----------------------------------------------------------------------------------


def _document(doc: OutDocument | None) -> dict[str, str] | None:
    if doc is None:
        return None
    return {
        "filename": doc.filename,
        "mime_type": doc.mime_type,
        "content_b64": base64.b64encode(doc.content).decode("ascii"),
    }


def _undocument(data: dict[str, str] | None) -> OutDocument | None:
    if data is None:
        return None
    return OutDocument(data["filename"], base64.b64decode(data["content_b64"]), data["mime_type"])


def encode_message(chat: ChatRef, message: OutMessage) -> dict[str, Any]:
    """JSON for the payload column: the message and what the row's columns do not hold."""
    return {
        "v": PAYLOAD_VERSION,
        "chat": {"kind": chat.kind.value, "title": chat.title},
        "text": message.text,
        "buttons": [
            [
                {
                    k: v
                    for k, v in (
                        ("text", b.text),
                        ("data", b.data),
                        ("url", b.url),
                        ("phone", b.phone),
                    )
                    if v is not None
                }
                for b in row
            ]
            for row in message.buttons
        ],
        "document": _document(message.document),
        "photo": _document(message.photo),
        "disable_preview": message.disable_preview,
    }


def decode_message(
    channel: str, chat_id: str, payload: dict[str, Any]
) -> tuple[ChatRef, OutMessage]:
    chat_data = payload.get("chat") or {}
    chat = ChatRef(
        channel, chat_id, ChatKind(chat_data.get("kind", "private")), chat_data.get("title")
    )
    buttons = tuple(
        tuple(Button(b["text"], b.get("data"), b.get("url"), b.get("phone")) for b in row)
        for row in payload.get("buttons", [])
    )
    message = OutMessage(
        text=payload.get("text", ""),
        buttons=buttons,
        document=_undocument(payload.get("document")),
        photo=_undocument(payload.get("photo")),
        disable_preview=bool(payload.get("disable_preview", True)),
    )
    return chat, message


# -- enqueue ----------------------------------------------------------------------------------


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    chat: ChatRef,
    message: OutMessage,
    not_before: datetime,
    created_at: datetime | None = None,
) -> bool:
    """Add a message unless one with `key` exists; True when added.

    Runs in the caller's transaction; nothing is sent before it commits.
    """
    if not_before.tzinfo is None:
        raise ValueError("not_before must be timezone-aware")
    values = {
        "key": key,
        "channel": chat.channel,
        "chat_id": chat.chat_id,
        "payload": encode_message(chat, message),
        "status": PENDING,
        "attempts": 0,
        "not_before": not_before,
        "created_at": created_at or datetime.now(UTC),
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise ValueError(f"the outbox runs on PostgreSQL or SQLite, not {dialect}")
    statement = (
        insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OutboxMessage.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


@dataclass(frozen=True)
class OutboxDepth:
    pending: int
    due: int
    dead: int


async def outbox_depth(session: AsyncSession, now: datetime) -> OutboxDepth:
    """Counts for /metrics and health checks."""
    pending = func.count().filter(OUTBOX.c.status == PENDING)
    due = func.count().filter(and_(OUTBOX.c.status == PENDING, OUTBOX.c.not_before <= now))
    dead = func.count().filter(OUTBOX.c.status == DEAD)
    row = (await session.execute(select(pending, due, dead))).one()
    return OutboxDepth(int(row[0]), int(row[1]), int(row[2]))


async def purge(
    session: AsyncSession, *, before: datetime, statuses: tuple[str, ...] = (SENT,)
) -> int:
    """Delete finished rows older than `before` (by sent time, else creation); returns how many.

    Run it daily: the claim query reads pending rows only, but a table that grows forever
    still costs backups and index maintenance. Keep dead rows longer to inspect them.
    """
    age = func.coalesce(OUTBOX.c.sent_at, OUTBOX.c.created_at)
    result = await session.execute(
        delete(OUTBOX).where(OUTBOX.c.status.in_(statuses), age < before)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# -- worker -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    channel: str
    chat_id: str
    payload: dict[str, Any]
    attempts: int


class _WriteGate:
    """One writer at a time; urgent writers go before the ordinary ones still waiting."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._urgent = 0
        self._no_urgent = asyncio.Event()
        self._no_urgent.set()

    @contextlib.asynccontextmanager
    async def hold(self, *, urgent: bool) -> AsyncIterator[None]:
        if urgent:
            self._urgent += 1
            self._no_urgent.clear()
            try:
                async with self._lock:
                    yield
            finally:
                self._urgent -= 1
                if self._urgent == 0:
                    self._no_urgent.set()
            return
        await self._no_urgent.wait()
        async with self._lock:
            yield


@dataclass
class WorkerStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    deferred: int = 0
    dead: int = 0
    received_429: int = 0
    lease_lost: int = 0
    # From the platform's answer to the committed "sent": the at-least-once window, in which a
    # crash makes the message go out twice. Kept to measure it, not just to claim it is small.
    unrecorded_max_s: float = 0.0
    unrecorded_total_s: float = 0.0


@dataclass
class OutboxWorker:
    db: Database
    delivery: Delivery
    clock: Clock
    worker_id: str
    batch: int = 50
    # Sends in flight: enough to keep the channel's budget busy while some wait on slow
    # answers; per-chat limits still hold because a chat has at most one row in flight.
    concurrency: int = 16
    lease: float = 30.0
    max_attempts: int = 10
    backoff: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(attempts=0, base_delay=2.0, max_delay=300.0)
    )
    # A row that would wait longer than this for the limiter goes back to the table.
    max_limiter_wait: float = 5.0
    poll_interval: float = 1.0
    rng: random.Random = field(default_factory=random.Random)
    stats: WorkerStats = field(default_factory=WorkerStats)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _write_gate: _WriteGate = field(default_factory=lambda: _WriteGate(), init=False, repr=False)
    _inflight: dict[int, asyncio.Task[None]] = field(default_factory=dict, init=False, repr=False)
    # Set on stop: rows still waiting for the limiter go back to the table at once.
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    def wake(self) -> None:
        """Call after committing new rows in this process: the worker looks at once."""
        self._wake.set()

    @contextlib.asynccontextmanager
    async def _writing(self, *, urgent: bool = False) -> AsyncIterator[AsyncConnection]:
        """A write transaction on a plain connection: the worker's statements are all Core, and
        skipping the ORM session shortens every write. `urgent` is for recording a message as
        sent: every millisecond until that commit is a window in which a crash sends the
        message twice."""
        if not self.db.is_sqlite:
            async with self.db.engine.begin() as connection:
                if urgent:
                    # Durable once the database server has it: skipping the WAL flush costs
                    # only a database-server crash in the next ~0.2 s (then the message may go
                    # twice), and takes the flush out of every sent message's window.
                    await connection.execute(text("SET LOCAL synchronous_commit TO OFF"))
                yield connection
            return
        # SQLite has one writer at a time; queueing our own writes here avoids its busy-wait
        # backoff (sleeps of up to 100 ms) when two of our transactions collide, and lets
        # urgent writes pass queued claims and renewals.
        async with self._write_gate.hold(urgent=urgent), self.db.engine.begin() as connection:
            yield connection

    def _channels(self) -> list[str]:
        return sorted(self.delivery.messengers)

    async def claim(self, limit: int) -> list[Claimed]:
        """Lease up to `limit` due rows to this worker."""
        channels = self._channels()
        if limit <= 0 or not channels:
            return []
        now = self.clock.now()
        row, earlier = OUTBOX, OUTBOX.alias("earlier")
        # `status || ''` keeps both planners off the status index inside this correlated
        # probe: without table statistics (a fresh wave) SQLite and PostgreSQL both picked it
        # and scanned every pending row per candidate (1-2 s per claim at 3,000 rows); on the
        # chat_id index the probe reads only that chat's rows.
        blocked_by_earlier = exists(
            select(literal(1)).where(
                earlier.c.channel == row.c.channel,
                earlier.c.chat_id == row.c.chat_id,
                (earlier.c.status + "") == PENDING,
                or_(
                    earlier.c.not_before < row.c.not_before,
                    and_(earlier.c.not_before == row.c.not_before, earlier.c.id < row.c.id),
                ),
            )
        )
        due = (
            select(row.c.id)
            .where(
                row.c.status == PENDING,
                row.c.not_before <= now,
                or_(row.c.claimed_until.is_(None), row.c.claimed_until < now),
                row.c.channel.in_(channels),
                ~blocked_by_earlier,
            )
            .order_by(row.c.not_before, row.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=row)
        )
        statement = (
            update(row)
            .where(row.c.id.in_(due.scalar_subquery()))
            .values(claimed_by=self.worker_id, claimed_until=now + timedelta(seconds=self.lease))
            .returning(
                row.c.id, row.c.key, row.c.channel, row.c.chat_id, row.c.payload, row.c.attempts
            )
        )
        async with self._writing() as session:
            rows = (await session.execute(statement)).all()
        claimed = sorted(
            (Claimed(r.id, r.key, r.channel, r.chat_id, r.payload, r.attempts) for r in rows),
            key=lambda c: c.id,
        )
        self.stats.claimed += len(claimed)
        return claimed

    async def _finish(self, row: Claimed, *, urgent: bool = False, **values: Any) -> bool:
        """Record a result, provided this worker still holds the row's lease."""
        statement = (
            update(OUTBOX)
            .where(
                OUTBOX.c.id == row.id,
                OUTBOX.c.claimed_by == self.worker_id,
                OUTBOX.c.status == PENDING,
            )
            .values(**values)
        )
        async with self._writing(urgent=urgent) as session:
            result = await session.execute(statement)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            self.stats.lease_lost += 1
            log.warning("outbox row %s (%s): lease lost before recording", row.id, row.key)
            return False
        return True

    async def _mark_sent(self, row: Claimed, ref: SentRef, answered: float) -> None:
        for attempt in range(5):
            try:
                await self._finish(
                    row,
                    urgent=True,
                    status=SENT,
                    sent_at=self.clock.now(),
                    message_id=ref.message_id,
                    attempts=row.attempts + 1,
                    claimed_until=None,
                    error=None,
                )
                self.stats.sent += 1
                window = time.perf_counter() - answered
                self.stats.unrecorded_total_s += window
                self.stats.unrecorded_max_s = max(self.stats.unrecorded_max_s, window)
                return
            except Exception:
                # The message is out: keep trying to say so, or it will be sent again.
                log.exception("could not record outbox row %s as sent", row.id)
                await asyncio.sleep(0.2 * 2**attempt)

    async def _put_back(self, row: Claimed, delay: float, error: str, *, count: bool) -> None:
        attempts = row.attempts + 1 if count else row.attempts
        if count and attempts >= self.max_attempts:
            await self._mark_dead(row, f"gave up after {attempts} attempts: {error}")
            return
        await self._finish(
            row,
            attempts=attempts,
            not_before=self.clock.now() + timedelta(seconds=max(0.0, delay)),
            claimed_by=None,
            claimed_until=None,
            error=error[:1000],
        )

    async def _mark_dead(self, row: Claimed, error: str) -> None:
        self.stats.dead += 1
        log.warning("outbox row %s (%s) is dead: %s", row.id, row.key, error)
        await self._finish(
            row, status=DEAD, attempts=row.attempts + 1, claimed_until=None, error=error[:1000]
        )

    async def process(self, row: Claimed) -> None:
        """Send one claimed row and record the outcome; never raises (except cancellation)."""
        try:
            chat, message = decode_message(row.channel, row.chat_id, row.payload)
        except (KeyError, TypeError, ValueError) as exc:
            await self._mark_dead(row, f"bad payload: {exc!r}")
            return
        try:
            ref = await self.delivery.send(
                chat,
                message,
                priority=Priority.BULK,
                policy=SINGLE_ATTEMPT,
                max_wait=self.max_limiter_wait,
                abandon=self._stopping,
            )
        except Throttled as exc:
            self.stats.deferred += 1
            await self._put_back(row, exc.seconds, "throttled", count=False)
        except RetryAfter as exc:
            # A pacing signal, not a fault of this message: not counted as an attempt.
            self.stats.received_429 += 1
            self.stats.deferred += 1
            await self._put_back(row, exc.seconds, f"429: retry after {exc.seconds}s", count=False)
        except (Unreachable, Rejected) as exc:
            await self._mark_dead(row, f"{type(exc).__name__}: {exc}")
        except Transient as exc:
            self.stats.retried += 1
            delay = self.backoff.backoff(row.attempts, self.rng)
            await self._put_back(row, delay, f"transient: {exc}", count=True)
        except LookupError as exc:
            # The channel stopped between claim and send; try again shortly.
            await self._put_back(row, self.poll_interval, str(exc), count=False)
        except Exception as exc:
            log.exception("outbox row %s failed unexpectedly", row.id)
            self.stats.retried += 1
            delay = self.backoff.backoff(row.attempts, self.rng)
            await self._put_back(row, delay, f"{type(exc).__name__}: {exc}", count=True)
        else:
            # Shielded: a cancellation now would leave a sent message recorded as unsent.
            await asyncio.shield(self._mark_sent(row, ref, time.perf_counter()))

    async def _process_logged(self, row: Claimed) -> None:
        try:
            await self.process(row)
        except Exception:
            # Recording failed (database down): the lease expires and the row is retried.
            log.exception("outbox row %s: could not record the result", row.id)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            ids = list(self._inflight)
            if not ids:
                continue
            try:
                async with self._writing() as session:
                    await session.execute(
                        update(OUTBOX)
                        .where(
                            OUTBOX.c.id.in_(ids),
                            OUTBOX.c.claimed_by == self.worker_id,
                            OUTBOX.c.status == PENDING,
                        )
                        .values(claimed_until=self.clock.now() + timedelta(seconds=self.lease))
                    )
            except Exception:
                log.exception("could not renew outbox leases")

    async def _next_due_in(self) -> float | None:
        """Seconds until some pending row may become claimable; None when none is pending."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            row = (
                await session.execute(
                    select(func.min(OUTBOX.c.not_before), func.min(OUTBOX.c.claimed_until)).where(
                        OUTBOX.c.status == PENDING, OUTBOX.c.channel.in_(self._channels())
                    )
                )
            ).one()
        moments = [m for m in row if m is not None]
        if not moments:
            return None
        # Only a lower bound (a leased row may be held longer): callers poll again anyway.
        return max(0.0, (min(moments) - now).total_seconds())

    async def _idle(
        self, seconds: float, stop: asyncio.Event | None, *, sends: bool = False
    ) -> None:
        """Until `seconds` pass, new rows are announced, `stop` is set or (with `sends`) one of
        the sends in flight finishes."""
        waiters = [asyncio.ensure_future(self._wake.wait())]
        if stop is not None:
            waiters.append(asyncio.ensure_future(stop.wait()))
        watched = set(waiters)
        if sends:
            watched.update(self._inflight.values())
        try:
            await asyncio.wait(watched, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        self._wake.clear()

    async def _pump(
        self, stop: asyncio.Event | None, *, until_idle: bool, all_pending: bool
    ) -> None:
        claim_step = max(1, self.concurrency // 4)
        renewer = asyncio.create_task(self._renew_leases())
        try:
            while stop is None or not stop.is_set():
                free = self.concurrency - len(self._inflight)
                # Sends that finish while we claim may unblock rows the claim could not see
                # yet (the chat's next row); only a claim made with none in flight is final.
                busy_while_claiming = bool(self._inflight)
                claimed: list[Claimed] = []
                if free > 0 and (not self._inflight or free >= claim_step):
                    claimed = await self.claim(min(free, self.batch))
                    for row in claimed:
                        task = asyncio.create_task(self._process_logged(row))
                        self._inflight[row.id] = task
                        task.add_done_callback(lambda _t, i=row.id: self._inflight.pop(i, None))
                if self._inflight:
                    if not claimed or len(self._inflight) >= self.concurrency:
                        await self._idle(self.poll_interval, stop, sends=True)
                    continue
                if claimed or busy_while_claiming:
                    continue
                if not until_idle:
                    await self._idle(self.poll_interval, stop)
                    continue
                if not all_pending:
                    break
                wait = await self._next_due_in()
                if wait is None:
                    break
                # Rows due now but not claimable (an earlier row of the chat is in flight
                # elsewhere) must not turn this into a busy loop.
                await self._idle(min(self.poll_interval, max(0.05, wait)), stop)
        finally:
            renewer.cancel()
            if self._inflight:
                # Requests already made finish and record their outcome; rows still waiting for
                # the limiter are handed back unsent, claimable by others at once.
                self._stopping.set()
                await asyncio.gather(*self._inflight.values(), return_exceptions=True)
            self._stopping.clear()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def drain(self, *, wait_for_pending: bool = False) -> WorkerStats:
        """Send until nothing is due (tests); with wait_for_pending, until nothing is pending."""
        await self._pump(None, until_idle=True, all_pending=wait_for_pending)
        return self.stats

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        """Serve until `stop_event` is set; in-flight sends finish and are recorded."""
        await self._pump(stop_event, until_idle=False, all_pending=False)
