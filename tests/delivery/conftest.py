"""Fixtures for delivery tests: limiter implementations over a fake clock, Redis if it answers."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlparse

import pytest

from bot.delivery.limits import ChannelLimits, Limiter, LocalLimiter, RedisLimiter

REDIS_URL = os.environ.get("CONGVU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_answers() -> bool:
    parsed = urlparse(REDIS_URL)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 0.5):
            return True
    except OSError:
        return False


class FakeClock:
    """Seconds on a monotonic scale that tests set by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


LimiterFactory = Callable[[dict[str, ChannelLimits]], Limiter]


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


async def delete_prefix(prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(params=["local", "redis"])
async def make_limiter(
    request: pytest.FixtureRequest, fake_clock: FakeClock
) -> AsyncIterator[LimiterFactory]:
    """Builds limiters of one implementation; Redis ones share a prefix, so they share limits."""
    created: list[Limiter] = []
    if request.param == "local":

        def build(limits: dict[str, ChannelLimits]) -> Limiter:
            limiter = LocalLimiter(limits, clock=fake_clock)
            created.append(limiter)
            return limiter

    else:
        if not redis_answers():
            pytest.skip(f"Redis does not answer at {REDIS_URL}")
        from redis.asyncio import Redis

        prefix = f"congvu:test:{uuid.uuid4().hex}"

        def build(limits: dict[str, ChannelLimits]) -> Limiter:
            client = Redis.from_url(REDIS_URL)
            limiter = RedisLimiter(client, limits, prefix=prefix, clock=fake_clock)
            created.append(limiter)
            return limiter

    yield build
    for limiter in created:
        await limiter.aclose()
    if request.param == "redis":
        await delete_prefix(prefix)
