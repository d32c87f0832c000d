"""Late check-ins against a unit's local cut-off, and reading cut-off times as people write them.

Decisions:

* Late means **strictly after** the cut-off: with 09:00 a check-in at 09:00:00 is on time,
  09:00:01 is late.
* The cut-off is in the **unit's** time zone, whatever the server's is; instants are aware
  datetimes (stored in UTC) and a naive one is refused rather than guessed.
* The working day a check-in is for defaults to the local date of the check-in; passing it
  explicitly makes a check-in declared the evening before on time, and one made after
  midnight for the previous day late.
* Written times: 24-hour forms ("9:00", "9h", "8h30", "13h30", "9 giờ 15") are read as is.
  Day-part words move 12-hour forms: "chiều"/"pm" (afternoon) 1–11 → 13–23 ("1:30 chiều"
  → 13:30, "5h chiều" → 17:00), "12 giờ chiều"/"12pm" → 12:00; "trưa" (noon) 10–12 as is,
  1–3 → 13–15; "tối" (evening) 5–11 → 17–23; "đêm" (night) 12 → 00, 9–11 → 21–23, 0–4
  as is; "sáng"/"am" (morning) 1–11 as is, "12am" → 00:00, and "12 giờ sáng" is refused as
  ambiguous. A 24-hour hour that contradicts its word ("14h sáng") is refused.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo

from bot.services.attendance.text import fold_keep_marks


def cutoff_instant(day: date, cutoff: time, tz: tzinfo) -> datetime:
    """The cut-off of ``day`` in ``tz`` as an aware UTC datetime."""
    if cutoff.tzinfo is not None:
        raise ValueError("cutoff is a local wall-clock time; give it without tzinfo")
    return datetime.combine(day, cutoff, tzinfo=tz).astimezone(UTC)


def is_late(checked_in_at: datetime, cutoff: time, tz: tzinfo, day: date | None = None) -> bool:
    """Whether a check-in at ``checked_in_at`` is after ``cutoff`` local time in ``tz``."""
    if checked_in_at.tzinfo is None or checked_in_at.utcoffset() is None:
        raise ValueError("checked_in_at must be timezone-aware")
    if day is None:
        day = checked_in_at.astimezone(tz).date()
    return checked_in_at.astimezone(UTC) > cutoff_instant(day, cutoff, tz)


_CLOCK = re.compile(
    r"^(?P<hour>\d{1,2})"
    r"(?:\s*(?::|h|\.|gio)\s*(?P<minute>\d{1,2})?)?"
    r"\s*(?:phut)?"
    r"\s*(?P<part>sang|trua|chieu|toi|dem|a\.?\s?m\.?|p\.?\s?m\.?)?$"
)


def _hour_for_part(hour: int, part: str) -> int | None:
    """The 24-hour hour for ``hour`` said with day-part word ``part``; None if it cannot be."""
    if part in ("sang", "am"):
        if part == "am" and hour == 12:
            return 0
        return hour if 0 <= hour <= 11 else None
    if part in ("chieu", "pm"):
        if 1 <= hour <= 11:
            return hour + 12
        if hour == 12:
            return 12
        return hour if part == "chieu" and 13 <= hour <= 23 else None
    if part == "trua":
        if 10 <= hour <= 15:
            return hour
        return hour + 12 if 1 <= hour <= 3 else None
    if part == "toi":
        if 5 <= hour <= 11:
            return hour + 12
        return hour if 17 <= hour <= 23 else None
    if part == "dem":
        if hour in (12, 0):
            return 0
        if 9 <= hour <= 11:
            return hour + 12
        return hour if 1 <= hour <= 4 or 21 <= hour <= 23 else None
    return None


def parse_clock_time(text: str) -> time | None:
    """A local wall-clock time from "9:00", "8h30", "1:30 chiều", "2pm", "9 giờ 15 sáng"."""
    match = _CLOCK.match(fold_keep_marks(text))
    if match is None:
        return None
    hour = int(match["hour"])
    minute = int(match["minute"] or 0)
    part = match["part"]
    if part is not None:
        part = re.sub(r"[.\s]", "", part)
        converted = _hour_for_part(hour, part)
        if converted is None:
            return None
        hour = converted
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)
