"""Flood limits: the limiter's arithmetic with a fake clock, and 429s over HTTP."""

from __future__ import annotations

from bot.mockserver.client import MockClient
from bot.mockserver.limits import RateLimiter
from tests.mockserver.conftest import BotApi


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(**settings: object) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    rate_limiter = RateLimiter(clock)
    rate_limiter.configure(enabled=True, **settings)
    return rate_limiter, clock


def test_disabled_by_default() -> None:
    rate_limiter = RateLimiter(FakeClock())
    assert all(rate_limiter.acquire(42, "private") is None for _ in range(100))


def test_private_chat_burst_then_one_per_second() -> None:
    rate_limiter, clock = limiter()
    assert [rate_limiter.acquire(42, "private") for _ in range(3)] == [None, None, None]
    assert rate_limiter.acquire(42, "private") == 1
    assert rate_limiter.acquire(43, "private") is None  # other chats are unaffected
    clock.now += 0.5
    assert rate_limiter.acquire(42, "private") == 1  # half a token is not enough; rounds up
    clock.now += 0.5
    assert rate_limiter.acquire(42, "private") is None
    assert rate_limiter.acquire(42, "private") == 1


def test_group_twenty_per_minute_with_a_sliding_window() -> None:
    rate_limiter, clock = limiter()
    for _ in range(20):
        assert rate_limiter.acquire(-1001, "supergroup") is None
        clock.now += 1.0
    # The first send was 20 s ago; the window frees it 40 s from now.
    assert rate_limiter.acquire(-1001, "supergroup") == 40
    clock.now += 40.0
    assert rate_limiter.acquire(-1001, "supergroup") is None


def test_thirty_per_second_overall() -> None:
    rate_limiter, clock = limiter()
    for chat_id in range(1, 31):
        assert rate_limiter.acquire(chat_id, "private") is None
    assert rate_limiter.acquire(31, "private") == 1
    clock.now += 1.0
    assert rate_limiter.acquire(31, "private") is None


async def test_limits_over_http_give_429_with_retry_after(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    settings = await mock.limits(True, private_burst=2)
    assert settings["enabled"] is True
    assert settings["private_burst"] == 2
    await api.ok("sendMessage", chat_id=42, text="1")
    await api.ok("sendMessage", chat_id=42, text="2")
    status, body = await api.error("sendMessage", chat_id=42, text="3")
    assert status == 429
    retry_after = body["parameters"]["retry_after"]
    assert isinstance(retry_after, int)
    assert retry_after >= 1
    assert body["description"] == f"Too Many Requests: retry after {retry_after}"
    # Edits count too.
    status, _ = await api.error("editMessageText", chat_id=42, message_id=1, text="sửa")
    assert status == 429
    stats = await mock.stats()
    assert stats["errors"]["429"] == 2
    assert stats["rate_limited"] == 2

    await mock.limits(False)
    await api.ok("sendMessage", chat_id=42, text="4")
