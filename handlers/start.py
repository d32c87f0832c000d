"""/start, /help, /lang and /cancel: the first things anyone sends."""

from __future__ import annotations

import html
from dataclasses import dataclass, replace

from sqlalchemy import select

from bot.core.callbacks import CallbackData
from bot.core.context import Ctx, button_rows
from bot.core.events import Button
from bot.core.router import Router, RouteTable
from bot.services import access
from handlers.invites import redeem_invite
from storage.models import Identity, Person, Unit

router = Router("start")

LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


@dataclass(frozen=True)
class LangChoice(CallbackData, prefix="lang"):
    code: str


async def greeting(ctx: Ctx) -> str:
    name = html.escape(ctx.actor.full_name or ctx.incoming.sender.first_name or "")
    if ctx.actor.is_citizen:
        return ctx.t("start.greeting_citizen", name=name)
    unit_name = ctx.t("start.unit_none")
    if ctx.actor.unit_id is not None:
        unit = await ctx.session.get(Unit, ctx.actor.unit_id)
        if unit is not None:
            unit_name = html.escape(unit.name)
    return ctx.t(
        "start.greeting_staff", name=name, role=ctx.t(f"role.{ctx.actor.role}"), unit=unit_name
    )


def help_text(ctx: Ctx) -> str:
    routes = ctx.app.get(RouteTable)
    lines = [ctx.t("help.header")]
    for route in routes.menu:
        if route.permission and not access.allowed(ctx.actor, route.permission):
            continue
        names = " ".join(f"/{name}" for name in route.names)
        lines.append(f"{names} — {ctx.t(route.description_key or '')}")
    footer = "help.citizen_footer" if ctx.actor.is_citizen else "help.staff_footer"
    lines.append("")
    lines.append(ctx.t(footer))
    return "\n".join(lines)


@router.command("start", "batdau", description="cmd.start")
async def start(ctx: Ctx) -> None:
    if ctx.incoming.args:
        # A deep link (/start <code>) carries an invitation.
        await redeem_invite(ctx, ctx.incoming.args.split()[0])
        return
    await ctx.reply(await greeting(ctx) + "\n\n" + help_text(ctx))


@router.command("help", "trogiup", description="cmd.help")
async def help_(ctx: Ctx) -> None:
    await ctx.reply(help_text(ctx))


@router.command("lang", "ngonngu", description="cmd.lang")
async def lang(ctx: Ctx) -> None:
    code = ctx.incoming.args.strip().lower()
    if not code:
        buttons = button_rows(
            [Button(name, data=LangChoice(c).pack()) for c, name in LANGUAGE_NAMES.items()]
        )
        await ctx.reply(ctx.t("lang.choose"), buttons)
        return
    if code not in LANGUAGE_NAMES:
        await ctx.reply(ctx.t("lang.unknown"))
        return
    await _set_language(ctx, code)
    await ctx.reply(ctx.t("lang.set"))


@router.callback(LangChoice)
async def lang_chosen(ctx: Ctx, choice: LangChoice) -> None:
    if choice.code not in LANGUAGE_NAMES:
        ctx.answer(ctx.t("lang.unknown"))
        return
    await _set_language(ctx, choice.code)
    ctx.answer(ctx.t("lang.set"))
    await ctx.edit_origin(ctx.t("lang.set"))


async def _set_language(ctx: Ctx, code: str) -> None:
    identity = await ctx.session.get(Identity, ctx.actor.identity_id)
    if identity is not None:
        identity.language = code
    if ctx.actor.person_id is not None:
        person = await ctx.session.scalar(select(Person).where(Person.id == ctx.actor.person_id))
        if person is not None:
            person.language = code
    ctx.app.actors.invalidate(ctx.incoming.channel, ctx.incoming.sender.user_id)
    # The rest of this update answers in the new language too.
    ctx.actor = replace(ctx.actor, language=code)


@router.command("cancel", "huy", description="cmd.cancel")
async def cancel(ctx: Ctx) -> None:
    if await ctx.flow.finish():
        await ctx.reply(ctx.t("core.cancelled"))
    else:
        await ctx.reply(ctx.t("core.nothing_to_cancel"))
