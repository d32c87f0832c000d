"""One update of a chat at a time: in this process, and across instances through Redis.

Telegram sends a chat's messages one at a time and waits for the webhook's answer, which we
give only once the update is handled; but a person's button presses travel in a queue of
their own (per user, not per chat), so a press and a message of the same person can reach two
instances at once. `RedisChatLocks` makes them take turns as they would in one process.

The local lock is taken first, so this process's own updates of a chat queue in arrival
order without polling Redis; only the head of that queue asks Redis. A holder that dies
leaves a key that lapses after `ttl` (a live holder renews it), and if Redis is away the
locks degrade to this process only, with a warning, rather than stop the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol

from bot.redis_support import RELEASE_IF_OWNER, RENEW_IF_OWNER, Outage, redis_failures

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)


class ChatLocks(Protocol):
    def hold(self, key: str) -> contextlib.AbstractAsyncContextManager[None]: ...

    async def aclose(self) -> None: ...


class LocalChatLocks:
    """One asyncio lock per chat key, dropped when nobody waits for it (FIFO per chat)."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def aclose(self) -> None:
        return None


class RedisChatLocks:
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "congvu:chat",
        ttl: float = 15.0,
        max_wait: float = 30.0,
        first_poll: float = 0.005,
        max_poll: float = 0.05,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl
        # Past this, handle anyway: an update must not wait on a lock forever (the platform
        # would redeliver it meanwhile); a warning says it happened.
        self.max_wait = max_wait
        self.first_poll = first_poll
        self.max_poll = max_poll
        self.local = LocalChatLocks()
        self._failures = redis_failures()
        self._outage = Outage(log, "Redis chat locks", "ordering per process only")

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self.local.hold(key):
            name, token = f"{self.prefix}:{key}", secrets.token_hex(8)
            held = await self._acquire(name, token)
            renewal = asyncio.create_task(self._renew(name, token)) if held else None
            try:
                yield
            finally:
                if renewal is not None:
                    renewal.cancel()
                if held:
                    await self._release(name, token)

    async def _acquire(self, name: str, token: str) -> bool:
        """True once the key is ours; False when handling goes on without it."""
        deadline = time.monotonic() + self.max_wait
        poll = self.first_poll
        ttl_ms = int(self.ttl * 1000)
        while True:
            try:
                if await self.redis.set(name, token, nx=True, px=ttl_ms):
                    self._outage.back()
                    return True
            except self._failures as exc:
                self._outage.failed(exc)
                return False
            if time.monotonic() >= deadline:
                log.warning("chat lock %s held over %.0f s; handling anyway", name, self.max_wait)
                return False
            await asyncio.sleep(poll)
            poll = min(poll * 2, self.max_poll)

    async def _renew(self, name: str, token: str) -> None:
        ttl_ms = int(self.ttl * 1000)
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await self.redis.eval(RENEW_IF_OWNER, 1, name, token, ttl_ms)  # type: ignore[misc]
            except self._failures as exc:
                self._outage.failed(exc)

    async def _release(self, name: str, token: str) -> None:
        try:
            await self.redis.eval(RELEASE_IF_OWNER, 1, name, token)  # type: ignore[misc]
        except self._failures as exc:
            # The key lapses by itself within its TTL.
            self._outage.failed(exc)

    async def aclose(self) -> None:
        await self.redis.aclose()


def make_chat_locks(redis_url: str = "") -> ChatLocks:
    """Settings.redis_url set (several instances) → shared through Redis; else this process."""
    if not redis_url:
        return LocalChatLocks()
    from redis.asyncio import Redis

    return RedisChatLocks(Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5))
