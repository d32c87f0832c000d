"""The task state machine: who may do what, from which status, with what result.

Pure: no database, no chat, no clock of its own. The handler loads a :class:`TaskView`,
calls :func:`transition`, and if the result is ``ok`` writes it with an expected-status
(and expected-version) guard::

    UPDATE tasks SET status = :to, version = :version + 1, ...
     WHERE id = :id AND status = :from AND version = :version

so a double press or a stale card that raced another change updates zero rows and only one
transition happens; the loser re-reads the task and gets the refusal ("already_done":
"đã hoàn thành trước đó").

Statuses::

    assigned ──accept──▶ accepted ──done──▶ done ──approve──▶ approved
        │                  ▲  │               │
        │                  │  └─need_help─▶ blocked ──accept/progress──▶ accepted
        │                  └──────return_───┘
        └─ (done straight away, need_help, progress also work from assigned)
    any open status or done ──cancel──▶ cancelled

"returned" is an event, not a stored status: the work goes back to in progress
(``accepted``) with the assigner's comment, as the brief describes; the card shows the
comment as its last note. *Overdue* is never stored either: :func:`is_overdue` derives it
from the deadline, the status and ``now``, so it cannot go stale.

User errors never raise: a refusal carries a stable reason code for the callback answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

from bot.services.tasks._text import tidy


class TaskStatus(StrEnum):
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"  # in progress
    BLOCKED = "blocked"  # the assignee asked for help
    DONE = "done"  # waiting for the assigner's approval
    APPROVED = "approved"
    CANCELLED = "cancelled"


OPEN_STATUSES: Final = frozenset({TaskStatus.ASSIGNED, TaskStatus.ACCEPTED, TaskStatus.BLOCKED})
FINAL_STATUSES: Final = frozenset({TaskStatus.APPROVED, TaskStatus.CANCELLED})


class ActionKind(StrEnum):
    ACCEPT = "accept"
    DONE = "done"
    NEED_HELP = "need_help"
    PROGRESS = "progress"
    APPROVE = "approve"
    RETURN = "return"
    EXTEND = "extend"
    CANCEL = "cancel"


# The order buttons appear in on a card.
ASSIGNEE_ACTIONS: Final = (
    ActionKind.ACCEPT,
    ActionKind.DONE,
    ActionKind.NEED_HELP,
    ActionKind.PROGRESS,
)
SUPERVISOR_ACTIONS: Final = (
    ActionKind.APPROVE,
    ActionKind.RETURN,
    ActionKind.EXTEND,
    ActionKind.CANCEL,
)

MAX_TEXT_LENGTH: Final = 2000  # a note longer than this is a pasted document, not a note


class Refusal(StrEnum):
    """Reason codes; ``invalid_from_<status>`` codes are built by :func:`invalid_from`."""

    NOT_ASSIGNEE = "not_assignee"
    NOT_ASSIGNER = "not_assigner"
    ALREADY_ACCEPTED = "already_accepted"
    ALREADY_BLOCKED = "already_blocked"
    ALREADY_DONE = "already_done"  # "đã hoàn thành trước đó"
    ALREADY_APPROVED = "already_approved"
    CANCELLED = "cancelled"
    REASON_REQUIRED = "reason_required"
    NOTE_REQUIRED = "note_required"
    COMMENT_REQUIRED = "comment_required"
    TEXT_TOO_LONG = "text_too_long"
    DEADLINE_REQUIRED = "deadline_required"
    DEADLINE_IN_PAST = "deadline_in_past"
    DEADLINE_UNCHANGED = "deadline_unchanged"


def invalid_from(status: TaskStatus) -> str:
    """``invalid_from_accepted`` etc.: the action makes no sense from that status."""
    return f"invalid_from_{status.value}"


@dataclass(frozen=True, slots=True)
class Action:
    """One requested change; build it with the named constructors."""

    kind: ActionKind
    text: str | None = None  # need_help reason, progress note, return comment, cancel note
    new_deadline: datetime | None = None

    @classmethod
    def accept(cls) -> Action:
        return cls(ActionKind.ACCEPT)

    @classmethod
    def done(cls, note: str | None = None) -> Action:
        return cls(ActionKind.DONE, note)

    @classmethod
    def need_help(cls, reason: str) -> Action:
        return cls(ActionKind.NEED_HELP, reason)

    @classmethod
    def progress(cls, note: str) -> Action:
        return cls(ActionKind.PROGRESS, note)

    @classmethod
    def approve(cls, note: str | None = None) -> Action:
        return cls(ActionKind.APPROVE, note)

    @classmethod
    def return_(cls, comment: str) -> Action:
        return cls(ActionKind.RETURN, comment)

    @classmethod
    def extend(cls, new_deadline: datetime | None) -> Action:
        return cls(ActionKind.EXTEND, new_deadline=new_deadline)

    @classmethod
    def cancel(cls, note: str | None = None) -> Action:
        return cls(ActionKind.CANCEL, note)


@dataclass(frozen=True, slots=True)
class TaskView:
    """What the state machine needs to know about a task (the repository builds it)."""

    id: int
    status: TaskStatus
    assigner_id: int
    assignee_ids: frozenset[int]
    unit_id: int | None = None
    deadline: datetime | None = None  # aware
    urgent: bool = False
    legal: bool = False
    version: int = 0


@dataclass(frozen=True, slots=True)
class ActorView:
    """Who pressed the button. ``leads_unit_ids``: units this person leads (the caller
    decides whether deputies count); a unit's leader may act as the assigner."""

    person_id: int
    leads_unit_ids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class TransitionResult:
    """The outcome of :func:`transition`.

    ``from_status`` and ``expected_version`` are what the row must still hold for the
    write to apply; ``to_status`` is ``None`` when refused. ``status_changed`` is False for
    a progress note or a deadline extension that keep the status.
    """

    ok: bool
    action: ActionKind
    from_status: TaskStatus
    expected_version: int
    to_status: TaskStatus | None = None
    refusal: str | None = None
    text: str | None = None
    new_deadline: datetime | None = None
    event: str | None = None  # "returned", "unblocked", "noted", "extended", ...

    @property
    def status_changed(self) -> bool:
        return self.ok and self.to_status is not self.from_status

    @property
    def new_version(self) -> int:
        return self.expected_version + 1


# action → {from status: to status}; anything else is refused.
_TABLE: Final = MappingProxyType(
    {
        kind: MappingProxyType(moves)
        for kind, moves in {
            ActionKind.ACCEPT: {
                TaskStatus.ASSIGNED: TaskStatus.ACCEPTED,
                TaskStatus.BLOCKED: TaskStatus.ACCEPTED,  # unblocked: back to work
            },
            ActionKind.DONE: {
                TaskStatus.ASSIGNED: TaskStatus.DONE,  # finished before pressing Accept: fine
                TaskStatus.ACCEPTED: TaskStatus.DONE,
                TaskStatus.BLOCKED: TaskStatus.DONE,
            },
            ActionKind.NEED_HELP: {
                TaskStatus.ASSIGNED: TaskStatus.BLOCKED,
                TaskStatus.ACCEPTED: TaskStatus.BLOCKED,
            },
            ActionKind.PROGRESS: {
                TaskStatus.ASSIGNED: TaskStatus.ACCEPTED,  # reporting progress implies accepting
                TaskStatus.ACCEPTED: TaskStatus.ACCEPTED,
                TaskStatus.BLOCKED: TaskStatus.ACCEPTED,  # progress means no longer stuck
            },
            ActionKind.APPROVE: {TaskStatus.DONE: TaskStatus.APPROVED},
            ActionKind.RETURN: {TaskStatus.DONE: TaskStatus.ACCEPTED},
            ActionKind.EXTEND: {status: status for status in OPEN_STATUSES},
            ActionKind.CANCEL: {
                TaskStatus.ASSIGNED: TaskStatus.CANCELLED,
                TaskStatus.ACCEPTED: TaskStatus.CANCELLED,
                TaskStatus.BLOCKED: TaskStatus.CANCELLED,
                TaskStatus.DONE: TaskStatus.CANCELLED,
            },
        }.items()
    }
)

# Refusals that name what already happened, so a double press gets a useful answer.
_REPEAT: Final = MappingProxyType(
    {
        (ActionKind.ACCEPT, TaskStatus.ACCEPTED): Refusal.ALREADY_ACCEPTED,
        (ActionKind.NEED_HELP, TaskStatus.BLOCKED): Refusal.ALREADY_BLOCKED,
        **{
            (kind, TaskStatus.DONE): Refusal.ALREADY_DONE
            for kind in (ActionKind.ACCEPT, ActionKind.DONE, ActionKind.NEED_HELP)
        },
        (ActionKind.PROGRESS, TaskStatus.DONE): Refusal.ALREADY_DONE,
        (ActionKind.EXTEND, TaskStatus.DONE): Refusal.ALREADY_DONE,
    }
)

_EVENTS: Final = MappingProxyType(
    {
        (ActionKind.ACCEPT, TaskStatus.ASSIGNED): "accepted",
        (ActionKind.ACCEPT, TaskStatus.BLOCKED): "unblocked",
        (ActionKind.PROGRESS, TaskStatus.ASSIGNED): "noted",
        (ActionKind.PROGRESS, TaskStatus.ACCEPTED): "noted",
        (ActionKind.PROGRESS, TaskStatus.BLOCKED): "unblocked",
        (ActionKind.NEED_HELP, TaskStatus.ASSIGNED): "blocked",
        (ActionKind.NEED_HELP, TaskStatus.ACCEPTED): "blocked",
    }
)
_DEFAULT_EVENT: Final = MappingProxyType(
    {
        ActionKind.DONE: "done",
        ActionKind.APPROVE: "approved",
        ActionKind.RETURN: "returned",
        ActionKind.EXTEND: "extended",
        ActionKind.CANCEL: "cancelled",
    }
)


def is_assignee(task: TaskView, actor: ActorView) -> bool:
    return actor.person_id in task.assignee_ids


def is_supervisor(task: TaskView, actor: ActorView) -> bool:
    """The assigner, or a leader of the task's unit."""
    if actor.person_id == task.assigner_id:
        return True
    return task.unit_id is not None and task.unit_id in actor.leads_unit_ids


def check(task: TaskView, kind: ActionKind, actor: ActorView) -> str | None:
    """The refusal code for ``kind`` by ``actor`` now, or None if allowed.

    Payload-free, so a handler can answer a button press before asking for a reason or
    a comment, and a card can show only the buttons that would work. Rights come first:
    a stranger learns nothing about the task's state.
    """
    if kind in ASSIGNEE_ACTIONS and not is_assignee(task, actor):
        return Refusal.NOT_ASSIGNEE
    if kind in SUPERVISOR_ACTIONS and not is_supervisor(task, actor):
        return Refusal.NOT_ASSIGNER
    if task.status is TaskStatus.CANCELLED:
        return Refusal.CANCELLED
    if task.status is TaskStatus.APPROVED:
        return Refusal.ALREADY_APPROVED
    if task.status in _TABLE[kind]:
        return None
    return _REPEAT.get((kind, task.status), invalid_from(task.status))


def allowed_actions(task: TaskView, actor: ActorView) -> tuple[ActionKind, ...]:
    """The buttons this actor can use on this task, in card order."""
    return tuple(
        k for k in (*ASSIGNEE_ACTIONS, *SUPERVISOR_ACTIONS) if check(task, k, actor) is None
    )


def _text_refusal(kind: ActionKind, text: str | None) -> tuple[str | None, str | None]:
    """(cleaned text, refusal) for the action's free text."""
    cleaned = text.strip() if text else None
    cleaned = cleaned or None
    if cleaned is not None and len(cleaned) > MAX_TEXT_LENGTH:
        return cleaned, Refusal.TEXT_TOO_LONG
    required = {
        ActionKind.NEED_HELP: Refusal.REASON_REQUIRED,
        ActionKind.PROGRESS: Refusal.NOTE_REQUIRED,
        ActionKind.RETURN: Refusal.COMMENT_REQUIRED,
    }.get(kind)
    if required is not None and cleaned is None:
        return None, required
    return cleaned, None


def transition(
    task_state: TaskView, action: Action, actor: ActorView, now: datetime
) -> TransitionResult:
    """Apply ``action`` by ``actor`` to ``task_state`` as of ``now`` (aware).

    Never raises for user errors; raises ``ValueError`` only for programming errors (a
    naive ``now`` or a naive new deadline).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("transition needs an aware 'now'")
    task = task_state

    def refuse(code: str, text: str | None = None) -> TransitionResult:
        return TransitionResult(
            ok=False,
            action=action.kind,
            from_status=task.status,
            expected_version=task.version,
            refusal=code,
            text=text,
        )

    refusal = check(task, action.kind, actor)
    if refusal is not None:
        return refuse(refusal)
    text, refusal = _text_refusal(action.kind, action.text)
    if refusal is not None:
        return refuse(refusal, text)

    new_deadline: datetime | None = None
    if action.kind is ActionKind.EXTEND:
        new_deadline = action.new_deadline
        if new_deadline is None:
            return refuse(Refusal.DEADLINE_REQUIRED)
        if new_deadline.tzinfo is None or new_deadline.utcoffset() is None:
            raise ValueError("a new deadline must be an aware datetime")
        if new_deadline <= now:
            return refuse(Refusal.DEADLINE_IN_PAST)
        if task.deadline is not None and new_deadline == task.deadline:
            return refuse(Refusal.DEADLINE_UNCHANGED)

    to_status = _TABLE[action.kind][task.status]
    event = _EVENTS.get((action.kind, task.status), _DEFAULT_EVENT.get(action.kind))
    return TransitionResult(
        ok=True,
        action=action.kind,
        from_status=task.status,
        expected_version=task.version,
        to_status=to_status,
        text=text,
        new_deadline=new_deadline,
        event=event,
    )


# --------------------------------------------------------------------------- deadlines


def is_overdue(task: TaskView, now: datetime) -> bool:
    """Past its deadline while still the assignee's to do.

    Done (waiting approval), approved and cancelled tasks are never overdue: the
    assignee's part is over. Exactly at the deadline is still on time ("hạn 17h" allows
    17:00).
    """
    return task.status in OPEN_STATUSES and task.deadline is not None and now > task.deadline


def is_due_today(task: TaskView, now: datetime, tz: ZoneInfo) -> bool:
    """Open, and the deadline falls on today's date in the unit's zone (even if passed)."""
    if task.status not in OPEN_STATUSES or task.deadline is None:
        return False
    return task.deadline.astimezone(tz).date() == now.astimezone(tz).date()


def sort_key_for_listing(task: TaskView, now: datetime) -> tuple[int, int, float, int, int]:
    """``/tasks`` order: overdue first (most overdue first), then by deadline, tasks
    without a deadline last; urgent before not urgent at the same deadline; then by id so
    the order is stable."""
    overdue = is_overdue(task, now)
    has_deadline = task.deadline is not None
    stamp = task.deadline.timestamp() if task.deadline is not None else 0.0
    return (0 if overdue else 1, 0 if has_deadline else 1, stamp, 0 if task.urgent else 1, task.id)


# --------------------------------------------------------------------------- flags

# "!khan", "!khẩn", "!gấp", "!urgent"; the flag must end there ("!khanh" is not one).
_URGENT_RE: Final = re.compile(r"(?<!\S)!(?:khẩn|khan|gấp|gap|urgent)(?![\w])", re.IGNORECASE)
_LEGAL_FLAG_RE: Final = re.compile(
    r"(?<!\S)!(?:pháp[_\s]?lý|phap[_\s]?ly|legal)(?![\w])", re.IGNORECASE
)
# The phrase itself, with or without diacritics.
_LEGAL_PHRASE_RE: Final = re.compile(
    r"(?<!\w)(?:thời\s+hạn\s+pháp\s+lý|thoi\s+han\s+phap\s+ly|legal\s+deadline)(?!\w)",
    re.IGNORECASE,
)
# After the phrase, nothing but punctuation up to the end of the clause: it was a flag.
_CLAUSE_END_RE: Final = re.compile(r"[ \t]*(?:[,;.!?)\]\n]|$)")


def parse_flags(text: str) -> tuple[str, bool, bool]:
    """``(clean_text, urgent, legal)`` from ``!khan``/``!khẩn``/``!gấp``/``!urgent`` and
    ``!phaply``/``!pháplý``/``!legal`` or the words "thời hạn pháp lý".

    The ``!`` flags are removed. The phrase "thời hạn pháp lý" also sets ``legal``; it is
    removed when it stands alone at the end of a clause, but kept when a deadline follows
    ("thời hạn pháp lý 15/4"), because there it is the deadline's own marker and
    :func:`~bot.services.tasks.deadline.parse_deadline` strips it together with the date.
    """
    urgent = False
    legal = False

    def drop_urgent(_: re.Match[str]) -> str:
        nonlocal urgent
        urgent = True
        return " "

    def drop_legal(_: re.Match[str]) -> str:
        nonlocal legal
        legal = True
        return " "

    text = _URGENT_RE.sub(drop_urgent, text)
    text = _LEGAL_FLAG_RE.sub(drop_legal, text)
    pieces: list[str] = []
    last = 0
    for m in _LEGAL_PHRASE_RE.finditer(text):
        legal = True
        if _CLAUSE_END_RE.match(text, m.end()):
            pieces.append(text[last : m.start()])
            last = m.end()
    pieces.append(text[last:])
    return tidy("".join(pieces)), urgent, legal
