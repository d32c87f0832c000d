"""A unit's stored settings read into the domain's objects: calendar, quota, rotation, rules.

Pure: plain values in (the columns of ``units`` and its ``settings`` JSON), domain objects
out. The database layer hands the values over; nothing here opens a session.

Keys of ``Unit.settings`` used here (the org importer writes the same shapes):

* ``rotation``: ``{"cycle": "day"|"week", "anchor": "2020-04-13", "teams": ["A", "B"]}`` —
  team membership is each person's ``team``; ``teams`` gives the order (the first team is
  at the office on the anchor) and defaults to the team names in alphabetical order.
* ``extra_days_off`` / ``extra_working_days``: ISO dates the unit closes / works anyway.
* ``office_quota_kind``: ``"people"`` when ``office_quota`` is a head count (the float
  column cannot tell 1 person from 1.0 = everyone on its own).

Reading is lenient where writing is strict: a stored rotation whose team has emptied (people
left) still works for the others; bad dates in the settings are skipped rather than
stopping every check-in of the unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.services.attendance.calendar import HolidayBook, WorkCalendar, weekdays_from_iso
from bot.services.attendance.lateness import parse_clock_time
from bot.services.attendance.modes import Mode
from bot.services.attendance.quota import Quota
from bot.services.attendance.roster import UnitRules
from bot.services.attendance.rotation import Cycle, Rotation, Team

ROTATION_KEY = "rotation"
DAYS_OFF_KEY = "extra_days_off"
WORKING_DAYS_KEY = "extra_working_days"
QUOTA_KIND_KEY = "office_quota_kind"

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_CUTOFF = time(9, 0)


@dataclass(frozen=True, slots=True)
class UnitValues:
    """The columns of one unit that the check-in rules depend on."""

    id: str
    timezone: str = DEFAULT_TIMEZONE
    working_days: str = "12345"
    office_quota: float | None = None
    checkin_by: str = "09:00"
    settings: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RotationConfig:
    """The rotation part of the settings: order of teams, first day, cycle."""

    anchor: date
    cycle: Cycle = Cycle.DAY
    teams: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cycle": self.cycle.value, "anchor": self.anchor.isoformat()}
        if self.teams:
            out["teams"] = list(self.teams)
        return out


def _dates(values: object) -> list[date]:
    found: list[date] = []
    if not isinstance(values, list | tuple):
        return found
    for value in values:
        try:
            found.append(date.fromisoformat(str(value)))
        except ValueError:
            continue
    return found


def timezone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def cutoff_of(text: str | None) -> time:
    return (parse_clock_time(text) if text else None) or DEFAULT_CUTOFF


def quota_of(value: float | None, settings: Mapping[str, Any] | None) -> Quota | None:
    """The stored quota as the quota rules read it: an int head count or an exact share."""
    if value is None:
        return None
    kind = (settings or {}).get(QUOTA_KIND_KEY)
    if kind == "people" or (kind is None and value > 1 and float(value).is_integer()):
        return int(value)
    # 0.3333333 typed as "1/3" comes back as exactly a third.
    return Fraction(value).limit_denominator(10**6)


def calendar_of(
    working_days: str,
    settings: Mapping[str, Any] | None,
    holiday_book: HolidayBook | None = None,
) -> WorkCalendar:
    settings = settings or {}
    try:
        weekdays = weekdays_from_iso(working_days or "12345")
    except ValueError:
        weekdays = weekdays_from_iso("12345")
    off = set(_dates(settings.get(DAYS_OFF_KEY)))
    extra = set(_dates(settings.get(WORKING_DAYS_KEY)))
    # A date in both lists is a mistake the calendar refuses; the working day wins here so
    # that nobody's check-in is blocked by it (the settings command prevents it anyway).
    return WorkCalendar(weekdays, off - extra, extra, holiday_book=holiday_book)


def rotation_config(settings: Mapping[str, Any] | None) -> RotationConfig | None:
    raw = (settings or {}).get(ROTATION_KEY)
    if not isinstance(raw, Mapping):
        return None
    try:
        anchor = date.fromisoformat(str(raw.get("anchor")))
        cycle = Cycle(str(raw.get("cycle") or "day").casefold())
    except ValueError:
        return None
    teams = raw.get("teams") or ()
    names = tuple(str(t) for t in teams) if isinstance(teams, list | tuple) else ()
    return RotationConfig(anchor, cycle, names)


def rotation_of(
    config: RotationConfig | None,
    team_of: Mapping[str, str | None],
    plans: Mapping[date, Mapping[str, Mode]],
    calendar: WorkCalendar,
) -> Rotation | None:
    """The unit's rotation with each planned day's per-person overrides applied.

    ``team_of`` maps person ids to their team (people without one are not in the rotation);
    ``plans`` maps a day to the modes planned for some people on it.
    """
    if config is None and not plans:
        return None
    teams: tuple[Team, ...] = ()
    anchor = min(plans) if config is None else config.anchor
    cycle = Cycle.DAY if config is None else config.cycle
    if config is not None:
        members: dict[str, list[str]] = {}
        for person, team in team_of.items():
            if team:
                members.setdefault(team, []).append(person)
        order = list(config.teams) or sorted(members)
        # Teams named in people's records but missing from the stored order come last, so a
        # newly created team is not silently left out of the rotation.
        order += sorted(set(members) - set(order))
        teams = tuple(Team(name, tuple(members[name])) for name in order if members.get(name))
    rotation = Rotation(teams, anchor, cycle)
    for day, overrides in sorted(plans.items()):
        rotation = rotation.with_overrides(day, overrides, calendar)
    return rotation


def unit_rules(
    unit: UnitValues,
    *,
    team_of: Mapping[str, str | None] | None = None,
    plans: Mapping[date, Mapping[str, Mode]] | None = None,
    calendar: WorkCalendar | None = None,
) -> UnitRules:
    """The unit's rules; ``calendar`` when the caller has already built the unit's calendar."""
    calendar = calendar or calendar_of(unit.working_days, unit.settings)
    rotation = rotation_of(rotation_config(unit.settings), team_of or {}, plans or {}, calendar)
    return UnitRules(
        unit=unit.id,
        tz=timezone_of(unit.timezone),
        cutoff=cutoff_of(unit.checkin_by),
        quota=quota_of(unit.office_quota, unit.settings),
        calendar=calendar,
        rotation=rotation,
    )
