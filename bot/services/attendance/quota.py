"""Office-presence quota: how many may be at the office, and whether one more may come.

Rounding rule (decided here, used everywhere):

* A **fraction** ``0 < q <= 1`` (float or :class:`~fractions.Fraction`) is a share of the
  unit's total headcount and is rounded **down**: the directives say "không quá 1/3" — *not
  more than* a third — so rounding up would break them. 6 people × 1/3 → 2; 6 × 0.34 → 2;
  6 × 0.5 → 3; 6 × 0.33 → 1 (0.33 is less than a third: write "1/3" or 0.34 for a third).
* Floats are read as the short decimal or simple fraction they were typed as. Binary
  floats are slightly off: ``0.29 * 100`` is 28.999999999999996, and the float ``1/3`` is
  a little below a third, so its exact value times 6 is just under 2. Both must floor to
  the intended 29 and 2.
* **At least one.** Any quota above zero leaves at least one place when the unit has anyone:
  the directive requires a leader on duty at the office ("bố trí lãnh đạo trực"), so a unit
  of 1 or 2 with quota 1/3 keeps 1 place instead of closing.
* An **int** ``>= 1`` is a number of people, capped at the headcount. The database keeps the
  quota in a float column, so a whole float ``>= 2`` (``2.0``) is a number of people too.
  ``1`` (int) is one person but ``1.0`` (float) is the whole unit: a fraction of 1 is the
  only reading of 1.0 that a float column can carry. A non-whole float above 1 (``1.5``) is
  refused.
* **0** (int, float or Fraction) closes the office: capacity 0.

Leaders and people on duty are ordinary people here: when they are at the office they take
a place like anyone else ("lãnh đạo trực cùng số người ... không quá 1/3").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

Quota = int | float | Fraction

# Enough to keep any decimal a person types (up to six places) and any simple fraction,
# while discarding binary floating-point noise.
_MAX_DENOMINATOR = 10**6

_FRACTION_TEXT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_PERCENT_TEXT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*%\s*$")
_NUMBER_TEXT = re.compile(r"^\s*(\d+)(?:[.,](\d+))?\s*$")


def normalize_quota(quota: Quota) -> int | Fraction:
    """An int (a count of people) or an exact Fraction in [0, 1] (a share); ValueError if neither.

    ``1.0`` and ``Fraction(1)`` stay a share ("everyone"); a whole float from 2.0 up is a count.
    """
    if isinstance(quota, bool):
        # bool is an int subclass; True as "1 person" is certainly a bug upstream.
        raise TypeError("quota must be a number, not a bool")
    if isinstance(quota, int):
        if quota < 0:
            raise ValueError(f"quota must not be negative, got {quota}")
        return quota
    if isinstance(quota, float):
        if not math.isfinite(quota):
            raise ValueError(f"quota must be finite, got {quota}")
        if quota > 1 and quota.is_integer():
            return int(quota)
        share = Fraction(quota).limit_denominator(_MAX_DENOMINATOR)
    elif isinstance(quota, Fraction):
        share = quota
    else:
        raise TypeError(f"quota must be int, float or Fraction, got {type(quota).__name__}")
    if not 0 <= share <= 1:
        raise ValueError(f"a fractional quota must be between 0 and 1, got {quota}")
    return share


def parse_quota(text: str) -> int | Fraction:
    """Read a quota as a leader writes it: "1/3", "50%", "0,5", "0.34", "2" (people).

    Raises ValueError with the text when it is none of these.
    """
    if m := _FRACTION_TEXT.match(text):
        numerator, denominator = int(m[1]), int(m[2])
        if denominator == 0:
            raise ValueError(f"quota {text!r}: division by zero")
        return normalize_quota(Fraction(numerator, denominator))
    if m := _PERCENT_TEXT.match(text):
        return normalize_quota(Fraction(m[1].replace(",", ".")) / 100)
    if m := _NUMBER_TEXT.match(text):
        if m[2] is None:
            return normalize_quota(int(m[1]))
        return normalize_quota(Fraction(f"{m[1]}.{m[2]}"))
    raise ValueError(f"quota {text!r}: expected e.g. 1/3, 50%, 0.5 or a number of people")


def office_capacity(quota: Quota, headcount: int) -> int:
    """How many people may be at the office on a day (see the module docstring for rounding)."""
    if isinstance(headcount, bool) or not isinstance(headcount, int):
        raise TypeError("headcount must be an int")
    if headcount < 0:
        raise ValueError(f"headcount must not be negative, got {headcount}")
    q = normalize_quota(quota)
    if headcount == 0 or q == 0:
        return 0
    if isinstance(q, int):
        return min(q, headcount)
    # Exact integer floor; no float multiplication anywhere.
    places = (q.numerator * headcount) // q.denominator
    return max(1, places)


class QuotaOutcome(StrEnum):
    ALLOWED = "allowed"
    # Already counted at the office today (pressed Office twice, or changed back to it):
    # allowed and does not take a second place.
    ALREADY_AT_OFFICE = "already_at_office"
    ALLOWED_BY_EXCEPTION = "allowed_by_exception"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class QuotaDecision:
    """The answer to "may this person be at the office today?", with the numbers to show.

    ``taken`` and ``capacity`` are the figures *before* the request, so a refusal reads
    "2/2 đã ở cơ quan" straight from them.
    """

    outcome: QuotaOutcome
    person_id: str
    taken: int
    capacity: int
    granted_by: str | None = None
    # How many of ``taken`` are places held for expected people not yet checked in, so a
    # refusal can say "1 at the office, 1 held for the duty officer" instead of a bare 2/2.
    held: int = 0

    @property
    def allowed(self) -> bool:
        return self.outcome is not QuotaOutcome.REFUSED

    @property
    def consumes_place(self) -> bool:
        return self.outcome in (QuotaOutcome.ALLOWED, QuotaOutcome.ALLOWED_BY_EXCEPTION)

    @property
    def taken_after(self) -> int:
        return self.taken + 1 if self.consumes_place else self.taken

    def remaining(self) -> int:
        """Places left after this decision (never negative, even after an exception)."""
        return max(0, self.capacity - self.taken_after)


@dataclass(frozen=True, slots=True)
class OfficeQuota:
    """One unit's office places on one day.

    ``at_office`` — people whose current check-in is Office (leaders, people on duty and
    those let in by exception included: they are all in the building).

    ``reserved`` — people expected at the office who have not checked in yet (on duty, or the
    rotation team of the day). Holding their places stops an early walk-in from another team
    taking the seat of someone whose turn it is. The caller decides when holds lapse
    (typically at the check-in cut-off) by building the object without them.
    """

    capacity: int
    at_office: frozenset[str] = frozenset()
    reserved: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise ValueError(f"capacity must not be negative, got {self.capacity}")
        # Accept any iterable of ids from callers but keep the dataclass immutable.
        object.__setattr__(self, "at_office", frozenset(self.at_office))
        object.__setattr__(self, "reserved", frozenset(self.reserved) - self.at_office)

    def taken(self) -> int:
        """Places counted as used: people in the office plus places held for others."""
        return len(self.at_office) + len(self.reserved)

    def remaining(self) -> int:
        return max(0, self.capacity - self.taken())

    def request(self, person_id: str, *, exception_by: str | None = None) -> QuotaDecision:
        """Decide whether ``person_id`` may check in as Office.

        ``exception_by`` is the leader who pressed the exception button; it is used only when
        the quota would otherwise refuse, so the audit trail shows exceptions that mattered.
        """
        if person_id in self.at_office:
            return QuotaDecision(
                QuotaOutcome.ALREADY_AT_OFFICE, person_id, len(self.at_office), self.capacity
            )
        # A person whose place is held only needs a free seat in the building: holds never
        # push it over capacity, so if the rotation team is bigger than the quota, the first
        # ones in get the places. Anyone else must also leave the held places alone.
        held = 0 if person_id in self.reserved else len(self.reserved)
        taken = len(self.at_office) + held
        if taken < self.capacity:
            return QuotaDecision(QuotaOutcome.ALLOWED, person_id, taken, self.capacity, held=held)
        if exception_by is not None:
            return QuotaDecision(
                QuotaOutcome.ALLOWED_BY_EXCEPTION,
                person_id,
                taken,
                self.capacity,
                granted_by=exception_by,
                held=held,
            )
        return QuotaDecision(QuotaOutcome.REFUSED, person_id, taken, self.capacity, held=held)

    def with_decision(self, decision: QuotaDecision) -> OfficeQuota:
        """The state after an allowed decision has been recorded."""
        if not decision.allowed:
            return self
        return OfficeQuota(
            self.capacity,
            self.at_office | {decision.person_id},
            self.reserved - {decision.person_id},
        )

    def without(self, person_id: str) -> OfficeQuota:
        """The state after ``person_id`` changed away from Office (or their hold lapsed)."""
        return OfficeQuota(self.capacity, self.at_office - {person_id}, self.reserved - {person_id})
