"""The update journal: every processed update id recorded once, with group commits.

Recording each update in its own transaction costs a database round trip per update; here
concurrent updates share one INSERT … ON CONFLICT DO NOTHING RETURNING, and the rows it
returns are exactly the updates seen for the first time — across processes too, because
the primary key decides.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import Insert
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
        key = (channel, update_id)
        if key in self._recent:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(key, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        # Let every update that is already waiting join this batch.
        await asyncio.sleep(0)
        while self._pending:
            batch, self._pending = (
                self._pending[: self.max_batch],
                self._pending[self.max_batch :],
            )
            try:
                first = await self._write(batch)
            except Exception as exc:
                log.exception("could not record %d updates", len(batch))
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            for item in batch:
                if not item.future.done():
                    item.future.set_result(item.key in first)
                    first.discard(item.key)  # the same key twice in one batch: once only

    async def _write(self, batch: list[_Pending]) -> set[Key]:
        now = self.clock.now()
        unique = list(dict.fromkeys(item.key for item in batch))
        rows = [{"channel": c, "update_id": u, "handled_at": now} for c, u in unique]
        async with self.db.engine.begin() as connection:
            result = await connection.execute(self._insert(), rows)
            inserted = {(row.channel, row.update_id) for row in result}
        self.batches += 1
        for key in unique:
            self._recent[key] = None
        while len(self._recent) > self.remember:
            self._recent.popitem(last=False)
        return inserted
