"""The tasks feature uses the end-to-end fixtures too."""

from __future__ import annotations

from tests.e2e.conftest import bot, bot_settings, chat, mock, runtime  # noqa: F401
