"""Who is expected at the office: an A/B (or N-team) rotation plus per-day plans.

Decisions:

* **Turns are counted over working days only.** With ``cycle=day`` the team at the office
  changes on every *working* day; weekends, public holidays and the unit's days off do not
  consume a turn. Example (A on Wed 29/4/2020): Thu 30/4 and Fri 1/5 are holidays, so Mon
  4/5 is B's. Counting calendar days instead would make the team whose turn fell on a
  holiday lose it, and the teams would drift apart in office days over a month with
  holidays.
* With ``cycle=week`` the team changes every calendar week (Monday to Sunday) that has at
  least one working day; a week with none (Tết) does not consume a turn either.
* The **anchor** is the first day the rotation applies: the first working day on or after
  it (``day``) or the first week with a working day on or after it (``week``) belongs to
  the first team. Before the anchor the rotation expects nothing.
* A **per-day plan** (a date → the people at the office) overrides the rotation for that
  date: the planned people are expected at the office, every other member at home. A plan
  on a non-working day (a duty over a holiday) expects the planned people at the office
  and nobody else anything.
* Expectations exist only for people in a team or in a plan; everybody else gets None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType

from bot.services.attendance.calendar import WorkCalendar
from bot.services.attendance.modes import Mode


class Cycle(StrEnum):
    DAY = "day"
    WEEK = "week"


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    members: tuple[str, ...]


def _frozen_plan(plan: Mapping[date, Iterable[str]]) -> Mapping[date, frozenset[str]]:
    return MappingProxyType({day: frozenset(people) for day, people in plan.items()})


@dataclass(frozen=True)
class Rotation:
    """A validated-or-not rotation spec; :func:`validate_rotation` says what is wrong with it.

    Every method that depends on working days takes the unit's :class:`WorkCalendar`, so a
    rotation can be stored and compared without one.
    """

    teams: tuple[Team, ...]
    anchor: date
    cycle: Cycle = Cycle.DAY
    # Read-only mapping; excluded from the hash because mappings are not hashable.
    plan: Mapping[date, frozenset[str]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "teams", tuple(self.teams))
        object.__setattr__(self, "cycle", Cycle(self.cycle))
        object.__setattr__(self, "plan", _frozen_plan(self.plan))

    @property
    def members(self) -> frozenset[str]:
        return frozenset(person for team in self.teams for person in team.members)

    def team_of(self, person_id: str) -> Team | None:
        for team in self.teams:
            if person_id in team.members:
                return team
        return None

    def with_plan(self, day: date, people: Iterable[str]) -> Rotation:
        """A copy with ``people`` planned at the office on ``day`` (replacing any plan)."""
        plan = dict(self.plan)
        plan[day] = frozenset(people)
        return Rotation(self.teams, self.anchor, self.cycle, plan)

    def with_overrides(
        self, day: date, overrides: Mapping[str, Mode], calendar: WorkCalendar
    ) -> Rotation:
        """A copy where the listed people's expected mode on ``day`` is changed, the rest kept.

        For per-person plan rows ("An comes in on Thursday"): the day's plan becomes whoever
        was expected at the office, minus those overridden to another mode, plus those
        overridden to Office.
        """
        office = {person for person, mode in overrides.items() if mode is Mode.OFFICE}
        away = set(overrides) - office
        return self.with_plan(day, (self.at_office(day, calendar) - away) | office)

    def without_plan(self, day: date) -> Rotation:
        plan = {d: p for d, p in self.plan.items() if d != day}
        return Rotation(self.teams, self.anchor, self.cycle, plan)

    def turn_index(self, day: date, calendar: WorkCalendar) -> int | None:
        """How many turns have passed since the anchor; None before it or on a day off."""
        if day < self.anchor or not calendar.is_working_day(day):
            return None
        if self.cycle is Cycle.DAY:
            return calendar.working_days_between(self.anchor, day)
        return self._working_weeks_before(day, calendar)

    def _working_weeks_before(self, day: date, calendar: WorkCalendar) -> int:
        week = self.anchor - timedelta(days=self.anchor.weekday())
        target_week = day - timedelta(days=day.weekday())
        turns = 0
        while week < target_week:
            # In the anchor's own week only the days from the anchor on can be a turn.
            first = max(week, self.anchor)
            last = week + timedelta(days=6)
            if next(calendar.working_days(first, last), None) is not None:
                turns += 1
            week += timedelta(days=7)
        return turns

    def team_on(self, day: date, calendar: WorkCalendar) -> Team | None:
        """The team whose turn it is on ``day`` by the rotation alone (plans ignored)."""
        index = self.turn_index(day, calendar)
        if index is None or not self.teams:
            return None
        return self.teams[index % len(self.teams)]

    def at_office(self, day: date, calendar: WorkCalendar) -> frozenset[str]:
        """Everyone expected at the office on ``day``: the plan if there is one, else the team."""
        if day in self.plan:
            return self.plan[day]
        team = self.team_on(day, calendar)
        return frozenset(team.members) if team else frozenset()

    def expected_mode(self, person_id: str, day: date, calendar: WorkCalendar) -> Mode | None:
        """OFFICE or HOME for a person in the rotation or the day's plan; None otherwise.

        None also on a non-working day without a plan and before the anchor.
        """
        return self.forecast(day, calendar).get(person_id)

    def forecast(self, day: date, calendar: WorkCalendar) -> dict[str, Mode]:
        """Expected mode of everyone the rotation or the day's plan covers on ``day``."""
        if day in self.plan:
            planned = self.plan[day]
            expected = {person: Mode.OFFICE for person in planned}
            if calendar.is_working_day(day):
                for person in self.members - planned:
                    expected[person] = Mode.HOME
            return expected
        team = self.team_on(day, calendar)
        if team is None:
            return {}
        return {
            person: Mode.OFFICE if person in team.members else Mode.HOME for person in self.members
        }


class RotationIssueCode(StrEnum):
    NO_TEAMS = "no_teams"
    BLANK_TEAM_NAME = "blank_team_name"
    DUPLICATE_TEAM = "duplicate_team"
    EMPTY_TEAM = "empty_team"
    UNKNOWN_MEMBER = "unknown_member"
    MEMBER_IN_TWO_TEAMS = "member_in_two_teams"
    UNKNOWN_CYCLE = "unknown_cycle"
    PLAN_UNKNOWN_MEMBER = "plan_unknown_member"
    # Warnings: the rotation works, but following it breaks the quota on some days.
    TEAM_OVER_CAPACITY = "team_over_capacity"
    PLAN_OVER_CAPACITY = "plan_over_capacity"


_WARNINGS = frozenset({RotationIssueCode.TEAM_OVER_CAPACITY, RotationIssueCode.PLAN_OVER_CAPACITY})


@dataclass(frozen=True, slots=True)
class RotationIssue:
    """One problem: ``subject`` names the team, person, cycle or date (ISO) it is about."""

    code: RotationIssueCode
    subject: str
    detail: str = ""

    @property
    def blocking(self) -> bool:
        return self.code not in _WARNINGS


class RotationError(ValueError):
    def __init__(self, issues: Iterable[RotationIssue]) -> None:
        self.issues: tuple[RotationIssue, ...] = tuple(issues)
        summary = ", ".join(f"{i.code}:{i.subject}" for i in self.issues)
        super().__init__(f"invalid rotation: {summary}")


def validate_rotation(
    rotation: Rotation, known_people: Iterable[str], capacity: int | None = None
) -> list[RotationIssue]:
    """Every problem with ``rotation`` for a unit whose people are ``known_people``.

    With ``capacity`` (places at the office) it also warns about teams and plans bigger
    than the quota. An empty list means the rotation is good.
    """
    known = frozenset(known_people)
    issues: list[RotationIssue] = []
    if not rotation.teams:
        issues.append(RotationIssue(RotationIssueCode.NO_TEAMS, ""))
    seen_teams: set[str] = set()
    team_of: dict[str, str] = {}
    for team in rotation.teams:
        if not team.name.strip():
            issues.append(RotationIssue(RotationIssueCode.BLANK_TEAM_NAME, team.name))
        if team.name in seen_teams:
            issues.append(RotationIssue(RotationIssueCode.DUPLICATE_TEAM, team.name))
        seen_teams.add(team.name)
        if not team.members:
            issues.append(RotationIssue(RotationIssueCode.EMPTY_TEAM, team.name))
        for person in team.members:
            if person not in known:
                issues.append(RotationIssue(RotationIssueCode.UNKNOWN_MEMBER, person, team.name))
            other = team_of.setdefault(person, team.name)
            if other != team.name:
                issues.append(
                    RotationIssue(
                        RotationIssueCode.MEMBER_IN_TWO_TEAMS, person, f"{other},{team.name}"
                    )
                )
        if capacity is not None and len(set(team.members)) > capacity:
            issues.append(
                RotationIssue(
                    RotationIssueCode.TEAM_OVER_CAPACITY,
                    team.name,
                    f"{len(set(team.members))}>{capacity}",
                )
            )
    for day, people in sorted(rotation.plan.items()):
        for person in sorted(people - known):
            issues.append(
                RotationIssue(RotationIssueCode.PLAN_UNKNOWN_MEMBER, person, day.isoformat())
            )
        if capacity is not None and len(people) > capacity:
            issues.append(
                RotationIssue(
                    RotationIssueCode.PLAN_OVER_CAPACITY,
                    day.isoformat(),
                    f"{len(people)}>{capacity}",
                )
            )
    return issues


def build_rotation(
    teams: Mapping[str, Iterable[str]] | Iterable[tuple[str, Iterable[str]]],
    anchor: date,
    cycle: str = "day",
    plan: Mapping[date, Iterable[str]] | None = None,
    *,
    known_people: Iterable[str],
    capacity: int | None = None,
) -> tuple[Rotation, list[RotationIssue]]:
    """Build a rotation from raw input (a command or the org import) and check it.

    Teams keep the order given: the first is at the office on the anchor. Returns the
    rotation with its non-blocking warnings; raises :class:`RotationError` with every
    blocking issue at once, so the leader can fix them in one go.
    """
    pairs = list(teams.items()) if isinstance(teams, Mapping) else list(teams)
    built = tuple(Team(name, tuple(members)) for name, members in pairs)
    try:
        parsed_cycle = Cycle(cycle.strip().casefold())
    except ValueError:
        raise RotationError([RotationIssue(RotationIssueCode.UNKNOWN_CYCLE, cycle)]) from None
    rotation = Rotation(built, anchor, parsed_cycle, plan or {})
    issues = validate_rotation(rotation, known_people, capacity)
    blocking = [issue for issue in issues if issue.blocking]
    if blocking:
        raise RotationError(blocking)
    return rotation, issues
