"""The one place the report numbers are computed: `/summary`, the charts and the evaluation
export all read them from here, so they cannot disagree.

:func:`collect` reads the tables (units, people, check-ins, reports, tasks) for a period and
:func:`compute` turns those plain facts into per-person, per-unit and per-day numbers. The
computation is pure so it can be tested on crafted data.

Definitions (the evaluation is based on them, so they are spelled out):

* **People** are the active members of the unit who can report (staff, deputies, leaders;
  not administrators). Each person is counted in their own unit with that unit's calendar,
  time zone and quota.
* **Working days** are the unit's working days in the period **up to today** (the unit's
  local date): days still to come are not yet expected of anyone.
* **Check-ins** count the day's recorded mode (office, home, field trip, leave) in the
  period, working day or not. **Late** check-ins are those flagged late, never on leave.
  A working day without any check-in is a **missed check-in**.
* **Reports expected** are the working days a person was not on leave; **missing** are the
  expected days without a report. **Submitted** counts every report in the period,
  including ones confirmed on a non-working day. Today counts as expected: the summary
  shows today's missing reports as "not yet", and an export run mid-day says the same.
* **Tasks assigned**: created in the period (local date), not cancelled. **Done**: marked
  done (done or approved) in the period; **on time** when done at or before the deadline
  or when there was none, else **late**. **Overdue**: not cancelled, deadline passed and
  not done, as of the end of the period (or now, if the period has not ended) — an old
  task still overdue counts, as on the task list. A task the assigner returned is open
  again whatever its earlier done time.
* **On-time rate** = done on time / (done + overdue): a task left overdue weighs like a
  late one; no figure when the person had neither.
* **Office capacity** per unit and day comes from the attendance quota rules
  (:func:`~bot.services.attendance.quota.office_capacity`), None when the unit has no quota.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.attendance.quota import office_capacity
from bot.services.attendance.unitconfig import quota_of
from bot.services.reports.periods import Period
from bot.services.reports.rules import UnitSchedule
from bot.services.reports.text import fold
from storage.repositories import reports as repo

MODES: tuple[str, ...] = ("office", "home", "field_trip", "leave")
LEAVE = "leave"
OFFICE = "office"
REPORTING_ROLES: tuple[str, ...] = ("staff", "deputy", "leader")
DONE_STATUSES = frozenset(repo.DONE_TASK_STATUSES)
CANCELLED = "cancelled"


# --------------------------------------------------------------------------- facts in


@dataclass(frozen=True, slots=True)
class UnitFacts:
    id: int
    code: str
    name: str
    parent_id: int | None
    schedule: UnitSchedule
    # As the quota rules read it: an int head count or a share; None = no quota.
    quota: int | Fraction | float | None = None


@dataclass(frozen=True, slots=True)
class PersonFacts:
    id: int
    name: str
    unit_id: int
    role: str = "staff"


@dataclass(frozen=True, slots=True)
class CheckinFacts:
    person_id: int
    day: date
    mode: str
    late: bool = False


@dataclass(frozen=True, slots=True)
class ReportFacts:
    person_id: int
    day: date
    has_blockers: bool = False


@dataclass(frozen=True, slots=True)
class TaskFacts:
    id: int
    assignee_id: int
    status: str
    created_at: datetime
    deadline: datetime | None = None
    done_at: datetime | None = None


@dataclass(frozen=True)
class Facts:
    units: Sequence[UnitFacts]
    people: Sequence[PersonFacts]
    checkins: Sequence[CheckinFacts] = ()
    reports: Sequence[ReportFacts] = ()
    tasks: Sequence[TaskFacts] = ()


# --------------------------------------------------------------------------- numbers out


@dataclass(frozen=True)
class PersonMetrics:
    person_id: int
    name: str
    unit_id: int
    working_days: int
    checkins: Mapping[str, int]
    late_checkins: int
    missed_checkin_days: tuple[date, ...]
    reports_expected: int
    reports_submitted: int
    missing_report_days: tuple[date, ...]
    blocker_reports: int
    tasks_assigned: int
    tasks_done: int
    tasks_done_on_time: int
    tasks_overdue: int
    overdue_task_ids: tuple[int, ...] = ()

    @property
    def checkin_total(self) -> int:
        return sum(self.checkins.values())

    @property
    def reports_missing(self) -> int:
        return len(self.missing_report_days)

    @property
    def tasks_done_late(self) -> int:
        return self.tasks_done - self.tasks_done_on_time

    @property
    def on_time_rate(self) -> float | None:
        denominator = self.tasks_done + self.tasks_overdue
        return self.tasks_done_on_time / denominator if denominator else None


@dataclass(frozen=True)
class DayMetrics:
    day: date
    working_day: bool
    headcount: int
    capacity: int | None
    checked_in: int
    at_office: int
    reports_expected: int
    reports_submitted: int
    tasks_done_on_time: int
    tasks_done_late: int

    @property
    def over_capacity(self) -> bool:
        return self.capacity is not None and self.at_office > self.capacity


@dataclass(frozen=True)
class UnitMetrics:
    unit_id: int
    code: str
    name: str
    headcount: int
    capacity: int | None
    working_days: int
    people: tuple[PersonMetrics, ...]
    days: tuple[DayMetrics, ...]

    def total(self, attribute: str) -> int:
        return sum(int(getattr(p, attribute)) for p in self.people)

    @property
    def checkins(self) -> Mapping[str, int]:
        counts: Counter[str] = Counter()
        for person in self.people:
            counts.update(person.checkins)
        return MappingProxyType({mode: counts.get(mode, 0) for mode in MODES})

    @property
    def report_rate(self) -> float | None:
        expected = self.total("reports_expected")
        if not expected:
            return None
        on_expected_days = expected - self.total("reports_missing")
        return on_expected_days / expected

    @property
    def on_time_rate(self) -> float | None:
        denominator = self.total("tasks_done") + self.total("tasks_overdue")
        return self.total("tasks_done_on_time") / denominator if denominator else None

    @property
    def office_days(self) -> tuple[DayMetrics, ...]:
        return tuple(d for d in self.days if d.working_day)

    @property
    def max_at_office(self) -> int:
        return max((d.at_office for d in self.days), default=0)

    @property
    def days_over_capacity(self) -> int:
        return sum(1 for d in self.days if d.over_capacity)


@dataclass(frozen=True)
class Metrics:
    period: Period
    now: datetime
    units: tuple[UnitMetrics, ...]

    @property
    def people(self) -> tuple[PersonMetrics, ...]:
        return tuple(p for u in self.units for p in u.people)

    def person(self, person_id: int) -> PersonMetrics | None:
        return next((p for p in self.people if p.person_id == person_id), None)

    def combined_days(self) -> tuple[DayMetrics, ...]:
        """Per day across all units (the charts of a unit with its sub-units)."""
        by_day: dict[date, list[DayMetrics]] = {}
        for unit in self.units:
            for d in unit.days:
                by_day.setdefault(d.day, []).append(d)
        combined = []
        for day in sorted(by_day):
            items = by_day[day]
            capacities = [d.capacity for d in items if d.capacity is not None]
            combined.append(
                DayMetrics(
                    day=day,
                    working_day=any(d.working_day for d in items),
                    headcount=sum(d.headcount for d in items),
                    capacity=sum(capacities) if capacities else None,
                    checked_in=sum(d.checked_in for d in items),
                    at_office=sum(d.at_office for d in items),
                    reports_expected=sum(d.reports_expected for d in items),
                    reports_submitted=sum(d.reports_submitted for d in items),
                    tasks_done_on_time=sum(d.tasks_done_on_time for d in items),
                    tasks_done_late=sum(d.tasks_done_late for d in items),
                )
            )
        return tuple(combined)


# --------------------------------------------------------------------------- computing


def sort_key(name: str) -> tuple[str, str]:
    """Vietnamese order: by given name (the last word), then the whole name."""
    folded = fold(name)
    words = folded.split()
    return (words[-1] if words else "", folded)


def _local_date(moment: datetime, schedule: UnitSchedule) -> date:
    return moment.astimezone(schedule.tz).date()


def period_end_instant(period: Period, schedule: UnitSchedule) -> datetime:
    """Midnight after the period's last day, in the unit's zone, as UTC."""
    following = period.end + timedelta(days=1)
    return datetime.combine(following, time(0), tzinfo=schedule.tz).astimezone(UTC)


def period_start_instant(period: Period, schedule: UnitSchedule) -> datetime:
    return datetime.combine(period.start, time(0), tzinfo=schedule.tz).astimezone(UTC)


def capacity_of(quota: int | Fraction | float | None, headcount: int) -> int | None:
    return None if quota is None else office_capacity(quota, headcount)


def _person_metrics(
    person: PersonFacts,
    unit: UnitFacts,
    period: Period,
    working: list[date],
    as_of: datetime,
    checkins: list[CheckinFacts],
    reports: list[ReportFacts],
    tasks: list[TaskFacts],
) -> PersonMetrics:
    schedule = unit.schedule
    by_day = {c.day: c for c in checkins}
    modes = Counter(c.mode for c in checkins)
    leave_days = {c.day for c in checkins if c.mode == LEAVE}
    report_days = {r.day for r in reports}
    expected = [d for d in working if d not in leave_days]

    def in_period(moment: datetime | None) -> bool:
        return moment is not None and period.start <= _local_date(moment, schedule) <= period.end

    live = [t for t in tasks if t.status != CANCELLED]
    done = [t for t in live if t.status in DONE_STATUSES and in_period(t.done_at)]
    on_time = [t for t in done if t.deadline is None or (t.done_at and t.done_at <= t.deadline)]
    overdue = [
        t
        for t in live
        if t.deadline is not None
        and as_of > t.deadline
        and t.created_at <= as_of
        and not (t.status in DONE_STATUSES and t.done_at is not None and t.done_at <= as_of)
    ]
    return PersonMetrics(
        person_id=person.id,
        name=person.name,
        unit_id=unit.id,
        working_days=len(working),
        checkins=MappingProxyType({mode: modes.get(mode, 0) for mode in MODES}),
        late_checkins=sum(1 for c in checkins if c.late and c.mode != LEAVE),
        missed_checkin_days=tuple(d for d in working if d not in by_day),
        reports_expected=len(expected),
        reports_submitted=len(report_days),
        missing_report_days=tuple(d for d in expected if d not in report_days),
        blocker_reports=sum(1 for r in reports if r.has_blockers),
        tasks_assigned=sum(1 for t in live if in_period(t.created_at)),
        tasks_done=len(done),
        tasks_done_on_time=len(on_time),
        tasks_overdue=len(overdue),
        overdue_task_ids=tuple(sorted(t.id for t in overdue)),
    )


def _unit_days(
    unit: UnitFacts,
    period: Period,
    today: date,
    people: list[PersonFacts],
    checkins: list[CheckinFacts],
    reports: list[ReportFacts],
    tasks: list[TaskFacts],
) -> tuple[DayMetrics, ...]:
    schedule = unit.schedule
    ids = {p.id for p in people}
    capacity = capacity_of(unit.quota, len(people))
    checkins_by_day: dict[date, list[CheckinFacts]] = {}
    for c in checkins:
        if c.person_id in ids:
            checkins_by_day.setdefault(c.day, []).append(c)
    reports_by_day = Counter(r.day for r in reports if r.person_id in ids)
    done_by_day: dict[date, list[bool]] = {}
    for t in tasks:
        if t.assignee_id in ids and t.status in DONE_STATUSES and t.done_at is not None:
            on_time = t.deadline is None or t.done_at <= t.deadline
            done_by_day.setdefault(_local_date(t.done_at, schedule), []).append(on_time)
    days = []
    for day in period.dates():
        working = schedule.calendar.is_working_day(day)
        has_data = day in checkins_by_day or day in reports_by_day or day in done_by_day
        # Days to come, and days off nobody worked, carry no information.
        if day > today or (not working and not has_data):
            continue
        day_checkins = checkins_by_day.get(day, [])
        on_leave = sum(1 for c in day_checkins if c.mode == LEAVE)
        done_flags = done_by_day.get(day, [])
        days.append(
            DayMetrics(
                day=day,
                working_day=working,
                headcount=len(people),
                capacity=capacity,
                checked_in=len(day_checkins),
                at_office=sum(1 for c in day_checkins if c.mode == OFFICE),
                reports_expected=len(people) - on_leave if working else 0,
                reports_submitted=reports_by_day.get(day, 0),
                tasks_done_on_time=sum(1 for f in done_flags if f),
                tasks_done_late=sum(1 for f in done_flags if not f),
            )
        )
    return tuple(days)


def compute(facts: Facts, period: Period, now: datetime) -> Metrics:
    """Numbers for ``period`` as they stand at ``now`` (see the module docstring)."""
    checkins_of: dict[int, list[CheckinFacts]] = {}
    for c in facts.checkins:
        if period.start <= c.day <= period.end:
            checkins_of.setdefault(c.person_id, []).append(c)
    reports_of: dict[int, list[ReportFacts]] = {}
    for r in facts.reports:
        if period.start <= r.day <= period.end:
            reports_of.setdefault(r.person_id, []).append(r)
    tasks_of: dict[int, list[TaskFacts]] = {}
    for t in facts.tasks:
        tasks_of.setdefault(t.assignee_id, []).append(t)

    units = []
    for unit in facts.units:
        schedule = unit.schedule
        today = schedule.local_date(now)
        working = list(schedule.calendar.working_days(period.start, min(period.end, today)))
        as_of = min(now, period_end_instant(period, schedule))
        members = sorted(
            (p for p in facts.people if p.unit_id == unit.id), key=lambda p: sort_key(p.name)
        )
        people = tuple(
            _person_metrics(
                p,
                unit,
                period,
                working,
                as_of,
                checkins_of.get(p.id, []),
                reports_of.get(p.id, []),
                tasks_of.get(p.id, []),
            )
            for p in members
        )
        unit_checkins = [c for p in members for c in checkins_of.get(p.id, [])]
        unit_reports = [r for p in members for r in reports_of.get(p.id, [])]
        unit_tasks = [
            t
            for p in members
            for t in tasks_of.get(p.id, [])
            if t.done_at is not None
            and period.start <= _local_date(t.done_at, schedule) <= period.end
            and t.status != CANCELLED
        ]
        units.append(
            UnitMetrics(
                unit_id=unit.id,
                code=unit.code,
                name=unit.name,
                headcount=len(members),
                capacity=capacity_of(unit.quota, len(members)),
                working_days=len(working),
                people=people,
                days=_unit_days(
                    unit, period, today, members, unit_checkins, unit_reports, unit_tasks
                ),
            )
        )
    return Metrics(period=period, now=now, units=tuple(units))


# --------------------------------------------------------------------------- reading


def unit_facts(unit: Any) -> UnitFacts:
    """From a ``storage.models.Unit`` row."""
    settings = unit.settings or {}
    return UnitFacts(
        id=unit.id,
        code=unit.code,
        name=unit.name,
        parent_id=unit.parent_id,
        schedule=UnitSchedule.of(unit.timezone, unit.working_days, unit.checkin_by, settings),
        quota=quota_of(unit.office_quota, settings),
    )


async def collect(
    session: AsyncSession, unit_ids: Sequence[int], period: Period, now: datetime
) -> Metrics:
    """Read everything the numbers need for these units and compute them."""
    order = {unit_id: i for i, unit_id in enumerate(unit_ids)}
    # In the order asked for: the leader's own unit first, then its sub-units.
    units = sorted(
        (unit_facts(u) for u in await repo.units_by_ids(session, order)),
        key=lambda u: order[u.id],
    )
    people = await repo.people_in_units(session, [u.id for u in units], REPORTING_ROLES)
    person_ids = [p.id for p in people]
    zones = [u.schedule for u in units]
    # A margin of a day on each side covers every time zone; compute() filters exactly.
    earliest = min((period_start_instant(period, z) for z in zones), default=now)
    latest = max((period_end_instant(period, z) for z in zones), default=now)
    attendance = await repo.attendance_between(session, person_ids, period.start, period.end)
    reports = await repo.reports_between(session, person_ids, period.start, period.end)
    tasks = await repo.tasks_touching(
        session, person_ids, earliest - timedelta(days=1), latest + timedelta(days=1)
    )
    # A finished task should carry done_at; where it does not (an approval that cleared it),
    # the task history says when the assignee finished.
    undated = [t.id for t in tasks if t.status in DONE_STATUSES and t.done_at is None]
    done_times = await repo.done_times_from_events(session, undated)
    facts = Facts(
        units=units,
        people=[
            PersonFacts(p.id, p.full_name, p.unit_id or 0, p.role) for p in people if p.unit_id
        ],
        checkins=[CheckinFacts(a.person_id, a.day, a.mode, bool(a.late)) for a in attendance],
        reports=[ReportFacts(r.person_id, r.day, bool(r.blockers.strip())) for r in reports],
        tasks=[
            TaskFacts(
                t.id,
                t.assignee_id,
                t.status,
                t.created_at,
                t.deadline,
                t.done_at or done_times.get(t.id),
            )
            for t in tasks
        ],
    )
    return compute(facts, period, now)


__all__ = [
    "MODES",
    "CheckinFacts",
    "DayMetrics",
    "Facts",
    "Metrics",
    "PersonFacts",
    "PersonMetrics",
    "ReportFacts",
    "TaskFacts",
    "UnitFacts",
    "UnitMetrics",
    "collect",
    "compute",
]
