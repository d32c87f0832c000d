"""Assembles the application: settings → database → translator → delivery → core → handlers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.core.app_context import AppContext
from bot.core.chatlocks import make_chat_locks
from bot.core.dispatcher import Dispatcher
from bot.core.i18n import Translator
from bot.core.router import Router
from bot.delivery.service import Delivery
from bot.delivery.wiring import attach_reachability, make_delivery
from handlers import FEATURE_ROUTERS, FEATURE_SETUPS
from storage.db import Database


def root_router() -> Router:
    root = Router("root")
    root.include(*FEATURE_ROUTERS)
    return root


@dataclass
class Application:
    app: AppContext
    core: Dispatcher

    async def close(self) -> None:
        await self.app.delivery.aclose()
        await self.core.locks.aclose()
        await self.app.db.dispose()


async def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    delivery: Delivery | None = None,
    translator: Translator | None = None,
    schema: Literal["migrate", "create", "none"] = "migrate",
) -> Application:
    db = Database(settings.resolved_database_url)
    if schema == "migrate":
        await db.upgrade()
    elif schema == "create":
        await db.create_all()
    if delivery is None:
        # Production delivery: platform rate limits (shared through Redis when configured)
        # and 403s recorded on the person; tests pass their own.
        delivery = make_delivery(settings)
        await attach_reachability(delivery, db)
    app = AppContext(
        settings=settings,
        clock=clock or SystemClock(),
        db=db,
        i18n=translator or Translator.load(default=settings.default_language),
        delivery=delivery,
    )
    if delivery.observe is None:
        delivery.observe = app.metrics.observe_delivery
    core = Dispatcher(app, root_router(), make_chat_locks(settings.redis_url))
    app.provide(core.routes)
    for setup in FEATURE_SETUPS:
        await setup(app)
    return Application(app, core)
