"""Export writes what import reads: export → import changes nothing, in every format."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.services.org.exporter import TABLE_HEADERS, dump_org, export_org, load_org
from bot.services.org.importer import apply_org, column_of
from bot.services.org.spec import Format
from storage.db import Database
from storage.models import Base
from tests.org.helpers import (
    LATER,
    import_bytes,
    parse_ok,
    people_by_name,
    sample_yaml,
    snapshot,
)

# The demo plus what the demo does not exercise: a unit without people above the others,
# a third as a quota, "everyone" (1.0), free settings, Zalo ids, a person with no ids.
RICH = (
    sample_yaml().decode()
    + """\
  - code: ubnd-p1
    name: "UBND Phường 1"
    office_quota: 1.0
    settings: {quiet_hours: "21:00-07:00", reminder_offsets: [30, 10]}
    group: {telegram: -1001000003, zalo: "4455667788"}
  - code: dc
    name: "Địa chính - Xây dựng"
    parent: ubnd-p1
    office_quota: "1/3"
    working_days: "1-5"
    rotation: {cycle: week, anchor: 2020-04-06}
    people:
      - {name: "Trịnh Văn Phúc", role: leader, telegram: 100021, zalo: "8800112233"}
      - {name: "Lý Thị Quỳnh", role: staff, zalo: "8800112234", manager: Phúc}
      - {name: "Hồ Văn Sơn", role: staff}
"""
).encode()


async def rich_db(db: Database) -> None:
    await import_bytes(db, RICH, "yaml")
    # Someone leaves: deactivated by a later import, still exported (as inactive).
    without_khoa = b"\n".join(line for line in RICH.splitlines() if b"Khoa" not in line)
    await import_bytes(db, without_khoa, "yaml", deactivate_missing=True)


@pytest.mark.parametrize("fmt", ["yaml", "csv", "xlsx"])
async def test_export_then_import_changes_nothing(org_db: Database, fmt: Format) -> None:
    await rich_db(org_db)
    before = await snapshot(org_db)
    async with org_db.transaction() as session:
        data = await export_org(session, fmt)

    report = await import_bytes(org_db, data, fmt, now=LATER)

    assert report.is_noop, report.summary()
    assert report.unchanged == 4 + 13 + 13 + 5  # units, people, identities, chats
    assert await snapshot(org_db) == before


@pytest.mark.parametrize("fmt", ["yaml", "csv", "xlsx"])
async def test_an_export_rebuilds_the_same_organisation_elsewhere(
    org_db: Database, tmp_path: Path, fmt: Format
) -> None:
    await rich_db(org_db)
    async with org_db.transaction() as session:
        first = await load_org(session)
        data = dump_org(first, fmt)
    other = Database(f"sqlite+aiosqlite:///{tmp_path}/other.db")
    async with other.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    try:
        async with other.transaction() as session:
            await apply_org(session, parse_ok(data, fmt), now=LATER)
        async with other.transaction() as session:
            second = await load_org(session)
    finally:
        await other.dispose()
    # Everything but the database ids ("where") survives the trip.
    assert dump_org(second, "yaml") == dump_org(first, "yaml")
    people = {p.name: p for p in second.people}
    assert not people["Bùi Văn Khoa"].active
    assert people["Lý Thị Quỳnh"].zalo == "8800112234"
    assert people["Ngô Thị Lan"].telegram is None and people["Ngô Thị Lan"].username == "lan_nt"


async def test_yaml_export_reads_like_the_documented_format(org_db: Database) -> None:
    await rich_db(org_db)
    async with org_db.transaction() as session:
        text = (await export_org(session, "yaml")).decode()
    assert "admins:\n- {name: Quản trị hệ thống, telegram: 900001, username: qtht_p1}" in text
    assert "support_group: {telegram: -1009000001" in text
    assert "office_quota: 0.34\n" in text  # a share stays a decimal
    assert "office_quota: 1\n" in text  # one person stays an integer
    assert "office_quota: 1.0\n" in text  # everyone stays 1.0
    assert "office_quota: 1/3\n" in text  # a third stays exact
    assert "checkin_by: '09:00'" in text and "report_at: '16:30'" in text
    assert "manager: an_nv" in text and "manager: 100021" in text
    assert "- {name: Bùi Văn Khoa, role: staff, telegram: 100012, username: khoa_bv, " in text
    assert "active: false}" in text
    assert "quiet_hours: 21:00-07:00" in text


async def test_csv_export_opens_in_excel_and_uses_importable_headers(org_db: Database) -> None:
    await rich_db(org_db)
    async with org_db.transaction() as session:
        data = await export_org(session, "csv")
    assert data.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(TABLE_HEADERS.values())
    assert [column_of(h) for h in rows[0]] == list(TABLE_HEADERS)
    names = [row[rows[0].index(TABLE_HEADERS["full_name"])] for row in rows[1:]]
    assert names.count("") == 1  # the unit without people has a row of its own
    assert len(rows) == 1 + 13 + 1  # header, people, the unit without people


async def test_xlsx_export_has_a_bold_header_and_text_quotas(org_db: Database) -> None:
    await rich_db(org_db)
    async with org_db.transaction() as session:
        data = await export_org(session, "xlsx")
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header == list(TABLE_HEADERS.values())
    assert sheet["A1"].font.bold
    quota_column = header.index(TABLE_HEADERS["office_quota"]) + 1
    quotas = {sheet.cell(row=r, column=quota_column).value for r in range(2, sheet.max_row + 1)}
    # Text, and "100%" for everyone, so Excel cannot make "one person" and "everyone" alike.
    assert {"0.34", "1", "100%", "1/3"} <= quotas


async def test_an_edited_csv_export_changes_exactly_what_was_edited(org_db: Database) -> None:
    await import_bytes(org_db, sample_yaml(), "yaml")
    async with org_db.transaction() as session:
        data = (await export_org(session, "csv")).decode("utf-8-sig")
    edited = data.replace("Phạm Thị Dung,staff", "Phạm Thị Dung,deputy")
    assert edited != data

    report = await import_bytes(org_db, edited.encode("utf-8-sig"), "csv", now=LATER)

    assert report.added == [] and len(report.changed) == 1
    assert "Phạm Thị Dung" in report.changed[0] and "role staff → deputy" in report.changed[0]
    assert (await people_by_name(org_db))["Phạm Thị Dung"].role == "deputy"


async def test_export_of_an_empty_database_is_importable_text(org_db: Database) -> None:
    async with org_db.transaction() as session:
        data = await export_org(session, "yaml")
    assert data.decode().rstrip().endswith("units: []")
