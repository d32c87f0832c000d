"""Reading commands and mentions out of message text, the same way for every channel."""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?:\s+|$)(.*)", re.S)
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,32})\b")


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    name: str
    args: str


def parse_command(text: str, bot_username: str = "") -> ParsedCommand | None:
    """`/Assign@congvu_bot @an do it` → ("assign", "@an do it"); None for another bot's command."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    name, target, args = match.groups()
    if target and bot_username and target.lower() != bot_username.lower():
        return None
    return ParsedCommand(name.lower(), args.strip())


def mentions(text: str) -> tuple[str, ...]:
    """@usernames in order, without duplicates, lower-cased."""
    seen: dict[str, None] = {}
    for name in _MENTION.findall(text):
        seen.setdefault(name.lower(), None)
    return tuple(seen)
