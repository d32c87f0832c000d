"""Building a unit with people and chat identities straight in the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from bot.core.events import OutMessage
from storage.db import Database
from storage.models import (
    Attendance,
    AttendanceEvent,
    AuditEntry,
    ChatBinding,
    Identity,
    Person,
    Unit,
)
from storage.models.org import ChatPurpose
from tests.fakes import Recorded

CHANNEL = "telegram"
# 08:30 in Hồ Chí Minh City (UTC+7) on Tuesday 14 April 2020.
MORNING = datetime(2020, 4, 14, 1, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Member:
    person_id: int
    user_id: str
    username: str
    name: str


@dataclass
class Org:
    unit_id: int
    leader: Member
    staff: list[Member] = field(default_factory=list)

    @property
    def everyone(self) -> list[Member]:
        return [self.leader, *self.staff]


STAFF_NAMES = ("An", "Bình", "Cường", "Dũng", "Em", "Giang", "Hà", "Khoa")


async def build_unit(
    db: Database,
    *,
    size: int = 6,
    quota: float | None = 1 / 3,
    health: bool = False,
    first_user_id: int = 1001,
    leader_user_id: int = 1000,
    code: str = "tuphap",
    name: str = "Phòng Tư pháp",
    settings: dict[str, Any] | None = None,
    group_chat_id: str | None = None,
    username_prefix: str = "",
) -> Org:
    """A unit of ``size`` people: one leader ("Lan", user 1000) and staff users 1001, 1002, …"""
    async with db.transaction() as session:
        unit = Unit(
            code=code,
            name=name,
            office_quota=quota,
            health_declaration=health,
            checkin_by="09:00",
            settings=settings or {},
        )
        session.add(unit)
        await session.flush()
        people: list[tuple[Person, str, str]] = []
        leader = Person(full_name="Lan", role="leader", unit_id=unit.id)
        session.add(leader)
        people.append((leader, str(leader_user_id), f"{username_prefix}lan_ld"))
        for i in range(size - 1):
            person = Person(full_name=STAFF_NAMES[i], role="staff", unit_id=unit.id)
            session.add(person)
            people.append((person, str(first_user_id + i), f"{username_prefix}staff{i + 1}"))
        await session.flush()
        for person, user_id, username in people:
            session.add(
                Identity(
                    channel=CHANNEL,
                    user_id=user_id,
                    username=username,
                    first_name=person.full_name,
                    person_id=person.id,
                    last_seen_at=datetime(2020, 4, 1, tzinfo=UTC),
                )
            )
        if group_chat_id is not None:
            session.add(
                ChatBinding(
                    channel=CHANNEL,
                    chat_id=group_chat_id,
                    purpose=ChatPurpose.UNIT_GROUP.value,
                    unit_id=unit.id,
                    title="Tư pháp",
                )
            )
        members = [Member(p.id, uid, un, p.full_name) for p, uid, un in people]
    return Org(unit.id, members[0], members[1:])


async def attendance_rows(db: Database, day: date | None = None) -> list[Attendance]:
    async with db.transaction() as session:
        query = select(Attendance).order_by(Attendance.person_id)
        if day is not None:
            query = query.where(Attendance.day == day)
        return list(await session.scalars(query))


async def events_of(db: Database, person_id: int) -> list[AttendanceEvent]:
    async with db.transaction() as session:
        return list(
            await session.scalars(
                select(AttendanceEvent)
                .where(AttendanceEvent.person_id == person_id)
                .order_by(AttendanceEvent.id)
            )
        )


async def audit_actions(db: Database) -> list[str]:
    async with db.transaction() as session:
        return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def button_data(message: OutMessage, label: str) -> str:
    """The callback data of the button whose text contains ``label``."""
    for row in message.buttons:
        for button in row:
            if label in button.text and button.data is not None:
                return button.data
    labels = [b.text for row in message.buttons for b in row]
    raise AssertionError(f"no button {label!r} among {labels}")


def current(record: Recorded) -> OutMessage:
    """A sent message as it reads now (after its edits)."""
    return record.edits[-1] if record.edits else record.message
