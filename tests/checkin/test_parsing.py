"""Pure parts: dates and commands as leaders type them, a unit's stored settings."""

from __future__ import annotations

from datetime import date, time
from fractions import Fraction

import pytest

from bot.core.errors import InvalidInput
from bot.services.attendance.modes import Mode
from bot.services.attendance.rotation import Cycle
from bot.services.attendance.unitconfig import (
    RotationConfig,
    UnitValues,
    calendar_of,
    cutoff_of,
    quota_of,
    rotation_config,
    rotation_of,
    unit_rules,
)
from handlers.checkin import degrees
from handlers.roster import (
    OffCommand,
    PlanCommand,
    ShowCommand,
    TeamsCommand,
    parse_day,
    parse_roster_args,
    parse_rotation_args,
)

TODAY = date(2020, 4, 14)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14/04", date(2020, 4, 14)),
        ("3/5", date(2020, 5, 3)),
        ("30/4/2020", date(2020, 4, 30)),
        ("30-04-20", date(2020, 4, 30)),
        ("2020-04-30", date(2020, 4, 30)),
        ("hôm nay", TODAY),
        ("mai", date(2020, 4, 15)),
        ("Hôm qua", date(2020, 4, 13)),
        ("yesterday", date(2020, 4, 13)),
        ("31/02", None),
        ("14/13/2020", None),
        ("thứ hai", None),
        ("", None),
    ],
)
def test_parse_day(text: str, expected: date | None) -> None:
    assert parse_day(text, TODAY) == expected


def test_roster_args() -> None:
    assert parse_roster_args("", TODAY) == parse_roster_args("  ", TODAY)
    plain = parse_roster_args("", TODAY)
    assert (plain.day, plain.to_group) == (TODAY, False)
    posted = parse_roster_args("nhóm 13/04", TODAY)
    assert (posted.day, posted.to_group) == (date(2020, 4, 13), True)
    assert parse_roster_args("group", TODAY).to_group
    with pytest.raises(InvalidInput) as error:
        parse_roster_args("last monday", TODAY)
    assert error.value.key == "roster.bad_date"


def test_rotation_args_with_teams_cycle_and_anchor() -> None:
    command = parse_rotation_args("A: @An_NV @binh_tt; B: @cuong_lv tuần từ ngày 20/04", TODAY)
    assert command == TeamsCommand(
        (("A", ("an_nv", "binh_tt")), ("B", ("cuong_lv",))), Cycle.WEEK, date(2020, 4, 20)
    )
    daily = parse_rotation_args("Sáng: @an_nv; Chiều: @binh_tt", TODAY)
    assert daily == TeamsCommand((("Sáng", ("an_nv",)), ("Chiều", ("binh_tt",))), Cycle.DAY, None)
    named = parse_rotation_args("Nhóm A: @an_nv; Nhóm B: @binh_tt", TODAY)
    assert isinstance(named, TeamsCommand) and named.teams is not None
    assert [name for name, _ in named.teams] == ["Nhóm A", "Nhóm B"]
    # "from 13/04" may stand in its own segment.
    assert parse_rotation_args("A: @an_nv; B: @binh_tt; week from 2020-04-13", TODAY) == (
        TeamsCommand((("A", ("an_nv",)), ("B", ("binh_tt",))), Cycle.WEEK, date(2020, 4, 13))
    )


def test_rotation_args_other_forms() -> None:
    assert parse_rotation_args("", TODAY) == ShowCommand()
    assert parse_rotation_args("tắt", TODAY) == OffCommand()
    assert parse_rotation_args("teams weekly", TODAY) == TeamsCommand(None, Cycle.WEEK, None)
    assert parse_rotation_args("theo nhóm từ 13/4", TODAY) == TeamsCommand(
        None, Cycle.DAY, date(2020, 4, 13)
    )
    assert parse_rotation_args("kế hoạch 16/04 ở nhà @an_nv @binh_tt", TODAY) == PlanCommand(
        date(2020, 4, 16), Mode.HOME, ("an_nv", "binh_tt")
    )
    assert parse_rotation_args("plan 16/04 clear", TODAY) == PlanCommand(
        date(2020, 4, 16), None, ()
    )


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("A @an_nv B @binh_tt", "rotation.usage"),
        ("A: ; B: @binh_tt", "rotation.empty_team"),
        ("A: @an_nv; B: @binh_tt day week", "rotation.two_cycles"),
        ("A: @an_nv; B: @binh_tt 13/04 14/04", "rotation.two_dates"),
        ("A: @an_nv; B: @binh_tt 31/04", "rotation.bad_date"),
        ("A: @an_nv; B: @binh_tt every month", "rotation.unknown_words"),
        ("Một nhóm rất rất dài: @an_nv", "rotation.bad_team"),
        ("plan someday office @an_nv", "rotation.bad_date"),
        ("plan 16/04 office", "rotation.plan_usage"),
    ],
)
def test_rotation_args_errors(text: str, key: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_rotation_args(text, TODAY)
    assert error.value.key == key


def test_quota_as_stored() -> None:
    assert quota_of(None, {}) is None
    assert quota_of(1 / 3, {}) == Fraction(1, 3)
    assert quota_of(0.5, None) == Fraction(1, 2)
    assert quota_of(2.0, {}) == 2
    # 1.0 is everyone unless the importer recorded it as a head count.
    assert quota_of(1.0, {}) == Fraction(1)
    assert quota_of(1.0, {"office_quota_kind": "people"}) == 1
    rules = unit_rules(UnitValues("u", office_quota=1 / 3))
    assert rules.capacity(6) == 2


def test_calendar_from_settings() -> None:
    calendar = calendar_of(
        "123456",
        {
            "extra_days_off": ["2020-04-15", "not a date"],
            "extra_working_days": ["2020-04-30", "2020-04-15"],
        },
    )
    assert calendar.is_working_day(date(2020, 4, 18))  # a Saturday, works Saturdays
    assert calendar.is_working_day(date(2020, 4, 30))  # holiday, but the unit works
    assert calendar.is_working_day(date(2020, 4, 15))  # in both lists: working wins
    assert not calendar.is_working_day(date(2020, 4, 19))  # Sunday
    assert calendar_of("", None).is_working_day(date(2020, 4, 14))


def test_cutoff_and_bad_values_fall_back() -> None:
    assert cutoff_of("8h30") == time(8, 30)
    assert cutoff_of("nonsense") == time(9, 0)
    assert rotation_config({"rotation": {"anchor": "bad"}}) is None
    assert rotation_config({"rotation": "A/B"}) is None
    assert rotation_config({"rotation": {"anchor": "2020-04-13", "cycle": "week"}}) == (
        RotationConfig(date(2020, 4, 13), Cycle.WEEK)
    )
    rules = unit_rules(UnitValues("u", timezone="Mars/Olympus"))
    assert str(rules.tz) == "Asia/Ho_Chi_Minh"


def test_rotation_from_teams_and_plans() -> None:
    calendar = calendar_of("12345", {})
    config = RotationConfig(date(2020, 4, 13), Cycle.DAY, ("B",))
    team_of = {"1": "A", "2": "A", "3": "B", "4": None, "5": "C"}
    plans = {date(2020, 4, 15): {"4": Mode.OFFICE, "1": Mode.LEAVE}}
    rotation = rotation_of(config, team_of, plans, calendar)
    assert rotation is not None
    # The stored order first, then teams it does not name (a team created later).
    assert [t.name for t in rotation.teams] == ["B", "A", "C"]
    assert rotation.at_office(date(2020, 4, 13), calendar) == {"3"}
    assert rotation.at_office(date(2020, 4, 14), calendar) == {"1", "2"}
    # Wednesday is C's turn; the plan adds 4 (and 1 is on leave anyway).
    assert rotation.at_office(date(2020, 4, 15), calendar) == {"5", "4"}
    only_plans = rotation_of(None, team_of, plans, calendar)
    assert only_plans is not None
    assert only_plans.at_office(date(2020, 4, 15), calendar) == {"4"}
    assert rotation_of(None, team_of, {}, calendar) is None


@pytest.mark.parametrize(("value", "text"), [(37.8, "37.8"), (37.85, "37.85"), (36.0, "36.0")])
def test_degrees_keep_what_was_typed(value: float, text: str) -> None:
    assert degrees(value) == text
