"""The organisation: units, people, their chat identities, bound chats, invites, audit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, UTCDateTime


class Role(StrEnum):
    ADMIN = "admin"
    LEADER = "leader"
    DEPUTY = "deputy"
    STAFF = "staff"


class ChatPurpose(StrEnum):
    UNIT_GROUP = "unit_group"
    SUPPORT_GROUP = "support_group"


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")
    # ISO weekdays the unit works, e.g. "12345" for Monday–Friday.
    working_days: Mapped[str] = mapped_column(String(7), default="12345")
    # A fraction in (0, 1] of the unit's people, or a head count when >= 1 and integral.
    office_quota: Mapped[float | None] = mapped_column(Float)
    checkin_by: Mapped[str] = mapped_column(String(5), default="09:00")
    report_at: Mapped[str] = mapped_column(String(5), default="16:30")
    health_declaration: Mapped[bool] = mapped_column(Boolean, default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    people: Mapped[list[Person]] = relationship(
        back_populates="unit", foreign_keys="Person.unit_id"
    )


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=Role.STAFF.value)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    language: Mapped[str | None] = mapped_column(String(8))
    team: Mapped[str | None] = mapped_column(String(16))
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)

    unit: Mapped[Unit | None] = relationship(back_populates="people", foreign_keys=[unit_id])
    identities: Mapped[list[Identity]] = relationship(back_populates="person")


class Identity(Base):
    """Someone on a channel. Citizens have one with no person; staff are linked to a person.

    A username without a user id is a pending binding from an import: it completes when that
    person first writes to the bot.
    """

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("channel", "user_id"),
        UniqueConstraint("channel", "username"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str | None] = mapped_column(String(64))
    username: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str | None] = mapped_column(String(8))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person | None] = relationship(back_populates="identities")


class ChatBinding(Base):
    __tablename__ = "chat_bindings"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(200))


class Invite(Base):
    __tablename__ = "invites"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    role: Mapped[str] = mapped_column(String(16), default=Role.STAFF.value)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
