"""What every handler may reach, built once per process and passed in (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from bot.clock import Clock
from bot.config import Settings
from bot.core.actors import ActorCache
from bot.core.i18n import Translator
from bot.delivery.service import Delivery
from bot.metrics import Metrics
from bot.services.attendance.calendar import HolidayBook
from storage.db import Database

T = TypeVar("T")


@dataclass
class AppContext:
    settings: Settings
    clock: Clock
    db: Database
    i18n: Translator
    delivery: Delivery
    bot_username: str = ""
    actors: ActorCache = field(default_factory=ActorCache)
    metrics: Metrics = field(default_factory=Metrics)
    # Public holidays, each year built once for every unit's calendar (never stale).
    holidays: HolidayBook = field(default_factory=HolidayBook)
    # Feature services (FAQ index, scheduler hooks, ...) keyed by their type.
    services: dict[type[Any], Any] = field(default_factory=dict)

    def provide(self, service: object) -> None:
        self.services[type(service)] = service

    def get(self, kind: type[T]) -> T:
        try:
            return cast(T, self.services[kind])
        except KeyError:
            raise LookupError(f"service {kind.__name__} is not configured") from None
