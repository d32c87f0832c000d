"""`congvu remind --dry-run --date YYYY-MM-DD [--unit CODE]`: what would be sent when."""

from __future__ import annotations

import argparse
import html
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.app import build_application
from bot.cli.common import CommandError
from bot.config import load_settings
from bot.scheduler.engine import ReminderEngine

TAGS = re.compile(r"<[^>]+>")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    remind = sub.add_parser("remind", help="list the reminders of a day (nothing is sent)")
    remind.add_argument("--dry-run", action="store_true", required=True)
    remind.add_argument("--date", type=_date, required=True, help="YYYY-MM-DD")
    remind.add_argument("--unit", help="only this unit's code")
    remind.set_defaults(func=_remind)


async def _remind(args: argparse.Namespace) -> int:
    settings = load_settings()
    application = await build_application(settings)
    try:
        zone = ZoneInfo(settings.timezone)
        start = datetime.combine(args.date, time(0, 0), tzinfo=zone).astimezone(UTC)
        engine = ReminderEngine(application.app)
        if args.unit:
            from sqlalchemy import select

            from storage.models import Unit

            async with application.app.db.transaction() as session:
                if await session.scalar(select(Unit.id).where(Unit.code == args.unit)) is None:
                    raise CommandError(f"no unit with code {args.unit!r}")
        due = await engine.preview(start, start + timedelta(days=1), args.unit)
    finally:
        await application.close()
    if not due:
        print(f"nothing would be sent on {args.date.isoformat()}")
        return 0
    for item in due:
        local = item.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        first_line = html.unescape(TAGS.sub("", item.text.splitlines()[0]))
        print(f"{local}  {item.kind:<20} {item.chat.channel}:{item.chat.chat_id:<14} {first_line}")
    print(f"{len(due)} reminders")
    return 0
