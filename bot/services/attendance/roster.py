"""A unit's day at a glance for its leader: counts against the quota, missing, late, on leave.

Pure: people, check-ins and the unit's rules in, frozen dataclasses out; wording and layout
belong to the handlers.

Decisions:

* A person may check in several times a day (changing their mind keeps the history). Their
  **current mode** is the latest check-in; whether they were **late** is judged on the
  **first** one — switching from Home to Office at 10:00 after checking in at 08:00 is not
  lateness.
* People on leave are never listed as late.
* On a non-working day nobody is missing or late; check-ins made anyway (confirmed by the
  person) are still counted.
* "Tomorrow" in the forecast is the next working day (Friday → Monday, 29/4/2020 → 4/5/2020).
* Headcount for the quota is everyone in the unit, including people on leave: the directives
  count "tổng số cán bộ, công chức, viên chức", not those present. A unit with no quota set
  (None) has every place open.
* A check-in's recorded ``late`` flag wins over recomputing it from the time, so changing
  the cut-off later does not rewrite history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from types import MappingProxyType

from bot.services.attendance.calendar import WorkCalendar
from bot.services.attendance.lateness import cutoff_instant, is_late
from bot.services.attendance.modes import Mode
from bot.services.attendance.quota import OfficeQuota, Quota, office_capacity
from bot.services.attendance.rotation import Rotation

# Same strings as storage.models.org.Role, kept as plain strings so this package does not
# import the database layer.
LEADER_ROLES: frozenset[str] = frozenset({"leader", "deputy"})


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    role: str = "staff"
    team: str | None = None
    on_duty: bool = False
    unit: str = ""

    @property
    def is_leader(self) -> bool:
        return self.role in LEADER_ROLES


@dataclass(frozen=True, slots=True)
class CheckIn:
    """One check-in record. ``at`` is aware; ``day`` defaults to its local date in the unit.

    Either the full history of the day or one record per person works: with a single
    record, pass the first check-in time as ``at``, the current mode and the stored ``late``
    flag (the shape of the ``attendance`` table).
    """

    person_id: str
    mode: Mode
    at: datetime
    late: bool | None = None
    day: date | None = None
    by_exception: bool = False

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("CheckIn.at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class UnitRules:
    """The settings of one unit that the roster needs."""

    unit: str
    tz: tzinfo
    cutoff: time
    quota: Quota | None
    calendar: WorkCalendar
    rotation: Rotation | None = None

    def capacity(self, headcount: int) -> int:
        if self.quota is None:
            return headcount
        return office_capacity(self.quota, headcount)


@dataclass(frozen=True)
class Forecast:
    """Expected modes on ``day`` (the next working day) from the rotation and plans."""

    day: date
    expected: Mapping[str, Mode]
    office: tuple[str, ...]
    capacity: int

    @property
    def over_capacity(self) -> bool:
        return len(self.office) > self.capacity


@dataclass(frozen=True)
class Roster:
    unit: str
    day: date
    working_day: bool
    non_working_reason: str | None
    headcount: int
    capacity: int
    # Every mode is a key (zeros included) so renderers need no defaults.
    counts: Mapping[Mode, int]
    people_by_mode: Mapping[Mode, tuple[str, ...]]
    not_checked_in: tuple[str, ...]
    late: tuple[str, ...]
    on_leave: tuple[str, ...]
    by_exception: tuple[str, ...]
    # Office on a day the rotation expected them at home (allowed within the quota).
    office_off_rotation: tuple[str, ...]
    # Check-ins from ids that are not people of this unit; ignored in every figure.
    strangers: tuple[str, ...]
    forecast: Forecast | None = field(default=None)

    @property
    def at_office(self) -> int:
        return self.counts[Mode.OFFICE]

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.at_office)

    @property
    def over_capacity(self) -> bool:
        return self.at_office > self.capacity


def checkin_day(checkin: CheckIn, tz: tzinfo) -> date:
    return checkin.day if checkin.day is not None else checkin.at.astimezone(tz).date()


def _by_person(checkins: Iterable[CheckIn], day: date, tz: tzinfo) -> dict[str, list[CheckIn]]:
    grouped: dict[str, list[CheckIn]] = {}
    for checkin in checkins:
        if checkin_day(checkin, tz) == day:
            grouped.setdefault(checkin.person_id, []).append(checkin)
    for history in grouped.values():
        # Stable sort: equal times keep their input (insertion) order.
        history.sort(key=lambda c: c.at)
    return grouped


def current_modes(checkins: Iterable[CheckIn], day: date, tz: tzinfo) -> dict[str, Mode]:
    """Each person's latest mode on ``day``."""
    return {person: history[-1].mode for person, history in _by_person(checkins, day, tz).items()}


def _was_late(first: CheckIn, day: date, rules: UnitRules) -> bool:
    if first.late is not None:
        return first.late
    return is_late(first.at, rules.cutoff, rules.tz, day)


def _unit_people(people: Iterable[Person], unit: str) -> list[Person]:
    return [p for p in people if p.unit == unit]


def build_forecast(day: date, people: Iterable[Person], rules: UnitRules) -> Forecast:
    """Expected modes on the first working day after ``day``."""
    members = _unit_people(people, rules.unit)
    ids = [p.id for p in members]
    target = rules.calendar.next_working_day(day)
    expected: dict[str, Mode] = {}
    if rules.rotation is not None:
        planned = rules.rotation.forecast(target, rules.calendar)
        expected = {pid: planned[pid] for pid in ids if pid in planned}
    office = tuple(pid for pid in ids if expected.get(pid) is Mode.OFFICE)
    return Forecast(
        day=target,
        expected=MappingProxyType(expected),
        office=office,
        capacity=rules.capacity(len(members)),
    )


def build_roster(
    day: date,
    people: Iterable[Person],
    checkins: Iterable[CheckIn],
    rules: UnitRules,
    *,
    with_forecast: bool = True,
) -> Roster:
    """The roster of ``rules.unit`` on ``day``. Lists of people keep the order of ``people``."""
    members = _unit_people(people, rules.unit)
    member_ids = {p.id for p in members}
    histories = _by_person(checkins, day, rules.tz)
    working = rules.calendar.is_working_day(day)

    current = {pid: history[-1] for pid, history in histories.items() if pid in member_ids}
    by_mode: dict[Mode, list[str]] = {mode: [] for mode in Mode}
    for person in members:
        if person.id in current:
            by_mode[current[person.id].mode].append(person.id)

    not_checked_in: list[str] = []
    late: list[str] = []
    if working:
        for person in members:
            history = histories.get(person.id)
            if history is None:
                not_checked_in.append(person.id)
            elif current[person.id].mode is not Mode.LEAVE and _was_late(history[0], day, rules):
                late.append(person.id)

    expected = rules.rotation.forecast(day, rules.calendar) if rules.rotation else {}
    off_rotation = tuple(pid for pid in by_mode[Mode.OFFICE] if expected.get(pid) is Mode.HOME)
    by_exception = tuple(
        pid for pid in by_mode[Mode.OFFICE] if any(c.by_exception for c in histories[pid])
    )

    return Roster(
        unit=rules.unit,
        day=day,
        working_day=working,
        non_working_reason=rules.calendar.reason(day),
        headcount=len(members),
        capacity=rules.capacity(len(members)),
        counts=MappingProxyType({mode: len(ids) for mode, ids in by_mode.items()}),
        people_by_mode=MappingProxyType({mode: tuple(ids) for mode, ids in by_mode.items()}),
        not_checked_in=tuple(not_checked_in),
        late=tuple(late),
        on_leave=tuple(by_mode[Mode.LEAVE]),
        by_exception=by_exception,
        office_off_rotation=off_rotation,
        strangers=tuple(sorted(set(histories) - member_ids)),
        forecast=build_forecast(day, members, rules) if with_forecast else None,
    )


def build_office_quota(
    day: date,
    people: Iterable[Person],
    checkins: Iterable[CheckIn],
    rules: UnitRules,
    now: datetime,
) -> OfficeQuota:
    """The office places of ``day`` as they stand at ``now``, for deciding an Office request.

    Places are held for people expected at the office — on duty, or planned / on the
    rotation team for the day — until they check in (Office takes the place, anything else
    frees it) or until the day's cut-off passes, after which holds lapse and latecomers
    compete like everyone else.
    """
    members = _unit_people(people, rules.unit)
    member_ids = {p.id for p in members}
    modes = current_modes(checkins, day, rules.tz)
    at_office = {pid for pid, mode in modes.items() if mode is Mode.OFFICE and pid in member_ids}
    held: set[str] = set()
    if now <= cutoff_instant(day, rules.cutoff, rules.tz):
        held = {p.id for p in members if p.on_duty}
        if rules.rotation is not None:
            held |= rules.rotation.at_office(day, rules.calendar) & member_ids
        held -= set(modes)
    return OfficeQuota(
        capacity=rules.capacity(len(members)),
        at_office=frozenset(at_office),
        reserved=frozenset(held),
    )
