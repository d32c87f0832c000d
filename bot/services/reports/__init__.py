"""Daily result reports (the work diary), the numbers leaders see, and the evaluation export.

- :mod:`.rules`: report parts, one-shot parsing, the edit window, the file size limit.
- :mod:`.periods`: date ranges as leaders type them.
- :mod:`.metrics`: the one query layer behind `/summary`, the charts and the export.
- :mod:`.charts`: weekly PNG charts (matplotlib, Agg).
- :mod:`.export`: XLSX/CSV layout of the numbers.

Nothing here imports a chat framework; functions take ``now`` explicitly.
"""

from bot.services.reports.periods import Period, PeriodError, PeriodProblem, parse_period
from bot.services.reports.rules import (
    MAX_ATTACHMENT_BYTES,
    PARTS,
    ContentProblem,
    Part,
    ReportContent,
    UnitSchedule,
    attachment_too_big,
    check_content,
    parse_one_shot,
)

__all__ = [
    "MAX_ATTACHMENT_BYTES",
    "PARTS",
    "ContentProblem",
    "Part",
    "Period",
    "PeriodError",
    "PeriodProblem",
    "ReportContent",
    "UnitSchedule",
    "attachment_too_big",
    "check_content",
    "parse_one_shot",
    "parse_period",
]
