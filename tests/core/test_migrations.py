"""The Alembic migrations produce exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import Database
from storage.models import Base


async def test_upgrade_matches_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.upgrade()
        await db.upgrade()  # a second run is a no-op

        def diff(connection):  # type: ignore[no-untyped-def]
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            return compare_metadata(context, Base.metadata), inspect(connection).get_table_names()

        async with db.engine.connect() as connection:
            changes, tables = await connection.run_sync(diff)
        assert "processed_updates" in tables
        assert changes == [], f"models and migrations differ: {changes}"
    finally:
        await db.dispose()
