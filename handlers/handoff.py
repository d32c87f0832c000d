"""Ask a person: a citizen's question goes to the support group; a staff reply goes back.

The citizen presses "Hỏi cán bộ" (or /hoicanbo) and types the question, or confirms sending
a question the bot was not sure about. The question is posted to the group bound with
purpose "support_group", with a Reply button. A staff member either presses Reply and types
the answer in their private chat with the bot, or replies to the posted message in the
group. The answer is relayed to the citizen on the citizen's own channel (Telegram or Zalo)
and the exchange is kept in the ``handoffs`` table.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.core.callbacks import CallbackData
from bot.core.context import Ctx, button_rows
from bot.core.events import Button, ChatKind, ChatRef, Incoming, Keyboard, OutMessage, SentRef
from bot.core.router import PRIVATE, Router
from bot.delivery.errors import DeliveryError
from bot.services.access import Permission
from bot.services.classified import refuse_if_classified
from bot.services.faq.index import FaqIndex
from bot.services.faq.privacy import mask_personal
from bot.services.org import directory
from storage.models import Handoff, Person
from storage.models.faq import HandoffStatus
from storage.repositories import core as core_repo
from storage.repositories import faq as repo

log = logging.getLogger(__name__)

router = Router("faq_handoff")

ASK_FLOW = "faq_ask"
REPLY_FLOW = "faq_reply"
REPLY_TTL = timedelta(hours=2)
# Long enough for a question, short enough for the group post and a phone screen.
MAX_QUESTION = 1000
MAX_ANSWER = 3000
GROUP_ONLY = frozenset({ChatKind.GROUP})


@dataclass(frozen=True)
class AskPerson(CallbackData, prefix="fqa"):
    """ "Ask a person": the citizen will type the question for staff."""


@dataclass(frozen=True)
class SendDraft(CallbackData, prefix="fqs"):
    """Send the question the bot was not sure about to staff, as it was typed."""

    handoff_id: int


@dataclass(frozen=True)
class ReplyButton(CallbackData, prefix="fqr"):
    handoff_id: int


def hotline(ctx: Ctx) -> str:
    # The agency's number is a message so an office changes it with its other texts.
    return ctx.t("faq.hotline_number")


def ask_button(ctx: Ctx) -> Button:
    return Button(ctx.t("faq.button.ask_person"), data=AskPerson().pack())


def hotline_button(ctx: Ctx) -> Button:
    # A call button on Zalo; Telegram has no inline call button, so the text carries it too.
    number = hotline(ctx)
    return Button(ctx.t("faq.button.call", number=number), phone=number)


# --------------------------------------------------------------------------- citizen side


@router.callback(AskPerson, permission=Permission.ASK_FAQ)
async def ask_pressed(ctx: Ctx, _: AskPerson) -> None:
    ctx.answer()
    await _start_asking(ctx)


@router.command(
    "ask", "hoicanbo", permission=Permission.ASK_FAQ, chats=PRIVATE, description="cmd.ask"
)
async def ask_command(ctx: Ctx) -> None:
    question = ctx.incoming.args.strip()
    if question:
        await refuse_if_classified(ctx.app, ctx.actor, question, "question")
        await hand_off(ctx, question)
        return
    await _start_asking(ctx)


async def _start_asking(ctx: Ctx) -> None:
    if ctx.in_group:
        return
    await ctx.flow.start(ASK_FLOW, "question")
    await ctx.reply(ctx.t("faq.handoff.ask", hotline=hotline(ctx)))


@router.step(ASK_FLOW, "question")
async def ask_text(ctx: Ctx) -> None:
    question = ctx.incoming.text.strip()
    if not question:
        await ctx.reply(ctx.t("faq.handoff.ask_text_only"))
        return
    await refuse_if_classified(ctx.app, ctx.actor, question, "question")
    await ctx.flow.finish()
    await hand_off(ctx, question)


@router.callback(SendDraft, permission=Permission.ASK_FAQ)
async def send_draft(ctx: Ctx, button: SendDraft) -> None:
    row = await ctx.session.get(Handoff, button.handoff_id)
    own = (
        row is not None
        and row.channel == ctx.incoming.channel
        and row.citizen_chat_id == ctx.chat.chat_id
    )
    if row is None or not own:
        ctx.answer(ctx.t("core.button_expired"))
        return
    moved = await repo.move_handoff(ctx.session, row.id, HandoffStatus.DRAFT, HandoffStatus.OPEN)
    if not moved:
        ctx.answer(ctx.t("faq.handoff.already_sent"))
        return
    ctx.answer()
    await _post(ctx, row)


async def hand_off(ctx: Ctx, question: str, *, guess_id: str | None = None) -> Handoff:
    """Store the question (numbers masked) and post it to the support group."""
    row = await repo.create_handoff(
        ctx.session,
        channel=ctx.incoming.channel,
        citizen_chat_id=ctx.chat.chat_id,
        citizen_name=ctx.incoming.sender.first_name or "",
        language=ctx.lang,
        question=mask_personal(question[:MAX_QUESTION]),
        at=ctx.now,
        guess_id=guess_id,
    )
    await _post(ctx, row)
    return row


async def create_draft(ctx: Ctx, question: str, guess_id: str | None) -> Handoff:
    """A question the bot could not answer, kept until the citizen decides to send it."""
    await repo.purge_drafts(ctx.session, older_than=ctx.now - timedelta(days=1))
    return await repo.create_handoff(
        ctx.session,
        channel=ctx.incoming.channel,
        citizen_chat_id=ctx.chat.chat_id,
        citizen_name=ctx.incoming.sender.first_name or "",
        language=ctx.lang,
        question=mask_personal(question[:MAX_QUESTION]),
        at=ctx.now,
        status=HandoffStatus.DRAFT,
        guess_id=guess_id,
    )


async def _post(ctx: Ctx, row: Handoff) -> None:
    group = await directory.support_group(ctx.session)
    if group is None:
        # Kept as open: an admin can still read it; the citizen is not left waiting.
        log.warning("hand-off %s: no support group is bound", row.id)
        await ctx.reply(
            ctx.t("faq.handoff.no_group", hotline=hotline(ctx)), ((hotline_button(ctx),),)
        )
        return
    lang = ctx.app.settings.default_language
    text = _post_text(ctx, lang, row)
    buttons = button_rows(
        [Button(ctx.t_in(lang, "faq.button.reply"), data=ReplyButton(row.id).pack())]
    )
    try:
        sent = await ctx.send(group, OutMessage(text, buttons))
    except (DeliveryError, LookupError):
        log.warning("hand-off %s: the support group is unreachable", row.id, exc_info=True)
        await ctx.reply(
            ctx.t("faq.handoff.failed", hotline=hotline(ctx)), ((hotline_button(ctx),),)
        )
        return
    await repo.set_group_post(
        ctx.session,
        row.id,
        channel=group.channel,
        chat_id=group.chat_id,
        message_id=sent.message_id,
    )
    await ctx.reply(ctx.t("faq.handoff.sent", number=row.id))


def _post_text(ctx: Ctx, lang: str, row: Handoff, footer: str = "") -> str:
    guess = ""
    if row.guess_id:
        entry = ctx.app.get(FaqIndex).current.get(row.guess_id)
        if entry is not None:
            guess = ctx.t_in(lang, "faq.handoff.post_guess", title=html.escape(entry.title))
    text = ctx.t_in(
        lang,
        "faq.handoff.post",
        number=row.id,
        channel=html.escape(row.channel),
        name=html.escape(row.citizen_name or "—"),
        question=html.escape(row.question),
    )
    return "\n".join(part for part in (text, guess, footer) if part)


# --------------------------------------------------------------------------- staff side


@router.callback(ReplyButton, permission=Permission.ANSWER_CITIZENS)
async def reply_pressed(ctx: Ctx, button: ReplyButton) -> None:
    row = await ctx.session.get(Handoff, button.handoff_id)
    if row is None or row.status == HandoffStatus.DRAFT.value:
        ctx.answer(ctx.t("core.button_expired"))
        return
    if row.status == HandoffStatus.ANSWERED.value:
        ctx.answer(ctx.t("faq.handoff.already_answered"), alert=True)
        return
    sender = ctx.incoming.sender
    private = ChatRef(ctx.incoming.channel, sender.user_id, ChatKind.PRIVATE)
    # The conversation lives in the staff member's private chat, whichever chat the button
    # was pressed in, so the answer is typed away from the group's traffic.
    await core_repo.save_state(
        ctx.session,
        channel=private.channel,
        chat_id=private.chat_id,
        user_id=sender.user_id,
        flow=REPLY_FLOW,
        step="text",
        data={"handoff_id": row.id},
        now=ctx.now,
        ttl=REPLY_TTL,
    )
    prompt = ctx.t("faq.handoff.reply_prompt", number=row.id, question=html.escape(row.question))
    try:
        await ctx.send(private, OutMessage(prompt))
    except (DeliveryError, LookupError):
        # Never started a private chat with the bot: Telegram refuses the message.
        await core_repo.clear_state(ctx.session, private.channel, private.chat_id, sender.user_id)
        ctx.answer(ctx.t("faq.handoff.open_private"), alert=True)
        return
    ctx.answer(ctx.t("faq.handoff.reply_opened"))


@router.step(REPLY_FLOW, "text")
async def reply_text(ctx: Ctx) -> None:
    answer = ctx.incoming.text.strip()
    if not answer:
        await ctx.reply(ctx.t("faq.handoff.answer_text_only"))
        return
    await refuse_if_classified(ctx.app, ctx.actor, answer, "answer")
    handoff_id = int(ctx.flow.data.get("handoff_id", 0))
    await ctx.flow.finish()
    row = await ctx.session.get(Handoff, handoff_id)
    if row is None:
        await ctx.reply(ctx.t("core.button_expired"))
        return
    await relay(ctx, row, answer)


def _is_reply_to_bot(incoming: Incoming) -> bool:
    return incoming.reply_to is not None and incoming.reply_to.from_bot


@router.text(permission=Permission.ANSWER_CITIZENS, chats=GROUP_ONLY, where=_is_reply_to_bot)
async def group_reply(ctx: Ctx) -> None:
    """A staff member answers by replying to the posted question in the group."""
    assert ctx.incoming.reply_to is not None
    row = await repo.handoff_by_post(
        ctx.session, ctx.chat.channel, ctx.chat.chat_id, ctx.incoming.reply_to.message_id
    )
    answer = ctx.incoming.text.strip()
    if row is None or not answer:
        return  # a reply to some other bot message: not ours to answer
    await refuse_if_classified(ctx.app, ctx.actor, answer, "answer")
    await relay(ctx, row, answer)


async def relay(ctx: Ctx, row: Handoff, answer: str) -> None:
    """Send the staff answer to the citizen once; report back to the staff member."""
    answer = answer[:MAX_ANSWER]
    moved = await repo.move_handoff(
        ctx.session,
        row.id,
        HandoffStatus.OPEN,
        HandoffStatus.ANSWERED,
        answer=answer,
        answered_by=ctx.actor.person_id,
        answered_at=ctx.now,
    )
    if not moved:
        await ctx.reply(ctx.t("faq.handoff.already_answered"))
        return
    citizen = ChatRef(row.channel, row.citizen_chat_id, ChatKind.PRIVATE)
    text = ctx.t_in(
        row.language,
        "faq.handoff.answer",
        question=html.escape(row.question),
        answer=html.escape(answer),
    )
    more: Keyboard = (
        (Button(ctx.t_in(row.language, "faq.button.ask_more"), data=AskPerson().pack()),),
    )
    try:
        await ctx.send(citizen, OutMessage(text, more))
    except (DeliveryError, LookupError):
        log.warning("hand-off %s: could not reach the citizen", row.id, exc_info=True)
        # Back to open so someone can try again (e.g. after the citizen writes again on Zalo).
        await repo.move_handoff(
            ctx.session,
            row.id,
            HandoffStatus.ANSWERED,
            HandoffStatus.OPEN,
            answer=None,
            answered_by=None,
            answered_at=None,
        )
        await ctx.reply(ctx.t("faq.handoff.undeliverable", number=row.id))
        return
    await _mark_post_answered(ctx, row, answer)
    await ctx.reply(ctx.t("faq.handoff.relayed", number=row.id))


async def _mark_post_answered(ctx: Ctx, row: Handoff, answer: str) -> None:
    """Show the group who answered, and drop the Reply button."""
    if not (row.group_channel and row.group_chat_id and row.group_message_id):
        return
    lang = ctx.app.settings.default_language
    name = ctx.actor.full_name
    if ctx.actor.person_id is not None:
        person = await ctx.session.get(Person, ctx.actor.person_id)
        name = person.full_name if person is not None else name
    footer = ctx.t_in(
        lang, "faq.handoff.post_answered", name=html.escape(name), answer=html.escape(answer)
    )
    group = ChatRef(row.group_channel, row.group_chat_id, ChatKind.GROUP)
    bound = await directory.support_group(ctx.session)
    if bound is not None and (bound.channel, bound.chat_id) == (group.channel, group.chat_id):
        group = bound  # the same chat, with its title
    try:
        await ctx.edit(SentRef(group, row.group_message_id), _post_text(ctx, lang, row, footer))
    except (DeliveryError, LookupError):
        log.info("hand-off %s: could not update the group post", row.id, exc_info=True)
