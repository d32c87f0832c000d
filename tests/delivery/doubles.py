"""Test doubles for delivery: virtual time, a scripted channel, a platform that enforces limits."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.core.events import CallbackAnswer, ChatRef, OutMessage, SentRef
from bot.delivery.errors import DeliveryError, RetryAfter
from bot.mockserver.limits import RateLimiter as PlatformLimits

T = TypeVar("T")


@dataclass
class VirtualTime:
    """A monotonic clock and a sleep that only advance when every task is waiting.

    `run` drives the event loop: it lets ready tasks run, then jumps to the earliest sleeper.
    Tests simulate minutes of rate limiting in milliseconds, deterministically.
    """

    now: float = 1000.0
    _timers: list[tuple[float, int, asyncio.Future[None]]] = field(default_factory=list)
    _seq: itertools.count = field(default_factory=itertools.count)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + seconds, next(self._seq), future))
        await future

    async def run(self, awaitable: Awaitable[T]) -> T:
        task = asyncio.ensure_future(awaitable)
        while not task.done():
            for _ in range(50):
                await asyncio.sleep(0)
                if task.done():
                    break
            if task.done():
                break
            if not self._timers:
                raise RuntimeError("every task waits, and not on virtual time")
            # Wake every sleeper due at that instant together: one settling round for all.
            when = self._timers[0][0]
            self.now = max(self.now, when)
            while self._timers and self._timers[0][0] <= when:
                future = heapq.heappop(self._timers)[2]
                if not future.done():
                    future.set_result(None)
        return task.result()


@dataclass
class Sent:
    at: float
    chat: ChatRef
    text: str


@dataclass
class ScriptedChannel:
    """Records sends with their (virtual) time; per-chat scripted failures; optional platform
    flood limits (the mock server's own limiter) answering 429 like Telegram would."""

    time: VirtualTime
    channel: str = "telegram"
    failures: dict[str, list[DeliveryError]] = field(default_factory=dict)
    platform: PlatformLimits | None = None
    sent: list[Sent] = field(default_factory=list)
    calls: int = 0
    edits: list[tuple[SentRef, OutMessage]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def with_platform_limits(self) -> ScriptedChannel:
        self.platform = PlatformLimits(clock=self.time.monotonic)
        self.platform.configure(enabled=True)
        return self

    def _fail(self, chat: ChatRef) -> None:
        self.calls += 1
        queue = self.failures.get(chat.chat_id)
        if queue:
            raise queue.pop(0)
        if self.platform is not None:
            kind = "group" if chat.chat_id.startswith("-") else "private"
            retry_after = self.platform.acquire(int(chat.chat_id), kind)
            if retry_after is not None:
                raise RetryAfter(float(retry_after))

    async def send(self, chat: ChatRef, message: OutMessage) -> SentRef:
        self._fail(chat)
        self.sent.append(Sent(self.time.now, chat, message.text))
        return SentRef(chat, str(next(self._ids)))

    async def edit(self, ref: SentRef, message: OutMessage) -> None:
        self._fail(ref.chat)
        self.edits.append((ref, message))

    async def delete(self, ref: SentRef) -> None:
        return None

    async def answer_callback(self, callback_id: str, answer: CallbackAnswer) -> None:
        return None

    async def download(self, file_id: str) -> bytes:
        return b""

    def times(self, chat_id: str) -> list[float]:
        return [s.at for s in self.sent if s.chat.chat_id == chat_id]


def max_in_window(times: list[float], window: float) -> int:
    """The most events in any half-open window of `window` seconds (the platform's view)."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - window:
            start += 1
        best = max(best, end - start + 1)
    return best
