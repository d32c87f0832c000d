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

`margin` widens windows and slows per-chat rates a little: the platform stamps requests on
arrival, and network jitter can bring two of our sends closer together than we spaced them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol

from redis.exceptions import RedisError

from bot.core.events import ChatRef
from bot.delivery.errors import Throttled

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

# Float noise: a waiter that slept exactly the returned time must find the slot free.
EPSILON = 1e-9


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
    margin: float = 0.01
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
    """A limiter's answer: go now (`wait == 0`; `ticket` names the slot taken) or wait."""

    wait: float
    ticket: str = ""

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

    async def block(self, chat: ChatRef, seconds: float) -> None:
        """The platform said "retry after `seconds`" for this chat: hold only this chat back."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Grant:
    ticket: str
    waited: float


async def acquire(
    limiter: Limiter,
    chat: ChatRef,
    priority: Priority,
    *,
    sleep: Callable[[float], Awaitable[None]],
    max_wait: float | None = None,
    abandon: asyncio.Event | None = None,
) -> Grant:
    """Wait until `limiter` lets this send go.

    Raises Throttled instead of waiting when the total wait would exceed `max_wait`, or as
    soon as `abandon` is set (a worker shutting down hands its waiting rows back).
    """
    waited = 0.0
    while True:
        if abandon is not None and abandon.is_set():
            raise Throttled(0.0)
        decision = await limiter.try_acquire(chat, priority)
        if decision.granted:
            return Grant(decision.ticket, waited)
        if max_wait is not None and waited + decision.wait > max_wait:
            raise Throttled(decision.wait)
        if abandon is None:
            await sleep(decision.wait)
        else:
            await _sleep_unless(sleep, decision.wait, abandon)
        waited += decision.wait


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


def _expire(log: deque[float], horizon: float) -> None:
    while log and log[0] <= horizon + EPSILON:
        log.popleft()


def _log_wait(log: deque[float], capacity: int, span: float, now: float) -> float:
    """Seconds until `log` has room for one more entry under `capacity` per `span`."""
    if len(log) < capacity:
        return 0.0
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

        _expire(state.log, now - limits.window)
        capacity = limits.overall - (limits.bulk_reserve if bulk else 0)
        overall_wait = _log_wait(state.log, capacity, limits.window, now)
        if bulk:
            # GCRA pacing with a small tolerance: a waiter that woke late does not push every
            # later bulk send back (the window log still caps the total).
            paced = state.bulk_next - limits.pace * limits.pace_tolerance - now
            overall_wait = max(overall_wait, paced, state.hold_until - now)

        wait = max(chat_wait, overall_wait, 0.0)
        if wait > EPSILON:
            if not bulk and overall_wait > 0 and overall_wait >= chat_wait:
                # Keep bulk off the slot this interactive send will come back for.
                state.hold_until = max(
                    state.hold_until, now + overall_wait + limits.interactive_hold
                )
            return Decision(wait)

        state.log.append(now)
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
        if state is not None:
            with contextlib.suppress(ValueError):
                state.log.remove(stamp)
        group = self._groups.get(key)
        if group is not None:
            with contextlib.suppress(ValueError):
                group.remove(stamp)
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(float(limits.private_burst), bucket.tokens + 1.0)

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
_ACQUIRE = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
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
local function fmt(x) return string.format('%.3f', x) end

local function log_wait(key, cap, span)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', fmt(now - span))
  local count = redis.call('ZCARD', key)
  if count < cap then return 0 end
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

local cap = overall
if bulk then cap = overall - reserve end
local overall_wait = log_wait(KEYS[1], cap, window)
if bulk then
  local st = redis.call('HMGET', KEYS[2], 'bulk_next', 'hold_until')
  local tat = tonumber(st[1]) or 0
  overall_wait = math.max(overall_wait, tat - tolerance - now, (tonumber(st[2]) or 0) - now)
end

local wait = math.max(chat_wait, overall_wait, 0)
if wait > 0 then
  if (not bulk) and overall_wait > 0 and overall_wait >= chat_wait then
    local current = tonumber(redis.call('HGET', KEYS[2], 'hold_until') or '0')
    redis.call('HSET', KEYS[2], 'hold_until', fmt(math.max(current, now + overall_wait + hold)))
    redis.call('PEXPIRE', KEYS[2], math.ceil(window * 10))
  end
  return {math.ceil(wait), ''}
end

local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('ZADD', KEYS[1], fmt(now), tostring(seq))
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 2))
if bulk then
  local tat = tonumber(redis.call('HGET', KEYS[2], 'bulk_next') or '0')
  redis.call('HSET', KEYS[2], 'bulk_next', fmt(math.max(tat, now) + pace))
end
redis.call('PEXPIRE', KEYS[2], math.ceil(window * 10))
if mode == 'bucket' then
  redis.call('HSET', KEYS[4], 'tokens', fmt(tokens - 1), 'updated', fmt(now))
  redis.call('PEXPIRE', KEYS[4], math.ceil(burst / rate) + 1000)
elseif mode == 'group' then
  redis.call('ZADD', KEYS[4], fmt(now), tostring(seq))
  redis.call('PEXPIRE', KEYS[4], math.ceil(group_span) + 1000)
end
return {0, tostring(seq)}
"""

_REFUND = """
local function fmt(x) return string.format('%.3f', x) end
local member = ARGV[1]
local mode = ARGV[2]
local burst = tonumber(ARGV[3])
redis.call('ZREM', KEYS[1], member)
if mode == 'group' then redis.call('ZREM', KEYS[4], member) end
if mode == 'bucket' then
  local tokens = tonumber(redis.call('HGET', KEYS[4], 'tokens') or '-1')
  if tokens >= 0 then redis.call('HSET', KEYS[4], 'tokens', fmt(math.min(burst, tokens + 1))) end
end
return 0
"""

_BLOCK = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local untl = now + tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > current then
  redis.call('SET', KEYS[1], string.format('%.3f', untl), 'PX', math.ceil(untl - now) + 1)
end
return 0
"""


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
        self.fallback = LocalLimiter(self.limits, clock=clock or time.monotonic)
        self._degraded = False

    def _redis_failed(self, exc: Exception) -> None:
        if not self._degraded:
            log.warning("Redis limiter unavailable (%s): limiting in this process only", exc)
        self._degraded = True

    def _redis_back(self) -> None:
        if self._degraded:
            log.warning("Redis limiter available again")
        self._degraded = False

    def _now_ms(self) -> float:
        return -1.0 if self.clock is None else self.clock() * 1000.0

    def _keys(self, chat: ChatRef) -> tuple[str, str, str, str]:
        # One hash tag per channel keeps a channel's keys in one Redis Cluster slot.
        base = f"{self.prefix}:{{{chat.channel}}}"
        kind = "group" if is_group(chat) else "bucket"
        return (
            f"{base}:overall",
            f"{base}:state",
            f"{base}:block:{chat.chat_id}",
            f"{base}:{kind}:{chat.chat_id}",
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
        ]
        try:
            wait_ms, member = await self._acquire(keys=list(self._keys(chat)), args=args)
        except (RedisError, OSError) as exc:
            self._redis_failed(exc)
            local = self.fallback.check(chat, priority)
            return Decision(local.wait, LOCAL_TICKET + local.ticket if local.ticket else "")
        self._redis_back()
        ticket = member.decode() if isinstance(member, bytes) else str(member)
        return Decision(int(wait_ms) / 1000.0, ticket)

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
        except (RedisError, OSError) as exc:
            self._redis_failed(exc)

    async def block(self, chat: ChatRef, seconds: float) -> None:
        # Also held locally, so the block survives a Redis outage in this process.
        await self.fallback.block(chat, seconds)
        key = self._keys(chat)[2]
        try:
            await self._block(keys=[key], args=[self._now_ms(), max(0.0, seconds) * 1000])
        except (RedisError, OSError) as exc:
            self._redis_failed(exc)

    async def aclose(self) -> None:
        await self.redis.aclose()


def make_limiter(redis_url: str = "", limits: Mapping[str, ChannelLimits] | None = None) -> Limiter:
    """Settings.redis_url set → shared limits in Redis; otherwise this process's memory."""
    if redis_url:
        from redis.asyncio import Redis

        return RedisLimiter(Redis.from_url(redis_url), limits)
    return LocalLimiter(limits)
