"""PostgreSQL connections the server closed are replaced before use; busy ones are not pinged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from storage.db import Database, _PoolGuard
from tests.scale.cluster import PG_ADMIN_DSN


@pytest.fixture
def pg_url(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        pytest.skip("a PostgreSQL pool")
    return database_url


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    yield database
    await database.dispose()


@pytest.fixture
async def pinging_db(pg_url: str) -> AsyncIterator[Database]:
    """Every pooled connection counts as long idle: pinged at each checkout."""
    database = Database(pg_url, ping_after=0.0)
    yield database
    await database.dispose()


async def one(db: Database) -> int | None:
    async with db.transaction() as session:
        return await session.scalar(text("SELECT 1"))


async def restart_seen_by(db: Database) -> None:
    """What a server restart does to the pool: every backend of the database is terminated."""
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            db.engine.url.database,
        )
    finally:
        await admin.close()
    assert killed >= 1
    await asyncio.sleep(0.3)  # the closed sockets reach the event loop


def count_pings(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    pings: list[object] = []
    ping = db.engine.dialect.do_ping

    def counted(connection: Any) -> bool:
        pings.append(connection)
        return ping(connection)

    monkeypatch.setattr(db.engine.dialect, "do_ping", counted)
    return pings


async def test_connections_closed_by_the_server_are_replaced_without_a_failed_statement(
    db: Database,
) -> None:
    assert await asyncio.gather(*(one(db) for _ in range(5))) == [1] * 5
    await restart_seen_by(db)
    assert await asyncio.gather(*(one(db) for _ in range(5))) == [1] * 5


async def test_a_busy_connection_is_not_pinged(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = count_pings(db, monkeypatch)
    for _ in range(3):
        assert await one(db) == 1
    assert pings == []


async def test_an_idle_connection_is_pinged(
    pinging_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = count_pings(pinging_db, monkeypatch)
    for _ in range(3):
        assert await one(pinging_db) == 1
    assert len(pings) == 2  # not the first checkout: a new connection


async def test_a_dead_connection_asyncpg_has_not_noticed_is_found_by_the_idle_ping(
    pinging_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await one(pinging_db) == 1
    # As if the network had dropped the connection without a word to the client.
    monkeypatch.setattr(_PoolGuard, "server_closed", staticmethod(lambda connection: False))
    await restart_seen_by(pinging_db)
    assert await one(pinging_db) == 1
