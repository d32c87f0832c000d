"""Starting and stopping the whole bot: application, Telegram runtime, background services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.app import Application, build_application
from bot.channels.zalo.runtime import ZaloRuntime
from bot.clock import Clock
from bot.config import ConfigError, Settings
from bot.delivery.outbox import OutboxWorker
from bot.ops import OpsServer
from bot.scheduler.engine import ReminderEngine
from bot.scheduler.leader import Leadership, PostgresLeadership, RedisLeadership, SoleInstance
from bot.scheduler.service import SchedulerService
from handlers import FEATURE_JOBS

log = logging.getLogger(__name__)

DEMO_TOKEN = "123456789:congvu-demo-token"


class Runtime(Protocol):
    username: str

    async def start_polling(self) -> None: ...

    async def start_webhook(
        self, *, public_url: str, secret: str, host: str, port: int, path: str = ...
    ) -> int: ...

    async def stop(self) -> None: ...


def make_runtime(application: Application, settings: Settings) -> Runtime:
    if not settings.telegram_token:
        raise ConfigError("CONGVU_TELEGRAM_TOKEN: not set (or use `congvu demo` to try the bot)")
    if settings.telegram_runtime == "ptb":
        from bot.channels.telegram_ptb import PtbRuntime

        return PtbRuntime(application.core, settings.telegram_token, settings.telegram_api_url)
    from bot.channels.telegram_aiogram import AiogramRuntime

    return AiogramRuntime(application.core, settings.telegram_token, settings.telegram_api_url)


@dataclass
class Background:
    """The outbox worker and the reminder scheduler that run beside the chat runtime."""

    worker: OutboxWorker
    worker_task: asyncio.Task[None]
    stop_event: asyncio.Event
    scheduler: SchedulerService | None

    async def stop(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
        self.stop_event.set()
        self.worker.wake()
        with contextlib.suppress(asyncio.CancelledError):
            await self.worker_task


def leadership_for(application: Application) -> Leadership:
    settings = application.app.settings
    if settings.redis_url:
        return RedisLeadership(settings.redis_url)
    if not application.app.db.is_sqlite:
        return PostgresLeadership(application.app.db.engine)
    return SoleInstance()


def start_background(application: Application) -> Background:
    app = application.app
    worker_id = f"{socket.gethostname()}-{os.getpid()}"
    worker = OutboxWorker(app.db, app.delivery, app.clock, worker_id)
    stop_event = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop_event), name="outbox")
    scheduler = None
    if app.settings.scheduler_enabled:
        engine = ReminderEngine(app, on_enqueued=[worker.wake])
        scheduler = SchedulerService(
            engine,
            leadership_for(application),
            app.settings.scheduler_interval,
            jobs=FEATURE_JOBS,
        )
        scheduler.start()
    return Background(worker, task, stop_event, scheduler)


async def start_zalo(running: RunningBot, zalo: ZaloRuntime) -> None:
    """The citizens' Zalo OA channel beside Telegram (webhook only; the URL is set in Zalo's
    developer console)."""
    settings = running.application.app.settings
    running.zalo = zalo
    try:
        running.zalo_port = await zalo.start(
            settings.zalo_webhook_host, settings.zalo_webhook_port, settings.zalo_webhook_path
        )
    except OSError as exc:
        await running.stop()
        reason = f"cannot listen on {settings.zalo_webhook_port}: {exc.strerror}"
        raise ConfigError(f"CONGVU_ZALO_WEBHOOK_PORT: {reason}") from None


@dataclass
class RunningBot:
    application: Application
    runtime: Runtime
    webhook_port: int | None = None
    ops: OpsServer | None = None
    background: Background | None = None
    zalo: ZaloRuntime | None = None
    zalo_port: int | None = None

    @property
    def ops_port(self) -> int | None:
        return self.ops.port if self.ops else None

    async def stop(self) -> None:
        try:
            if self.zalo is not None:
                await self.zalo.stop()
            if self.background is not None:
                await self.background.stop()
            await self.runtime.stop()
            if self.ops is not None:
                await self.ops.stop()
        finally:
            await self.application.close()


async def start_bot(
    settings: Settings,
    *,
    clock: Clock | None = None,
    mode: Literal["auto", "polling", "webhook"] = "auto",
    schema: Literal["migrate", "create", "none"] = "migrate",
) -> RunningBot:
    # On PostgreSQL, Database.upgrade() holds an advisory lock: instances that start together
    # (and `congvu db upgrade` in each systemd unit) migrate once, the others wait.
    application = await build_application(settings, clock=clock, schema=schema)
    try:
        runtime = make_runtime(application, settings)
        use_webhook = mode == "webhook" or (mode == "auto" and bool(settings.webhook_url))
        port = None
        if use_webhook:
            port = await runtime.start_webhook(
                public_url=settings.webhook_url,
                secret=settings.webhook_secret,
                host=settings.webhook_host,
                port=settings.webhook_port,
            )
        else:
            await runtime.start_polling()
    except BaseException:
        await application.close()
        raise
    running = RunningBot(application, runtime, port)
    running.background = start_background(application)
    if settings.zalo_app_id:
        await start_zalo(running, ZaloRuntime.from_settings(application.core, settings))
    if settings.ops_port >= 0:
        running.ops = OpsServer(application.app, settings.ops_host, settings.ops_port)
        try:
            await running.ops.start()
        except OSError as exc:
            await running.stop()
            raise ConfigError(
                f"CONGVU_OPS_PORT: cannot listen on {settings.ops_port}: {exc}"
            ) from None
    log.info("bot @%s is running (%s)", runtime.username, "webhook" if port else "polling")
    return running
