"""Assembling delivery for a running bot: limiter by configuration, reachability hooks."""

from __future__ import annotations

from bot.config import Settings
from bot.delivery.limits import make_limiter
from bot.delivery.reachability import DbReachability
from bot.delivery.service import Delivery
from storage.db import Database


def make_delivery(settings: Settings) -> Delivery:
    """Delivery with Telegram/Zalo limits: shared through Redis when CONGVU_REDIS_URL is set."""
    return Delivery(limiter=make_limiter(settings.redis_url))


async def attach_reachability(delivery: Delivery, db: Database) -> DbReachability:
    """Record 403s on Identity/Person and clear them on the next success; seeds known ones."""
    reachability = DbReachability(db)
    delivery.on_unreachable = reachability.mark_unreachable
    delivery.on_reachable = reachability.mark_reachable
    delivery.unreachable.update(await reachability.unreachable_chats())
    return reachability
