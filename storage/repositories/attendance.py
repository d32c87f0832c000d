"""Database access for check-ins: the day's rows, their history, exceptions and day plans.

Async functions over an :class:`AsyncSession`; no rules here (they live in
``bot.services.attendance``). Writes that must not race — deciding whether one more person
fits in the office — call :func:`lock_unit` first and read everything after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Attendance, AttendanceEvent, DayPlan, Person, QuotaException, Unit

# The statements every check-in runs, built once: building a statement and its cache key
# costs more than binding new values to a built one.
_UNIT_PEOPLE = (
    select(Person).where(Person.unit_id == bindparam("unit_id"), Person.active).order_by(Person.id)
)
_ROWS_OF_DAY = (
    select(Attendance)
    .where(Attendance.unit_id == bindparam("unit_id"), Attendance.day == bindparam("day"))
    .order_by(Attendance.id)
    .execution_options(populate_existing=True)
)
_ROW_OF = (
    select(Attendance)
    .where(Attendance.person_id == bindparam("person_id"), Attendance.day == bindparam("day"))
    .execution_options(populate_existing=True)
)
_PLANS_FOR = (
    select(DayPlan)
    .where(DayPlan.unit_id == bindparam("unit_id"), DayPlan.day.in_(bindparam("days")))
    .order_by(DayPlan.day, DayPlan.person_id)
)


class StaleRecord(Exception):
    """The row changed between reading and writing it (another request won)."""


async def lock_unit(session: AsyncSession, unit_id: int) -> Unit | None:
    """Serialise check-in writes of one unit until the transaction ends; returns the unit.

    PostgreSQL: ``SELECT … FOR UPDATE`` on the unit row, so a second transaction deciding on
    the same unit's quota waits here and then reads the first one's check-in. SQLite has no
    row locks but one writer at a time: a no-op UPDATE as the first write of the transaction
    takes the database's write lock (waiting out the busy timeout if another request holds
    it) before anything is read, so the reads that follow see every committed check-in.
    """
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        await session.execute(
            update(Unit)
            .where(Unit.id == unit_id)
            .values(id=Unit.id)
            .execution_options(synchronize_session=False)
        )
        return await session.get(Unit, unit_id, populate_existing=True)
    return await session.scalar(
        select(Unit)
        .where(Unit.id == unit_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def unit_people(session: AsyncSession, unit_id: int) -> list[Person]:
    """Active people of the unit, in a stable order (the order rosters list them)."""
    return list(await session.scalars(_UNIT_PEOPLE, {"unit_id": unit_id}))


async def rows_of_day(session: AsyncSession, unit_id: int, day: date) -> list[Attendance]:
    """The unit's check-ins of ``day``, re-read from the database (never a cached copy)."""
    return list(await session.scalars(_ROWS_OF_DAY, {"unit_id": unit_id, "day": day}))


async def row_of(session: AsyncSession, person_id: int, day: date) -> Attendance | None:
    return await session.scalar(_ROW_OF, {"person_id": person_id, "day": day})


async def save_mode(
    session: AsyncSession,
    *,
    person_id: int,
    unit_id: int,
    day: date,
    mode: str,
    at: datetime,
    late: bool,
    by_exception: bool,
    non_working_day: bool,
    temperature: float | None = None,
    symptoms: Sequence[str] | None = None,
    details: dict[str, Any] | None = None,
) -> Attendance:
    """Insert the person's row for ``day`` or move it to ``mode``; one event either way.

    An existing row is updated only if its version is still the one read (compare-and-set),
    so a change computed from an outdated row raises :class:`StaleRecord` instead of
    overwriting a newer choice. ``checked_in_at`` and ``late`` keep the first check-in's values.
    """
    row = await row_of(session, person_id, day)
    if row is None:
        row = Attendance(
            person_id=person_id,
            unit_id=unit_id,
            day=day,
            mode=mode,
            checked_in_at=at,
            updated_at=at,
            late=late,
            by_exception=by_exception,
            non_working_day=non_working_day,
            temperature=temperature,
            symptoms=list(symptoms) if symptoms is not None else None,
            version=1,
        )
        session.add(row)
        await session.flush()
        action = "checkin"
    else:
        values: dict[str, Any] = {
            "mode": mode,
            "updated_at": at,
            "by_exception": by_exception,
            "checked_out_at": None,
            "version": row.version + 1,
        }
        if temperature is not None or symptoms is not None:
            values["temperature"] = temperature
            values["symptoms"] = list(symptoms) if symptoms is not None else None
        result = await session.execute(
            update(Attendance)
            .where(Attendance.id == row.id, Attendance.version == row.version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleRecord(f"attendance {row.id} changed meanwhile")
        await session.refresh(row)
        action = "change"
    session.add(
        AttendanceEvent(
            person_id=person_id,
            day=day,
            at=at,
            action=action,
            mode=mode,
            details=details or None,
        )
    )
    await session.flush()
    return row


async def save_health(
    session: AsyncSession,
    row: Attendance,
    *,
    temperature: float | None,
    symptoms: Sequence[str],
    at: datetime,
) -> None:
    """Keep a declaration on a row whose mode did not change (already at home, told to stay)."""
    row.temperature = temperature
    row.symptoms = list(symptoms)
    session.add(
        AttendanceEvent(
            person_id=row.person_id,
            day=row.day,
            at=at,
            action="health",
            mode=row.mode,
            details={"temperature": temperature, "symptoms": list(symptoms)},
        )
    )
    await session.flush()


async def check_out(session: AsyncSession, row: Attendance, at: datetime) -> bool:
    """Mark the end of the day once; False when it was already marked."""
    result = await session.execute(
        update(Attendance)
        .where(Attendance.id == row.id, Attendance.checked_out_at.is_(None))
        .values(checked_out_at=at, version=Attendance.version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.add(
        AttendanceEvent(person_id=row.person_id, day=row.day, at=at, action="checkout", mode=None)
    )
    await session.flush()
    await session.refresh(row)
    return True


async def history(session: AsyncSession, person_id: int, day: date) -> list[AttendanceEvent]:
    result = await session.scalars(
        select(AttendanceEvent)
        .where(AttendanceEvent.person_id == person_id, AttendanceEvent.day == day)
        .order_by(AttendanceEvent.at, AttendanceEvent.id)
    )
    return list(result)


async def exception_for(session: AsyncSession, person_id: int, day: date) -> QuotaException | None:
    return await session.scalar(
        select(QuotaException).where(
            QuotaException.person_id == person_id, QuotaException.day == day
        )
    )


async def grant_exception(
    session: AsyncSession,
    *,
    person_id: int,
    unit_id: int,
    day: date,
    granted_by: int | None,
    at: datetime,
) -> tuple[QuotaException, bool]:
    """The person's exception for ``day``; True when this call created it.

    Called under :func:`lock_unit`, so the read-then-insert cannot race with itself; the
    unique constraint stays the last line of defence.
    """
    existing = await exception_for(session, person_id, day)
    if existing is not None:
        return existing, False
    created = QuotaException(
        person_id=person_id, unit_id=unit_id, day=day, granted_by=granted_by, granted_at=at
    )
    session.add(created)
    await session.flush()
    return created, True


async def plans_for(session: AsyncSession, unit_id: int, days: Iterable[date]) -> list[DayPlan]:
    wanted = sorted(set(days))
    if not wanted:
        return []
    return list(await session.scalars(_PLANS_FOR, {"unit_id": unit_id, "days": wanted}))


async def plans_from(session: AsyncSession, unit_id: int, first: date) -> list[DayPlan]:
    result = await session.scalars(
        select(DayPlan)
        .where(DayPlan.unit_id == unit_id, DayPlan.day >= first)
        .order_by(DayPlan.day, DayPlan.person_id)
    )
    return list(result)


async def set_plan(
    session: AsyncSession, *, unit_id: int, person_id: int, day: date, mode: str
) -> DayPlan:
    plan = await session.scalar(
        select(DayPlan).where(DayPlan.person_id == person_id, DayPlan.day == day)
    )
    if plan is None:
        plan = DayPlan(unit_id=unit_id, person_id=person_id, day=day, mode=mode)
        session.add(plan)
    else:
        plan.unit_id, plan.mode = unit_id, mode
    await session.flush()
    return plan


async def clear_plans(
    session: AsyncSession, *, unit_id: int, day: date, person_ids: Iterable[int] | None = None
) -> int:
    statement = delete(DayPlan).where(DayPlan.unit_id == unit_id, DayPlan.day == day)
    if person_ids is not None:
        statement = statement.where(DayPlan.person_id.in_(list(person_ids)))
    result = await session.execute(statement)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
