"""Tasks: one row per assignee, its history, and the cards to edit when it moves."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Tasks assigned together to several people share a batch id (the first task's id).
    batch_id: Mapped[int | None] = mapped_column(Integer, index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    assigner_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    legal_deadline: Mapped[bool] = mapped_column(Boolean, default=False)
    last_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on every transition: a stale card or a double press cannot move the task twice.
    version: Mapped[int] = mapped_column(Integer, default=1)


class TaskEvent(Base):
    __tablename__ = "task_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


class CardKind(StrEnum):
    """Who a card is for, which decides what it shows and which buttons it carries."""

    # Where the task was given (the unit's group, or the assigner's private chat): the whole
    # batch, every assignee's status, all buttons that apply; ``task_id`` is the batch id.
    ORIGIN = "origin"
    # An assignee's private copy: that person's row only, the assignee's buttons.
    ASSIGNEE = "assignee"
    # The assigner's notice that a row waits for approval: that row, the supervisor's buttons.
    ASSIGNER = "assigner"


class TaskCard(Base):
    """A message showing a task (the group card, the assignee's copy) to edit in place."""

    __tablename__ = "task_cards"
    # A reply to a card is looked up by the message it answers.
    __table_args__ = (Index("ix_task_cards_message", "channel", "chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default=CardKind.ORIGIN.value)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="vi")
