"""The command line: help, one-line errors, exit codes."""

from __future__ import annotations

import pytest

from bot.cli import main


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "demo", "mockserver", "db", "org", "audit"):
        assert command in out


def test_bad_arguments_give_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--port", "seventy"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "seventy" in err


def test_run_without_token_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.delenv("CONGVU_TELEGRAM_TOKEN", raising=False)
    monkeypatch.setenv("CONGVU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/x.sqlite3")
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err]
    assert "CONGVU_TELEGRAM_TOKEN" in err


def test_malformed_setting_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONGVU_TIMEZONE", "Mars/Olympus")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err.strip()
    assert "CONGVU_TIMEZONE" in err and "Mars/Olympus" in err
    assert len(err.splitlines()) == 1


def test_db_upgrade_creates_the_schema(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.setenv("CONGVU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3")
    assert main(["db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert (tmp_path / "db.sqlite3").exists()
