"""The daily result report (nhật ký công vụ): its parts, one-shot parsing, and the edit window.

Decisions:

* A report has four parts — done today, in progress, blockers, plan for tomorrow — plus the
  ids of tasks the person picked as done. It is empty when all of them are empty.
* One report per person per **day**, the unit's local date of the moment it is written.
* A report stays editable until the unit's check-in cut-off (``checkin_by``) of the **next
  working day**, in the unit's time zone: a Friday report can be corrected until Monday
  09:00, the evening before a holiday until the morning after it. Afterwards it is part of
  the record the evaluation is based on, and corrections go through the head.
* A non-working day (weekend, public holiday, the unit's day off) accepts a report only when
  the person confirms it: overtime happens (the directives ask that urgent files not stall),
  but a report by mistake on a Sunday would otherwise count as real work.
* One-shot text may carry labels — "Đã làm:", "Đang làm:", "Vướng mắc:", "Kế hoạch:"
  (with or without diacritics, or in English) — at the start of a line or after ";" or ".".
  Text before the first label is what was done: "/baocao Đã xử lý 12 hồ sơ" is a report of
  work done.
* Files over 20 MB are refused: a Telegram bot cannot download more, so the head could
  never open them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from bot.services.attendance.calendar import WorkCalendar
from bot.services.attendance.lateness import cutoff_instant
from bot.services.attendance.unitconfig import calendar_of, cutoff_of, timezone_of
from bot.services.reports.text import fold_aligned

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
# One part and the whole report stay well inside a 4096-character chat message once the
# headings and the author's name are added.
MAX_PART_CHARS = 1500
MAX_REPORT_CHARS = 3000


class Part(StrEnum):
    DONE = "done"
    IN_PROGRESS = "in_progress"
    BLOCKERS = "blockers"
    PLAN = "plan"


PARTS: tuple[Part, ...] = tuple(Part)


class ContentProblem(StrEnum):
    EMPTY = "empty"
    PART_TOO_LONG = "part_too_long"
    TOO_LONG = "too_long"


@dataclass(frozen=True, slots=True)
class ReportContent:
    done: str = ""
    in_progress: str = ""
    blockers: str = ""
    plan: str = ""
    task_ids: tuple[int, ...] = field(default_factory=tuple)

    def get(self, part: Part) -> str:
        return str(getattr(self, part.value))

    def with_part(self, part: Part, text: str) -> ReportContent:
        return replace(self, **{part.value: text.strip()})

    def with_tasks(self, task_ids: tuple[int, ...]) -> ReportContent:
        return replace(self, task_ids=tuple(dict.fromkeys(task_ids)))

    def is_empty(self) -> bool:
        return not self.task_ids and not any(self.get(p).strip() for p in PARTS)

    @property
    def text(self) -> str:
        """Everything the person typed, for the state-secret check."""
        return "\n".join(self.get(p) for p in PARTS if self.get(p))

    def merged(self, extra: ReportContent) -> ReportContent:
        """``extra`` added after this content, part by part (a second one-shot in a day)."""
        parts = {
            p.value: "\n".join(t for t in (self.get(p), extra.get(p)) if t.strip()) for p in PARTS
        }
        return ReportContent(**parts, task_ids=tuple(dict.fromkeys(self.task_ids + extra.task_ids)))

    def to_dict(self) -> dict[str, Any]:
        return {**{p.value: self.get(p) for p in PARTS}, "task_ids": list(self.task_ids)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReportContent:
        return cls(
            **{p.value: str(data.get(p.value) or "") for p in PARTS},
            task_ids=tuple(int(i) for i in data.get("task_ids") or ()),
        )


def check_content(content: ReportContent) -> ContentProblem | None:
    if content.is_empty():
        return ContentProblem.EMPTY
    if any(len(content.get(p)) > MAX_PART_CHARS for p in PARTS):
        return ContentProblem.PART_TOO_LONG
    if sum(len(content.get(p)) for p in PARTS) > MAX_REPORT_CHARS:
        return ContentProblem.TOO_LONG
    return None


# Folded labels, longest first within each part so "ke hoach ngay mai" wins over "ke hoach".
_LABELS: tuple[tuple[str, Part], ...] = (
    ("da hoan thanh", Part.DONE),
    ("hoan thanh", Part.DONE),
    ("da lam", Part.DONE),
    ("da xong", Part.DONE),
    ("ket qua", Part.DONE),
    ("xong", Part.DONE),
    ("completed", Part.DONE),
    ("finished", Part.DONE),
    ("done", Part.DONE),
    ("dang thuc hien", Part.IN_PROGRESS),
    ("dang xu ly", Part.IN_PROGRESS),
    ("dang lam", Part.IN_PROGRESS),
    ("in progress", Part.IN_PROGRESS),
    ("ongoing", Part.IN_PROGRESS),
    ("can ho tro", Part.BLOCKERS),
    ("vuong mac", Part.BLOCKERS),
    ("kho khan", Part.BLOCKERS),
    ("blockers", Part.BLOCKERS),
    ("blocker", Part.BLOCKERS),
    ("blocked", Part.BLOCKERS),
    ("ke hoach ngay mai", Part.PLAN),
    ("ke hoach", Part.PLAN),
    ("ngay mai", Part.PLAN),
    ("du kien", Part.PLAN),
    ("plan for tomorrow", Part.PLAN),
    ("tomorrow", Part.PLAN),
    ("plan", Part.PLAN),
)
_LABEL_PART = dict(_LABELS)
_LABEL_RE = re.compile(
    r"(?:^|(?<=[\n;.!]))[ \t]*(?:[-•*+][ \t]*)?(?P<label>"
    + "|".join(re.escape(label).replace(r"\ ", r"\s+") for label, _ in _LABELS)
    + r")[ \t]*(?::|-(?=\s))[ \t]*"
)
_TRIM = " \t\n;"


def parse_one_shot(text: str) -> ReportContent:
    """The report in one message: labelled parts, or everything as work done."""
    original = unicodedata.normalize("NFC", text)
    folded = fold_aligned(original)
    found: dict[Part, list[str]] = {p: [] for p in PARTS}
    cursor, current = 0, Part.DONE
    for match in _LABEL_RE.finditer(folded):
        segment = original[cursor : match.start()].strip(_TRIM)
        if segment:
            found[current].append(segment)
        current = _LABEL_PART[" ".join(match.group("label").split())]
        cursor = match.end()
    tail = original[cursor:].strip(_TRIM)
    if tail:
        found[current].append(tail)
    return ReportContent(**{p.value: "\n".join(found[p]) for p in PARTS})


@dataclass(frozen=True)
class UnitSchedule:
    """What the report rules need to know about a unit's days and hours."""

    tz: ZoneInfo
    calendar: WorkCalendar
    checkin_by: time

    @classmethod
    def of(
        cls,
        timezone: str | None,
        working_days: str | None,
        checkin_by: str | None,
        settings: Mapping[str, Any] | None = None,
    ) -> UnitSchedule:
        """From a unit's columns, read exactly as the check-in rules read them (time zone,
        working days with the unit's extra days off/on, cut-off), so a day and a cut-off
        mean the same thing for a report as for a check-in."""
        return cls(
            timezone_of(timezone),
            calendar_of(working_days or "12345", settings),
            cutoff_of(checkin_by),
        )

    def local_date(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def non_working_reason(self, day: date) -> str | None:
        return self.calendar.reason(day)

    def edit_deadline(self, day: date) -> datetime:
        """The last instant the report of ``day`` may be changed (UTC, aware)."""
        return cutoff_instant(self.calendar.next_working_day(day), self.checkin_by, self.tz)

    def can_edit(self, day: date, now: datetime) -> bool:
        return day <= self.local_date(now) and now <= self.edit_deadline(day)


def attachment_too_big(size: int | None) -> bool:
    """Whether a file of ``size`` bytes is over what the channel lets a bot download.

    An unknown size is accepted: Telegram always sends it, and refusing a file for a
    missing number would lose a real attachment.
    """
    return size is not None and size > MAX_ATTACHMENT_BYTES
