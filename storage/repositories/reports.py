"""Reading and writing reports, and the reads the report numbers need from other tables.

Check-ins and tasks belong to other features; this module only reads their tables, so the
report numbers do not depend on those features' code being loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Attendance,
    Identity,
    Person,
    Report,
    ReportAttachment,
    ReportRevision,
    Task,
    TaskEvent,
    Unit,
)

# Task statuses as stored by the task feature (bot/services/tasks/lifecycle.py); "returned"
# is listed because older rows or another writer may still store it.
OPEN_TASK_STATUSES = ("assigned", "accepted", "blocked", "returned")
DONE_TASK_STATUSES = ("done", "approved")


class StaleReport(Exception):
    """The report changed since the preview was built (edited from another device)."""


@dataclass(frozen=True, slots=True)
class SavedReport:
    report: Report
    created: bool
    # The content before this save (None for a new report): what changed, for the head.
    previous: dict[str, Any] | None


def _snapshot(report: Report) -> dict[str, Any]:
    return {
        "done": report.done,
        "in_progress": report.in_progress,
        "blockers": report.blockers,
        "plan": report.plan,
        "task_ids": list(report.task_ids or []),
        "version": report.version,
        "updated_at": report.updated_at.isoformat(),
    }


async def get_report(session: AsyncSession, person_id: int, day: date) -> Report | None:
    return await session.scalar(
        select(Report).where(Report.person_id == person_id, Report.day == day)
    )


async def save_report(
    session: AsyncSession,
    *,
    person_id: int,
    unit_id: int,
    day: date,
    content: dict[str, Any],
    now: datetime,
    expected_version: int | None = None,
) -> SavedReport:
    """Create the day's report, or update it keeping the old text as a revision.

    ``expected_version`` is the version the person saw in the preview (None: they saw no
    report). If someone saved meanwhile — a second phone, a double press — the save is
    refused with :class:`StaleReport` instead of silently overwriting it.
    """
    existing = await get_report(session, person_id, day)
    if existing is None:
        if expected_version is not None:
            raise StaleReport(f"report of {person_id} on {day} disappeared")
        report = Report(
            person_id=person_id,
            unit_id=unit_id,
            day=day,
            submitted_at=now,
            updated_at=now,
            version=1,
            **_fields(content),
        )
        try:
            async with session.begin_nested():
                session.add(report)
                await session.flush()
        except IntegrityError:
            # Another update created it between our read and our insert.
            raise StaleReport(f"report of {person_id} on {day} created meanwhile") from None
        return SavedReport(report, True, None)
    if expected_version != existing.version:
        raise StaleReport(f"report {existing.id} is at version {existing.version}")
    previous = _snapshot(existing)
    session.add(ReportRevision(report_id=existing.id, at=now, content=previous))
    for key, value in _fields(content).items():
        setattr(existing, key, value)
    existing.unit_id = unit_id
    existing.updated_at = now
    existing.version = existing.version + 1
    await session.flush()
    return SavedReport(existing, False, previous)


def _fields(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "done": str(content.get("done") or ""),
        "in_progress": str(content.get("in_progress") or ""),
        "blockers": str(content.get("blockers") or ""),
        "plan": str(content.get("plan") or ""),
        "task_ids": [int(i) for i in content.get("task_ids") or []],
    }


async def add_attachment(
    session: AsyncSession,
    *,
    report_id: int,
    channel: str,
    file_id: str,
    filename: str,
    size: int | None,
) -> ReportAttachment:
    attachment = ReportAttachment(
        report_id=report_id,
        channel=channel,
        file_id=file_id[:256],
        filename=filename[:256],
        size=size,
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def attachments_of(
    session: AsyncSession, report_ids: Iterable[int]
) -> dict[int, list[ReportAttachment]]:
    ids = list(report_ids)
    found: dict[int, list[ReportAttachment]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = await session.scalars(
        select(ReportAttachment)
        .where(ReportAttachment.report_id.in_(ids))
        .order_by(ReportAttachment.id)
    )
    for row in rows:
        found[row.report_id].append(row)
    return found


async def revision_counts(session: AsyncSession, report_ids: Iterable[int]) -> dict[int, int]:
    ids = list(report_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(ReportRevision.report_id, func.count())
        .where(ReportRevision.report_id.in_(ids))
        .group_by(ReportRevision.report_id)
    )
    return {int(r): int(n) for r, n in rows.all()}


async def recent_reports(
    session: AsyncSession, person_ids: Sequence[int], *, limit: int, before: date | None = None
) -> list[Report]:
    query = select(Report).where(Report.person_id.in_(list(person_ids)))
    if before is not None:
        query = query.where(Report.day <= before)
    rows = await session.scalars(query.order_by(Report.day.desc(), Report.id.desc()).limit(limit))
    return list(rows)


async def reports_on(session: AsyncSession, person_ids: Sequence[int], day: date) -> list[Report]:
    rows = await session.scalars(
        select(Report).where(Report.person_id.in_(list(person_ids)), Report.day == day)
    )
    return list(rows)


async def latest_report_since(session: AsyncSession, person_id: int, since: date) -> list[Report]:
    """The person's reports from ``since`` on, newest first (candidates for a late file)."""
    rows = await session.scalars(
        select(Report)
        .where(Report.person_id == person_id, Report.day >= since)
        .order_by(Report.day.desc())
    )
    return list(rows)


async def offerable_tasks(
    session: AsyncSession, person_id: int, now: datetime, *, limit: int = 8
) -> list[Task]:
    """Tasks to offer as "done today" buttons: open ones, and ones marked done recently."""
    recent = now - timedelta(days=2)
    rows = await session.scalars(
        select(Task)
        .where(
            Task.assignee_id == person_id,
            or_(
                Task.status.in_(OPEN_TASK_STATUSES),
                and_(Task.status.in_(DONE_TASK_STATUSES), Task.done_at >= recent),
            ),
        )
        .order_by(Task.deadline.is_(None), Task.deadline, Task.id)
        .limit(limit)
    )
    return list(rows)


async def tasks_by_ids(session: AsyncSession, task_ids: Iterable[int]) -> dict[int, Task]:
    ids = list(task_ids)
    if not ids:
        return {}
    rows = await session.scalars(select(Task).where(Task.id.in_(ids)))
    return {t.id: t for t in rows}


async def unit_by_code(session: AsyncSession, code: str) -> Unit | None:
    return await session.scalar(select(Unit).where(func.lower(Unit.code) == code.lower()))


async def units_by_ids(session: AsyncSession, unit_ids: Iterable[int]) -> list[Unit]:
    rows = await session.scalars(select(Unit).where(Unit.id.in_(list(unit_ids))))
    return list(rows)


async def people_in_units(
    session: AsyncSession, unit_ids: Iterable[int], roles: Iterable[str]
) -> list[Person]:
    rows = await session.scalars(
        select(Person)
        .where(Person.unit_id.in_(list(unit_ids)), Person.active, Person.role.in_(list(roles)))
        .order_by(Person.id)
    )
    return list(rows)


async def attendance_between(
    session: AsyncSession, person_ids: Sequence[int], start: date, end: date
) -> list[Attendance]:
    rows = await session.scalars(
        select(Attendance).where(
            Attendance.person_id.in_(list(person_ids)),
            Attendance.day >= start,
            Attendance.day <= end,
        )
    )
    return list(rows)


async def reports_between(
    session: AsyncSession, person_ids: Sequence[int], start: date, end: date
) -> list[Report]:
    rows = await session.scalars(
        select(Report).where(
            Report.person_id.in_(list(person_ids)), Report.day >= start, Report.day <= end
        )
    )
    return list(rows)


async def tasks_touching(
    session: AsyncSession, person_ids: Sequence[int], start: datetime, end: datetime
) -> list[Task]:
    """Tasks of these assignees that can matter for [start, end): created before its end and
    not finished before its start (an old overdue task still counts as overdue)."""
    rows = await session.scalars(
        select(Task).where(
            Task.assignee_id.in_(list(person_ids)),
            Task.created_at < end,
            or_(Task.done_at.is_(None), Task.done_at >= start, Task.created_at >= start),
        )
    )
    return list(rows)


async def done_times_from_events(
    session: AsyncSession, task_ids: Sequence[int]
) -> dict[int, datetime]:
    """When each task was last marked done, from its history.

    For rows whose ``done_at`` is empty although they are finished (an approval that cleared
    it): the history keeps the moment the assignee's part ended.
    """
    if not task_ids:
        return {}
    rows = await session.execute(
        select(TaskEvent.task_id, func.max(TaskEvent.at))
        .where(TaskEvent.task_id.in_(list(task_ids)), TaskEvent.to_status == "done")
        .group_by(TaskEvent.task_id)
    )
    return {int(task_id): at for task_id, at in rows.all() if at is not None}


async def identity_of(session: AsyncSession, person_id: int) -> Identity | None:
    """The person's most recently seen chat identity (where to write, which language)."""
    return await session.scalar(
        select(Identity)
        .where(Identity.person_id == person_id, Identity.user_id.is_not(None))
        .order_by(Identity.last_seen_at.desc().nulls_last(), Identity.id)
        .limit(1)
    )
