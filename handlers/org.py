"""/me shows who the bot thinks you are; /bindgroup makes a group the unit's working group."""

from __future__ import annotations

import html

from sqlalchemy import select

from bot.core.context import Ctx
from bot.core.errors import InvalidInput
from bot.core.router import Router
from bot.services import audit
from bot.services.access import Permission
from bot.services.org import directory
from storage.models import ChatBinding, Person, Unit
from storage.models.org import ChatPurpose

router = Router("org")


@router.command("me", "toi", description="cmd.me")
async def me(ctx: Ctx) -> None:
    if ctx.actor.person_id is None:
        await ctx.reply(ctx.t("me.citizen"))
        return
    person = await ctx.session.get(Person, ctx.actor.person_id)
    assert person is not None
    unit = await ctx.session.get(Unit, person.unit_id) if person.unit_id else None
    head = await directory.direct_head(ctx.session, person)
    await ctx.reply(
        ctx.t(
            "me.staff",
            name=html.escape(person.full_name),
            role=ctx.t(f"role.{person.role}"),
            unit=html.escape(unit.name) if unit else ctx.t("start.unit_none"),
            head=html.escape(head.full_name) if head else "—",
        )
    )


@router.command(
    "bindgroup", "ganketnhom", permission=Permission.BIND_GROUP, description="cmd.bindgroup"
)
async def bind_group(ctx: Ctx) -> None:
    if not ctx.in_group:
        raise InvalidInput("bindgroup.group_only")
    if ctx.actor.unit_id is None:
        raise InvalidInput("invite.no_unit")
    unit = await ctx.session.get(Unit, ctx.actor.unit_id)
    assert unit is not None
    binding = await ctx.session.scalar(
        select(ChatBinding).where(
            ChatBinding.channel == ctx.chat.channel, ChatBinding.chat_id == ctx.chat.chat_id
        )
    )
    if binding is not None and binding.unit_id not in (None, unit.id) and ctx.actor.role != "admin":
        raise InvalidInput("bindgroup.other_unit")
    before = {"unit_id": binding.unit_id, "purpose": binding.purpose} if binding else None
    # A unit has one working group: binding this one releases the previous.
    previous = await ctx.session.scalar(
        select(ChatBinding).where(
            ChatBinding.unit_id == unit.id, ChatBinding.purpose == ChatPurpose.UNIT_GROUP.value
        )
    )
    if previous is not None and previous is not binding:
        await ctx.session.delete(previous)
        await ctx.session.flush()
    if binding is None:
        binding = ChatBinding(channel=ctx.chat.channel, chat_id=ctx.chat.chat_id)
        ctx.session.add(binding)
    binding.unit_id, binding.purpose = unit.id, ChatPurpose.UNIT_GROUP.value
    binding.title = ctx.chat.title
    await ctx.session.flush()
    await audit.record(
        ctx.session,
        at=ctx.now,
        actor=ctx.actor,
        action="group.bind",
        entity="chat",
        entity_id=ctx.chat.chat_id,
        before=before,
        after={"unit_id": unit.id, "purpose": binding.purpose},
    )
    await ctx.reply(ctx.t("bindgroup.done", unit=html.escape(unit.name)))
