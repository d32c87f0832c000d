"""Every message id the report modules name — literally or built from a value — exists in
both languages (the shared locale test sees only ids passed straight to ctx.t and friends)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.i18n import LANGUAGES, Translator
from bot.services.reports.export import PERSON_COLUMNS, UNIT_COLUMNS
from bot.services.reports.periods import PeriodProblem
from bot.services.reports.rules import PARTS, ContentProblem

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    ROOT / "handlers" / "reports.py",
    ROOT / "handlers" / "summary.py",
    ROOT / "bot" / "services" / "reports" / "export.py",
]
LITERAL = re.compile(r"""["']((?:report|summary|chart|export|cmd)\.[a-z_]+(?:\.[a-z_]+)*)["']""")
NOT_MESSAGES = {"report.digest"}  # an audit action, not a message


@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator.load()


def test_literal_ids_exist(translator: Translator) -> None:
    used = {key for path in SOURCES for key in LITERAL.findall(path.read_text("utf-8"))}
    assert len(used) > 50, "the scan found too few ids: the pattern is broken"
    for lang in LANGUAGES:
        missing = sorted(k for k in used - NOT_MESSAGES if not translator.has(k, lang))
        assert missing == [], f"missing in {lang}: {missing}"


def test_built_ids_exist(translator: Translator) -> None:
    built = [f"report.part.{p.value}" for p in PARTS]
    built += [f"report.ask.{p.value}" for p in PARTS]
    built += [f"report.{p.value}" for p in ContentProblem]
    built += [f"report.period.{p.value}" for p in PeriodProblem]
    built += [f"report.delivery.{o}" for o in ("sent", "held", "no_head", "unreachable")]
    built += [f"export.col.{c.key}" for c in (*PERSON_COLUMNS, *UNIT_COLUMNS)]
    for lang in LANGUAGES:
        assert [k for k in built if not translator.has(k, lang)] == [], lang
