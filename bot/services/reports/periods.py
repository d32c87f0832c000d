"""Date ranges as leaders type them: "hôm nay", "tuần", "14/4", "13/04/2020-17/04/2020".

Decisions:

* Dates are the unit's local dates; "today" is passed in (from the injectable clock).
* A day and month without a year mean the current year ("14/4" in 2020 is 14/04/2020).
* "tuần"/"week" is Monday–Sunday of the current week, "tháng"/"month" the calendar month,
  "quý"/"quarter" the calendar quarter (HCMC evaluates Q2 2020), "năm"/"year" the calendar
  year (Quảng Nam evaluates the year). The numbers never count days after today as
  missing, so a period that has not ended yet is fine.
* A range that runs backwards, or spans more than a year (366 days), is refused with a
  reason code rather than silently swapped or truncated: a swapped range would hide a
  typo in the year, a truncated one would under-report.
* Words that are not a period (a unit code such as "MOTCUA") are handed back untouched so
  the caller can read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bot.services.reports.text import fold

MAX_PERIOD_DAYS = 366


class PeriodError(ValueError):
    """The text names no valid period; ``code`` picks the message to show."""

    def __init__(self, code: PeriodProblem, detail: str = "") -> None:
        super().__init__(f"{code.value}: {detail}")
        self.code = code
        self.detail = detail


class PeriodProblem(StrEnum):
    BAD_DATE = "bad_date"
    BACKWARDS = "backwards"
    TOO_LONG = "too_long"
    TOO_MANY_DATES = "too_many_dates"


class PeriodKind(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    RANGE = "range"


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date
    kind: PeriodKind = PeriodKind.RANGE

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PeriodError(PeriodProblem.BACKWARDS, f"{self.start} > {self.end}")
        if self.days > MAX_PERIOD_DAYS:
            raise PeriodError(PeriodProblem.TOO_LONG, f"{self.days} days")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def single_day(self) -> bool:
        return self.start == self.end

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    @classmethod
    def day(cls, d: date) -> Period:
        return cls(d, d, PeriodKind.DAY)

    @classmethod
    def week_of(cls, d: date) -> Period:
        monday = d - timedelta(days=d.weekday())
        return cls(monday, monday + timedelta(days=6), PeriodKind.WEEK)

    @classmethod
    def month_of(cls, d: date) -> Period:
        first = d.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return cls(first, following - timedelta(days=1), PeriodKind.MONTH)

    @classmethod
    def quarter_of(cls, d: date) -> Period:
        first_month = 3 * ((d.month - 1) // 3) + 1
        first = date(d.year, first_month, 1)
        last = Period.month_of(date(d.year, first_month + 2, 1)).end
        return cls(first, last, PeriodKind.QUARTER)

    @classmethod
    def year_of(cls, d: date) -> Period:
        return cls(date(d.year, 1, 1), date(d.year, 12, 31), PeriodKind.YEAR)


@dataclass(frozen=True, slots=True)
class ParsedPeriod:
    period: Period
    # Words that were not part of the period (e.g. a unit code), in their original case.
    rest: tuple[str, ...]


_DATE = re.compile(
    r"(?<![\d/])(?:"
    r"(?P<iso>\d{4}-\d{1,2}-\d{1,2})"
    r"|(?P<dmy>\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?)"
    r")(?![\d/])"
)

# Folded phrases, longest first so "tuan truoc" wins over "tuan".
_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("tuan truoc", "last_week"),
    ("last week", "last_week"),
    ("thang truoc", "last_month"),
    ("last month", "last_month"),
    ("hom nay", "today"),
    ("hom qua", "yesterday"),
    ("tuan nay", "week"),
    ("this week", "week"),
    ("thang nay", "month"),
    ("this month", "month"),
    ("quy nay", "quarter"),
    ("nam nay", "year"),
    ("tuantruoc", "last_week"),
    ("thangtruoc", "last_month"),
    ("homnay", "today"),
    ("homqua", "yesterday"),
    ("tuannay", "week"),
    ("thangnay", "month"),
    ("today", "today"),
    ("yesterday", "yesterday"),
    ("tuan", "week"),
    ("week", "week"),
    ("thang", "month"),
    ("month", "month"),
    ("quy", "quarter"),
    ("quarter", "quarter"),
    ("nam", "year"),
    ("year", "year"),
)
# Words joining two dates: "từ 13/4 đến 17/4", "13/4 to 17/4", "13/4 - 17/4".
_CONNECTORS = frozenset({"tu", "den", "from", "to", "-", "–", "..", "ngay", "day"})


def _parse_date(text: str, today: date) -> date:
    try:
        if "-" in text:
            year, month, day = (int(p) for p in text.split("-"))
        else:
            parts = [int(p) for p in re.split(r"[/.]", text)]
            day, month = parts[0], parts[1]
            year = parts[2] if len(parts) == 3 else today.year
            if year < 100:
                year += 2000
        return date(year, month, day)
    except ValueError as exc:
        raise PeriodError(PeriodProblem.BAD_DATE, text) from exc


def _keyword_period(name: str, today: date) -> Period:
    if name == "today":
        return Period.day(today)
    if name == "yesterday":
        return Period.day(today - timedelta(days=1))
    if name == "week":
        return Period.week_of(today)
    if name == "last_week":
        return Period.week_of(today - timedelta(days=7))
    if name == "month":
        return Period.month_of(today)
    if name == "last_month":
        return Period.month_of(today.replace(day=1) - timedelta(days=1))
    if name == "quarter":
        return Period.quarter_of(today)
    return Period.year_of(today)


def parse_period(text: str, today: date, default: str = "today") -> ParsedPeriod:
    """Read a period out of ``text``; ``default`` ("today", "week", "month") when none is named.

    Raises :class:`PeriodError` for an impossible date, a backwards or over-long range.
    """
    dates: list[date] = []
    remaining = text
    for match in _DATE.finditer(text):
        dates.append(_parse_date(match.group(0), today))
    remaining = _DATE.sub(" ", text)
    if len(dates) > 2:
        raise PeriodError(PeriodProblem.TOO_MANY_DATES, text)

    keyword: str | None = None
    rest: list[str] = []
    words = remaining.split()
    i = 0
    while i < len(words):
        matched = False
        for phrase, name in _KEYWORDS:
            size = len(phrase.split())
            if fold(" ".join(words[i : i + size])) == phrase:
                keyword = keyword or name
                i += size
                matched = True
                break
        if matched:
            continue
        word = words[i]
        if fold(word) not in _CONNECTORS and word not in _CONNECTORS:
            rest.append(word)
        i += 1

    if len(dates) == 2:
        period = Period(dates[0], dates[1], PeriodKind.RANGE)
    elif len(dates) == 1:
        period = Period.day(dates[0])
    else:
        period = _keyword_period(keyword or default, today)
    return ParsedPeriod(period, tuple(rest))
