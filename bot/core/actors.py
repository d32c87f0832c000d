"""A short-lived cache of who is who, so a busy bot does not read the same identity per update.

The database stays authoritative: entries live a few seconds, a change of name or username
bypasses the cache, and handlers that change a person (language, invitation, import)
invalidate it. Several instances see another's change within the time to live.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bot.services.access import Actor


@dataclass(frozen=True, slots=True)
class Profile:
    """What the database said about a channel user; the language is decided per update."""

    identity_id: int
    person_id: int | None
    role: str
    unit_id: int | None
    full_name: str
    person_language: str | None
    identity_language: str | None
    username: str | None
    first_name: str

    def actor(self, language: str) -> Actor:
        return Actor(
            identity_id=self.identity_id,
            person_id=self.person_id,
            role=self.role,
            unit_id=self.unit_id,
            full_name=self.full_name,
            language=language,
        )


class ActorCache:
    def __init__(
        self,
        ttl: float = 15.0,
        max_size: int = 50_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self.monotonic = monotonic
        self._entries: OrderedDict[tuple[str, str], tuple[Profile, float]] = OrderedDict()

    def get(
        self, channel: str, user_id: str, username: str | None, first_name: str
    ) -> Profile | None:
        key = (channel, user_id)
        entry = self._entries.get(key)
        if entry is None:
            return None
        profile, expires = entry
        if expires < self.monotonic() or profile.username != username:
            del self._entries[key]
            return None
        if first_name and profile.first_name != first_name:
            del self._entries[key]
            return None
        return profile

    def put(self, channel: str, user_id: str, profile: Profile) -> None:
        key = (channel, user_id)
        self._entries[key] = (profile, self.monotonic() + self.ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)

    def invalidate(self, channel: str, user_id: str) -> None:
        self._entries.pop((channel, user_id), None)

    def clear(self) -> None:
        self._entries.clear()
