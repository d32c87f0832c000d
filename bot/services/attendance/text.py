"""Accent-insensitive text folding shared by the parsers of this package.

People type Vietnamese with full diacritics, without them (phones without a Vietnamese
keyboard), or in a mix; matching on the folded form accepts all three.
"""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower-case, strip diacritics (đ → d) and collapse everything else to single spaces.

    ``fold("Cơ quan!")`` → ``"co quan"``; ``fold("ĐI CÔNG TÁC")`` → ``"di cong tac"``.
    """
    # đ/Đ is a separate letter, not d plus a combining mark, so NFD alone leaves it alone.
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", stripped.casefold()).strip()


def fold_keep_marks(text: str) -> str:
    """Like :func:`fold` but keeps punctuation such as "." "," "°" that numbers need."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
