"""The core: one update in, handler run, answers out — the same for every channel."""

from __future__ import annotations

import html
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.actors import Profile
from bot.core.app_context import AppContext
from bot.core.callbacks import BadCallback
from bot.core.chatlocks import ChatLocks, LocalChatLocks
from bot.core.context import Ctx, Flow, SessionSource
from bot.core.errors import UserFacingError
from bot.core.events import CallbackAnswer, ChatKind, Incoming, Outcome, OutMessage
from bot.core.journal import UpdateJournal
from bot.core.router import Router, RouteTable
from bot.services import access
from bot.services.access import Actor
from storage.repositories import core as core_repo
from storage.repositories.identities import touch_identity

log = logging.getLogger(__name__)
APOLOGY = "core.apology"


@dataclass
class DispatchStats:
    handled: int = 0
    duplicates: int = 0
    failures: int = 0


class Dispatcher:
    def __init__(self, app: AppContext, root: Router, locks: ChatLocks | None = None) -> None:
        self.app = app
        self.routes = RouteTable.build(root)
        # Several instances share Redis locks (bot.core.chatlocks); one process needs none.
        self.locks = locks or LocalChatLocks()
        self.journal = UpdateJournal(app.db, app.clock)
        self.stats = DispatchStats()

    async def handle(self, incoming: Incoming) -> Outcome:
        started = time.perf_counter()
        async with self.locks.hold(f"{incoming.channel}:{incoming.chat.chat_id}"):
            outcome = await self._handle(incoming)
        elapsed = time.perf_counter() - started
        metrics = self.app.metrics
        metrics.latency.labels(incoming.channel).observe(elapsed)
        metrics.updates.labels(incoming.channel, _outcome_label(outcome)).inc()
        return outcome

    async def _handle(self, incoming: Incoming) -> Outcome:
        channel, update_id = incoming.channel, incoming.update_id
        if await self.journal.seen(channel, update_id):
            self.stats.duplicates += 1
            return Outcome(handled=False, duplicate=True)
        outcome = await self._run(incoming)
        # Recorded only once handled (refusals and apologies count as handled): if this
        # instance dies or the task is cancelled before here, the update is not in the journal
        # and the platform's redelivery — the webhook was not acknowledged — handles it again.
        if not await self.journal.first_time(channel, update_id):
            # A redelivery overtook a handling slower than the platform's timeout.
            log.warning("update %s/%s was handled twice concurrently", channel, update_id)
        return outcome

    async def _run(self, incoming: Incoming) -> Outcome:
        now = self.app.clock.now()
        ctx: Ctx | None = None
        sessions = SessionSource(self.app.db.sessions)
        try:
            actor = await self._actor(incoming, now)
            ctx = Ctx(self.app, incoming, actor, sessions, Flow(sessions, incoming, now), now)
            handled = await self._route(ctx)
            await sessions.commit()
            self.stats.handled += 1
            return Outcome(handled=handled, callback_answer=ctx.callback_answer)
        except UserFacingError as exc:
            # Whatever the handler had not yet committed is rolled back by close() below.
            return await self._tell(incoming, ctx, exc.key, exc.params)
        except Exception:
            self.stats.failures += 1
            log.exception(
                "handler failed: channel=%s chat=%s user=%s update=%s command=%s callback=%s",
                incoming.channel,
                incoming.chat.chat_id,
                incoming.sender.user_id,
                incoming.update_id,
                incoming.command,
                incoming.callback_data,
            )
            return await self._tell(incoming, ctx, APOLOGY, {})
        finally:
            await sessions.close()

    async def _actor(self, incoming: Incoming, now: datetime) -> Actor:
        sender = incoming.sender
        cache = self.app.actors
        profile = cache.get(incoming.channel, sender.user_id, sender.username, sender.first_name)
        if profile is None:
            # Its own short transaction: a first contact's insert must not wait for the handler.
            async with self.app.db.transaction() as session:
                profile = await self._load_profile(session, incoming, now)
            cache.put(incoming.channel, sender.user_id, profile)
        language = self.app.i18n.pick_language(
            profile.person_language,
            profile.identity_language,
            sender.language_code,
            self.app.settings.default_language,
        )
        return profile.actor(language)

    async def _load_profile(
        self, session: AsyncSession, incoming: Incoming, now: datetime
    ) -> Profile:
        sender = incoming.sender
        identity = await touch_identity(
            session,
            channel=incoming.channel,
            user_id=sender.user_id,
            username=sender.username,
            first_name=sender.first_name,
            now=now,
        )
        person = identity.person if identity.person_id else None
        if person is not None and not person.active:
            person = None
        return Profile(
            identity_id=identity.id,
            person_id=person.id if person else None,
            role=person.role if person else access.CITIZEN,
            unit_id=person.unit_id if person else None,
            full_name=(person.full_name if person else sender.first_name) or "",
            person_language=person.language if person else None,
            identity_language=identity.language,
            username=sender.username,
            first_name=sender.first_name,
        )

    async def _route(self, ctx: Ctx) -> bool:
        incoming = ctx.incoming
        routes = self.routes
        if incoming.callback_data is not None:
            route = routes.find_callback(incoming.callback_data)
            if route is None:
                ctx.answer(ctx.t("core.button_expired"))
                return False
            try:
                data = route.data_type.unpack(incoming.callback_data)
            except BadCallback:
                ctx.answer(ctx.t("core.button_expired"))
                return False
            if route.permission and not access.allowed(ctx.actor, route.permission):
                ctx.answer(ctx.t(_denial_key(ctx.actor, route.permission)), alert=True)
                return False
            await route.handler(ctx, data)
            return True

        if incoming.command is not None:
            command = routes.commands.get(incoming.command)
            if command is None or incoming.chat.kind not in command.chats:
                if command is None and incoming.chat.kind is ChatKind.PRIVATE:
                    await ctx.reply(
                        ctx.t("core.unknown_command", command=html.escape(incoming.command))
                    )
                    return False
                if command is not None:
                    await ctx.reply(ctx.t("core.private_only"))
                return False
            if command.permission:
                access.require(ctx.actor, command.permission)
            await command.handler(ctx)
            return True

        state, expired = await core_repo.active_state(
            ctx.session, incoming.channel, incoming.chat.chat_id, incoming.sender.user_id, ctx.now
        )
        if state is not None:
            ctx.flow.name, ctx.flow.step, ctx.flow.data = state.flow, state.step, dict(state.data)
            step = routes.steps.get((state.flow, state.step))
            if step is not None:
                await step.handler(ctx)
                return True
        ctx.flow.expired = expired
        if expired and incoming.chat.kind is ChatKind.PRIVATE:
            await ctx.reply(ctx.t("core.flow_expired"))

        candidates = routes.documents if incoming.document is not None else routes.texts
        for route in candidates:
            if incoming.chat.kind not in route.chats:
                continue
            if route.where is not None and not route.where(incoming):
                continue
            if route.permission and not access.allowed(ctx.actor, route.permission):
                continue
            await route.handler(ctx)
            return True
        return False

    async def _tell(
        self, incoming: Incoming, ctx: Ctx | None, key: str, params: dict[str, object]
    ) -> Outcome:
        """Answer with a localized message instead of a result: a refusal or the apology."""
        lang = ctx.lang if ctx else self.app.settings.default_language
        text = self.app.i18n.gettext(lang, key, **params)
        if incoming.callback_data is not None:
            return Outcome(handled=False, callback_answer=CallbackAnswer(text, alert=True))
        try:
            await self.app.delivery.send(incoming.chat, OutMessage(text))
        except Exception:
            log.exception("could not send %s to %s", key, incoming.chat.chat_id)
        return Outcome(handled=False, errors=[key])


def _denial_key(actor: Actor, permission: str) -> str:
    return "access.denied.citizen" if actor.is_citizen else f"access.denied.{permission}"


def _outcome_label(outcome: Outcome) -> str:
    if outcome.duplicate:
        return "duplicate"
    if outcome.errors:
        return "failed" if outcome.errors == [APOLOGY] else "refused"
    return "handled" if outcome.handled else "ignored"
