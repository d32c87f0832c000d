"""What a busy morning costs: the reads a check-in makes, and only those."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

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


async def test_only_an_office_check_in_looks_for_a_leaders_exception(
    drive: Driver, org: Org, application: Application
) -> None:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(application.app.db.engine.sync_engine, "before_cursor_execute", seen)
    await drive.say(org.staff[0], "/checkin home")
    assert "làm việc tại nhà" in drive.text(org.staff[0])
    assert not [s for s in statements if "quota_exceptions" in s]
    await drive.say(org.staff[0], "/checkin office")
    assert [s for s in statements if "quota_exceptions" in s]
