"""Message ids built at run time (per mode, symptom, advice, rotation problem) exist in both
languages; the literal ones are checked by tests/unit/test_locales.py."""

from __future__ import annotations

import pytest

from bot.core.i18n import LANGUAGES, Translator
from bot.services.attendance.health import HealthAdvice, Symptom
from bot.services.attendance.modes import Mode
from bot.services.attendance.rotation import Cycle, RotationIssueCode


def dynamic_keys() -> list[str]:
    keys = [f"checkin.mode.{m.value}" for m in Mode]
    keys += [f"checkin.button.{m.value}" for m in Mode]
    keys += [f"checkin.symptom.{s.value}" for s in Symptom]
    keys += [f"checkin.health.{a.value}" for a in HealthAdvice if a is not HealthAdvice.OK]
    keys += [f"rotation.issue.{c.value}" for c in RotationIssueCode]
    keys += [f"rotation.cycle.{c.value}" for c in Cycle]
    keys += [f"rotation.calendar.{k}_{a}" for k in ("off", "working") for a in ("added", "removed")]
    return keys


@pytest.mark.parametrize("lang", LANGUAGES)
def test_dynamic_checkin_keys_exist(lang: str) -> None:
    translator = Translator.load()
    assert [k for k in dynamic_keys() if not translator.has(k, lang)] == []
