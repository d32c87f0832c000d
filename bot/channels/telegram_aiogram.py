"""The default Telegram runtime on aiogram 3: polling or webhook, messages via our delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.channels.telegram_aiogram_messenger import AiogramMessenger, make_bot
from bot.channels.telegram_update import TELEGRAM, command_menu, incoming_from_update
from bot.core.dispatcher import Dispatcher as CoreDispatcher
from bot.core.events import CallbackAnswer

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ["message", "callback_query"]
MAX_CONNECTIONS = 100  # the most Telegram allows


class AckAfterHandling(SimpleRequestHandler):
    """Answers Telegram's webhook only once the update has been handled.

    aiogram's default (handle_in_background=True) answers 200 first, so an instance killed
    mid-update loses it, and the chat's next update may reach another instance while this one
    still works on the first. Telegram's Bot API server sends a chat's updates one at a time
    and the next only after a 2xx (telegram-bot-api, WebhookActor::send_update takes a queue
    out of `queues_` and only on_update_ok → drop_event puts it back with its next update; the
    queue id of a message is its chat id, Client::process_new_message_queue → add_update(...,
    chat_id)); so answering after handling keeps a chat's order across instances and makes a
    crash mean redelivery, not loss.

    aiogram's own handle_in_background=False is not enough: after 55 s it moves the handler to
    the background and answers 200 anyway, and it may answer with a Bot API method in the body.
    Here: no such fallback (a handler outliving the platform's timeout gets its update
    redelivered, which the journal turns into a no-op once recorded), the body is always
    empty (replies go through our delivery layer), an error our core did not turn into an
    apology answers 500 and a cancelled handler answers nothing, so Telegram tries again.
    """

    def __init__(self, dp: Dispatcher, bot: Bot, secret_token: str | None) -> None:
        super().__init__(dp, bot, handle_in_background=False, secret_token=secret_token)

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        try:
            raw = await request.json(loads=bot.session.json_loads)
            update = Update.model_validate(raw, context={"bot": bot})
        except ValueError:
            return web.Response(status=400, text="Bad Request")
        try:
            await self.dispatcher.feed_update(bot, update, **self.data)
        except Exception:
            log.exception("update %s failed outside the core; not acknowledged", update.update_id)
            return web.Response(status=500, text="Internal Server Error")
        return web.json_response({})


class AiogramRuntime:
    """Owns the aiogram Bot and Dispatcher; feeds every update to our core."""

    def __init__(self, core: CoreDispatcher, token: str, api_url: str) -> None:
        self.core = core
        self.bot = make_bot(token, api_url)
        self.messenger = AiogramMessenger(self.bot)
        self.dp = Dispatcher()
        self.dp.message.register(self._on_event)
        self.dp.callback_query.register(self._on_event)
        self._polling: asyncio.Task[None] | None = None
        self._web: web.AppRunner | None = None
        self.username = ""

    async def _on_event(self, event: Any, event_update: Update) -> None:
        raw = event_update.model_dump(exclude_none=True, by_alias=True)
        incoming = incoming_from_update(raw, self.username)
        if incoming is None:
            return
        outcome = await self.core.handle(incoming)
        if incoming.callback_id is not None:
            answer = outcome.callback_answer or CallbackAnswer()
            try:
                await self.core.app.delivery.answer_callback(TELEGRAM, incoming.callback_id, answer)
            except Exception:
                # A late answer ("query is too old") must not look like a failed update.
                log.warning("could not answer callback %s", incoming.callback_id, exc_info=True)

    async def prepare(self) -> None:
        me = await self.bot.get_me()
        self.username = me.username or ""
        self.core.app.bot_username = self.username
        self.core.app.delivery.register(self.messenger)
        await self._set_commands()

    async def _set_commands(self) -> None:
        routes = self.core.routes
        i18n = self.core.app.i18n
        default = self.core.app.settings.default_language
        for lang in i18n.languages:
            menu = [
                BotCommand(command=c, description=d) for c, d in command_menu(routes, i18n, lang)
            ]
            code = None if lang == default else lang
            for scope in (BotCommandScopeAllPrivateChats(), BotCommandScopeAllGroupChats()):
                await self.bot.set_my_commands(menu, scope=scope, language_code=code)

    async def start_polling(self) -> None:
        await self.prepare()
        # aiogram never deletes a webhook itself; getUpdates would answer 409 until we do.
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._polling = asyncio.create_task(
            self.dp.start_polling(
                self.bot,
                polling_timeout=10,
                handle_signals=False,
                close_bot_session=False,
                allowed_updates=ALLOWED_UPDATES,
            )
        )

    async def start_webhook(
        self, *, public_url: str, secret: str, host: str, port: int, path: str = WEBHOOK_PATH
    ) -> int:
        """Serve the webhook and register it; returns the port actually bound."""
        await self.prepare()
        app = web.Application()
        AckAfterHandling(self.dp, self.bot, secret or None).register(app, path=path)
        self._web = web.AppRunner(app)
        await self._web.setup()
        site = web.TCPSite(self._web, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = public_url or f"http://{host}:{bound}{path}"
        # Answered after handling, a webhook request is open while its update is handled:
        # Telegram's max_connections (default 40) caps the updates in flight, so take the most.
        await self.bot.set_webhook(
            url,
            secret_token=secret or None,
            allowed_updates=ALLOWED_UPDATES,
            max_connections=MAX_CONNECTIONS,
        )
        return int(bound)

    async def stop(self) -> None:
        if self._polling is not None:
            with contextlib.suppress(RuntimeError):
                await self.dp.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
        if self._web is not None:
            await self._web.cleanup()
            self._web = None
        await self.bot.session.close()
