"""The citizen FAQ: free-text questions, answer cards, the procedure menu, catalogue upload.

Any free text in a private chat that no other feature took is a question (this router is
wired last). One confident match gets its answer card; close candidates get "Bạn muốn hỏi:
…" with buttons; a question below the threshold gets "not sure" with the field menu, the
hotline and an offer to send it to a person. In groups the bot stays quiet.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.app_context import AppContext
from bot.core.callbacks import CallbackData
from bot.core.context import Ctx, button_rows
from bot.core.errors import InvalidInput
from bot.core.events import Button, Keyboard, OutDocument
from bot.core.router import PRIVATE, Router
from bot.services import audit
from bot.services.access import Permission
from bot.services.classified import refuse_if_classified
from bot.services.faq.catalogue import (
    CatalogueError,
    Channel,
    Entry,
    Procedure,
    Topic,
    detect_format,
    parse_catalogue,
)
from bot.services.faq.index import FaqIndex, FaqSnapshot
from bot.services.faq.matcher import MatchResult
from bot.services.faq.policy import Decision, Policy, as_vietnam_time
from bot.services.faq.privacy import mask_personal
from handlers import handoff
from handlers.handoff import ask_button, create_draft, hotline, hotline_button
from storage.repositories import faq as repo

log = logging.getLogger(__name__)

router = Router("faq")
router.include(handoff.router)

TOPIC_PREFIX = "topic:"
ACCEPTED_LIST = "topic:accepted-list"
HOTLINE_TOPIC = "topic:hotline"
# Matching cost grows with the question; nobody's question about a procedure is longer.
MAX_QUESTION = 500
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
PAGE_SIZE = 8
MENU_FIELDS_INLINE = 10  # fields shown under "not sure" before a "more" button
MAX_CHOICES = 3
CHOICE_GAP = 12.0  # candidates this close to the best are offered as choices
MAX_DOCUMENTS = 4
MAX_BUTTON_TEXT = 48
# Telegram allows 4096 characters; leave room for the header and the escaping.
MAX_TEXT = 3500
_URGENT_SUFFIX = re.compile(r"\s*\((?:hồ sơ cấp bách|urgent)\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class EntryButton(CallbackData, prefix="fqe"):
    entry_id: str


@dataclass(frozen=True)
class TopicButton(CallbackData, prefix="fqt"):
    # A topic id without its "topic:" prefix (button data may not contain ":").
    name: str


def entry_data(entry_id: str) -> str:
    """Button data that opens the card of a procedure or topic."""
    if entry_id.startswith(TOPIC_PREFIX):
        return TopicButton(entry_id.removeprefix(TOPIC_PREFIX)).pack()
    return EntryButton(entry_id).pack()


@dataclass(frozen=True)
class MenuButton(CallbackData, prefix="fqm"):
    """The field menu; `fresh` sends a new message instead of editing the pressed one."""

    fresh: bool = False


@dataclass(frozen=True)
class FieldButton(CallbackData, prefix="fqf"):
    # The catalogue version the index refers to: a stale button must not open another field.
    version: int
    field: int
    page: int = 0


# --------------------------------------------------------------------------- start-up


def snapshot_of(stored: repo.StoredCatalogue) -> FaqSnapshot:
    return FaqSnapshot.build(
        stored.catalogue, stored.policy, version_id=stored.version_id, source=stored.source
    )


async def setup(app: AppContext) -> None:
    """Load the catalogue in force (the shipped files on a fresh database) and index it."""
    async with app.db.transaction() as session:
        stored = await repo.load_active(session, now=app.clock.now())
    snapshot = await asyncio.to_thread(snapshot_of, stored)
    app.provide(FaqIndex(snapshot))
    log.info(
        "FAQ catalogue version %s: %d procedures, %d topics",
        stored.version_id,
        len(stored.catalogue.procedures),
        len(stored.catalogue.topics),
    )


async def current(ctx: Ctx) -> FaqSnapshot:
    """The snapshot in force, reloaded when another instance stored a newer version."""
    index = ctx.app.get(FaqIndex)
    if index.due_for_check():
        index.checked()
        latest = await repo.latest_version_id(ctx.session)
        if latest is not None and latest != index.current.version_id:
            stored = await repo.load_active(ctx.session, now=ctx.now)
            index.replace(await asyncio.to_thread(snapshot_of, stored))
    return index.current


# --------------------------------------------------------------------------- questions


@router.text(permission=Permission.ASK_FAQ)
async def question(ctx: Ctx) -> None:
    text = ctx.incoming.text.strip()
    if not text:
        await ctx.reply(ctx.t("faq.text_only"))
        return
    await refuse_if_classified(ctx.app, ctx.actor, text, "question")
    snapshot = await current(ctx)
    result = snapshot.matcher.match(text[:MAX_QUESTION])
    await answer(ctx, snapshot, result, text)


async def answer(ctx: Ctx, snapshot: FaqSnapshot, result: MatchResult, text: str) -> None:
    if result.kind == "greeting":
        name = html.escape(ctx.actor.full_name or ctx.incoming.sender.first_name or "")
        await ctx.reply(ctx.t("faq.greeting", name=name), _menu_row(ctx))
        return
    if result.kind == "thanks":
        await ctx.reply(ctx.t("faq.thanks"), _menu_row(ctx))
        return
    if result.kind == "none" or result.best is None:
        await _log_unanswered(ctx, result, text, "none")
        await _not_sure(ctx, snapshot, result, text)
        return
    if result.confident:
        card, buttons = render_card(ctx, snapshot, result.best, preferred=_runners_up(result))
        await ctx.reply(card, buttons)
        return
    await _log_unanswered(ctx, result, text, "ambiguous" if result.ambiguous else "low")
    await _choices(ctx, result, text)


def _runners_up(result: MatchResult) -> list[Entry]:
    return [entry for entry, score in result.alternatives[1:] if score >= result.score - 25]


async def _log_unanswered(ctx: Ctx, result: MatchResult, text: str, kind: str) -> None:
    await repo.record_unanswered(
        ctx.session,
        normalized=result.normalized or text.strip().lower(),
        example=mask_personal(text[:MAX_QUESTION]),
        kind=kind,
        best_id=result.alternatives[0][0].id if result.alternatives else None,
        best_score=result.score,
        at=ctx.now,
    )


async def _not_sure(ctx: Ctx, snapshot: FaqSnapshot, result: MatchResult, text: str) -> None:
    guess = result.alternatives[0][0].id if result.alternatives else None
    draft = await create_draft(ctx, text, guess)
    rows = _field_rows(ctx, snapshot, limit=MENU_FIELDS_INLINE)
    rows.append(
        (Button(ctx.t("faq.button.send_question"), data=handoff.SendDraft(draft.id).pack()),)
    )
    rows.append((hotline_button(ctx),))
    await ctx.reply(
        ctx.t("faq.not_sure", question=html.escape(_short(text, 120)), hotline=hotline(ctx)),
        tuple(rows),
    )


async def _choices(ctx: Ctx, result: MatchResult, text: str) -> None:
    """ "Bạn muốn hỏi: 1) … 2) …" — the close candidates as buttons."""
    assert result.best is not None
    top = result.alternatives[0][1] if result.alternatives else result.score
    picked: list[Entry] = [result.best]
    for entry, score in result.alternatives:
        if len(picked) >= MAX_CHOICES:
            break
        if entry.id not in {e.id for e in picked} and score >= top - CHOICE_GAP:
            picked.append(entry)
    lines = [ctx.t("faq.choices")]
    rows: list[tuple[Button, ...]] = []
    for number, entry in enumerate(picked, start=1):
        title = _title(ctx, entry)
        lines.append(f"{number}) {html.escape(title)}")
        rows.append(
            (Button(f"{number}) {_short(title, MAX_BUTTON_TEXT)}", data=_entry_data(entry)),)
        )
    draft = await create_draft(ctx, text, result.best.id)
    rows.append(
        (Button(ctx.t("faq.button.none_of_these"), data=handoff.SendDraft(draft.id).pack()),)
    )
    await ctx.reply("\n".join(lines), tuple(rows))


# --------------------------------------------------------------------------- cards


@router.callback(EntryButton, permission=Permission.ASK_FAQ)
async def entry_pressed(ctx: Ctx, button: EntryButton) -> None:
    await _open_card(ctx, button.entry_id)


@router.callback(TopicButton, permission=Permission.ASK_FAQ)
async def topic_pressed(ctx: Ctx, button: TopicButton) -> None:
    await _open_card(ctx, TOPIC_PREFIX + button.name)


async def _open_card(ctx: Ctx, entry_id: str) -> None:
    snapshot = await current(ctx)
    entry = snapshot.get(entry_id)
    if entry is None:
        ctx.answer(ctx.t("core.button_expired"))
        return
    ctx.answer()
    card, buttons = render_card(ctx, snapshot, entry)
    await ctx.reply(card, buttons)


def render_card(
    ctx: Ctx, snapshot: FaqSnapshot, entry: Entry, *, preferred: list[Entry] | None = None
) -> tuple[str, Keyboard]:
    if isinstance(entry, Topic):
        return _topic_card(ctx, snapshot, entry)
    return _procedure_card(ctx, snapshot, entry, preferred or [])


def _procedure_card(
    ctx: Ctx, snapshot: FaqSnapshot, proc: Procedure, preferred: list[Entry]
) -> tuple[str, Keyboard]:
    decision = snapshot.policy.status(proc, ctx.now)
    lines = [f"📋 <b>{html.escape(_title(ctx, proc))}</b>"]
    lines.append(_status_line(ctx, snapshot.policy, proc, decision))
    lines.append(_submit_line(ctx, proc, decision))
    lines.append(_result_line(ctx, proc, decision))
    channel = _channel_for(proc, decision)
    if channel is not None and channel.processing_time:
        lines.append(ctx.t("faq.card.time", time=html.escape(channel.processing_time)))
    if channel is not None and channel.fee:
        lines.append(ctx.t("faq.card.fee", fee=html.escape(channel.fee)))
    if proc.documents:
        docs = "; ".join(html.escape(d) for d in proc.documents[:MAX_DOCUMENTS])
        if len(proc.documents) > MAX_DOCUMENTS:
            docs += "; …"
        lines.append(ctx.t("faq.card.bring", documents=docs))
    if proc.note:
        lines.append(ctx.t("faq.card.note", note=html.escape(proc.note)))
    if not proc.verified and channel is not None and (channel.processing_time or channel.fee):
        lines.append(ctx.t("faq.card.unverified"))
    rows: list[tuple[Button, ...]] = []
    if decision.accepted and decision.reason == "online" and proc.portal_url:
        rows.append((Button(ctx.t("faq.button.portal"), url=proc.portal_url),))
    related = snapshot.related(proc, preferred)
    if related:
        rows.append(tuple(_entry_button(ctx, e) for e in related))
    rows.append((ask_button(ctx), _menu_button(ctx)))
    return "\n".join(lines), tuple(rows)


def _status_line(ctx: Ctx, policy: Policy, proc: Procedure, decision: Decision) -> str:
    if decision.reason == "online":
        return ctx.t("faq.status.online", level=proc.online_level)
    if decision.reason == "urgent":
        rule = policy.rule_at(ctx.now)
        group = rule.urgent_group(proc) if rule is not None else None
        label = (group.label_en if ctx.lang == "en" else group.label_vi) if group else ""
        # The status line already says "urgent": drop a label's own "(hồ sơ cấp bách)".
        label = _URGENT_SUFFIX.sub("", label or decision.note or "")
        return ctx.t("faq.status.urgent", group=html.escape(label))
    if decision.reason == "normal":
        return ctx.t("faq.status.normal")
    if decision.accepted:  # an override accepting it for another reason
        return ctx.t("faq.status.normal")
    if decision.until is not None:
        return ctx.t("faq.status.not_accepted_until", day=_last_day(decision.until))
    return ctx.t("faq.status.not_accepted")


def _submit_line(ctx: Ctx, proc: Procedure, decision: Decision) -> str:
    office = ctx.t(f"faq.office.{proc.level}")
    if not decision.accepted:
        return ctx.t("faq.submit.wait")
    if decision.reason == "online":
        portal = html.escape(proc.portal_url or ctx.t("faq.default_portal"))
        return ctx.t("faq.submit.online", level=proc.online_level, portal=portal)
    if decision.reason == "urgent":
        return ctx.t("faq.submit.in_person_urgent", office=office)
    if proc.online_level >= 3 and proc.portal_url:
        return ctx.t(
            "faq.submit.normal_or_online", office=office, portal=html.escape(proc.portal_url)
        )
    return ctx.t("faq.submit.normal", office=office)


def _result_line(ctx: Ctx, proc: Procedure, decision: Decision) -> str:
    if decision.sign_in_person:
        return ctx.t("faq.result.sign_in_person")
    if decision.postal:
        return ctx.t("faq.result.postal")
    return ctx.t("faq.result.in_person")


def _channel_for(proc: Procedure, decision: Decision) -> Channel | None:
    kind = "online" if decision.reason == "online" else "in_person"
    return proc.channel(kind) or (proc.channels[0] if proc.channels else None)


def _last_day(until: datetime) -> str:
    """`until` is exclusive (the moment the rule ends): show the last day it covers."""
    return (as_vietnam_time(until) - timedelta(microseconds=1)).strftime("%d/%m/%Y")


def _topic_card(ctx: Ctx, snapshot: FaqSnapshot, topic: Topic) -> tuple[str, Keyboard]:
    title = topic.title_en if ctx.lang == "en" else topic.title_vi
    body = topic.body_en if ctx.lang == "en" else topic.body_vi
    lines = [f"ℹ️ <b>{html.escape(title)}</b>", html.escape(body)]
    rows: list[tuple[Button, ...]] = []
    if topic.id == ACCEPTED_LIST:
        lines.append("")
        lines.append(accepted_list_text(ctx, snapshot))
    if topic.id == HOTLINE_TOPIC:
        lines.append(ctx.t("faq.hotline_line", hotline=hotline(ctx)))
        rows.append((hotline_button(ctx),))
    rows.append((ask_button(ctx), _menu_button(ctx)))
    return _clip("\n".join(lines)), tuple(rows)


def accepted_list_text(ctx: Ctx, snapshot: FaqSnapshot) -> str:
    """What is accepted now, grouped by why (online, urgent, normal service)."""
    accepted = snapshot.policy.accepted_procedures(snapshot.catalogue, ctx.now)
    groups: dict[str, list[str]] = {"online": [], "urgent": [], "normal": []}
    for proc, decision in accepted:
        groups.setdefault(decision.reason, []).append(_title(ctx, proc))
    if not accepted:
        return ctx.t("faq.accepted.none")
    if groups["normal"] and not groups["online"] and not groups["urgent"]:
        return ctx.t("faq.accepted.all")
    parts = []
    for reason in ("online", "urgent", "normal"):
        names = groups.get(reason) or []
        if names:
            listed = "; ".join(html.escape(n) for n in names)
            parts.append(ctx.t(f"faq.accepted.{reason}", names=listed))
    return "\n".join(parts)


# --------------------------------------------------------------------------- menu


@router.command(
    "procedures",
    "thutuc",
    permission=Permission.ASK_FAQ,
    chats=PRIVATE,
    description="cmd.procedures",
)
async def procedures(ctx: Ctx) -> None:
    snapshot = await current(ctx)
    await ctx.reply(ctx.t("faq.menu.title"), _menu_keyboard(ctx, snapshot))


@router.callback(MenuButton, permission=Permission.ASK_FAQ)
async def menu_pressed(ctx: Ctx, button: MenuButton) -> None:
    snapshot = await current(ctx)
    ctx.answer()
    if button.fresh:
        await ctx.reply(ctx.t("faq.menu.title"), _menu_keyboard(ctx, snapshot))
    else:
        await ctx.edit_origin(ctx.t("faq.menu.title"), _menu_keyboard(ctx, snapshot))


@router.callback(FieldButton, permission=Permission.ASK_FAQ)
async def field_pressed(ctx: Ctx, button: FieldButton) -> None:
    snapshot = await current(ctx)
    if button.version != (snapshot.version_id or 0) or not 0 <= button.field < len(snapshot.fields):
        ctx.answer(ctx.t("faq.menu.changed"))
        await ctx.edit_origin(ctx.t("faq.menu.title"), _menu_keyboard(ctx, snapshot))
        return
    field_name = snapshot.fields[button.field]
    procs = snapshot.procedures_in(field_name)
    pages = max(1, -(-len(procs) // PAGE_SIZE))
    page = min(max(button.page, 0), pages - 1)
    shown = procs[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows: list[tuple[Button, ...]] = [(_entry_button(ctx, p),) for p in shown]
    nav: list[Button] = []
    version = snapshot.version_id or 0
    if page > 0:
        nav.append(Button("◀", data=FieldButton(version, button.field, page - 1).pack()))
    if page < pages - 1:
        nav.append(Button("▶", data=FieldButton(version, button.field, page + 1).pack()))
    if nav:
        rows.append(tuple(nav))
    rows.append((Button(ctx.t("faq.button.back_to_fields"), data=MenuButton().pack()),))
    ctx.answer()
    text = ctx.t(
        "faq.menu.field",
        field=html.escape(field_name),
        count=len(procs),
        page=page + 1,
        pages=pages,
    )
    await ctx.edit_origin(text, tuple(rows))


def _menu_keyboard(ctx: Ctx, snapshot: FaqSnapshot) -> Keyboard:
    rows = _field_rows(ctx, snapshot)
    topics = [
        snapshot.get(topic_id)
        for topic_id in (ACCEPTED_LIST, "topic:online", "topic:postal", HOTLINE_TOPIC)
    ]
    buttons = [_entry_button(ctx, t) for t in topics if t is not None]
    for start in range(0, len(buttons), 2):
        rows.append(tuple(buttons[start : start + 2]))
    return tuple(rows)


def _field_rows(
    ctx: Ctx, snapshot: FaqSnapshot, limit: int | None = None
) -> list[tuple[Button, ...]]:
    version = snapshot.version_id or 0
    fields = list(enumerate(snapshot.fields))
    more = limit is not None and len(fields) > limit
    if more:
        fields = fields[: (limit or 0) - 1]
    buttons = [
        Button(_short(name, MAX_BUTTON_TEXT), data=FieldButton(version, index).pack())
        for index, name in fields
    ]
    if more:
        buttons.append(Button(ctx.t("faq.button.all_fields"), data=MenuButton(fresh=True).pack()))
    return [tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]


def _menu_row(ctx: Ctx) -> Keyboard:
    return button_rows([_menu_button(ctx)])


def _menu_button(ctx: Ctx) -> Button:
    return Button(ctx.t("faq.button.menu"), data=MenuButton(fresh=True).pack())


def _entry_button(ctx: Ctx, entry: Entry) -> Button:
    return Button(_short(_title(ctx, entry), MAX_BUTTON_TEXT), data=_entry_data(entry))


def _entry_data(entry: Entry) -> str:
    return entry_data(entry.id)


def _title(ctx: Ctx, entry: Entry) -> str:
    if isinstance(entry, Procedure):
        return entry.name_en if ctx.lang == "en" else entry.name_vi
    return entry.title_en if ctx.lang == "en" else entry.title_vi


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1].rstrip() + "…"


# --------------------------------------------------------------------------- upload


@router.document(permission=Permission.ADMIN)
async def upload(ctx: Ctx) -> None:
    """An admin sends a catalogue file: validated whole; stored and indexed only if valid."""
    document = ctx.incoming.document
    assert document is not None
    try:
        fmt = detect_format(document.filename)
    except ValueError:
        raise InvalidInput("faq.upload.bad_type") from None
    if document.size is not None and document.size > MAX_UPLOAD_BYTES:
        raise InvalidInput("faq.upload.too_big", mb=MAX_UPLOAD_BYTES // (1024 * 1024))
    data = await ctx.download(document.file_id)
    result = await asyncio.to_thread(parse_catalogue, data, fmt)
    name = html.escape(document.filename)
    if result.catalogue is None:
        await _report_errors(ctx, document.filename, list(result.errors))
        return
    catalogue = result.catalogue
    row = await repo.add_version(
        ctx.session,
        at=ctx.now,
        source=f"upload:{document.filename}",
        catalogue=catalogue,
        uploaded_by=ctx.actor.person_id,
    )
    await audit.record(
        ctx.session,
        at=ctx.now,
        actor=ctx.actor,
        action="faq.catalogue.upload",
        entity="catalogue_version",
        entity_id=row.id,
        after={
            "file": document.filename,
            "procedures": len(catalogue.procedures),
            "topics": len(catalogue.topics),
        },
    )
    snapshot = await asyncio.to_thread(
        FaqSnapshot.build, catalogue, row.policy or {}, version_id=row.id, source=row.source
    )
    lines = [
        ctx.t(
            "faq.upload.done",
            file=name,
            procedures=len(catalogue.procedures),
            topics=len(catalogue.topics),
            version=row.id,
        )
    ]
    unknown = snapshot.policy.unknown_procedures(catalogue)
    if unknown:
        lines.append(ctx.t("faq.upload.policy_unknown", ids=html.escape(", ".join(unknown))))
    # Saved and committed by the reply; only then does this process answer from it.
    await ctx.reply("\n".join(lines))
    ctx.app.get(FaqIndex).replace(snapshot)


async def _report_errors(ctx: Ctx, filename: str, errors: list[CatalogueError]) -> None:
    """Every error, with its line or row; a long list also comes as a text file."""
    header = ctx.t("faq.upload.invalid", file=html.escape(filename), count=len(errors))
    lines = [header]
    shown = 0
    for error in errors:
        line = "• " + html.escape(str(error))
        if sum(len(x) + 1 for x in lines) + len(line) > MAX_TEXT:
            break
        lines.append(line)
        shown += 1
    document = None
    if shown < len(errors):
        lines.append(ctx.t("faq.upload.more_in_file", count=len(errors) - shown))
        content = "\n".join(str(e) for e in errors).encode("utf-8")
        document = OutDocument("catalogue-errors.txt", content, "text/plain")
    await ctx.reply("\n".join(lines), document=document)


@router.document(permission=Permission.ASK_FAQ)
async def other_file(ctx: Ctx) -> None:
    await ctx.reply(ctx.t("faq.file_not_read"))
