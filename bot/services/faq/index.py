"""The catalogue, policy and matcher in force, as one immutable snapshot.

The database is authoritative (``catalogue_versions``); a snapshot is what this process
derived from the newest row. An upload builds a new snapshot and swaps it in whole, so a
question is always answered from one consistent catalogue — never from a matcher built on
the old list and a card rendered from the new one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bot.services.faq.catalogue import Catalogue, Entry, Procedure
from bot.services.faq.matcher import Matcher, MatcherConfig
from bot.services.faq.policy import Policy, parse_policy


@dataclass(frozen=True)
class FaqSnapshot:
    catalogue: Catalogue
    policy: Policy
    matcher: Matcher
    # The catalogue_versions row it came from (None when built without a database).
    version_id: int | None
    source: str
    by_id: Mapping[str, Entry] = field(default_factory=dict)
    fields: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        catalogue: Catalogue,
        policy: Policy | Mapping[str, Any],
        *,
        version_id: int | None = None,
        source: str = "",
        config: MatcherConfig | None = None,
    ) -> FaqSnapshot:
        if not isinstance(policy, Policy):
            policy = parse_policy(policy)
        return cls(
            catalogue=catalogue,
            policy=policy,
            matcher=Matcher(catalogue, config),
            version_id=version_id,
            source=source,
            by_id=MappingProxyType({e.id: e for e in catalogue.entries}),
            fields=tuple(catalogue.fields()),
        )

    def get(self, entry_id: str) -> Entry | None:
        return self.by_id.get(entry_id)

    def procedures_in(self, field_name: str) -> list[Procedure]:
        return [p for p in self.catalogue.procedures if p.field == field_name]

    def related(self, entry: Entry, preferred: list[Entry], limit: int = 2) -> list[Entry]:
        """Entries to offer as buttons under a card: the matcher's runners-up first (what
        the citizen may have meant), then procedures of the same field."""
        picked: list[Entry] = []
        for other in preferred:
            if other.id != entry.id and other not in picked:
                picked.append(other)
        if isinstance(entry, Procedure):
            for other in self.procedures_in(entry.field):
                if other.id != entry.id and other not in picked:
                    picked.append(other)
        return picked[:limit]


class FaqIndex:
    """Holds the snapshot in force for this process (provided to handlers as a service).

    Another instance may load a new catalogue; ``due_for_check`` says when to compare the
    newest version id in the database with ours (cheap, but not on every question).
    """

    def __init__(
        self,
        snapshot: FaqSnapshot,
        *,
        check_every: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._snapshot = snapshot
        self._check_every = check_every
        self._monotonic = monotonic
        self._checked_at = monotonic()

    @property
    def current(self) -> FaqSnapshot:
        return self._snapshot

    def replace(self, snapshot: FaqSnapshot) -> None:
        self._snapshot = snapshot
        self._checked_at = self._monotonic()

    def due_for_check(self) -> bool:
        return self._monotonic() - self._checked_at >= self._check_every

    def checked(self) -> None:
        self._checked_at = self._monotonic()
