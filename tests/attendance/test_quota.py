"""Quota arithmetic and the office-place decision for a unit of six (1/3 → 2 places)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from bot.services.attendance.quota import (
    OfficeQuota,
    QuotaOutcome,
    normalize_quota,
    office_capacity,
    parse_quota,
)


@pytest.mark.parametrize(
    ("quota", "headcount", "expected"),
    [
        (0.34, 6, 2),  # 2.04 → 2
        (1 / 3, 6, 2),  # the float 1/3 is just below a third; exactly × 6 < 2
        (Fraction(1, 3), 6, 2),
        (0.5, 6, 3),  # Đà Nẵng: half
        (0.33, 6, 1),  # 1.98: strictly less than a third, rounds down
        (2, 6, 2),  # an int is a number of people
        (0, 6, 0),  # closed
        (0.0, 6, 0),
        (1.0, 6, 6),  # float 1.0 is the whole unit ...
        (1, 6, 1),  # ... int 1 is one person
        (10, 6, 6),  # a count above the headcount is capped
        (2.0, 6, 2),  # the database column is a float: a whole float >= 2 is a count
        (0.29, 100, 29),  # 0.29 × 100 is 28.999999999999996 in floats
        (Fraction(1, 3), 9, 3),
        (Fraction(1, 3), 10, 3),
        (Fraction(1, 3), 12, 4),
        (0.5, 7, 3),
    ],
)
def test_office_capacity(quota: float | int | Fraction, headcount: int, expected: int) -> None:
    assert office_capacity(quota, headcount) == expected


@pytest.mark.parametrize(
    ("quota", "headcount", "expected"),
    [
        # Any non-zero quota keeps one place (the leader on duty) when there is anyone.
        (Fraction(1, 3), 1, 1),
        (0.34, 1, 1),
        (Fraction(1, 3), 2, 1),
        (0.01, 6, 1),
        (2, 1, 1),
        # ... but zero stays zero, and an empty unit has no places.
        (0, 1, 0),
        (Fraction(1, 3), 0, 0),
        (3, 0, 0),
    ],
)
def test_small_units_keep_one_place(
    quota: float | int | Fraction, headcount: int, expected: int
) -> None:
    assert office_capacity(quota, headcount) == expected


@pytest.mark.parametrize("quota", [-1, -0.1, 1.5, float("nan"), float("inf"), Fraction(4, 3)])
def test_bad_quotas_are_refused(quota: float | int | Fraction) -> None:
    with pytest.raises(ValueError):
        office_capacity(quota, 6)


def test_bool_is_not_a_quota() -> None:
    with pytest.raises(TypeError):
        office_capacity(True, 6)


def test_negative_headcount_is_refused() -> None:
    with pytest.raises(ValueError):
        office_capacity(0.5, -1)


def test_normalize_quota_keeps_ints_and_makes_exact_fractions() -> None:
    assert normalize_quota(2) == 2
    assert isinstance(normalize_quota(2), int)
    assert normalize_quota(1 / 3) == Fraction(1, 3)
    assert normalize_quota(0.34) == Fraction(17, 50)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1/3", Fraction(1, 3)),
        (" 1 / 2 ", Fraction(1, 2)),
        ("50%", Fraction(1, 2)),
        ("33,5 %", Fraction(67, 200)),
        ("0.34", Fraction(17, 50)),
        ("0,5", Fraction(1, 2)),
        ("2", 2),
        ("0", 0),
    ],
)
def test_parse_quota(text: str, expected: int | Fraction) -> None:
    parsed = parse_quota(text)
    assert parsed == expected
    assert type(parsed) is type(expected)


@pytest.mark.parametrize("text", ["", "a third", "1/0", "150%", "4/3", "1.5", "-1"])
def test_parse_quota_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quota(text)


# --- decisions -----------------------------------------------------------------------------


def test_two_allowed_third_refused_with_numbers() -> None:
    quota = OfficeQuota(capacity=office_capacity(Fraction(1, 3), 6))
    first = quota.request("an")
    assert first.outcome is QuotaOutcome.ALLOWED
    assert (first.taken, first.capacity, first.remaining()) == (0, 2, 1)
    quota = quota.with_decision(first)

    second = quota.request("binh")
    assert second.outcome is QuotaOutcome.ALLOWED
    assert second.remaining() == 0
    quota = quota.with_decision(second)

    third = quota.request("chi")
    assert third.outcome is QuotaOutcome.REFUSED
    assert not third.allowed
    # The refusal carries the figures for "2/2 đã ở cơ quan".
    assert (third.taken, third.capacity) == (2, 2)
    assert quota.with_decision(third) == quota
    assert quota.remaining() == 0


def test_pressing_office_twice_does_not_take_a_second_place() -> None:
    quota = OfficeQuota(capacity=2, at_office=frozenset({"an"}))
    again = quota.request("an")
    assert again.outcome is QuotaOutcome.ALREADY_AT_OFFICE
    assert again.allowed
    assert not again.consumes_place
    assert quota.with_decision(again).taken() == 1
    assert quota.with_decision(again).remaining() == 1


def test_already_at_office_is_allowed_even_when_full_or_over() -> None:
    # The quota was lowered after people arrived: they are not sent home by re-pressing.
    quota = OfficeQuota(capacity=1, at_office=frozenset({"an", "binh"}))
    assert quota.request("binh").outcome is QuotaOutcome.ALREADY_AT_OFFICE
    assert quota.request("chi").outcome is QuotaOutcome.REFUSED
    assert quota.remaining() == 0


def test_leader_exception_lets_a_third_in_and_is_recorded() -> None:
    quota = OfficeQuota(capacity=2, at_office=frozenset({"an", "binh"}))
    decision = quota.request("chi", exception_by="leader-1")
    assert decision.outcome is QuotaOutcome.ALLOWED_BY_EXCEPTION
    assert decision.granted_by == "leader-1"
    assert decision.allowed and decision.consumes_place
    assert decision.taken_after == 3
    assert decision.remaining() == 0
    after = quota.with_decision(decision)
    assert after.at_office == {"an", "binh", "chi"}
    # Still full for the next person without an exception.
    assert after.request("dung").outcome is QuotaOutcome.REFUSED


def test_unneeded_exception_is_an_ordinary_allow() -> None:
    decision = OfficeQuota(capacity=2).request("an", exception_by="leader-1")
    assert decision.outcome is QuotaOutcome.ALLOWED
    assert decision.granted_by is None


def test_leaders_and_people_on_duty_take_places() -> None:
    # The leader on duty is at the office: one place left out of two.
    quota = OfficeQuota(capacity=2, at_office=frozenset({"leader"}))
    assert quota.remaining() == 1
    quota = quota.with_decision(quota.request("an"))
    assert quota.request("binh").outcome is QuotaOutcome.REFUSED


def test_held_place_protects_the_person_on_duty_from_walk_ins() -> None:
    quota = OfficeQuota(capacity=2, at_office=frozenset({"an"}), reserved=frozenset({"duty"}))
    walk_in = quota.request("binh")
    assert walk_in.outcome is QuotaOutcome.REFUSED
    assert (walk_in.taken, walk_in.capacity, walk_in.held) == (2, 2, 1)
    duty = quota.request("duty")
    assert duty.outcome is QuotaOutcome.ALLOWED
    assert duty.held == 0
    after = quota.with_decision(duty)
    assert after.reserved == frozenset()
    assert after.taken() == 2


def test_holds_never_push_the_building_over_capacity() -> None:
    # A rotation team of three with two places: the first two in get them.
    quota = OfficeQuota(capacity=2, reserved=frozenset({"a1", "a2", "a3"}))
    assert quota.remaining() == 0
    quota = quota.with_decision(quota.request("a1"))
    quota = quota.with_decision(quota.request("a2"))
    last = quota.request("a3")
    assert last.outcome is QuotaOutcome.REFUSED
    assert (last.taken, last.capacity) == (2, 2)


def test_leaving_the_office_frees_the_place() -> None:
    quota = OfficeQuota(capacity=1, at_office=frozenset({"an"}))
    assert quota.request("binh").outcome is QuotaOutcome.REFUSED
    assert quota.without("an").request("binh").outcome is QuotaOutcome.ALLOWED


def test_reserved_people_already_in_are_not_counted_twice() -> None:
    quota = OfficeQuota(capacity=3, at_office=frozenset({"duty"}), reserved=frozenset({"duty"}))
    assert quota.taken() == 1


def test_negative_capacity_is_refused() -> None:
    with pytest.raises(ValueError):
        OfficeQuota(capacity=-1)
