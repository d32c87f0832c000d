"""Starting and stopping the whole bot: application, Telegram runtime, background services."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.app import Application, build_application
from bot.clock import Clock
from bot.config import ConfigError, Settings
from bot.ops import OpsServer

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
class RunningBot:
    application: Application
    runtime: Runtime
    webhook_port: int | None = None
    ops: OpsServer | None = None

    @property
    def ops_port(self) -> int | None:
        return self.ops.port if self.ops else None

    async def stop(self) -> None:
        try:
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
