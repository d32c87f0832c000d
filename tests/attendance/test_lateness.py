"""Late check-ins against a local cut-off, and written cut-off times."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.services.attendance.lateness import cutoff_instant, is_late, parse_clock_time

HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
BANGKOK = ZoneInfo("Asia/Bangkok")
SINGAPORE = ZoneInfo("Asia/Singapore")  # +08:00, to show the zone is really used
NINE = time(9, 0)


@pytest.mark.parametrize("tz", [HCMC, BANGKOK], ids=["Ho_Chi_Minh", "Bangkok"])
@pytest.mark.parametrize(
    ("instant", "late"),
    [
        (datetime(2020, 4, 1, 1, 59, tzinfo=UTC), False),  # 08:59 local
        (datetime(2020, 4, 1, 2, 0, tzinfo=UTC), False),  # 09:00:00 exactly is on time
        (datetime(2020, 4, 1, 2, 0, 1, tzinfo=UTC), True),  # 09:00:01
        (datetime(2020, 4, 1, 7, 30, tzinfo=UTC), True),  # 14:30, an afternoon check-in
        # 23:30 UTC on 31/3 is 06:30 on 1/4 locally: early, not "late for 31/3".
        (datetime(2020, 3, 31, 23, 30, tzinfo=UTC), False),
    ],
)
def test_lateness_in_utc_plus_7(tz: ZoneInfo, instant: datetime, late: bool) -> None:
    assert is_late(instant, NINE, tz) is late


def test_same_instant_differs_by_zone() -> None:
    instant = datetime(2020, 4, 1, 1, 30, tzinfo=UTC)  # 08:30 in HCMC, 09:30 in Singapore
    assert not is_late(instant, NINE, HCMC)
    assert is_late(instant, NINE, SINGAPORE)


def test_instant_given_in_another_offset_is_converted() -> None:
    # 10:30 at +08:00 is 09:30 in HCMC.
    instant = datetime(2020, 4, 1, 10, 30, tzinfo=timezone(timedelta(hours=8)))
    assert is_late(instant, NINE, HCMC)
    assert not is_late(instant, time(9, 30), HCMC)


def test_explicit_day() -> None:
    evening_before = datetime(2020, 3, 31, 13, 0, tzinfo=UTC)  # 20:00 on 31/3 locally
    assert not is_late(evening_before, NINE, HCMC, day=date(2020, 4, 1))
    after_midnight = datetime(2020, 4, 1, 17, 30, tzinfo=UTC)  # 00:30 on 2/4 locally
    assert is_late(after_midnight, NINE, HCMC, day=date(2020, 4, 1))
    assert not is_late(after_midnight, NINE, HCMC)  # for 2/4 it is early


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_late(datetime(2020, 4, 1, 9, 30), NINE, HCMC)
    with pytest.raises(ValueError, match="wall-clock"):
        cutoff_instant(date(2020, 4, 1), time(9, 0, tzinfo=UTC), HCMC)


def test_cutoff_instant_is_utc() -> None:
    assert cutoff_instant(date(2020, 4, 1), NINE, HCMC) == datetime(2020, 4, 1, 2, 0, tzinfo=UTC)
    assert cutoff_instant(date(2020, 4, 1), NINE, HCMC).tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9:00", time(9, 0)),
        ("09:00", time(9, 0)),
        ("9h", time(9, 0)),
        ("9", time(9, 0)),
        ("8h30", time(8, 30)),
        ("8.30", time(8, 30)),
        ("9 giờ 15", time(9, 15)),
        ("9 giờ 15 phút sáng", time(9, 15)),
        ("13h30", time(13, 30)),
        ("1:30 chiều", time(13, 30)),
        ("1h30 chieu", time(13, 30)),
        ("5h chiều", time(17, 0)),
        ("12 giờ chiều", time(12, 0)),
        ("13h30 chiều", time(13, 30)),  # 24-hour hour with a consistent word
        ("2pm", time(14, 0)),
        ("2:30 PM", time(14, 30)),
        ("2 p.m.", time(14, 0)),
        ("12pm", time(12, 0)),
        ("12am", time(0, 0)),
        ("8 am", time(8, 0)),
        ("12 giờ trưa", time(12, 0)),
        ("1 giờ trưa", time(13, 0)),
        ("8 giờ tối", time(20, 0)),
        ("12 giờ đêm", time(0, 0)),
        ("11 giờ đêm", time(23, 0)),
        ("0:00", time(0, 0)),
        ("23:59", time(23, 59)),
    ],
)
def test_parse_clock_time(text: str, expected: time) -> None:
    assert parse_clock_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nine",
        "24:00",
        "9:60",
        "25h",
        "14h sáng",  # contradicts itself
        "12 giờ sáng",  # ambiguous in Vietnamese
        "13pm",
        "2 giờ tối",
        "930",
        "9:00 tomorrow",
    ],
)
def test_parse_clock_time_rejects(text: str) -> None:
    assert parse_clock_time(text) is None
