"""Database access for tasks: rows, compare-and-set transitions, history, cards, queries.

Async functions over an :class:`AsyncSession`; no rules here (they live in
``bot.services.tasks``). Every read that decides a transition re-reads the row from the
database (``populate_existing``) so a copy cached in the session cannot hide another
request's change; the write itself is a compare-and-set on ``version`` and ``status``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Identity, Person, Task, TaskCard, TaskEvent, Unit
from storage.models.tasks import CardKind


@dataclass(frozen=True, slots=True)
class NewRow:
    """One assignee's row of a new batch."""

    assignee_id: int
    unit_id: int | None


async def create_batch(
    session: AsyncSession,
    *,
    assigner_id: int,
    rows: Sequence[NewRow],
    text: str,
    deadline: datetime | None,
    urgent: bool,
    legal: bool,
    note: str | None,
    status: str,
    now: datetime,
) -> list[Task]:
    """Insert one row per assignee; they share ``batch_id`` = the first row's id."""
    created: list[Task] = []
    for row in rows:
        task = Task(
            unit_id=row.unit_id,
            text=text,
            assigner_id=assigner_id,
            assignee_id=row.assignee_id,
            status=status,
            deadline=deadline,
            urgent=urgent,
            legal_deadline=legal,
            last_note=note,
            created_at=now,
            updated_at=now,
            version=1,
        )
        session.add(task)
        created.append(task)
    await session.flush()
    batch_id = created[0].id
    for task in created:
        task.batch_id = batch_id
    await session.flush()
    return created


async def get_task(session: AsyncSession, task_id: int) -> Task | None:
    """The row as the database holds it now."""
    return await session.get(Task, task_id, populate_existing=True)


async def batch_of(session: AsyncSession, batch_id: int) -> list[Task]:
    result = await session.scalars(
        select(Task)
        .where(or_(Task.batch_id == batch_id, Task.id == batch_id))
        .order_by(Task.id)
        .execution_options(populate_existing=True)
    )
    return list(result)


async def compare_and_set(
    session: AsyncSession,
    task_id: int,
    *,
    expected_version: int,
    expected_status: str,
    values: dict[str, Any],
) -> bool:
    """``UPDATE tasks SET … WHERE id = :id AND version = :v AND status = :s``.

    True when the row moved. False when another request changed it first (a double press,
    a stale card): the caller re-reads and decides again, so only one transition happens.
    ``values`` must include the new ``version``.
    """
    result = await session.execute(
        update(Task)
        .where(
            Task.id == task_id,
            Task.version == expected_version,
            Task.status == expected_status,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def add_event(
    session: AsyncSession,
    *,
    task_id: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    from_status: str | None,
    to_status: str | None,
    note: str | None,
) -> TaskEvent:
    event = TaskEvent(
        task_id=task_id,
        at=at,
        actor_id=actor_id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
    )
    session.add(event)
    await session.flush()
    return event


async def events_of(session: AsyncSession, task_id: int) -> list[TaskEvent]:
    result = await session.scalars(
        select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)
    )
    return list(result)


# --------------------------------------------------------------------------- cards


async def add_card(
    session: AsyncSession,
    *,
    task_id: int,
    kind: CardKind,
    channel: str,
    chat_id: str,
    message_id: str,
    language: str,
) -> TaskCard:
    card = TaskCard(
        task_id=task_id,
        kind=kind.value,
        channel=channel,
        chat_id=chat_id,
        message_id=message_id,
        language=language,
    )
    session.add(card)
    await session.flush()
    return card


async def cards_showing(session: AsyncSession, tasks: Collection[Task]) -> list[TaskCard]:
    """Every card that shows one of these rows: the batches' origin cards and the rows' own."""
    if not tasks:
        return []
    batch_ids = {t.batch_id or t.id for t in tasks}
    row_ids = {t.id for t in tasks}
    result = await session.scalars(
        select(TaskCard)
        .where(
            or_(
                (TaskCard.kind == CardKind.ORIGIN.value) & TaskCard.task_id.in_(batch_ids),
                (TaskCard.kind != CardKind.ORIGIN.value) & TaskCard.task_id.in_(row_ids),
            )
        )
        .order_by(TaskCard.id)
    )
    return list(result)


async def card_at(
    session: AsyncSession, channel: str, chat_id: str, message_id: str
) -> TaskCard | None:
    return await session.scalar(
        select(TaskCard)
        .where(
            TaskCard.channel == channel,
            TaskCard.chat_id == chat_id,
            TaskCard.message_id == message_id,
        )
        .order_by(TaskCard.id)
        .limit(1)
    )


# --------------------------------------------------------------------------- queries


async def tasks_where(
    session: AsyncSession,
    *,
    statuses: Collection[str],
    assignee_id: int | None = None,
    unit_ids: Collection[int] | None = None,
    due_from: datetime | None = None,
    due_before: datetime | None = None,
    limit: int | None = None,
) -> list[Task]:
    """Rows in ``statuses``, optionally of one assignee, of some units, due in [from, before).

    Ordered by deadline (none last) then id; the listing order with overdue first is the
    domain's (``sort_key_for_listing``), applied by the caller.
    """
    query = select(Task).where(Task.status.in_(list(statuses)))
    if assignee_id is not None:
        query = query.where(Task.assignee_id == assignee_id)
    if unit_ids is not None:
        query = query.where(Task.unit_id.in_(list(unit_ids)))
    if due_from is not None:
        query = query.where(Task.deadline >= due_from)
    if due_before is not None:
        query = query.where(Task.deadline < due_before)
    query = query.order_by(Task.deadline.is_(None), Task.deadline, Task.id)
    if limit is not None:
        query = query.limit(limit)
    result = await session.scalars(query)
    return list(result)


async def people(session: AsyncSession, ids: Collection[int]) -> dict[int, Person]:
    if not ids:
        return {}
    result = await session.scalars(select(Person).where(Person.id.in_(list(ids))))
    return {p.id: p for p in result}


async def unit_zones(session: AsyncSession, ids: Collection[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Unit.id, Unit.timezone).where(Unit.id.in_(list(ids))))
    return {uid: tz for uid, tz in rows.all()}


async def all_unit_ids(session: AsyncSession) -> list[int]:
    return list(await session.scalars(select(Unit.id).order_by(Unit.id)))


async def identity_language(session: AsyncSession, person_id: int) -> str | None:
    """The language a person chose with /lang on their most recently used identity."""
    return await session.scalar(
        select(Identity.language)
        .where(Identity.person_id == person_id, Identity.language.is_not(None))
        .order_by(Identity.last_seen_at.desc().nulls_last(), Identity.id)
        .limit(1)
    )


async def username_of(session: AsyncSession, person_id: int, channel: str) -> str | None:
    return await session.scalar(
        select(Identity.username)
        .where(
            Identity.person_id == person_id,
            Identity.channel == channel,
            Identity.username.is_not(None),
        )
        .order_by(Identity.id)
        .limit(1)
    )
