"""Finding and updating who wrote to the bot."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from storage.models import Identity

# `last_seen_at` only ranks a person's identities (which one to write to): minutes are
# precise enough, and not rewriting it at every actor-cache miss spares an UPDATE per update.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


async def touch_identity(
    session: AsyncSession,
    *,
    channel: str,
    user_id: str,
    username: str | None,
    first_name: str,
    now: datetime,
) -> Identity:
    """The identity for this channel user, created on first contact.

    An imported username without an id is bound here, the first time that person writes.
    The person comes in the same statement (a join): this runs at every actor cache miss.
    """
    identity = await session.scalar(
        select(Identity)
        .where(Identity.channel == channel, Identity.user_id == user_id)
        .options(joinedload(Identity.person))
    )
    if identity is None and username:
        pending = await session.scalar(
            select(Identity)
            .where(
                Identity.channel == channel,
                func.lower(Identity.username) == username.lower(),
                Identity.user_id.is_(None),
            )
            .options(joinedload(Identity.person))
        )
        if pending is not None:
            pending.user_id = user_id
            identity = pending
    if identity is None:
        identity = Identity(channel=channel, user_id=user_id, person=None)
        session.add(identity)
        await session.flush()
    if username and identity.username != username:
        # Usernames move between accounts on Telegram; keep the column unique.
        clash = await session.scalar(
            select(Identity.id).where(
                Identity.channel == channel,
                func.lower(Identity.username) == username.lower(),
                Identity.id != identity.id,
            )
        )
        if clash is None:
            identity.username = username
    identity.first_name = first_name or identity.first_name or ""
    seen = identity.last_seen_at
    if seen is None or now - seen >= LAST_SEEN_RESOLUTION:
        identity.last_seen_at = now
    await session.flush()
    return identity


async def private_identity_of(session: AsyncSession, person_id: int) -> Identity | None:
    """The identity to write to a person privately: one with a known user id."""
    return await session.scalar(
        select(Identity)
        .where(Identity.person_id == person_id, Identity.user_id.is_not(None))
        .order_by(Identity.last_seen_at.desc().nulls_last(), Identity.id)
        .limit(1)
    )


async def find_by_username(session: AsyncSession, channel: str, username: str) -> Identity | None:
    return await session.scalar(
        select(Identity)
        .where(Identity.channel == channel, func.lower(Identity.username) == username.lower())
        .options(selectinload(Identity.person))
    )
