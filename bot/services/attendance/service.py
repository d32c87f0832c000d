"""The async layer of check-ins: load a unit's day from the database, ask the rules, store.

The rules stay in the pure modules of this package (``decide_checkin``, ``build_roster``,
``build_rotation`` …); this module only turns rows into their inputs and their answers back
into rows, under the unit lock where a decision depends on other people's check-ins.
Wording belongs to the handlers: nothing here produces user-facing text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.core.errors import Denied, InvalidInput
from bot.services import access, audit
from bot.services.access import Actor
from bot.services.attendance import roster as roster_rules
from bot.services.attendance.calendar import HolidayBook
from bot.services.attendance.checkin import CheckinDecision, CheckinStatus, decide_checkin
from bot.services.attendance.health import HealthAssessment
from bot.services.attendance.modes import Mode
from bot.services.attendance.roster import CheckIn, Roster, UnitRules, build_roster
from bot.services.attendance.rotation import (
    RotationError,
    RotationIssue,
    build_rotation,
)
from bot.services.attendance.unitconfig import (
    DAYS_OFF_KEY,
    ROTATION_KEY,
    WORKING_DAYS_KEY,
    RotationConfig,
    UnitValues,
    calendar_of,
    rotation_config,
    timezone_of,
    unit_rules,
)
from bot.services.org import directory
from storage.models import Attendance, Person, Unit
from storage.repositories import attendance as repo


def unit_values(unit: Unit) -> UnitValues:
    return UnitValues(
        id=str(unit.id),
        timezone=unit.timezone,
        working_days=unit.working_days,
        office_quota=unit.office_quota,
        checkin_by=unit.checkin_by,
        settings=dict(unit.settings or {}),
    )


def local_day(unit: Unit, now: datetime) -> date:
    """The unit's calendar date at ``now`` (its own time zone, not the server's)."""
    return now.astimezone(timezone_of(unit.timezone)).date()


def domain_person(person: Person) -> roster_rules.Person:
    return roster_rules.Person(
        id=str(person.id),
        name=person.full_name,
        role=person.role,
        team=person.team,
        on_duty=person.on_duty,
        unit=str(person.unit_id),
    )


def domain_checkin(row: Attendance) -> CheckIn:
    # One row per person per day: the first check-in's time and lateness, the current mode.
    return CheckIn(
        person_id=str(row.person_id),
        mode=Mode(row.mode),
        at=row.checked_in_at,
        late=row.late,
        day=row.day,
        by_exception=row.by_exception,
    )


@dataclass(frozen=True)
class UnitDay:
    """Everything the rules need about one unit on one day, read in one go."""

    unit: Unit
    day: date
    rules: UnitRules
    people: tuple[Person, ...]
    rows: Mapping[int, Attendance]
    # Per-person plans of this day and the next working day: day → person id → mode.
    plans: Mapping[date, Mapping[int, Mode]]

    @property
    def domain_people(self) -> list[roster_rules.Person]:
        return [domain_person(p) for p in self.people]

    @property
    def checkins(self) -> list[CheckIn]:
        return [domain_checkin(row) for row in self.rows.values()]

    @property
    def names(self) -> dict[str, str]:
        return {str(p.id): p.full_name for p in self.people}

    def capacity(self) -> int:
        return self.rules.capacity(len(self.people))

    def expected(self, person_id: int, day: date | None = None) -> Mode | None:
        """What the leader's plan, or else the rotation, expects of the person on ``day``."""
        target = day or self.day
        planned = self.plans.get(target, {}).get(person_id)
        if planned is not None:
            return planned
        if self.rules.rotation is None:
            return None
        return self.rules.rotation.expected_mode(str(person_id), target, self.rules.calendar)

    def team_at_office(self, day: date | None = None) -> str | None:
        if self.rules.rotation is None:
            return None
        team = self.rules.rotation.team_on(day or self.day, self.rules.calendar)
        return team.name if team else None


async def load_unit_day(
    session: AsyncSession, unit: Unit, day: date, holiday_book: HolidayBook | None = None
) -> UnitDay:
    """The unit's day; ``holiday_book`` is the application's (holidays built once)."""
    people = await repo.unit_people(session, unit.id)
    rows = await repo.rows_of_day(session, unit.id, day)
    values = unit_values(unit)
    calendar = calendar_of(values.working_days, values.settings, holiday_book)
    following = calendar.next_working_day(day)
    plan_rows = await repo.plans_for(session, unit.id, (day, following))
    member_ids = {p.id for p in people}
    plans: dict[date, dict[int, Mode]] = {}
    for plan in plan_rows:
        if plan.person_id in member_ids:
            try:
                plans.setdefault(plan.day, {})[plan.person_id] = Mode(plan.mode)
            except ValueError:
                continue
    rules = unit_rules(
        values,
        team_of={str(p.id): p.team for p in people},
        plans={d: {str(pid): m for pid, m in ps.items()} for d, ps in plans.items()},
        calendar=calendar,
    )
    return UnitDay(
        unit=unit,
        day=day,
        rules=rules,
        people=tuple(people),
        rows={row.person_id: row for row in rows if row.person_id in member_ids},
        plans=plans,
    )


async def person_and_unit(session: AsyncSession, person_id: int | None) -> tuple[Person, Unit]:
    # The unit in the same statement (a join): the get() below then finds it in the session.
    person = (
        await session.get(Person, person_id, options=[joinedload(Person.unit)])
        if person_id is not None
        else None
    )
    if person is None or person.unit_id is None:
        raise InvalidInput("checkin.no_unit")
    unit = await session.get(Unit, person.unit_id)
    if unit is None:
        raise InvalidInput("checkin.no_unit")
    return person, unit


@dataclass(frozen=True)
class CheckinOutcome:
    decision: CheckinDecision
    person: Person
    unit: Unit
    day: date
    row: Attendance | None
    headcount: int
    capacity: int
    at_office: int
    # The unit's day the decision was made on (read under the lock, before the write): the
    # reply renders from it instead of reading the day again.
    unit_day: UnitDay
    # Set when the request carried a health declaration that was stored.
    health_saved: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> CheckinStatus:
        return self.decision.status


async def check_in(
    session: AsyncSession,
    *,
    person_id: int | None,
    mode: Mode,
    now: datetime,
    day: date | None = None,
    confirmed_non_working: bool = False,
    health: HealthAssessment | None = None,
    exception_by: int | None = None,
    holiday_book: HolidayBook | None = None,
) -> CheckinOutcome:
    """Decide and store one check-in of ``person_id``, race-safe against the unit's others.

    The unit row is locked first and everything is read after it, so two people asking for
    the last office place at the same moment are decided one after the other.
    """
    person, unit = await person_and_unit(session, person_id)
    await repo.lock_unit(session, unit.id)
    return await _check_in_locked(
        session,
        person=person,
        unit=unit,
        mode=mode,
        now=now,
        day=day or local_day(unit, now),
        confirmed_non_working=confirmed_non_working,
        health=health,
        exception_by=exception_by,
        holiday_book=holiday_book,
    )


async def _check_in_locked(
    session: AsyncSession,
    *,
    person: Person,
    unit: Unit,
    mode: Mode,
    now: datetime,
    day: date,
    confirmed_non_working: bool,
    health: HealthAssessment | None,
    exception_by: int | None,
    holiday_book: HolidayBook | None,
) -> CheckinOutcome:
    state = await load_unit_day(session, unit, day, holiday_book)
    if exception_by is None and mode is Mode.OFFICE:
        # A leader's earlier exception for the day still holds if the person comes back
        # to Office after switching away. Only the office has a quota to be let past, so
        # other modes do not look it up (decide_checkin reads it for the office only).
        granted = await repo.exception_for(session, person.id, day)
        if granted is not None:
            exception_by = granted.granted_by or 0
    decision = decide_checkin(
        domain_person(person),
        mode,
        now,
        day,
        state.domain_people,
        state.checkins,
        state.rules,
        confirmed_non_working=confirmed_non_working,
        exception_by=None if exception_by is None else str(exception_by),
        health=health,
        health_required=bool(unit.health_declaration),
    )
    row = state.rows.get(person.id)
    health_saved = False
    details: dict[str, Any] = {}
    if decision.status is CheckinStatus.RECORDED and decision.record is not None:
        record = decision.record
        details = {"requested": mode.value}
        if record.late:
            details["late"] = True
        if record.by_exception:
            details["exception_by"] = exception_by
        if decision.non_working_reason or not state.rules.calendar.is_working_day(day):
            details["non_working"] = state.rules.calendar.reason(day)
        if health is not None:
            details["temperature"] = health.temperature
            details["symptoms"] = [s.value for s in health.symptoms]
        row = await repo.save_mode(
            session,
            person_id=person.id,
            unit_id=unit.id,
            day=day,
            mode=record.mode.value,
            at=now,
            late=bool(record.late),
            by_exception=record.by_exception,
            non_working_day=not state.rules.calendar.is_working_day(day),
            temperature=health.temperature if health else None,
            symptoms=[s.value for s in health.symptoms] if health else None,
            details=details,
        )
        health_saved = health is not None
    elif (
        decision.status is CheckinStatus.UNCHANGED
        and health is not None
        and row is not None
        and (row.temperature, row.symptoms)
        != (health.temperature, [s.value for s in health.symptoms])
    ):
        # Already at home and told to stay there: the row stays, the declaration is kept
        # with it (unless it is the same one again: a second press of the same button).
        await repo.save_health(
            session,
            row,
            temperature=health.temperature,
            symptoms=[s.value for s in health.symptoms],
            at=now,
        )
        health_saved = True
    at_office = sum(
        1 for pid, r in state.rows.items() if r.mode == Mode.OFFICE.value and pid != person.id
    ) + (1 if row is not None and row.mode == Mode.OFFICE.value else 0)
    return CheckinOutcome(
        decision=decision,
        person=person,
        unit=unit,
        day=day,
        row=row,
        headcount=len(state.people),
        capacity=state.capacity(),
        at_office=at_office,
        unit_day=state,
        health_saved=health_saved,
        details=details,
    )


async def may_decide_for(session: AsyncSession, actor: Actor, unit_id: int) -> bool:
    """Leaders (and deputies) of the unit or of a unit above it; admins anywhere."""
    return access.can_see_unit(actor, unit_id, await directory.ancestors(session, unit_id))


@dataclass(frozen=True)
class GrantOutcome:
    created: bool
    checkin: CheckinOutcome


async def grant_exception(
    session: AsyncSession,
    *,
    leader: Actor,
    person_id: int,
    day: date,
    now: datetime,
    health: HealthAssessment | None,
    holiday_book: HolidayBook | None = None,
) -> GrantOutcome:
    """A leader lets ``person_id`` into the office over the quota on ``day``; audited.

    Pressing the button again (or a second leader pressing theirs) finds the exception
    already there and records nothing twice.
    """
    person, unit = await person_and_unit(session, person_id)
    if not await may_decide_for(session, leader, unit.id):
        raise Denied("checkin.exception.not_yours")
    await repo.lock_unit(session, unit.id)
    exception, created = await repo.grant_exception(
        session,
        person_id=person.id,
        unit_id=unit.id,
        day=day,
        granted_by=leader.person_id,
        at=now,
    )
    if created:
        await audit.record(
            session,
            at=now,
            actor=leader,
            action="attendance.exception.grant",
            entity="person",
            entity_id=person.id,
            after={"day": day.isoformat(), "unit_id": unit.id},
        )
    outcome = await _check_in_locked(
        session,
        person=person,
        unit=unit,
        mode=Mode.OFFICE,
        now=now,
        day=day,
        # The person asked for the office on that day; the leader's grant is the decision.
        confirmed_non_working=True,
        health=health,
        exception_by=exception.granted_by or 0,
        holiday_book=holiday_book,
    )
    return GrantOutcome(created, outcome)


async def deny_exception(
    session: AsyncSession, *, leader: Actor, person_id: int, day: date, now: datetime
) -> Person:
    person, unit = await person_and_unit(session, person_id)
    if not await may_decide_for(session, leader, unit.id):
        raise Denied("checkin.exception.not_yours")
    await audit.record(
        session,
        at=now,
        actor=leader,
        action="attendance.exception.deny",
        entity="person",
        entity_id=person.id,
        after={"day": day.isoformat(), "unit_id": unit.id},
    )
    return person


async def check_out(
    session: AsyncSession, *, person_id: int | None, now: datetime
) -> tuple[Attendance | None, bool]:
    """(today's row, whether this call marked the end); (None, False) without a check-in."""
    _, unit = await person_and_unit(session, person_id)
    assert person_id is not None
    row = await repo.row_of(session, person_id, local_day(unit, now))
    if row is None:
        return None, False
    return row, await repo.check_out(session, row, now)


@dataclass(frozen=True)
class RosterView:
    roster: Roster
    unit: Unit
    names: Mapping[str, str]
    on_duty: frozenset[str]
    checkin_by: str


async def roster_of(
    session: AsyncSession, unit: Unit, day: date, holiday_book: HolidayBook | None = None
) -> RosterView:
    state = await load_unit_day(session, unit, day, holiday_book)
    roster = build_roster(day, state.domain_people, state.checkins, state.rules)
    return RosterView(
        roster=roster,
        unit=unit,
        names=state.names,
        on_duty=frozenset(str(p.id) for p in state.people if p.on_duty),
        checkin_by=unit.checkin_by,
    )


@dataclass(frozen=True)
class RotationChange:
    config: RotationConfig
    warnings: tuple[RotationIssue, ...]
    teams: tuple[tuple[str, tuple[int, ...]], ...]


async def _save_unit_settings(
    session: AsyncSession,
    *,
    actor: Actor,
    unit: Unit,
    settings: dict[str, Any],
    now: datetime,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any] | None = None,
) -> None:
    """Store the unit's new settings and audit the change against the unit.

    ``settings`` is a new dict: a JSON column does not notice a change made in place.
    """
    unit.settings = settings
    await session.flush()
    await audit.record(
        session,
        at=now,
        actor=actor,
        action=action,
        entity="unit",
        entity_id=unit.id,
        before=before,
        after=after,
    )


async def set_rotation(
    session: AsyncSession,
    *,
    actor: Actor,
    unit: Unit,
    config: RotationConfig,
    teams: Sequence[tuple[str, Sequence[int]]] | None,
    now: datetime,
) -> RotationChange:
    """Store the unit's rotation; with ``teams`` also each person's team (others: none).

    Without ``teams`` the people's current ``team`` values make the teams. Blocking problems
    raise :class:`RotationError` before anything is written; audited with before and after.
    """
    people = await repo.unit_people(session, unit.id)
    by_id = {p.id: p for p in people}
    if teams is None:
        grouped: dict[str, list[int]] = {}
        for person in people:
            if person.team:
                grouped.setdefault(person.team, []).append(person.id)
        order = list(config.teams) or sorted(grouped)
        order += sorted(set(grouped) - set(order))
        teams = [(name, grouped.get(name, [])) for name in order]
    state = await load_unit_day(session, unit, config.anchor)
    _, warnings = build_rotation(
        [(name, [str(pid) for pid in members]) for name, members in teams],
        config.anchor,
        config.cycle.value,
        known_people=[str(pid) for pid in by_id],
        capacity=state.capacity(),
    )
    before = {
        "rotation": (unit.settings or {}).get(ROTATION_KEY),
        "teams": {str(p.id): p.team for p in people if p.team},
    }
    stored = RotationConfig(config.anchor, config.cycle, tuple(name for name, _ in teams))
    team_of = {pid: name for name, members in teams for pid in members}
    for person in people:
        person.team = team_of.get(person.id)
    settings = dict(unit.settings or {})
    settings[ROTATION_KEY] = stored.to_json()
    await _save_unit_settings(
        session,
        actor=actor,
        unit=unit,
        settings=settings,
        now=now,
        action="attendance.rotation.set",
        before=before,
        after={"rotation": stored.to_json(), "teams": {str(k): v for k, v in team_of.items()}},
    )
    return RotationChange(
        stored, tuple(warnings), tuple((name, tuple(members)) for name, members in teams)
    )


async def clear_rotation(session: AsyncSession, *, actor: Actor, unit: Unit, now: datetime) -> bool:
    settings = dict(unit.settings or {})
    before = settings.pop(ROTATION_KEY, None)
    if before is None:
        return False
    await _save_unit_settings(
        session,
        actor=actor,
        unit=unit,
        settings=settings,
        now=now,
        action="attendance.rotation.clear",
        before={"rotation": before},
    )
    return True


@dataclass(frozen=True)
class CalendarDays:
    """The unit's own days off and make-up working days, from some day on."""

    days_off: tuple[date, ...]
    working_days: tuple[date, ...]


def calendar_days(unit: Unit, since: date) -> CalendarDays:
    settings = unit.settings or {}

    def listed(key: str) -> tuple[date, ...]:
        found: set[date] = set()
        for value in settings.get(key) or ():
            try:
                day = date.fromisoformat(str(value))
            except ValueError:
                continue
            if day >= since:
                found.add(day)
        return tuple(sorted(found))

    return CalendarDays(listed(DAYS_OFF_KEY), listed(WORKING_DAYS_KEY))


async def set_calendar_days(
    session: AsyncSession,
    *,
    actor: Actor,
    unit: Unit,
    working: bool,
    days: Sequence[date],
    remove: bool,
    now: datetime,
) -> None:
    """Add (or remove) the unit's own days off (``working=False``) or working days.

    A day added to one list leaves the other: a date cannot be both, and the last word of
    the leader is the one that counts.
    """
    key, other = (WORKING_DAYS_KEY, DAYS_OFF_KEY) if working else (DAYS_OFF_KEY, WORKING_DAYS_KEY)
    settings = dict(unit.settings or {})
    before = {key: list(settings.get(key) or []), other: list(settings.get(other) or [])}
    chosen = {d.isoformat() for d in days}
    mine = {str(v) for v in settings.get(key) or []}
    theirs = {str(v) for v in settings.get(other) or []}
    if remove:
        mine -= chosen
    else:
        mine |= chosen
        theirs -= chosen
    settings[key], settings[other] = sorted(mine), sorted(theirs)
    await _save_unit_settings(
        session,
        actor=actor,
        unit=unit,
        settings=settings,
        now=now,
        action="attendance.calendar.set",
        before=before,
        after={key: settings[key], other: settings[other]},
    )


async def set_day_plan(
    session: AsyncSession,
    *,
    actor: Actor,
    unit: Unit,
    day: date,
    mode: Mode | None,
    person_ids: Sequence[int],
    now: datetime,
) -> int:
    """Plan ``mode`` for these people on ``day``; ``mode=None`` removes their plans (or all
    of the day's when no one is named). Returns how many people it touched."""
    members = {p.id for p in await repo.unit_people(session, unit.id)}
    strangers = [pid for pid in person_ids if pid not in members]
    if strangers:
        raise InvalidInput("rotation.not_in_unit")
    if mode is None:
        touched = await repo.clear_plans(
            session, unit_id=unit.id, day=day, person_ids=person_ids or None
        )
    else:
        for pid in person_ids:
            await repo.set_plan(session, unit_id=unit.id, person_id=pid, day=day, mode=mode.value)
        touched = len(person_ids)
    await audit.record(
        session,
        at=now,
        actor=actor,
        action="attendance.plan.set" if mode else "attendance.plan.clear",
        entity="unit",
        entity_id=unit.id,
        after={
            "day": day.isoformat(),
            "mode": mode.value if mode else None,
            "people": list(person_ids),
        },
    )
    return touched


def current_rotation(unit: Unit) -> RotationConfig | None:
    return rotation_config(unit.settings)


__all__ = [
    "CalendarDays",
    "CheckinOutcome",
    "GrantOutcome",
    "RosterView",
    "RotationChange",
    "RotationError",
    "UnitDay",
    "calendar_days",
    "check_in",
    "check_out",
    "clear_rotation",
    "current_rotation",
    "deny_exception",
    "grant_exception",
    "load_unit_day",
    "local_day",
    "person_and_unit",
    "roster_of",
    "set_calendar_days",
    "set_day_plan",
    "set_rotation",
]
