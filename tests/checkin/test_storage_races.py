"""What depends on the database: the unit lock, the unique row per day, exceptions once.

Run on SQLite and on PostgreSQL (the ``database_url`` fixture's two parameters).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.app import Application
from bot.clock import ManualClock
from storage.models import Attendance
from storage.repositories import attendance as attendance_repo
from tests.checkin.driver import Driver
from tests.checkin.helpers import (
    MORNING,
    Org,
    attendance_rows,
    build_unit,
    events_of,
)


@pytest.fixture
async def org(application: Application, clock: ManualClock) -> Org:
    clock.set(MORNING)
    return await build_unit(application.app.db)


async def test_two_requests_for_the_last_place_at_once_get_one_place(
    drive: Driver, org: Org, application: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    an, binh, cuong = org.staff[:3]
    await drive.say(an, "/checkin office")
    read = attendance_repo.rows_of_day

    async def slow_read(*args: Any, **kwargs: Any) -> list[Attendance]:
        # Widen the window between reading the day's check-ins and writing one, so that
        # without the unit lock both requests would see one free place.
        rows = await read(*args, **kwargs)
        await asyncio.sleep(0.05)
        return rows

    monkeypatch.setattr(attendance_repo, "rows_of_day", slow_read)
    outcomes = await asyncio.gather(
        drive.say(binh, "/checkin office"), drive.say(cuong, "/checkin office")
    )
    assert all(not o.errors for o in outcomes)
    office = [r for r in await attendance_rows(application.app.db) if r.mode == "office"]
    assert len(office) == 2
    texts = [drive.text(binh), drive.text(cuong)]
    assert sum("2/2 đã ở cơ quan" in t for t in texts) == 1


async def test_the_same_button_twice_and_an_old_card_make_no_second_record(
    drive: Driver, org: Org, application: Application, clock: ManualClock
) -> None:
    an = org.staff[0]
    await drive.say(an, "/checkin")
    card = drive.last(an)
    first = await drive.press(an, card, "Ở nhà")
    second = await drive.press(an, card, "Ở nhà")
    assert first.callback_answer is not None and first.callback_answer.text == "Đã ghi nhận."
    assert second.callback_answer is not None
    assert "không có gì thay đổi" in (second.callback_answer.text or "")
    rows = await attendance_rows(application.app.db)
    assert [(r.person_id, r.mode, r.version) for r in rows] == [(an.person_id, "home", 1)]
    assert len(await events_of(application.app.db, an.person_id)) == 1

    # Tomorrow, yesterday's card records nothing for any day.
    clock.set(datetime(2020, 4, 15, 1, 30, tzinfo=UTC))
    old = await drive.press(an, card, "Cơ quan")
    assert old.callback_answer is not None and old.callback_answer.alert
    assert "đã cũ" in (old.callback_answer.text or "")
    assert len(await attendance_rows(application.app.db)) == 1
