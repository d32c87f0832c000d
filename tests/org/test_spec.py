"""Pure helpers of the organisation model: default heads, stored quotas, error text."""

from __future__ import annotations

from fractions import Fraction

from bot.services.org.importer import ImportReport
from bot.services.org.spec import RowError, default_head_index, quota_value
from tests.org.helpers import parse_ok

TREE = b"""\
admins: [{name: Admin, telegram: 9}]
units:
  - {code: top, name: Top, people: [{name: Boss, role: leader, telegram: 1}]}
  - code: mid
    name: Mid
    parent: top
    people:
      - {name: Head, role: leader, telegram: 2}
      - {name: Deputy, role: deputy, telegram: 3}
      - {name: Clerk, telegram: 4}
  - code: low
    name: Low
    parent: mid
    people: [{name: Alone, telegram: 5}]
"""


def test_default_heads_follow_the_unit_tree() -> None:
    spec = parse_ok(TREE, "yaml")
    names = [p.name for p in spec.people]

    def head(name: str) -> str | None:
        index = default_head_index(spec, names.index(name))
        return None if index is None else names[index]

    assert head("Clerk") == "Head"
    assert head("Deputy") == "Head"
    assert head("Head") == "Boss"  # a leader's head leads the unit above
    assert head("Alone") == "Head"  # a unit without a leader: the nearest leader above
    assert head("Boss") is None
    assert head("Admin") is None


def test_stored_quota_comes_back_as_count_or_exact_share() -> None:
    assert quota_value(None, {}) is None
    assert quota_value(1.0, {"office_quota_kind": "people"}) == 1
    assert isinstance(quota_value(1.0, {"office_quota_kind": "people"}), int)
    assert quota_value(1.0, {"office_quota_kind": "share"}) == Fraction(1)
    assert quota_value(1 / 3, {"office_quota_kind": "share"}) == Fraction(1, 3)
    assert quota_value(0.34, {}) == Fraction(17, 50)
    # Written by something other than the importer: above 1 and whole can only be people.
    assert quota_value(3.0, {}) == 3


def test_report_summary_lists_changes_one_per_line() -> None:
    report = ImportReport(added=["unit vp (V)"], changed=["person A (#1): role staff → deputy"])
    assert report.summary() == (
        "added 1, changed 1, unchanged 0\n+ unit vp (V)\n~ person A (#1): role staff → deputy"
    )
    assert ImportReport(unchanged=7).summary() == "no changes (7 unchanged)"
    assert ImportReport(unchanged=7).is_noop
    assert not ImportReport(deactivated=["person B (#2)"]).is_noop


def test_row_error_reads_as_one_line() -> None:
    assert str(RowError("row 5", "Vai trò", "unknown role 'sếp'")) == (
        "row 5: Vai trò: unknown role 'sếp'"
    )
    assert str(RowError("line 1", None, "the file is empty")) == "line 1: the file is empty"
