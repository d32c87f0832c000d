"""The application's holiday book gives the same days and names as the `holidays` package."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest

from bot.services.attendance.calendar import HolidayBook, WorkCalendar


@pytest.mark.parametrize("language", ["en_US", "vi"])
def test_every_day_of_several_years_matches_the_package(language: str) -> None:
    book = HolidayBook()
    for year in (2019, 2020, 2021, 2024, 2031):
        package = holidays.country_holidays("VN", language=language, years=year)
        day = date(year, 1, 1)
        while day.year == year:
            assert list(book.names(day, language=language)) == package.get_list(day), day
            day += timedelta(days=1)


def test_a_shared_book_answers_like_a_calendar_of_its_own() -> None:
    book = HolidayBook()
    shared = [WorkCalendar(extra_days_off=[date(2020, 4, 3)], holiday_book=book) for _ in "ab"]
    alone = WorkCalendar(extra_days_off=[date(2020, 4, 3)])
    day = date(2019, 12, 20)
    while day < date(2021, 3, 1):
        assert shared[0].reason(day) == shared[1].reason(day) == alone.reason(day), day
        assert shared[0].next_working_day(day) == alone.next_working_day(day)
        day += timedelta(days=1)


def test_each_year_is_built_once_and_the_oldest_leaves_when_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[int] = []
    build = HolidayBook._build

    def counted(country: str, subdiv: str | None, language: str, year: int) -> object:
        built.append(year)
        return build(country, subdiv, language, year)

    monkeypatch.setattr(HolidayBook, "_build", staticmethod(counted))
    book = HolidayBook(max_years=2)
    assert book.names(date(2020, 9, 2)) == ("National Day",)
    assert book.names(date(2020, 5, 1)) == ("International Labor Day",)
    assert book.names(date(2021, 9, 2)) == ("National Day",)
    assert built == [2020, 2021]
    book.names(date(2022, 1, 1))  # three years in a book of two: 2020 leaves
    book.names(date(2021, 1, 1))
    book.names(date(2020, 1, 1))
    assert built == [2020, 2021, 2022, 2020]
