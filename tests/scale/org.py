"""A large organisation for the scale test and benchmark, imported with the org importer.

Units of `UNIT_SIZE` people (one leader each), all in one time zone chosen so that the local
time is around midday whenever the test runs: no check-in or reminder falls across midnight,
into quiet hours or on a different local date than the one asserted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select

from bot.scheduler.settings import KINDS
from bot.services.org.importer import apply_org, parse_org
from storage.db import Database
from storage.models import Unit

UNIT_SIZE = 20
FIRST_USER_ID = 700_001
MORNING = "checkin.morning"


def midday_zone(now: datetime) -> ZoneInfo:
    """A fixed-offset zone where `now` is between 12:00 and 13:00 (Etc/GMT-7 is UTC+7)."""
    offset = 12 - now.astimezone(UTC).hour
    if offset == 0:
        return ZoneInfo("Etc/GMT")
    return ZoneInfo(f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}")


def user_ids(count: int) -> list[int]:
    return list(range(FIRST_USER_ID, FIRST_USER_ID + count))


def org_yaml(count: int, zone: ZoneInfo, today: date) -> bytes:
    """`count` people in units of UNIT_SIZE; every day a working day, no reminder enabled yet
    (a reminder decided before the test opens the wave would be recorded as skipped, and a
    skipped key is never sent)."""
    ids = user_ids(count)
    units = []
    for start in range(0, count, UNIT_SIZE):
        code = f"u{start // UNIT_SIZE:04d}"
        people = [
            {
                "name": f"Cán bộ {user_id}",
                "role": "leader" if i == 0 else "staff",
                "telegram": user_id,
                "language": "vi",
            }
            for i, user_id in enumerate(ids[start : start + UNIT_SIZE])
        ]
        units.append(
            {
                "code": code,
                "name": f"Phòng {code}",
                "timezone": zone.key,
                "working_days": "1234567",
                "checkin_by": "09:00",
                "settings": {
                    # Today may be a public holiday in Việt Nam: make it a working day anyway.
                    "extra_working_days": [today.isoformat(), (today + timedelta(1)).isoformat()],
                    "reminders": {"disabled": list(KINDS)},
                },
                "people": people,
            }
        )
    return yaml.safe_dump({"version": 1, "units": units}, allow_unicode=True).encode()


async def import_org(database_url: str, count: int, zone: ZoneInfo, now: datetime) -> None:
    spec = parse_org(org_yaml(count, zone, now.astimezone(zone).date()), "yaml")
    if isinstance(spec, list):
        raise AssertionError(f"the generated organisation is invalid: {spec[:3]}")
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            await apply_org(session, spec, now=now)
    finally:
        await db.dispose()


async def open_morning_wave(database_url: str, zone: ZoneInfo, now: datetime) -> time:
    """Enable only the morning reminder, due a minute ago (inside the grace period, before
    the 5-minute 'late' mark): the leader's next tick decides it for everyone."""
    at = (now.astimezone(zone) - timedelta(minutes=1)).time().replace(second=0, microsecond=0)
    disabled = [kind for kind in KINDS if kind != MORNING]
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            for unit in await session.scalars(select(Unit)):
                settings = dict(unit.settings or {})
                settings["reminders"] = {"morning_at": at.strftime("%H:%M"), "disabled": disabled}
                unit.settings = settings
    finally:
        await db.dispose()
    return at
