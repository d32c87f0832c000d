"""Shared helpers for the organisation import/export tests."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from sqlalchemy import select

from bot.services.org.importer import ImportReport, apply_org, parse_org
from bot.services.org.spec import Format, OrgSpec, RowError
from storage.db import Database
from storage.models import AuditEntry, ChatBinding, Identity, Person, Unit

NOW = datetime(2020, 4, 1, 1, 0, tzinfo=UTC)
LATER = datetime(2020, 4, 2, 1, 0, tzinfo=UTC)


def sample_yaml() -> bytes:
    return (resources.files("bot.demo") / "organisation.yaml").read_bytes()


def parse_ok(data: bytes, fmt: Format) -> OrgSpec:
    spec = parse_org(data, fmt)
    assert not isinstance(spec, list), "\n".join(str(e) for e in spec)
    return spec


def parse_errors(data: bytes, fmt: Format) -> list[RowError]:
    result = parse_org(data, fmt)
    assert isinstance(result, list), "expected errors, the file was accepted"
    return result


def places(errors: list[RowError]) -> set[tuple[str, str | None]]:
    return {(e.where, e.field) for e in errors}


async def import_bytes(
    db: Database, data: bytes, fmt: Format, *, now: datetime = NOW, **kwargs: Any
) -> ImportReport:
    spec = parse_ok(data, fmt)
    async with db.transaction() as session:
        return await apply_org(session, spec, now=now, **kwargs)


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every organisation row, to prove that something did or did not change."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.transaction() as session:
        for model, columns in (
            (Unit, ("id", "code", "name", "parent_id", "office_quota", "settings")),
            (Person, ("id", "full_name", "role", "unit_id", "manager_id", "team", "active")),
            (Identity, ("id", "channel", "user_id", "username", "person_id")),
            (ChatBinding, ("id", "channel", "chat_id", "purpose", "unit_id")),
            (AuditEntry, ("id", "action", "entity", "entity_id")),
        ):
            rows = await session.scalars(select(model).order_by(model.id))  # type: ignore[attr-defined]
            out[model.__tablename__] = [
                tuple(str(getattr(row, c)) for c in columns) for row in rows
            ]
    return out


async def people_by_name(db: Database) -> dict[str, Person]:
    async with db.transaction() as session:
        return {p.full_name: p for p in await session.scalars(select(Person))}


async def identities(db: Database) -> list[Identity]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Identity).order_by(Identity.id)))


# Windows-1258 has the letters with hats and horns (â ê ô ă ơ ư) but writes the five tones
# as combining marks.
TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")


def to_cp1258(text: str) -> bytes:
    """Encode like Windows-1258 does: tone marks as combining characters after the letter.

    Python's cp1258 codec has no precomposed "ễ", so the letter with its hat (ê) is written
    and the tone (U+0303) follows — exactly what old Excel saves.
    """
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", char)
        letter = unicodedata.normalize("NFC", base + "".join(m for m in marks if m not in TONES))
        tones = "".join(m for m in marks if m in TONES)
        out += letter.encode("cp1258") + tones.encode("cp1258")
    return bytes(out)
