"""Fixtures for the tasks feature: its router in the app, a small organisation, e2e fixtures."""

from __future__ import annotations

import pytest

import handlers
from bot import app as app_module
from handlers import tasks as tasks_handlers
from tests.e2e.conftest import bot, bot_settings, chat, mock, runtime  # noqa: F401


@pytest.fixture(autouse=True)
def _tasks_router(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the router is wired into FEATURE_ROUTERS, add it for these tests.

    ``bot.app`` imported the tuple by name, so both places are patched; autouse fixtures
    run before the application and the bot are built.
    """
    if tasks_handlers.router in handlers.FEATURE_ROUTERS:
        return
    routers = (*handlers.FEATURE_ROUTERS, tasks_handlers.router)
    monkeypatch.setattr(handlers, "FEATURE_ROUTERS", routers)
    monkeypatch.setattr(app_module, "FEATURE_ROUTERS", routers)
