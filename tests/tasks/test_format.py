"""The deadline echo: "17:00 thứ Tư 15/04/2020"."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.services.tasks.format import format_deadline

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize(
    ("day", "vi", "en"),
    [
        (13, "08:30 thứ Hai 13/04/2020", "08:30 Monday 13/04/2020"),
        (14, "08:30 thứ Ba 14/04/2020", "08:30 Tuesday 14/04/2020"),
        (15, "08:30 thứ Tư 15/04/2020", "08:30 Wednesday 15/04/2020"),
        (16, "08:30 thứ Năm 16/04/2020", "08:30 Thursday 16/04/2020"),
        (17, "08:30 thứ Sáu 17/04/2020", "08:30 Friday 17/04/2020"),
        (18, "08:30 thứ Bảy 18/04/2020", "08:30 Saturday 18/04/2020"),
        (19, "08:30 Chủ Nhật 19/04/2020", "08:30 Sunday 19/04/2020"),
    ],
)
def test_every_weekday(day: int, vi: str, en: str) -> None:
    when = datetime(2020, 4, day, 8, 30, tzinfo=HCM)
    assert format_deadline(when, HCM, "vi") == vi
    assert format_deadline(when, HCM, "en") == en


def test_issue_example() -> None:
    when = datetime(2020, 4, 15, 17, 0, tzinfo=HCM)
    assert f"Hạn: {format_deadline(when, HCM, 'vi')}" == "Hạn: 17:00 thứ Tư 15/04/2020"


def test_shown_in_the_units_zone_whatever_zone_it_carries() -> None:
    # 22:30 UTC on Tuesday is 05:30 on Wednesday in Hồ Chí Minh City.
    when = datetime(2020, 4, 14, 22, 30, tzinfo=UTC)
    assert format_deadline(when, HCM, "vi") == "05:30 thứ Tư 15/04/2020"
    assert format_deadline(when, ZoneInfo("Europe/Berlin"), "en") == "00:30 Wednesday 15/04/2020"


def test_default_language_is_vietnamese() -> None:
    when = datetime(2020, 4, 15, 17, 0, tzinfo=HCM)
    assert format_deadline(when, HCM) == "17:00 thứ Tư 15/04/2020"


def test_naive_datetime_and_unknown_language_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_deadline(datetime(2020, 4, 15, 17, 0), HCM, "vi")
    with pytest.raises(ValueError, match="language"):
        format_deadline(datetime(2020, 4, 15, 17, 0, tzinfo=HCM), HCM, "fr")  # type: ignore[arg-type]
