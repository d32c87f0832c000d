"""The state-secret guard: text carrying a classification marking never enters the bot.

The directives forbid handling state secrets through these tools. Markings are the
Vietnamese ones — Mật, Tối mật, Tuyệt mật, "bí mật nhà nước" — matched as whole words in any
case. Without diacritics "mat" is also mặt (face), mất (lost), mát (cool), so accent-free text
is matched only in forms that cannot mean anything else.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from bot.core.errors import InvalidInput
from bot.services import audit

if TYPE_CHECKING:
    from bot.core.app_context import AppContext
    from bot.services.access import Actor

# With diacritics: "mật" alone is a marking unless it is part of an everyday compound.
_EVERYDAY_AFTER = (
    "khẩu",  # password
    "ong",  # honey
    "độ",  # density
    "thiết",  # close (relationship)
    "mã",  # cipher, code
    "ngọt",
    "danh",
    "báo",
    "thám",
    "vụ",
    "đàm",
    "ước",
    "tập",
    "phục",
    "gấu",
)
_EVERYDAY_BEFORE = ("túi", "bảo", "kín", "cơ", "thân", "bí", "mỹ", "ong")

_ACCENTED = re.compile(r"(?<!\w)(tuyệt\s+mật|tối\s+mật|bí\s+mật\s+nhà\s+nước|mật)(?!\w)")
_ACCENT_FREE = re.compile(
    r"(?<!\w)(tuyet\s+mat|toi\s+mat|bi\s+mat\s+nha\s+nuoc|do\s+mat\s*[:\-]?\s*(?:mat|toi|tuyet))(?!\w)"
)
_WORD = re.compile(r"\w+")


def _fold(text: str) -> str:
    stripped = "".join(
        ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn"
    )
    return stripped.replace("đ", "d").replace("Đ", "D").lower()


def find_marking(text: str) -> str | None:
    """The marking found, normalised (e.g. "tối mật"), or None."""
    lowered = unicodedata.normalize("NFC", text).lower()
    for match in _ACCENTED.finditer(lowered):
        phrase = re.sub(r"\s+", " ", match.group(1))
        if phrase != "mật":
            return phrase
        before = _WORD.findall(lowered[: match.start()])
        after = _WORD.findall(lowered[match.end() :])
        if before and before[-1] in _EVERYDAY_BEFORE:
            continue
        if after and after[0] in _EVERYDAY_AFTER:
            continue
        return phrase
    # Only text typed without any diacritics: "bận tối mặt" (very busy) folds to "toi mat" too.
    if text.isascii():
        folded = _fold(text)
        match = _ACCENT_FREE.search(folded)
        if match:
            return re.sub(r"\s+", " ", match.group(1))
    return None


async def refuse_if_classified(app: AppContext, actor: Actor, text: str, where: str) -> None:
    """Refuse text with a marking before anything is stored; audit the refusal, not the text.

    The audit entry is written in its own transaction because the refusal rolls back the
    handler's.
    """
    marking = find_marking(text)
    if marking is None:
        return
    async with app.db.transaction() as session:
        await audit.record(
            session,
            at=app.clock.now(),
            actor=actor,
            action="classified.refused",
            entity=where,
            note=f"marking: {marking}",
        )
    raise InvalidInput("classified.refused")
