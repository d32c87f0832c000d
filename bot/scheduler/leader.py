"""Exactly one scheduler among several instances: a PostgreSQL advisory lock or a Redis lock.

The holder keeps its lock alive; when it dies, the lock lapses (the PostgreSQL session ends,
the Redis key expires) and another instance takes over at its next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.redis_support import RELEASE_IF_OWNER, RENEW_IF_OWNER

log = logging.getLogger(__name__)
LOCK_KEY = 0x636F6E67  # "cong"
REDIS_KEY = "congvu:scheduler:leader"


class Leadership(Protocol):
    async def hold(self) -> bool:
        """True while this instance is the leader; tries to become it when not."""
        ...

    async def release(self) -> None: ...


class SoleInstance:
    """SQLite runs in one process: that process leads."""

    async def hold(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class PostgresLeadership:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._connection: AsyncConnection | None = None

    async def hold(self) -> bool:
        if self._connection is not None:
            try:
                await self._connection.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("lost the scheduler lock's connection", exc_info=True)
                await self.release()
        connection = await self.engine.connect()
        try:
            got = (
                await connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY})
            ).scalar()
            # Keep the session open: the advisory lock lives as long as it does.
            await connection.commit()
        except Exception:
            await connection.close()
            raise
        if got:
            self._connection = connection
            log.info("this instance now runs the scheduler")
            return True
        await connection.close()
        return False

    async def release(self) -> None:
        if self._connection is not None:
            try:
                # Invalidate rather than return it to the pool: the session (and with it the
                # lock) must end, as it would if this process died.
                await self._connection.invalidate()
                await self._connection.close()
            finally:
                self._connection = None


class RedisLeadership:
    """A Redis key with a TTL, renewed by a heartbeat while this instance holds it.

    The heartbeat (every third of the TTL) is independent of the ticks: a tick that runs
    longer than the TTL (a morning wave for tens of thousands of people) must not let a
    second instance take over in the middle of it, and a dead holder's key lapses within one
    TTL instead of several tick intervals.
    """

    def __init__(self, url: str, ttl_ms: int = 15_000) -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(url)
        self.ttl_ms = ttl_ms
        # Host and pid first, so `redis-cli get congvu:scheduler:leader` tells operators (and
        # the multi-instance test) which process leads.
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        self._heartbeat: asyncio.Task[None] | None = None

    async def _renew(self) -> bool:
        renewed = await self.redis.eval(RENEW_IF_OWNER, 1, REDIS_KEY, self.token, self.ttl_ms)  # type: ignore[misc]
        return bool(renewed)

    async def hold(self) -> bool:
        if await self._renew():
            return True
        self._stop_heartbeat()
        got = await self.redis.set(REDIS_KEY, self.token, nx=True, px=self.ttl_ms)
        if got:
            log.info("this instance now runs the scheduler")
            self._heartbeat = asyncio.create_task(self._beat(), name="scheduler-lock")
        return bool(got)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.ttl_ms / 3000)
            try:
                if not await self._renew():
                    log.warning("lost the scheduler lock: another instance holds it now")
                    return
            except Exception:
                # Redis is away: if it stays away past the TTL the key lapses and the next
                # renewal says so; our ticks fail meanwhile (hold() cannot answer).
                log.warning("could not renew the scheduler lock", exc_info=True)

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None

    async def release(self) -> None:
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        try:
            await self.redis.eval(RELEASE_IF_OWNER, 1, REDIS_KEY, self.token)  # type: ignore[misc]
        finally:
            await self.redis.aclose()
