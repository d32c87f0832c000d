"""CSV and XLSX from Excel: encodings, separators, Vietnamese headers, row numbers."""

from __future__ import annotations

import io
import unicodedata
from datetime import time
from typing import Any

import pytest
from openpyxl import Workbook

from bot.services.org.importer import column_of, decode_text, parse_org
from storage.db import Database
from tests.org.helpers import (
    LATER,
    import_bytes,
    parse_errors,
    parse_ok,
    people_by_name,
    places,
    snapshot,
    to_cp1258,
)

# What a ward office's Excel sheet looks like: a title, a blank line, Vietnamese headers,
# unit details on the first row of each unit only, roles as job titles, "9h00" times.
ROSTER = """\
DANH SÁCH CÁN BỘ UBND PHƯỜNG 1;;;;;;;;;;
;;;;;;;;;;
STT;Mã đơn vị;Tên đơn vị;Họ và tên;Chức vụ;Telegram ID;Username;Cấp trên;Tỉ lệ;Hạn điểm danh;Nhóm
1;vp;Văn phòng UBND Phường 1;Nguyễn Văn An;Trưởng phòng;100001;an_nv;;0,34;9h00;A
2;vp;;Trần Thị Bình;Chuyên viên;100002;binh_tt;an_nv;;;B
3;vp;;Lê Văn Cường;Phó trưởng phòng;100003;@cuong_lv;;;;A
4;tp;Tư pháp - Hộ tịch;Đỗ Thị Hạnh;lãnh đạo;;hanh_dt;;1;08:30;
5;tp;;Ngô Thị Lan;cán bộ;100013;;Hạnh;;;
"""
NAMES = {"Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Đỗ Thị Hạnh", "Ngô Thị Lan"}


def check_roster(data: bytes) -> None:
    spec = parse_ok(data, "csv")
    assert {p.name for p in spec.people} == NAMES
    assert all(unicodedata.is_normalized("NFC", p.name) for p in spec.people)
    roles = {p.name: p.role.value for p in spec.people}
    assert roles == {
        "Nguyễn Văn An": "leader",
        "Trần Thị Bình": "staff",
        "Lê Văn Cường": "deputy",
        "Đỗ Thị Hạnh": "leader",
        "Ngô Thị Lan": "staff",
    }
    units = {u.code: u for u in spec.units}
    assert units["vp"].name == "Văn phòng UBND Phường 1"
    assert (units["vp"].office_quota, units["vp"].checkin_by) == (0.34, "09:00")
    assert (units["tp"].office_quota, units["tp"].checkin_by) == (1, "08:30")
    by_name = {p.name: p for p in spec.people}
    assert by_name["Lê Văn Cường"].username == "cuong_lv"  # "@" dropped
    assert spec.people[by_name["Trần Thị Bình"].manager or 0].name == "Nguyễn Văn An"
    assert spec.people[by_name["Ngô Thị Lan"].manager or 0].name == "Đỗ Thị Hạnh"


def test_csv_utf8_with_bom_and_semicolons() -> None:
    data = ROSTER.encode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    check_roster(data)


def test_csv_windows_1258_with_combining_tone_marks() -> None:
    data = to_cp1258(ROSTER)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    # "Nguyễn": ê (0xEA) followed by the combining tilde (0xDE), as old Excel writes it.
    assert b"Nguy\xea\xden" in data
    check_roster(data)


async def test_cp1258_and_utf8_imports_of_one_roster_are_the_same_people(
    org_db: Database,
) -> None:
    await import_bytes(org_db, to_cp1258(ROSTER), "csv")
    people = await people_by_name(org_db)
    assert set(people) == NAMES
    before = await snapshot(org_db)
    report = await import_bytes(org_db, ROSTER.encode("utf-8-sig"), "csv", now=LATER)
    assert report.is_noop
    assert await snapshot(org_db) == before


def test_csv_with_commas_and_english_headers() -> None:
    data = (
        "Unit Code,Unit Name,Full Name,Role,Telegram ID,Username,Manager\n"
        'vp,"Văn phòng, UBND",Nguyễn Văn An,leader,100001,an_nv,\n'
        "vp,,Trần Thị Bình,staff,100002,binh_tt,100001\n"
    ).encode()
    spec = parse_ok(data, "csv")
    assert spec.units[0].name == "Văn phòng, UBND"
    assert spec.people[1].manager == 0  # a Telegram id works as the manager reference


def test_utf16_tab_separated_unicode_text_from_excel() -> None:
    data = ROSTER.replace(";", "\t").encode("utf-16")
    check_roster(data)


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("Mã đơn vị", "unit_code"),
        ("MÃ ĐƠN VỊ", "unit_code"),
        ("ma don vi", "unit_code"),
        ("Họ tên (full_name)", "full_name"),
        ("Full name", "full_name"),
        ("full_name", "full_name"),
        ("Vai trò", "role"),
        ("Telegram ID", "telegram_id"),
        ("Cấp trên trực tiếp", "manager"),
        ("Nhóm", "team"),
        ("Nhóm Telegram", "group_telegram"),
        ("Đơn vị cấp trên", "parent_unit"),
        ("Ghi chú", None),
    ],
)
def test_headers_match_without_case_or_diacritics(header: str, column: str | None) -> None:
    assert column_of(header) == column


def test_every_bad_row_is_reported_with_its_spreadsheet_row_number() -> None:
    data = (
        "Danh sách\n"
        "unit_code,unit_name,full_name,role,telegram_id,username,manager,office_quota,checkin_by\n"
        "vp,Văn phòng,An,leader,100001,an_nv,,0.34,09:00\n"
        "vp,Văn phòng khác,Bình,boss,100001,,nobody,0.5,\n"
        ",,Cường,staff,abc,,,,\n"
        "\n"
        "tp,,Dung,staff,100004,AN_NV,,,\n"
        "tp,,,staff,,,,,\n"
        "xx!,,Em,staff,100005,,,,\n"
    ).encode()
    errors = parse_errors(data, "csv")
    assert places(errors) == {
        ("row 4", "unit_name"),  # differs from row 3
        ("row 4", "office_quota"),
        ("row 4", "role"),
        ("row 4", "telegram_id"),  # duplicate of row 3
        ("row 4", "manager"),
        ("row 5", "unit_code"),  # only admins may have no unit
        ("row 5", "telegram_id"),
        ("row 7", "unit_name"),  # unit tp never named
        ("row 7", "username"),  # duplicate, case-insensitive
        ("row 8", "full_name"),
        ("row 9", "unit_code"),
    }


def test_errors_name_the_columns_as_the_file_wrote_them() -> None:
    data = "Mã đơn vị;Tên đơn vị;Họ tên;Vai trò\nvp;V;An;sếp\n".encode()
    errors = parse_errors(data, "csv")
    assert [(e.where, e.field) for e in errors] == [("row 2", "Vai trò")]


def test_missing_required_columns_are_named() -> None:
    errors = parse_errors(b"unit_code,telegram_id,username\nvp,1,a_user\n", "csv")
    assert [(e.where, e.message) for e in errors] == [
        ("row 1", "missing required columns: full_name, role")
    ]


def test_a_sheet_without_any_header_is_refused() -> None:
    errors = parse_errors(b"a,b,c\n1,2,3\n", "csv")
    assert errors[0].where == "row 1" and "no header row" in errors[0].message


def test_the_same_column_twice_is_an_error() -> None:
    errors = parse_errors("Họ tên,Full name,unit_code,role\nA,B,vp,staff\n".encode(), "csv")
    assert places(errors) == {("row 1", "Full name")}


def test_unknown_columns_are_warnings_and_common_ones_are_silent() -> None:
    spec = parse_ok(
        "STT,unit_code,unit_name,full_name,role,telegram_id,Quê quán\n1,vp,V,A,leader,1\n".encode(),
        "csv",
    )
    assert [(w.where, w.field) for w in spec.warnings] == [("row 1", "Quê quán")]


def test_admin_rows_support_group_and_a_unit_without_people() -> None:
    data = (
        "unit_code,unit_name,parent_unit,full_name,role,telegram_id,support_group\n"
        ",,,Quản trị,admin,900001,-1009000001\n"
        "ubnd,UBND Phường 1,,,,,\n"
        "vp,Văn phòng,ubnd,An,leader,100001,\n"
    ).encode()
    spec = parse_ok(data, "csv")
    assert [(u.code, u.parent) for u in spec.units] == [("ubnd", None), ("vp", "ubnd")]
    assert [(p.name, p.unit, p.role.value) for p in spec.people] == [
        ("Quản trị", None, "admin"),
        ("An", "vp", "leader"),
    ]
    assert spec.support_group is not None and spec.support_group.telegram == "-1009000001"


def workbook_bytes(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


XLSX_ROWS: list[list[Any]] = [
    ["DANH SÁCH CÁN BỘ UBND PHƯỜNG 1"],
    [],
    [
        "Mã đơn vị",
        "Tên đơn vị",
        "Họ tên",
        "Vai trò",
        "Telegram ID",
        "Username",
        "Tỉ lệ",
        "Hạn điểm danh",
        "Nhóm Telegram",
    ],
    [
        "vp",
        "Văn phòng UBND Phường 1",
        "Nguyễn Văn An",
        "leader",
        100001,
        "an_nv",
        0.34,
        time(9, 0),
        -1001000001,
    ],
    ["vp", None, "Trần Thị Bình", "staff", 100002.0, "binh_tt", None, None, None],
    ["vp", None, "Lê Văn Cường", "deputy", 100003, None, None, None, None],
]


async def test_xlsx_import_with_numbers_times_and_a_title_row(org_db: Database) -> None:
    data = workbook_bytes(XLSX_ROWS)
    spec = parse_ok(data, "xlsx")
    unit = spec.units[0]
    assert (unit.office_quota, unit.checkin_by) == (0.34, "09:00")
    assert unit.group is not None and unit.group.telegram == "-1001000001"
    assert [p.telegram for p in spec.people] == ["100001", "100002", "100003"]

    report = await import_bytes(org_db, data, "xlsx")
    assert len(report.added) == 1 + 3 + 3 + 1  # unit, people, identities, group
    again = await import_bytes(org_db, data, "xlsx", now=LATER)
    assert again.is_noop


def test_xlsx_errors_use_sheet_row_numbers() -> None:
    rows = [list(r) for r in XLSX_ROWS]
    rows[4][3] = "giám đốc sở"  # row 5 in Excel
    rows[5][6] = 1.5  # a quota on row 6 that conflicts and is also out of range
    errors = parse_errors(workbook_bytes(rows), "xlsx")
    assert places(errors) == {("row 5", "Vai trò"), ("row 6", "Tỉ lệ")}


def test_an_xlsx_named_csv_is_still_read_as_a_workbook() -> None:
    spec = parse_org(workbook_bytes(XLSX_ROWS), "csv")
    assert not isinstance(spec, list) and len(spec.people) == 3


def test_a_corrupt_workbook_is_one_error() -> None:
    errors = parse_errors(b"PK\x03\x04 not really a zip", "xlsx")
    assert len(errors) == 1 and "not a valid XLSX workbook" in errors[0].message


def test_decode_text_normalises_every_spelling_to_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Nguyễn")
    assert decode_text(nfd.encode("utf-8")) == "Nguyễn"
    assert decode_text(to_cp1258("Nguyễn")) == "Nguyễn"
    assert decode_text("Nguyễn".encode("utf-8-sig")) == "Nguyễn"
