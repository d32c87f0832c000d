"""The update journal: every processed update id recorded once, with group commits.

Recording each update in its own transaction costs a database round trip per update; here
concurrent updates share one INSERT … ON CONFLICT DO NOTHING RETURNING, and the rows it
returns are exactly the updates seen for the first time — across processes too, because
the primary key decides.

The dispatcher asks `seen` before handling and records (`first_time`) only after: an update
whose handling was cut short (the instance killed, the task cancelled) is not in the journal,
so the platform's redelivery — to this instance or another — handles it again, while the
redelivery of an update that was handled is a no-op. Lookups are grouped like the inserts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.clock import Clock
from storage.db import Database
from storage.models import ProcessedUpdate

log = logging.getLogger(__name__)

Key = tuple[str, str]


@dataclass
class _Pending:
    key: Key
    future: asyncio.Future[bool]


class UpdateJournal:
    def __init__(
        self, db: Database, clock: Clock, *, max_batch: int = 500, remember: int = 50_000
    ) -> None:
        self.db = db
        self.clock = clock
        self.max_batch = max_batch
        self.remember = remember
        self._pending: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self._lookups: list[_Pending] = []
        self._looker: asyncio.Task[None] | None = None
        # Recently recorded keys: a redelivery is refused without a database round trip.
        self._recent: OrderedDict[Key, None] = OrderedDict()
        self.batches = 0

    def _insert(self) -> Insert:
        dialect = sqlite if self.db.is_sqlite else postgresql
        table = ProcessedUpdate.__table__
        return (
            dialect.insert(table)
            .on_conflict_do_nothing()
            .returning(table.c.channel, table.c.update_id)
        )

    async def first_time(self, channel: str, update_id: str) -> bool:
        """Record the update; True if it was not recorded before (by any process)."""
        key = (channel, update_id)
        if key in self._recent:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(key, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(
                self._flush(self._take_pending, self._write, once=True)
            )
        return await future

    async def seen(self, channel: str, update_id: str) -> bool:
        """True if the update was recorded already (by any process); records nothing."""
        key = (channel, update_id)
        if key in self._recent:
            return True
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._lookups.append(_Pending(key, future))
        if self._looker is None or self._looker.done():
            self._looker = asyncio.create_task(
                self._flush(self._take_lookups, self._find, once=False)
            )
        return await future

    def _take_pending(self) -> list[_Pending]:
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        return batch

    def _take_lookups(self) -> list[_Pending]:
        batch, self._lookups = self._lookups[: self.max_batch], self._lookups[self.max_batch :]
        return batch

    async def _flush(
        self,
        take: Callable[[], list[_Pending]],
        run: Callable[[list[_Pending]], Awaitable[set[Key]]],
        *,
        once: bool,
    ) -> None:
        """Answer every waiting caller with one statement per batch: in `run`'s set or not."""
        # Let every update that is already waiting join this batch.
        await asyncio.sleep(0)
        while batch := take():
            try:
                keys = await run(batch)
            except Exception as exc:
                log.exception("update journal: %d updates failed", len(batch))
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            for item in batch:
                if not item.future.done():
                    item.future.set_result(item.key in keys)
                    if once:
                        keys.discard(item.key)  # the same key twice in one batch: once only

    async def _find(self, batch: list[_Pending]) -> set[Key]:
        table = ProcessedUpdate.__table__
        by_channel: dict[str, list[str]] = {}
        for channel, update_id in dict.fromkeys(item.key for item in batch):
            by_channel.setdefault(channel, []).append(update_id)
        found: set[Key] = set()
        async with self.db.engine.connect() as connection:
            for channel, ids in by_channel.items():
                result = await connection.execute(
                    select(table.c.update_id).where(
                        table.c.channel == channel, table.c.update_id.in_(ids)
                    )
                )
                found.update((channel, update_id) for (update_id,) in result)
        for key in found:
            self._remember(key)
        return found

    async def _write(self, batch: list[_Pending]) -> set[Key]:
        now = self.clock.now()
        unique = list(dict.fromkeys(item.key for item in batch))
        rows = [{"channel": c, "update_id": u, "handled_at": now} for c, u in unique]
        async with self.db.engine.begin() as connection:
            result = await connection.execute(self._insert(), rows)
            inserted = {(row.channel, row.update_id) for row in result}
        self.batches += 1
        for key in unique:
            self._remember(key)
        return inserted

    def _remember(self, key: Key) -> None:
        self._recent[key] = None
        while len(self._recent) > self.remember:
            self._recent.popitem(last=False)
