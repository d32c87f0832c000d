"""Building people, the support group and catalogue files for the FAQ feature tests."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.services.faq.catalogue import Catalogue, dump_catalogue, load_shipped_catalogue
from storage.db import Database
from storage.models import CatalogueVersion, ChatBinding, Handoff, Identity, Person, Unit
from storage.models.org import ChatPurpose

CHANNEL = "telegram"
SUPPORT_GROUP = "-100500"


async def add_person(
    db: Database, *, name: str, role: str, user_id: str, channel: str = CHANNEL
) -> int:
    """A staff member (or admin) with a chat identity; returns the person id."""
    async with db.transaction() as session:
        unit = await session.scalar(select(Unit).where(Unit.code == "motcua"))
        if unit is None:
            unit = Unit(code="motcua", name="Bộ phận một cửa")
            session.add(unit)
            await session.flush()
        person = Person(full_name=name, role=role, unit_id=unit.id)
        session.add(person)
        await session.flush()
        session.add(
            Identity(channel=channel, user_id=user_id, first_name=name, person_id=person.id)
        )
        return person.id


async def bind_support_group(
    db: Database, chat_id: str = SUPPORT_GROUP, channel: str = CHANNEL
) -> None:
    async with db.transaction() as session:
        session.add(
            ChatBinding(
                channel=channel,
                chat_id=chat_id,
                purpose=ChatPurpose.SUPPORT_GROUP.value,
                title="Hỗ trợ công dân",
            )
        )


async def version_count(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count(CatalogueVersion.id))) or 0)


async def handoffs(db: Database) -> list[Handoff]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Handoff).order_by(Handoff.id)))


def catalogue_with_extra_alias(alias: str, procedure_id: str = "khai-sinh") -> Catalogue:
    """The shipped catalogue with one more alias, to see a new version take effect."""
    from dataclasses import replace

    shipped = load_shipped_catalogue()
    procedures = tuple(
        replace(p, aliases=(*p.aliases, alias)) if p.id == procedure_id else p
        for p in shipped.procedures
    )
    return Catalogue(procedures, shipped.topics)


def catalogue_bytes(catalogue: Catalogue, fmt: str = "csv") -> bytes:
    return dump_catalogue(catalogue, fmt)  # type: ignore[arg-type]


BAD_CSV = (
    "type,id,name_vi,name_en,field,level,online_level,sign_in_person,postal_return\n"
    "procedure,Khai Sinh,Đăng ký khai sinh,Birth,Hộ tịch,commune,2,yes,yes\n"
    "procedure,ket-hon,,Marriage,Hộ tịch,village,7,no,no\n"
    "topic,postal,Bưu điện,Post,,,,,\n"
).encode()
