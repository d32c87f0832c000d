"""Every outgoing message passes here: retries, 429 waits per chat, not-modified as success.

Interactive replies are sent directly (fast path); scheduled waves go through the outbox,
which calls the same `send`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.core.events import CallbackAnswer, ChatRef, OutMessage, SentRef
from bot.delivery.errors import NotModified, RetryAfter, Transient
from bot.delivery.ports import Messenger

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        # Full jitter: spreads retries of many senders so they do not hit the server together.
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return rng.uniform(0, ceiling)


@dataclass
class Delivery:
    messengers: dict[str, Messenger] = field(default_factory=dict)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def register(self, messenger: Messenger) -> None:
        self.messengers[messenger.channel] = messenger

    def messenger(self, channel: str) -> Messenger:
        try:
            return self.messengers[channel]
        except KeyError:
            raise LookupError(f"no channel {channel!r} is running") from None

    async def _with_retries(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            try:
                return await call()
            except RetryAfter as exc:
                # A 429 concerns this chat only: we wait here, other chats' sends go on.
                if attempt >= self.policy.attempts or exc.seconds > self.policy.max_retry_after:
                    raise
                log.info("429 on %s: waiting %.1fs", what, exc.seconds)
                await self.sleep(exc.seconds)
            except Transient:
                if attempt >= self.policy.attempts:
                    raise
                delay = self.policy.backoff(attempt, self.rng)
                log.info("transient failure on %s: retry in %.2fs", what, delay)
                await self.sleep(delay)
            attempt += 1

    async def send(self, chat: ChatRef, message: OutMessage) -> SentRef:
        messenger = self.messenger(chat.channel)
        return await self._with_retries(
            f"send {chat.channel}:{chat.chat_id}", lambda: messenger.send(chat, message)
        )

    async def edit(self, ref: SentRef, message: OutMessage) -> None:
        messenger = self.messenger(ref.chat.channel)

        async def call() -> None:
            try:
                await messenger.edit(ref, message)
            except NotModified:
                return

        await self._with_retries(f"edit {ref.chat.chat_id}/{ref.message_id}", call)

    async def delete(self, ref: SentRef) -> None:
        messenger = self.messenger(ref.chat.channel)
        await self._with_retries(f"delete {ref.message_id}", lambda: messenger.delete(ref))

    async def answer_callback(self, channel: str, callback_id: str, answer: CallbackAnswer) -> None:
        messenger = self.messenger(channel)
        await self._with_retries(
            "answer callback", lambda: messenger.answer_callback(callback_id, answer)
        )

    async def download(self, channel: str, file_id: str) -> bytes:
        messenger = self.messenger(channel)
        return await self._with_retries("download", lambda: messenger.download(file_id))
