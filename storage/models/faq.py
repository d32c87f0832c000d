"""The citizen FAQ: catalogue and policy as loaded, hand-offs to people, unanswered questions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime


class CatalogueVersion(Base):
    """The catalogue and policy in force: the newest row wins; older rows are history."""

    __tablename__ = "catalogue_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(200))
    catalogue: Mapped[dict[str, Any]] = mapped_column(JSON)
    policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The admin who uploaded it from the chat; null for the shipped file and the CLI.
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class HandoffStatus(StrEnum):
    # A low-confidence question the citizen has not yet confirmed sending; purged after a day.
    DRAFT = "draft"
    OPEN = "open"
    ANSWERED = "answered"


class Handoff(Base):
    """A citizen's question handed to the support group, and the staff reply.

    Personal data is kept to what the reply needs: the channel and chat to answer in, the
    name the channel shows (so staff can address the person), the language, and the question
    with phone/ID numbers masked (bot/services/faq/privacy.py). No phone number is stored.
    """

    __tablename__ = "handoffs"
    __table_args__ = (
        Index("ix_handoffs_group_post", "group_chat_id", "group_message_id"),
        Index("ix_handoffs_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    citizen_chat_id: Mapped[str] = mapped_column(String(64))
    citizen_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8), default="vi")
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=HandoffStatus.OPEN.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The matcher's best guess when the question was asked, shown to staff as a hint.
    guess_id: Mapped[str | None] = mapped_column(String(64))
    group_channel: Mapped[str | None] = mapped_column(String(16))
    group_chat_id: Mapped[str | None] = mapped_column(String(64))
    group_message_id: Mapped[str | None] = mapped_column(String(64))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UnansweredQuestion(Base):
    """Questions the matcher could not answer confidently, grouped by normalised text."""

    __tablename__ = "unanswered_questions"

    normalized: Mapped[str] = mapped_column(String(300), primary_key=True)
    example: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=1)
    # "none" (not sure), "ambiguous" (close candidates) or "low" (below the confident score)
    kind: Mapped[str] = mapped_column(String(12), default="none")
    best_id: Mapped[str | None] = mapped_column(String(64))
    best_score: Mapped[float | None] = mapped_column()
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
