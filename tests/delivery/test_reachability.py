"""403 marks the identity and its person unreachable; a later success clears it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.core.events import ChatKind, ChatRef, OutMessage
from bot.delivery.errors import Unreachable
from bot.delivery.service import Delivery
from bot.delivery.wiring import attach_reachability
from storage.db import Database
from storage.models.org import Identity, Person
from tests.delivery.doubles import ScriptedChannel, VirtualTime


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.create_all()
    try:
        yield database
    finally:
        await database.dispose()


async def flags(db: Database) -> dict[str, tuple[bool, bool]]:
    async with db.transaction() as session:
        result = await session.execute(
            select(Identity.channel, Identity.unreachable, Person.unreachable).join(
                Person, Identity.person_id == Person.id
            )
        )
        return {channel: (identity, person) for channel, identity, person in result}


async def test_403_marks_identity_and_person_and_success_clears_them(db: Database) -> None:
    async with db.transaction() as session:
        lan = Person(full_name="Nguyễn Thị Lan")
        session.add(lan)
        await session.flush()
        session.add(Identity(channel="telegram", user_id="4242", person_id=lan.id))
    time = VirtualTime()
    channel = ScriptedChannel(time, failures={"4242": [Unreachable("bot was blocked by the user")]})
    delivery = Delivery(sleep=time.sleep)
    delivery.register(channel)
    await attach_reachability(delivery, db)
    chat = ChatRef("telegram", "4242")

    with pytest.raises(Unreachable):
        await delivery.send(chat, OutMessage("Nhắc điểm danh"))
    assert await flags(db) == {"telegram": (True, True)}

    # After a restart the mark is still known, so the next success clears it.
    restarted = Delivery(sleep=time.sleep)
    restarted.register(channel)
    await attach_reachability(restarted, db)
    assert ("telegram", "4242") in restarted.unreachable
    await restarted.send(chat, OutMessage("Nhắc điểm danh"))
    assert await flags(db) == {"telegram": (False, False)}


async def test_person_stays_reachable_through_another_channel(db: Database) -> None:
    async with db.transaction() as session:
        minh = Person(full_name="Trần Văn Minh")
        session.add(minh)
        await session.flush()
        session.add_all(
            [
                Identity(channel="telegram", user_id="77", person_id=minh.id),
                Identity(channel="zalo", user_id="z-77", person_id=minh.id),
            ]
        )
    delivery = Delivery()
    reachability = await attach_reachability(delivery, db)
    await reachability.mark_unreachable(ChatRef("telegram", "77"))
    assert await flags(db) == {"telegram": (True, False), "zalo": (False, False)}
    await reachability.mark_unreachable(ChatRef("zalo", "z-77"))
    assert await flags(db) == {"telegram": (True, True), "zalo": (True, True)}


async def test_group_403_and_unknown_chats_touch_nobody(db: Database) -> None:
    delivery = Delivery()
    reachability = await attach_reachability(delivery, db)
    await reachability.mark_unreachable(ChatRef("telegram", "-1001", ChatKind.GROUP))
    await reachability.mark_unreachable(ChatRef("telegram", "555"))
    assert await flags(db) == {}
