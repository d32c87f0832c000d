"""A known person's identity is read with their person in one statement (every actor cache miss)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from storage.db import Database
from storage.models import Identity, Person, Unit
from storage.repositories.identities import LAST_SEEN_RESOLUTION, touch_identity

NOW = datetime(2020, 4, 14, 2, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.create_all()
    async with database.transaction() as session:
        unit = Unit(code="p1", name="Phòng 1")
        person = Person(full_name="Nguyễn Văn An", role="staff", unit=unit)
        session.add(Identity(channel="telegram", user_id="42", username="an", person=person))
    yield database
    await database.dispose()


async def test_a_known_identity_and_its_person_in_one_select(db: Database) -> None:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    async with db.transaction() as session:
        identity = await touch_identity(
            session, channel="telegram", user_id="42", username="an", first_name="An", now=NOW
        )
        assert identity.person is not None and identity.person.full_name == "Nguyễn Văn An"
    assert statements == ["SELECT", "UPDATE"]  # last seen


async def test_last_seen_is_rewritten_only_when_minutes_have_passed(db: Database) -> None:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split()[0].upper())

    async def touch(at: datetime) -> datetime | None:
        async with db.transaction() as session:
            identity = await touch_identity(
                session, channel="telegram", user_id="42", username="an", first_name="An", now=at
            )
            return identity.last_seen_at

    assert await touch(NOW) == NOW
    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    # A minute later (the actor cache expired): a read, no write.
    assert await touch(NOW + timedelta(minutes=1)) == NOW
    assert statements == ["SELECT"]
    assert await touch(NOW + LAST_SEEN_RESOLUTION) == NOW + LAST_SEEN_RESOLUTION
    assert statements == ["SELECT", "SELECT", "UPDATE"]
