"""Only one instance leads the scheduler; when it goes, another takes over."""

from __future__ import annotations

import socket

import pytest

from bot.scheduler.leader import PostgresLeadership, RedisLeadership, SoleInstance
from storage.db import Database


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


async def test_sqlite_has_one_leader() -> None:
    assert await SoleInstance().hold()


async def test_postgres_advisory_lock_fails_over(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the advisory lock is PostgreSQL's")
    first_db, second_db = Database(database_url), Database(database_url)
    first, second = PostgresLeadership(first_db.engine), PostgresLeadership(second_db.engine)
    try:
        assert await first.hold()
        assert await first.hold()  # keeps it
        assert not await second.hold()
        await first.release()  # the leader dies: its session ends, the lock lapses
        assert await second.hold()
        assert not await first.hold()
    finally:
        await first.release()
        await second.release()
        await first_db.dispose()
        await second_db.dispose()


async def test_redis_lock_fails_over() -> None:
    if not redis_answers():
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    first = RedisLeadership("redis://127.0.0.1:6379/0", ttl_ms=60_000)
    second = RedisLeadership("redis://127.0.0.1:6379/0", ttl_ms=60_000)
    await first.redis.delete("congvu:scheduler:leader")
    try:
        assert await first.hold()
        assert await first.hold()
        assert not await second.hold()
        await first.release()
        assert await second.hold()
    finally:
        await second.release()
