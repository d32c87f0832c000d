"""Every outgoing message passes here: rate limits, retries, 429 waits per chat, reachability.

Interactive replies are sent directly (fast path: take the chat's and the channel's token,
send now). Scheduled waves and broadcasts go through the outbox (`bot.delivery.outbox`), whose
worker calls the same `send` with `Priority.BULK`, a single attempt and a bounded limiter
wait, and keeps the retry state in the database instead.

Failure policy, per the platforms' meaning of each answer:
- 429 `retry_after`: that chat only is held back (the limiter's per-chat block); other chats'
  sends go on. Retried up to `policy.attempts` times unless the wait is unreasonably long.
- 5xx, timeouts, dropped connections (`Transient`): retried with exponential backoff and
  full jitter.
- 403 (`Unreachable`): never retried; `on_unreachable(chat)` records it. The next successful
  send to a chat known to be unreachable calls `on_reachable(chat)`.
- 400 "message is not modified" (`NotModified`): success. Other 400s (`Rejected`): not retried.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.core.events import CallbackAnswer, ChatRef, OutMessage, SentRef
from bot.delivery.errors import (
    NotModified,
    Rejected,
    RetryAfter,
    ServerError,
    Transient,
    Unreachable,
)
from bot.delivery.limits import Grant, Limiter, Priority, WaitingLine, acquire
from bot.delivery.ports import Messenger

log = logging.getLogger(__name__)
T = TypeVar("T")
ChatHook = Callable[[ChatRef], Awaitable[None]]


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


# The outbox keeps its own persistent retry state, so its sends get exactly one try here.
SINGLE_ATTEMPT = RetryPolicy(attempts=0)


@dataclass
class DeliveryStats:
    """Counters for logs and /metrics; one set per Delivery, never global."""

    sent: int = 0
    edited: int = 0
    received_429: int = 0
    retries: int = 0
    unreachable: int = 0
    rejected: int = 0
    limiter_wait_seconds: float = 0.0


def _key(chat: ChatRef) -> tuple[str, str]:
    return (chat.channel, chat.chat_id)


@dataclass
class Delivery:
    messengers: dict[str, Messenger] = field(default_factory=dict)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)
    # None sends without client-side limits (unit tests with fake channels); production passes
    # make_limiter(settings.redis_url). Give a LocalLimiter the clock that `sleep` advances.
    limiter: Limiter | None = None
    on_unreachable: ChatHook | None = None
    on_reachable: ChatHook | None = None
    # Chats known to be unreachable (seeded from the database at start-up, then kept current):
    # only a success to one of these calls on_reachable, so ordinary sends cost no DB write.
    unreachable: set[tuple[str, str]] = field(default_factory=set)
    stats: DeliveryStats = field(default_factory=DeliveryStats)
    # Senders waiting for a channel's budget queue here instead of each asking the limiter.
    line: WaitingLine = field(default_factory=WaitingLine)
    # Limiter settlements still on their way (see _settle); awaited by aclose.
    _settling: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)
    # Called as observe(event, channel) with event in "sent", "edited", "429", "retry",
    # "unreachable", "rejected": the hook for /metrics counters (must not block).
    observe: Callable[[str, str], None] | None = None

    def _observe(self, event: str, channel: str) -> None:
        if self.observe is not None:
            try:
                self.observe(event, channel)
            except Exception:
                log.exception("delivery observer failed on %s", event)

    def register(self, messenger: Messenger) -> None:
        self.messengers[messenger.channel] = messenger

    def messenger(self, channel: str) -> Messenger:
        try:
            return self.messengers[channel]
        except KeyError:
            raise LookupError(f"no channel {channel!r} is running") from None

    async def _note_unreachable(self, chat: ChatRef) -> None:
        self.stats.unreachable += 1
        self._observe("unreachable", chat.channel)
        self.unreachable.add(_key(chat))
        if self.on_unreachable is None:
            return
        try:
            await self.on_unreachable(chat)
        except Exception:
            # Recording is secondary: the caller still learns the send failed.
            log.exception("could not record %s:%s as unreachable", chat.channel, chat.chat_id)

    async def _note_reachable(self, chat: ChatRef) -> None:
        key = _key(chat)
        if key not in self.unreachable:
            return
        self.unreachable.discard(key)
        if self.on_reachable is None:
            return
        try:
            await self.on_reachable(chat)
        except Exception:
            # The message went out; failing the send now would only cause a duplicate.
            log.exception("could not clear unreachable for %s:%s", chat.channel, chat.chat_id)

    async def _give_back(
        self, grant: Grant | None, chat: ChatRef | None, priority: Priority | None
    ) -> None:
        if self.limiter is None or grant is None or chat is None or priority is None:
            return
        try:
            await self.limiter.refund(chat, priority, grant.ticket)
        except Exception:
            # Only efficiency is at stake: the slot expires with its window anyway.
            log.warning("could not refund a rate-limit slot", exc_info=True)

    def _settle(self, grant: Grant | None, chat: ChatRef | None, priority: Priority | None) -> None:
        """The platform answered: the limiter counts the send from now (see limits.py).

        In the background: the caller (the outbox recording a message as sent) must not wait
        a Redis round trip for bookkeeping that only makes the count more cautious.
        """
        if self.limiter is None or grant is None or chat is None or priority is None:
            return
        task = asyncio.create_task(self._settle_quietly(self.limiter, grant, chat, priority))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    @staticmethod
    async def _settle_quietly(
        limiter: Limiter, grant: Grant, chat: ChatRef, priority: Priority
    ) -> None:
        try:
            await limiter.settle(chat, priority, grant.ticket)
        except Exception:
            log.warning("could not settle a rate-limit slot", exc_info=True)

    async def _with_retries(
        self,
        what: str,
        call: Callable[[], Awaitable[T]],
        *,
        channel: str,
        chat: ChatRef | None = None,
        priority: Priority | None = None,
        policy: RetryPolicy | None = None,
        max_wait: float | None = None,
        abandon: asyncio.Event | None = None,
    ) -> T:
        policy = policy or self.policy
        limiter = self.limiter
        limited = limiter is not None and chat is not None and priority is not None
        attempt = 0
        while True:
            grant: Grant | None = None
            if limiter is not None and chat is not None and priority is not None:
                grant = await acquire(
                    limiter,
                    chat,
                    priority,
                    sleep=self.sleep,
                    max_wait=max_wait,
                    abandon=abandon,
                    line=self.line,
                )
                self.stats.limiter_wait_seconds += grant.waited
            try:
                result = await call()
            except RetryAfter as exc:
                self.stats.received_429 += 1
                self._observe("429", channel)
                # A refused request did not count; keeping its slot would waste budget.
                await self._give_back(grant, chat, priority)
                if chat is not None and limiter is not None:
                    # Only this chat waits; the limiter keeps every other chat going.
                    await limiter.block(chat, exc.seconds)
                if attempt >= policy.attempts or exc.seconds > policy.max_retry_after:
                    raise
                log.info("429 on %s: retry after %.1fs", what, exc.seconds)
                if not limited:
                    await self.sleep(exc.seconds)
            except Transient as exc:
                if isinstance(exc, ServerError):
                    await self._give_back(grant, chat, priority)
                else:
                    # A timeout or a dropped connection: it may have arrived, count it.
                    self._settle(grant, chat, priority)
                if attempt >= policy.attempts:
                    raise
                delay = policy.backoff(attempt, self.rng)
                log.info("transient failure on %s: retry in %.2fs", what, delay)
                await self.sleep(delay)
            except Unreachable:
                self._settle(grant, chat, priority)
                if chat is not None:
                    await self._note_unreachable(chat)
                raise
            except Rejected:
                self._settle(grant, chat, priority)
                self.stats.rejected += 1
                self._observe("rejected", channel)
                raise
            except BaseException:
                # "Not modified", a cancelled or failed call: it may have reached the platform.
                # Count it from now, and the limiter stops holding its place as in flight.
                self._settle(grant, chat, priority)
                raise
            else:
                self._settle(grant, chat, priority)
                if chat is not None:
                    await self._note_reachable(chat)
                return result
            attempt += 1
            self.stats.retries += 1
            self._observe("retry", channel)

    async def send(
        self,
        chat: ChatRef,
        message: OutMessage,
        *,
        priority: Priority = Priority.INTERACTIVE,
        policy: RetryPolicy | None = None,
        max_wait: float | None = None,
        abandon: asyncio.Event | None = None,
    ) -> SentRef:
        """Send now.

        `max_wait` bounds the limiter wait (Throttled beyond it; None waits); setting `abandon`
        ends a limiter wait with Throttled. Once the request is made, neither interrupts it.
        """
        messenger = self.messenger(chat.channel)
        ref = await self._with_retries(
            f"send {chat.channel}:{chat.chat_id}",
            lambda: messenger.send(chat, message),
            channel=chat.channel,
            chat=chat,
            priority=priority,
            policy=policy,
            max_wait=max_wait,
            abandon=abandon,
        )
        self.stats.sent += 1
        self._observe("sent", chat.channel)
        return ref

    async def edit(
        self, ref: SentRef, message: OutMessage, *, priority: Priority = Priority.INTERACTIVE
    ) -> None:
        messenger = self.messenger(ref.chat.channel)

        async def call() -> None:
            try:
                await messenger.edit(ref, message)
            except NotModified:
                return

        # Telegram counts edits against the same flood limits as sends.
        await self._with_retries(
            f"edit {ref.chat.chat_id}/{ref.message_id}",
            call,
            channel=ref.chat.channel,
            chat=ref.chat,
            priority=priority,
        )
        self.stats.edited += 1
        self._observe("edited", ref.chat.channel)

    async def delete(self, ref: SentRef) -> None:
        messenger = self.messenger(ref.chat.channel)
        await self._with_retries(
            f"delete {ref.message_id}",
            lambda: messenger.delete(ref),
            channel=ref.chat.channel,
            chat=ref.chat,
        )

    async def answer_callback(self, channel: str, callback_id: str, answer: CallbackAnswer) -> None:
        messenger = self.messenger(channel)
        await self._with_retries(
            "answer callback",
            lambda: messenger.answer_callback(callback_id, answer),
            channel=channel,
        )

    async def download(self, channel: str, file_id: str) -> bytes:
        messenger = self.messenger(channel)
        return await self._with_retries(
            "download", lambda: messenger.download(file_id), channel=channel
        )

    async def aclose(self) -> None:
        if self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)
        if self.limiter is not None:
            await self.limiter.aclose()
