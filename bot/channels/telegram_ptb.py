"""The second Telegram runtime, on python-telegram-bot 22: same core, same behaviour.

PTB's own rate limiter pauses every request on one 429, so it is not used: our delivery
layer waits per chat. Polling uses the Updater (never run_polling, which owns signals and
closes the loop); webhooks are served by our own aiohttp server with the secret check, and
are answered only once the update has been handled (see `PtbRuntime._webhook`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from aiohttp import web
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults, TypeHandler
from telegram.request import HTTPXRequest

from bot.channels.telegram_ptb_messenger import PtbMessenger, StatusAwareRequest
from bot.channels.telegram_update import (
    TELEGRAM,
    command_menu,
    incoming_from_update,
)
from bot.core.dispatcher import Dispatcher as CoreDispatcher
from bot.core.events import CallbackAnswer

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ["message", "callback_query"]
MAX_CONNECTIONS = 100  # the most Telegram allows
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class PtbRuntime:
    """Owns the PTB Application; feeds every update to our core."""

    def __init__(self, core: CoreDispatcher, token: str, api_url: str) -> None:
        self.core = core
        base = api_url.rstrip("/")
        self.application = (
            ApplicationBuilder()
            .token(token)
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            .request(StatusAwareRequest())
            .defaults(Defaults(parse_mode="HTML"))
            .concurrent_updates(True)
            .get_updates_request(HTTPXRequest(connection_pool_size=1, read_timeout=15))
            .build()
        )
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.messenger = PtbMessenger(self.application.bot)
        self.username = ""
        self._web: web.AppRunner | None = None
        self._secret = ""

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._handle(update)

    async def _handle(self, update: Update) -> None:
        incoming = incoming_from_update(update.to_dict(), self.username)
        if incoming is None:
            return
        outcome = await self.core.handle(incoming)
        if incoming.callback_id is not None:
            answer = outcome.callback_answer or CallbackAnswer()
            try:
                await self.core.app.delivery.answer_callback(TELEGRAM, incoming.callback_id, answer)
            except Exception:
                log.warning("could not answer callback %s", incoming.callback_id, exc_info=True)

    async def prepare(self) -> None:
        await self.application.initialize()
        self.username = self.application.bot.username or ""
        self.core.app.bot_username = self.username
        self.core.app.delivery.register(self.messenger)
        await self._set_commands()
        await self.application.start()

    async def _set_commands(self) -> None:
        i18n = self.core.app.i18n
        default = self.core.app.settings.default_language
        for lang in i18n.languages:
            menu = [BotCommand(c, d) for c, d in command_menu(self.core.routes, i18n, lang)]
            code = None if lang == default else lang
            for scope in (BotCommandScopeAllPrivateChats(), BotCommandScopeAllGroupChats()):
                await self.application.bot.set_my_commands(menu, scope=scope, language_code=code)

    async def start_polling(self) -> None:
        await self.prepare()
        assert self.application.updater is not None
        # PTB deletes any webhook itself when polling starts.
        await self.application.updater.start_polling(
            timeout=10, allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False
        )

    async def _webhook(self, request: web.Request) -> web.Response:
        """Answer only after handling (as the aiogram runtime does, see AckAfterHandling there).

        Telegram sends a chat's next update only after a 2xx for the previous one, so several
        instances behind a load balancer keep each chat's order, and an instance that dies
        mid-update never acknowledged it: Telegram redelivers, possibly to another instance.
        An error the core turned into an apology is handled (200); anything escaping it
        answers 500 and a cancelled handler answers nothing, so Telegram tries again.
        """
        given = request.headers.get(SECRET_HEADER, "")
        if self._secret and not secrets.compare_digest(given, self._secret):
            return web.Response(status=401, text="Unauthorized")
        try:
            data = await request.json()
            update = Update.de_json(data, self.application.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400, text="Bad Request")
        try:
            # Not Application.process_update: it hands handler errors to PTB's error handlers
            # and returns normally, which would acknowledge an update never finished.
            await self._handle(update)
        except Exception:
            log.exception("update %s failed outside the core; not acknowledged", update.update_id)
            return web.Response(status=500, text="Internal Server Error")
        return web.Response(text="ok")

    async def start_webhook(
        self, *, public_url: str, secret: str, host: str, port: int, path: str = WEBHOOK_PATH
    ) -> int:
        await self.prepare()
        self._secret = secret
        app = web.Application()
        app.router.add_post(path, self._webhook)
        self._web = web.AppRunner(app)
        await self._web.setup()
        site = web.TCPSite(self._web, host, port)
        await site.start()
        bound = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await self.application.bot.set_webhook(
            public_url or f"http://{host}:{bound}{path}",
            secret_token=secret or None,
            allowed_updates=ALLOWED_UPDATES,
            max_connections=MAX_CONNECTIONS,  # see the aiogram runtime
        )
        return bound

    async def stop(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self._web is not None:
            await self._web.cleanup()
            self._web = None
        if self.application.running:
            await self.application.stop()
        with contextlib.suppress(RuntimeError, asyncio.CancelledError):
            await self.application.shutdown()
