"""/invite creates a deep link; opening it (/start <code>) binds the person to the unit."""

from __future__ import annotations

import html
from datetime import timedelta

from bot.core.context import Ctx
from bot.core.errors import InvalidInput
from bot.core.router import Router
from bot.services import audit
from bot.services.access import Permission
from bot.services.org.invites import MAX_TTL, RedeemError, create_invite
from bot.services.org.invites import redeem_invite as redeem
from storage.models import Identity, Role, Unit

router = Router("invites")

ROLE_WORDS = {
    "staff": Role.STAFF,
    "canbo": Role.STAFF,
    "deputy": Role.DEPUTY,
    "pho": Role.DEPUTY,
    "leader": Role.LEADER,
    "lanhdao": Role.LEADER,
    "truong": Role.LEADER,
}


def parse_invite_args(args: str) -> tuple[Role, timedelta]:
    role, ttl = Role.STAFF, timedelta(days=7)
    for word in args.lower().split():
        if word in ROLE_WORDS:
            role = ROLE_WORDS[word]
        elif word.rstrip("d").isdigit():
            days = int(word.rstrip("d"))
            if not 1 <= days <= MAX_TTL.days:
                raise InvalidInput("invite.bad_days", max=MAX_TTL.days)
            ttl = timedelta(days=days)
        else:
            raise InvalidInput("invite.usage")
    return role, ttl


@router.command("invite", "moi", permission=Permission.INVITE, description="cmd.invite")
async def invite(ctx: Ctx) -> None:
    role, ttl = parse_invite_args(ctx.incoming.args)
    if ctx.actor.unit_id is None:
        raise InvalidInput("invite.no_unit")
    if role is Role.LEADER and ctx.actor.role != Role.ADMIN.value:
        raise InvalidInput("invite.leader_by_admin")
    created = await create_invite(
        ctx.session,
        unit_id=ctx.actor.unit_id,
        role=role,
        created_by=ctx.actor.person_id,
        now=ctx.now,
        ttl=ttl,
    )
    await audit.record(
        ctx.session,
        at=ctx.now,
        actor=ctx.actor,
        action="invite.create",
        entity="invite",
        entity_id=created.code[:4] + "…",
        after={"role": role.value, "unit_id": ctx.actor.unit_id, "days": ttl.days},
    )
    link = f"https://t.me/{ctx.app.bot_username}?start={created.code}"
    await ctx.reply(
        ctx.t(
            "invite.created",
            role=ctx.t(f"role.{role.value}"),
            days=ttl.days,
            link=html.escape(link),
            code=created.code,
        )
    )


async def redeem_invite(ctx: Ctx, code: str) -> None:
    identity = await ctx.session.get(Identity, ctx.actor.identity_id)
    assert identity is not None
    outcome = await redeem(
        ctx.session,
        code=code,
        identity=identity,
        full_name=ctx.incoming.sender.first_name,
        now=ctx.now,
    )
    if isinstance(outcome, RedeemError):
        await ctx.reply(ctx.t(f"invite.error.{outcome.value}"))
        return
    ctx.app.actors.invalidate(ctx.incoming.channel, ctx.incoming.sender.user_id)
    await audit.record(
        ctx.session,
        at=ctx.now,
        actor=None,
        actor_label=ctx.incoming.sender.first_name,
        action="invite.redeem",
        entity="person",
        entity_id=outcome.person.id,
        after={"unit": outcome.unit.code, "role": outcome.person.role},
    )
    unit: Unit = outcome.unit
    await ctx.reply(
        ctx.t(
            "invite.welcome",
            unit=html.escape(unit.name),
            role=ctx.t(f"role.{outcome.person.role}"),
        )
    )
