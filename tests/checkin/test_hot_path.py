"""What a busy morning costs: a check-in reads its unit's day once, caches give the same answers."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import Application
from bot.clock import ManualClock
from bot.services.attendance import service
from tests.checkin.driver import Driver
from tests.checkin.helpers import MORNING, Org, build_unit


@pytest.fixture
async def org(application: Application, clock: ManualClock) -> Org:
    clock.set(MORNING)
    return await build_unit(application.app.db)


async def test_a_check_in_reads_its_units_day_once(
    drive: Driver, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[Any] = []
    load = service.load_unit_day

    async def counted(*args: Any, **kwargs: Any) -> service.UnitDay:
        loads.append(args)
        return await load(*args, **kwargs)

    monkeypatch.setattr(service, "load_unit_day", counted)
    await drive.say(org.staff[0], "/checkin office")
    assert "Tại cơ quan hôm nay: 1/2" in drive.text(org.staff[0])
    assert len(loads) == 1
