"""Telegram's flood limits, opt-in: ~30 msg/s overall, ~1 msg/s per private chat with a short
burst, 20 msg/min per group. Telegram does not publish exact numbers, so these are the FAQ's.

A refused send consumes nothing, so a client that waits `retry_after` seconds succeeds.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class LimitConfig:
    enabled: bool = False
    global_per_second: int = 30
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: int = 20

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


@dataclass(slots=True)
class _Window:
    size: float
    capacity: int
    stamps: deque[float] = field(default_factory=deque)

    def wait_time(self, now: float) -> float:
        while self.stamps and self.stamps[0] <= now - self.size:
            self.stamps.popleft()
        if len(self.stamps) < self.capacity:
            return 0.0
        return self.stamps[0] + self.size - now


class RateLimiter:
    """Sliding windows overall and per group, a token bucket per private chat."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.config = LimitConfig()
        self._global = _Window(1.0, self.config.global_per_second)
        self._groups: dict[int, _Window] = {}
        self._private: dict[int, _Bucket] = {}

    def configure(self, **changes: Any) -> LimitConfig:
        for name, value in changes.items():
            if not hasattr(self.config, name):
                raise ValueError(f"unknown limit setting: {name}")
            setattr(self.config, name, type(getattr(self.config, name))(value))
        self.reset_counters()
        return self.config

    def reset(self) -> None:
        self.config = LimitConfig()
        self.reset_counters()

    def reset_counters(self) -> None:
        self._global = _Window(1.0, self.config.global_per_second)
        self._groups.clear()
        self._private.clear()

    def _bucket(self, chat_id: int, now: float) -> _Bucket:
        bucket = self._private.get(chat_id)
        if bucket is None:
            bucket = self._private[chat_id] = _Bucket(float(self.config.private_burst), now)
        elapsed = now - bucket.updated
        bucket.tokens = min(
            float(self.config.private_burst),
            bucket.tokens + elapsed * self.config.private_per_second,
        )
        bucket.updated = now
        return bucket

    def acquire(self, chat_id: int, chat_type: str) -> int | None:
        """None when the send may go (and is counted), else `retry_after` in whole seconds."""
        if not self.config.enabled:
            return None
        now = self.clock()
        waits = [self._global.wait_time(now)]
        bucket: _Bucket | None = None
        window: _Window | None = None
        if chat_type == "private":
            bucket = self._bucket(chat_id, now)
            if bucket.tokens < 1.0:
                waits.append((1.0 - bucket.tokens) / self.config.private_per_second)
        else:
            window = self._groups.get(chat_id)
            if window is None:
                window = self._groups[chat_id] = _Window(60.0, self.config.group_per_minute)
            waits.append(window.wait_time(now))
        wait = max(waits)
        if wait > 0:
            return max(1, math.ceil(wait))
        self._global.stamps.append(now)
        if bucket is not None:
            bucket.tokens -= 1.0
        if window is not None:
            window.stamps.append(now)
        return None
