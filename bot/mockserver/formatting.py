"""Turning a bot's `parse_mode=HTML` text into plain text plus entities, as Telegram does.

Telegram rejects the whole message when the HTML is not its small dialect (an unknown tag, a
bare `<`, a tag left open), which is a common production bug; the mock rejects the same inputs
with the same wording so tests catch it. MarkdownV2 is not parsed: the text is kept as sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.mockserver.entities import utf16_len
from bot.mockserver.errors import BotApiError, bad_request

_TAG_ENTITY: dict[str, str] = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG_NAME = re.compile(r"[A-Za-z0-9-]*")
_ATTR_NAME = re.compile(r"[A-Za-z0-9_-]+")
_CHAR_REF = re.compile(r"&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[A-Za-z]{2,6});")
_NAMED_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass(frozen=True, slots=True)
class FormattedText:
    text: str
    entities: list[dict[str, Any]]


@dataclass(slots=True)
class _Open:
    tag: str
    start: int  # UTF-16 offset in the output
    attrs: dict[str, str] = field(default_factory=dict)
    language: str | None = None


def _error(detail: str) -> BotApiError:
    return bad_request(f"can't parse entities: {detail}")


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_ref(match: re.Match[str]) -> str | None:
    body = match.group(1)
    if body.startswith("#x"):
        code = int(body[2:], 16)
    elif body.startswith("#"):
        code = int(body[1:])
    else:
        return _NAMED_REFS.get(body)
    return chr(code) if 0 < code <= 0x10FFFF else None


def _unescape(value: str) -> str:
    return _CHAR_REF.sub(lambda m: _decode_ref(m) or m.group(0), value)


class _HtmlParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pieces: list[str] = []
        self.position = 0  # UTF-16 length of the output so far
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def emit(self, text: str) -> None:
        if text:
            self.pieces.append(text)
            self.position += utf16_len(text)

    def parse(self) -> FormattedText:
        source, index = self.source, 0
        while index < len(source):
            char = source[index]
            if char == "<":
                index = self._tag(index)
            elif char == "&":
                match = _CHAR_REF.match(source, index)
                decoded = _decode_ref(match) if match else None
                if match and decoded is not None:
                    self.emit(decoded)
                    index = match.end()
                else:
                    self.emit("&")
                    index += 1
            else:
                stop = index + 1
                while stop < len(source) and source[stop] not in "<&":
                    stop += 1
                self.emit(source[index:stop])
                index = stop
        if self.stack:
            raise _error(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return FormattedText("".join(self.pieces), self.entities)

    def _tag(self, start: int) -> int:
        source = self.source
        if start + 1 < len(source) and source[start + 1] == "/":
            return self._end_tag(start)
        name_match = _TAG_NAME.match(source, start + 1)
        assert name_match is not None  # the pattern also matches the empty string
        name = name_match.group(0).lower()
        if name not in _TAG_ENTITY:
            raise _error(
                f'Unsupported start tag "{name_match.group(0)}" at byte offset '
                f"{_byte_offset(source, start)}"
            )
        index, attrs = self._attributes(name_match.end(), start)
        opened = _Open(name, self.position, attrs)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _error('Tag "span" must have class "tg-spoiler"')
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise _error('Tag "tg-emoji" must have attribute "emoji-id"')
        self.stack.append(opened)
        return index

    def _attributes(self, index: int, tag_start: int) -> tuple[int, dict[str, str]]:
        source = self.source
        attrs: dict[str, str] = {}
        while True:
            while index < len(source) and source[index].isspace():
                index += 1
            if index >= len(source):
                raise _error(f"Unclosed start tag at byte offset {_byte_offset(source, tag_start)}")
            if source[index] == ">":
                return index + 1, attrs
            name_match = _ATTR_NAME.match(source, index)
            if name_match is None:
                raise _error(
                    f"Expected equal sign in declaration of an attribute of the tag at byte "
                    f"offset {_byte_offset(source, tag_start)}"
                )
            attr, index = name_match.group(0).lower(), name_match.end()
            value = ""
            if index < len(source) and source[index] == "=":
                index += 1
                if index < len(source) and source[index] in "\"'":
                    quote = source[index]
                    close = source.find(quote, index + 1)
                    if close < 0:
                        raise _error(
                            f"Unclosed start tag at byte offset {_byte_offset(source, tag_start)}"
                        )
                    value, index = source[index + 1 : close], close + 1
                else:
                    stop = index
                    while stop < len(source) and not source[stop].isspace() and source[stop] != ">":
                        stop += 1
                    value, index = source[index:stop], stop
            attrs[attr] = _unescape(value)

    def _end_tag(self, start: int) -> int:
        source = self.source
        name_match = _TAG_NAME.match(source, start + 2)
        assert name_match is not None
        name = name_match.group(0).lower()
        index = name_match.end()
        while index < len(source) and source[index].isspace():
            index += 1
        if index >= len(source) or source[index] != ">":
            raise _error(f"Unclosed end tag at byte offset {_byte_offset(source, start)}")
        if not self.stack:
            raise _error(f"Unexpected end tag at byte offset {_byte_offset(source, start)}")
        top = self.stack[-1]
        if name != top.tag:
            raise _error(
                f"Unmatched end tag at byte offset {_byte_offset(source, start)}, "
                f'expected "</{top.tag}>", found "</{name_match.group(0)}>"'
            )
        self.stack.pop()
        self._close(top)
        return index + 1

    def _close(self, opened: _Open) -> None:
        length = self.position - opened.start
        kind = _TAG_ENTITY[opened.tag]
        language = (opened.attrs.get("class") or "").removeprefix("language-")
        parent = self.stack[-1] if self.stack else None
        if kind == "code" and parent is not None and parent.tag == "pre" and language:
            # <pre><code class="language-x"> is one pre entity with a language, not two.
            parent.language = language
            return
        if length <= 0:
            return
        entity: dict[str, Any] = {"type": kind, "offset": opened.start, "length": length}
        if kind == "text_link":
            href = opened.attrs.get("href")
            if not href:
                return
            entity["url"] = href
        elif kind == "pre" and opened.language:
            entity["language"] = opened.language
        elif kind == "blockquote" and "expandable" in opened.attrs:
            entity["type"] = "expandable_blockquote"
        elif kind == "custom_emoji":
            entity["custom_emoji_id"] = opened.attrs["emoji-id"]
        self.entities.append(entity)


def parse_html(source: str) -> FormattedText:
    """Plain text and entities for Telegram-dialect HTML; raises 400 like Telegram."""
    return _HtmlParser(source).parse()


def format_text(
    text: str, parse_mode: str | None, explicit_entities: list[dict[str, Any]] | None
) -> FormattedText:
    if parse_mode and parse_mode.lower() == "html":
        return parse_html(text)
    return FormattedText(text, list(explicit_entities or []))
