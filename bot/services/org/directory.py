"""Who is who: units, heads, and where to write to a person or a unit."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.events import ChatKind, ChatRef
from storage.models import ChatBinding, Identity, Person, Role, Unit
from storage.models.org import ChatPurpose

LEADER_ROLES = (Role.LEADER.value,)


async def ancestors(session: AsyncSession, unit_id: int) -> list[int]:
    """Parent, grandparent, … of a unit (the hierarchy is shallow; cycles are refused at import)."""
    chain: list[int] = []
    current = await session.get(Unit, unit_id)
    while current is not None and current.parent_id is not None and current.parent_id not in chain:
        chain.append(current.parent_id)
        current = await session.get(Unit, current.parent_id)
    return chain


async def unit_and_descendants(session: AsyncSession, unit_id: int) -> list[int]:
    rows = (await session.execute(select(Unit.id, Unit.parent_id))).all()
    children: dict[int | None, list[int]] = {}
    for uid, parent in rows:
        children.setdefault(parent, []).append(uid)
    found, queue = [unit_id], [unit_id]
    while queue:
        for child in children.get(queue.pop(), []):
            if child not in found:
                found.append(child)
                queue.append(child)
    return found


async def unit_leader(session: AsyncSession, unit_id: int) -> Person | None:
    return await session.scalar(
        select(Person)
        .where(Person.unit_id == unit_id, Person.role.in_(LEADER_ROLES), Person.active)
        .order_by(Person.id)
        .limit(1)
    )


async def direct_head(session: AsyncSession, person: Person) -> Person | None:
    """The person's manager if named; else the nearest leader up the unit tree who is not
    the person themself (a leader's head is the leader of the unit above)."""
    if person.manager_id is not None:
        manager = await session.get(Person, person.manager_id)
        if manager is not None and manager.active:
            return manager
    if person.unit_id is None:
        return None
    for unit_id in [person.unit_id, *await ancestors(session, person.unit_id)]:
        leader = await unit_leader(session, unit_id)
        if leader is not None and leader.id != person.id:
            return leader
    return None


async def private_chat(session: AsyncSession, person_id: int) -> ChatRef | None:
    identity = await session.scalar(
        select(Identity)
        .where(Identity.person_id == person_id, Identity.user_id.is_not(None))
        .order_by(Identity.last_seen_at.desc().nulls_last(), Identity.id)
        .limit(1)
    )
    if identity is None or identity.user_id is None:
        return None
    return ChatRef(identity.channel, identity.user_id, ChatKind.PRIVATE)


async def unit_group(session: AsyncSession, unit_id: int) -> ChatRef | None:
    binding = await session.scalar(
        select(ChatBinding).where(
            ChatBinding.unit_id == unit_id, ChatBinding.purpose == ChatPurpose.UNIT_GROUP.value
        )
    )
    return _chat(binding)


async def support_group(session: AsyncSession) -> ChatRef | None:
    binding = await session.scalar(
        select(ChatBinding)
        .where(ChatBinding.purpose == ChatPurpose.SUPPORT_GROUP.value)
        .order_by(ChatBinding.id)
        .limit(1)
    )
    return _chat(binding)


async def unit_of_chat(session: AsyncSession, channel: str, chat_id: str) -> Unit | None:
    binding = await session.scalar(
        select(ChatBinding).where(ChatBinding.channel == channel, ChatBinding.chat_id == chat_id)
    )
    if binding is None or binding.unit_id is None:
        return None
    return await session.get(Unit, binding.unit_id)


async def person_by_username(session: AsyncSession, channel: str, username: str) -> Person | None:
    return await session.scalar(
        select(Person)
        .join(Identity, Identity.person_id == Person.id)
        .where(
            Identity.channel == channel,
            func.lower(Identity.username) == username.lower().lstrip("@"),
            Person.active,
        )
    )


async def usernames_in_units(session: AsyncSession, unit_ids: list[int]) -> list[tuple[str, str]]:
    """(username, full name) of active people in these units, for "who can be assigned"."""
    rows = await session.execute(
        select(Identity.username, Person.full_name)
        .join(Person, Identity.person_id == Person.id)
        .where(Person.unit_id.in_(unit_ids), Person.active, Identity.username.is_not(None))
        .order_by(Person.full_name)
    )
    return [(u, n) for u, n in rows.all() if u]


def _chat(binding: ChatBinding | None) -> ChatRef | None:
    if binding is None:
        return None
    return ChatRef(binding.channel, binding.chat_id, ChatKind.GROUP, binding.title)
