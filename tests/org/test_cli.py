"""`congvu org import|export` and `congvu audit` through the real command line entry point."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import bot.cli
from bot.cli import org as org_cli
from storage.db import Database
from tests.org.helpers import sample_yaml, snapshot


@pytest.fixture
def congvu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A database of its own, and `org`/`audit` registered even before the lead wires them."""
    database = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("CONGVU_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("CONGVU_TIMEZONE", "Asia/Ho_Chi_Minh")
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    if org_cli not in bot.cli.COMMAND_MODULES:
        monkeypatch.setattr(bot.cli, "COMMAND_MODULES", (*bot.cli.COMMAND_MODULES, org_cli))
    return database


def rows(database: Path) -> dict[str, list[tuple[object, ...]]]:
    async def run() -> dict[str, list[tuple[object, ...]]]:
        db = Database(f"sqlite+aiosqlite:///{database}")
        try:
            return await snapshot(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_import_then_reimport_says_no_changes(
    congvu: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = write(tmp_path, "org.yaml", sample_yaml())

    assert bot.cli.main(["org", "import", sample]) == 0
    first = capsys.readouterr().out
    assert first.startswith("added 25, changed 0, unchanged 0")
    assert "+ person Nguyễn Văn An" in first

    assert bot.cli.main(["org", "import", sample]) == 0
    assert capsys.readouterr().out.strip() == "no changes (25 unchanged)"


def test_dry_run_shows_changes_and_saves_nothing(
    congvu: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = write(tmp_path, "org.yaml", sample_yaml())
    assert bot.cli.main(["org", "import", sample, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run, nothing saved" in out and "added 25" in out
    assert all(not table for table in rows(congvu).values())


def test_a_broken_file_lists_every_error_and_leaves_the_database_alone(
    congvu: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bot.cli.main(["org", "import", write(tmp_path, "org.yaml", sample_yaml())]) == 0
    before = rows(congvu)
    capsys.readouterr()
    broken = (
        sample_yaml()
        .replace(b"role: deputy", b"role: boss")
        .replace(b"office_quota: 0.34", b"office_quota: 1.5")
        .replace(b"telegram: 100004", b"telegram: 100002")
        .replace(b"manager: cuong_lv", b"manager: nobody")
    )

    code = bot.cli.main(["org", "import", write(tmp_path, "bad.yaml", broken)])

    captured = capsys.readouterr()
    assert code == 1
    lines = captured.err.strip().splitlines()
    assert lines[0].endswith("bad.yaml: 4 errors; nothing was imported")
    assert [line.split(": ", 1)[1].split(":")[0:2] for line in lines[1:]] == [
        ["line 14", " office_quota"],
        ["line 22", " role"],
        ["line 24", " telegram"],
        ["line 25", " manager"],
    ]
    assert captured.out == ""
    assert rows(congvu) == before


def test_a_spreadsheet_import_prints_warnings_but_succeeds(
    congvu: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = "unit_code,unit_name,full_name,role\nvp,Văn phòng,An,staff\n".encode("utf-8-sig")
    assert bot.cli.main(["org", "import", write(tmp_path, "ds.csv", data)]) == 0
    err = capsys.readouterr().err
    assert "warning: row 2: An has no Telegram id" in err
    assert "warning: row 2: unit vp has no leader" in err


def test_unknown_extension_and_missing_file_are_one_line_errors(
    congvu: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bot.cli.main(["org", "import", write(tmp_path, "org.json", b"{}")]) == 1
    assert "expected a .yaml, .yml, .csv or .xlsx file" in capsys.readouterr().err
    assert bot.cli.main(["org", "import", str(tmp_path / "nope.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err
    # --format overrides the name.
    assert (
        bot.cli.main(
            ["org", "import", write(tmp_path, "org.txt", sample_yaml()), "--format", "yaml"]
        )
        == 0
    )


def test_export_yaml_to_stdout_and_files_that_import_back(
    congvu: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bot.cli.main(["org", "import", write(tmp_path, "org.yaml", sample_yaml())]) == 0
    capsys.readouterr()

    assert bot.cli.main(["org", "export"]) == 0
    exported = capsys.readouterr().out
    assert "- {name: Trần Thị Bình, role: staff, telegram: 100002" in exported

    for name in ("out.csv", "out.xlsx"):
        out = tmp_path / name
        assert bot.cli.main(["org", "export", "--out", str(out)]) == 0
        assert out.stat().st_size > 0
        assert bot.cli.main(["org", "import", str(out)]) == 0
        assert capsys.readouterr().out.strip() == "no changes (25 unchanged)"


def test_xlsx_export_needs_a_file(congvu: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bot.cli.main(["org", "export", "--format", "xlsx"]) == 1
    assert "needs --out" in capsys.readouterr().err


def test_audit_prints_what_the_import_did(
    congvu: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bot.cli.main(["org", "import", write(tmp_path, "org.yaml", sample_yaml())]) == 0
    capsys.readouterr()

    assert bot.cli.main(["audit", "--since", "2000-01-01"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 25
    assert all("import org.yaml  org.import.add" in line for line in lines)
    assert any('"full_name": "Trần Thị Bình"' in line for line in lines)
    assert "25 entries since 2000-01-01 00:00 (Asia/Ho_Chi_Minh)" in captured.err

    assert bot.cli.main(["audit", "--since", "2999-01-01T08:00"]) == 0
    assert capsys.readouterr().out == ""
    assert bot.cli.main(["audit", "--since", "2000-01-01", "--action", "org.import.change"]) == 0
    assert capsys.readouterr().out == ""


def test_audit_refuses_a_malformed_date(congvu: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        bot.cli.main(["audit", "--since", "yesterday"])
    assert exited.value.code == 2
    assert "expected YYYY-MM-DD" in capsys.readouterr().err


def test_an_export_that_cannot_be_written_says_why_in_one_line(
    congvu: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bot.cli.main(["org", "import", write(tmp_path, "org.yaml", sample_yaml())]) == 0
    capsys.readouterr()
    target = tmp_path / "missing-folder" / "org.yaml"
    assert bot.cli.main(["org", "export", "--out", str(target)]) == 1
    err = capsys.readouterr().err.strip()
    assert f"cannot write {target}: " in err and "\n" not in err
