"""The guard: one table says which role may do what; handlers never check roles themselves."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.errors import Denied

CITIZEN = "citizen"


class Permission(StrEnum):
    ASK_FAQ = "ask_faq"
    CHECKIN = "checkin"
    REPORT = "report"
    OWN_TASKS = "own_tasks"
    ASSIGN_TASKS = "assign_tasks"
    VIEW_UNIT = "view_unit"
    MANAGE_UNIT = "manage_unit"
    INVITE = "invite"
    BIND_GROUP = "bind_group"
    ANSWER_CITIZENS = "answer_citizens"
    ADMIN = "admin"


_STAFF = frozenset({"staff", "deputy", "leader", "admin"})
_LEADERS = frozenset({"deputy", "leader", "admin"})

RULES: dict[Permission, frozenset[str]] = {
    Permission.ASK_FAQ: frozenset({CITIZEN, *_STAFF}),
    Permission.CHECKIN: _STAFF - {"admin"},
    Permission.REPORT: _STAFF - {"admin"},
    Permission.OWN_TASKS: _STAFF,
    Permission.ASSIGN_TASKS: _LEADERS,
    Permission.VIEW_UNIT: _LEADERS,
    Permission.MANAGE_UNIT: frozenset({"leader", "admin"}),
    Permission.INVITE: frozenset({"leader", "admin"}),
    Permission.BIND_GROUP: frozenset({"leader", "admin"}),
    Permission.ANSWER_CITIZENS: _STAFF,
    Permission.ADMIN: frozenset({"admin"}),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who sent the update, as far as the guard and the handlers need to know."""

    identity_id: int
    person_id: int | None
    role: str
    unit_id: int | None
    full_name: str
    language: str

    @property
    def is_citizen(self) -> bool:
        return self.person_id is None

    @property
    def is_leader(self) -> bool:
        return self.role in _LEADERS


def allowed(actor: Actor, permission: Permission | str) -> bool:
    return actor.role in RULES[Permission(permission)]


def require(actor: Actor, permission: Permission | str) -> None:
    if not allowed(actor, permission):
        key = "access.denied.citizen" if actor.is_citizen else f"access.denied.{permission}"
        raise Denied(key)


def can_see_unit(actor: Actor, unit_id: int, ancestors_of_unit: list[int]) -> bool:
    """Leaders see their unit and its sub-units; admins see all."""
    if actor.role == "admin":
        return True
    if not actor.is_leader or actor.unit_id is None:
        return False
    return unit_id == actor.unit_id or actor.unit_id in ancestors_of_unit
