"""The tick: record each due reminder's key once and put its message in the outbox.

Recording the key and enqueueing happen in one transaction, so a crash leaves either both
(the outbox sends it after a restart) or neither (the next tick decides it again): a
reminder is never lost and never decided twice. Reminders missed during downtime are sent
late within the grace period, marked late, or skipped with a log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.app_context import AppContext
from bot.core.events import OutMessage
from bot.delivery.outbox import enqueue
from bot.scheduler.planner import Due, Planner
from storage.models import Reminder

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    sent: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass
class ReminderEngine:
    app: AppContext
    # How far back a tick looks: reminders from a longer outage are skipped, not sent.
    lookback: timedelta = timedelta(hours=12)
    grace: timedelta = timedelta(hours=2)
    late_after: timedelta = timedelta(minutes=5)
    on_enqueued: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.planner = Planner(self.app.i18n, self.app.settings.default_language)

    def _insert(self, session: AsyncSession) -> Insert:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        table = Reminder.__table__
        return dialect.insert(table).on_conflict_do_nothing().returning(table.c.key)

    async def tick(self, now: datetime | None = None) -> TickResult:
        now = now or self.app.clock.now()
        result = TickResult()
        async with self.app.db.transaction() as session:
            due = await self.planner.due_between(
                session, now - self.lookback, now + timedelta(microseconds=1)
            )
        for item in due:
            await self._decide(item, now, result)
        if result.sent or result.late:
            for callback in self.on_enqueued:
                callback()
            metrics = self.app.metrics.reminders
            metrics.labels("sent").inc(len(result.sent))
            metrics.labels("late").inc(len(result.late))
        if result.skipped:
            self.app.metrics.reminders.labels("skipped").inc(len(result.skipped))
        return result

    async def _decide(self, item: Due, now: datetime, result: TickResult) -> None:
        overdue_by = now - item.due_at
        skipped = overdue_by > self.grace
        late = not skipped and overdue_by > self.late_after
        async with self.app.db.transaction() as session:
            row = {
                "key": item.key,
                "kind": item.kind,
                "target": item.target,
                "slot": item.slot,
                "due_at": item.due_at,
                "decided_at": now,
                "late": late,
                "skipped": skipped,
            }
            inserted = (await session.execute(self._insert(session), [row])).first()
            if inserted is None:
                return  # decided before: by an earlier tick, or by another instance
            if skipped:
                log.warning(
                    "reminder %s was due %s, %s ago: skipped (beyond the grace period)",
                    item.key,
                    item.due_at.isoformat(),
                    overdue_by,
                )
                result.skipped.append(item.key)
                return
            text = item.text
            if late:
                text = f"{self.app.i18n.gettext(item.lang, 'remind.late_prefix')} {text}"
            await enqueue(
                session,
                key=f"reminder:{item.key}",
                chat=item.chat,
                message=OutMessage(text),
                not_before=now,
                created_at=now,
            )
        (result.late if late else result.sent).append(item.key)

    async def preview(self, start: datetime, end: datetime, unit: str | None = None) -> list[Due]:
        async with self.app.db.transaction() as session:
            return await self.planner.due_between(session, start, end, unit)
