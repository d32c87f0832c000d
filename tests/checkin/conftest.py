"""Fixtures for the check-in tests: people typing and pressing through the core."""

from __future__ import annotations

import pytest

from bot.app import Application
from tests.checkin.driver import Driver
from tests.fakes import FakeMessenger, UpdateFactory


@pytest.fixture
def drive(application: Application, messenger: FakeMessenger, updates: UpdateFactory) -> Driver:
    return Driver(application, messenger, updates)
