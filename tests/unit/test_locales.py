"""Every message id has a translation in both languages, with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bot.core.i18n import LANGUAGES, Translator
from bot.services.access import Permission

ROOT = Path(__file__).resolve().parents[2]
# Literal keys: ctx.t("k"), t_in(lang, "k"), gettext(lang, "k"), InvalidInput("k"), description="k"
KEY_USES = re.compile(
    r"""(?:\.t\(|t_in\([^,()]+,\s*|gettext\([^,()]+,\s*|InvalidInput\(|Denied\(|UserFacingError\(|description=|_key=)\s*["']([a-z_]+\.[a-z0-9_.]+)["']"""
)


@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator.load()


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_languages_have_the_same_ids(translator: Translator) -> None:
    vi, en = translator.keys("vi"), translator.keys("en")
    assert vi, "no Vietnamese messages loaded"
    assert sorted(vi - en) == [], "missing in en"
    assert sorted(en - vi) == [], "missing in vi"


def test_placeholders_agree(translator: Translator) -> None:
    for key in translator.keys("vi"):
        vi = _placeholders(translator.gettext("vi", key))
        en = _placeholders(translator.gettext("en", key))
        assert vi == en, f"{key}: vi {vi} en {en}"


def test_every_key_used_in_code_exists(translator: Translator) -> None:
    used: set[str] = set()
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            used.update(KEY_USES.findall(path.read_text(encoding="utf-8")))
    assert used, "the scan found no keys: the pattern is broken"
    for lang in LANGUAGES:
        missing = sorted(k for k in used if not translator.has(k, lang))
        assert missing == [], f"missing in {lang}: {missing}"


def test_dynamic_keys_exist(translator: Translator) -> None:
    dynamic = [f"access.denied.{p.value}" for p in Permission]
    dynamic += [f"role.{r}" for r in ("admin", "leader", "deputy", "staff", "citizen")]
    dynamic += [f"invite.error.{e}" for e in ("unknown", "expired", "used", "already_member")]
    for lang in LANGUAGES:
        assert [k for k in dynamic if not translator.has(k, lang)] == []
