"""A small organisation for the tasks tests: one unit with its group, a leader, staff."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import select

from bot.app import Application
from bot.core.events import ChatKind, ChatRef, Incoming, ReplyTo
from storage.db import Database
from storage.models import ChatBinding, Identity, Person, Task, Unit
from storage.models.org import ChatPurpose
from tests.fakes import Recorded, UpdateFactory

GROUP_ID = "-1001000"


@dataclass(frozen=True)
class Member:
    person_id: int
    user_id: str
    username: str
    name: str


@dataclass(frozen=True)
class Org:
    unit_id: int
    other_unit_id: int
    leader: Member
    an: Member
    binh: Member
    chi: Member  # staff of the unit, not involved in the tasks of the tests
    outsider: Member  # staff of another unit
    group_id: str = GROUP_ID


async def build_org(
    db: Database,
    *,
    user_ids: tuple[str, ...] = ("101", "102", "103", "104", "105"),
    group_id: str = GROUP_ID,
    an_language: str | None = None,
    binh_language: str | None = None,
) -> Org:
    """Units, people, their Telegram identities and the unit's group binding."""
    async with db.transaction() as session:
        unit = Unit(code="VP", name="Văn phòng UBND", timezone="Asia/Ho_Chi_Minh")
        other = Unit(code="TP", name="Phòng Tư pháp")
        session.add_all([unit, other])
        await session.flush()
        specs = [
            ("leader", "lanh_dao", "Trần Thị Lãnh", "leader", unit.id, None),
            ("an", "an_nv", "Nguyễn Văn An", "staff", unit.id, an_language),
            ("binh", "binh_lt", "Lê Thị Bình", "staff", unit.id, binh_language),
            ("chi", "chi_pt", "Phạm Thị Chi", "staff", unit.id, None),
            ("outsider", "xa_la", "Đỗ Văn Xa", "staff", other.id, None),
        ]
        members: dict[str, Member] = {}
        for (key, username, name, role, unit_id, language), user_id in zip(
            specs, user_ids, strict=True
        ):
            person = Person(full_name=name, role=role, unit_id=unit_id, language=language)
            session.add(person)
            await session.flush()
            session.add(
                Identity(
                    channel="telegram",
                    user_id=user_id,
                    username=username,
                    first_name=name.split()[-1],
                    person_id=person.id,
                    last_seen_at=datetime(2020, 4, 1, tzinfo=UTC),
                )
            )
            members[key] = Member(person.id, user_id, username, name)
        session.add(
            ChatBinding(
                channel="telegram",
                chat_id=group_id,
                purpose=ChatPurpose.UNIT_GROUP.value,
                unit_id=unit.id,
                title="Văn phòng",
            )
        )
        unit_id, other_id = unit.id, other.id
    return Org(unit_id, other_id, group_id=group_id, **members)


def in_group(incoming: Incoming, group_id: str = GROUP_ID) -> Incoming:
    return replace(incoming, chat=ChatRef("telegram", group_id, ChatKind.GROUP))


def say(
    updates: UpdateFactory,
    member: Member,
    text: str,
    *,
    group: bool = False,
    reply_to: ReplyTo | None = None,
) -> Incoming:
    incoming = updates.message(
        text, user_id=member.user_id, username=member.username, first_name=member.name
    )
    if group:
        incoming = in_group(incoming)
    if reply_to is not None:
        incoming = replace(incoming, reply_to=reply_to)
    return incoming


def press(
    updates: UpdateFactory,
    member: Member,
    data: str,
    *,
    message_id: str,
    chat_id: str | None = None,
) -> Incoming:
    """A button press on a message in ``chat_id`` (the member's private chat by default)."""
    incoming = updates.press(data, user_id=member.user_id, message_id=message_id)
    chat = chat_id or member.user_id
    kind = ChatKind.GROUP if chat.startswith("-") else ChatKind.PRIVATE
    return replace(incoming, chat=ChatRef("telegram", chat, kind))


def labels(record: Recorded) -> list[str]:
    """The buttons a message shows now (after its last edit)."""
    message = record.edits[-1] if record.edits else record.message
    return [b.text for row in message.buttons for b in row]


def button(record: Recorded, label: str) -> str:
    """The callback data of the button whose label contains ``label``, as shown now."""
    message = record.edits[-1] if record.edits else record.message
    for row in message.buttons:
        for b in row:
            if label in b.text and b.data:
                return b.data
    raise AssertionError(f"no {label!r} among {labels(record)}")


async def rows(application: Application) -> list[Task]:
    async with application.app.db.transaction() as session:
        return list(await session.scalars(select(Task).order_by(Task.id)))
