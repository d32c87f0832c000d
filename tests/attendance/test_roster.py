"""The leader's roster for a unit of six with a 1/3 quota (2 places), HCMC time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from bot.services.attendance.calendar import WorkCalendar
from bot.services.attendance.modes import Mode
from bot.services.attendance.quota import QuotaOutcome
from bot.services.attendance.roster import (
    CheckIn,
    Person,
    UnitRules,
    build_forecast,
    build_office_quota,
    build_roster,
    current_modes,
)
from bot.services.attendance.rotation import Rotation, Team

HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
UNIT = "phong-tp"
TUESDAY = date(2020, 4, 14)  # B's day in the rotation below

PEOPLE = (
    Person("leader", "Trưởng phòng", role="leader", on_duty=True, unit=UNIT),
    Person("an", "Nguyễn Văn An", team="A", unit=UNIT),
    Person("binh", "Trần Thị Bình", team="A", unit=UNIT),
    Person("chi", "Lê Chi", team="B", unit=UNIT),
    Person("dung", "Phạm Dũng", team="B", unit=UNIT),
    Person("em", "Hoàng Em", unit=UNIT),
    Person("other", "Người đơn vị khác", unit="phong-khac"),
)
ROTATION = Rotation(
    (Team("A", ("an", "binh")), Team("B", ("chi", "dung"))), anchor=date(2020, 4, 13)
)


def local(day: date, hh: int, mm: int) -> datetime:
    """An instant given in HCMC wall-clock time, stored as UTC like the database does."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=HCMC).astimezone(UTC)


@pytest.fixture
def rules() -> UnitRules:
    return UnitRules(
        unit=UNIT,
        tz=HCMC,
        cutoff=time(9, 0),
        quota=Fraction(1, 3),
        calendar=WorkCalendar(),
        rotation=ROTATION,
    )


@pytest.fixture
def checkins() -> list[CheckIn]:
    return [
        CheckIn("leader", Mode.OFFICE, local(TUESDAY, 7, 50)),
        CheckIn("binh", Mode.OFFICE, local(TUESDAY, 8, 0)),
        CheckIn("chi", Mode.OFFICE, local(TUESDAY, 8, 10)),
        CheckIn("an", Mode.OFFICE, local(TUESDAY, 9, 20), by_exception=True),
        CheckIn("dung", Mode.LEAVE, local(TUESDAY, 9, 45)),
        # Binh changes her mind after the cut-off: still not late, first check-in counts.
        CheckIn("binh", Mode.HOME, local(TUESDAY, 10, 0)),
        CheckIn("stranger", Mode.OFFICE, local(TUESDAY, 8, 0)),
        # Yesterday's check-in is not today's.
        CheckIn("em", Mode.HOME, local(date(2020, 4, 13), 8, 0)),
    ]


def test_roster_counts_missing_late_leave(rules: UnitRules, checkins: list[CheckIn]) -> None:
    roster = build_roster(TUESDAY, PEOPLE, checkins, rules)
    assert roster.working_day and roster.non_working_reason is None
    assert (roster.headcount, roster.capacity) == (6, 2)
    assert dict(roster.counts) == {
        Mode.HOME: 1,
        Mode.OFFICE: 3,
        Mode.LEAVE: 1,
        Mode.FIELD_TRIP: 0,
    }
    assert roster.people_by_mode[Mode.OFFICE] == ("leader", "an", "chi")
    assert roster.at_office == 3
    assert roster.over_capacity and roster.remaining == 0
    assert roster.not_checked_in == ("em",)
    assert roster.late == ("an",)  # dung checked in late but is on leave
    assert roster.on_leave == ("dung",)
    assert roster.by_exception == ("an",)
    assert roster.office_off_rotation == ("an",)  # A was expected at home on Tuesday
    assert roster.strangers == ("stranger",)


def test_forecast_is_for_the_next_working_day(rules: UnitRules, checkins: list[CheckIn]) -> None:
    forecast = build_roster(TUESDAY, PEOPLE, checkins, rules).forecast
    assert forecast is not None
    assert forecast.day == date(2020, 4, 15)
    assert dict(forecast.expected) == {
        "an": Mode.OFFICE,
        "binh": Mode.OFFICE,
        "chi": Mode.HOME,
        "dung": Mode.HOME,
    }
    assert forecast.office == ("an", "binh")
    assert not forecast.over_capacity


def test_forecast_skips_30_4_and_1_5(rules: UnitRules) -> None:
    forecast = build_forecast(date(2020, 4, 29), PEOPLE, rules)
    assert forecast.day == date(2020, 5, 4)
    # 13/4 is turn 0 (A); 14..17, 20..24 and 27..29 are turns 1-12, so 4/5 is turn 13: B.
    assert forecast.office == ("chi", "dung")


def test_forecast_without_rotation_names_the_day_only(rules: UnitRules) -> None:
    no_rotation = UnitRules(UNIT, HCMC, time(9, 0), Fraction(1, 3), WorkCalendar())
    forecast = build_forecast(TUESDAY, PEOPLE, no_rotation)
    assert forecast.day == date(2020, 4, 15)
    assert dict(forecast.expected) == {}
    assert forecast.office == ()


def test_holiday_roster_has_nobody_missing_or_late(rules: UnitRules) -> None:
    holiday = date(2020, 4, 30)
    on_duty = [CheckIn("leader", Mode.OFFICE, local(holiday, 10, 0))]
    roster = build_roster(holiday, PEOPLE, on_duty, rules)
    assert not roster.working_day
    assert roster.non_working_reason == "holiday:Liberation Day/Reunification Day"
    assert roster.not_checked_in == ()
    assert roster.late == ()
    assert roster.counts[Mode.OFFICE] == 1  # a confirmed check-in is still counted


def test_recorded_late_flag_wins_over_the_time(rules: UnitRules) -> None:
    checkins = [
        # Flags recorded at check-in time under the cut-off in force then.
        CheckIn("an", Mode.HOME, local(TUESDAY, 9, 30), late=False),
        CheckIn("chi", Mode.HOME, local(TUESDAY, 8, 30), late=True),
    ]
    roster = build_roster(TUESDAY, PEOPLE, checkins, rules, with_forecast=False)
    assert roster.late == ("chi",)
    assert roster.forecast is None


def test_check_in_declared_the_evening_before(rules: UnitRules) -> None:
    evening = local(date(2020, 4, 13), 20, 0)
    checkins = [CheckIn("an", Mode.HOME, evening, day=TUESDAY)]
    roster = build_roster(TUESDAY, PEOPLE, checkins, rules)
    assert roster.people_by_mode[Mode.HOME] == ("an",)
    assert "an" not in roster.late
    assert "an" not in roster.not_checked_in


def test_no_quota_means_every_place_open(rules: UnitRules) -> None:
    open_unit = UnitRules(UNIT, HCMC, time(9, 0), None, WorkCalendar())
    assert build_roster(TUESDAY, PEOPLE, [], open_unit).capacity == 6


def test_current_modes_takes_the_latest(checkins: list[CheckIn]) -> None:
    modes = current_modes(checkins, TUESDAY, HCMC)
    assert modes["binh"] is Mode.HOME
    assert "em" not in modes


def test_naive_check_in_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        CheckIn("an", Mode.HOME, datetime(2020, 4, 14, 8, 0))


# --- office places for a request -----------------------------------------------------------


def test_on_duty_leader_holds_a_place_until_the_cut_off() -> None:
    rules = UnitRules(UNIT, HCMC, time(9, 0), Fraction(1, 3), WorkCalendar())
    morning = local(TUESDAY, 8, 0)
    checkins = [CheckIn("an", Mode.OFFICE, local(TUESDAY, 7, 55))]

    quota = build_office_quota(TUESDAY, PEOPLE, checkins, rules, now=morning)
    assert quota.reserved == {"leader"}
    refused = quota.request("binh")
    assert refused.outcome is QuotaOutcome.REFUSED
    assert (refused.taken, refused.capacity, refused.held) == (2, 2, 1)
    assert quota.request("leader").outcome is QuotaOutcome.ALLOWED

    after_cutoff = build_office_quota(TUESDAY, PEOPLE, checkins, rules, now=local(TUESDAY, 9, 1))
    assert after_cutoff.reserved == frozenset()
    assert after_cutoff.request("binh").outcome is QuotaOutcome.ALLOWED


def test_rotation_team_holds_places_and_home_check_in_frees_them(rules: UnitRules) -> None:
    # Nobody on duty, so only the rotation holds places.
    off_duty = tuple(replace(p, on_duty=False) for p in PEOPLE)
    morning = local(TUESDAY, 8, 0)
    quota = build_office_quota(TUESDAY, off_duty, [], rules, now=morning)
    assert quota.reserved == {"chi", "dung"}  # B's day
    assert quota.request("em").outcome is QuotaOutcome.REFUSED
    assert quota.request("chi").outcome is QuotaOutcome.ALLOWED

    chi_home = [CheckIn("chi", Mode.HOME, local(TUESDAY, 7, 30))]
    quota = build_office_quota(TUESDAY, off_duty, chi_home, rules, now=morning)
    assert quota.reserved == {"dung"}
    assert quota.request("em").outcome is QuotaOutcome.ALLOWED


def test_unit_of_six_two_allowed_third_refused_then_exception() -> None:
    # The acceptance scenario, with nobody on duty and no rotation.
    rules = UnitRules(UNIT, HCMC, time(9, 0), Fraction(1, 3), WorkCalendar())
    staff = tuple(Person(f"s{i}", f"Staff {i}", unit=UNIT) for i in range(6))
    checkins: list[CheckIn] = []
    now = local(TUESDAY, 8, 0)
    for pid in ("s0", "s1"):
        decision = build_office_quota(TUESDAY, staff, checkins, rules, now).request(pid)
        assert decision.outcome is QuotaOutcome.ALLOWED
        checkins.append(CheckIn(pid, Mode.OFFICE, now))
    quota = build_office_quota(TUESDAY, staff, checkins, rules, now)
    third = quota.request("s2")
    assert third.outcome is QuotaOutcome.REFUSED
    assert (third.taken, third.capacity) == (2, 2)
    granted = quota.request("s2", exception_by="leader")
    assert granted.outcome is QuotaOutcome.ALLOWED_BY_EXCEPTION
    checkins.append(CheckIn("s2", Mode.OFFICE, now, by_exception=True))
    roster = build_roster(TUESDAY, staff, checkins, rules)
    assert roster.at_office == 3 and roster.by_exception == ("s2",)
    assert roster.not_checked_in == ("s3", "s4", "s5")
