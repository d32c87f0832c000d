"""Outbound rate limits per channel, in-process or shared by every instance through Redis.

Telegram's flood limits (research §4; not published exactly, these are the FAQ's numbers):
about 30 messages/s overall, about 1/s per private chat with short bursts, 20/min per group.

Each channel has three rules; a send may go when all of them allow it:

- **overall**: at most `overall` sends in any sliding `overall_window`. A sliding-window log,
  not a token bucket, because that is how the limit is stated (and how the mock server checks
  it): a bucket with any burst capacity lets `burst + rate` through in one window.
- **per private chat**: a token bucket (`private_rate`/s, `private_burst` tokens).
- **per group**: a sliding-window log (`group_count` per `group_window`).

Priorities: interactive replies must not queue behind a broadcast wave. Bulk sends are paced
evenly (GCRA: about `window / overall` seconds apart, one interval of catch-up tolerance,
instead of bursts at the start of each window),
and an interactive send that finds the overall window full holds bulk sends back until it has
gone, so it takes the very next free slot (typically within one pacing interval, ~35 ms).
`bulk_reserve` can additionally keep slots of every window for interactive traffic only.

A 429's `retry_after` blocks that one chat (`block`), never the channel.

Waiting for the channel's budget is done in line (`WaitingLine`): in each process only the
first sender waiting for a channel's window asks the limiter again; the others wait behind
it. Otherwise every waiter wakes and asks for each freed slot (100 waiters behind a steady
stream asked 4,400 times for 100 grants in tests/scale), which costs CPU that handlers need
and, with a thousand replies queued, overflowed the Redis connection pool: the instances
fell back to unshared limits and together sent far above the platform's.

The platform counts a request when it arrives, we when we grant it; in between lie our own
event loop (busy handling updates) and the network, tens of milliseconds on a loaded machine.
So a granted send is `settle`d when the platform has answered: its window entry moves from
the grant to the answer, a time no earlier than its arrival. A later send (granted, so
arriving, no earlier than its grant) is then at least a window after it however long either
request took to leave. `margin` widens windows and slows per-chat rates a little on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Protocol

from bot.core.events import ChatRef
from bot.delivery.errors import Throttled
from bot.redis_support import Outage, redis_failures

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

# Float noise: a waiter that slept exactly the returned time must find the slot free.
EPSILON = 1e-9
# A granted request unanswered this long is taken as abandoned (its sender crashed or forgot
# it) and stops holding a place in the overall window; far above any client timeout we use.
MAX_FLIGHT = 120.0
# How soon to ask again when every place of a window is held by requests still in flight.
FLIGHT_POLL = 0.02


class Priority(IntEnum):
    INTERACTIVE = 0  # a reply to someone who is waiting for it
    BULK = 1  # waves, broadcasts, reminders from the outbox


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    overall: int = 30
    overall_window: float = 1.0
    private_rate: float | None = 1.0
    private_burst: int = 3
    group_count: int | None = 20
    group_window: float = 60.0
    bulk_reserve: int = 0
    # Settling at the answer already keeps sends a window apart at the platform; the margin
    # only keeps timer jitter off the window's edge. 1 % cost 1 % of every wave's speed.
    margin: float = 0.002
    # How long bulk keeps yielding after the moment an interactive waiter was told to retry.
    interactive_hold: float = 0.05
    # Pacing intervals a late bulk sender may catch up (event-loop or scheduling hiccups);
    # the window log still caps every window, so catching up never exceeds the limit.
    pace_tolerance: float = 1.0
    pace_headroom: float = 0.05

    def __post_init__(self) -> None:
        if self.overall < 1 or self.overall_window <= 0:
            raise ValueError("overall limit needs a positive count and window")
        if not 0 <= self.bulk_reserve < self.overall:
            raise ValueError("bulk_reserve must leave bulk sends at least one slot")
        if self.private_rate is not None and (self.private_rate <= 0 or self.private_burst < 1):
            raise ValueError("private limit needs a positive rate and burst")
        if self.group_count is not None and (self.group_count < 1 or self.group_window <= 0):
            raise ValueError("group limit needs a positive count and window")

    @property
    def window(self) -> float:
        return self.overall_window * (1 + self.margin)

    @property
    def pace(self) -> float:
        """Least seconds between two bulk sends: the window's average spacing, a little tighter
        so the window log is what binds and a refunded slot can be used again."""
        return self.window / self.overall * (1 - self.pace_headroom)

    @property
    def chat_rate(self) -> float | None:
        return None if self.private_rate is None else self.private_rate / (1 + self.margin)

    @property
    def group_span(self) -> float:
        return self.group_window * (1 + self.margin)


TELEGRAM_LIMITS = ChannelLimits()
# Zalo OA publishes quotas per day and per message type rather than a per-second figure;
# 10/s overall and nothing per chat is a cautious guess until measured. Override per deployment.
ZALO_LIMITS = ChannelLimits(overall=10, private_rate=None, group_count=None)


def default_limits(**overrides: ChannelLimits) -> dict[str, ChannelLimits]:
    """Limits per channel name; pass e.g. `zalo=ChannelLimits(...)` to replace one."""
    limits = {"telegram": TELEGRAM_LIMITS, "zalo": ZALO_LIMITS}
    limits.update(overrides)
    return limits


def is_group(chat: ChatRef) -> bool:
    # Telegram group and supergroup ids are negative, even when a caller forgot the kind.
    return chat.is_group or chat.chat_id.startswith("-")


@dataclass(frozen=True, slots=True)
class Decision:
    """A limiter's answer: go now (`wait == 0`; `ticket` names the slot taken) or wait.

    `shared`: the wait is for the channel's budget (the overall window, pacing), which every
    sender of the channel waits for alike, not for this chat's own limits."""

    wait: float
    ticket: str = ""
    shared: bool = False

    @property
    def granted(self) -> bool:
        return self.wait <= 0


GRANTED_UNLIMITED = Decision(0.0)


class Limiter(Protocol):
    """Both implementations: in-process (`LocalLimiter`) and shared (`RedisLimiter`)."""

    async def try_acquire(self, chat: ChatRef, priority: Priority) -> Decision:
        """Take a slot now if every rule allows it, else say how long to wait before asking
        again. A refusal consumes nothing."""
        ...

    async def refund(self, chat: ChatRef, priority: Priority, ticket: str) -> None:
        """Give back a slot whose request the platform refused without counting it (a 429, a
        5xx): keeping it would leave part of the budget unused (~4% with a few % of faults).

        Pacing is not rewound: the slot comes back in the window, not as an immediate retry,
        so a 429 caused by the platform's window being fuller than ours does not cascade."""
        ...

    async def settle(self, chat: ChatRef, priority: Priority, ticket: str) -> None:
        """The platform has answered the request of this grant (anything but a refusal that
        gets `refund`): count the send in the windows from now, when it has surely arrived,
        rather than from the grant, which may have been well before it left."""
        ...

    async def block(self, chat: ChatRef, seconds: float) -> None:
        """The platform said "retry after `seconds`" for this chat: hold only this chat back."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Grant:
    ticket: str
    waited: float


class WaitingLine:
    """This process's senders waiting for a channel's budget, first come first served: only
    the first of each (channel, priority) asks the limiter; the others wait for their turn
    without asking (see the module's docstring). Per-chat waits are not queued here."""

    def __init__(self) -> None:
        self._turns: dict[tuple[str, Priority], asyncio.Lock] = {}

    def turn(self, channel: str, priority: Priority) -> asyncio.Lock:
        return self._turns.setdefault((channel, priority), asyncio.Lock())


async def acquire(
    limiter: Limiter,
    chat: ChatRef,
    priority: Priority,
    *,
    sleep: Callable[[float], Awaitable[None]],
    max_wait: float | None = None,
    abandon: asyncio.Event | None = None,
    line: WaitingLine | None = None,
) -> Grant:
    """Wait until `limiter` lets this send go.

    Raises Throttled instead of waiting when the total wait would exceed `max_wait`, or as
    soon as `abandon` is set (a worker shutting down hands its waiting rows back). With a
    `line`, a wait for the channel's budget is spent in line behind this process's other
    senders; time in line counts towards `max_wait` (measured on the event loop's clock).
    """
    waited = 0.0
    turn: asyncio.Lock | None = None  # held while this sender asks for the whole line
    try:
        while True:
            if abandon is not None and abandon.is_set():
                raise Throttled(0.0)
            decision = await limiter.try_acquire(chat, priority)
            if decision.granted:
                return Grant(decision.ticket, waited)
            if max_wait is not None and waited + decision.wait > max_wait:
                raise Throttled(decision.wait)
            if line is not None and decision.shared and turn is None:
                lock = line.turn(chat.channel, priority)
                if lock.locked():
                    # Someone ahead is asking: wait for them to be served, then ask at once.
                    limit = None if max_wait is None else max_wait - waited
                    waited += await _queue(lock, limit, abandon)
                    turn = lock
                    continue
                await lock.acquire()
                turn = lock
            elif turn is not None and not decision.shared:
                # Only this chat's own limit holds it now: let the next in line ask.
                turn.release()
                turn = None
            if abandon is None:
                await sleep(decision.wait)
            else:
                await _sleep_unless(sleep, decision.wait, abandon)
            waited += decision.wait
    finally:
        if turn is not None:
            turn.release()


async def _queue(lock: asyncio.Lock, limit: float | None, abandon: asyncio.Event | None) -> float:
    """Take `lock` in line; Throttled after `limit` seconds or once `abandon` is set.
    Returns the seconds spent in line."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    queued = asyncio.ensure_future(lock.acquire())
    watched: set[asyncio.Future[Any]] = {queued}
    stopping = None if abandon is None else asyncio.ensure_future(abandon.wait())
    if stopping is not None:
        watched.add(stopping)
    try:
        await asyncio.wait(watched, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        if queued.done() and not queued.cancelled():
            lock.release()
        queued.cancel()
        raise
    finally:
        if stopping is not None:
            stopping.cancel()
    if not queued.done():
        # Cancelled before it resumed, Lock.acquire never takes the lock (it re-raises).
        queued.cancel()
        raise Throttled(0.0)
    if abandon is not None and abandon.is_set():
        lock.release()
        raise Throttled(0.0)
    return loop.time() - started


async def _sleep_unless(
    sleep: Callable[[float], Awaitable[None]], seconds: float, abandon: asyncio.Event
) -> None:
    napping = asyncio.ensure_future(sleep(seconds))
    stopping = asyncio.ensure_future(abandon.wait())
    try:
        await asyncio.wait({napping, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        napping.cancel()
        stopping.cancel()


# -- in-process -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


@dataclass(slots=True)
class _ChannelState:
    log: deque[float] = field(default_factory=deque)
    bulk_next: float = -math.inf
    hold_until: float = -math.inf
    # Grants not answered yet (stamp → how many), and those of them that have outlived their
    # window entry: a request slower than the window may still arrive, so it keeps its place
    # until it is settled or refunded (or MAX_FLIGHT passes, for a sender that vanished).
    flying: Counter[float] = field(default_factory=Counter)
    overdue: Counter[float] = field(default_factory=Counter)

    def expire(self, horizon: float) -> None:
        log = self.log
        while log and log[0] <= horizon + EPSILON:
            stamp = log.popleft()
            if self.flying[stamp] > self.overdue[stamp]:
                self.overdue[stamp] += 1
        if self.overdue:
            lost = horizon - MAX_FLIGHT
            for stamp in [s for s in self.overdue if s < lost]:
                del self.overdue[stamp]
                self.flying.pop(stamp, None)

    def land(self, stamp: float) -> bool:
        """The request of this grant was answered or refused; True when its window entry had
        already expired (it is overdue) rather than still being in the log."""
        _take(self.flying, stamp)
        return _take(self.overdue, stamp)


def _take(counts: Counter[float], stamp: float) -> bool:
    if counts[stamp] <= 0:
        counts.pop(stamp, None)
        return False
    counts[stamp] -= 1
    if not counts[stamp]:
        del counts[stamp]
    return True


def _expire(log: deque[float], horizon: float) -> None:
    while log and log[0] <= horizon + EPSILON:
        log.popleft()


def _log_wait(log: deque[float], capacity: int, span: float, now: float) -> float:
    """Seconds until `log` has room for one more entry under `capacity` per `span`."""
    if len(log) < capacity:
        return 0.0
    if capacity <= 0:
        # Every place is held by requests still in flight: ask again shortly.
        return FLIGHT_POLL
    # The (len - capacity)-th oldest entry must leave the window before there is room.
    return log[len(log) - capacity] + span - now


class LocalLimiter:
    """All rules in this process's memory. Right for one process; use RedisLimiter for many."""

    def __init__(
        self,
        limits: Mapping[str, ChannelLimits] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = dict(default_limits() if limits is None else limits)
        self.clock = clock
        self._channels: dict[str, _ChannelState] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._groups: dict[tuple[str, str], deque[float]] = {}
        self._blocked: dict[tuple[str, str], float] = {}
        self._calls = 0

    async def try_acquire(self, chat: ChatRef, priority: Priority) -> Decision:
        return self.check(chat, priority)

    def check(self, chat: ChatRef, priority: Priority) -> Decision:
        """The synchronous core of try_acquire (no I/O, so no awaiting needed)."""
        limits = self.limits.get(chat.channel)
        if limits is None:
            return GRANTED_UNLIMITED
        now = self.clock()
        self._calls += 1
        if self._calls % 1000 == 0:
            self._forget_idle(now)
        key = (chat.channel, chat.chat_id)
        state = self._channels.setdefault(chat.channel, _ChannelState())
        bulk = priority is Priority.BULK

        chat_wait = self._blocked.get(key, -math.inf) - now
        bucket: _Bucket | None = None
        group: deque[float] | None = None
        rate = limits.chat_rate
        if is_group(chat):
            if limits.group_count is not None:
                group = self._groups.setdefault(key, deque())
                _expire(group, now - limits.group_span)
                room = _log_wait(group, limits.group_count, limits.group_span, now)
                chat_wait = max(chat_wait, room)
        elif rate is not None:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(limits.private_burst), now)
            bucket.tokens = min(
                float(limits.private_burst), bucket.tokens + (now - bucket.updated) * rate
            )
            bucket.updated = now
            if bucket.tokens < 1.0 - EPSILON:
                chat_wait = max(chat_wait, (1.0 - bucket.tokens) / rate)

        state.expire(now - limits.window)
        capacity = limits.overall - (limits.bulk_reserve if bulk else 0) - state.overdue.total()
        overall_wait = _log_wait(state.log, capacity, limits.window, now)
        if bulk:
            # GCRA pacing with a small tolerance: a waiter that woke late does not push every
            # later bulk send back (the window log still caps the total).
            paced = state.bulk_next - limits.pace * limits.pace_tolerance - now
            overall_wait = max(overall_wait, paced, state.hold_until - now)

        wait = max(chat_wait, overall_wait, 0.0)
        if wait > EPSILON:
            shared = overall_wait > 0 and overall_wait >= chat_wait
            if not bulk and shared:
                # Keep bulk off the slot this interactive send will come back for.
                state.hold_until = max(
                    state.hold_until, now + overall_wait + limits.interactive_hold
                )
            return Decision(wait, shared=shared)

        state.log.append(now)
        state.flying[now] += 1
        if bulk:
            state.bulk_next = max(state.bulk_next, now) + limits.pace
        if bucket is not None:
            bucket.tokens -= 1.0
        if group is not None:
            group.append(now)
        # The grant's own timestamp identifies its entries in the logs.
        return Decision(0.0, repr(now))

    async def refund(self, chat: ChatRef, priority: Priority, ticket: str) -> None:
        limits = self.limits.get(chat.channel)
        if limits is None or not ticket:
            return
        stamp = float(ticket)
        key = (chat.channel, chat.chat_id)
        state = self._channels.get(chat.channel)
        if state is not None and not state.land(stamp):
            with contextlib.suppress(ValueError):
                state.log.remove(stamp)
        group = self._groups.get(key)
        if group is not None:
            with contextlib.suppress(ValueError):
                group.remove(stamp)
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(float(limits.private_burst), bucket.tokens + 1.0)

    async def settle(self, chat: ChatRef, priority: Priority, ticket: str) -> None:
        self.settle_now(chat, ticket)

    def settle_now(self, chat: ChatRef, ticket: str) -> None:
        limits = self.limits.get(chat.channel)
        if limits is None or not ticket:
            return
        stamp, now = float(ticket), self.clock()
        state = self._channels.get(chat.channel)
        overdue = state is not None and state.land(stamp)
        if now <= stamp:
            return
        group = self._groups.get((chat.channel, chat.chat_id))
        for log in (state.log if state else None, group):
            if log is None:
                continue
            if not overdue or log is group:
                # Gone from a group's log only if the request took longer than its window.
                with contextlib.suppress(ValueError):
                    log.remove(stamp)
            log.append(now)  # every entry was added at or before now: the log stays sorted

    async def block(self, chat: ChatRef, seconds: float) -> None:
        key = (chat.channel, chat.chat_id)
        until = self.clock() + max(0.0, seconds)
        self._blocked[key] = max(self._blocked.get(key, -math.inf), until)

    def blocked_for(self, chat: ChatRef) -> float:
        return max(0.0, self._blocked.get((chat.channel, chat.chat_id), -math.inf) - self.clock())

    def _forget_idle(self, now: float) -> None:
        # Per-chat state of chats that went quiet carries no information: drop it.
        for key, until in list(self._blocked.items()):
            if until <= now:
                del self._blocked[key]
        for key, bucket in list(self._buckets.items()):
            limits = self.limits.get(key[0])
            rate = limits.chat_rate if limits else None
            full = limits is None or rate is None
            if not full and limits is not None and rate is not None:
                full = bucket.tokens + (now - bucket.updated) * rate >= limits.private_burst
            if full:
                del self._buckets[key]
        for key, log in list(self._groups.items()):
            limits = self.limits.get(key[0])
            if limits is None or not log or log[-1] <= now - limits.group_span:
                del self._groups[key]

    async def aclose(self) -> None:
        return None


# -- shared through Redis ---------------------------------------------------------------------

# One atomic script per decision, so N processes together never exceed a limit. Times are in
# milliseconds; the script reads Redis's own clock unless a caller passes one (tests do), so
# instances on different machines agree on "now". Values are written with string.format
# because Lua's default number formatting keeps only 14 significant digits.
# ARGV[1]: the caller's clock in ms, or negative for Redis's own (see above).
_NOW_MS = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
"""

_ACQUIRE = (
    _NOW_MS
    + """
local bulk = ARGV[2] == '1'
local overall = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local reserve = tonumber(ARGV[5])
local pace = tonumber(ARGV[6])
local hold = tonumber(ARGV[7])
local mode = ARGV[8]
local rate = tonumber(ARGV[9])
local burst = tonumber(ARGV[10])
local group_cap = tonumber(ARGV[11])
local group_span = tonumber(ARGV[12])
local tolerance = tonumber(ARGV[13])
local max_flight = tonumber(ARGV[14])
local poll = tonumber(ARGV[15])
local function fmt(x) return string.format('%.3f', x) end

local function log_wait(key, cap, span)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', fmt(now - span))
  local count = redis.call('ZCARD', key)
  if count < cap then return 0 end
  if cap <= 0 then return poll end
  local entry = redis.call('ZRANGE', key, count - cap, count - cap, 'WITHSCORES')
  return tonumber(entry[2]) + span - now
end

local chat_wait = 0
local blocked = tonumber(redis.call('GET', KEYS[3]) or '0')
if blocked > now then chat_wait = blocked - now end

local tokens = nil
if mode == 'bucket' then
  local state = redis.call('HMGET', KEYS[4], 'tokens', 'updated')
  tokens = tonumber(state[1]) or burst
  local updated = tonumber(state[2]) or now
  tokens = math.min(burst, tokens + (now - updated) * rate)
  if tokens < 1 then chat_wait = math.max(chat_wait, (1 - tokens) / rate) end
elseif mode == 'group' then
  chat_wait = math.max(chat_wait, log_wait(KEYS[4], group_cap, group_span))
end

-- Unanswered grants whose window entry has expired still count (see LocalLimiter); those
-- older than max_flight belong to a sender that vanished.
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', fmt(now - max_flight))
local cap = overall - redis.call('ZCOUNT', KEYS[5], '-inf', fmt(now - window))
if bulk then cap = cap - reserve end
local overall_wait = log_wait(KEYS[1], cap, window)
if bulk then
  local st = redis.call('HMGET', KEYS[2], 'bulk_next', 'hold_until')
  local tat = tonumber(st[1]) or 0
  overall_wait = math.max(overall_wait, tat - tolerance - now, (tonumber(st[2]) or 0) - now)
end

local wait = math.max(chat_wait, overall_wait, 0)
if wait > 0 then
  local shared = overall_wait > 0 and overall_wait >= chat_wait
  if (not bulk) and shared then
    local current = tonumber(redis.call('HGET', KEYS[2], 'hold_until') or '0')
    redis.call('HSET', KEYS[2], 'hold_until', fmt(math.max(current, now + overall_wait + hold)))
    redis.call('PEXPIRE', KEYS[2], math.ceil(window * 10))
  end
  return {math.ceil(wait), '', shared and 1 or 0}
end

-- The sequence restarts when the state hash expires after a quiet spell, while a group's log
-- lives a minute: the time makes the member unique, so a new entry never overwrites an old one.
local member = tostring(redis.call('HINCRBY', KEYS[2], 'seq', 1)) .. '@' .. fmt(now)
redis.call('ZADD', KEYS[1], fmt(now), member)
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 2))
redis.call('ZADD', KEYS[5], fmt(now), member)
redis.call('PEXPIRE', KEYS[5], math.ceil(max_flight + window))
if bulk then
  local tat = tonumber(redis.call('HGET', KEYS[2], 'bulk_next') or '0')
  redis.call('HSET', KEYS[2], 'bulk_next', fmt(math.max(tat, now) + pace))
end
redis.call('PEXPIRE', KEYS[2], math.ceil(window * 10))
if mode == 'bucket' then
  redis.call('HSET', KEYS[4], 'tokens', fmt(tokens - 1), 'updated', fmt(now))
  redis.call('PEXPIRE', KEYS[4], math.ceil(burst / rate) + 1000)
elseif mode == 'group' then
  redis.call('ZADD', KEYS[4], fmt(now), member)
  redis.call('PEXPIRE', KEYS[4], math.ceil(group_span) + 1000)
end
return {0, member}
"""
)

_REFUND = """
local function fmt(x) return string.format('%.3f', x) end
local member = ARGV[1]
local mode = ARGV[2]
local burst = tonumber(ARGV[3])
redis.call('ZREM', KEYS[1], member)
redis.call('ZREM', KEYS[5], member)
if mode == 'group' then redis.call('ZREM', KEYS[4], member) end
if mode == 'bucket' then
  local tokens = tonumber(redis.call('HGET', KEYS[4], 'tokens') or '-1')
  if tokens >= 0 then redis.call('HSET', KEYS[4], 'tokens', fmt(math.min(burst, tokens + 1))) end
end
return 0
"""

_SETTLE = (
    _NOW_MS
    + """
local member = ARGV[2]
redis.call('ZREM', KEYS[5], member)
local function settle(key, span)
  local score = redis.call('ZSCORE', key, member)
  -- Re-added even when gone: a request that took longer than the window counts from now too.
  if (not score) or tonumber(score) < now then
    redis.call('ZADD', key, string.format('%.3f', now), member)
    redis.call('PEXPIRE', key, math.ceil(span))
  end
end
settle(KEYS[1], tonumber(ARGV[3]) * 2)
if ARGV[4] == 'group' then settle(KEYS[4], tonumber(ARGV[5]) + 1000) end
return 0
"""
)

_BLOCK = (
    _NOW_MS
    + """
local untl = now + tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > current then
  redis.call('SET', KEYS[1], string.format('%.3f', untl), 'PX', math.ceil(untl - now) + 1)
end
return 0
"""
)


LOCAL_TICKET = "local:"


class RedisLimiter:
    """The same rules as LocalLimiter, kept in Redis so all instances share one budget.

    If Redis cannot be reached, each process falls back to its own LocalLimiter (logged): the
    bot keeps answering, at the price of N instances sharing the limits only approximately
    until Redis is back.
    """

    def __init__(
        self,
        redis: Redis,
        limits: Mapping[str, ChannelLimits] | None = None,
        *,
        prefix: str = "congvu:limits",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.redis = redis
        self.limits = dict(default_limits() if limits is None else limits)
        self.prefix = prefix
        # None: Redis's clock (production). Tests pass a fake monotonic clock in seconds.
        self.clock = clock
        self._acquire = redis.register_script(_ACQUIRE)
        self._block = redis.register_script(_BLOCK)
        self._refund = redis.register_script(_REFUND)
        self._settle = redis.register_script(_SETTLE)
        self.fallback = LocalLimiter(self.limits, clock=clock or time.monotonic)
        self._failures = redis_failures()
        self._outage = Outage(log, "Redis limiter", "limiting in this process only")

    def _now_ms(self) -> float:
        return -1.0 if self.clock is None else self.clock() * 1000.0

    def _keys(self, chat: ChatRef) -> tuple[str, str, str, str, str]:
        # One hash tag per channel keeps a channel's keys in one Redis Cluster slot.
        base = f"{self.prefix}:{{{chat.channel}}}"
        kind = "group" if is_group(chat) else "bucket"
        return (
            f"{base}:overall",
            f"{base}:state",
            f"{base}:block:{chat.chat_id}",
            f"{base}:{kind}:{chat.chat_id}",
            f"{base}:flying",
        )

    @staticmethod
    def _mode(chat: ChatRef, limits: ChannelLimits) -> str:
        if is_group(chat):
            return "group" if limits.group_count is not None else "none"
        return "bucket" if limits.chat_rate is not None else "none"

    async def try_acquire(self, chat: ChatRef, priority: Priority) -> Decision:
        limits = self.limits.get(chat.channel)
        if limits is None:
            return GRANTED_UNLIMITED
        mode = self._mode(chat, limits)
        rate = limits.chat_rate or 1.0
        args = [
            self._now_ms(),
            int(priority is Priority.BULK),
            limits.overall,
            limits.window * 1000,
            limits.bulk_reserve,
            limits.pace * 1000,
            limits.interactive_hold * 1000,
            mode,
            rate / 1000,
            limits.private_burst,
            limits.group_count or 0,
            limits.group_span * 1000,
            limits.pace * limits.pace_tolerance * 1000,
            MAX_FLIGHT * 1000,
            FLIGHT_POLL * 1000,
        ]
        try:
            answer = await self._acquire(keys=list(self._keys(chat)), args=args)
        except self._failures as exc:
            self._outage.failed(exc)
            local = self.fallback.check(chat, priority)
            ticket = LOCAL_TICKET + local.ticket if local.ticket else ""
            return Decision(local.wait, ticket, local.shared)
        self._outage.back()
        wait_ms, member = answer[0], answer[1]
        ticket = member.decode() if isinstance(member, bytes) else str(member)
        return Decision(int(wait_ms) / 1000.0, ticket, len(answer) > 2 and int(answer[2]) == 1)

    async def refund(self, chat: ChatRef, priority: Priority, ticket: str) -> None:
        limits = self.limits.get(chat.channel)
        if limits is None or not ticket:
            return
        if ticket.startswith(LOCAL_TICKET):
            await self.fallback.refund(chat, priority, ticket.removeprefix(LOCAL_TICKET))
            return
        args = [ticket, self._mode(chat, limits), limits.private_burst]
        try:
            await self._refund(keys=list(self._keys(chat)), args=args)
        except self._failures as exc:
            self._outage.failed(exc)

    async def settle(self, chat: ChatRef, priority: Priority, ticket: str) -> None:
        limits = self.limits.get(chat.channel)
        if limits is None or not ticket:
            return
        if ticket.startswith(LOCAL_TICKET):
            self.fallback.settle_now(chat, ticket.removeprefix(LOCAL_TICKET))
            return
        args = [
            self._now_ms(),
            ticket,
            limits.window * 1000,
            self._mode(chat, limits),
            limits.group_span * 1000,
        ]
        try:
            await self._settle(keys=list(self._keys(chat)), args=args)
        except self._failures as exc:
            self._outage.failed(exc)

    async def block(self, chat: ChatRef, seconds: float) -> None:
        # Also held locally, so the block survives a Redis outage in this process.
        await self.fallback.block(chat, seconds)
        key = self._keys(chat)[2]
        try:
            await self._block(keys=[key], args=[self._now_ms(), max(0.0, seconds) * 1000])
        except self._failures as exc:
            self._outage.failed(exc)

    async def aclose(self) -> None:
        await self.redis.aclose()


def make_limiter(redis_url: str = "", limits: Mapping[str, ChannelLimits] | None = None) -> Limiter:
    """Settings.redis_url set → shared limits in Redis; otherwise this process's memory."""
    if redis_url:
        from redis.asyncio import BlockingConnectionPool, Redis

        # A blocking pool: a burst of sends queues for a connection instead of failing with
        # "Too many connections", which the limiter would take for Redis being down.
        pool = BlockingConnectionPool.from_url(redis_url, max_connections=50, timeout=10)
        return RedisLimiter(Redis(connection_pool=pool), limits)
    return LocalLimiter(limits)
