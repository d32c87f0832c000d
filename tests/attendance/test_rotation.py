"""A/B and N-team rotations by working day and by week, holidays skipped, plans override."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.services.attendance.calendar import WorkCalendar
from bot.services.attendance.modes import Mode
from bot.services.attendance.rotation import (
    Cycle,
    Rotation,
    RotationError,
    RotationIssueCode,
    Team,
    build_rotation,
    validate_rotation,
)

A = Team("A", ("a1", "a2", "a3"))
B = Team("B", ("b1", "b2", "b3"))
PEOPLE = frozenset({"a1", "a2", "a3", "b1", "b2", "b3", "leader"})


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


def names(rotation: Rotation, days: list[date], cal: WorkCalendar) -> list[str | None]:
    return [team.name if (team := rotation.team_on(d, cal)) else None for d in days]


def test_ab_by_day_alternates_on_working_days(cal: WorkCalendar) -> None:
    rotation = Rotation((A, B), anchor=date(2020, 4, 20))
    days = [date(2020, 4, 20) + timedelta(days=i) for i in range(8)]
    # Mon..Fri, then the weekend has no team, and Monday continues from Friday.
    assert names(rotation, days, cal) == ["A", "B", "A", "B", "A", None, None, "B"]


def test_holiday_does_not_consume_a_turn(cal: WorkCalendar) -> None:
    # Thu 2/4/2020 is Hùng Kings' day. Counting calendar days would give Fri 3/4 to A
    # and B would lose its turn; counting working days gives it to B.
    rotation = Rotation((A, B), anchor=date(2020, 3, 30))
    days = [date(2020, 3, 30), date(2020, 3, 31), date(2020, 4, 1), date(2020, 4, 2)]
    days += [date(2020, 4, 3), date(2020, 4, 6)]
    assert names(rotation, days, cal) == ["A", "B", "A", None, "B", "A"]


def test_rotation_across_30_4_and_1_5(cal: WorkCalendar) -> None:
    rotation = Rotation((A, B), anchor=date(2020, 4, 27))
    days = [date(2020, 4, 27), date(2020, 4, 28), date(2020, 4, 29)]
    days += [date(2020, 4, 30), date(2020, 5, 1), date(2020, 5, 4), date(2020, 5, 5)]
    assert names(rotation, days, cal) == ["A", "B", "A", None, None, "B", "A"]


def test_make_up_saturday_takes_a_turn() -> None:
    cal = WorkCalendar(extra_working_days={date(2020, 4, 25)})
    rotation = Rotation((A, B), anchor=date(2020, 4, 20))
    days = [date(2020, 4, 24), date(2020, 4, 25), date(2020, 4, 27)]
    assert names(rotation, days, cal) == ["A", "B", "A"]


def test_three_teams_by_day(cal: WorkCalendar) -> None:
    c = Team("C", ("c1",))
    rotation = Rotation((A, B, c), anchor=date(2020, 4, 6))
    days = [date(2020, 4, d) for d in (6, 7, 8, 9, 10, 13, 14)]
    assert names(rotation, days, cal) == ["A", "B", "C", "A", "B", "C", "A"]


def test_anchor_on_a_weekend_starts_on_the_next_working_day(cal: WorkCalendar) -> None:
    rotation = Rotation((A, B), anchor=date(2020, 4, 4))  # Saturday
    assert names(rotation, [date(2020, 4, 6), date(2020, 4, 7)], cal) == ["A", "B"]


def test_nothing_expected_before_the_anchor(cal: WorkCalendar) -> None:
    rotation = Rotation((A, B), anchor=date(2020, 4, 6))
    assert rotation.team_on(date(2020, 4, 3), cal) is None
    assert rotation.forecast(date(2020, 4, 3), cal) == {}
    assert rotation.expected_mode("a1", date(2020, 4, 3), cal) is None


def test_ab_by_week(cal: WorkCalendar) -> None:
    rotation = Rotation((A, B), anchor=date(2020, 1, 13), cycle=Cycle.WEEK)
    days = [
        date(2020, 1, 13),  # week 1: A
        date(2020, 1, 17),
        date(2020, 1, 20),  # week 2: B (Mon-Wed work, then Tết)
        date(2020, 1, 30),  # week 3: Tết until Wed 29, Thu 30 is A's
        date(2020, 2, 3),  # week 4: B
    ]
    assert names(rotation, days, cal) == ["A", "A", "B", "A", "B"]


def test_week_without_working_days_does_not_consume_a_turn() -> None:
    # The unit closes the whole week of 13/4/2020 (social distancing).
    closed = {date(2020, 4, 13) + timedelta(days=i) for i in range(5)}
    cal = WorkCalendar(extra_days_off=closed)
    rotation = Rotation((A, B), anchor=date(2020, 3, 30), cycle="week")  # type: ignore[arg-type]
    days = [date(2020, 3, 30), date(2020, 4, 6), date(2020, 4, 14), date(2020, 4, 20)]
    # Week of 20/4 is A's again: the closed week was nobody's turn.
    assert names(rotation, days, cal) == ["A", "B", None, "A"]


def test_week_anchor_on_saturday_starts_next_week(cal: WorkCalendar) -> None:
    rotation = Rotation((A, B), anchor=date(2020, 4, 4), cycle=Cycle.WEEK)
    assert names(rotation, [date(2020, 4, 6), date(2020, 4, 13)], cal) == ["A", "B"]


def test_expected_mode_and_forecast(cal: WorkCalendar) -> None:
    rotation = Rotation((A, B), anchor=date(2020, 4, 20))
    tuesday = date(2020, 4, 21)  # B's day
    assert rotation.expected_mode("b2", tuesday, cal) is Mode.OFFICE
    assert rotation.expected_mode("a2", tuesday, cal) is Mode.HOME
    assert rotation.expected_mode("leader", tuesday, cal) is None  # not in the rotation
    assert rotation.forecast(tuesday, cal) == {
        "a1": Mode.HOME,
        "a2": Mode.HOME,
        "a3": Mode.HOME,
        "b1": Mode.OFFICE,
        "b2": Mode.OFFICE,
        "b3": Mode.OFFICE,
    }
    assert rotation.forecast(date(2020, 4, 30), cal) == {}  # holiday


def test_per_day_plan_overrides_the_rotation(cal: WorkCalendar) -> None:
    tuesday = date(2020, 4, 21)  # B's day by rotation
    rotation = Rotation((A, B), anchor=date(2020, 4, 20)).with_plan(tuesday, {"a1", "leader"})
    forecast = rotation.forecast(tuesday, cal)
    assert forecast["a1"] is Mode.OFFICE
    assert forecast["leader"] is Mode.OFFICE  # planned people need not be in a team
    assert forecast["b1"] is Mode.HOME
    assert rotation.at_office(tuesday, cal) == {"a1", "leader"}
    # The rotation itself is untouched on other days.
    assert rotation.team_on(date(2020, 4, 22), cal) == A
    assert rotation.without_plan(tuesday).expected_mode("b1", tuesday, cal) is Mode.OFFICE


def test_plan_on_a_holiday_expects_only_the_planned(cal: WorkCalendar) -> None:
    holiday = date(2020, 4, 30)
    rotation = Rotation((A, B), anchor=date(2020, 4, 20), plan={holiday: {"leader"}})
    assert rotation.forecast(holiday, cal) == {"leader": Mode.OFFICE}


def test_rotation_is_immutable_and_comparable() -> None:
    one = Rotation((A, B), anchor=date(2020, 4, 20), plan={date(2020, 4, 21): ["a1"]})
    two = Rotation((A, B), anchor=date(2020, 4, 20), plan={date(2020, 4, 21): {"a1"}})
    assert one == two
    with pytest.raises(TypeError):
        one.plan[date(2020, 4, 22)] = frozenset()  # type: ignore[index]


# --- validation ----------------------------------------------------------------------------


def codes(rotation: Rotation, capacity: int | None = None) -> list[tuple[str, str]]:
    return [(i.code.value, i.subject) for i in validate_rotation(rotation, PEOPLE, capacity)]


def test_valid_rotation_has_no_issues() -> None:
    assert codes(Rotation((A, B), anchor=date(2020, 4, 20))) == []


def test_validation_codes() -> None:
    rotation = Rotation(
        (Team("A", ("a1", "ghost")), Team("B", ()), Team("A", ("a1",)), Team(" ", ("b1",))),
        anchor=date(2020, 4, 20),
        plan={date(2020, 4, 21): {"nobody"}},
    )
    assert codes(rotation) == [
        ("unknown_member", "ghost"),
        ("empty_team", "B"),
        ("duplicate_team", "A"),
        ("blank_team_name", " "),
        ("plan_unknown_member", "nobody"),
    ]


def test_member_in_two_teams() -> None:
    rotation = Rotation((A, Team("B", ("b1", "a2"))), anchor=date(2020, 4, 20))
    issues = validate_rotation(rotation, PEOPLE)
    assert [(i.code, i.subject, i.detail) for i in issues] == [
        (RotationIssueCode.MEMBER_IN_TWO_TEAMS, "a2", "A,B")
    ]


def test_no_teams() -> None:
    assert codes(Rotation((), anchor=date(2020, 4, 20))) == [("no_teams", "")]


def test_over_capacity_is_a_warning() -> None:
    rotation = Rotation((A, B), anchor=date(2020, 4, 20), plan={date(2020, 4, 21): {"a1"}})
    issues = validate_rotation(rotation, PEOPLE, capacity=2)
    assert [(i.code.value, i.subject, i.detail) for i in issues] == [
        ("team_over_capacity", "A", "3>2"),
        ("team_over_capacity", "B", "3>2"),
    ]
    assert not any(i.blocking for i in issues)


def test_build_rotation_returns_warnings_and_raises_on_errors() -> None:
    rotation, warnings = build_rotation(
        {"A": ["a1", "a2", "a3"], "B": ["b1", "b2"]},
        date(2020, 4, 20),
        "Week",
        known_people=PEOPLE,
        capacity=2,
    )
    assert rotation.cycle is Cycle.WEEK
    assert [t.name for t in rotation.teams] == ["A", "B"]
    assert [(w.code.value, w.subject) for w in warnings] == [("team_over_capacity", "A")]

    with pytest.raises(RotationError) as caught:
        build_rotation({"A": ["a1", "zz"], "B": []}, date(2020, 4, 20), known_people=PEOPLE)
    assert [(i.code.value, i.subject) for i in caught.value.issues] == [
        ("unknown_member", "zz"),
        ("empty_team", "B"),
    ]


def test_build_rotation_unknown_cycle() -> None:
    with pytest.raises(RotationError) as caught:
        build_rotation({"A": ["a1"]}, date(2020, 4, 20), "fortnight", known_people=PEOPLE)
    assert caught.value.issues[0].code is RotationIssueCode.UNKNOWN_CYCLE


def test_per_person_overrides_keep_the_rest_of_the_rotation(cal: WorkCalendar) -> None:
    tuesday = date(2020, 4, 21)  # B's day
    rotation = Rotation((A, B), anchor=date(2020, 4, 20))
    changed = rotation.with_overrides(tuesday, {"a1": Mode.OFFICE, "b2": Mode.HOME}, cal)
    assert changed.at_office(tuesday, cal) == {"a1", "b1", "b3"}
    assert changed.expected_mode("b2", tuesday, cal) is Mode.HOME
    assert changed.expected_mode("a2", tuesday, cal) is Mode.HOME
    # Applied twice on the same day, the second builds on the first.
    again = changed.with_overrides(tuesday, {"b2": Mode.OFFICE}, cal)
    assert again.at_office(tuesday, cal) == {"a1", "b1", "b2", "b3"}
