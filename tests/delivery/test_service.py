"""Delivery: fast path under limits, 429 per chat, retries, 403 reachability, not-modified."""

from __future__ import annotations

import asyncio
import random

import pytest

from bot.core.events import ChatRef, OutMessage, SentRef
from bot.delivery.errors import (
    NotModified,
    Rejected,
    RetryAfter,
    ServerError,
    Throttled,
    Transient,
    Unreachable,
)
from bot.delivery.limits import ChannelLimits, LocalLimiter, Priority, default_limits
from bot.delivery.service import SINGLE_ATTEMPT, Delivery, RetryPolicy
from tests.delivery.doubles import ScriptedChannel, VirtualTime, max_in_window


def chat(n: int) -> ChatRef:
    return ChatRef("telegram", str(200_000 + n))


def make(time: VirtualTime, channel: ScriptedChannel, **kwargs: object) -> Delivery:
    delivery = Delivery(
        sleep=time.sleep,
        limiter=LocalLimiter(default_limits(), clock=time.monotonic),
        rng=random.Random(7),
        **kwargs,  # type: ignore[arg-type]
    )
    delivery.register(channel)
    return delivery


@pytest.fixture
def time() -> VirtualTime:
    return VirtualTime()


async def test_retry_after_on_one_chat_does_not_delay_another(time: VirtualTime) -> None:
    channel = ScriptedChannel(time, failures={chat(1).chat_id: [RetryAfter(5)]})
    delivery = make(time, channel)
    start = time.now

    async def both() -> None:
        await asyncio.gather(
            delivery.send(chat(1), OutMessage("slow")), delivery.send(chat(2), OutMessage("fast"))
        )

    await time.run(both())
    assert channel.times(chat(2).chat_id) == [start]
    [slow] = channel.times(chat(1).chat_id)
    assert slow - start == pytest.approx(5)
    assert delivery.stats.received_429 == 1
    # While chat 1 waited, chat 2 could keep talking.
    await time.run(delivery.send(chat(2), OutMessage("again")))


async def test_server_errors_are_retried_with_backoff_then_succeed(time: VirtualTime) -> None:
    failures = [Transient("502 Bad Gateway"), Transient("timeout")]
    channel = ScriptedChannel(time, failures={chat(1).chat_id: failures})
    delivery = make(time, channel)
    start = time.now
    ref = await time.run(delivery.send(chat(1), OutMessage("hello")))
    assert ref.message_id == "1"
    assert channel.calls == 3
    assert delivery.stats.retries == 2
    # Full jitter: somewhere within 0.5 s + 1 s of backoff.
    assert 0 < time.now - start <= 1.5


async def test_transient_failures_give_up_after_the_policy(time: VirtualTime) -> None:
    failures: list = [Transient("500")] * 4
    channel = ScriptedChannel(time, failures={chat(1).chat_id: list(failures)})
    delivery = make(time, channel, policy=RetryPolicy(attempts=2))
    with pytest.raises(Transient):
        await time.run(delivery.send(chat(1), OutMessage("x")))
    assert channel.calls == 3


async def test_blocked_user_is_marked_unreachable_without_retrying(time: VirtualTime) -> None:
    channel = ScriptedChannel(
        time, failures={chat(1).chat_id: [Unreachable("Forbidden: bot was blocked by the user")]}
    )
    marked: list[ChatRef] = []
    cleared: list[ChatRef] = []

    async def on_unreachable(target: ChatRef) -> None:
        marked.append(target)

    async def on_reachable(target: ChatRef) -> None:
        cleared.append(target)

    delivery = make(time, channel, on_unreachable=on_unreachable, on_reachable=on_reachable)
    with pytest.raises(Unreachable):
        await time.run(delivery.send(chat(1), OutMessage("x")))
    assert channel.calls == 1
    assert marked == [chat(1)]
    # Other chats' successes do not touch the database.
    await time.run(delivery.send(chat(2), OutMessage("y")))
    assert cleared == []
    # The user unblocked the bot: the next success clears the mark, once.
    await time.run(delivery.send(chat(1), OutMessage("z")))
    await time.run(delivery.send(chat(1), OutMessage("z2")))
    assert cleared == [chat(1)]


async def test_a_failing_hook_does_not_turn_a_send_into_a_failure(time: VirtualTime) -> None:
    channel = ScriptedChannel(time)

    async def broken(target: ChatRef) -> None:
        raise RuntimeError("database is down")

    delivery = make(time, channel, on_reachable=broken)
    delivery.unreachable.add(("telegram", chat(1).chat_id))
    await time.run(delivery.send(chat(1), OutMessage("x")))
    assert len(channel.sent) == 1


async def test_not_modified_edit_is_success(time: VirtualTime) -> None:
    channel = ScriptedChannel(
        time, failures={chat(1).chat_id: [NotModified("message is not modified")]}
    )
    delivery = make(time, channel)
    await time.run(delivery.edit(SentRef(chat(1), "5"), OutMessage("same")))
    assert channel.calls == 1
    assert delivery.stats.edited == 1


async def test_other_bad_requests_are_not_retried(time: VirtualTime) -> None:
    channel = ScriptedChannel(
        time, failures={chat(1).chat_id: [Rejected("Bad Request: can't parse entities")]}
    )
    delivery = make(time, channel)
    with pytest.raises(Rejected):
        await time.run(delivery.send(chat(1), OutMessage("<b")))
    assert channel.calls == 1
    assert delivery.stats.rejected == 1


async def test_bounded_wait_raises_throttled_instead_of_waiting(time: VirtualTime) -> None:
    channel = ScriptedChannel(time)
    delivery = make(time, channel)
    assert delivery.limiter is not None
    await delivery.limiter.block(chat(1), 30)
    with pytest.raises(Throttled) as caught:
        await time.run(delivery.send(chat(1), OutMessage("x"), max_wait=2))
    assert caught.value.seconds == pytest.approx(30)
    assert channel.calls == 0


async def test_without_a_limiter_a_429_is_waited_out_in_place(time: VirtualTime) -> None:
    channel = ScriptedChannel(time, failures={chat(1).chat_id: [RetryAfter(3)]})
    delivery = Delivery(sleep=time.sleep)
    delivery.register(channel)
    await time.run(delivery.send(chat(1), OutMessage("x")))
    assert time.now - 1000.0 == pytest.approx(3)


async def test_interactive_reply_goes_out_within_a_second_during_a_1000_message_wave(
    time: VirtualTime,
) -> None:
    # The platform double enforces Telegram's limits like the mock server does: any 429
    # would show our limiter let too much through.
    channel = ScriptedChannel(time).with_platform_limits()
    delivery = make(time, channel)
    wave = [chat(n) for n in range(1000)]
    queue: asyncio.Queue[ChatRef] = asyncio.Queue()
    for target in wave:
        queue.put_nowait(target)

    async def sender() -> None:  # what the outbox worker's sending slots do
        while not queue.empty():
            target = queue.get_nowait()
            await delivery.send(target, OutMessage("Nhắc báo cáo"), priority=Priority.BULK)

    reply_to = ChatRef("telegram", "999")
    latencies: list[float] = []

    async def citizen_asks_later() -> None:
        for moment in (5.0, 12.3, 20.71):
            await time.sleep(1000.0 + moment - time.now)
            asked = time.now
            await delivery.send(reply_to, OutMessage("Xin chào"))
            latencies.append(time.now - asked)

    async def scenario() -> None:
        await asyncio.gather(*(sender() for _ in range(16)), citizen_asks_later())

    await time.run(scenario())
    wave_times = [s.at for s in channel.sent if s.chat != reply_to]
    assert len(wave_times) == 1000
    assert max(latencies) < 0.1, latencies  # the target is ~1 s; it takes one pacing slot
    assert delivery.stats.received_429 == 0
    everything = [s.at for s in channel.sent]
    assert max_in_window(everything, 1.0) <= 30
    rate = len(wave_times) / (max(wave_times) - min(wave_times))
    assert rate >= 0.95 * 30


@pytest.mark.parametrize(
    ("failure", "refunded"),
    [
        (RetryAfter(5), True),
        (ServerError("500 Internal Server Error"), True),
        # A timeout may have been carried out (and counted): its slot is kept.
        (Transient("timeout"), False),
    ],
)
async def test_slots_of_refused_requests_are_given_back(
    time: VirtualTime, failure: Exception, refunded: bool
) -> None:
    tight = {"telegram": ChannelLimits(overall=2, margin=0.0)}
    channel = ScriptedChannel(time, failures={chat(1).chat_id: [failure]})  # type: ignore[list-item]
    delivery = Delivery(
        sleep=time.sleep, limiter=LocalLimiter(tight, clock=time.monotonic), policy=SINGLE_ATTEMPT
    )
    delivery.register(channel)
    with pytest.raises(type(failure)):
        await time.run(delivery.send(chat(1), OutMessage("refused")))
    start = time.now
    await time.run(delivery.send(chat(2), OutMessage("b")))
    await time.run(delivery.send(chat(3), OutMessage("c")))
    waited = time.now - start
    assert waited == (0 if refunded else pytest.approx(1.0))
