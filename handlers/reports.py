"""/report (/baocao): the daily result report — one-shot or guided — and what follows it.

- ``/baocao Đã xử lý 12 hồ sơ`` saves today's report at once (labelled parts "Vướng mắc:",
  "Kế hoạch:" are recognised); ``/baocao`` asks one question at a time (done today — with
  the person's tasks as buttons —, in progress, blockers, plan), then shows a preview with
  Confirm / Edit / Cancel. The answers live in the conversation state, so nothing typed is
  lost to a restart, a refusal or a mistake.
- ``/baocao sua [ngày]`` reopens a report until the unit's next-day cut-off.
- ``/baocao lichsu [@người|ngày|donvi]``: one's own history; leaders their units'.
- ``/baocao gop 17:30`` (``/report digest 17:30``, ``... tat/off``): a head receives their
  people's reports in one digest instead of one message each; blockers still come at once.
- A file sent during the conversation, or afterwards while the report is still editable,
  is attached to it (20 MB at most: a bot cannot download more from Telegram).
- The direct head gets each report privately; a report with blockers carries a Reply
  button, and the head's answer is relayed to the author.
"""

from __future__ import annotations

import html
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.core.app_context import AppContext
from bot.core.callbacks import CallbackData
from bot.core.context import Ctx, button_rows
from bot.core.errors import Denied, InvalidInput
from bot.core.events import Button, ChatKind, ChatRef, Keyboard, OutDocument, OutMessage
from bot.core.router import PRIVATE, Router
from bot.delivery.errors import DeliveryError
from bot.services import access, audit
from bot.services.access import Permission
from bot.services.classified import refuse_if_classified
from bot.services.org import directory
from bot.services.reports import rules
from bot.services.reports.periods import PeriodError, parse_period
from bot.services.reports.rules import PARTS, ContentProblem, Part, ReportContent, UnitSchedule
from bot.services.reports.text import fold
from storage.models import Person, Reminder, Report, ReportAttachment, Unit
from storage.repositories import core as core_repo
from storage.repositories import reports as repo

log = logging.getLogger(__name__)
router = Router("reports")

FLOW = "report"
REPLY_FLOW = "report_reply"
# Writing a day's report can take a while between other work; the core's default of 30
# minutes would drop half-written answers.
FLOW_TTL = timedelta(hours=3)
REPLY_TTL = timedelta(hours=1)
MAX_FILES = 5
HISTORY_LIMIT = 7
# A late file looks this far back for a report it may still join (the edit window decides).
ATTACH_LOOKBACK = timedelta(days=10)
MESSAGE_LIMIT = 3900
DIGEST_KEY = "report_digest"
DIGEST_KIND = "report_digest"

HISTORY_WORDS = frozenset({"lichsu", "lich su", "history"})
EDIT_WORDS = frozenset({"sua", "edit"})
DIGEST_WORDS = frozenset({"gop", "digest"})
OFF_WORDS = frozenset({"tat", "off", "huy", "khong", "no"})
UNIT_WORDS = frozenset({"donvi", "don vi", "unit"})
PART_ICONS = {Part.DONE: "✅", Part.IN_PROGRESS: "⏳", Part.BLOCKERS: "⚠️", Part.PLAN: "📅"}
_TIME = re.compile(r"^(\d{1,2})[:h](\d{2})?$")


# --------------------------------------------------------------------------- buttons


@dataclass(frozen=True)
class ReportStep(CallbackData, prefix="rp"):
    """A button of the report conversation; ``nonce`` and ``step`` make stale ones inert."""

    nonce: str
    step: str
    action: str
    arg: str


@dataclass(frozen=True)
class ReportOpen(CallbackData, prefix="rpe"):
    """Reopen one's report of ``day`` for editing."""

    day: str


@dataclass(frozen=True)
class BlockerReply(CallbackData, prefix="rpr"):
    report_id: int


@dataclass(frozen=True)
class AttachmentGet(CallbackData, prefix="rpf"):
    attachment_id: int


# --------------------------------------------------------------------------- small helpers


@dataclass(frozen=True)
class Author:
    person: Person
    unit: Unit
    schedule: UnitSchedule


def schedule_of(unit: Unit) -> UnitSchedule:
    return UnitSchedule.of(unit.timezone, unit.working_days, unit.checkin_by, unit.settings)


async def load_author(ctx: Ctx) -> Author:
    if ctx.actor.person_id is None:
        raise Denied("access.denied.citizen")
    person = await ctx.session.get(Person, ctx.actor.person_id)
    unit = await ctx.session.get(Unit, person.unit_id) if person and person.unit_id else None
    if person is None or unit is None:
        raise InvalidInput("report.no_unit")
    return Author(person, unit, schedule_of(unit))


def day_text(day: date, lang: str) -> str:
    return format_date(day, "EEEE dd/MM/yyyy", locale=lang)


def moment_text(moment: datetime, schedule: UnitSchedule, lang: str) -> str:
    local = moment.astimezone(schedule.tz)
    return f"{local:%H:%M} {format_date(local.date(), 'EEEE dd/MM', locale=lang)}"


def reason_text(ctx: Ctx, reason: str) -> str:
    if reason.startswith("holiday:"):
        return ctx.t("report.reason.holiday", name=html.escape(reason.partition(":")[2]))
    if reason == "weekend":
        return ctx.t("report.reason.weekend")
    return ctx.t("report.reason.day_off")


def chunks(lines: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Lines grouped into messages under the chat's length limit."""
    out: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            out.append(current)
            current = line[:limit]
        else:
            current = candidate[:limit] if not current else candidate
    if current:
        out.append(current)
    return out


async def load_flow(ctx: Ctx, name: str) -> bool:
    """Load this chat's conversation into ``ctx.flow`` when it is ``name``.

    The core loads the conversation only for plain messages; commands and button presses
    that continue one read it here.
    """
    state, _ = await core_repo.active_state(
        ctx.session, ctx.incoming.channel, ctx.chat.chat_id, ctx.incoming.sender.user_id, ctx.now
    )
    if state is None or state.flow != name:
        return False
    ctx.flow.name, ctx.flow.step, ctx.flow.data = state.flow, state.step, dict(state.data)
    return True


async def contact_of(ctx: Ctx, person: Person) -> tuple[ChatRef | None, str]:
    identity = await repo.identity_of(ctx.session, person.id)
    lang = ctx.app.i18n.pick_language(
        person.language,
        identity.language if identity else None,
        ctx.app.settings.default_language,
    )
    if identity is None or identity.user_id is None:
        return None, lang
    return ChatRef(identity.channel, identity.user_id, ChatKind.PRIVATE), lang


async def send_quietly(ctx: Ctx, chat: ChatRef, message: OutMessage) -> bool:
    """Send to someone else's chat; a blocked or failing chat must not undo the report."""
    try:
        await ctx.send(chat, message)
    except (DeliveryError, LookupError):
        log.warning("could not deliver a report message to %s", chat.chat_id, exc_info=True)
        return False
    return True


async def may_view(ctx: Ctx, person: Person) -> bool:
    """One's own reports; a leader those of their unit and its sub-units; nobody else's."""
    if ctx.actor.person_id == person.id:
        return True
    if person.unit_id is None:
        return ctx.actor.role == "admin"
    ancestors = await directory.ancestors(ctx.session, person.unit_id)
    return access.can_see_unit(ctx.actor, person.unit_id, ancestors)


async def may_answer(ctx: Ctx, person: Person) -> bool:
    """The author's direct head, or a leader above them."""
    head = await directory.direct_head(ctx.session, person)
    if head is not None and head.id == ctx.actor.person_id:
        return True
    return ctx.actor.person_id != person.id and await may_view(ctx, person)


# --------------------------------------------------------------------------- rendering


def task_line(task_id: int, titles: dict[int, str]) -> str:
    title = titles.get(task_id)
    return f"• #{task_id} {html.escape(title)}" if title else f"• #{task_id}"


def render_body(
    t: Any, content: ReportContent, titles: dict[int, str], files: list[str] | None = None
) -> str:
    lines: list[str] = []
    for part in PARTS:
        text = content.get(part)
        items: list[str] = []
        if part is Part.DONE:
            items.extend(task_line(i, titles) for i in content.task_ids)
        if text:
            items.append(html.escape(text))
        if items:
            lines.append(f"{PART_ICONS[part]} <b>{t(f'report.part.{part.value}')}</b>")
            lines.extend(items)
    if files:
        lines.append(t("report.files", names=html.escape(", ".join(files))))
    return "\n".join(lines)


async def task_titles(ctx: Ctx, ids: list[int] | tuple[int, ...]) -> dict[int, str]:
    tasks = await repo.tasks_by_ids(ctx.session, ids)
    return {i: _short(t.text, 80) for i, t in tasks.items()}


def _short(text: str, size: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= size else flat[: size - 1] + "…"


# --------------------------------------------------------------------------- /report


@router.command(
    "report", "baocao", permission=Permission.REPORT, description="cmd.report", chats=PRIVATE
)
async def report_command(ctx: Ctx) -> None:
    args = ctx.incoming.args.strip()
    first, _, rest = args.partition(" ")
    word, rest = fold(first), rest.strip()
    if fold(args).startswith("lich su"):
        # "lịch sử" typed as two words.
        word, rest = "lichsu", args.split(None, 2)[2] if len(args.split()) > 2 else ""
    if word in HISTORY_WORDS and _history_args(rest):
        await history(ctx, rest)
        return
    if word in EDIT_WORDS and _date_or_nothing(rest):
        await edit_command(ctx, rest)
        return
    if word in DIGEST_WORDS and _digest_args(rest):
        await digest_preference(ctx, rest)
        return
    author = await load_author(ctx)
    today = author.schedule.local_date(ctx.now)
    if ctx.incoming.document is not None:
        await check_document(ctx)
    files = _incoming_files(ctx)
    if not args:
        if await load_flow(ctx, FLOW):
            # A report is being written: pick it up where it stopped rather than start over.
            await resume(ctx)
            return
        await begin(ctx, author, today, files=files)
        return
    content = rules.parse_one_shot(args)
    if content.is_empty():
        raise InvalidInput("report.empty")
    # The state-secret guard runs before the text is stored anywhere, even as a draft.
    await refuse_if_classified(ctx.app, ctx.actor, content.text, "report")
    _check_sizes(content)
    if await load_flow(ctx, FLOW) and ctx.flow.data.get("day") == today.isoformat():
        # A guided report is open for today: add the text to it, then show it for confirming.
        merged = ReportContent.from_dict(ctx.flow.data["content"]).merged(content)
        ctx.flow.data["content"] = merged.to_dict()
        ctx.flow.data["files"] = ctx.flow.data.get("files", []) + files
        await show_preview(ctx)
        return
    await begin(ctx, author, today, pending=content, files=files)


def _history_args(rest: str) -> bool:
    return not rest or rest.startswith("@") or fold(rest) in UNIT_WORDS or _date_or_nothing(rest)


def _date_or_nothing(rest: str) -> bool:
    if not rest:
        return True
    try:
        parsed = parse_period(rest, date(2000, 1, 1))
    except PeriodError:
        return True  # a date-like word that is wrong: answer about the date, not as a report
    return not parsed.rest and parsed.period.single_day


def _digest_args(rest: str) -> bool:
    return not rest or fold(rest) in OFF_WORDS or bool(_TIME.match(rest.strip().lower()))


def _incoming_files(ctx: Ctx) -> list[dict[str, Any]]:
    """The file sent with the command (checked by :func:`check_document` first)."""
    document = ctx.incoming.document
    if document is None:
        return []
    return [{"file_id": document.file_id, "filename": document.filename, "size": document.size}]


def _too_big(size: int) -> InvalidInput:
    return InvalidInput(
        "report.file_too_big",
        size=f"{size / 1024 / 1024:.1f}",
        limit=rules.MAX_ATTACHMENT_BYTES // 1024 // 1024,
    )


def _check_sizes(content: ReportContent) -> None:
    problem = rules.check_content(content)
    if problem is ContentProblem.PART_TOO_LONG:
        raise InvalidInput("report.part_too_long", limit=rules.MAX_PART_CHARS)
    if problem is ContentProblem.TOO_LONG:
        raise InvalidInput("report.too_long", limit=rules.MAX_REPORT_CHARS)


async def begin(
    ctx: Ctx,
    author: Author,
    day: date,
    *,
    pending: ReportContent | None = None,
    files: list[dict[str, Any]] | None = None,
) -> None:
    """Start a report of ``day``: confirm a non-working day, then save, preview or ask."""
    existing = await repo.get_report(ctx.session, author.person.id, day)
    if not author.schedule.can_edit(day, ctx.now):
        raise InvalidInput(
            "report.edit_closed",
            day=day_text(day, ctx.lang),
            deadline=moment_text(author.schedule.edit_deadline(day), author.schedule, ctx.lang),
        )
    offered = await repo.offerable_tasks(ctx.session, author.person.id, ctx.now)
    base = ReportContent.from_dict(_content_of(existing)) if existing else ReportContent()
    data: dict[str, Any] = {
        "nonce": secrets.token_hex(3),
        "day": day.isoformat(),
        "version": existing.version if existing else None,
        "content": base.to_dict(),
        "pending": pending.to_dict() if pending is not None else None,
        "files": list(files or []),
        "offered": [[t.id, _short(t.text, 40)] for t in offered],
        "editing": None,
    }
    reason = author.schedule.non_working_reason(day)
    if reason is not None and existing is None:
        await ctx.flow.start(FLOW, "day", data, ttl=FLOW_TTL)
        await ctx.reply(
            ctx.t(
                "report.non_working", day=day_text(day, ctx.lang), reason=reason_text(ctx, reason)
            ),
            button_rows(
                [
                    _button(ctx, "day", "day_ok", "report.button.report_anyway"),
                    _button(ctx, "day", "cancel", "report.button.cancel"),
                ]
            ),
        )
        return
    await ctx.flow.start(FLOW, "start", data, ttl=FLOW_TTL)
    await proceed(ctx, author)


async def proceed(ctx: Ctx, author: Author) -> None:
    """After the day is settled: a one-shot is saved (or merged and previewed), a guided
    report asks its first question, an existing report is shown for editing."""
    data = ctx.flow.data
    pending = data.get("pending")
    if pending is not None:
        data["pending"] = None
        extra = ReportContent.from_dict(pending)
        if data.get("version") is None:
            data["content"] = extra.to_dict()
            await save(ctx, author)
            return
        data["content"] = ReportContent.from_dict(data["content"]).merged(extra).to_dict()
        await show_preview(ctx, note=ctx.t("report.merged_note"))
        return
    if data.get("version") is not None:
        await show_preview(ctx, note=ctx.t("report.existing_note"))
        return
    await ask(ctx, Part.DONE)


async def resume(ctx: Ctx) -> None:
    step = ctx.flow.step or ""
    if step in {p.value for p in PARTS}:
        await ask(ctx, Part(step))
    elif step == "day":
        await ctx.reply(ctx.t("report.press_button"))
    else:
        await show_preview(ctx)


def _button(ctx: Ctx, step: str, action: str, key: str, arg: str = "", **params: Any) -> Button:
    nonce = str(ctx.flow.data.get("nonce", ""))
    return Button(ctx.t(key, **params), data=ReportStep(nonce, step, action, arg).pack())


async def _respond(ctx: Ctx, text: str, buttons: Keyboard, edit: bool) -> None:
    if edit and ctx.incoming.is_callback:
        await ctx.edit_origin(text, buttons)
    else:
        await ctx.reply(text, buttons)


async def ask(ctx: Ctx, part: Part, *, edit: bool = False) -> None:
    data = ctx.flow.data
    content = ReportContent.from_dict(data["content"])
    editing = data.get("editing") == part.value
    lines = [
        ctx.t(
            f"report.ask.{part.value}",
            n=PARTS.index(part) + 1,
            total=len(PARTS),
            day=day_text(date.fromisoformat(data["day"]), ctx.lang),
        )
    ]
    if part is Part.DONE and data.get("offered"):
        lines.append(ctx.t("report.ask.pick_tasks"))
    current = content.get(part)
    if editing and current:
        lines.append(ctx.t("report.current", text=html.escape(current)))
    rows: list[list[Button]] = []
    if part is Part.DONE:
        picked = set(content.task_ids)
        for task_id, title in data.get("offered", []):
            mark = "✅" if task_id in picked else "▫️"
            rows.append(
                [
                    Button(
                        f"{mark} #{task_id} {title}",
                        data=ReportStep(data["nonce"], part.value, "task", str(task_id)).pack(),
                    )
                ]
            )
    moving = "report.button.keep" if editing else "report.button.skip"
    if part is Part.DONE and content.task_ids and not editing:
        moving = "report.button.next"
    last = [_button(ctx, part.value, "next", moving)]
    if editing and (current or (part is Part.DONE and content.task_ids)):
        last.append(_button(ctx, part.value, "clear", "report.button.clear"))
    last.append(_button(ctx, part.value, "cancel", "report.button.cancel"))
    rows.append(last)
    await ctx.flow.goto(part.value, ttl=FLOW_TTL)
    await _respond(ctx, "\n".join(lines), button_rows(*rows), edit)


async def show_preview(ctx: Ctx, *, edit: bool = False, note: str = "") -> None:
    data = ctx.flow.data
    data["editing"] = None
    content = ReportContent.from_dict(data["content"])
    day = date.fromisoformat(data["day"])
    titles = await task_titles(ctx, content.task_ids)
    files = [f["filename"] for f in data.get("files", [])]
    lines = [ctx.t("report.preview.title", day=day_text(day, ctx.lang))]
    if note:
        lines.append(note)
    lines.append("")
    lines.append(render_body(ctx.t, content, titles, files) or ctx.t("report.preview.empty"))
    lines.append("")
    lines.append(ctx.t("report.preview.hint", limit=rules.MAX_ATTACHMENT_BYTES // 1024 // 1024))
    buttons = button_rows(
        [_button(ctx, "preview", "confirm", "report.button.confirm")],
        [
            _button(ctx, "preview", "edit", "report.button.edit"),
            _button(ctx, "preview", "cancel", "report.button.cancel"),
        ],
    )
    await ctx.flow.goto("preview", ttl=FLOW_TTL)
    await _respond(ctx, "\n".join(lines), buttons, edit)


async def choose_part(ctx: Ctx) -> None:
    rows = [
        [_button(ctx, "choose", "part", f"report.part.{p.value}", p.value) for p in PARTS[:2]],
        [_button(ctx, "choose", "part", f"report.part.{p.value}", p.value) for p in PARTS[2:]],
        [_button(ctx, "choose", "back", "report.button.back")],
    ]
    await ctx.flow.goto("choose", ttl=FLOW_TTL)
    await _respond(ctx, ctx.t("report.choose_part"), button_rows(*rows), True)


async def advance(ctx: Ctx, part: Part, *, edit: bool = False) -> None:
    if ctx.flow.data.get("editing") or part is PARTS[-1]:
        await show_preview(ctx, edit=edit)
        return
    await ask(ctx, PARTS[PARTS.index(part) + 1], edit=edit)


# --------------------------------------------------------------------------- answers


def _make_step(part: Part) -> Any:
    async def answer(ctx: Ctx) -> None:
        if ctx.incoming.document is not None:
            await flow_file(ctx)
            return
        text = ctx.incoming.text.strip()
        if not text:
            await ctx.reply(ctx.t("report.text_please"))
            return
        await refuse_if_classified(ctx.app, ctx.actor, text, "report")
        if len(text) > rules.MAX_PART_CHARS:
            raise InvalidInput("report.part_too_long", limit=rules.MAX_PART_CHARS)
        content = ReportContent.from_dict(ctx.flow.data["content"]).with_part(part, text)
        ctx.flow.data["content"] = content.to_dict()
        await advance(ctx, part)

    answer.__name__ = f"answer_{part.value}"
    return answer


for _part in PARTS:
    router.step(FLOW, _part.value)(_make_step(_part))


@router.step(FLOW, "preview")
async def preview_message(ctx: Ctx) -> None:
    if ctx.incoming.document is not None:
        await flow_file(ctx)
        return
    await ctx.reply(ctx.t("report.press_button"))


@router.step(FLOW, "day")
async def day_message(ctx: Ctx) -> None:
    if ctx.incoming.document is not None:
        await flow_file(ctx)
        return
    await ctx.reply(ctx.t("report.press_button"))


@router.step(FLOW, "choose")
async def choose_message(ctx: Ctx) -> None:
    await preview_message(ctx)


async def check_document(ctx: Ctx) -> None:
    """A file over the channel's limit, or one whose name or caption carries a state-secret
    marking ("Tối mật - ...pdf"), never joins a report."""
    document = ctx.incoming.document
    assert document is not None
    if rules.attachment_too_big(document.size):
        raise _too_big(document.size or 0)
    await refuse_if_classified(
        ctx.app, ctx.actor, f"{document.filename}\n{ctx.incoming.text}", "report"
    )


async def flow_file(ctx: Ctx) -> None:
    document = ctx.incoming.document
    assert document is not None
    await check_document(ctx)
    files = list(ctx.flow.data.get("files", []))
    if len(files) >= MAX_FILES:
        raise InvalidInput("report.too_many_files", limit=MAX_FILES)
    files.append(
        {"file_id": document.file_id, "filename": document.filename, "size": document.size}
    )
    await ctx.flow.goto(ctx.flow.step or "preview", ttl=FLOW_TTL, files=files)
    await ctx.reply(ctx.t("report.file_received", name=html.escape(document.filename)))


@router.callback(ReportStep, permission=Permission.REPORT)
async def step_pressed(ctx: Ctx, button: ReportStep) -> None:
    if (
        not await load_flow(ctx, FLOW)
        or ctx.flow.data.get("nonce") != button.nonce
        or ctx.flow.step != button.step
    ):
        ctx.answer(ctx.t("core.button_expired"))
        return
    data = ctx.flow.data
    action = button.action
    ctx.answer()
    if action == "cancel":
        await ctx.flow.finish()
        await ctx.edit_origin(ctx.t("report.cancelled"))
        return
    if action == "day_ok":
        await ctx.edit_origin(ctx.t("report.day_confirmed"))
        await proceed(ctx, await load_author(ctx))
        return
    if action == "task" and button.step == Part.DONE.value:
        offered = {int(i) for i, _ in data.get("offered", [])}
        task_id = int(button.arg) if button.arg.isdigit() else -1
        if task_id in offered:
            content = ReportContent.from_dict(data["content"])
            picked = list(content.task_ids)
            picked = (
                [i for i in picked if i != task_id] if task_id in picked else [*picked, task_id]
            )
            data["content"] = content.with_tasks(tuple(picked)).to_dict()
        await ask(ctx, Part.DONE, edit=True)
        return
    if action in ("next", "clear") and button.step in {p.value for p in PARTS}:
        part = Part(button.step)
        if action == "clear":
            content = ReportContent.from_dict(data["content"]).with_part(part, "")
            if part is Part.DONE:
                content = content.with_tasks(())
            data["content"] = content.to_dict()
        await advance(ctx, part, edit=True)
        return
    if action == "confirm":
        await confirm(ctx)
        return
    if action == "edit":
        await choose_part(ctx)
        return
    if action == "part" and button.arg in {p.value for p in PARTS}:
        data["editing"] = button.arg
        await ask(ctx, Part(button.arg), edit=True)
        return
    if action == "back":
        await show_preview(ctx, edit=True)
        return
    ctx.answer(ctx.t("core.button_expired"))


async def confirm(ctx: Ctx) -> None:
    author = await load_author(ctx)
    content = ReportContent.from_dict(ctx.flow.data["content"])
    problem = rules.check_content(content)
    if problem is ContentProblem.EMPTY:
        ctx.answer(ctx.t("report.empty"), alert=True)
        ctx.flow.data["editing"] = None
        await ask(ctx, Part.DONE)
        return
    if problem is not None:
        ctx.answer(
            ctx.t(
                f"report.{problem.value}",
                limit=rules.MAX_PART_CHARS
                if problem is ContentProblem.PART_TOO_LONG
                else rules.MAX_REPORT_CHARS,
            ),
            alert=True,
        )
        return
    await save(ctx, author)


async def save(ctx: Ctx, author: Author) -> None:
    """Store the report in the conversation (new or edited) and tell the head."""
    data = ctx.flow.data
    content = ReportContent.from_dict(data["content"])
    day = date.fromisoformat(data["day"])
    schedule = author.schedule
    if not schedule.can_edit(day, ctx.now):
        # The cut-off passed while the person was writing: keep the draft, say why.
        raise InvalidInput(
            "report.edit_closed",
            day=day_text(day, ctx.lang),
            deadline=moment_text(schedule.edit_deadline(day), schedule, ctx.lang),
        )
    await refuse_if_classified(ctx.app, ctx.actor, content.text, "report")
    try:
        saved = await repo.save_report(
            ctx.session,
            person_id=author.person.id,
            unit_id=author.unit.id,
            day=day,
            content=content.to_dict(),
            now=ctx.now,
            expected_version=data.get("version"),
        )
    except repo.StaleReport:
        # Saved from elsewhere meanwhile: show the newest text merged with this draft.
        current = await repo.get_report(ctx.session, author.person.id, day)
        data["version"] = current.version if current else None
        if current is not None:
            merged = ReportContent.from_dict(_content_of(current)).merged(content)
            data["content"] = merged.to_dict()
        await show_preview(ctx, note=ctx.t("report.changed_meanwhile"))
        return
    attachments = [
        await repo.add_attachment(
            ctx.session,
            report_id=saved.report.id,
            channel=ctx.incoming.channel,
            file_id=str(f["file_id"]),
            filename=str(f["filename"]),
            size=f.get("size"),
        )
        for f in data.get("files", [])
    ]
    await ctx.flow.finish()
    outcome = await deliver_to_head(ctx, author, saved, attachments)
    titles = await task_titles(ctx, content.task_ids)
    all_files = await repo.attachments_of(ctx.session, [saved.report.id])
    body = render_body(ctx.t, content, titles, [a.filename for a in all_files[saved.report.id]])
    key = "report.saved_new" if saved.created else "report.saved_edit"
    text = "\n".join(
        [
            ctx.t(key, day=day_text(day, ctx.lang), version=saved.report.version),
            "",
            body,
            "",
            ctx.t(f"report.delivery.{outcome}"),
            ctx.t(
                "report.editable_until",
                deadline=moment_text(schedule.edit_deadline(day), schedule, ctx.lang),
                limit=rules.MAX_ATTACHMENT_BYTES // 1024 // 1024,
            ),
        ]
    )
    edit_button = button_rows(
        [Button(ctx.t("report.button.edit"), data=ReportOpen(day.isoformat()).pack())]
    )
    if ctx.incoming.is_callback:
        await ctx.edit_origin(text, edit_button)
    else:
        await ctx.reply(text, edit_button)


def _content_of(report: Report) -> dict[str, Any]:
    return {
        "done": report.done,
        "in_progress": report.in_progress,
        "blockers": report.blockers,
        "plan": report.plan,
        "task_ids": list(report.task_ids or []),
    }


@router.callback(ReportOpen, permission=Permission.REPORT)
async def open_pressed(ctx: Ctx, button: ReportOpen) -> None:
    try:
        day = date.fromisoformat(button.day)
    except ValueError:
        ctx.answer(ctx.t("core.button_expired"))
        return
    ctx.answer()
    await begin(ctx, await load_author(ctx), day)


async def edit_command(ctx: Ctx, rest: str) -> None:
    author = await load_author(ctx)
    today = author.schedule.local_date(ctx.now)
    day = today
    if rest:
        day = _single_day(rest, today)
    elif (await repo.get_report(ctx.session, author.person.id, today)) is None:
        # Nothing today yet: the report still open for changes is the previous one.
        recent = await repo.recent_reports(ctx.session, [author.person.id], limit=1)
        if recent and author.schedule.can_edit(recent[0].day, ctx.now):
            day = recent[0].day
    if day > today:
        raise InvalidInput("report.future_day")
    await begin(ctx, author, day)


def _single_day(text: str, today: date) -> date:
    try:
        parsed = parse_period(text, today)
    except PeriodError as exc:
        raise InvalidInput(f"report.period.{exc.code.value}") from exc
    return parsed.period.start


# --------------------------------------------------------------------------- the head


def digest_time(unit: Unit | None, head_id: int) -> time | None:
    if unit is None:
        return None
    value = ((unit.settings or {}).get(DIGEST_KEY) or {}).get(str(head_id))
    try:
        return time.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def digest_key(head_id: int, day: date) -> str:
    return f"{DIGEST_KIND}:{head_id}:{day.isoformat()}"


async def deliver_to_head(
    ctx: Ctx, author: Author, saved: repo.SavedReport, attachments: list[ReportAttachment]
) -> str:
    """Send the report to the direct head (or hold it for their digest); the outcome key."""
    head = await directory.direct_head(ctx.session, author.person)
    if head is None:
        return "no_head"
    chat, lang = await contact_of(ctx, head)
    if chat is None:
        return "unreachable"
    report = saved.report
    blockers_new = bool(report.blockers.strip()) and (
        saved.previous is None or saved.previous.get("blockers") != report.blockers
    )
    head_unit = await ctx.session.get(Unit, head.unit_id) if head.unit_id else None
    held = await _held_for_digest(ctx, head, head_unit, report)
    if held and not blockers_new:
        return "held"
    if held:
        # Blockers do not wait for the digest: the point is that someone can unblock today.
        text = await head_text(ctx, lang, author, report, blockers_only=True)
        sent = await send_quietly(
            ctx, chat, OutMessage(text, head_buttons(ctx, lang, report, attachments))
        )
        return "held" if sent else "unreachable"
    text = await head_text(ctx, lang, author, report, created=saved.created)
    sent = await send_quietly(
        ctx, chat, OutMessage(text, head_buttons(ctx, lang, report, attachments))
    )
    return "sent" if sent else "unreachable"


async def _held_for_digest(ctx: Ctx, head: Person, head_unit: Unit | None, report: Report) -> bool:
    at = digest_time(head_unit, head.id)
    if at is None or head_unit is None:
        return False
    schedule = schedule_of(head_unit)
    local_now = ctx.now.astimezone(schedule.tz)
    if report.day != local_now.date() or local_now.time() >= at:
        return False
    sent = await ctx.session.get(Reminder, digest_key(head.id, report.day))
    return sent is None


def head_buttons(
    ctx: Ctx, lang: str, report: Report, attachments: list[ReportAttachment]
) -> Keyboard:
    rows: list[list[Button]] = []
    if report.blockers.strip():
        rows.append(
            [Button(ctx.t_in(lang, "report.button.reply"), data=BlockerReply(report.id).pack())]
        )
    for attachment in attachments[:MAX_FILES]:
        rows.append(
            [
                Button(
                    f"📎 {_short(attachment.filename, 40)}",
                    data=AttachmentGet(attachment.id).pack(),
                )
            ]
        )
    return button_rows(*rows)


async def head_text(
    ctx: Ctx,
    lang: str,
    author: Author,
    report: Report,
    *,
    created: bool = True,
    blockers_only: bool = False,
) -> str:
    def t(key: str, **params: Any) -> str:
        return ctx.t_in(lang, key, **params)

    name = html.escape(author.person.full_name)
    day = day_text(report.day, lang)
    if blockers_only:
        return "\n".join(
            [
                t("report.head.blocker_title", name=name, day=day),
                html.escape(report.blockers),
            ]
        )
    content = ReportContent.from_dict(_content_of(report))
    titles = await task_titles(ctx, content.task_ids)
    files = await repo.attachments_of(ctx.session, [report.id])
    key = "report.head.title_new" if created else "report.head.title_edit"
    lines = [t(key, name=name, day=day, unit=html.escape(author.unit.name), version=report.version)]
    if report.blockers.strip():
        lines.append(t("report.head.has_blockers"))
    lines.append("")
    lines.append(render_body(t, content, titles, [f.filename for f in files[report.id]]))
    return "\n".join(lines)


@router.callback(BlockerReply)
async def reply_pressed(ctx: Ctx, button: BlockerReply) -> None:
    report = await ctx.session.get(Report, button.report_id)
    author = await ctx.session.get(Person, report.person_id) if report else None
    if report is None or author is None:
        ctx.answer(ctx.t("core.button_expired"))
        return
    if not await may_answer(ctx, author):
        ctx.answer(ctx.t("report.reply.not_allowed"), alert=True)
        return
    # One conversation per chat: a report the head was writing is kept aside and restored
    # after the answer, instead of being replaced by this question.
    stash = {"step": ctx.flow.step, "data": ctx.flow.data} if await load_flow(ctx, FLOW) else None
    await ctx.flow.start(
        REPLY_FLOW, "text", {"report_id": report.id, "stash": stash}, ttl=REPLY_TTL
    )
    ctx.answer()
    await ctx.reply(
        ctx.t(
            "report.reply.ask",
            name=html.escape(author.full_name),
            day=day_text(report.day, ctx.lang),
        )
    )


@router.step(REPLY_FLOW, "text")
async def reply_text(ctx: Ctx) -> None:
    text = ctx.incoming.text.strip()
    if not text:
        await ctx.reply(ctx.t("report.text_please"))
        return
    await refuse_if_classified(ctx.app, ctx.actor, text, "report_reply")
    report = await ctx.session.get(Report, int(ctx.flow.data.get("report_id", 0)))
    author = await ctx.session.get(Person, report.person_id) if report else None
    stash = ctx.flow.data.get("stash")
    await ctx.flow.finish()
    if stash:
        await ctx.flow.start(FLOW, str(stash["step"]), dict(stash["data"]), ttl=FLOW_TTL)
    if report is None or author is None:
        raise InvalidInput("report.reply.gone")
    chat, lang = await contact_of(ctx, author)
    delivered = chat is not None and await send_quietly(
        ctx,
        chat,
        OutMessage(
            ctx.t_in(
                lang,
                "report.reply.relayed",
                head=html.escape(ctx.actor.full_name),
                day=day_text(report.day, lang),
                text=html.escape(text),
            )
        ),
    )
    key = "report.reply.sent" if delivered else "report.reply.unreachable"
    text = ctx.t(key, name=html.escape(author.full_name))
    if stash:
        text += "\n" + ctx.t("report.draft_kept")
    await ctx.reply(text)


@router.callback(AttachmentGet)
async def attachment_pressed(ctx: Ctx, button: AttachmentGet) -> None:
    attachment = await ctx.session.get(ReportAttachment, button.attachment_id)
    report = await ctx.session.get(Report, attachment.report_id) if attachment else None
    author = await ctx.session.get(Person, report.person_id) if report else None
    if attachment is None or report is None or author is None:
        ctx.answer(ctx.t("core.button_expired"))
        return
    if not (await may_view(ctx, author) or await may_answer(ctx, author)):
        ctx.answer(ctx.t("report.history.not_allowed"), alert=True)
        return
    if attachment.channel != ctx.incoming.channel:
        ctx.answer(ctx.t("report.file_other_channel"), alert=True)
        return
    try:
        content = await ctx.download(attachment.file_id)
    except (DeliveryError, LookupError):
        log.warning("could not download attachment %s", attachment.id, exc_info=True)
        ctx.answer(ctx.t("report.file_unavailable"), alert=True)
        return
    ctx.answer()
    await ctx.reply(
        ctx.t(
            "report.file_caption",
            name=html.escape(author.full_name),
            day=day_text(report.day, ctx.lang),
        ),
        document=OutDocument(attachment.filename, content),
    )


# --------------------------------------------------------------------------- a file later


@router.document(permission=Permission.REPORT)
async def late_file(ctx: Ctx) -> None:
    """A file sent outside the conversation joins the newest report still open for edits."""
    document = ctx.incoming.document
    assert document is not None
    await check_document(ctx)
    author = await load_author(ctx)
    today = author.schedule.local_date(ctx.now)
    candidates = await repo.latest_report_since(
        ctx.session, author.person.id, today - timedelta(days=ATTACH_LOOKBACK.days)
    )
    report = next((r for r in candidates if author.schedule.can_edit(r.day, ctx.now)), None)
    if report is None:
        raise InvalidInput("report.attach_no_report")
    existing = await repo.attachments_of(ctx.session, [report.id])
    if len(existing[report.id]) >= MAX_FILES:
        raise InvalidInput("report.too_many_files", limit=MAX_FILES)
    attachment = await repo.add_attachment(
        ctx.session,
        report_id=report.id,
        channel=ctx.incoming.channel,
        file_id=document.file_id,
        filename=document.filename,
        size=document.size,
    )
    await ctx.reply(
        ctx.t(
            "report.file_attached",
            name=html.escape(document.filename),
            day=day_text(report.day, ctx.lang),
        )
    )
    head = await directory.direct_head(ctx.session, author.person)
    chat, lang = await contact_of(ctx, head) if head else (None, ctx.lang)
    if chat is not None:
        await send_quietly(
            ctx,
            chat,
            OutMessage(
                ctx.t_in(
                    lang,
                    "report.head.file_added",
                    name=html.escape(author.person.full_name),
                    file=html.escape(document.filename),
                    day=day_text(report.day, lang),
                ),
                button_rows(
                    [
                        Button(
                            f"📎 {_short(attachment.filename, 40)}",
                            data=AttachmentGet(attachment.id).pack(),
                        )
                    ]
                ),
            ),
        )


# --------------------------------------------------------------------------- history


async def history(ctx: Ctx, rest: str) -> None:
    if ctx.actor.person_id is None:
        raise Denied("access.denied.citizen")
    me = await ctx.session.get(Person, ctx.actor.person_id)
    assert me is not None
    unit = await ctx.session.get(Unit, me.unit_id) if me.unit_id else None
    schedule = schedule_of(unit) if unit else UnitSchedule.of(None, None, None)
    today = schedule.local_date(ctx.now)
    if rest.startswith("@"):
        person = await directory.person_by_username(ctx.session, ctx.incoming.channel, rest)
        if person is None:
            raise InvalidInput("report.history.unknown_person", who=html.escape(rest))
        if not await may_view(ctx, person):
            raise Denied("report.history.not_allowed")
        await _person_history(ctx, person)
        return
    if not rest:
        await _person_history(ctx, me)
        return
    day = today if fold(rest) in UNIT_WORDS else _single_day(rest, today)
    if not access.allowed(ctx.actor, Permission.VIEW_UNIT) or me.unit_id is None:
        # Staff asking for a day see their own report of that day.
        reports = await repo.reports_on(ctx.session, [me.id], day)
        if not reports:
            await ctx.reply(ctx.t("report.history.none_on_day", day=day_text(day, ctx.lang)))
            return
        await _send_reports(ctx, [(me, r) for r in reports], title=day_text(day, ctx.lang))
        return
    unit_ids = await directory.unit_and_descendants(ctx.session, me.unit_id)
    people = await repo.people_in_units(ctx.session, unit_ids, ("staff", "deputy", "leader"))
    by_id = {p.id: p for p in people}
    reports = await repo.reports_on(ctx.session, list(by_id), day)
    reported = {r.person_id for r in reports}
    missing = sorted((p.full_name for p in people if p.id not in reported), key=_name_key)
    lines = [ctx.t("report.history.unit_day", day=day_text(day, ctx.lang), n=len(reports))]
    if missing:
        lines.append(ctx.t("report.history.missing", names=html.escape(", ".join(missing))))
    await ctx.reply("\n".join(lines))
    ordered = sorted(reports, key=lambda r: _name_key(by_id[r.person_id].full_name))
    if ordered:
        await _send_reports(ctx, [(by_id[r.person_id], r) for r in ordered], title="")


def _name_key(name: str) -> tuple[str, str]:
    folded = fold(name)
    words = folded.split()
    return (words[-1] if words else "", folded)


async def _person_history(ctx: Ctx, person: Person) -> None:
    reports = await repo.recent_reports(ctx.session, [person.id], limit=HISTORY_LIMIT)
    if not reports:
        await ctx.reply(ctx.t("report.history.empty", name=html.escape(person.full_name)))
        return
    await _send_reports(
        ctx,
        [(person, r) for r in reports],
        title=ctx.t("report.history.title", name=html.escape(person.full_name), n=len(reports)),
    )


async def _send_reports(ctx: Ctx, items: list[tuple[Person, Report]], title: str) -> None:
    ids = [r.id for _, r in items]
    revisions = await repo.revision_counts(ctx.session, ids)
    files = await repo.attachments_of(ctx.session, ids)
    titles = await task_titles(ctx, [i for _, r in items for i in (r.task_ids or [])])
    lines = [title] if title else []
    for person, report in items:
        header = ctx.t(
            "report.history.entry",
            name=html.escape(person.full_name),
            day=day_text(report.day, ctx.lang),
        )
        if revisions.get(report.id):
            header += " " + ctx.t("report.history.edited", n=revisions[report.id])
        content = ReportContent.from_dict(_content_of(report))
        lines.append("")
        lines.append(header)
        lines.append(render_body(ctx.t, content, titles, [f.filename for f in files[report.id]]))
    for text in chunks(lines):
        await ctx.reply(text)


# --------------------------------------------------------------------------- digest


async def digest_preference(ctx: Ctx, rest: str) -> None:
    author = await load_author(ctx)
    settings = dict(author.unit.settings or {})
    chosen = dict(settings.get(DIGEST_KEY) or {})
    before = chosen.get(str(author.person.id))
    if not rest:
        key = "report.digest.current" if before else "report.digest.none"
        await ctx.reply(ctx.t(key, at=before or ""))
        return
    if fold(rest) in OFF_WORDS:
        chosen.pop(str(author.person.id), None)
        after = None
    else:
        match = _TIME.match(rest.strip().lower())
        assert match is not None
        hour, minute = int(match[1]), int(match[2] or 0)
        if hour > 23 or minute > 59:
            raise InvalidInput("report.digest.bad_time")
        after = f"{hour:02d}:{minute:02d}"
        chosen[str(author.person.id)] = after
    settings[DIGEST_KEY] = chosen
    # A new dict so the JSON column sees the change.
    author.unit.settings = settings
    await audit.record(
        ctx.session,
        at=ctx.now,
        actor=ctx.actor,
        action="report.digest",
        entity="person",
        entity_id=author.person.id,
        before={"digest_at": before},
        after={"digest_at": after},
    )
    await ctx.reply(ctx.t("report.digest.set", at=after) if after else ctx.t("report.digest.off"))


async def send_due_digests(app: AppContext) -> int:
    """Send every head's digest whose time has come today; returns how many went out.

    Idempotent — a digest is recorded in ``reminders`` under (head, day) before it is sent —
    so the scheduler may call it every minute, and two instances may call it at once.
    Reports saved after the digest time were already sent one by one and are left out.
    """
    now = app.clock.now()
    sent = 0
    async with app.db.transaction() as session:
        units = list(await session.scalars(select(Unit)))
        due: list[tuple[int, Unit, time]] = []
        for unit in units:
            for head_id, value in ((unit.settings or {}).get(DIGEST_KEY) or {}).items():
                at = digest_time(unit, int(head_id))
                if at is not None and value:
                    due.append((int(head_id), unit, at))
    for head_id, unit, at in due:
        schedule = schedule_of(unit)
        local_now = now.astimezone(schedule.tz)
        if local_now.time() < at or not schedule.calendar.is_working_day(local_now.date()):
            continue
        if await _send_digest(app, head_id, local_now.date(), at, schedule, now):
            sent += 1
    return sent


async def _send_digest(
    app: AppContext, head_id: int, day: date, at: time, schedule: UnitSchedule, now: datetime
) -> bool:
    cutoff = datetime.combine(day, at, tzinfo=schedule.tz).astimezone(UTC)
    async with app.db.transaction() as session:
        head = await session.get(Person, head_id)
        if head is None or not head.active or head.unit_id is None:
            return False
        try:
            async with session.begin_nested():
                session.add(
                    Reminder(
                        key=digest_key(head_id, day),
                        kind=DIGEST_KIND,
                        target=str(head_id),
                        slot=day.isoformat(),
                        due_at=cutoff,
                        decided_at=now,
                    )
                )
                await session.flush()
        except IntegrityError:
            return False  # already sent (or being sent by another instance)
        unit_ids = await directory.unit_and_descendants(session, head.unit_id)
        candidates = await repo.people_in_units(session, unit_ids, ("staff", "deputy", "leader"))
        people = [
            p
            for p in candidates
            if p.id != head.id
            and (found := await directory.direct_head(session, p)) is not None
            and found.id == head.id
        ]
        reports = {
            r.person_id: r
            for r in await repo.reports_on(session, [p.id for p in people], day)
            if r.updated_at <= cutoff
        }
        identity = await repo.identity_of(session, head.id)
        if identity is None or identity.user_id is None:
            return False
        lang = app.i18n.pick_language(
            head.language, identity.language, app.settings.default_language
        )

        def t(key: str, **params: Any) -> str:
            return app.i18n.gettext(lang, key, **params)

        tasks = await repo.tasks_by_ids(
            session, [i for r in reports.values() for i in (r.task_ids or [])]
        )
        titles = {i: _short(task.text, 80) for i, task in tasks.items()}
        lines = [
            t("report.digest.title", day=day_text(day, lang), n=len(reports), total=len(people))
        ]
        for person in sorted(people, key=lambda p: _name_key(p.full_name)):
            report = reports.get(person.id)
            if report is None:
                continue
            lines.append("")
            lines.append(f"<b>{html.escape(person.full_name)}</b>")
            lines.append(render_body(t, ReportContent.from_dict(_content_of(report)), titles))
        missing = [p.full_name for p in people if p.id not in reports]
        if missing:
            lines.append("")
            lines.append(t("report.history.missing", names=html.escape(", ".join(missing))))
        chat = ChatRef(identity.channel, identity.user_id, ChatKind.PRIVATE)
    for text in chunks(lines):
        try:
            await app.delivery.send(chat, OutMessage(text))
        except (DeliveryError, LookupError):
            log.warning("could not deliver the report digest to %s", head_id, exc_info=True)
            return False
    return True
