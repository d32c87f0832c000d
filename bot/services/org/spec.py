"""The organisation file, as validated data: what `congvu org import` applies and export writes.

The same model stands behind YAML, CSV and XLSX. Everything in an :class:`OrgSpec` has been
checked: references resolve inside the file, ids are unique, hierarchies and manager chains
have no cycles. The file is self-contained on purpose: an admin reads one file and sees the
whole organisation, and validation needs no database.

"Given" fields. A file may leave a field out. For *structure* (role, unit, direct head,
active) leaving it out means the default, so the file alone decides who reports to whom.
For *attributes* people and leaders also change in chat (language, team, on-duty, the
unit's settings) leaving it out keeps the current value; writing it (``null`` or an empty
cell clears) overrides. ``given`` lists the attributes the file actually stated.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from storage.models import Role

Format = Literal["yaml", "csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("yaml", "csv", "xlsx")
Cycle = Literal["day", "week"]
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
LANGUAGES = ("vi", "en")

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

# Keys of Unit.settings that the importer manages through dedicated fields; the free-form
# ``settings`` mapping of a file may not set them.
ROTATION_KEY = "rotation"
# Unit.office_quota is a float, so 1 (one person) and 1.0 (everyone) would look the same;
# the kind keeps the difference the attendance rules depend on.
QUOTA_KIND_KEY = "office_quota_kind"
RESERVED_SETTINGS = frozenset({ROTATION_KEY, QUOTA_KIND_KEY})


@dataclass(frozen=True)
class RowError:
    """One problem in an organisation file.

    ``where`` is "line 12" (YAML) or "row 5" (CSV/XLSX, counting the header as row 1);
    ``field`` is the key or column it concerns, when there is one.
    """

    where: str
    field: str | None
    message: str

    def __str__(self) -> str:
        if self.field:
            return f"{self.where}: {self.field}: {self.message}"
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class ChatRef:
    """A chat on each channel (ids as strings: chat ids overflow nothing, but are compared)."""

    telegram: str | None = None
    zalo: str | None = None
    title: str | None = None

    def chats(self) -> Iterator[tuple[str, str]]:
        """(channel, chat id) for every channel given."""
        if self.telegram is not None:
            yield "telegram", self.telegram
        if self.zalo is not None:
            yield "zalo", self.zalo


@dataclass(frozen=True)
class RotationSpec:
    """A/B (or N-team) rotation of a unit; teams are the people's ``team`` values."""

    anchor: date
    cycle: Cycle = "day"
    teams: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cycle": self.cycle, "anchor": self.anchor.isoformat()}
        if self.teams:
            out["teams"] = list(self.teams)
        return out


@dataclass(frozen=True)
class UnitSpec:
    code: str
    where: str
    name: str | None = None
    parent: str | None = None
    timezone: str | None = None
    working_days: str | None = None
    # int: a number of people; float: a share of the unit in [0, 1].
    office_quota: int | float | None = None
    checkin_by: str | None = None
    report_at: str | None = None
    health_declaration: bool | None = None
    group: ChatRef | None = None
    rotation: RotationSpec | None = None
    # Merged into Unit.settings (other keys there are kept).
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    given: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PersonSpec:
    name: str
    where: str
    role: Role = Role.STAFF
    unit: str | None = None
    telegram: str | None = None
    username: str | None = None
    zalo: str | None = None
    # Index into OrgSpec.people of the direct head; None means the default head.
    manager: int | None = None
    language: str | None = None
    team: str | None = None
    on_duty: bool = False
    active: bool = True
    given: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OrgSpec:
    units: tuple[UnitSpec, ...]  # parents before their sub-units
    people: tuple[PersonSpec, ...]
    support_group: ChatRef | None = None
    warnings: tuple[RowError, ...] = ()

    def unit(self, code: str) -> UnitSpec | None:
        return next((u for u in self.units if u.code == code), None)

    def people_of(self, code: str | None) -> list[PersonSpec]:
        return [p for p in self.people if p.unit == code]


def default_head_index(spec: OrgSpec, index: int) -> int | None:
    """The head a person has when the file names none.

    The leader of their unit — or, for the leader (or a unit without one), the leader of the
    nearest unit above. Admins without a unit have no head.
    """
    person = spec.people[index]
    parents = {u.code: u.parent for u in spec.units}
    leaders = {
        p.unit: i
        for i, p in enumerate(spec.people)
        if p.role == Role.LEADER and p.unit and p.active
    }
    code = person.unit
    if person.role == Role.LEADER and code is not None:
        code = parents.get(code)
    seen: set[str] = set()
    while code is not None and code not in seen:
        seen.add(code)
        leader = leaders.get(code)
        if leader is not None and leader != index:
            return leader
        code = parents.get(code)
    return None


def quota_value(value: float | None, settings: Mapping[str, Any] | None) -> int | Fraction | None:
    """A unit's stored office quota as :mod:`bot.services.attendance.quota` wants it.

    Counts come back as int, shares as an exact Fraction (0.34 → 17/50, 1/3 → 1/3), using
    the kind the importer records next to the float column.
    """
    if value is None:
        return None
    kind = (settings or {}).get(QUOTA_KIND_KEY)
    if kind == "people" or (kind is None and value > 1 and float(value).is_integer()):
        return int(value)
    return Fraction(value).limit_denominator(10**6)


def parents_first(
    units: Sequence[T], key: Callable[[T], K], parent: Callable[[T], K | None]
) -> list[T]:
    """The units reordered so that each comes after its parent; otherwise the given order.

    A parent that is not among ``units`` is passed over, and a cycle never loops: its units
    come in the order they are reached (the importer reports cycles; the exporter must not
    hang on a hand-edited database).
    """
    by_key = {key(u): u for u in units}
    ordered: list[T] = []
    placed: set[K] = set()

    def place(unit: T, trail: frozenset[K]) -> None:
        unit_key = key(unit)
        if unit_key in placed or unit_key in trail:
            return
        parent_key = parent(unit)
        above = by_key.get(parent_key) if parent_key else None
        if above is not None:
            place(above, trail | {unit_key})
        placed.add(unit_key)
        ordered.append(unit)

    for unit in units:
        place(unit, frozenset())
    return ordered
