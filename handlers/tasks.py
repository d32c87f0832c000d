"""/assign (/giaoviec), /tasks (/viec), /progress (/tiendo) and the task cards' buttons.

The conversation only: read the command, ask when something is unclear, render, send. The
rules (who may do what from which status, the compare-and-set writes, the audit) are in
``bot.services.tasks.service`` and the pure domain next to it.

Where things are asked, and why:

- An ambiguous or past deadline is asked with buttons in the chat where /assign was typed;
  the pending assignment waits in the assigner's conversation state there (buttons only:
  in a busy group a typed answer could not be told from chatter).
- A reason (Need help), a comment (Return) or a new deadline (Extend) is asked in the
  presser's private chat, so a group sees the result and not the back-and-forth; if the
  bot cannot write there (the person never opened a chat with it), it asks in the group and
  takes that person's next message there.
- Someone else's press gets a callback answer only: no message in the chat.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

from bot.core.callbacks import CallbackData
from bot.core.context import Ctx, button_rows
from bot.core.errors import InvalidInput
from bot.core.events import Button, ChatKind, ChatRef, Incoming, Keyboard, OutMessage
from bot.core.router import ALL_CHATS, Router
from bot.delivery.errors import DeliveryError
from bot.services import access
from bot.services.access import Permission
from bot.services.classified import refuse_if_classified
from bot.services.org import directory
from bot.services.tasks import service
from bot.services.tasks.assign_parse import AssignError, AssignRequest, parse_assign
from bot.services.tasks.deadline import DeadlineReading, parse_deadline
from bot.services.tasks.lifecycle import Action, ActionKind
from bot.services.tasks.service import (
    ActOutcome,
    NewAssignment,
    TaskButton,
    TaskInfo,
    deadline_text,
)
from storage.models import Person, Unit
from storage.models.tasks import CardKind
from storage.repositories import core as core_repo
from storage.repositories import tasks as repo

log = logging.getLogger(__name__)
router = Router("tasks")

FLOW_PENDING: Final = "task_assign"  # the assigner chooses a deadline with buttons
FLOW_HELP: Final = "task_help"
FLOW_RETURN: Final = "task_return"
FLOW_EXTEND: Final = "task_extend"
PENDING_TTL: Final = timedelta(minutes=30)
ASK_TTL: Final = timedelta(minutes=30)

NO_DEADLINE: Final = -1
CANCEL: Final = -2
LIST_LIMIT: Final = 40
PEOPLE_LIMIT: Final = 40
# The first line of every card: "📋 Việc #12" / "📋 Task #12" (what a reply quotes).
CARD_MARK: Final = re.compile(r"^\s*📋[^\n#]*#(\d+)")
_PROGRESS_ARGS: Final = re.compile(r"^#?(\d+)\s+(.+)$", re.S)
_MENTION: Final = re.compile(r"@([A-Za-z0-9_]{3,32})\b")
# Words of /tasks, compared without diacritics: "tất cả", "quá hạn", "hôm nay".
_LIST_WORDS: Final = MappingProxyType(
    {
        "all": ("all", "tatca", "donvi", "unit"),
        "overdue": ("overdue", "quahan", "late", "tre", "trehan"),
        "today": ("today", "homnay"),
    }
)


@dataclass(frozen=True)
class DeadlineChoice(CallbackData, prefix="tkp"):
    """An answer to "which deadline?" for a pending assignment.

    ``ref`` is the /assign message's id, tying the button to that assignment; ``at`` the
    deadline in minutes since the epoch, or NO_DEADLINE / CANCEL; ``by`` the assigner.
    """

    ref: str
    at: int
    by: int


@dataclass(frozen=True)
class ExtendChoice(CallbackData, prefix="tke"):
    task: int
    whole: bool
    at: int


@dataclass(frozen=True)
class CancelConfirm(CallbackData, prefix="tkc"):
    task: int
    whole: bool
    yes: bool


@dataclass(frozen=True)
class ListRequest:
    everyone: bool = False
    only: frozenset[service.ListFilter] = frozenset()
    usernames: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


# --------------------------------------------------------------------------- helpers


def _minutes(when: datetime) -> int:
    return int(when.timestamp() // 60)


def _from_minutes(value: int) -> datetime:
    return datetime.fromtimestamp(value * 60, UTC)


def _fold(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def group_language(ctx: Ctx) -> str:
    """Cards and notes shown in a group are read by many: the office's default language."""
    return ctx.app.settings.default_language


def refusal_text(ctx: Ctx, code: str, lang: str | None = None) -> str:
    lang = lang or ctx.lang
    if code.startswith("invalid_from_"):
        status = code.removeprefix("invalid_from_")
        return ctx.t_in(
            lang, "tasks.refusal.invalid_from", status=ctx.t_in(lang, f"tasks.status.{status}")
        )
    return ctx.t_in(lang, f"tasks.refusal.{code}")


async def _place_unit(ctx: Ctx) -> Unit | None:
    """The unit whose time zone reads the deadline: the group's, else the assigner's."""
    if ctx.in_group:
        unit = await directory.unit_of_chat(ctx.session, ctx.chat.channel, ctx.chat.chat_id)
        if unit is not None:
            return unit
    if ctx.actor.unit_id is None:
        return None
    return await ctx.session.get(Unit, ctx.actor.unit_id)


def _deadline_candidates(reading: DeadlineReading, now: datetime, tz: ZoneInfo) -> list[datetime]:
    """Readings worth a button: future ones; for an explicit past time, the same time on the
    next day it is still ahead (the likeliest slip: "hôm nay 9h" said at 10:00)."""
    future = [c for c in reading.candidates if c > now]
    if future:
        return future[:4]
    if reading.when is None:
        return []
    local = reading.when.astimezone(tz)
    for days in range(1, 8):
        later = (local + timedelta(days=days)).astimezone(UTC)
        if later > now:
            return [later]
    return []


async def _write_private(ctx: Ctx, person_id: int, message: OutMessage) -> str | None:
    """Send to a person's private chat; the message id, or None if they cannot be reached."""
    chat = await directory.private_chat(ctx.session, person_id)
    if chat is None:
        return None
    try:
        ref = await ctx.send(chat, message)
    except DeliveryError:
        log.info("could not write to person %s in private", person_id)
        return None
    return ref.message_id


async def _notify(ctx: Ctx, person_id: int, key: str, info: TaskInfo, **params: Any) -> None:
    """A short notice about a task in someone's private chat, in their language; never to
    the actor. Gives the message ``id``, ``text``, ``name`` (the actor) and ``when``."""
    if person_id == ctx.actor.person_id:
        return
    lang = await service.person_language(
        ctx.session, person_id, ctx.app.i18n, ctx.app.settings.default_language
    )
    when = deadline_text(info.deadline, info.tz, lang) if info.deadline else ""
    text = ctx.t_in(
        lang,
        key,
        id=info.id,
        text=_quote(info),
        name=html.escape(ctx.actor.full_name),
        when=when,
        **params,
    )
    await _write_private(ctx, person_id, OutMessage(text))


async def _send_row_card(ctx: Ctx, info: TaskInfo, kind: CardKind, person_id: int) -> bool:
    """An assignee's copy or the assigner's approval card, recorded to be edited later."""
    chat = await directory.private_chat(ctx.session, person_id)
    if chat is None:
        return False
    lang = await service.person_language(
        ctx.session, person_id, ctx.app.i18n, ctx.app.settings.default_language
    )
    message = service.render_card_message(ctx.app.i18n, [info], lang=lang, now=ctx.now, kind=kind)
    try:
        ref = await ctx.send(chat, message)
    except DeliveryError:
        log.info("could not send task %s to person %s", info.id, person_id)
        return False
    await repo.add_card(
        ctx.session,
        task_id=info.id,
        kind=kind,
        channel=chat.channel,
        chat_id=chat.chat_id,
        message_id=ref.message_id,
        language=lang,
    )
    return True


async def _refresh(ctx: Ctx, task_ids: list[int]) -> None:
    """Edit every card showing these rows (ctx.edit commits first: saved before shown)."""
    for refresh in await service.card_refreshes(ctx.session, ctx.app.i18n, task_ids, ctx.now):
        try:
            await ctx.edit(refresh.ref, refresh.message.text, refresh.message.buttons)
        except DeliveryError:
            # A deleted card or a chat the bot left: the task itself has moved; go on.
            log.info("could not edit task card %s", refresh.ref)


def _quote(info: TaskInfo) -> str:
    return html.escape(service.cut(info.text.replace("\n", " "), 120))


# event → who hears of it at once, the message, the name of the actor's words in it.
_NOTICES: Final = MappingProxyType(
    {
        "blocked": ("assigner", "tasks.notify.blocked", "reason"),
        "noted": ("assigner", "tasks.notify.progress", "note"),
        "returned": ("assignee", "tasks.notify.returned", "comment"),
        "approved": ("assignee", "tasks.notify.approved", None),
        "extended": ("assignee", "tasks.notify.extended", None),
        "cancelled": ("assignee", "tasks.notify.cancelled", None),
    }
)


async def _tell_others(ctx: Ctx, outcome: ActOutcome) -> None:
    """Who must learn of a move at once: the assigner of a finished, stuck or progressing
    task (a finished one with the card to approve it); the assignee of an approved,
    returned, extended or cancelled one. Edited cards do not notify anyone."""
    for moved in outcome.moved:
        info, result = moved.after, moved.result
        event = "noted" if result.action is ActionKind.PROGRESS else result.event
        if event == "done":
            if info.assigner_id != ctx.actor.person_id:
                await _send_row_card(ctx, info, CardKind.ASSIGNER, info.assigner_id)
            continue
        if event not in _NOTICES:
            continue
        role, key, words = _NOTICES[event]
        person_id = info.assigner_id if role == "assigner" else info.assignee_id
        params = {words: html.escape(result.text or "")} if words else {}
        await _notify(ctx, person_id, key, info, **params)


async def _conclude(ctx: Ctx, outcome: ActOutcome, *, by_button: bool) -> bool:
    """Answer the actor, bring the cards up to date and tell whoever must know."""
    if not outcome.ok:
        text = refusal_text(ctx, outcome.refusal or service.GONE)
        if by_button:
            ctx.answer(text, alert=True)
        else:
            await ctx.reply(text)
        return False
    first = outcome.moved[0]
    event = first.result.event or first.result.action.value
    if first.result.action is ActionKind.PROGRESS:
        event = "noted"  # a note that also unblocks is still, to its writer, a note taken
    ids = ", ".join(f"#{m.after.id}" for m in outcome.moved)
    text = ctx.t(f"tasks.moved.{event}", id=ids)
    if by_button:
        ctx.answer(text)
    else:
        await ctx.reply(text)
    await _refresh(ctx, [m.after.id for m in outcome.moved])
    await _tell_others(ctx, outcome)
    return True


# --------------------------------------------------------------------------- /assign


async def _resolve_people(ctx: Ctx, usernames: list[str]) -> list[Person]:
    """The people named, all within the units this actor may give work to.

    Unknown or out-of-reach names end with a list of who can be assigned and how to invite.
    """
    scope = await service.assignable_unit_ids(ctx.session, ctx.actor)
    if scope == []:
        raise InvalidInput("tasks.assign.no_unit")
    found: list[Person] = []
    missing: list[str] = []
    for name in usernames:
        person = await directory.person_by_username(ctx.session, ctx.chat.channel, name)
        if person is None or (scope is not None and person.unit_id not in scope):
            missing.append(name)
        elif person.id not in {p.id for p in found}:
            found.append(person)
    if missing:
        units = scope if scope is not None else await repo.all_unit_ids(ctx.session)
        known = await directory.usernames_in_units(ctx.session, units)
        listing = ", ".join(
            f"@{html.escape(u)} ({html.escape(n)})" for u, n in known[:PEOPLE_LIMIT]
        )
        if len(known) > PEOPLE_LIMIT:
            listing += ", …"
        raise InvalidInput(
            "tasks.assign.unknown",
            names=", ".join(f"@{html.escape(n)}" for n in missing),
            people=listing or ctx.t("tasks.assign.nobody"),
        )
    return found


@router.command("assign", "giaoviec", permission=Permission.ASSIGN_TASKS, description="cmd.assign")
async def assign(ctx: Ctx) -> None:
    incoming = ctx.incoming
    if not incoming.args.strip():
        raise InvalidInput("tasks.assign.usage")
    unit = await _place_unit(ctx)
    tz = service.zone(unit.timezone if unit else None)
    reply_text = incoming.reply_to.text if incoming.reply_to is not None else None
    parsed = parse_assign(
        incoming.args, now=ctx.now, tz=tz, reply_text=reply_text, lang_hint=ctx.lang
    )
    if isinstance(parsed, AssignError):
        if parsed.code == "no_assignee":
            raise InvalidInput("tasks.assign.usage")
        raise InvalidInput(
            "tasks.assign.empty_text", names=", ".join(f"@{n}" for n in parsed.usernames)
        )
    # Nothing of a marked text is stored, not even in a pending assignment.
    await refuse_if_classified(ctx.app, ctx.actor, f"{parsed.text}\n{parsed.note or ''}", "task")
    people = await _resolve_people(ctx, parsed.usernames)
    reading = parsed.deadline
    when = reading.when
    if when is not None and (reading.ambiguous or reading.past or when <= ctx.now):
        await _ask_deadline(ctx, parsed, people, tz)
        return
    assignment = NewAssignment(
        text=parsed.text,
        assignee_ids=tuple(p.id for p in people),
        deadline=when.astimezone(UTC) if when else None,
        urgent=parsed.urgent,
        legal=parsed.legal,
        note=parsed.note,
    )
    await _create_and_announce(ctx, assignment, replace_question=False)


async def _ask_deadline(
    ctx: Ctx, parsed: AssignRequest, people: list[Person], tz: ZoneInfo
) -> None:
    reading = parsed.deadline
    assert reading.when is not None and ctx.actor.person_id is not None
    ref = ctx.incoming.message_id or ctx.incoming.update_id
    await ctx.flow.start(
        FLOW_PENDING,
        "deadline",
        {
            "ref": ref,
            "text": parsed.text,
            "note": parsed.note,
            "assignees": [p.id for p in people],
            "urgent": parsed.urgent,
            "legal": parsed.legal,
        },
        ttl=PENDING_TTL,
    )
    lang = ctx.lang
    candidates = _deadline_candidates(reading, ctx.now, tz)
    buttons: list[list[Button]] = [
        [
            Button(
                deadline_text(c, tz, lang),
                data=DeadlineChoice(ref, _minutes(c), ctx.actor.person_id).pack(),
            )
        ]
        for c in candidates
    ]
    buttons.append(
        [
            Button(
                ctx.t("tasks.pending.no_deadline"),
                data=DeadlineChoice(ref, NO_DEADLINE, ctx.actor.person_id).pack(),
            ),
            Button(
                ctx.t("tasks.pending.cancel"),
                data=DeadlineChoice(ref, CANCEL, ctx.actor.person_id).pack(),
            ),
        ]
    )
    past_only = not [c for c in reading.candidates if c > ctx.now]
    key = "tasks.pending.ask_past" if past_only else "tasks.pending.ask_ambiguous"
    text = ctx.t(
        key,
        matched=html.escape(reading.matched),
        when=deadline_text(reading.when, tz, lang),
        text=html.escape(service.cut(parsed.text, 200)),
    )
    await ctx.reply(text, button_rows(*buttons))


@router.callback(DeadlineChoice)
async def deadline_chosen(ctx: Ctx, data: DeadlineChoice) -> None:
    if ctx.actor.person_id != data.by:
        ctx.answer(ctx.t("tasks.pending.not_yours"), alert=True)
        return
    incoming = ctx.incoming
    state, _ = await core_repo.active_state(
        ctx.session, incoming.channel, incoming.chat.chat_id, incoming.sender.user_id, ctx.now
    )
    if state is None or state.flow != FLOW_PENDING or state.data.get("ref") != data.ref:
        ctx.answer(ctx.t("tasks.pending.expired"), alert=True)
        return
    pending = dict(state.data)
    if data.at == CANCEL:
        await ctx.flow.finish()
        ctx.answer(ctx.t("tasks.pending.cancelled"))
        await ctx.edit_origin(ctx.t("tasks.pending.cancelled"))
        return
    when = None if data.at == NO_DEADLINE else _from_minutes(data.at)
    if when is not None and when <= ctx.now:
        ctx.answer(ctx.t("tasks.pending.passed"), alert=True)
        return
    # The role may have changed since the question was asked.
    access.require(ctx.actor, Permission.ASSIGN_TASKS)
    await ctx.flow.finish()
    assignment = NewAssignment(
        text=str(pending["text"]),
        assignee_ids=tuple(int(i) for i in pending["assignees"]),
        deadline=when,
        urgent=bool(pending.get("urgent")),
        legal=bool(pending.get("legal")),
        note=pending.get("note"),
    )
    ctx.answer(ctx.t("tasks.pending.done"))
    await _create_and_announce(ctx, assignment, replace_question=True)


async def _create_and_announce(
    ctx: Ctx, assignment: NewAssignment, *, replace_question: bool
) -> None:
    """Store the batch, show its card where it was given, send each assignee a copy."""
    infos = await service.create(ctx.session, actor=ctx.actor, assignment=assignment, now=ctx.now)
    lang = group_language(ctx) if ctx.in_group else ctx.lang
    card = service.render_card_message(
        ctx.app.i18n, infos, lang=lang, now=ctx.now, kind=CardKind.ORIGIN
    )
    if replace_question and ctx.incoming.message_id is not None:
        await ctx.edit_origin(card.text, card.buttons)
        message_id = ctx.incoming.message_id
    else:
        message_id = (await ctx.reply(card.text, card.buttons)).message_id
    await repo.add_card(
        ctx.session,
        task_id=infos[0].batch_id,
        kind=CardKind.ORIGIN,
        channel=ctx.chat.channel,
        chat_id=ctx.chat.chat_id,
        message_id=message_id,
        language=lang,
    )
    unreachable: list[TaskInfo] = []
    for info in infos:
        own_private = not ctx.in_group and info.assignee_id == ctx.actor.person_id
        if own_private:
            continue  # assigned to oneself in private: the card above is the copy
        if not await _send_row_card(ctx, info, CardKind.ASSIGNEE, info.assignee_id):
            unreachable.append(info)
    if unreachable:
        names = []
        for info in unreachable:
            username = await repo.username_of(ctx.session, info.assignee_id, ctx.chat.channel)
            names.append(f"@{username}" if username else info.assignee_name)
        bot = f"@{ctx.app.bot_username}" if ctx.app.bot_username else "bot"
        await ctx.reply(
            ctx.t_in(
                lang,
                "tasks.assign.open_private",
                names=html.escape(", ".join(names)),
                bot=html.escape(bot),
            )
        )


# --------------------------------------------------------------------------- card buttons

_ASKS: Final = MappingProxyType(
    {
        ActionKind.NEED_HELP: (FLOW_HELP, "reason", "tasks.ask.reason"),
        ActionKind.RETURN: (FLOW_RETURN, "comment", "tasks.ask.comment"),
        ActionKind.EXTEND: (FLOW_EXTEND, "deadline", "tasks.ask.deadline"),
    }
)


@router.callback(TaskButton)
async def card_pressed(ctx: Ctx, data: TaskButton) -> None:
    try:
        kind = ActionKind(data.act)
    except ValueError:
        ctx.answer(ctx.t("core.button_expired"))
        return
    if kind in (ActionKind.ACCEPT, ActionKind.DONE, ActionKind.APPROVE):
        outcome = await service.act(
            ctx.session,
            actor=ctx.actor,
            task_id=data.task,
            whole=data.whole,
            action=Action(kind),
            now=ctx.now,
        )
        await _conclude(ctx, outcome, by_button=True)
        return
    if kind not in (*_ASKS, ActionKind.CANCEL):
        ctx.answer(ctx.t("core.button_expired"))
        return
    refusal, rows = await service.precheck(
        ctx.session, actor=ctx.actor, task_id=data.task, whole=data.whole, kind=kind
    )
    if refusal is not None:
        ctx.answer(refusal_text(ctx, refusal), alert=True)
        return
    await _ask(ctx, kind, data.task, data.whole, rows)


async def _ask(ctx: Ctx, kind: ActionKind, task_id: int, whole: bool, rows: list[TaskInfo]) -> None:
    """Ask for what the action needs, in the presser's private chat if the bot can write
    there, else in the chat of the card."""
    first = rows[0]
    number = first.batch_id if whole else first.id
    params: dict[str, Any] = {"id": number, "text": _quote(first)}
    buttons: Keyboard = ()
    if kind is ActionKind.CANCEL:
        text = ctx.t("tasks.ask.cancel", **params)
        yes = CancelConfirm(task_id, whole, True).pack()
        no = CancelConfirm(task_id, whole, False).pack()
        buttons = button_rows(
            [
                Button(ctx.t("tasks.button.cancel_yes"), data=yes),
                Button(ctx.t("tasks.button.cancel_no"), data=no),
            ]
        )
    else:
        flow, _, key = _ASKS[kind]
        if kind is ActionKind.EXTEND:
            params["current"] = (
                deadline_text(first.deadline, first.tz, ctx.lang)
                if first.deadline
                else ctx.t("tasks.ask.no_current")
            )
        text = ctx.t(key, **params)
    incoming = ctx.incoming
    where = incoming.chat
    if ctx.in_group:
        private = ChatRef(incoming.channel, incoming.sender.user_id, ChatKind.PRIVATE)
        try:
            await ctx.send(private, OutMessage(text, buttons))
            where = private
        except DeliveryError:
            name = html.escape(ctx.actor.full_name or incoming.sender.first_name)
            await ctx.reply(f"{name}: {text}", buttons)
    else:
        await ctx.reply(text, buttons)
    if kind is not ActionKind.CANCEL:
        flow, step, _ = _ASKS[kind]
        await core_repo.save_state(
            ctx.session,
            channel=incoming.channel,
            chat_id=where.chat_id,
            user_id=incoming.sender.user_id,
            flow=flow,
            step=step,
            data={"task": task_id, "whole": whole},
            now=ctx.now,
            ttl=ASK_TTL,
        )
    ctx.answer(ctx.t("tasks.ask.see_private") if where is not incoming.chat else None)


def _flow_target(ctx: Ctx) -> tuple[int, bool]:
    return int(ctx.flow.data["task"]), bool(ctx.flow.data.get("whole"))


async def _typed_text(ctx: Ctx) -> str | None:
    """The answer typed to a question, checked by the state-secret guard; None if empty."""
    text = ctx.incoming.text.strip()
    if not text:
        await ctx.reply(ctx.t("tasks.ask.need_text"))
        return None
    await refuse_if_classified(ctx.app, ctx.actor, text, "task")
    return text


async def _act_on_typed_text(ctx: Ctx, make_action: Callable[[str], Action]) -> None:
    """Finish the asking flow and apply the action built from the typed answer."""
    text = await _typed_text(ctx)
    if text is None:
        return
    task_id, whole = _flow_target(ctx)
    await ctx.flow.finish()
    outcome = await service.act(
        ctx.session,
        actor=ctx.actor,
        task_id=task_id,
        whole=whole,
        action=make_action(text),
        now=ctx.now,
    )
    await _conclude(ctx, outcome, by_button=False)


@router.step(FLOW_HELP, "reason")
async def help_reason(ctx: Ctx) -> None:
    await _act_on_typed_text(ctx, Action.need_help)


@router.step(FLOW_RETURN, "comment")
async def return_comment(ctx: Ctx) -> None:
    await _act_on_typed_text(ctx, Action.return_)


@router.step(FLOW_EXTEND, "deadline")
async def extend_deadline(ctx: Ctx) -> None:
    task_id, whole = _flow_target(ctx)
    refusal, rows = await service.precheck(
        ctx.session, actor=ctx.actor, task_id=task_id, whole=whole, kind=ActionKind.EXTEND
    )
    if refusal is not None:
        await ctx.flow.finish()
        await ctx.reply(refusal_text(ctx, refusal))
        return
    tz = rows[0].tz
    reading = parse_deadline(ctx.incoming.text, now=ctx.now, tz=tz, lang_hint=ctx.lang)
    when = reading.when
    if when is None:
        await ctx.reply(ctx.t("tasks.extend.not_understood"))
        return
    if reading.ambiguous or reading.past or when <= ctx.now:
        candidates = _deadline_candidates(reading, ctx.now, tz)
        buttons = [
            [
                Button(
                    deadline_text(c, tz, ctx.lang),
                    data=ExtendChoice(task_id, whole, _minutes(c)).pack(),
                )
            ]
            for c in candidates
        ]
        await ctx.reply(
            ctx.t("tasks.extend.ask", when=deadline_text(when, tz, ctx.lang)),
            button_rows(*buttons),
        )
        return
    await ctx.flow.finish()
    await _extend(ctx, task_id, whole, when.astimezone(UTC), by_button=False)


@router.callback(ExtendChoice)
async def extend_chosen(ctx: Ctx, data: ExtendChoice) -> None:
    when = _from_minutes(data.at)
    incoming = ctx.incoming
    state, _ = await core_repo.active_state(
        ctx.session, incoming.channel, incoming.chat.chat_id, incoming.sender.user_id, ctx.now
    )
    if state is not None and state.flow == FLOW_EXTEND:
        await ctx.flow.finish()
    if await _extend(ctx, data.task, data.whole, when, by_button=True):
        info = await service.load(ctx.session, data.task)
        tz = info.tz if info else service.zone(None)
        await ctx.edit_origin(
            ctx.t("tasks.moved.extended", id=f"#{data.task}")
            + " "
            + ctx.t("tasks.card.deadline", when=deadline_text(when, tz, ctx.lang))
        )


async def _extend(ctx: Ctx, task_id: int, whole: bool, when: datetime, *, by_button: bool) -> bool:
    outcome = await service.act(
        ctx.session,
        actor=ctx.actor,
        task_id=task_id,
        whole=whole,
        action=Action.extend(when),
        now=ctx.now,
    )
    return await _conclude(ctx, outcome, by_button=by_button)


@router.callback(CancelConfirm)
async def cancel_confirmed(ctx: Ctx, data: CancelConfirm) -> None:
    if not data.yes:
        # Only someone who could cancel may dismiss the question (it may be in a group).
        refusal, _ = await service.precheck(
            ctx.session,
            actor=ctx.actor,
            task_id=data.task,
            whole=data.whole,
            kind=ActionKind.CANCEL,
        )
        if refusal is not None:
            ctx.answer(refusal_text(ctx, refusal), alert=True)
            return
        ctx.answer()
        await ctx.edit_origin(ctx.t("tasks.cancel.kept", id=f"#{data.task}"))
        return
    outcome = await service.act(
        ctx.session,
        actor=ctx.actor,
        task_id=data.task,
        whole=data.whole,
        action=Action.cancel(),
        now=ctx.now,
    )
    if await _conclude(ctx, outcome, by_button=True):
        await ctx.edit_origin(ctx.t("tasks.moved.cancelled", id=f"#{data.task}"))


# --------------------------------------------------------------------------- progress


def _replies_to_card(incoming: Incoming) -> bool:
    reply = incoming.reply_to
    return (
        reply is not None
        and reply.from_bot
        and CARD_MARK.match(reply.text) is not None
        and bool(incoming.text.strip())
    )


@router.text(permission=Permission.OWN_TASKS, chats=ALL_CHATS, where=_replies_to_card)
async def card_reply(ctx: Ctx) -> None:
    """A reply to a card is a progress note from its assignee."""
    reply = ctx.incoming.reply_to
    assert reply is not None
    card = await repo.card_at(ctx.session, ctx.chat.channel, ctx.chat.chat_id, reply.message_id)
    if card is None:
        return
    if card.kind == CardKind.ASSIGNER.value:
        # The assigner answering their approval card: the buttons decide, say so.
        await ctx.reply(ctx.t("tasks.reply.use_buttons"))
        return
    whole = card.kind == CardKind.ORIGIN.value
    refusal, _ = await service.precheck(
        ctx.session, actor=ctx.actor, task_id=card.task_id, whole=whole, kind=ActionKind.PROGRESS
    )
    if refusal is not None:
        # In a group, someone else answering the card is conversation, not a command.
        if not ctx.in_group:
            await ctx.reply(refusal_text(ctx, refusal))
        return
    text = await _typed_text(ctx)
    if text is None:
        return
    outcome = await service.act(
        ctx.session,
        actor=ctx.actor,
        task_id=card.task_id,
        whole=whole,
        action=Action.progress(text),
        now=ctx.now,
    )
    await _conclude(ctx, outcome, by_button=False)


@router.command("progress", "tiendo", permission=Permission.OWN_TASKS, description="cmd.progress")
async def progress(ctx: Ctx) -> None:
    match = _PROGRESS_ARGS.match(ctx.incoming.args.strip())
    if match is None:
        raise InvalidInput("tasks.progress.usage")
    task_id, note = int(match.group(1)), match.group(2).strip()
    await refuse_if_classified(ctx.app, ctx.actor, note, "task")
    info = await service.load(ctx.session, task_id)
    # "/tiendo 12" names the batch as its card shows it: act on the sender's own row of it.
    whole = (
        info is not None and info.batch_id == info.id and info.assignee_id != ctx.actor.person_id
    )
    outcome = await service.act(
        ctx.session,
        actor=ctx.actor,
        task_id=task_id,
        whole=whole,
        action=Action.progress(note),
        now=ctx.now,
    )
    await _conclude(ctx, outcome, by_button=False)


# --------------------------------------------------------------------------- /tasks


def parse_list_args(args: str) -> ListRequest:
    """``/tasks [all] [overdue] [today] [@person]`` in English or Vietnamese."""
    usernames = tuple(dict.fromkeys(m.lower() for m in _MENTION.findall(args)))
    rest = _fold(_MENTION.sub(" ", args))
    # "tất cả", "quá hạn", "hôm nay" are two words; the tables hold them joined.
    for joined in ("tat ca", "don vi", "qua han", "tre han", "hom nay"):
        rest = rest.replace(joined, joined.replace(" ", ""))
    everyone = False
    only: set[service.ListFilter] = set()
    unknown: list[str] = []
    for word in rest.split():
        if word in _LIST_WORDS["all"]:
            everyone = True
        elif word in _LIST_WORDS["overdue"]:
            only.add("overdue")
        elif word in _LIST_WORDS["today"]:
            only.add("today")
        else:
            unknown.append(word)
    return ListRequest(everyone, frozenset(only), usernames, tuple(unknown))


@router.command("tasks", "viec", permission=Permission.OWN_TASKS, description="cmd.tasks")
async def list_tasks(ctx: Ctx) -> None:
    request = parse_list_args(ctx.incoming.args)
    if request.unknown:
        raise InvalidInput("tasks.list.usage")
    assert ctx.actor.person_id is not None
    if request.everyone or request.usernames:
        access.require(ctx.actor, Permission.VIEW_UNIT)
        scope = await service.assignable_unit_ids(ctx.session, ctx.actor)
        assignee_id = None
        if request.usernames:
            people = await _resolve_people(ctx, list(request.usernames[:1]))
            assignee_id = people[0].id
        infos = await service.unit_tasks(ctx.session, scope, ctx.now, assignee_id=assignee_id)
        header_key = "tasks.list.unit_header"
        with_assignee = True
    else:
        infos = await service.open_tasks_of(ctx.session, ctx.actor.person_id, ctx.now)
        header_key = "tasks.list.my_header"
        with_assignee = False
    infos = service.filter_tasks(infos, ctx.now, request.only)
    if not infos:
        await ctx.reply(ctx.t("tasks.list.empty"))
        return
    overdue = sum(1 for i in infos if i.overdue(ctx.now))
    lines = [ctx.t(header_key, count=len(infos), overdue=overdue)]
    for info in infos[:LIST_LIMIT]:
        lines.append(
            service.render_line(
                ctx.app.i18n, info, lang=ctx.lang, now=ctx.now, with_assignee=with_assignee
            )
        )
    if len(infos) > LIST_LIMIT:
        lines.append(ctx.t("tasks.list.more", count=len(infos) - LIST_LIMIT))
    lines.append("")
    lines.append(ctx.t("tasks.list.footer"))
    await ctx.reply("\n".join(lines))
