"""Update de-duplication and conversation state."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationState, ProcessedUpdate


async def record_update(session: AsyncSession, channel: str, update_id: str, now: datetime) -> bool:
    """True the first time an update is seen; False for a repeat (the key already exists)."""
    try:
        async with session.begin_nested():
            session.add(ProcessedUpdate(channel=channel, update_id=update_id, handled_at=now))
            await session.flush()
    except IntegrityError:
        return False
    return True


async def prune_updates(session: AsyncSession, older_than: datetime) -> int:
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.handled_at < older_than)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def load_state(
    session: AsyncSession, channel: str, chat_id: str, user_id: str
) -> ConversationState | None:
    return await session.get(ConversationState, (channel, chat_id, user_id))


async def save_state(
    session: AsyncSession,
    *,
    channel: str,
    chat_id: str,
    user_id: str,
    flow: str,
    step: str,
    data: dict[str, Any],
    now: datetime,
    ttl: timedelta,
) -> None:
    state = await session.get(ConversationState, (channel, chat_id, user_id))
    if state is None:
        state = ConversationState(channel=channel, chat_id=chat_id, user_id=user_id)
        session.add(state)
    state.flow, state.step, state.data = flow, step, dict(data)
    state.updated_at, state.expires_at = now, now + ttl
    await session.flush()


async def clear_state(session: AsyncSession, channel: str, chat_id: str, user_id: str) -> bool:
    result = await session.execute(
        delete(ConversationState).where(
            ConversationState.channel == channel,
            ConversationState.chat_id == chat_id,
            ConversationState.user_id == user_id,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def active_state(
    session: AsyncSession, channel: str, chat_id: str, user_id: str, now: datetime
) -> tuple[ConversationState | None, bool]:
    """The state if any, and whether it had expired (an expired one is removed)."""
    state = await session.scalar(
        select(ConversationState).where(
            ConversationState.channel == channel,
            ConversationState.chat_id == chat_id,
            ConversationState.user_id == user_id,
        )
    )
    if state is None:
        return None, False
    if state.expires_at <= now:
        await session.delete(state)
        await session.flush()
        return None, True
    return state, False
