"""The handler's view of one update: who, where, what; how to answer; the conversation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.app_context import AppContext
from bot.core.events import (
    Button,
    CallbackAnswer,
    ChatKind,
    ChatRef,
    Incoming,
    Keyboard,
    OutDocument,
    OutMessage,
    SentRef,
)
from bot.services.access import Actor
from storage.repositories import core as core_repo

DEFAULT_FLOW_TTL = timedelta(minutes=30)


@dataclass
class Flow:
    """The conversation this person is in within this chat, if any (stored in the database)."""

    sessions: SessionSource
    incoming: Incoming
    now: datetime
    name: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    expired: bool = False

    @property
    def active(self) -> bool:
        return self.name is not None

    async def start(
        self,
        name: str,
        step: str,
        data: dict[str, Any] | None = None,
        ttl: timedelta = DEFAULT_FLOW_TTL,
    ) -> None:
        self.name, self.step, self.data = name, step, dict(data or {})
        await self._save(ttl)

    async def goto(self, step: str, ttl: timedelta = DEFAULT_FLOW_TTL, **updates: Any) -> None:
        if self.name is None:
            raise RuntimeError("goto() outside a conversation")
        self.step = step
        self.data.update(updates)
        await self._save(ttl)

    async def finish(self) -> bool:
        had = self.name is not None
        self.name, self.step, self.data = None, None, {}
        cleared = await core_repo.clear_state(
            self.sessions.session,
            self.incoming.channel,
            self.incoming.chat.chat_id,
            self.incoming.sender.user_id,
        )
        return had or cleared

    async def _save(self, ttl: timedelta) -> None:
        assert self.name is not None and self.step is not None
        await core_repo.save_state(
            self.sessions.session,
            channel=self.incoming.channel,
            chat_id=self.incoming.chat.chat_id,
            user_id=self.incoming.sender.user_id,
            flow=self.name,
            step=self.step,
            data=self.data,
            now=self.now,
            ttl=ttl,
        )


class SessionSource:
    """Opens the update's database session on first use: many updates never need one."""

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = factory
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._factory()
        return self._session

    async def commit(self) -> None:
        if self._session is not None:
            await self._session.commit()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()  # rolls back anything not committed
            self._session = None


@dataclass
class Ctx:
    app: AppContext
    incoming: Incoming
    actor: Actor
    sessions: SessionSource
    flow: Flow
    now: datetime
    callback_answer: CallbackAnswer | None = None
    sent: list[SentRef] = field(default_factory=list)

    @property
    def session(self) -> AsyncSession:
        return self.sessions.session

    @property
    def lang(self) -> str:
        return self.actor.language

    @property
    def chat(self) -> ChatRef:
        return self.incoming.chat

    @property
    def in_group(self) -> bool:
        return self.incoming.chat.kind is ChatKind.GROUP

    def t(self, key: str, **params: Any) -> str:
        return self.app.i18n.gettext(self.lang, key, **params)

    def t_in(self, lang: str, key: str, **params: Any) -> str:
        """A message in someone else's language (the assignee's, the head's)."""
        return self.app.i18n.gettext(lang, key, **params)

    async def reply(
        self,
        text: str,
        buttons: Keyboard = (),
        *,
        document: OutDocument | None = None,
        photo: OutDocument | None = None,
    ) -> SentRef:
        return await self.send(
            self.incoming.chat, OutMessage(text, buttons, document=document, photo=photo)
        )

    async def send(self, chat: ChatRef, message: OutMessage) -> SentRef:
        # Commit before we speak: a message saying "saved" must never be followed by a
        # rollback, and no database lock is held while waiting on the chat platform.
        await self.sessions.commit()
        ref = await self.app.delivery.send(chat, message)
        self.sent.append(ref)
        return ref

    async def edit(self, ref: SentRef, text: str, buttons: Keyboard = ()) -> None:
        await self.sessions.commit()
        await self.app.delivery.edit(ref, OutMessage(text, buttons))

    async def edit_origin(self, text: str, buttons: Keyboard = ()) -> None:
        """Edit the message whose button was pressed."""
        if self.incoming.message_id is None:
            await self.reply(text, buttons)
            return
        await self.edit(SentRef(self.incoming.chat, self.incoming.message_id), text, buttons)

    def answer(self, text: str | None = None, *, alert: bool = False) -> None:
        """The small notice shown for a button press (no message in the chat)."""
        self.callback_answer = CallbackAnswer(text, alert)

    async def download(self, file_id: str) -> bytes:
        return await self.app.delivery.download(self.incoming.channel, file_id)


def button_rows(*rows: list[Button] | tuple[Button, ...]) -> Keyboard:
    return tuple(tuple(row) for row in rows if row)
