"""The audit log: who changed what, when, with the values before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.access import Actor
from storage.models import AuditEntry


async def record(
    session: AsyncSession,
    *,
    at: datetime,
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: object = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
    actor_label: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=at,
        actor_id=actor.person_id if actor else None,
        actor_label=actor_label or (actor.full_name if actor else "system"),
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=before,
        after=after,
        note=note,
    )
    session.add(entry)
    await session.flush()
    return entry


async def since(session: AsyncSession, moment: datetime) -> list[AuditEntry]:
    result = await session.scalars(
        select(AuditEntry).where(AuditEntry.at >= moment).order_by(AuditEntry.at, AuditEntry.id)
    )
    return list(result)
