"""Check-in tests: the e2e fixtures, and the check-in routers wired into the application."""

from __future__ import annotations

import pytest

import bot.app as bot_app
from handlers import checkin, roster

# Every end-to-end fixture (mock, chat, runtime, bot_settings, bot), whatever it grows to.
from tests.e2e.conftest import *  # noqa: F403


@pytest.fixture(autouse=True)
def _checkin_routers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Until handlers/__init__.py lists these routers, add them for the tests of this folder;
    # once it does, this changes nothing.
    routers = tuple(bot_app.FEATURE_ROUTERS)
    missing = tuple(r for r in (checkin.router, roster.router) if r not in routers)
    if missing:
        monkeypatch.setattr(bot_app, "FEATURE_ROUTERS", routers + missing)
