"""Working days of a unit: weekdays minus Vietnamese public holidays, adjusted by the unit.

Precedence, strongest first (a unit's own decision beats the national calendar):

1. ``extra_working_days`` — the unit works that day (a Saturday make-up day, a holiday on duty);
2. ``extra_days_off`` — the unit is closed that day;
3. public holidays from the ``holidays`` package;
4. ``working_weekdays`` — Monday to Friday unless told otherwise.

A date may not be both an extra working day and an extra day off: that is a configuration
mistake, and guessing which one the leader meant would silently drop a reminder or send one
on a day off.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta

import holidays

MONDAY_TO_FRIDAY: frozenset[int] = frozenset({0, 1, 2, 3, 4})

# Holiday names feed the reason code ("holiday:<name>"); English keeps it readable in logs.
# Passing the language explicitly matters: without it the package picks it from LANG/LC_ALL,
# so the same code would produce different strings on different machines.
DEFAULT_HOLIDAY_LANGUAGE = "en_US"

# The longest run of non-working days a real calendar produces is Tết plus a weekend
# (about ten days); two years is far beyond that and only guards against a calendar with no
# working days at all, which would otherwise loop forever.
_SEARCH_LIMIT_DAYS = 2 * 366

# country, subdivision, language, year
_YearKey = tuple[str, str | None, str, int]


def weekdays_from_iso(text: str) -> frozenset[int]:
    """The unit's stored working days ("12345", ISO: 1 = Monday) as 0-based weekdays."""
    days: set[int] = set()
    for ch in text.strip():
        if ch not in "1234567":
            raise ValueError(f"working days {text!r}: expected ISO weekday digits 1-7")
        days.add(int(ch) - 1)
    return frozenset(days)


class HolidayBook:
    """Public holidays per (country, subdivision, language, year), each year built once.

    Building a year of the ``holidays`` package costs about half a millisecond (Tết and the
    Hùng Kings day come from lunar tables) and a check-in asks about several days, so the
    application keeps one book (``AppContext.holidays``) for every unit's calendar. A year's
    table depends only on the installed package, never on the clock or the database, so it
    cannot go stale; at most ``max_years`` tables are kept, least recently used out first.
    Each year is built on its own, as a fresh ``holidays`` object asked about that day does.
    """

    def __init__(self, max_years: int = 32) -> None:
        self.max_years = max_years
        self._years: OrderedDict[_YearKey, Mapping[date, tuple[str, ...]]] = OrderedDict()

    def names(
        self,
        d: date,
        country: str = "VN",
        subdiv: str | None = None,
        language: str = DEFAULT_HOLIDAY_LANGUAGE,
    ) -> tuple[str, ...]:
        """The names of the public holidays on ``d`` (usually none or one)."""
        key = (country, subdiv, language, d.year)
        table = self._years.get(key)
        if table is None:
            table = self._build(*key)
            self._years[key] = table
            while len(self._years) > self.max_years:
                self._years.popitem(last=False)
        else:
            self._years.move_to_end(key)
        return table.get(d, ())

    @staticmethod
    def _build(
        country: str, subdiv: str | None, language: str, year: int
    ) -> Mapping[date, tuple[str, ...]]:
        found = holidays.country_holidays(country, subdiv=subdiv, language=language, years=year)
        return {day: tuple(found.get_list(day)) for day in list(found) if day.year == year}


class WorkCalendar:
    """Which dates are working days for one unit.

    Holidays come from ``holiday_book``: the application's shared one, or else a book of its
    own (the same days, built again for this calendar).
    """

    def __init__(
        self,
        working_weekdays: Iterable[int] = MONDAY_TO_FRIDAY,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        country: str = "VN",
        *,
        subdiv: str | None = None,
        language: str = DEFAULT_HOLIDAY_LANGUAGE,
        holiday_book: HolidayBook | None = None,
    ) -> None:
        weekdays = frozenset(working_weekdays)
        bad = sorted((d for d in weekdays if not (isinstance(d, int) and 0 <= d <= 6)), key=repr)
        if bad:
            raise ValueError(f"working weekdays must be 0 (Monday) .. 6 (Sunday), got {bad}")
        off = frozenset(extra_days_off)
        extra = frozenset(extra_working_days)
        both = sorted(off & extra)
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise ValueError(f"dates both extra working day and extra day off: {listed}")
        self.working_weekdays: frozenset[int] = weekdays
        self.extra_days_off: frozenset[date] = off
        self.extra_working_days: frozenset[date] = extra
        self.country = country
        self.subdiv = subdiv
        self.language = language
        self._book = holiday_book or HolidayBook()

    def __repr__(self) -> str:
        return (
            f"WorkCalendar(working_weekdays={sorted(self.working_weekdays)}, "
            f"extra_days_off={len(self.extra_days_off)} dates, "
            f"extra_working_days={len(self.extra_working_days)} dates, "
            f"country={self.country!r})"
        )

    def holiday_name(self, d: date) -> str | None:
        """The public holiday's name(s) on ``d`` (joined by "; "), or None."""
        names = self._book.names(d, self.country, self.subdiv, self.language)
        return "; ".join(names) if names else None

    def reason(self, d: date) -> str | None:
        """Why ``d`` is not a working day: "day_off", "holiday:<name>", "weekend"; None if it is.

        A holiday falling on a weekend reports the holiday: it is the more useful explanation
        (Tết's first day on a Saturday is still Tết).
        """
        if d in self.extra_working_days:
            return None
        if d in self.extra_days_off:
            return "day_off"
        name = self.holiday_name(d)
        if name is not None:
            return f"holiday:{name}"
        if d.weekday() not in self.working_weekdays:
            return "weekend"
        return None

    def is_working_day(self, d: date) -> bool:
        return self.reason(d) is None

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self._step(d, 1)

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        return self._step(d, -1)

    def _step(self, d: date, direction: int) -> date:
        one = timedelta(days=direction)
        candidate = d + one
        for _ in range(_SEARCH_LIMIT_DAYS):
            if self.is_working_day(candidate):
                return candidate
            candidate += one
        raise LookupError(f"no working day within {_SEARCH_LIMIT_DAYS} days of {d.isoformat()}")

    def working_days(self, start: date, end: date) -> Iterator[date]:
        """Working days from ``start`` to ``end``, both included, in order."""
        d = start
        while d <= end:
            if self.is_working_day(d):
                yield d
            d += timedelta(days=1)

    def working_days_between(self, a: date, b: date) -> int:
        """Signed count of working days in the half-open range [a, b).

        Half-open so that it is a distance: ``working_days_between(a, a) == 0``, the next
        working day after a working day ``a`` is at distance 1, and it is negative when
        ``b`` is before ``a``. The rotation uses it to number working days from its anchor.
        """
        if b < a:
            return -self.working_days_between(b, a)
        return sum(1 for _ in self.working_days(a, b - timedelta(days=1)))
