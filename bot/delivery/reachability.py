"""Who cannot be reached (403: blocked the bot, chat gone), kept on Identity and Person.

Delivery calls these through its `on_unreachable` / `on_reachable` hooks, so a send never
needs a database session of its own; only the rare change of state writes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.events import ChatRef
from bot.delivery.limits import is_group
from storage.db import Database
from storage.models.org import Identity, Person

log = logging.getLogger(__name__)


@dataclass
class DbReachability:
    db: Database

    async def mark_unreachable(self, chat: ChatRef) -> None:
        if is_group(chat):
            # A 403 in a group means the bot was removed; no person to flag.
            log.warning("bot cannot write to group %s:%s", chat.channel, chat.chat_id)
            return
        await self._set(chat, unreachable=True)

    async def mark_reachable(self, chat: ChatRef) -> None:
        if not is_group(chat):
            await self._set(chat, unreachable=False)

    async def _set(self, chat: ChatRef, *, unreachable: bool) -> None:
        # A private chat's id is its user's id on both Telegram and Zalo.
        async with self.db.transaction() as session:
            identity = await session.scalar(
                select(Identity).where(
                    Identity.channel == chat.channel, Identity.user_id == chat.chat_id
                )
            )
            if identity is None:
                return
            identity.unreachable = unreachable
            if identity.person_id is not None:
                await _refresh_person(session, identity.person_id)
        log.info(
            "%s:%s is %s", chat.channel, chat.chat_id, "unreachable" if unreachable else "reachable"
        )

    async def unreachable_chats(self) -> set[tuple[str, str]]:
        """(channel, chat_id) of every identity flagged unreachable, to seed Delivery."""
        async with self.db.transaction() as session:
            rows = await session.execute(
                select(Identity.channel, Identity.user_id).where(
                    Identity.unreachable.is_(True), Identity.user_id.is_not(None)
                )
            )
            return {(channel, str(user_id)) for channel, user_id in rows}


async def _refresh_person(session: AsyncSession, person_id: int) -> None:
    # A person is unreachable when none of their bound identities can be written to; someone
    # who blocked the Telegram bot but uses Zalo still gets their reminders there.
    await session.flush()
    states = list(
        await session.scalars(
            select(Identity.unreachable).where(
                Identity.person_id == person_id, Identity.user_id.is_not(None)
            )
        )
    )
    await session.execute(
        update(Person)
        .where(Person.id == person_id)
        .values(unreachable=bool(states) and all(states))
    )
