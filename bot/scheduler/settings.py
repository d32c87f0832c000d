"""Per-unit reminder settings, read from Unit.settings["reminders"] with sensible defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any

KINDS = (
    "checkin.morning",
    "checkin.nudge",
    "checkin.missing",
    "report.reminder",
    "report.digest",
    "report.group_counts",
    "tasks.digest",
    "task.before",
    "task.due",
    "task.overdue",
    "task.escalate",
)


def _time(value: object, default: time) -> time:
    if isinstance(value, str):
        try:
            hours, minutes = value.strip().split(":")
            return time(int(hours), int(minutes))
        except ValueError:
            return default
    return default


@dataclass(frozen=True)
class ReminderSettings:
    morning_at: time = time(7, 30)
    # The leader's digest comes this long after the report time (the day's reports are in).
    digest_after_minutes: int = 60
    task_offsets_hours: tuple[int, ...] = (24, 2)
    overdue_after_minutes: int = 60
    escalate_after_hours: int = 24
    quiet_start: time = time(21, 0)
    quiet_end: time = time(6, 30)
    group_counts: bool = True
    disabled: frozenset[str] = field(default_factory=frozenset)

    def enabled(self, kind: str) -> bool:
        return kind not in self.disabled

    def in_quiet_hours(self, moment: time) -> bool:
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= moment < self.quiet_end
        return moment >= self.quiet_start or moment < self.quiet_end

    @classmethod
    def of(cls, unit_settings: Mapping[str, Any] | None) -> ReminderSettings:
        raw = dict((unit_settings or {}).get("reminders") or {})
        default = cls()
        offsets = raw.get("task_offsets_hours", default.task_offsets_hours)
        quiet = raw.get("quiet_hours") or [None, None]
        return cls(
            morning_at=_time(raw.get("morning_at"), default.morning_at),
            digest_after_minutes=int(raw.get("digest_after_minutes", default.digest_after_minutes)),
            task_offsets_hours=tuple(sorted({int(h) for h in offsets if int(h) > 0}, reverse=True)),
            overdue_after_minutes=int(
                raw.get("overdue_after_minutes", default.overdue_after_minutes)
            ),
            escalate_after_hours=int(raw.get("escalate_after_hours", default.escalate_after_hours)),
            quiet_start=_time(quiet[0], default.quiet_start),
            quiet_end=_time(quiet[1], default.quiet_end),
            group_counts=bool(raw.get("group_counts", default.group_counts)),
            disabled=frozenset(k for k in raw.get("disabled", ()) if k in KINDS),
        )
