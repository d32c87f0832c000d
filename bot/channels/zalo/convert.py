"""Turning the core's messages into what Zalo can show: plain text, ≤ 2,000-character parts,
button templates, and button payloads that come back as callback data."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from typing import Any

from bot.channels.zalo import protocol
from bot.core.events import Keyboard

log = logging.getLogger(__name__)

# Our own encoding, not Zalo's: an `oa.query.show` button sends its payload back as if the
# user had typed it, so callback data is marked to tell a press from typed text. A person who
# types "#q:..." gets exactly what pressing such a button would give, as a forged Telegram
# callback would; the core checks permissions and the data either way.
CALLBACK_PREFIX = "#q:"
# Added where an answer had to be cut because it would take too many messages.
SHORTENED_MARK = " …"


def callback_payload(data: str) -> str:
    return CALLBACK_PREFIX + data


def callback_data(text: str) -> str | None:
    """The callback data if this text is a pressed button's payload, else None."""
    if text.startswith(CALLBACK_PREFIX) and len(text) > len(CALLBACK_PREFIX):
        return text[len(CALLBACK_PREFIX) :]
    return None


class _PlainText(HTMLParser):
    """Telegram-style HTML (b, i, u, s, code, pre, a, blockquote, tg-spoiler) to plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities (&lt; &amp; ...) come out unescaped
        self.out: list[str] = []
        self._links: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.out.append("\n")
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self.out)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag != "a" or not self._links:
            return
        href, start = self._links.pop()
        shown = "".join(self.out[start:])
        # Zalo shows no links inside text: keep the address readable next to its words.
        if href and href not in shown and not href.startswith("tg:"):
            self.out.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def html_to_text(html_text: str) -> str:
    parser = _PlainText()
    parser.feed(html_text)
    parser.close()
    return "".join(parser.out)


_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)")


def _cut_point(text: str, limit: int) -> int:
    """Where to end the first part of `text` (len > limit): the best boundary within limit.

    Paragraphs, then lines, then sentence ends, then spaces; a paragraph or line break is
    taken only if it keeps at least half of the allowed length, so no part is tiny.
    """
    window = text[: limit + 1]  # a boundary right at `limit` still fits
    half = limit // 2
    for separator in ("\n\n", "\n"):
        at = window.rfind(separator, 0, limit + 1)
        if at >= half:
            return at
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if 0 < m.end() <= limit]
    if ends:
        return ends[-1]
    at = window.rfind(" ", 0, limit + 1)
    if at > 0:
        return at
    return limit


def split_text(text: str, limit: int = protocol.TEXT_LIMIT) -> list[str]:
    """Parts of at most `limit` characters, cut at the best boundary (see _cut_point)."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        head = rest[:cut].rstrip()
        if head:
            parts.append(head)
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def fit_text(text: str, limit: int = protocol.TEXT_LIMIT, max_parts: int = 3) -> list[str]:
    """Split, and shorten an answer that would need more than `max_parts` messages.

    Each part uses one of the 8 free replies Zalo allows per 48 hours, so a very long answer
    is cut at a sentence boundary and marked instead of spending the whole allowance.
    """
    parts = split_text(text, limit)
    if len(parts) <= max_parts:
        return parts
    kept = parts[:max_parts]
    last = kept[-1]
    room = limit - len(SHORTENED_MARK)
    if len(last) > room:
        last = last[: _cut_point(last, room)].rstrip()
    kept[-1] = last + SHORTENED_MARK
    return kept


def zalo_buttons(keyboard: Keyboard) -> list[dict[str, Any]]:
    """The core's inline keyboard, flattened into Zalo buttons (Zalo has no rows)."""
    buttons: list[dict[str, Any]] = []
    for row in keyboard:
        for button in row:
            title = button.text[: protocol.BUTTON_TITLE_LIMIT]
            if button.data is not None:
                buttons.append(protocol.query_button(title, callback_payload(button.data)))
            elif button.url is not None:
                buttons.append(protocol.url_button(title, button.url))
            elif button.phone is not None:
                buttons.append(protocol.phone_button(title, button.phone))
            else:
                log.warning("zalo: button %r has no action; left out", button.text)
    return buttons


def chunks(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
