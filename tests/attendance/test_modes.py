"""What people type after /checkin or /diemdanh, with and without Vietnamese diacritics."""

from __future__ import annotations

import pytest

from bot.services.attendance.modes import Mode, parse_mode, strip_command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # office
        ("/checkin office", Mode.OFFICE),
        ("/diemdanh coquan", Mode.OFFICE),
        ("/diemdanh@CongVuBot co quan", Mode.OFFICE),
        ("co quan", Mode.OFFICE),
        ("cơ quan", Mode.OFFICE),
        ("Cơ Quan", Mode.OFFICE),
        ("ở cơ quan", Mode.OFFICE),
        ("vp", Mode.OFFICE),
        ("VP", Mode.OFFICE),
        ("văn phòng", Mode.OFFICE),
        ("vanphong", Mode.OFFICE),
        ("công sở", Mode.OFFICE),
        ("  office!  ", Mode.OFFICE),
        # home
        ("/diemdanh nha", Mode.HOME),
        ("nha", Mode.HOME),
        ("nhà", Mode.HOME),
        ("o nha", Mode.HOME),
        ("ở nhà", Mode.HOME),
        ("onha", Mode.HOME),
        ("làm việc tại nhà", Mode.HOME),
        ("wfh", Mode.HOME),
        ("WFH", Mode.HOME),
        ("home", Mode.HOME),
        ("work from home", Mode.HOME),
        # leave
        ("nghi", Mode.LEAVE),
        ("nghỉ", Mode.LEAVE),
        ("nghỉ phép", Mode.LEAVE),
        ("nghi phep", Mode.LEAVE),
        ("phep", Mode.LEAVE),
        ("phép", Mode.LEAVE),
        ("leave", Mode.LEAVE),
        ("/checkin leave", Mode.LEAVE),
        # field trip
        ("cong tac", Mode.FIELD_TRIP),
        ("công tác", Mode.FIELD_TRIP),
        ("di cong tac", Mode.FIELD_TRIP),
        ("đi công tác", Mode.FIELD_TRIP),
        ("ĐI CÔNG TÁC", Mode.FIELD_TRIP),
        ("field", Mode.FIELD_TRIP),
        ("trip", Mode.FIELD_TRIP),
        ("field trip", Mode.FIELD_TRIP),
        ("field_trip", Mode.FIELD_TRIP),  # the button's callback value
        ("/diemdanh congtac", Mode.FIELD_TRIP),
    ],
)
def test_known_modes(text: str, expected: Mode) -> None:
    assert parse_mode(text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "/checkin",
        "/diemdanh",
        "banana",
        "không ở nhà",  # "not at home": only whole phrases match
        "co quan nha",
        "nhaa",
        "/start office",  # another command is not a check-in
        "officer",
        "37.5",
    ],
)
def test_unknown_modes(text: str) -> None:
    assert parse_mode(text) is None


def test_strip_command_only_strips_checkin_commands() -> None:
    assert strip_command("/checkin   vp ") == "vp"
    assert strip_command("/DIEMDANH nha") == "nha"
    assert strip_command("/roster today") == "/roster today"
    assert strip_command("văn phòng") == "văn phòng"


def test_only_office_counts_toward_quota() -> None:
    assert [m for m in Mode if m.counts_toward_quota] == [Mode.OFFICE]
