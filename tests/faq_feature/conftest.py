"""FAQ feature tests: the router, start-up hook and CLI module wired in as the app will be."""

from __future__ import annotations

import pytest

import bot.app as app_module
import bot.cli as cli_module
import handlers
from bot.cli import faq as faq_cli
from handlers import faq
from tests.e2e.conftest import bot, bot_settings, chat, mock, runtime  # noqa: F401


@pytest.fixture(autouse=True)
def faq_wired(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until handlers/__init__.py and bot/cli/__init__.py list the FAQ, add it here (last,
    because its free-text route takes any private text). Once wired, this does nothing."""
    if faq.router not in handlers.FEATURE_ROUTERS:
        routers = (*handlers.FEATURE_ROUTERS, faq.router)
        monkeypatch.setattr(handlers, "FEATURE_ROUTERS", routers)
        monkeypatch.setattr(app_module, "FEATURE_ROUTERS", routers)
    if faq.setup not in handlers.FEATURE_SETUPS:
        setups = (*handlers.FEATURE_SETUPS, faq.setup)
        monkeypatch.setattr(handlers, "FEATURE_SETUPS", setups)
        monkeypatch.setattr(app_module, "FEATURE_SETUPS", setups)
    if faq_cli not in cli_module.COMMAND_MODULES:
        modules = (*cli_module.COMMAND_MODULES, faq_cli)
        monkeypatch.setattr(cli_module, "COMMAND_MODULES", modules)
