"""`congvu export evaluation` through the real command line entry point."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

import bot.cli
from bot.cli import export as export_cli
from storage.db import Database
from storage.models import Attendance, Report
from tests.reports.conftest import Org, make_org


@pytest.fixture
def congvu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Org:
    """A migrated database of its own with the small organisation, and `export` registered
    even before the lead wires it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("CONGVU_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    if export_cli not in bot.cli.COMMAND_MODULES:
        monkeypatch.setattr(bot.cli, "COMMAND_MODULES", (*bot.cli.COMMAND_MODULES, export_cli))

    async def prepare() -> Org:
        db = Database(url)
        try:
            await db.upgrade()
            org = await make_org(db)
            async with db.transaction() as session:
                moment = datetime(2020, 4, 14, 9, 0, tzinfo=UTC)
                session.add(
                    Report(
                        person_id=org.an_id,
                        unit_id=org.unit_id,
                        day=date(2020, 4, 14),
                        done="Xử lý 4 hồ sơ",
                        submitted_at=moment,
                        updated_at=moment,
                    )
                )
                session.add(
                    Attendance(
                        person_id=org.an_id,
                        unit_id=org.unit_id,
                        day=date(2020, 4, 14),
                        mode="office",
                        late=True,
                        checked_in_at=moment,
                        updated_at=moment,
                    )
                )
            return org
        finally:
            await db.dispose()

    return asyncio.run(prepare())


def test_xlsx_in_vietnamese(congvu: Org, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "q2.xlsx"
    argv = [
        "export",
        "evaluation",
        "--unit",
        "motcua",
        "--from",
        "2020-04-13",
        "--to",
        "2020-04-17",
    ]
    assert bot.cli.main([*argv, "--out", str(out)]) == 0
    assert "4 people" in capsys.readouterr().out
    book = load_workbook(out)
    rows = list(book["Cá nhân"].iter_rows(values_only=True))
    header = rows[0]
    an = dict(zip(header, next(r for r in rows if r[2] == "Nguyễn Văn An"), strict=True))
    assert an["Ngày làm việc"] == 5  # the whole week has passed (the real clock is later)
    assert (an["Điểm danh tại cơ quan"], an["Điểm danh muộn"]) == (1, 1)
    assert (an["Báo cáo đã gửi"], an["Báo cáo còn thiếu"]) == (1, 4)
    assert book["Tổng hợp đơn vị"]["A2"].value == "MOTCUA"


def test_csv_in_english_with_a_units_file(congvu: Org, tmp_path: Path) -> None:
    out = tmp_path / "week.csv"
    argv = ["export", "evaluation", "--unit", "MOTCUA", "--from", "2020-04-13", "--to"]
    assert bot.cli.main([*argv, "2020-04-17", "--out", str(out), "--lang", "en"]) == 0
    with out.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    an = next(r for r in rows if r["Full name"] == "Nguyễn Văn An")
    assert (an["Reports submitted"], an["Reports missing"], an["Late check-ins"]) == ("1", "4", "1")
    with (tmp_path / "week-units.csv").open(encoding="utf-8-sig") as handle:
        [unit] = list(csv.DictReader(handle))
    assert (unit["Unit code"], unit["Headcount"]) == ("MOTCUA", "4")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--unit", "NOPE", "--from", "2020-04-13", "--to", "2020-04-17"], "no unit"),
        (["--unit", "MOTCUA", "--from", "2020-04-17", "--to", "2020-04-13"], "is after"),
        (["--unit", "MOTCUA", "--from", "2019-01-01", "--to", "2020-04-13"], "over 366 days"),
        (["--unit", "MOTCUA", "--from", "13/04/2020", "--to", "2020-04-13"], "YYYY-MM-DD"),
    ],
)
def test_bad_input_is_one_line_and_a_failure(
    congvu: Org, tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], message: str
) -> None:
    out = tmp_path / "x.xlsx"
    assert bot.cli.main(["export", "evaluation", *args, "--out", str(out)]) != 0
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error
    assert not out.exists()


def test_unknown_format_is_refused(congvu: Org, tmp_path: Path, capsys) -> None:
    argv = ["export", "evaluation", "--unit", "MOTCUA", "--from", "2020-04-13", "--to"]
    assert bot.cli.main([*argv, "2020-04-17", "--out", str(tmp_path / "x.pdf")]) == 1
    assert ".xlsx or .csv" in capsys.readouterr().err
