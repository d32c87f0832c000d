"""The Zalo Official Account runtime: webhook in, the same core, Zalo messages out.

Citizens write to the office's OA; Zalo pushes each event to our webhook. The runtime turns
events into the core's `Incoming` (a typed text, a `/command`, a pressed button), handles
them in the background one user at a time and in arrival order, and registers the
`ZaloMessenger` with the core's delivery so every reply goes out through the OA API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from functools import partial
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.channels.zalo import protocol
from bot.channels.zalo.client import ZaloHttp
from bot.channels.zalo.contacts import ContactBook
from bot.channels.zalo.convert import callback_data
from bot.channels.zalo.messenger import ZALO, ZaloMessenger, callback_id
from bot.channels.zalo.tokens import ZaloTokens
from bot.channels.zalo.webhook import SignatureVerifier, ZaloEvent, ZaloWebhook
from bot.config import Settings
from bot.core.commands import parse_command
from bot.core.dispatcher import Dispatcher
from bot.core.events import ChatKind, ChatRef, Incoming, OutMessage, Sender
from storage.models import Identity

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/zalo/webhook"
# Zalo events are small JSON documents; anything bigger is not one.
MAX_EVENT_BYTES = 256 * 1024


class ZaloRuntime:
    def __init__(
        self,
        core: Dispatcher,
        *,
        app_id: str,
        app_secret: str,
        oa_secret_key: str,
        api_url: str = "https://openapi.zalo.me",
        oauth_url: str = "https://oauth.zaloapp.com",
        access_token: str = "",
        refresh_token: str = "",
        max_event_age: timedelta = timedelta(minutes=5),
        http_timeout: float = 10.0,
        fetch_profiles: bool = True,
    ) -> None:
        """`app_secret` authenticates token refreshes at the OAuth host; `oa_secret_key` is
        the OA's key that signs webhook events (Zalo's console shows them separately; pass
        the same value twice if yours are one). `access_token`/`refresh_token` seed the
        token store on first start; after that the rotated pair in the database is used."""
        self.core = core
        app = core.app
        self.http = ZaloHttp(timeout=http_timeout)
        self.tokens = ZaloTokens(
            db=app.db,
            clock=app.clock,
            http=self.http,
            app_id=app_id,
            app_secret=app_secret,
            oauth_url=oauth_url,
            access_token=access_token,
            refresh_token=refresh_token,
        )
        self.contacts = ContactBook(app.db, app.clock)
        self.messenger = ZaloMessenger(
            http=self.http, tokens=self.tokens, contacts=self.contacts, api_url=api_url
        )
        verifier = SignatureVerifier(app_id, oa_secret_key, app.clock, max_event_age)
        self.webhook = ZaloWebhook(verifier, self._accept)
        self.fetch_profiles = fetch_profiles
        self.username = ""  # Zalo has no bot username; kept for the runner's Runtime shape
        self.port: int | None = None
        # The last scheduled task per user: the next event of that user waits for it.
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._web: web.AppRunner | None = None

    @classmethod
    def from_settings(cls, core: Dispatcher, settings: Settings, **overrides: Any) -> ZaloRuntime:
        """Built from the CONGVU_ZALO_* settings; the OA secret key defaults to the app secret."""
        options: dict[str, Any] = {
            "app_id": settings.zalo_app_id,
            "app_secret": settings.zalo_secret_key,
            "oa_secret_key": settings.zalo_oa_secret_key or settings.zalo_secret_key,
            "api_url": settings.zalo_api_url,
            "oauth_url": settings.zalo_oauth_url,
            "access_token": settings.zalo_access_token,
            "refresh_token": settings.zalo_refresh_token,
            "max_event_age": timedelta(seconds=settings.zalo_max_event_age),
        }
        options.update(overrides)
        return cls(core, **options)

    # -- lifecycle ----------------------------------------------------------------------

    async def prepare(self) -> None:
        await self.tokens.load()
        self.core.app.delivery.register(self.messenger)

    def register(self, app: web.Application, path: str = WEBHOOK_PATH) -> None:
        """Mount the webhook on an existing aiohttp app (one web server for several things)."""
        app.router.add_post(path, self.webhook.handle)

    async def start(
        self, host: str = "127.0.0.1", port: int = 8080, path: str = WEBHOOK_PATH
    ) -> int:
        """Serve the webhook; returns the port actually bound (pass 0 for a free one).

        The webhook URL itself is entered in Zalo's developer console; the OA API has no
        call to set it.
        """
        await self.prepare()
        app = web.Application(client_max_size=MAX_EVENT_BYTES)
        self.register(app, path)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._web = runner
        self.port = int(runner.addresses[0][1])
        log.info("zalo webhook on http://%s:%d%s", host, self.port, path)
        return self.port

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop taking events, let those in hand finish (up to `timeout`), close the client."""
        if self._web is not None:
            await self._web.cleanup()
            self._web = None
        pending = set(self._tasks)
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.http.close()

    # -- events -------------------------------------------------------------------------

    def _accept(self, event: ZaloEvent) -> None:
        previous = self._tails.get(event.user_id)
        task = asyncio.create_task(self._run(event, previous))
        self._tails[event.user_id] = task
        self._tasks.add(task)
        task.add_done_callback(partial(self._finished, event.user_id))

    def _finished(self, user_id: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._tails.get(user_id) is task:
            del self._tails[user_id]

    async def _run(self, event: ZaloEvent, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # in order per user; its failure is its own
        try:
            await self.process(event)
        except Exception:
            log.exception("zalo: event %s %s from %s failed", event.name, event.key, event.user_id)

    async def process(self, event: ZaloEvent) -> None:
        """Handle one verified event (public for tests that bypass HTTP)."""
        name = event.name
        if name == protocol.EVENT_TEXT:
            sender = await self._sender(event)
            await self._text(event, sender)
        elif name == protocol.EVENT_FOLLOW:
            sender = await self._sender(event)
            # A new follower is greeted exactly as if they had sent /start.
            await self._dispatch(self._incoming(event, sender, "/start"))
        elif name in protocol.EVENTS_NON_TEXT:
            await self._sender(event)
            if await self.core.journal.first_time(ZALO, event.key):
                await self._say(event.user_id, "zalo.please_type")
        elif name in protocol.EVENTS_ABOUT_OA:
            log.debug("zalo: %s for %s", name, event.user_id)
        else:
            log.info("zalo: event %s from %s ignored", name, event.user_id)

    async def _sender(self, event: ZaloEvent) -> Sender:
        """Record that the user wrote (opens the reply window) and learn their name once."""
        known = await self.contacts.get(event.user_id)
        contact = await self.contacts.wrote(event.user_id, event.at, event.msg_id)
        name = contact.display_name
        if not name and self.fetch_profiles and known is None:
            name = await self.messenger.display_name(event.user_id)
            if name:
                await self.contacts.name(event.user_id, name)
        return Sender(event.user_id, first_name=name)

    def _incoming(self, event: ZaloEvent, sender: Sender, text: str) -> Incoming:
        chat = ChatRef(ZALO, event.user_id, ChatKind.PRIVATE)
        data = callback_data(text)
        if data is not None:
            return Incoming(
                channel=ZALO,
                update_id=event.key,
                chat=chat,
                sender=sender,
                date=event.at,
                callback_data=data,
                callback_id=callback_id(event.user_id, event.key),
            )
        parsed = parse_command(text)
        return Incoming(
            channel=ZALO,
            update_id=event.key,
            chat=chat,
            sender=sender,
            date=event.at,
            text=text,
            command=parsed.name if parsed else None,
            args=parsed.args if parsed else "",
            message_id=event.msg_id,
        )

    async def _text(self, event: ZaloEvent, sender: Sender) -> None:
        if not event.text.strip():
            log.info("zalo: empty text %s from %s ignored", event.key, event.user_id)
            return
        await self._dispatch(self._incoming(event, sender, event.text))

    async def _dispatch(self, incoming: Incoming) -> None:
        user_id = incoming.sender.user_id
        sends_before = self.messenger.sends.get(user_id, 0)
        outcome = await self.core.handle(incoming)
        if outcome.duplicate:
            log.info("zalo: %s already handled; ignored", incoming.update_id)
            return
        answer = outcome.callback_answer
        if incoming.callback_id is not None and answer is not None and answer.text:
            try:
                await self.core.app.delivery.answer_callback(ZALO, incoming.callback_id, answer)
            except Exception:
                log.warning("zalo: could not answer button %s", incoming.callback_id, exc_info=True)
        unanswered = self.messenger.sends.get(user_id, 0) == sends_before
        if unanswered and not incoming.is_callback and not outcome.handled and not outcome.errors:
            # On Zalo a citizen's message is often their only chance to get through within the
            # reply window; silence would look like a broken service.
            await self._say(user_id, "zalo.not_understood")

    async def _language(self, user_id: str) -> str:
        app = self.core.app
        async with app.db.sessions() as session:
            identity = await session.scalar(
                select(Identity)
                .where(Identity.channel == ZALO, Identity.user_id == user_id)
                .options(selectinload(Identity.person))
            )
            person_language = identity.person.language if identity and identity.person else None
            identity_language = identity.language if identity else None
        return app.i18n.pick_language(
            person_language, identity_language, app.settings.default_language
        )

    async def _say(self, user_id: str, key: str) -> None:
        app = self.core.app
        text = app.i18n.gettext(await self._language(user_id), key)
        try:
            await app.delivery.send(ChatRef(ZALO, user_id), OutMessage(text))
        except Exception:
            log.warning("zalo: could not send %s to %s", key, user_id, exc_info=True)
