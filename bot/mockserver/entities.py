"""Entities Telegram detects in what users type: bot commands and @mentions.

Offsets and lengths are in UTF-16 code units, as in the Bot API: Vietnamese letters count one
each, most emoji two. The rules follow tdlib's matchers (`td/telegram/MessageEntity.cpp`):
a command is `/` + 1-64 of [A-Za-z0-9_], optionally `@` + 3-32 of the same; a mention is `@` +
2-32 of them; neither may touch a word character on either side.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_NAME_CHAR = r"[A-Za-z0-9_]"
_COMMAND = re.compile(rf"/({_NAME_CHAR}{{1,64}})(@{_NAME_CHAR}{{3,32}})?")
_MENTION = re.compile(rf"@{_NAME_CHAR}{{2,32}}")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _is_word_char(char: str) -> bool:
    if char == "_":
        return True
    category = unicodedata.category(char)
    return category[0] in ("L", "N")


def _boundary_ok(text: str, start: int, end: int, *, extra_after: str = "") -> bool:
    if start > 0 and _is_word_char(text[start - 1]):
        return False
    if end < len(text):
        following = text[end]
        if _is_word_char(following) or following in extra_after:
            return False
    return True


def _spans(
    pattern: re.Pattern[str], text: str, *, before: str, after: str
) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for match in pattern.finditer(text):
        start, end = match.span()
        if start > 0 and text[start - 1] in before:
            continue
        if _boundary_ok(text, start, end, extra_after=after):
            spans.append((start, end))
    return spans


def detect_entities(text: str) -> list[dict[str, Any]]:
    """bot_command and mention entities for a user's text, sorted by offset."""
    commands = _spans(_COMMAND, text, before="/<>", after="/<>")
    inside_command = [range(start, end) for start, end in commands]
    mentions = [
        (start, end)
        for start, end in _spans(_MENTION, text, before="", after="")
        if not any(start in span for span in inside_command)
    ]
    found = [("bot_command", s, e) for s, e in commands] + [("mention", s, e) for s, e in mentions]
    found.sort(key=lambda item: item[1])
    return [
        {
            "type": kind,
            "offset": utf16_len(text[:start]),
            "length": utf16_len(text[start:end]),
        }
        for kind, start, end in found
    ]
