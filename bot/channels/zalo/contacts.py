"""Who wrote to the OA and when: the 48-hour reply window and the free-reply allowance.

Zalo lets an OA answer a user free of charge for 48 hours after that user's last message,
8 messages at most; anything later or beyond is a "proactive" message (billed, capped per
month, and refused for users who stopped interacting). The time of the last message is kept
in the database so a restart does not forget who may still be answered; the reply count is
only an early warning, kept in memory.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from bot.channels.zalo import protocol
from bot.clock import Clock
from storage.db import Database
from storage.models import ZaloContact

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Contact:
    user_id: str
    last_message_at: datetime
    display_name: str = ""
    last_msg_id: str | None = None


class ContactBook:
    def __init__(self, db: Database, clock: Clock, *, remember: int = 20_000) -> None:
        self.db = db
        self.clock = clock
        self.remember = remember
        self._cache: OrderedDict[str, Contact] = OrderedDict()
        self._replies: dict[str, int] = {}

    def _keep(self, contact: Contact) -> None:
        self._cache[contact.user_id] = contact
        self._cache.move_to_end(contact.user_id)
        while len(self._cache) > self.remember:
            old, _ = self._cache.popitem(last=False)
            self._replies.pop(old, None)

    async def get(self, user_id: str) -> Contact | None:
        cached = self._cache.get(user_id)
        if cached is not None:
            return cached
        async with self.db.sessions() as session:
            row = await session.get(ZaloContact, user_id)
            if row is None:
                return None
            contact = Contact(row.user_id, row.last_message_at, row.display_name, row.last_msg_id)
        self._keep(contact)
        return contact

    async def wrote(
        self, user_id: str, at: datetime, msg_id: str | None, display_name: str = ""
    ) -> Contact:
        """The user just wrote (or followed): the reply window and allowance start again."""
        async with self.db.transaction() as session:
            row = await session.get(ZaloContact, user_id)
            if row is None:
                row = ZaloContact(user_id=user_id, display_name=display_name)
                session.add(row)
            # Retries and parallel events can arrive out of order: the window never shrinks.
            if row.last_message_at is None or at >= row.last_message_at:
                row.last_message_at = at
                row.last_msg_id = msg_id
            if display_name:
                row.display_name = display_name
            contact = Contact(user_id, row.last_message_at, row.display_name, row.last_msg_id)
        self._replies[user_id] = 0
        self._keep(contact)
        return contact

    async def name(self, user_id: str, display_name: str) -> None:
        async with self.db.transaction() as session:
            row = await session.get(ZaloContact, user_id)
            if row is not None:
                row.display_name = display_name
        cached = self._cache.get(user_id)
        if cached is not None:
            self._keep(Contact(user_id, cached.last_message_at, display_name, cached.last_msg_id))

    async def may_reply(self, user_id: str) -> bool:
        contact = await self.get(user_id)
        if contact is None:
            return False
        return self.clock.now() - contact.last_message_at <= protocol.REPLY_WINDOW

    def replied(self, user_id: str) -> int:
        """Count a reply; warns once when the free allowance of this window is used up."""
        count = self._replies.get(user_id, 0) + 1
        self._replies[user_id] = count
        if count == protocol.FREE_REPLIES_PER_WINDOW + 1:
            log.warning(
                "zalo: more than %d replies to user %s since their last message; further "
                "replies count as proactive messages",
                protocol.FREE_REPLIES_PER_WINDOW,
                user_id,
            )
        return count
