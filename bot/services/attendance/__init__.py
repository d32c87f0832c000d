"""Check-in domain: working days, modes, office quota, rotation, health, lateness, roster.

Pure Python — no chat framework, database or HTTP. Handlers and the scheduler build these
objects from storage and render the results.
"""

from bot.services.attendance.calendar import WorkCalendar, weekdays_from_iso
from bot.services.attendance.checkin import CheckinDecision, CheckinStatus, decide_checkin
from bot.services.attendance.health import (
    FEVER_THRESHOLD_C,
    HealthAdvice,
    HealthAssessment,
    Symptom,
    SymptomAnswer,
    assess,
    mode_after_health,
    parse_symptoms,
    parse_temperature,
)
from bot.services.attendance.lateness import cutoff_instant, is_late, parse_clock_time
from bot.services.attendance.modes import Mode, parse_mode
from bot.services.attendance.quota import (
    OfficeQuota,
    QuotaDecision,
    QuotaOutcome,
    office_capacity,
    parse_quota,
)
from bot.services.attendance.roster import (
    CheckIn,
    Forecast,
    Person,
    Roster,
    UnitRules,
    build_forecast,
    build_office_quota,
    build_roster,
)
from bot.services.attendance.rotation import (
    Cycle,
    Rotation,
    RotationError,
    RotationIssue,
    RotationIssueCode,
    Team,
    build_rotation,
    validate_rotation,
)

__all__ = [
    "FEVER_THRESHOLD_C",
    "CheckIn",
    "CheckinDecision",
    "CheckinStatus",
    "Cycle",
    "Forecast",
    "HealthAdvice",
    "HealthAssessment",
    "Mode",
    "OfficeQuota",
    "Person",
    "QuotaDecision",
    "QuotaOutcome",
    "Roster",
    "Rotation",
    "RotationError",
    "RotationIssue",
    "RotationIssueCode",
    "Symptom",
    "SymptomAnswer",
    "Team",
    "UnitRules",
    "WorkCalendar",
    "assess",
    "build_forecast",
    "build_office_quota",
    "build_roster",
    "build_rotation",
    "cutoff_instant",
    "decide_checkin",
    "is_late",
    "mode_after_health",
    "office_capacity",
    "parse_clock_time",
    "parse_mode",
    "parse_quota",
    "parse_symptoms",
    "parse_temperature",
    "validate_rotation",
    "weekdays_from_iso",
]
