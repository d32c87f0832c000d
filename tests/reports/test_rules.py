"""Report rules and periods: pure functions, fixed dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.services.reports.periods import (
    Period,
    PeriodError,
    PeriodKind,
    PeriodProblem,
    parse_period,
)
from bot.services.reports.rules import (
    MAX_ATTACHMENT_BYTES,
    MAX_PART_CHARS,
    ContentProblem,
    ReportContent,
    UnitSchedule,
    attachment_too_big,
    check_content,
    parse_one_shot,
)

HCMC = UnitSchedule.of("Asia/Ho_Chi_Minh", "12345", "09:00")
TODAY = date(2020, 4, 14)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Đã xử lý 12 hồ sơ…", ReportContent(done="Đã xử lý 12 hồ sơ…")),
        (
            "Tiếp nhận 5 hồ sơ. Vướng mắc: thiếu chữ ký số; Kế hoạch ngày mai: họp",
            ReportContent(done="Tiếp nhận 5 hồ sơ.", blockers="thiếu chữ ký số", plan="họp"),
        ),
        (
            "xong: a\ndang lam - b\n- vuong mac: c\nPlan: d",
            ReportContent(done="a", in_progress="b", blockers="c", plan="d"),
        ),
        # A label word inside a sentence is just a word.
        ("Lập kế hoạch: tuần sau", ReportContent(done="Lập kế hoạch: tuần sau")),
        ("Vướng mắc: mất điện\nVướng mắc: máy in", ReportContent(blockers="mất điện\nmáy in")),
    ],
)
def test_one_shot_parts(text: str, expected: ReportContent) -> None:
    assert parse_one_shot(text) == expected


def test_content_checks() -> None:
    assert check_content(ReportContent()) is ContentProblem.EMPTY
    assert check_content(ReportContent(task_ids=(3,))) is None
    assert check_content(ReportContent(plan="x" * (MAX_PART_CHARS + 1))) is (
        ContentProblem.PART_TOO_LONG
    )
    assert check_content(ReportContent(done="x" * 1500, plan="y" * 1501)) is not None


def test_merge_keeps_both_texts_and_tasks_once() -> None:
    first = ReportContent(done="a", task_ids=(1,))
    merged = first.merged(ReportContent(done="b", blockers="c", task_ids=(1, 2)))
    assert merged == ReportContent(done="a\nb", blockers="c", task_ids=(1, 2))


@pytest.mark.parametrize(
    ("day", "deadline_local"),
    [
        (date(2020, 4, 14), datetime(2020, 4, 15, 9, 0)),  # Tuesday → Wednesday 09:00
        (date(2020, 4, 17), datetime(2020, 4, 20, 9, 0)),  # Friday → Monday
        (date(2020, 4, 29), datetime(2020, 5, 4, 9, 0)),  # before 30/4, 1/5 and a weekend
        (date(2020, 4, 18), datetime(2020, 4, 20, 9, 0)),  # a Saturday report → Monday
    ],
)
def test_edit_deadline_is_the_next_working_days_cutoff(day: date, deadline_local: datetime) -> None:
    deadline = HCMC.edit_deadline(day)
    assert deadline.astimezone(HCMC.tz).replace(tzinfo=None) == deadline_local
    assert HCMC.can_edit(day, deadline)
    assert not HCMC.can_edit(day, deadline.replace(second=1))


def test_no_report_for_a_day_to_come() -> None:
    assert not HCMC.can_edit(date(2020, 4, 15), datetime(2020, 4, 14, 10, 0, tzinfo=UTC))


def test_unit_settings_days_off_and_bad_cutoff() -> None:
    schedule = UnitSchedule.of(
        "Asia/Ho_Chi_Minh",
        "12345",
        "không rõ",
        {"extra_days_off": ["2020-04-15", "bad"], "extra_working_days": ["2020-04-18"]},
    )
    assert schedule.non_working_reason(date(2020, 4, 15)) == "day_off"
    assert schedule.non_working_reason(date(2020, 4, 18)) is None
    assert schedule.checkin_by.hour == 9  # a malformed setting falls back to 09:00


def test_attachment_limit_is_telegrams_20_mb() -> None:
    assert not attachment_too_big(MAX_ATTACHMENT_BYTES)
    assert attachment_too_big(MAX_ATTACHMENT_BYTES + 1)
    assert not attachment_too_big(None)


@pytest.mark.parametrize(
    ("text", "start", "end", "kind", "rest"),
    [
        ("", TODAY, TODAY, PeriodKind.DAY, ()),
        ("hôm qua", date(2020, 4, 13), date(2020, 4, 13), PeriodKind.DAY, ()),
        ("tuần", date(2020, 4, 13), date(2020, 4, 19), PeriodKind.WEEK, ()),
        ("tuan truoc", date(2020, 4, 6), date(2020, 4, 12), PeriodKind.WEEK, ()),
        ("tháng MOTCUA", date(2020, 4, 1), date(2020, 4, 30), PeriodKind.MONTH, ("MOTCUA",)),
        ("quý", date(2020, 4, 1), date(2020, 6, 30), PeriodKind.QUARTER, ()),
        ("năm", date(2020, 1, 1), date(2020, 12, 31), PeriodKind.YEAR, ()),
        ("14/4", TODAY, TODAY, PeriodKind.DAY, ()),
        ("từ 13/4 đến 17/4", date(2020, 4, 13), date(2020, 4, 17), PeriodKind.RANGE, ()),
        ("2020-04-01..2020-04-30", date(2020, 4, 1), date(2020, 4, 30), PeriodKind.RANGE, ()),
        ("13/04/2020-17/04/2020", date(2020, 4, 13), date(2020, 4, 17), PeriodKind.RANGE, ()),
    ],
)
def test_periods(
    text: str, start: date, end: date, kind: PeriodKind, rest: tuple[str, ...]
) -> None:
    parsed = parse_period(text, TODAY)
    assert (parsed.period.start, parsed.period.end, parsed.period.kind) == (start, end, kind)
    assert parsed.rest == rest


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("17/4-13/4", PeriodProblem.BACKWARDS),
        ("2019-04-13 2020-04-14", PeriodProblem.TOO_LONG),
        ("30/2/2020", PeriodProblem.BAD_DATE),
        ("1/4 2/4 3/4", PeriodProblem.TOO_MANY_DATES),
    ],
)
def test_bad_periods(text: str, problem: PeriodProblem) -> None:
    with pytest.raises(PeriodError) as raised:
        parse_period(text, TODAY)
    assert raised.value.code is problem


def test_a_leap_year_fits_in_one_period() -> None:
    assert Period(date(2020, 1, 1), date(2020, 12, 31)).days == 366
