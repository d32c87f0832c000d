"""Shared fixtures: a manual clock, a temporary database, an application with a fake channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import Application, build_application
from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.delivery.service import Delivery
from tests.fakes import FakeMessenger, UpdateFactory
from tests.scale.cluster import PG_HOST, PG_PORT, answers, fresh_database

# The mock chat server and the real bot (fixtures mock, chat, runtime, bot_settings, bot).
pytest_plugins = ["tests.bot_fixtures"]


@pytest.fixture
def clock() -> ManualClock:
    # Tuesday 14 April 2020, 09:00 in Hồ Chí Minh City: inside the HCMC distancing period.
    return ManualClock(datetime(2020, 4, 14, 2, 0, tzinfo=UTC))


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every database test runs on SQLite and on PostgreSQL (a fresh database per test)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'congvu.sqlite3'}"
        return
    if not answers(PG_HOST, PG_PORT):
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    async with fresh_database("congvu_t") as url:
        yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=database_url,
        data_dir=tmp_path,
        telegram_token="",
        ops_port=0,
        # Tests that want reminders start the scheduler themselves and move the clock.
        scheduler_enabled=False,
    )


@pytest.fixture
def messenger() -> FakeMessenger:
    return FakeMessenger()


@pytest.fixture
def updates() -> UpdateFactory:
    return UpdateFactory()


@pytest.fixture
async def application(
    settings: Settings, clock: ManualClock, messenger: FakeMessenger
) -> AsyncIterator[Application]:
    async def no_sleep(_: float) -> None:
        return None

    delivery = Delivery(sleep=no_sleep)
    delivery.register(messenger)
    built = await build_application(settings, clock=clock, delivery=delivery, schema="create")
    try:
        yield built
    finally:
        await built.close()
