"""Reading and writing the FAQ tables: catalogue versions, unanswered questions, hand-offs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.faq.catalogue import (
    Catalogue,
    catalogue_from_data,
    catalogue_to_data,
    load_shipped_catalogue,
)
from bot.services.faq.policy import PolicyInvalidError, parse_policy, shipped_policy_data
from storage.models import CatalogueVersion, Handoff, UnansweredQuestion
from storage.models.faq import HandoffStatus

log = logging.getLogger(__name__)

SHIPPED_SOURCE = "shipped"
# The primary key of unanswered_questions is the normalised text; keep it within the column.
MAX_NORMALIZED = 300


@dataclass(frozen=True)
class StoredCatalogue:
    """The catalogue and policy of one version, validated again on the way out."""

    catalogue: Catalogue
    policy: dict[str, Any]
    version_id: int
    source: str
    loaded_at: datetime


# --------------------------------------------------------------------------- versions


async def latest_version(session: AsyncSession) -> CatalogueVersion | None:
    return await session.scalar(
        select(CatalogueVersion).order_by(CatalogueVersion.id.desc()).limit(1)
    )


async def latest_version_id(session: AsyncSession) -> int | None:
    return await session.scalar(select(func.max(CatalogueVersion.id)))


async def add_version(
    session: AsyncSession,
    *,
    at: datetime,
    source: str,
    catalogue: Catalogue,
    policy: Mapping[str, Any] | None = None,
    uploaded_by: int | None = None,
) -> CatalogueVersion:
    """A new version; without a policy the one in force is kept (an upload is only a list)."""
    if policy is None:
        current = await latest_version(session)
        policy = current.policy if current is not None and current.policy else None
    row = CatalogueVersion(
        loaded_at=at,
        source=source[:200],
        catalogue=catalogue_to_data(catalogue),
        policy=dict(policy) if policy is not None else shipped_policy_data(),
        uploaded_by=uploaded_by,
    )
    session.add(row)
    await session.flush()
    return row


def _stored(row: CatalogueVersion) -> StoredCatalogue | None:
    result = catalogue_from_data(row.catalogue or {})
    if result.catalogue is None:
        # Validated when stored; a later release may validate more strictly.
        log.error(
            "catalogue version %s no longer validates: %s",
            row.id,
            "; ".join(str(e) for e in result.errors[:5]),
        )
        return None
    policy = row.policy or shipped_policy_data()
    try:
        parse_policy(policy)
    except PolicyInvalidError as exc:
        log.error("policy of catalogue version %s no longer validates: %s", row.id, exc)
        policy = shipped_policy_data()
    return StoredCatalogue(result.catalogue, dict(policy), row.id, row.source, row.loaded_at)


async def load_active(session: AsyncSession, *, now: datetime) -> StoredCatalogue:
    """The newest valid version; on a fresh database the shipped files become version 1."""
    rows = await session.scalars(select(CatalogueVersion).order_by(CatalogueVersion.id.desc()))
    for row in rows:
        stored = _stored(row)
        if stored is not None:
            return stored
    row = await add_version(
        session,
        at=now,
        source=SHIPPED_SOURCE,
        catalogue=load_shipped_catalogue(),
        policy=shipped_policy_data(),
    )
    stored = _stored(row)
    assert stored is not None, "the shipped catalogue must validate"
    return stored


# --------------------------------------------------------------------------- learning loop


async def record_unanswered(
    session: AsyncSession,
    *,
    normalized: str,
    example: str,
    kind: str,
    best_id: str | None,
    best_score: float | None,
    at: datetime,
) -> None:
    """Count one more question with this normalised text (an atomic upsert: two citizens
    asking the same thing at once both count)."""
    key = normalized[:MAX_NORMALIZED] or "(empty)"
    values = {
        "normalized": key,
        "example": example,
        "count": 1,
        "kind": kind,
        "best_id": best_id,
        "best_score": best_score,
        "first_at": at,
        "last_at": at,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(UnansweredQuestion).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[UnansweredQuestion.normalized],
        set_={
            "count": UnansweredQuestion.count + 1,
            "kind": statement.excluded.kind,
            "best_id": statement.excluded.best_id,
            "best_score": statement.excluded.best_score,
            "last_at": statement.excluded.last_at,
        },
    )
    await session.execute(statement)


async def unanswered(
    session: AsyncSession, *, limit: int = 50, since: datetime | None = None
) -> list[UnansweredQuestion]:
    query = select(UnansweredQuestion)
    if since is not None:
        query = query.where(UnansweredQuestion.last_at >= since)
    query = query.order_by(
        UnansweredQuestion.count.desc(),
        UnansweredQuestion.last_at.desc(),
        UnansweredQuestion.normalized,
    )
    return list(await session.scalars(query.limit(limit)))


# --------------------------------------------------------------------------- hand-offs


async def create_handoff(
    session: AsyncSession,
    *,
    channel: str,
    citizen_chat_id: str,
    citizen_name: str,
    language: str,
    question: str,
    at: datetime,
    status: HandoffStatus = HandoffStatus.OPEN,
    guess_id: str | None = None,
) -> Handoff:
    row = Handoff(
        channel=channel,
        citizen_chat_id=citizen_chat_id,
        citizen_name=citizen_name[:200],
        language=language,
        question=question,
        status=status.value,
        created_at=at,
        guess_id=guess_id,
    )
    session.add(row)
    await session.flush()
    return row


async def move_handoff(
    session: AsyncSession, handoff_id: int, old: HandoffStatus, new: HandoffStatus, **values: Any
) -> bool:
    """Compare-and-set on the status: True for the one update that moved it (a double press
    or two staff answering at once change it only once)."""
    result = await session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == old.value)
        .values(status=new.value, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def set_group_post(
    session: AsyncSession, handoff_id: int, *, channel: str, chat_id: str, message_id: str
) -> None:
    await session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id)
        .values(group_channel=channel, group_chat_id=chat_id, group_message_id=message_id)
        .execution_options(synchronize_session=False)
    )


async def handoff_by_post(
    session: AsyncSession, channel: str, chat_id: str, message_id: str
) -> Handoff | None:
    return await session.scalar(
        select(Handoff).where(
            Handoff.group_channel == channel,
            Handoff.group_chat_id == chat_id,
            Handoff.group_message_id == message_id,
        )
    )


async def purge_drafts(session: AsyncSession, *, older_than: datetime) -> int:
    """Questions the citizen never confirmed sending are not kept."""
    result = await session.execute(
        delete(Handoff).where(
            Handoff.status == HandoffStatus.DRAFT.value, Handoff.created_at < older_than
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
