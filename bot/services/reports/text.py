"""Accent-insensitive matching that keeps positions, for reading labelled report text."""

from __future__ import annotations

import unicodedata

from bot.services.attendance.text import fold

__all__ = ["fold", "fold_aligned"]


def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", ch)[0]
    return base.casefold()[:1] or ch


def fold_aligned(text: str) -> str:
    """Lower-case, diacritics removed, **one character per character** of ``text``.

    ``fold`` collapses punctuation and spaces, so its positions do not map back to the
    original; this one does, which lets a label found in the folded text cut the original.
    """
    return "".join(_fold_char(ch) for ch in unicodedata.normalize("NFC", text))
