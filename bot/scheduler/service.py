"""APScheduler inside `congvu run`/`demo`: a tick every half minute on the leading instance.

APScheduler only keeps time here; what is due is decided from the database by the engine,
so a restart or a change of leader loses nothing and repeats nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.core.app_context import AppContext
from bot.scheduler.engine import ReminderEngine
from bot.scheduler.leader import Leadership
from storage.repositories.core import prune_updates

log = logging.getLogger(__name__)
Job = Callable[[AppContext], Awaitable[object]]
# Zalo retries for an hour, Telegram keeps updates for a day: a week is ample.
UPDATE_MEMORY = timedelta(days=7)
HOUSEKEEPING_EVERY = 120  # ticks, about an hour at the default interval


class SchedulerService:
    def __init__(
        self,
        engine: ReminderEngine,
        leadership: Leadership,
        interval_seconds: float = 30,
        jobs: Sequence[Job] = (),
    ) -> None:
        self.engine = engine
        # Features' own periodic sends (e.g. heads' report digests), run on the leader only.
        self.jobs = tuple(jobs)
        self.leadership = leadership
        self.interval = interval_seconds
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.ticks = 0

    async def tick(self) -> None:
        try:
            if not await self.leadership.hold():
                return
            result = await self.engine.tick()
            for job in self.jobs:
                await job(self.engine.app)
            self.ticks += 1
            if self.ticks % HOUSEKEEPING_EVERY == 1:
                await self.housekeeping()
            if result.sent or result.late or result.skipped:
                log.info(
                    "reminders: %d sent, %d late, %d skipped",
                    len(result.sent),
                    len(result.late),
                    len(result.skipped),
                )
        except Exception:
            # The next tick tries again; decisions already recorded are not repeated.
            log.exception("scheduler tick failed")

    async def housekeeping(self) -> None:
        """Forget processed update ids once no platform would redeliver them."""
        app = self.engine.app
        async with app.db.transaction() as session:
            pruned = await prune_updates(session, app.clock.now() - UPDATE_MEMORY)
        if pruned:
            log.info("forgot %d processed update ids", pruned)

    def start(self) -> None:
        self.scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=self.interval),
            id="reminders",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        self.scheduler.start()

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.leadership.release()
