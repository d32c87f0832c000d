"""`congvu faq match|unanswered` and `congvu catalog import|export` through the entry point."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

import bot.cli as cli
from bot.services.faq.catalogue import parse_catalogue
from bot.services.faq.policy import VIETNAM_TZ
from storage.db import Database
from storage.repositories import faq as repo
from tests.faq.conftest import read_dev
from tests.faq_feature.helpers import BAD_CSV, catalogue_bytes, catalogue_with_extra_alias

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def congvu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> str:
    """The CLI on a fresh database of its own (SQLite and PostgreSQL), no stray .env read."""
    monkeypatch.setenv("CONGVU_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    return database_url


def run(url: str, work):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        db = Database(url)
        try:
            await db.upgrade()
            async with db.transaction() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(go())


def versions(url: str) -> int:
    async def count(session):  # type: ignore[no-untyped-def]
        return await repo.latest_version_id(session) or 0

    return int(run(url, count))


def match(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lines: list[str]
) -> list[dict]:
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    assert cli.main(["faq", "match", "--jsonl", "--at", "2020-04-06T09:00"]) == 0
    out = capsys.readouterr().out.splitlines()
    return [json.loads(line) for line in out]


def test_match_answers_every_dev_question(
    congvu: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = read_dev()
    # The questions as plain lines, one per line.
    records = match(monkeypatch, capsys, [row["q"] for row in dev])
    assert len(records) == len(dev)
    for row, record in zip(dev, records, strict=True):
        assert set(record) == {"query", "kind", "id", "title", "score", "accepted", "postal"}
        assert record["query"] == row["q"]
        expected = [e for e in row["expect"] if e != "none"]
        if expected:
            assert record["id"] in expected, record
            assert record["kind"] == ("topic" if record["id"].startswith("topic:") else "procedure")
        else:
            assert record["kind"] == "none" and record["id"] is None, record
        if "accepted" in row:
            assert record["accepted"] is row["accepted"], record

    # Postal flags, topics and out-of-scope questions.
    marriage, lltp, topic, chatter, empty = match(
        monkeypatch,
        capsys,
        ["đăng ký kết hôn", "lý lịch tư pháp", "nhận kết quả qua bưu điện", "giá vàng hôm nay", ""],
    )
    assert (marriage["accepted"], marriage["postal"]) == (False, False)
    assert (lltp["accepted"], lltp["postal"]) == (True, True)
    assert topic["kind"] == "topic" and topic["accepted"] is None and topic["postal"] is None
    assert chatter["kind"] == "none" and chatter["title"] is None
    assert empty["query"] == "" and empty["kind"] == "none"
    # The file itself (JSON lines with "q") is understood too.
    path = ROOT.parent / "shared" / "data" / "faq_dev.jsonl"
    if path.exists():
        lines = path.read_text(encoding="utf-8").splitlines()
        again = match(monkeypatch, capsys, [line for line in lines if line.strip()])
        assert [r["id"] for r in again] == [r["id"] for r in records]


def test_match_answers_line_by_line_on_a_fresh_database(tmp_path: Path) -> None:
    """A real process on a pipe: each answer comes before the next question is written."""
    code = (
        "import bot.cli as c; from bot.cli import faq\n"
        "c.COMMAND_MODULES = tuple(dict.fromkeys((*c.COMMAND_MODULES, faq)))\n"
        "raise SystemExit(c.main(['faq', 'match', '--jsonl']))\n"
    )
    env = {
        "CONGVU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}",
        "PYTHONPATH": str(ROOT),
        "PATH": "/usr/bin:/bin",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env=env,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        for question, expected in (
            ("lam giay khai sinh cho con", "khai-sinh"),
            ("cap so do", "gcn-qsdd"),
        ):
            process.stdin.write(question + "\n")
            process.stdin.flush()
            record = json.loads(process.stdout.readline())
            assert record["query"] == question and record["id"] == expected
    finally:
        process.stdin.close()
        assert process.wait(timeout=30) == 0


def test_catalog_import_export_and_the_unanswered_list(
    congvu: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = versions(congvu)
    path = tmp_path / "bad.csv"
    path.write_bytes(BAD_CSV)
    assert cli.main(["catalog", "import", str(path)]) == 1
    err = capsys.readouterr().err
    for where in ("row 2", "row 3", "row 4"):
        assert f"bad.csv: {where}" in err
    assert "nothing was changed" in err
    assert versions(congvu) == before

    source = catalogue_with_extra_alias("giấy chào đời")
    path = tmp_path / "new.yaml"
    path.write_bytes(catalogue_bytes(source, "yaml"))
    assert cli.main(["catalog", "import", str(path), "--dry-run"]) == 0
    assert versions(congvu) == 0
    assert cli.main(["catalog", "import", str(path)]) == 0
    assert "imported new.yaml" in capsys.readouterr().out
    out = tmp_path / "export.xlsx"
    assert cli.main(["catalog", "export", "--out", str(out)]) == 0
    exported = parse_catalogue(out.read_bytes(), "xlsx")
    assert exported.catalogue == source
    assert cli.main(["catalog", "export", "--format", "csv", "--out", str(tmp_path / "c.csv")]) == 0
    assert parse_catalogue((tmp_path / "c.csv").read_bytes(), "csv").catalogue == source
    nowhere = tmp_path / "missing-folder" / "c.yaml"
    assert cli.main(["catalog", "export", "--out", str(nowhere)]) == 1
    assert f"cannot write {nowhere}: " in capsys.readouterr().err.splitlines()[-1]

    # The learning loop's list.
    async def log(session):  # type: ignore[no-untyped-def]
        asked = [("gia vang", "giá vàng?"), ("gia vang", "giá vàng"), ("nuoi cho", "nuôi chó")]
        for number, (normalized, example) in enumerate(asked):
            await repo.record_unanswered(
                session,
                normalized=normalized,
                example=example,
                kind="none",
                best_id="tam-vang" if normalized == "gia vang" else None,
                best_score=45.0,
                at=datetime(2020, 4, 14, 2, number, tzinfo=VIETNAM_TZ),
            )

    run(congvu, log)
    assert cli.main(["faq", "unanswered"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "count" in lines[0]
    assert lines[1].split()[0] == "2" and "giá vàng?" in lines[1] and "tam-vang" in lines[1]
    assert lines[2].split()[0] == "1" and "nuôi chó" in lines[2]
    assert cli.main(["faq", "unanswered", "--json"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["count"] == 2 and first["normalized"] == "gia vang"
