"""Instances that start together migrate a fresh database once, without tripping each other."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from storage.db import Database


async def test_three_instances_upgrade_at_once(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one instance")
    databases = [Database(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(db.upgrade() for db in databases))
        async with databases[0].engine.connect() as connection:
            version = await connection.execute(text("SELECT version_num FROM alembic_version"))
            assert [row[0] for row in version] == ["0001"]
    finally:
        for db in databases:
            await db.dispose()
