"""Tidying a task text after a deadline phrase or a flag was cut out of it."""

from __future__ import annotations

import re
from typing import Final

_SPACES_RE: Final = re.compile(r"[ \t\u00a0]+")
# Only punctuation that ends something: "Gọi !khanh" keeps its space.
_SPACE_BEFORE_PUNCT_RE: Final = re.compile(r"[ \t]+([,.;:!?)\]]+)(?=\s|$)")
# A separator left hanging before the end of a sentence: "Soạn công văn, ." → "Soạn công văn."
_DANGLING_SEP_RE: Final = re.compile(r"[ \t]*[,;:\-–][ \t]*(?=[.!?\n]|$)")
_EMPTY_BRACKETS_RE: Final = re.compile(r"\(\s*\)|\[\s*\]")
_LEADING_SEP_RE: Final = re.compile(r"^[\s,;:\-–]+")


def tidy(text: str) -> str:
    """Collapse spaces, drop empty brackets and dangling separators; keep line breaks."""
    text = _EMPTY_BRACKETS_RE.sub(" ", text)
    text = _SPACES_RE.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", text)
    text = _DANGLING_SEP_RE.sub("", text)
    text = _LEADING_SEP_RE.sub("", text)
    lines = (line.strip() for line in text.strip().splitlines())
    return "\n".join(line for line in lines if line).strip(" ,;:-–")
