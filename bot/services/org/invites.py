"""Invitation codes: single-use, expiring, at least 64 bits of randomness."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Identity, Invite, Person, Role, Unit

CODE_BYTES = 12  # 96 bits; base64url keeps it inside Telegram's 64-character start payload
DEFAULT_TTL = timedelta(days=7)
MAX_TTL = timedelta(days=90)


class RedeemError(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    ALREADY_MEMBER = "already_member"


@dataclass(frozen=True)
class Redeemed:
    person: Person
    unit: Unit


async def create_invite(
    session: AsyncSession,
    *,
    unit_id: int,
    role: Role,
    created_by: int | None,
    now: datetime,
    ttl: timedelta = DEFAULT_TTL,
) -> Invite:
    invite = Invite(
        code=secrets.token_urlsafe(CODE_BYTES),
        unit_id=unit_id,
        role=role.value,
        created_by=created_by,
        created_at=now,
        expires_at=now + min(ttl, MAX_TTL),
    )
    session.add(invite)
    await session.flush()
    return invite


async def redeem_invite(
    session: AsyncSession, *, code: str, identity: Identity, full_name: str, now: datetime
) -> Redeemed | RedeemError:
    invite = await session.get(Invite, code)
    if invite is None:
        return RedeemError.UNKNOWN
    if invite.used_at is not None:
        return RedeemError.USED
    if invite.expires_at <= now:
        return RedeemError.EXPIRED
    if identity.person_id is not None:
        return RedeemError.ALREADY_MEMBER
    person = Person(full_name=full_name or "?", role=invite.role, unit_id=invite.unit_id)
    session.add(person)
    await session.flush()
    # The conditional update is the single-use guarantee, even for two taps at once.
    claimed = await session.execute(
        update(Invite)
        .where(Invite.code == code, Invite.used_at.is_(None))
        .values(used_at=now, used_by=person.id)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        await session.delete(person)
        return RedeemError.USED
    identity.person_id = person.id
    unit = await session.get(Unit, invite.unit_id)
    assert unit is not None
    await session.flush()
    return Redeemed(person, unit)
