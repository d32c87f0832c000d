"""One check-in request through the rules: working day, duplicates, quota, health."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from bot.services.attendance.calendar import WorkCalendar
from bot.services.attendance.checkin import CheckinStatus, decide_checkin
from bot.services.attendance.health import HealthAdvice, assess
from bot.services.attendance.modes import Mode
from bot.services.attendance.quota import QuotaOutcome
from bot.services.attendance.roster import CheckIn, Person, UnitRules

HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
UNIT = "ubnd-phuong"
TUESDAY = date(2020, 4, 14)
STAFF = tuple(Person(f"s{i}", f"Staff {i}", unit=UNIT) for i in range(6))
WELL = assess(36.6, [])


def local(day: date, hh: int, mm: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=HCMC).astimezone(UTC)


@pytest.fixture
def rules() -> UnitRules:
    return UnitRules(UNIT, HCMC, time(9, 0), Fraction(1, 3), WorkCalendar())


def test_home_is_recorded_with_lateness(rules: UnitRules) -> None:
    on_time = decide_checkin(STAFF[0], Mode.HOME, local(TUESDAY, 8, 0), TUESDAY, STAFF, [], rules)
    assert on_time.status is CheckinStatus.RECORDED
    assert on_time.record is not None
    assert (on_time.record.mode, on_time.record.late, on_time.record.day) == (
        Mode.HOME,
        False,
        TUESDAY,
    )
    late = decide_checkin(STAFF[0], Mode.HOME, local(TUESDAY, 9, 5), TUESDAY, STAFF, [], rules)
    assert late.record is not None and late.record.late is True


def test_same_mode_twice_creates_no_second_record(rules: UnitRules) -> None:
    existing = [CheckIn("s0", Mode.HOME, local(TUESDAY, 8, 0), late=False, day=TUESDAY)]
    again = decide_checkin(
        STAFF[0], Mode.HOME, local(TUESDAY, 8, 1), TUESDAY, STAFF, existing, rules
    )
    assert again.status is CheckinStatus.UNCHANGED
    assert again.record is None


def test_change_of_mode_keeps_the_first_lateness(rules: UnitRules) -> None:
    existing = [CheckIn("s0", Mode.HOME, local(TUESDAY, 8, 0), late=False, day=TUESDAY)]
    change = decide_checkin(
        STAFF[0], Mode.FIELD_TRIP, local(TUESDAY, 10, 0), TUESDAY, STAFF, existing, rules
    )
    assert change.status is CheckinStatus.RECORDED
    assert change.record is not None
    assert change.record.mode is Mode.FIELD_TRIP
    assert change.record.late is False  # 10:00, but the day's first check-in was on time


def test_holiday_needs_confirmation(rules: UnitRules) -> None:
    holiday = date(2020, 4, 30)
    asked = decide_checkin(STAFF[0], Mode.HOME, local(holiday, 8, 0), holiday, STAFF, [], rules)
    assert asked.status is CheckinStatus.NEEDS_CONFIRMATION
    assert asked.non_working_reason == "holiday:Liberation Day/Reunification Day"
    assert asked.record is None
    confirmed = decide_checkin(
        STAFF[0],
        Mode.HOME,
        local(holiday, 11, 0),
        holiday,
        STAFF,
        [],
        rules,
        confirmed_non_working=True,
    )
    assert confirmed.status is CheckinStatus.RECORDED
    assert confirmed.record is not None
    assert confirmed.record.late is False  # no cut-off on a day off


def test_office_quota_refusal_then_exception(rules: UnitRules) -> None:
    now = local(TUESDAY, 8, 30)
    records = [
        CheckIn("s0", Mode.OFFICE, local(TUESDAY, 8, 0), late=False, day=TUESDAY),
        CheckIn("s1", Mode.OFFICE, local(TUESDAY, 8, 5), late=False, day=TUESDAY),
    ]
    refused = decide_checkin(
        STAFF[2], Mode.OFFICE, now, TUESDAY, STAFF, records, rules, health=WELL
    )
    assert refused.status is CheckinStatus.REFUSED_QUOTA
    assert refused.quota is not None
    assert (refused.quota.taken, refused.quota.capacity) == (2, 2)
    assert refused.record is None

    let_in = decide_checkin(
        STAFF[2], Mode.OFFICE, now, TUESDAY, STAFF, records, rules, health=WELL, exception_by="s5"
    )
    assert let_in.status is CheckinStatus.RECORDED
    assert let_in.quota is not None
    assert let_in.quota.outcome is QuotaOutcome.ALLOWED_BY_EXCEPTION
    assert let_in.record is not None and let_in.record.by_exception


def test_office_asks_for_health_after_checking_the_quota(rules: UnitRules) -> None:
    now = local(TUESDAY, 8, 0)
    asked = decide_checkin(STAFF[0], Mode.OFFICE, now, TUESDAY, STAFF, [], rules)
    assert asked.status is CheckinStatus.NEEDS_HEALTH_DECLARATION
    assert asked.quota is not None and asked.quota.allowed
    assert asked.record is None

    not_asked = decide_checkin(
        STAFF[0], Mode.OFFICE, now, TUESDAY, STAFF, [], rules, health_required=False
    )
    assert not_asked.status is CheckinStatus.RECORDED
    assert not_asked.record is not None and not not_asked.record.by_exception


def test_fever_records_home_and_reports_it(rules: UnitRules) -> None:
    fever = assess(38.1, [])
    decision = decide_checkin(
        STAFF[0], Mode.OFFICE, local(TUESDAY, 8, 0), TUESDAY, STAFF, [], rules, health=fever
    )
    assert decision.status is CheckinStatus.RECORDED
    assert decision.record is not None and decision.record.mode is Mode.HOME
    assert decision.redirected_home
    assert decision.health is not None
    assert decision.health.advice_code is HealthAdvice.STAY_HOME_FEVER


def test_fever_when_already_home_stores_nothing_new(rules: UnitRules) -> None:
    existing = [CheckIn("s0", Mode.HOME, local(TUESDAY, 8, 0), late=False, day=TUESDAY)]
    decision = decide_checkin(
        STAFF[0],
        Mode.OFFICE,
        local(TUESDAY, 8, 30),
        TUESDAY,
        STAFF,
        existing,
        rules,
        health=assess(36.8, ["ho"]),
    )
    assert decision.status is CheckinStatus.UNCHANGED
    assert decision.health is not None and not decision.health.ok
