"""Fixtures for the report tests: a small organisation and the end-to-end fixtures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.app import Application
from storage.db import Database
from storage.models import Identity, Person, Unit

# Tuesday 14 April 2020, 16:30 in Hồ Chí Minh City: the end of a working day.
TUESDAY_AFTERNOON = datetime(2020, 4, 14, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Org:
    unit_id: int
    head_id: int
    an_id: int
    binh_id: int
    cuong_id: int
    # Chat user ids (private chat id = user id).
    head_user: str
    an_user: str
    binh_user: str
    cuong_user: str


async def make_org(db: Database, *, base_user: int = 1000, quota: float | None = 0.34) -> Org:
    """One unit: a leader and three staff, each bound to a Telegram user."""
    async with db.transaction() as session:
        unit = Unit(
            code="MOTCUA",
            name="Bộ phận Một cửa",
            office_quota=quota,
            checkin_by="09:00",
            settings={},
        )
        session.add(unit)
        await session.flush()
        head = Person(full_name="Trần Thị Hoa", role="leader", unit_id=unit.id)
        an = Person(full_name="Nguyễn Văn An", role="staff", unit_id=unit.id)
        binh = Person(full_name="Lê Thị Bình", role="staff", unit_id=unit.id)
        cuong = Person(full_name="Phạm Văn Cường", role="staff", unit_id=unit.id)
        session.add_all([head, an, binh, cuong])
        await session.flush()
        users = {}
        for offset, person in enumerate((head, an, binh, cuong)):
            user_id = str(base_user + offset)
            users[person.id] = user_id
            session.add(
                Identity(
                    channel="telegram",
                    user_id=user_id,
                    username=f"user{user_id}",
                    first_name=person.full_name.split()[-1],
                    person_id=person.id,
                    language="vi",
                )
            )
        await session.flush()
        return Org(
            unit.id,
            head.id,
            an.id,
            binh.id,
            cuong.id,
            users[head.id],
            users[an.id],
            users[binh.id],
            users[cuong.id],
        )


@pytest.fixture
async def org(application: Application) -> Org:
    made = await make_org(application.app.db)
    application.app.actors.clear()
    return made
