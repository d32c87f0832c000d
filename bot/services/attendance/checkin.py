"""What to do with one check-in request: record it, refuse it, or ask something first.

The handler calls :func:`decide_checkin` with the day's records so far and acts on the
status; it never re-implements the rules. Order of the questions (decided here):

1. A non-working day needs the person's confirmation before anything is recorded.
2. The same mode as the current one is a no-op (a double tap or an old card): no new record.
3. Office: the quota is checked *before* the health declaration, so nobody declares a
   temperature only to be told there is no place. A failed declaration records Home.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bot.services.attendance.health import HealthAssessment, mode_after_health
from bot.services.attendance.lateness import is_late
from bot.services.attendance.modes import Mode
from bot.services.attendance.quota import QuotaDecision
from bot.services.attendance.roster import (
    CheckIn,
    Person,
    UnitRules,
    build_office_quota,
    checkin_day,
)


class CheckinStatus(StrEnum):
    RECORDED = "recorded"
    UNCHANGED = "unchanged"
    NEEDS_CONFIRMATION = "needs_confirmation"
    NEEDS_HEALTH_DECLARATION = "needs_health_declaration"
    REFUSED_QUOTA = "refused_quota"


@dataclass(frozen=True, slots=True)
class CheckinDecision:
    status: CheckinStatus
    requested: Mode
    # The record to store when status is RECORDED; None otherwise.
    record: CheckIn | None = None
    # Why the day is not a working day, for NEEDS_CONFIRMATION.
    non_working_reason: str | None = None
    quota: QuotaDecision | None = None
    health: HealthAssessment | None = None

    @property
    def redirected_home(self) -> bool:
        """Asked for Office, recorded as Home because of the health declaration."""
        return self.record is not None and self.record.mode is not self.requested


def decide_checkin(
    person: Person,
    requested: Mode,
    at: datetime,
    day: date,
    people: Sequence[Person],
    checkins: Sequence[CheckIn],
    rules: UnitRules,
    *,
    confirmed_non_working: bool = False,
    exception_by: str | None = None,
    health: HealthAssessment | None = None,
    health_required: bool = True,
) -> CheckinDecision:
    """Decide ``person``'s request to be in mode ``requested`` on ``day`` at instant ``at``.

    ``checkins`` are the unit's records (any days; those of ``day`` are used).
    ``health_required`` is the unit's switch for declarations before Office.
    """
    reason = rules.calendar.reason(day)
    if reason is not None and not confirmed_non_working:
        return CheckinDecision(
            CheckinStatus.NEEDS_CONFIRMATION, requested, non_working_reason=reason
        )

    history = sorted(
        (c for c in checkins if c.person_id == person.id and checkin_day(c, rules.tz) == day),
        key=lambda c: c.at,
    )
    if history and history[-1].mode is requested:
        return CheckinDecision(CheckinStatus.UNCHANGED, requested)

    if history:
        # Lateness belongs to the first check-in of the day; a change inherits it.
        first = history[0]
        late = (
            first.late if first.late is not None else is_late(first.at, rules.cutoff, rules.tz, day)
        )
    else:
        late = reason is None and is_late(at, rules.cutoff, rules.tz, day)

    quota: QuotaDecision | None = None
    mode = requested
    if requested is Mode.OFFICE:
        places = build_office_quota(day, people, checkins, rules, now=at)
        quota = places.request(person.id, exception_by=exception_by)
        if not quota.allowed:
            return CheckinDecision(CheckinStatus.REFUSED_QUOTA, requested, quota=quota)
        if health_required and health is None:
            return CheckinDecision(CheckinStatus.NEEDS_HEALTH_DECLARATION, requested, quota=quota)
        if health is not None:
            mode = mode_after_health(requested, health)
        if history and history[-1].mode is mode:
            # Already at home and told to stay there: nothing new to store, but the
            # assessment still goes back so the leader is told.
            return CheckinDecision(CheckinStatus.UNCHANGED, requested, quota=quota, health=health)

    record = CheckIn(
        person_id=person.id,
        mode=mode,
        at=at,
        late=late,
        day=day,
        by_exception=mode is Mode.OFFICE and quota is not None and quota.granted_by is not None,
    )
    return CheckinDecision(
        CheckinStatus.RECORDED, requested, record=record, quota=quota, health=health
    )
