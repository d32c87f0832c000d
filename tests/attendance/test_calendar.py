"""Working days against the `holidays` package's Vietnamese calendar for 2020 and 2021."""

from __future__ import annotations

from datetime import date

import pytest

from bot.services.attendance.calendar import WorkCalendar, weekdays_from_iso


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2020, 1, 1), "New Year's Day"),
        # Tết 2020 holiday ran Thursday 23 to Wednesday 29 January.
        (date(2020, 1, 23), "29 of Lunar New Year"),
        (date(2020, 1, 24), "Lunar New Year's Eve"),
        (date(2020, 1, 27), "Third Day of Lunar New Year"),
        (date(2020, 1, 29), "Fifth Day of Lunar New Year"),
        # Hùng Kings' day is 10/3 of the lunar calendar: 2 April in 2020, 21 April in 2021.
        (date(2020, 4, 2), "Hung Kings' Commemoration Day"),
        (date(2020, 4, 30), "Liberation Day/Reunification Day"),
        (date(2020, 5, 1), "International Labor Day"),
        (date(2020, 9, 2), "National Day"),
        (date(2021, 2, 12), "Lunar New Year"),
        (date(2021, 4, 21), "Hung Kings' Commemoration Day"),
        # 1/5/2021 was a Saturday; the package gives the Monday in lieu.
        (date(2021, 5, 3), "International Labor Day (observed)"),
        (date(2021, 9, 3), "National Day"),
    ],
)
def test_public_holidays_are_not_working_days(cal: WorkCalendar, day: date, name: str) -> None:
    assert not cal.is_working_day(day)
    assert cal.reason(day) == f"holiday:{name}"


@pytest.mark.parametrize(
    "day",
    [
        date(2020, 1, 22),  # the Wednesday before Tết
        date(2020, 1, 30),  # the Thursday after the fifth day of Tết
        date(2020, 4, 29),
        date(2020, 5, 4),
        date(2021, 4, 20),
        date(2021, 9, 1),
    ],
)
def test_ordinary_weekdays_around_holidays_are_working_days(cal: WorkCalendar, day: date) -> None:
    assert cal.is_working_day(day)
    assert cal.reason(day) is None


def test_holiday_on_a_weekend_reports_the_holiday(cal: WorkCalendar) -> None:
    # 25/1/2020, the first day of Tết, was a Saturday.
    assert date(2020, 1, 25).weekday() == 5
    assert cal.reason(date(2020, 1, 25)) == "holiday:Lunar New Year"


def test_weekend(cal: WorkCalendar) -> None:
    assert cal.reason(date(2020, 4, 4)) == "weekend"  # Saturday
    assert cal.reason(date(2020, 4, 5)) == "weekend"  # Sunday
    assert not cal.is_working_day(date(2020, 4, 5))


def test_saturday_make_up_day_is_a_working_day() -> None:
    make_up = date(2020, 4, 25)  # a Saturday the unit works to make up for a bridge day
    cal = WorkCalendar(extra_working_days={make_up})
    assert cal.is_working_day(make_up)
    assert cal.reason(make_up) is None
    assert not cal.is_working_day(date(2020, 4, 26))  # the Sunday stays off


def test_extra_working_day_beats_a_public_holiday() -> None:
    # A unit on duty over a holiday (trực lễ) declares it a working day.
    cal = WorkCalendar(extra_working_days={date(2020, 4, 30)})
    assert cal.is_working_day(date(2020, 4, 30))
    assert not cal.is_working_day(date(2020, 5, 1))


def test_extra_day_off() -> None:
    bridge = date(2020, 4, 29)
    cal = WorkCalendar(extra_days_off={bridge})
    assert cal.reason(bridge) == "day_off"
    assert cal.next_working_day(date(2020, 4, 28)) == date(2020, 5, 4)


def test_a_date_cannot_be_both_extra_working_and_day_off() -> None:
    with pytest.raises(ValueError, match="2020-04-25"):
        WorkCalendar(extra_days_off={date(2020, 4, 25)}, extra_working_days={date(2020, 4, 25)})


@pytest.mark.parametrize("weekdays", [{7}, {-1}, {0, 9}])
def test_invalid_weekdays_are_refused(weekdays: set[int]) -> None:
    with pytest.raises(ValueError, match="working weekdays"):
        WorkCalendar(working_weekdays=weekdays)


def test_six_day_week() -> None:
    cal = WorkCalendar(working_weekdays={0, 1, 2, 3, 4, 5})
    assert cal.is_working_day(date(2020, 4, 4))
    assert not cal.is_working_day(date(2020, 4, 5))


def test_next_working_day_skips_holidays_and_weekend(cal: WorkCalendar) -> None:
    # Wed 29/4 → Thu 30/4 and Fri 1/5 holidays → weekend → Mon 4/5.
    assert cal.next_working_day(date(2020, 4, 29)) == date(2020, 5, 4)
    # Wed 22/1 → Tết from Thu 23/1 to Wed 29/1 → Thu 30/1.
    assert cal.next_working_day(date(2020, 1, 22)) == date(2020, 1, 30)
    # Strictly after, even when the day itself is a working day.
    assert cal.next_working_day(date(2020, 4, 6)) == date(2020, 4, 7)
    # From a non-working day too.
    assert cal.next_working_day(date(2020, 4, 30)) == date(2020, 5, 4)


def test_previous_working_day(cal: WorkCalendar) -> None:
    assert cal.previous_working_day(date(2020, 5, 4)) == date(2020, 4, 29)
    assert cal.previous_working_day(date(2020, 1, 30)) == date(2020, 1, 22)


def test_calendar_without_any_working_day_fails_instead_of_looping() -> None:
    cal = WorkCalendar(working_weekdays=set())
    with pytest.raises(LookupError):
        cal.next_working_day(date(2020, 4, 1))


def test_working_days_between_is_a_half_open_signed_distance(cal: WorkCalendar) -> None:
    assert cal.working_days_between(date(2020, 4, 6), date(2020, 4, 6)) == 0
    # Mon 6/4 .. Fri 10/4, excluding the end: 6, 7, 8, 9.
    assert cal.working_days_between(date(2020, 4, 6), date(2020, 4, 10)) == 4
    # Week of 27/4/2020: Mon 27, Tue 28, Wed 29 work; Thu 30/4 and Fri 1/5 holidays.
    assert cal.working_days_between(date(2020, 4, 27), date(2020, 5, 4)) == 3
    assert cal.working_days_between(date(2020, 5, 4), date(2020, 4, 27)) == -3
    # The whole of January 2020: 23 weekdays minus 1/1 and five weekdays of Tết.
    assert cal.working_days_between(date(2020, 1, 1), date(2020, 2, 1)) == 17


def test_working_days_lists_inclusive_range(cal: WorkCalendar) -> None:
    assert list(cal.working_days(date(2020, 4, 28), date(2020, 5, 4))) == [
        date(2020, 4, 28),
        date(2020, 4, 29),
        date(2020, 5, 4),
    ]


def test_holiday_names_do_not_depend_on_the_process_locale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The package picks its language from LANG/LC_ALL when none is given.
    monkeypatch.setenv("LANG", "vi_VN.UTF-8")
    monkeypatch.setenv("LC_ALL", "vi_VN.UTF-8")
    assert WorkCalendar().reason(date(2020, 4, 30)) == "holiday:Liberation Day/Reunification Day"
    assert WorkCalendar(language="vi").holiday_name(date(2020, 4, 30)) == "Ngày Chiến thắng"


def test_weekdays_from_iso_matches_the_stored_unit_setting() -> None:
    assert weekdays_from_iso("12345") == frozenset({0, 1, 2, 3, 4})
    assert weekdays_from_iso("123456") == frozenset({0, 1, 2, 3, 4, 5})
    assert WorkCalendar(weekdays_from_iso("123456")).is_working_day(date(2020, 4, 4))
    for bad in ("0123", "12a", "8"):
        with pytest.raises(ValueError):
            weekdays_from_iso(bad)
