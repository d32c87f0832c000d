"""The one interface every channel implements for outgoing messages."""

from __future__ import annotations

from typing import Protocol

from bot.core.events import CallbackAnswer, ChatRef, OutMessage, SentRef


class Messenger(Protocol):
    """A channel's sender. Raises bot.delivery.errors exceptions; never framework ones."""

    channel: str

    async def send(self, chat: ChatRef, message: OutMessage) -> SentRef: ...

    async def edit(self, ref: SentRef, message: OutMessage) -> None: ...

    async def delete(self, ref: SentRef) -> None: ...

    async def answer_callback(self, callback_id: str, answer: CallbackAnswer) -> None: ...

    async def download(self, file_id: str) -> bytes: ...
