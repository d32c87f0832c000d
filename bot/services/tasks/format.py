"""The bot's echo of a deadline: "Hạn: 17:00 thứ Tư 15/04/2020".

Our own weekday tables rather than Babel: Babel's Vietnamese gives "Thứ Tư" (capital T),
while the cards write "thứ Tư" mid-sentence, and a fixed table cannot change with a CLDR
update. The date is always DD/MM/YYYY, the order every Vietnamese office reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

# Monday first, as datetime.weekday() counts.
WEEKDAYS_VI: Final = (
    "thứ Hai",
    "thứ Ba",
    "thứ Tư",
    "thứ Năm",
    "thứ Sáu",
    "thứ Bảy",
    "Chủ Nhật",
)
WEEKDAYS_EN: Final = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)


def format_deadline(when: datetime, tz: ZoneInfo, lang: Literal["vi", "en"] = "vi") -> str:
    """``17:00 thứ Tư 15/04/2020`` (vi) or ``17:00 Wednesday 15/04/2020`` (en), in ``tz``.

    ``when`` must be aware; it is shown in the unit's zone whatever zone it carries, so a
    deadline stored in UTC reads as the unit's local time.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("format_deadline needs an aware datetime")
    if lang not in ("vi", "en"):
        raise ValueError(f"unsupported language {lang!r}")
    local = when.astimezone(tz)
    names = WEEKDAYS_VI if lang == "vi" else WEEKDAYS_EN
    return f"{local:%H:%M} {names[local.weekday()]} {local:%d/%m/%Y}"
