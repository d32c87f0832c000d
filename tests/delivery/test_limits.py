"""Rate limits on a hand-moved clock, for the in-process and the Redis-backed limiter alike."""

from __future__ import annotations

import itertools
import statistics

import pytest

from bot.core.events import ChatKind, ChatRef
from bot.delivery.limits import (
    MAX_FLIGHT,
    ChannelLimits,
    Limiter,
    LocalLimiter,
    Priority,
    default_limits,
)
from tests.delivery.conftest import FakeClock, LimiterFactory
from tests.delivery.doubles import max_in_window

LIMITS = default_limits()
TELEGRAM = LIMITS["telegram"]
INTERACTIVE, BULK = Priority.INTERACTIVE, Priority.BULK
# Redis keeps milliseconds (waits rounded up to the next one).
MS = 2e-3
# Windows are widened (and per-chat rates slowed) by the jitter margin.
STRETCH = 1 + TELEGRAM.margin


def private(n: int) -> ChatRef:
    return ChatRef("telegram", str(100_000 + n))


async def wait_of(limiter: Limiter, chat: ChatRef, priority: Priority) -> float:
    """0 when granted (and counted, its request answered at once), else the seconds to wait."""
    decision = await limiter.try_acquire(chat, priority)
    if decision.granted:
        await limiter.settle(chat, priority, decision.ticket)
    return decision.wait


GROUP = ChatRef("telegram", "-1001234", ChatKind.GROUP, "Phòng Tư pháp")


async def test_private_chat_bursts_three_then_about_one_per_second(
    make_limiter: LimiterFactory, fake_clock: FakeClock
) -> None:
    limiter = make_limiter(LIMITS)
    chat = private(1)
    for _ in range(3):
        assert await wait_of(limiter, chat, INTERACTIVE) == 0
    wait = await wait_of(limiter, chat, INTERACTIVE)
    assert wait == pytest.approx(STRETCH, abs=MS)
    # Another chat is not held back by this one's bucket.
    assert await wait_of(limiter, private(2), INTERACTIVE) == 0
    fake_clock.advance(wait)
    assert await wait_of(limiter, chat, INTERACTIVE) == 0
    assert await wait_of(limiter, chat, INTERACTIVE) == pytest.approx(STRETCH, abs=MS)


async def test_group_gets_twenty_per_minute(
    make_limiter: LimiterFactory, fake_clock: FakeClock
) -> None:
    limiter = make_limiter(LIMITS)
    start = fake_clock.now
    for _ in range(20):
        assert await wait_of(limiter, GROUP, INTERACTIVE) == 0
        fake_clock.advance(0.5)
    wait = await wait_of(limiter, GROUP, INTERACTIVE)
    # The first of the 20 leaves the (widened) minute window.
    assert fake_clock.now + wait == pytest.approx(start + 60 * STRETCH, abs=MS)
    assert await wait_of(limiter, ChatRef("telegram", "-1009999"), INTERACTIVE) == 0
    fake_clock.advance(wait)
    assert await wait_of(limiter, GROUP, INTERACTIVE) == 0


async def test_negative_chat_id_counts_as_group_even_without_kind(
    make_limiter: LimiterFactory,
) -> None:
    limiter = make_limiter(LIMITS)
    untyped = ChatRef("telegram", "-1005555")
    for _ in range(20):
        assert await wait_of(limiter, untyped, INTERACTIVE) == 0
    assert await wait_of(limiter, untyped, INTERACTIVE) > 50


async def test_overall_thirty_per_second(
    make_limiter: LimiterFactory, fake_clock: FakeClock
) -> None:
    limiter = make_limiter(LIMITS)
    for n in range(30):
        assert await wait_of(limiter, private(n), INTERACTIVE) == 0
    assert await wait_of(limiter, private(30), INTERACTIVE) == pytest.approx(STRETCH, abs=MS)
    fake_clock.advance(0.5)
    assert await wait_of(limiter, private(30), INTERACTIVE) == pytest.approx(STRETCH - 0.5, abs=MS)
    fake_clock.advance(STRETCH - 0.5 + MS)
    assert await wait_of(limiter, private(30), INTERACTIVE) == 0


async def test_bulk_is_paced_evenly_and_never_exceeds_the_window(
    make_limiter: LimiterFactory, fake_clock: FakeClock
) -> None:
    limiter = make_limiter(LIMITS)
    times: list[float] = []
    for n in range(120):
        while (wait := await wait_of(limiter, private(n), BULK)) > 0:
            fake_clock.advance(wait)
        times.append(fake_clock.now)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Evenly spaced (one interval of tolerance lets a late waiter catch up, no more).
    assert statistics.median(gaps) == pytest.approx(TELEGRAM.pace, abs=MS)
    assert max_in_window(times, 1.0) <= 30
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert rate >= 0.95 * 30


async def test_interactive_takes_the_next_slot_ahead_of_a_saturating_wave(
    make_limiter: LimiterFactory, fake_clock: FakeClock
) -> None:
    limiter = make_limiter(LIMITS)
    for n in range(90):  # three seconds of wave: the overall window is full
        while (wait := await wait_of(limiter, private(n), BULK)) > 0:
            fake_clock.advance(wait)
    reply_to = private(10_000)
    wait = await wait_of(limiter, reply_to, INTERACTIVE)
    # Until the next entry leaves the full window: a fraction of a second, not the wave.
    assert 0 < wait < 0.2
    fake_clock.advance(wait)
    # The wave was told to wait too: the freed slot goes to the reply, not to the wave.
    assert await wait_of(limiter, private(90), BULK) > 0
    assert await wait_of(limiter, reply_to, INTERACTIVE) == 0


async def test_bulk_reserve_keeps_slots_for_interactive(
    make_limiter: LimiterFactory, fake_clock: FakeClock
) -> None:
    limits = {"telegram": ChannelLimits(bulk_reserve=5, margin=0.0)}
    limiter = make_limiter(limits)
    granted = 0
    for n in range(60):
        if await wait_of(limiter, private(n), BULK) == 0:
            granted += 1
        fake_clock.advance(0.001)
        # Make pacing irrelevant: only the window's capacity matters here.
        fake_clock.advance(limits["telegram"].pace)
        if fake_clock.now > 1000.9:
            break
    assert granted == 25
    for n in range(5):
        assert await wait_of(limiter, private(500 + n), INTERACTIVE) == 0
    assert await wait_of(limiter, private(600), INTERACTIVE) > 0


async def test_retry_after_blocks_only_that_chat(
    make_limiter: LimiterFactory, fake_clock: FakeClock
) -> None:
    limiter = make_limiter(LIMITS)
    await limiter.block(private(1), 5)
    assert await wait_of(limiter, private(1), INTERACTIVE) == pytest.approx(5, abs=MS)
    assert await wait_of(limiter, private(2), INTERACTIVE) == 0
    assert await wait_of(limiter, private(3), BULK) == 0
    # A shorter later block does not shorten the longer one.
    await limiter.block(private(1), 1)
    fake_clock.advance(4)
    assert await wait_of(limiter, private(1), INTERACTIVE) == pytest.approx(1, abs=MS)
    fake_clock.advance(1 + MS)
    assert await wait_of(limiter, private(1), INTERACTIVE) == 0


async def test_zalo_has_its_own_overall_limit_and_none_per_chat(
    make_limiter: LimiterFactory,
) -> None:
    limiter = make_limiter(LIMITS)
    chat = ChatRef("zalo", "84901234567")
    for _ in range(10):
        assert await wait_of(limiter, chat, INTERACTIVE) == 0
    assert await wait_of(limiter, chat, INTERACTIVE) > 0
    # Telegram's budget is separate.
    assert await wait_of(limiter, private(1), INTERACTIVE) == 0


async def test_unconfigured_channel_is_not_limited(make_limiter: LimiterFactory) -> None:
    limiter = make_limiter({})
    for _ in range(100):
        assert await wait_of(limiter, private(1), INTERACTIVE) == 0


async def test_limits_are_shared_between_instances(
    make_limiter: LimiterFactory, request: pytest.FixtureRequest
) -> None:
    first, second = make_limiter(LIMITS), make_limiter(LIMITS)
    if isinstance(first, LocalLimiter):
        pytest.skip("in-process limits are per process by design; Redis shares them")
    granted = 0
    for n in range(40):
        limiter = first if n % 2 else second
        if await wait_of(limiter, private(n), INTERACTIVE) == 0:
            granted += 1
    assert granted == 30
    await first.block(private(7000), 3)
    assert await wait_of(second, private(7000), INTERACTIVE) > 2


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        ChannelLimits(bulk_reserve=30)
    with pytest.raises(ValueError):
        ChannelLimits(private_rate=0)


async def test_refunded_slots_can_be_used_again(
    make_limiter: LimiterFactory, fake_clock: FakeClock
) -> None:
    limiter = make_limiter(LIMITS)
    decisions = [await limiter.try_acquire(private(n), INTERACTIVE) for n in range(30)]
    assert all(d.granted and d.ticket for d in decisions)
    assert not (await limiter.try_acquire(private(30), INTERACTIVE)).granted
    # The platform refused the fifth one (429 or 5xx) without counting it.
    await limiter.refund(private(4), INTERACTIVE, decisions[4].ticket)
    assert (await limiter.try_acquire(private(30), INTERACTIVE)).granted
    assert not (await limiter.try_acquire(private(31), INTERACTIVE)).granted


async def test_refund_returns_the_chats_own_slot_too(
    make_limiter: LimiterFactory, fake_clock: FakeClock
) -> None:
    limiter = make_limiter(LIMITS)
    chat = private(1)
    last = [await limiter.try_acquire(chat, INTERACTIVE) for _ in range(3)][-1]
    assert not (await limiter.try_acquire(chat, INTERACTIVE)).granted
    await limiter.refund(chat, INTERACTIVE, last.ticket)
    assert (await limiter.try_acquire(chat, INTERACTIVE)).granted
    group = [await limiter.try_acquire(GROUP, INTERACTIVE) for _ in range(20)]
    assert not (await limiter.try_acquire(GROUP, INTERACTIVE)).granted
    await limiter.refund(GROUP, INTERACTIVE, group[0].ticket)
    assert (await limiter.try_acquire(GROUP, INTERACTIVE)).granted


async def test_redis_limiter_falls_back_to_this_process_when_redis_is_down(
    fake_clock: FakeClock,
) -> None:
    from redis.asyncio import Redis

    from bot.delivery.limits import RedisLimiter

    # Nothing listens on port 1: every call fails at once with a connection error.
    limiter = RedisLimiter(Redis.from_url("redis://127.0.0.1:1/0"), LIMITS, clock=fake_clock)
    try:
        chat = private(1)
        decisions = [await limiter.try_acquire(chat, INTERACTIVE) for _ in range(3)]
        assert all(d.granted for d in decisions)
        assert not (await limiter.try_acquire(chat, INTERACTIVE)).granted
        await limiter.refund(chat, INTERACTIVE, decisions[-1].ticket)
        assert (await limiter.try_acquire(chat, INTERACTIVE)).granted
        await limiter.block(private(2), 5)
        assert await wait_of(limiter, private(2), INTERACTIVE) == pytest.approx(5)
    finally:
        await limiter.aclose()


async def test_a_request_slower_than_the_window_keeps_its_place_until_answered(
    make_limiter: LimiterFactory, fake_clock: FakeClock
) -> None:
    # The platform counts a message when it arrives, which for a slow request may be long
    # after its grant: until it is answered it must go on counting.
    limiter = make_limiter({"telegram": ChannelLimits(overall=2, margin=0.0)})
    slow = await limiter.try_acquire(private(1), INTERACTIVE)
    assert slow.granted
    assert await wait_of(limiter, private(2), INTERACTIVE) == 0
    fake_clock.advance(1.5)
    assert await wait_of(limiter, private(3), INTERACTIVE) == 0
    assert await wait_of(limiter, private(4), INTERACTIVE) > 0  # the slow one still counts
    fake_clock.advance(0.1)
    await limiter.settle(private(1), INTERACTIVE, slow.ticket)
    # Answered now: it counts a window from its answer, like the one granted at 1.5 s.
    fake_clock.advance(0.9 + MS)
    assert await wait_of(limiter, private(4), INTERACTIVE) == 0
    assert await wait_of(limiter, private(5), INTERACTIVE) > 0
    fake_clock.advance(0.1 + MS)
    assert await wait_of(limiter, private(5), INTERACTIVE) == 0


async def test_a_refused_slow_request_gives_its_place_back(
    make_limiter: LimiterFactory, fake_clock: FakeClock
) -> None:
    limiter = make_limiter({"telegram": ChannelLimits(overall=1, margin=0.0)})
    slow = await limiter.try_acquire(private(1), INTERACTIVE)
    fake_clock.advance(1.5)
    assert await wait_of(limiter, private(2), INTERACTIVE) > 0
    await limiter.refund(private(1), INTERACTIVE, slow.ticket)  # a 5xx after 1.5 s
    assert await wait_of(limiter, private(2), INTERACTIVE) == 0


async def test_a_grant_never_answered_stops_counting_after_max_flight(
    make_limiter: LimiterFactory, fake_clock: FakeClock
) -> None:
    # Its sender crashed: the place must not be lost for good.
    limiter = make_limiter({"telegram": ChannelLimits(overall=1, margin=0.0)})
    assert (await limiter.try_acquire(private(1), INTERACTIVE)).granted
    fake_clock.advance(MAX_FLIGHT / 2)
    assert await wait_of(limiter, private(2), INTERACTIVE) > 0
    fake_clock.advance(MAX_FLIGHT)
    assert await wait_of(limiter, private(2), INTERACTIVE) == 0
