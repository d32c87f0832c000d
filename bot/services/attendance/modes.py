"""Check-in modes and the parser for what people type after /checkin or /diemdanh."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from bot.services.attendance.text import fold


class Mode(StrEnum):
    HOME = "home"
    OFFICE = "office"
    LEAVE = "leave"
    FIELD_TRIP = "field_trip"

    @property
    def counts_toward_quota(self) -> bool:
        # The quota limits people physically in the office building; a field trip is
        # work outside it, so it does not take a place.
        return self is Mode.OFFICE


CHECKIN_COMMANDS: frozenset[str] = frozenset({"checkin", "diemdanh"})

# Aliases are written folded (no diacritics, lower case). Lookup also tries the alias with
# its spaces removed, so "coquan", "vanphong", "onha", "congtac" need no entries of their own.
_ALIASES: Mapping[Mode, tuple[str, ...]] = MappingProxyType(
    {
        Mode.OFFICE: (
            "office",
            "at office",
            "in office",
            "at the office",
            "in the office",
            "co quan",
            "o co quan",
            "tai co quan",
            "den co quan",
            "lam tai co quan",
            "lam o co quan",
            "vp",
            "van phong",
            "o van phong",
            "tai van phong",
            "cong so",
            "tai cong so",
            "tru so",
            "tai tru so",
        ),
        Mode.HOME: (
            "home",
            "at home",
            "wfh",
            "work from home",
            "working from home",
            "remote",
            "nha",
            "o nha",
            "tai nha",
            "lam o nha",
            "lam tai nha",
            "lam viec o nha",
            "lam viec tai nha",
        ),
        Mode.LEAVE: (
            "leave",
            "on leave",
            "day off",
            "off",
            "annual leave",
            "sick",
            "sick leave",
            "nghi",
            "nghi phep",
            "phep",
            "xin nghi",
            "xin nghi phep",
            "nghi om",
        ),
        Mode.FIELD_TRIP: (
            "field",
            "trip",
            "field trip",
            "fieldtrip",
            "field_trip",
            "business trip",
            "cong tac",
            "di cong tac",
            "dang cong tac",
            "dang di cong tac",
        ),
    }
)


def _build_lookup() -> MappingProxyType[str, Mode]:
    table: dict[str, Mode] = {}
    for mode, aliases in _ALIASES.items():
        for alias in (mode.value, *aliases):
            for key in (fold(alias), fold(alias).replace(" ", "")):
                previous = table.setdefault(key, mode)
                if previous is not mode:
                    # Two modes claiming one spelling would make the parse depend on dict
                    # order; fail at import time instead.
                    raise RuntimeError(f"alias {key!r} maps to both {previous} and {mode}")
    return MappingProxyType(table)


_LOOKUP = _build_lookup()


def strip_command(text: str) -> str:
    """Drop a leading "/checkin", "/diemdanh" or "/checkin@SomeBot" and return the rest."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return stripped
    head, _, rest = stripped.partition(" ")
    command = head[1:].split("@", 1)[0].casefold()
    if command in CHECKIN_COMMANDS:
        return rest.strip()
    return stripped


def parse_mode(text: str) -> Mode | None:
    """The mode named in ``text``, or None when it names none (or nothing at all).

    Accepts the command prefix, Vietnamese with or without diacritics and English:
    ``"/diemdanh coquan"``, ``"cơ quan"``, ``"wfh"``, ``"nghỉ phép"``, ``"đi công tác"``.
    Only whole phrases match: "không ở nhà" ("not at home") is unknown, not HOME.
    """
    folded = fold(strip_command(text))
    if not folded:
        return None
    return _LOOKUP.get(folded) or _LOOKUP.get(folded.replace(" ", ""))
