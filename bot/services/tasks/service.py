"""The tasks feature's async layer: create, move and list tasks; render their cards.

Glue between the pure domain (:mod:`.lifecycle`, :mod:`.deadline`, :mod:`.format`) and the
database (:mod:`storage.repositories.tasks`). No chat framework and no sending here: the
handler (and later the scheduler) sends what these functions return.

Object-level rights live here and in :mod:`.lifecycle`: only an assignee acts on their own
row; only the assigner or a leader of the task's unit (or of a unit above it) approves,
returns, extends or cancels. Deputies may assign, and supervise what they assigned, but do
not supervise their leader's tasks.

Every write is a compare-and-set on the row's version and status, so a double press, a
stale card or two people pressing at once make exactly one transition; the loser re-reads
and gets the domain's refusal ("already_done": "đã hoàn thành trước đó").

For the scheduler: :func:`open_tasks_due_between`, :func:`overdue_tasks`,
:func:`open_tasks_of` return :class:`TaskInfo` rows; :func:`render_card` and
:func:`render_line` render a task in a language; :func:`card_refreshes` gives the edits that
bring every card of some tasks up to date (e.g. to show "quá hạn" once a deadline passed).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.callbacks import CallbackData
from bot.core.events import Button, ChatKind, ChatRef, Keyboard, OutMessage, SentRef
from bot.core.i18n import Translator
from bot.services import audit
from bot.services.access import Actor
from bot.services.org import directory
from bot.services.tasks.format import format_deadline
from bot.services.tasks.lifecycle import (
    ASSIGNEE_ACTIONS,
    FINAL_STATUSES,
    OPEN_STATUSES,
    Action,
    ActionKind,
    ActorView,
    Refusal,
    TaskStatus,
    TaskView,
    TransitionResult,
    check,
    is_due_today,
    is_overdue,
    sort_key_for_listing,
    transition,
)
from storage.models import Task
from storage.models.org import Role
from storage.models.tasks import CardKind
from storage.repositories import tasks as repo

log = logging.getLogger(__name__)

DEFAULT_TIMEZONE: Final = "Asia/Ho_Chi_Minh"
# A card is a summary; the full text stays in the database and in the assigner's message.
CARD_TEXT_LIMIT: Final = 1500
CARD_NOTE_LIMIT: Final = 300
LINE_TEXT_LIMIT: Final = 80
# Another request changed the row three times while we tried: say so rather than loop.
BUSY: Final = "busy"
GONE: Final = "gone"
# Buttons a card can carry (progress has none: a reply to the card or /progress does it).
CARD_ASSIGNEE_BUTTONS: Final = (ActionKind.ACCEPT, ActionKind.DONE, ActionKind.NEED_HELP)
CARD_SUPERVISOR_ROWS: Final = (
    (ActionKind.APPROVE, ActionKind.RETURN),
    (ActionKind.EXTEND, ActionKind.CANCEL),
)
WAITING_STATUSES: Final = frozenset({TaskStatus.DONE})


@dataclass(frozen=True)
class TaskButton(CallbackData, prefix="tk"):
    """A button on a task card. ``whole``: the origin card's button acts on the batch
    (an assignee's press picks their own row); otherwise ``task`` is one row."""

    task: int
    act: str
    whole: bool


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """One assignee's row with the names and the unit's zone needed to show it."""

    id: int
    batch_id: int
    unit_id: int | None
    text: str
    assigner_id: int
    assigner_name: str
    assignee_id: int
    assignee_name: str
    status: TaskStatus
    deadline: datetime | None
    urgent: bool
    legal: bool
    last_note: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    tz: ZoneInfo

    @property
    def view(self) -> TaskView:
        return TaskView(
            id=self.id,
            status=self.status,
            assigner_id=self.assigner_id,
            assignee_ids=frozenset({self.assignee_id}),
            unit_id=self.unit_id,
            deadline=self.deadline,
            urgent=self.urgent,
            legal=self.legal,
            version=self.version,
        )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def overdue(self, now: datetime) -> bool:
        return is_overdue(self.view, now)


@dataclass(frozen=True, slots=True)
class NewAssignment:
    text: str
    assignee_ids: tuple[int, ...]
    deadline: datetime | None = None
    urgent: bool = False
    legal: bool = False
    note: str | None = None  # the assigner's instruction (reply form), shown as the first note


@dataclass(frozen=True, slots=True)
class Moved:
    before: TaskInfo
    after: TaskInfo
    result: TransitionResult


@dataclass(frozen=True, slots=True)
class ActOutcome:
    """What :func:`act` did: the rows that moved, or why nothing did."""

    moved: tuple[Moved, ...] = ()
    refusal: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.moved)


@dataclass(frozen=True, slots=True)
class CardRefresh:
    ref: SentRef
    message: OutMessage


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r; using %s", name, DEFAULT_TIMEZONE)
        return ZoneInfo(DEFAULT_TIMEZONE)


async def unit_zone(session: AsyncSession, unit_id: int | None) -> ZoneInfo:
    if unit_id is None:
        return zone(None)
    zones = await repo.unit_zones(session, [unit_id])
    return zone(zones.get(unit_id))


async def _infos(session: AsyncSession, rows: Sequence[Task]) -> list[TaskInfo]:
    people = await repo.people(
        session, {r.assigner_id for r in rows} | {r.assignee_id for r in rows}
    )
    zones = await repo.unit_zones(session, {r.unit_id for r in rows if r.unit_id is not None})

    def name(person_id: int) -> str:
        person = people.get(person_id)
        return person.full_name if person else f"#{person_id}"

    return [
        TaskInfo(
            id=r.id,
            batch_id=r.batch_id or r.id,
            unit_id=r.unit_id,
            text=r.text,
            assigner_id=r.assigner_id,
            assigner_name=name(r.assigner_id),
            assignee_id=r.assignee_id,
            assignee_name=name(r.assignee_id),
            status=TaskStatus(r.status),
            deadline=r.deadline,
            urgent=bool(r.urgent),
            legal=bool(r.legal_deadline),
            last_note=r.last_note,
            version=r.version,
            created_at=r.created_at,
            updated_at=r.updated_at,
            tz=zone(zones.get(r.unit_id) if r.unit_id is not None else None),
        )
        for r in rows
    ]


async def load(session: AsyncSession, task_id: int) -> TaskInfo | None:
    row = await repo.get_task(session, task_id)
    if row is None:
        return None
    [info] = await _infos(session, [row])
    return info


async def load_batch(session: AsyncSession, batch_id: int) -> list[TaskInfo]:
    return await _infos(session, await repo.batch_of(session, batch_id))


async def actor_view(session: AsyncSession, actor: Actor) -> ActorView | None:
    """The domain's view of who acts; None for someone who is not staff (a citizen).

    A leader supervises their unit and the units below it; an admin every unit.
    """
    if actor.person_id is None:
        return None
    leads: list[int] = []
    if actor.role == Role.ADMIN.value:
        leads = await repo.all_unit_ids(session)
    elif actor.role == Role.LEADER.value and actor.unit_id is not None:
        leads = await directory.unit_and_descendants(session, actor.unit_id)
    return ActorView(person_id=actor.person_id, leads_unit_ids=frozenset(leads))


async def assignable_unit_ids(session: AsyncSession, actor: Actor) -> list[int] | None:
    """Units whose people this actor may give work to; None means everyone (an admin)."""
    if actor.role == Role.ADMIN.value:
        return None
    if actor.unit_id is None:
        return []
    return await directory.unit_and_descendants(session, actor.unit_id)


async def person_language(
    session: AsyncSession, person_id: int, i18n: Translator, default: str
) -> str:
    """The language to write to someone who did not send this update."""
    person = (await repo.people(session, [person_id])).get(person_id)
    if person is not None and person.language:
        return i18n.pick_language(person.language, default)
    return i18n.pick_language(await repo.identity_language(session, person_id), default)


# --------------------------------------------------------------------------- create


async def create(
    session: AsyncSession, *, actor: Actor, assignment: NewAssignment, now: datetime
) -> list[TaskInfo]:
    """Store one row per assignee (one batch), their history and the audit entries.

    The caller has checked the permission, the state-secret guard and who may be assigned.
    """
    if actor.person_id is None:
        raise ValueError("only staff assign tasks")
    if not assignment.assignee_ids:
        raise ValueError("no assignee")
    people = await repo.people(session, assignment.assignee_ids)
    # The task belongs to the assignee's unit, so that unit's leader supervises it.
    rows = [
        repo.NewRow(pid, (people[pid].unit_id if pid in people else None) or actor.unit_id)
        for pid in assignment.assignee_ids
    ]
    created = await repo.create_batch(
        session,
        assigner_id=actor.person_id,
        rows=rows,
        text=assignment.text,
        deadline=assignment.deadline,
        urgent=assignment.urgent,
        legal=assignment.legal,
        note=assignment.note,
        status=TaskStatus.ASSIGNED.value,
        now=now,
    )
    for task in created:
        await repo.add_event(
            session,
            task_id=task.id,
            at=now,
            actor_id=actor.person_id,
            action="assigned",
            from_status=None,
            to_status=task.status,
            note=assignment.note,
        )
        await audit.record(
            session,
            at=now,
            actor=actor,
            action="task.assigned",
            entity="task",
            entity_id=task.id,
            after={
                "batch_id": task.batch_id,
                "assignee_id": task.assignee_id,
                "unit_id": task.unit_id,
                "status": task.status,
                "deadline": _iso(task.deadline),
                "urgent": task.urgent,
                "legal_deadline": task.legal_deadline,
            },
        )
    return await _infos(session, created)


# --------------------------------------------------------------------------- transitions


def _pick_targets(
    rows: Sequence[TaskInfo], kind: ActionKind, who: ActorView, whole: bool
) -> list[TaskInfo]:
    """The rows an action applies to: on a batch card an assignee acts on their own row,
    a supervisor on every row the action fits."""
    if whole and kind in ASSIGNEE_ACTIONS:
        return [r for r in rows if r.assignee_id == who.person_id]
    return list(rows)


async def _rows(session: AsyncSession, task_id: int, whole: bool) -> list[TaskInfo]:
    if whole:
        return await load_batch(session, task_id)
    info = await load(session, task_id)
    return [info] if info else []


def _refusal_for_stranger(kind: ActionKind) -> str:
    return Refusal.NOT_ASSIGNEE if kind in ASSIGNEE_ACTIONS else Refusal.NOT_ASSIGNER


def _first_refusal(refusals: Sequence[str]) -> str:
    """On a batch where no row fits, the first row's reason stands for all (they share the
    text, the assigner and usually the status)."""
    return refusals[0] if refusals else GONE


async def precheck(
    session: AsyncSession, *, actor: Actor, task_id: int, whole: bool, kind: ActionKind
) -> tuple[str | None, list[TaskInfo]]:
    """Before asking for a reason, a comment or a date: the refusal now, or None and the
    rows the action would apply to."""
    who = await actor_view(session, actor)
    if who is None:
        return _refusal_for_stranger(kind), []
    rows = await _rows(session, task_id, whole)
    if not rows:
        return GONE, []
    targets = _pick_targets(rows, kind, who, whole)
    if not targets:
        return _refusal_for_stranger(kind), []
    refusals: list[str] = []
    fitting: list[TaskInfo] = []
    for info in targets:
        refusal = check(info.view, kind, who)
        if refusal is None:
            fitting.append(info)
        else:
            refusals.append(refusal)
    if fitting:
        return None, fitting
    return _first_refusal(refusals), []


async def act(
    session: AsyncSession,
    *,
    actor: Actor,
    task_id: int,
    whole: bool,
    action: Action,
    now: datetime,
) -> ActOutcome:
    """Apply ``action`` to the row (or, with ``whole``, the batch ``task_id``) for ``actor``.

    Each row moves with a compare-and-set; a row another request changed first is re-read
    and decided again, so the second of two presses gets the domain's refusal.
    """
    who = await actor_view(session, actor)
    if who is None:
        return ActOutcome(refusal=_refusal_for_stranger(action.kind))
    rows = await _rows(session, task_id, whole)
    if not rows:
        return ActOutcome(refusal=GONE)
    targets = _pick_targets(rows, action.kind, who, whole)
    if not targets:
        return ActOutcome(refusal=_refusal_for_stranger(action.kind))
    moved: list[Moved] = []
    refusals: list[str] = []
    for target in targets:
        outcome = await _move_one(session, target, action, who, actor, now)
        if isinstance(outcome, Moved):
            moved.append(outcome)
        else:
            refusals.append(outcome)
    if moved:
        return ActOutcome(moved=tuple(moved))
    return ActOutcome(refusal=_first_refusal(refusals))


async def _move_one(
    session: AsyncSession,
    info: TaskInfo,
    action: Action,
    who: ActorView,
    actor: Actor,
    now: datetime,
) -> Moved | str:
    current: TaskInfo | None = info
    for _ in range(3):
        if current is None:
            return GONE
        result = transition(current.view, action, who, now)
        if not result.ok:
            return result.refusal or GONE
        assert result.to_status is not None
        values: dict[str, object] = {
            "status": result.to_status.value,
            "version": result.new_version,
            "updated_at": now,
        }
        if result.text is not None:
            values["last_note"] = result.text
        if result.new_deadline is not None:
            values["deadline"] = result.new_deadline
        if result.to_status is TaskStatus.DONE:
            values["done_at"] = now
        elif result.from_status is TaskStatus.DONE and result.to_status is not TaskStatus.APPROVED:
            values["done_at"] = None  # returned: the work is open again; approval keeps the date
        moved = await repo.compare_and_set(
            session,
            current.id,
            expected_version=result.expected_version,
            expected_status=result.from_status.value,
            values=values,
        )
        if not moved:
            # Another press or another card won the race: decide again on the fresh row.
            current = await load(session, current.id)
            continue
        event = result.event or result.action.value
        await repo.add_event(
            session,
            task_id=current.id,
            at=now,
            actor_id=who.person_id,
            action=event,
            from_status=result.from_status.value,
            to_status=result.to_status.value,
            note=result.text,
        )
        before: dict[str, object] = {"status": result.from_status.value, "version": current.version}
        after: dict[str, object] = {"status": result.to_status.value, "version": result.new_version}
        if result.new_deadline is not None:
            before["deadline"] = _iso(current.deadline)
            after["deadline"] = _iso(result.new_deadline)
        await audit.record(
            session,
            at=now,
            actor=actor,
            action=f"task.{event}",
            entity="task",
            entity_id=current.id,
            before=before,
            after=after,
            note=result.text,
        )
        fresh = await load(session, current.id)
        assert fresh is not None
        return Moved(before=current, after=fresh, result=result)
    return BUSY


# --------------------------------------------------------------------------- queries


def _ordered(infos: list[TaskInfo], now: datetime) -> list[TaskInfo]:
    return sorted(infos, key=lambda i: sort_key_for_listing(i.view, now))


async def open_tasks_of(session: AsyncSession, person_id: int, now: datetime) -> list[TaskInfo]:
    """A person's open rows (assigned, in progress, blocked): overdue first, then by deadline."""
    rows = await repo.tasks_where(
        session, statuses=[s.value for s in OPEN_STATUSES], assignee_id=person_id
    )
    return _ordered(await _infos(session, rows), now)


async def unit_tasks(
    session: AsyncSession,
    unit_ids: Collection[int] | None,
    now: datetime,
    *,
    assignee_id: int | None = None,
    include_waiting: bool = True,
) -> list[TaskInfo]:
    """Open rows (and those waiting for approval) of some units (None: all units)."""
    statuses = {s.value for s in OPEN_STATUSES}
    if include_waiting:
        statuses |= {s.value for s in WAITING_STATUSES}
    rows = await repo.tasks_where(
        session, statuses=statuses, unit_ids=unit_ids, assignee_id=assignee_id
    )
    return _ordered(await _infos(session, rows), now)


async def open_tasks_due_between(
    session: AsyncSession, start: datetime, end: datetime
) -> list[TaskInfo]:
    """Open rows whose deadline falls in [start, end): what a reminder run looks at."""
    rows = await repo.tasks_where(
        session, statuses=[s.value for s in OPEN_STATUSES], due_from=start, due_before=end
    )
    return await _infos(session, rows)


async def overdue_tasks(session: AsyncSession, now: datetime) -> list[TaskInfo]:
    """Open rows past their deadline, most overdue first (for escalation)."""
    rows = await repo.tasks_where(
        session, statuses=[s.value for s in OPEN_STATUSES], due_before=now
    )
    infos = [i for i in await _infos(session, rows) if i.overdue(now)]
    return _ordered(infos, now)


ListFilter = Literal["overdue", "today"]


def filter_tasks(
    infos: Sequence[TaskInfo], now: datetime, only: Collection[ListFilter]
) -> list[TaskInfo]:
    kept = list(infos)
    if "overdue" in only:
        kept = [i for i in kept if i.overdue(now)]
    if "today" in only:
        kept = [i for i in kept if is_due_today(i.view, now, i.tz)]
    return kept


# --------------------------------------------------------------------------- rendering


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _lang(lang: str) -> Literal["vi", "en"]:
    return "en" if lang == "en" else "vi"


def deadline_text(when: datetime, tz: ZoneInfo, lang: str) -> str:
    return format_deadline(when, tz, _lang(lang))


def status_label(i18n: Translator, lang: str, info: TaskInfo, now: datetime) -> str:
    label = i18n.gettext(lang, f"tasks.status.{info.status.value}")
    if info.overdue(now):
        label = i18n.gettext(lang, "tasks.status.overdue") + " · " + label
    return label


def render_card(
    i18n: Translator,
    rows: Sequence[TaskInfo],
    *,
    lang: str,
    now: datetime,
    kind: CardKind = CardKind.ORIGIN,
) -> str:
    """The card's HTML text (user text escaped): what, deadline, who and how far, notes.

    ``rows`` is a batch (origin card) or one row; all share text, deadline and assigner.
    """
    if not rows:
        raise ValueError("a card shows at least one task")
    first = rows[0]
    t = i18n.gettext
    number = first.batch_id if kind is CardKind.ORIGIN else first.id
    title = [t(lang, "tasks.card.title", id=number)]
    if any(r.urgent for r in rows):
        title.append(t(lang, "tasks.card.urgent"))
    if any(r.legal for r in rows):
        title.append(t(lang, "tasks.card.legal"))
    lines = [" · ".join(title), html.escape(cut(first.text, CARD_TEXT_LIMIT))]
    if first.deadline is not None:
        line = t(lang, "tasks.card.deadline", when=deadline_text(first.deadline, first.tz, lang))
        if any(r.overdue(now) for r in rows):
            line += " — " + t(lang, "tasks.card.overdue")
        lines.append(line)
    else:
        lines.append(t(lang, "tasks.card.no_deadline"))
    several = len(rows) > 1
    for row in rows:
        key = "tasks.card.assignee_numbered" if several else "tasks.card.assignee"
        lines.append(
            t(
                lang,
                key,
                id=row.id,
                name=html.escape(row.assignee_name),
                status=status_label(i18n, lang, row, now),
            )
        )
        if row.last_note:
            lines.append(
                t(lang, "tasks.card.note", note=html.escape(cut(row.last_note, CARD_NOTE_LIMIT)))
            )
    lines.append(t(lang, "tasks.card.assigner", name=html.escape(first.assigner_name)))
    if kind is not CardKind.ASSIGNER and any(r.is_open for r in rows):
        lines.append(t(lang, "tasks.card.reply_hint"))
    return "\n".join(lines)


def _fits(info: TaskInfo, kind: ActionKind) -> bool:
    """Whether the action fits the row's status, for whoever has the right to it."""
    if kind in ASSIGNEE_ACTIONS:
        who = ActorView(person_id=info.assignee_id)
    else:
        who = ActorView(person_id=info.assigner_id)
    return check(info.view, kind, who) is None


def card_keyboard(
    i18n: Translator, rows: Sequence[TaskInfo], *, lang: str, kind: CardKind
) -> Keyboard:
    """The buttons that would work now for someone entitled; the press is checked again."""
    if not rows or all(r.status in FINAL_STATUSES for r in rows):
        return ()
    whole = kind is CardKind.ORIGIN
    number = rows[0].batch_id if whole else rows[0].id

    def button(action: ActionKind) -> Button:
        return Button(
            i18n.gettext(lang, f"tasks.button.{action.value}"),
            data=TaskButton(number, action.value, whole).pack(),
        )

    keyboard: list[tuple[Button, ...]] = []
    if kind is not CardKind.ASSIGNER:
        mine = [a for a in CARD_ASSIGNEE_BUTTONS if any(_fits(r, a) for r in rows)]
        if mine:
            keyboard.append(tuple(button(a) for a in mine))
    if kind is not CardKind.ASSIGNEE:
        for group in CARD_SUPERVISOR_ROWS:
            theirs = [a for a in group if any(_fits(r, a) for r in rows)]
            if theirs:
                keyboard.append(tuple(button(a) for a in theirs))
    return tuple(keyboard)


def render_card_message(
    i18n: Translator,
    rows: Sequence[TaskInfo],
    *,
    lang: str,
    now: datetime,
    kind: CardKind,
) -> OutMessage:
    return OutMessage(
        render_card(i18n, rows, lang=lang, now=now, kind=kind),
        card_keyboard(i18n, rows, lang=lang, kind=kind),
    )


def render_line(
    i18n: Translator, info: TaskInfo, *, lang: str, now: datetime, with_assignee: bool = False
) -> str:
    """One line of a list or a reminder: "#12 🔴 Soạn công văn — ⏰ 17:00 thứ Tư 15/04/2020"."""
    t = i18n.gettext
    parts = [f"#{info.id}"]
    if info.urgent:
        parts.append(t(lang, "tasks.line.urgent"))
    if info.legal:
        parts.append(t(lang, "tasks.line.legal"))
    parts.append(html.escape(cut(info.text.replace("\n", " "), LINE_TEXT_LIMIT)))
    line = " ".join(parts)
    if with_assignee:
        line += " — " + html.escape(info.assignee_name)
    if info.deadline is not None:
        line += " — " + t(
            lang, "tasks.line.deadline", when=deadline_text(info.deadline, info.tz, lang)
        )
    line += " — " + status_label(i18n, lang, info, now)
    return line


async def card_refreshes(
    session: AsyncSession, i18n: Translator, task_ids: Collection[int], now: datetime
) -> list[CardRefresh]:
    """The edits that bring every card showing these rows up to date, in each card's
    language. The caller commits first, then edits (a failed edit changes nothing)."""
    rows = [r for r in [await repo.get_task(session, i) for i in set(task_ids)] if r]
    cards = await repo.cards_showing(session, rows)
    batches: dict[int, list[TaskInfo]] = {}
    singles: dict[int, TaskInfo] = {}
    refreshes: list[CardRefresh] = []
    for card in cards:
        kind = CardKind(card.kind)
        if kind is CardKind.ORIGIN:
            if card.task_id not in batches:
                batches[card.task_id] = await load_batch(session, card.task_id)
            shown = batches[card.task_id]
        else:
            if card.task_id not in singles:
                info = await load(session, card.task_id)
                if info is None:
                    continue
                singles[card.task_id] = info
            shown = [singles[card.task_id]]
        if not shown:
            continue
        chat_kind = ChatKind.GROUP if card.chat_id.startswith("-") else ChatKind.PRIVATE
        ref = SentRef(ChatRef(card.channel, card.chat_id, chat_kind), card.message_id)
        message = render_card_message(i18n, shown, lang=card.language, now=now, kind=kind)
        refreshes.append(CardRefresh(ref, message))
    return refreshes


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None
