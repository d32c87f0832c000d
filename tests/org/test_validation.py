"""Bad organisation files: every error is reported, with its line or row and field."""

from __future__ import annotations

import pytest

from bot.services.org.importer import detect_format, parse_org
from tests.org.helpers import parse_errors, parse_ok, places, sample_yaml

# One mistake per line (and a few lines with two), so the test can demand all of them.
BROKEN_YAML = """\
admins: [{name: "Quản trị", telegram: 900001}]
units:
  - code: vp
    name: "Văn phòng"
    timezone: Asia/Ha_Noi
    office_quota: 1.5
    checkin_by: "25:00"
    report_at: 16:30
    parent: xx
    people:
      - {name: "An", role: boss, telegram: 100001}
      - {name: "Bình", role: staff, telegram: 100001}
      - {name: "Cường", role: staff, telegram: "abc"}
      - {name: "Dung", role: staff, manager: nobody, username: dung_pt}
      - {name: "Em", role: staff, username: DUNG_PT}
      - {name: 123, role: staff, telegram: 100009, on_duty: maybe}
      - {name: "Giang", role: staff, telegarm: 100010}
  - code: vp
    name: "Khác"
    office_quota: -1
    working_days: "1-8"
  - code: a
    name: A
    parent: b
  - code: b
    name: B
    parent: a
"""


def test_every_error_in_a_broken_yaml_file_is_listed_with_line_and_field() -> None:
    errors = parse_errors(BROKEN_YAML.encode(), "yaml")

    assert places(errors) == {
        ("line 5", "timezone"),
        ("line 6", "office_quota"),
        ("line 7", "checkin_by"),
        ("line 9", "parent"),
        ("line 11", "role"),
        ("line 12", "telegram"),
        ("line 13", "telegram"),
        ("line 14", "manager"),
        ("line 15", "username"),
        ("line 16", "name"),
        ("line 16", "on_duty"),
        ("line 17", "telegarm"),
        ("line 18", "code"),
        ("line 20", "office_quota"),
        ("line 21", "working_days"),
        ("line 24", "parent"),
    }
    assert len(errors) == 16
    # In file order, so an admin can walk down the file.
    assert [int(e.where.split()[1]) for e in errors] == sorted(
        int(e.where.split()[1]) for e in errors
    )
    text = {(e.where, e.field): e.message for e in errors}
    assert "Asia/Ha_Noi" in text[("line 5", "timezone")]
    assert "above 1" in text[("line 6", "office_quota")]
    assert "below 0" in text[("line 20", "office_quota")]
    assert "'boss'" in text[("line 11", "role")]
    assert "already used on line 11" in text[("line 12", "telegram")]
    assert "already used on line 14" in text[("line 15", "username")]
    assert "'nobody'" in text[("line 14", "manager")]
    assert "'xx'" in text[("line 9", "parent")]
    assert "already used on line 3" in text[("line 18", "code")]
    assert "a → b → a" in text[("line 24", "parent")]
    assert "put it in quotes" in text[("line 16", "name")]


def test_error_text_names_place_field_and_problem() -> None:
    errors = parse_errors(b"units:\n  - {code: vp, name: V, checkin_by: '9:75'}\n", "yaml")
    assert [str(e) for e in errors] == [
        "line 2: checkin_by: '9:75' is not a time of day; expected HH:MM such as \"09:00\" "
        'or "16:30"'
    ]


@pytest.mark.parametrize(
    ("text", "where", "needle"),
    [
        ("units:\n  - code: vp\n    name: [unclosed\n    people: []\n", "line 4", "line 3"),
        ("units:\n  - code: vp\n\tname: x\n", "line 3", "'\\t'"),
        ("units: [\n", "line 2", "not valid YAML"),
    ],
)
def test_broken_yaml_reports_the_line_of_the_problem(text: str, where: str, needle: str) -> None:
    errors = parse_errors(text.encode(), "yaml")
    assert len(errors) == 1
    assert errors[0].where == where
    assert "not valid YAML" in errors[0].message and needle in errors[0].message


@pytest.mark.parametrize(
    ("data", "fmt", "where"),
    [
        (b"", "yaml", "line 1"),
        (b"  \n\n", "yaml", "line 1"),
        (b"# only a comment\n", "yaml", "line 1"),
        (b"", "csv", "row 1"),
        (b"\xef\xbb\xbf\r\n;;;\r\n", "csv", "row 1"),
    ],
)
def test_an_empty_file_is_one_clear_error(data: bytes, fmt: str, where: str) -> None:
    errors = parse_errors(data, fmt)  # type: ignore[arg-type]
    assert [(e.where, e.message) for e in errors] == [(where, "the file is empty")]


def test_a_file_without_units_or_people_is_refused() -> None:
    errors = parse_errors(b"units: []\n", "yaml")
    assert [e.message for e in errors] == ["the file has no units and no people"]


def test_a_unit_with_two_leaders_is_an_error_on_the_second() -> None:
    text = (
        "units:\n  - code: vp\n    name: V\n    people:\n"
        "      - {name: A, role: leader, telegram: 1}\n"
        "      - {name: B, role: Trưởng phòng, telegram: 2}\n"
        "      - {name: C, role: Phó trưởng phòng, telegram: 3}\n"
    )
    errors = parse_errors(text.encode(), "yaml")
    assert places(errors) == {("line 6", "role")}
    assert "already has a leader (A, line 5)" in errors[0].message


def test_a_unit_without_a_leader_is_only_a_warning() -> None:
    spec = parse_ok(b"units:\n  - {code: vp, name: V, people: [{name: A, telegram: 1}]}\n", "yaml")
    assert [w.message for w in spec.warnings] == [
        "unit vp has no leader; its people's default head is the leader of the unit above"
    ]


def test_unit_hierarchy_cycles_are_reported_once_per_cycle() -> None:
    text = (
        "units:\n"
        "  - {code: a, name: A, parent: c}\n"
        "  - {code: b, name: B, parent: a}\n"
        "  - {code: c, name: C, parent: b}\n"
        "  - {code: d, name: D, parent: d}\n"
        "  - {code: e, name: E, parent: a}\n"
    )
    errors = parse_errors(text.encode(), "yaml")
    assert [(e.where, e.message) for e in errors] == [
        ("line 2", "the unit hierarchy has a cycle: a → c → b → a"),
        ("line 5", "the unit hierarchy has a cycle: d → d"),
    ]


def test_manager_cycles_are_found_through_named_and_default_heads() -> None:
    named = (
        "units:\n  - code: vp\n    name: V\n    people:\n"
        "      - {name: A, role: leader, telegram: 1, manager: 3}\n"
        "      - {name: B, telegram: 2, manager: 1}\n"
        "      - {name: C, telegram: 3, manager: 2}\n"
    )
    errors = parse_errors(named.encode(), "yaml")
    assert [(e.where, e.field, e.message) for e in errors] == [
        ("line 5", "manager", "the chain of direct heads has a cycle: A → C → B → A")
    ]
    # B's head is A by default (A leads the unit); A naming B closes the loop.
    through_default = (
        "units:\n  - code: vp\n    name: V\n    people:\n"
        "      - {name: A, role: leader, telegram: 1, manager: b_user}\n"
        "      - {name: B, telegram: 2, username: b_user}\n"
    )
    errors = parse_errors(through_default.encode(), "yaml")
    assert [e.message for e in errors] == ["the chain of direct heads has a cycle: A → B → A"]


def test_a_person_cannot_be_their_own_head_and_ambiguous_names_are_refused() -> None:
    text = (
        "units:\n  - code: vp\n    name: V\n    people:\n"
        "      - {name: A, role: leader, telegram: 1, manager: 1}\n"
        "      - {name: Lan, telegram: 2}\n"
        "      - {name: Lan, telegram: 3}\n"
        "      - {name: C, telegram: 4, manager: Lan}\n"
    )
    errors = parse_errors(text.encode(), "yaml")
    assert [(e.where, e.message) for e in errors] == [
        ("line 5", "a person cannot be their own head"),
        ("line 8", "'Lan' is ambiguous (line 6, line 7); use a username or Telegram id"),
    ]


@pytest.mark.parametrize(
    ("quota", "expected"),
    [
        ("0.34", 0.34),
        ("'1/3'", 1 / 3),
        ("'34%'", 0.34),
        ("0", 0),
        ("1", 1),
        ("1.0", 1.0),
        ("2.0", 2),
        ("3", 3),
    ],
)
def test_quota_is_a_share_or_a_whole_number_of_people(quota: str, expected: float) -> None:
    spec = parse_ok(f"units:\n  - {{code: vp, name: V, office_quota: {quota}}}\n".encode(), "yaml")
    value = spec.units[0].office_quota
    assert value == pytest.approx(expected)
    assert type(value) is type(expected)  # int means people, float means a share


@pytest.mark.parametrize("quota", ["1.5", "-0.1", "-2", "'150%'", "true", "'a third'", "[1]"])
def test_bad_quotas_are_refused(quota: str) -> None:
    errors = parse_errors(
        f"units:\n  - {{code: vp, name: V, office_quota: {quota}}}\n".encode(), "yaml"
    )
    assert places(errors) == {("line 2", "office_quota")}


def test_unquoted_times_are_not_read_as_base_60_numbers() -> None:
    # YAML 1.1 reads 16:30 as 990 and 9:00 as 540; the importer must see the time.
    spec = parse_ok(
        b"units:\n  - {code: vp, name: V, checkin_by: 9:00, report_at: 16:30}\n", "yaml"
    )
    assert (spec.units[0].checkin_by, spec.units[0].report_at) == ("09:00", "16:30")


def test_duplicate_keys_and_wrong_shapes_are_errors() -> None:
    text = (
        "units:\n"
        "  - code: vp\n"
        "    name: V\n"
        "    name: W\n"
        "    people: {a: 1}\n"
        "  - just text\n"
        "admins: 5\n"
    )
    errors = parse_errors(text.encode(), "yaml")
    assert places(errors) == {
        ("line 4", "name"),
        ("line 5", "people"),
        ("line 6", None),
        ("line 7", "admins"),
    }


def test_chat_ids_must_be_unique_between_units_and_the_support_group() -> None:
    text = b"support_group: -1001\nunits:\n  - {code: vp, name: V, group: -1001}\n"
    errors = parse_errors(text, "yaml")
    assert [(e.where, e.field, e.message) for e in errors] == [
        ("line 3", "group", "chat telegram -1001 is already used on line 1")
    ]


def test_rotation_teams_must_match_people_and_anchor_must_be_a_real_date() -> None:
    text = (
        "units:\n  - code: vp\n    name: V\n"
        "    rotation: {anchor: 2020-02-30, teams: [A, B]}\n"
        "    people:\n      - {name: A, role: leader, telegram: 1, team: C}\n"
    )
    errors = parse_errors(text.encode(), "yaml")
    assert places(errors) == {("line 4", "anchor"), ("line 6", "team")}


def test_only_admins_may_be_outside_every_unit() -> None:
    errors = parse_errors(b"people: [{name: A, telegram: 1}]\n", "yaml")
    assert [(e.where, e.field) for e in errors] == [("line 1", "unit")]
    spec = parse_ok(b"admins: [{name: A, telegram: 1}]\n", "yaml")
    assert spec.people[0].role == "admin"


def test_the_demo_file_is_valid_without_warnings() -> None:
    spec = parse_ok(sample_yaml(), "yaml")
    assert spec.warnings == ()
    assert [u.code for u in spec.units] == ["vp", "tp"]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("org.yaml", "yaml"), ("ORG.YML", "yaml"), ("ds.csv", "csv"), ("Danh sách.xlsx", "xlsx")],
)
def test_detect_format_by_extension(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt


@pytest.mark.parametrize("name", ["org.xls", "org.json", "org"])
def test_detect_format_refuses_unknown_extensions(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        detect_format(name)


def test_parse_org_never_raises_on_garbage() -> None:
    for data in (b"\x00\x01\x02\xff" * 50, b"PK\x03\x04garbage", bytes(range(256))):
        for fmt in ("yaml", "csv", "xlsx"):
            result = parse_org(data, fmt)  # type: ignore[arg-type]
            assert isinstance(result, list) and result, (data[:8], fmt)


@pytest.mark.parametrize("zalo", ["-8800112233", "88001-12233", "８８００"])
def test_zalo_ids_are_ascii_digits_only(zalo: str) -> None:
    person = (
        "units:\n  - code: vp\n    name: V\n    people:\n"
        f'      - {{name: An, role: leader, zalo: "{zalo}"}}\n'
    )
    group = f'units:\n  - code: vp\n    name: V\n    group: {{zalo: "{zalo}"}}\n'
    for data, needle in ((person, "Zalo user id"), (group, "Zalo chat id")):
        messages = [str(e) for e in parse_errors(data.encode(), "yaml")]
        assert any(f"is not a {needle} (digits only)" in m for m in messages), messages
