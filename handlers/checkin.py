"""/checkin (/diemdanh) and /checkout (/ketthuc): where I work today, in one tap.

The conversation only: parse, ask, render. The rules (working days, quota, health, lateness)
are decided by ``bot.services.attendance`` and stored by its service layer.

Buttons carry what they decide (mode and day, or the declared temperature and the symptoms
ticked so far), so an old card or a second press re-asks the rules instead of trusting a
conversation state; the unique row per person per day does the rest.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from babel.dates import format_date

from bot.core.callbacks import CallbackData
from bot.core.context import Ctx, button_rows
from bot.core.events import Button, Keyboard, OutMessage
from bot.core.router import PRIVATE, Router
from bot.services.access import Permission
from bot.services.attendance import service
from bot.services.attendance.calendar import HolidayBook
from bot.services.attendance.checkin import CheckinStatus
from bot.services.attendance.health import (
    HealthAssessment,
    Symptom,
    assess,
    parse_symptoms,
    parse_temperature,
)
from bot.services.attendance.modes import Mode, parse_mode
from bot.services.attendance.quota import QuotaDecision
from bot.services.attendance.roster import LEADER_ROLES
from bot.services.attendance.unitconfig import timezone_of
from bot.services.org import directory
from storage.models import Person, Unit
from storage.repositories import core as core_repo

router = Router("checkin")

FLOW = "checkin"
MODES_ON_CARD = ((Mode.HOME, Mode.OFFICE), (Mode.LEAVE, Mode.FIELD_TRIP))
# Index in a symptom bitmask (button data); the order of the buttons too.
SYMPTOMS: tuple[Symptom, ...] = tuple(Symptom)
# The purpose of a health declaration: a check-in at the office, or a request for an exception.
FOR_CHECKIN = "c"
FOR_EXCEPTION = "x"


@dataclass(frozen=True)
class ModeButton(CallbackData, prefix="ci"):
    """A tap on a mode of a check-in card for ``day`` (ISO date)."""

    mode: str
    day: str


@dataclass(frozen=True)
class ConfirmDay(CallbackData, prefix="cic"):
    """Yes/no to checking in on a non-working day."""

    mode: str
    day: str
    yes: bool


@dataclass(frozen=True)
class HealthButton(CallbackData, prefix="hs"):
    """Symptom buttons: the declaration so far travels in the data, not in server memory.

    ``temp`` is hundredths of a degree (3660 = 36.6 °C, so 37.49 stays below 37.5);
    ``mask`` the ticked symptoms; ``action``
    is "t<i>" (toggle symptom i), "ok" (send), "no" (no symptoms) or "x" (cancel).
    """

    day: str
    temp: int
    mask: int
    purpose: str
    confirmed: bool
    action: str


@dataclass(frozen=True)
class AskException(CallbackData, prefix="qx"):
    """The refused person asks their leader to let them in anyway."""

    day: str
    temp: int


@dataclass(frozen=True)
class ExceptionDecision(CallbackData, prefix="qxd"):
    """A leader's answer to an exception request (``temp`` as declared by the person)."""

    person: int
    day: str
    temp: int
    grant: bool


# ---------------------------------------------------------------------------------------
# Rendering helpers, shared with handlers.roster.


def mode_label(t: Any, mode: Mode | str) -> str:
    return str(t(f"checkin.mode.{Mode(mode).value}"))


def mode_button_label(t: Any, mode: Mode) -> str:
    return str(t(f"checkin.button.{mode.value}"))


def day_text(day: date, lang: str) -> str:
    return format_date(day, "EEEE dd/MM/yyyy", locale=lang)


def short_day(day: date) -> str:
    return day.strftime("%d/%m")


def local_time(at: datetime, unit: Unit) -> str:
    return at.astimezone(timezone_of(unit.timezone)).strftime("%H:%M")


def reason_text(t: Any, lang: str, reason: str | None, day: date, book: HolidayBook) -> str:
    """Why a day is not a working day, in the reader's language (holidays from ``book``)."""
    if reason is None:
        return ""
    if reason.startswith("holiday:"):
        # The domain names holidays in English; show the official name in the reader's one.
        names = book.names(day, language="vi" if lang == "vi" else "en_US")
        name = "; ".join(names) if names else reason.partition(":")[2]
        return str(t("checkin.reason.holiday", name=html.escape(name)))
    if reason == "weekend":
        return str(t("checkin.reason.weekend"))
    return str(t("checkin.reason.day_off"))


def language_of(ctx: Ctx, person: Person) -> str:
    return ctx.app.i18n.pick_language(person.language, ctx.app.settings.default_language)


def mode_rows(t: Any, day: date, modes: tuple[tuple[Mode, ...], ...] = MODES_ON_CARD) -> Keyboard:
    return button_rows(
        *[
            [
                Button(mode_button_label(t, m), data=ModeButton(m.value, day.isoformat()).pack())
                for m in row
            ]
            for row in modes
        ]
    )


async def release_unit(ctx: Ctx) -> None:
    """Commit the check-in now, ending the unit lock before any message goes out.

    The lock (a row lock on PostgreSQL, the database's write lock on SQLite) exists for the
    quota decision only; holding it while replies and notices travel to Telegram would make
    the whole unit — on SQLite every writer — wait for the network.
    """
    await ctx.sessions.commit()


async def respond(ctx: Ctx, text: str, buttons: Keyboard = ()) -> None:
    """A button press edits its card (no chat noise); a command gets a reply."""
    if ctx.incoming.is_callback:
        await ctx.edit_origin(text, buttons)
    else:
        await ctx.reply(text, buttons)


async def notify(ctx: Ctx, person: Person, key: str, buttons: Keyboard = (), **params: Any) -> bool:
    """A message to someone else's private chat, in their language; False if unreachable."""
    chat = await directory.private_chat(ctx.session, person.id)
    if chat is None:
        return False
    await ctx.send(chat, OutMessage(ctx.t_in(language_of(ctx, person), key, **params), buttons))
    return True


# ---------------------------------------------------------------------------------------
# The card: today, what the rotation expects, the current check-in, the buttons.


async def card(ctx: Ctx, person: Person, unit: Unit, day: date) -> tuple[str, Keyboard]:
    state = await service.load_unit_day(ctx.session, unit, day, ctx.app.holidays)
    lang = ctx.lang
    lines = [ctx.t("checkin.card.title", day=day_text(day, lang))]
    reason = state.rules.calendar.reason(day)
    if reason is not None:
        lines.append(
            ctx.t(
                "checkin.card.non_working",
                reason=reason_text(ctx.t, lang, reason, day, ctx.app.holidays),
            )
        )
    expected = state.expected(person.id)
    if expected is not None:
        lines.append(ctx.t("checkin.card.expected_today", mode=mode_label(ctx.t, expected)))
    following = state.rules.calendar.next_working_day(day)
    expected_next = state.expected(person.id, following)
    if expected_next is not None:
        lines.append(
            ctx.t(
                "checkin.card.expected_next",
                day=day_text(following, lang),
                mode=mode_label(ctx.t, expected_next),
            )
        )
    row = state.rows.get(person.id)
    if row is None:
        lines.append(ctx.t("checkin.card.none_yet", cutoff=unit.checkin_by))
    else:
        lines.append(
            ctx.t(
                "checkin.card.current",
                mode=mode_label(ctx.t, row.mode),
                time=local_time(row.updated_at, unit),
            )
        )
    at_office = sum(1 for r in state.rows.values() if r.mode == Mode.OFFICE.value)
    lines.append(ctx.t("checkin.card.office", taken=at_office, capacity=state.capacity()))
    lines.append("")
    lines.append(ctx.t("checkin.card.choose"))
    return "\n".join(lines), mode_rows(ctx.t, day)


async def _drop_health_flow(ctx: Ctx) -> None:
    """A new /checkin abandons a half-answered health declaration (and no other flow)."""
    state = await core_repo.load_state(
        ctx.session, ctx.incoming.channel, ctx.chat.chat_id, ctx.incoming.sender.user_id
    )
    if state is not None and state.flow == FLOW:
        await ctx.flow.finish()


@router.command(
    "checkin", "diemdanh", permission=Permission.CHECKIN, description="cmd.checkin", chats=PRIVATE
)
async def checkin(ctx: Ctx) -> None:
    await _drop_health_flow(ctx)
    person, unit = await service.person_and_unit(ctx.session, ctx.actor.person_id)
    day = service.local_day(unit, ctx.now)
    args = ctx.incoming.args.strip()
    if not args:
        text, buttons = await card(ctx, person, unit, day)
        await ctx.reply(text, buttons)
        return
    mode = parse_mode(args)
    if mode is None:
        text, buttons = await card(ctx, person, unit, day)
        await ctx.reply(ctx.t("checkin.bad_mode", text=html.escape(args)) + "\n\n" + text, buttons)
        return
    await apply(ctx, mode, day)


@router.callback(ModeButton, permission=Permission.CHECKIN)
async def mode_pressed(ctx: Ctx, data: ModeButton) -> None:
    person, unit = await service.person_and_unit(ctx.session, ctx.actor.person_id)
    day = service.local_day(unit, ctx.now)
    mode = _mode(data.mode)
    if mode is None or _day(data.day) != day:
        # Yesterday's card (or a forged one): nothing is recorded for another day.
        ctx.answer(ctx.t("checkin.old_card"), alert=True)
        text, buttons = await card(ctx, person, unit, day)
        await ctx.edit_origin(text, buttons)
        return
    await _drop_health_flow(ctx)
    await apply(ctx, mode, day)


@router.callback(ConfirmDay, permission=Permission.CHECKIN)
async def confirm_pressed(ctx: Ctx, data: ConfirmDay) -> None:
    _, unit = await service.person_and_unit(ctx.session, ctx.actor.person_id)
    day = service.local_day(unit, ctx.now)
    mode = _mode(data.mode)
    if mode is None or _day(data.day) != day:
        ctx.answer(ctx.t("checkin.old_card"), alert=True)
        await ctx.edit_origin(ctx.t("checkin.old_card"))
        return
    if not data.yes:
        ctx.answer(ctx.t("checkin.not_recorded"))
        await ctx.edit_origin(ctx.t("checkin.not_recorded"))
        return
    await apply(ctx, mode, day, confirmed=True)


async def apply(
    ctx: Ctx,
    mode: Mode,
    day: date,
    *,
    confirmed: bool = False,
    health: HealthAssessment | None = None,
) -> None:
    """Ask the rules about ``mode`` and answer with what they decided."""
    outcome = await service.check_in(
        ctx.session,
        person_id=ctx.actor.person_id,
        mode=mode,
        now=ctx.now,
        day=day,
        confirmed_non_working=confirmed,
        health=health,
        holiday_book=ctx.app.holidays,
    )
    await release_unit(ctx)
    decision = outcome.decision
    status = decision.status
    if status is CheckinStatus.NEEDS_CONFIRMATION:
        text = ctx.t(
            "checkin.confirm_non_working",
            day=day_text(day, ctx.lang),
            reason=reason_text(ctx.t, ctx.lang, decision.non_working_reason, day, ctx.app.holidays),
            mode=mode_label(ctx.t, mode),
        )
        buttons = button_rows(
            [
                Button(
                    ctx.t("checkin.button.confirm_yes"),
                    data=ConfirmDay(mode, day.isoformat(), True).pack(),
                ),
                Button(
                    ctx.t("checkin.button.confirm_no"),
                    data=ConfirmDay(mode, day.isoformat(), False).pack(),
                ),
            ]
        )
        ctx.answer()
        await respond(ctx, text, buttons)
        return
    if status is CheckinStatus.REFUSED_QUOTA:
        assert decision.quota is not None
        ctx.answer(ctx.t("checkin.quota_full_short"))
        await respond(ctx, *refusal(ctx, decision.quota, day, outcome.headcount))
        return
    if status is CheckinStatus.NEEDS_HEALTH_DECLARATION:
        await ask_temperature(ctx, day, FOR_CHECKIN, confirmed)
        return
    if status is CheckinStatus.UNCHANGED:
        row = outcome.row
        current = row.mode if row is not None else mode.value
        ctx.answer(ctx.t("checkin.unchanged", mode=mode_label(ctx.t, current)))
        if not ctx.incoming.is_callback:
            await ctx.reply(ctx.t("checkin.unchanged", mode=mode_label(ctx.t, current)))
        return
    await recorded(ctx, outcome)


async def recorded(ctx: Ctx, outcome: service.CheckinOutcome) -> None:
    row = outcome.row
    assert row is not None
    mode = Mode(row.mode)
    lines = [
        ctx.t(
            "checkin.recorded",
            mode=mode_label(ctx.t, mode),
            day=day_text(outcome.day, ctx.lang),
            time=local_time(ctx.now, outcome.unit),
        )
    ]
    if row.version > 1:
        lines[0] = ctx.t(
            "checkin.changed",
            mode=mode_label(ctx.t, mode),
            day=day_text(outcome.day, ctx.lang),
            time=local_time(ctx.now, outcome.unit),
        )
    if row.late:
        lines.append(ctx.t("checkin.late", cutoff=outcome.unit.checkin_by))
    if row.non_working_day:
        lines.append(ctx.t("checkin.recorded_non_working"))
    if mode is Mode.OFFICE:
        lines.append(
            ctx.t("checkin.office_count", taken=outcome.at_office, capacity=outcome.capacity)
        )
        if row.by_exception:
            lines.append(ctx.t("checkin.by_exception"))
        elif outcome.unit_day.expected(outcome.person.id) is Mode.HOME:
            lines.append(ctx.t("checkin.off_rotation"))
        lines.append(ctx.t("checkin.office_reminder"))
    ctx.answer(ctx.t("checkin.saved_short"))
    await respond(ctx, "\n".join(lines), mode_rows(ctx.t, outcome.day))


def refusal(ctx: Ctx, quota: QuotaDecision, day: date, headcount: int) -> tuple[str, Keyboard]:
    lines = [
        ctx.t(
            "checkin.quota_full",
            taken=quota.taken,
            capacity=quota.capacity,
            headcount=headcount,
        )
    ]
    if quota.held:
        lines.append(ctx.t("checkin.quota_held", held=quota.held))
    lines.append(ctx.t("checkin.quota_alternatives"))
    alternatives = mode_rows(ctx.t, day, ((Mode.HOME, Mode.FIELD_TRIP), (Mode.LEAVE,)))
    ask = Button(
        ctx.t("checkin.button.ask_exception"),
        data=AskException(day.isoformat(), 0).pack(),
    )
    return "\n".join(lines), (*alternatives, (ask,))


# ---------------------------------------------------------------------------------------
# Health declaration: the temperature (typed), then symptoms (buttons or typed).


def _cancel_row(ctx: Ctx, day: date, purpose: str, confirmed: bool) -> tuple[Button, ...]:
    data = HealthButton(day.isoformat(), 0, 0, purpose, confirmed, "x").pack()
    return (Button(ctx.t("core.cancel_button"), data=data),)


async def ask_temperature(ctx: Ctx, day: date, purpose: str, confirmed: bool) -> None:
    await ctx.flow.start(
        FLOW, "temperature", {"day": day.isoformat(), "purpose": purpose, "confirmed": confirmed}
    )
    ctx.answer()
    await respond(
        ctx, ctx.t("checkin.health.ask_temperature"), (_cancel_row(ctx, day, purpose, confirmed),)
    )


@router.step(FLOW, "temperature")
async def temperature_step(ctx: Ctx) -> None:
    data = ctx.flow.data
    day = _day(str(data.get("day")))
    purpose = str(data.get("purpose") or FOR_CHECKIN)
    confirmed = bool(data.get("confirmed"))
    if day is None:
        await ctx.flow.finish()
        return
    value = parse_temperature(ctx.incoming.text)
    if value is None:
        await ctx.reply(
            ctx.t("checkin.health.bad_temperature", text=html.escape(ctx.incoming.text[:40])),
            (_cancel_row(ctx, day, purpose, confirmed),),
        )
        return
    hundredths = round(value * 100)
    await ctx.flow.goto("symptoms", temp=hundredths)
    await ctx.reply(
        ctx.t("checkin.health.ask_symptoms", temperature=degrees(value)),
        symptom_buttons(ctx, day, hundredths, 0, purpose, confirmed),
    )


def degrees(value: float) -> str:
    """37.8 → "37.8", 37.85 → "37.85": as precise as it was typed, no more."""
    hundredths = round(value * 100)
    return f"{value:.1f}" if hundredths % 10 == 0 else f"{value:.2f}"


def symptom_buttons(
    ctx: Ctx, day: date, temp: int, mask: int, purpose: str, confirmed: bool
) -> Keyboard:
    def data(m: int, action: str) -> str:
        return HealthButton(day.isoformat(), temp, m, purpose, confirmed, action).pack()

    ticks = [
        Button(
            ("✅ " if mask & (1 << i) else "") + ctx.t(f"checkin.symptom.{symptom.value}"),
            data=data(mask, f"t{i}"),
        )
        for i, symptom in enumerate(SYMPTOMS)
    ]
    rows = [ticks[i : i + 2] for i in range(0, len(ticks), 2)]
    rows.append([Button(ctx.t("checkin.button.no_symptoms"), data=data(0, "no"))])
    if mask:
        rows.append([Button(ctx.t("checkin.button.send_declaration"), data=data(mask, "ok"))])
    rows.append(list(_cancel_row(ctx, day, purpose, confirmed)))
    return button_rows(*rows)


@router.step(FLOW, "symptoms")
async def symptoms_step(ctx: Ctx) -> None:
    data = ctx.flow.data
    day = _day(str(data.get("day")))
    temp = int(data.get("temp") or 0)
    purpose = str(data.get("purpose") or FOR_CHECKIN)
    confirmed = bool(data.get("confirmed"))
    if day is None or not temp:
        await ctx.flow.finish()
        return
    answer = parse_symptoms(ctx.incoming.text)
    if answer.unknown or not (answer.symptoms or answer.none_declared):
        unknown = ", ".join(html.escape(u[:30]) for u in answer.unknown) or html.escape(
            ctx.incoming.text[:30]
        )
        await ctx.reply(
            ctx.t("checkin.health.bad_symptoms", text=unknown),
            symptom_buttons(ctx, day, temp, 0, purpose, confirmed),
        )
        return
    await ctx.flow.finish()
    await declared(ctx, day, assess(temp / 100, answer.symptoms), purpose, confirmed)


@router.callback(HealthButton, permission=Permission.CHECKIN)
async def health_pressed(ctx: Ctx, data: HealthButton) -> None:
    day = _day(data.day)
    if data.action == "x" or day is None:
        await ctx.flow.finish()
        ctx.answer(ctx.t("core.cancelled"))
        await ctx.edit_origin(ctx.t("checkin.health.cancelled"))
        return
    if data.action.startswith("t"):
        index = int(data.action[1:]) if data.action[1:].isdigit() else -1
        if not 0 <= index < len(SYMPTOMS):
            ctx.answer(ctx.t("core.button_expired"))
            return
        mask = data.mask ^ (1 << index)
        ctx.answer()
        await ctx.edit_origin(
            ctx.t("checkin.health.ask_symptoms", temperature=degrees(data.temp / 100)),
            symptom_buttons(ctx, day, data.temp, mask, data.purpose, data.confirmed),
        )
        return
    if not data.temp:
        ctx.answer(ctx.t("core.button_expired"))
        return
    mask = data.mask if data.action == "ok" else 0
    symptoms = [s for i, s in enumerate(SYMPTOMS) if mask & (1 << i)]
    await ctx.flow.finish()
    await declared(ctx, day, assess(data.temp / 100, symptoms), data.purpose, data.confirmed)


async def declared(
    ctx: Ctx, day: date, health: HealthAssessment, purpose: str, confirmed: bool
) -> None:
    """A complete declaration: finish the check-in, or pass the request on to the leader."""
    if not health.ok:
        # Not fit for the office: recorded at home whatever the quota says (no point
        # telling a person with a fever that the office is full), the leader is told.
        outcome = await service.check_in(
            ctx.session,
            person_id=ctx.actor.person_id,
            mode=Mode.HOME,
            now=ctx.now,
            day=day,
            confirmed_non_working=confirmed,
            health=health,
            holiday_book=ctx.app.holidays,
        )
        await release_unit(ctx)
        # A second press of "Send" stores nothing new and must not alarm the leader twice.
        fresh = outcome.status is CheckinStatus.RECORDED or outcome.health_saved
        await health_failed(ctx, outcome.person, outcome.unit, day, health, tell_leader=fresh)
        return
    if purpose == FOR_EXCEPTION:
        await request_exception(ctx, day, round((health.temperature or 0) * 100))
        return
    await apply(ctx, Mode.OFFICE, day, confirmed=confirmed, health=health)


def health_summary(t: Any, health: HealthAssessment) -> str:
    temperature = (
        t("checkin.health.temperature", temperature=degrees(health.temperature))
        if health.temperature is not None
        else t("checkin.health.no_temperature")
    )
    if not health.symptoms:
        return str(t("checkin.health.summary_no_symptoms", temperature=temperature))
    names = ", ".join(str(t(f"checkin.symptom.{s.value}")) for s in health.symptoms)
    return str(t("checkin.health.summary", temperature=temperature, symptoms=names))


async def health_failed(
    ctx: Ctx,
    person: Person,
    unit: Unit,
    day: date,
    health: HealthAssessment,
    *,
    tell_leader: bool = True,
) -> None:
    """Advised to stay home (already recorded as home); the leader is told."""
    ctx.answer(ctx.t("checkin.health.stay_home_short"))
    await respond(
        ctx,
        ctx.t(
            f"checkin.health.{health.advice_code.value}",
            summary=health_summary(ctx.t, health),
        ),
        mode_rows(ctx.t, day, ((Mode.HOME, Mode.LEAVE),)),
    )
    head = await directory.direct_head(ctx.session, person) if tell_leader else None
    if head is not None:
        lang = language_of(ctx, head)
        await notify(
            ctx,
            head,
            "checkin.health.leader_notice",
            name=html.escape(person.full_name),
            day=day_text(day, lang),
            summary=health_summary(partial(ctx.t_in, lang), health),
        )


# ---------------------------------------------------------------------------------------
# Exceptions to the quota: the person asks, a leader grants or denies with a button.


@router.callback(AskException, permission=Permission.CHECKIN)
async def ask_exception_pressed(ctx: Ctx, data: AskException) -> None:
    _, unit = await service.person_and_unit(ctx.session, ctx.actor.person_id)
    day = _day(data.day)
    if day is None or day != service.local_day(unit, ctx.now):
        ctx.answer(ctx.t("checkin.old_card"), alert=True)
        return
    if unit.health_declaration and not data.temp:
        # Declare first, so the leader decides on someone fit to come in.
        await ask_temperature(ctx, day, FOR_EXCEPTION, True)
        return
    await request_exception(ctx, day, data.temp)


async def request_exception(ctx: Ctx, day: date, temp: int) -> None:
    person, unit = await service.person_and_unit(ctx.session, ctx.actor.person_id)
    if await service.may_decide_for(ctx.session, ctx.actor, unit.id):
        # A leader over the quota decides for themself; the grant is audited all the same.
        await decide(ctx, ExceptionDecision(person.id, day.isoformat(), temp, True))
        return
    state = await service.load_unit_day(ctx.session, unit, day, ctx.app.holidays)
    taken = sum(1 for r in state.rows.values() if r.mode == Mode.OFFICE.value)
    ctx.answer()
    # The direct head first; if the bot cannot reach them, the unit's other leaders.
    for leader in await _deciders(ctx, person, state.people):
        lang = language_of(ctx, leader)
        health = (
            health_summary(partial(ctx.t_in, lang), assess(temp / 100, []))
            if temp
            else ctx.t_in(lang, "checkin.health.not_declared")
        )
        buttons = button_rows(
            [
                Button(
                    ctx.t_in(lang, "checkin.button.grant"),
                    data=ExceptionDecision(person.id, day.isoformat(), temp, True).pack(),
                ),
                Button(
                    ctx.t_in(lang, "checkin.button.deny"),
                    data=ExceptionDecision(person.id, day.isoformat(), temp, False).pack(),
                ),
            ]
        )
        sent = await notify(
            ctx,
            leader,
            "checkin.exception.request",
            buttons,
            name=html.escape(person.full_name),
            day=day_text(day, lang),
            taken=taken,
            capacity=state.capacity(),
            health=health,
        )
        if sent:
            await respond(
                ctx, ctx.t("checkin.exception.sent", leader=html.escape(leader.full_name))
            )
            return
    await respond(ctx, ctx.t("checkin.exception.no_leader"))


async def _deciders(ctx: Ctx, person: Person, colleagues: Sequence[Person]) -> list[Person]:
    head = await directory.direct_head(ctx.session, person)
    found = [head] if head is not None else []
    found += [
        p for p in colleagues if p.role in LEADER_ROLES and p.id != person.id and p not in found
    ]
    return found


@router.callback(ExceptionDecision, permission=Permission.VIEW_UNIT)
async def decision_pressed(ctx: Ctx, data: ExceptionDecision) -> None:
    await decide(ctx, data)


async def decide(ctx: Ctx, data: ExceptionDecision) -> None:
    day = _day(data.day)
    if day is None:
        ctx.answer(ctx.t("core.button_expired"))
        return
    person, unit = await service.person_and_unit(ctx.session, data.person)
    if day < service.local_day(unit, ctx.now):
        ctx.answer(ctx.t("checkin.exception.too_late"), alert=True)
        await ctx.edit_origin(ctx.t("checkin.exception.too_late"))
        return
    name = html.escape(person.full_name)
    own = person.id == ctx.actor.person_id
    if not data.grant:
        await service.deny_exception(
            ctx.session, leader=ctx.actor, person_id=person.id, day=day, now=ctx.now
        )
        ctx.answer(ctx.t("checkin.exception.denied_short"))
        await ctx.edit_origin(ctx.t("checkin.exception.denied", name=name, day=short_day(day)))
        lang = language_of(ctx, person)
        await notify(
            ctx,
            person,
            "checkin.exception.denied_notice",
            mode_rows(
                partial(ctx.t_in, lang),
                day,
                ((Mode.HOME, Mode.FIELD_TRIP), (Mode.LEAVE,)),
            ),
            day=day_text(day, lang),
        )
        return
    health = assess(data.temp / 100, []) if data.temp else None
    granted = await service.grant_exception(
        ctx.session,
        leader=ctx.actor,
        person_id=person.id,
        day=day,
        now=ctx.now,
        health=health,
        holiday_book=ctx.app.holidays,
    )
    await release_unit(ctx)
    outcome = granted.checkin
    status = outcome.status
    if status is CheckinStatus.NEEDS_HEALTH_DECLARATION:
        if own:
            await ask_temperature(ctx, day, FOR_CHECKIN, True)
            return
        ctx.answer(ctx.t("checkin.exception.granted_short"))
        await ctx.edit_origin(
            ctx.t("checkin.exception.granted_pending", name=name, day=short_day(day))
        )
        await notify(
            ctx,
            person,
            "checkin.exception.granted_declare",
            leader=html.escape(ctx.actor.full_name),
            day=day_text(day, language_of(ctx, person)),
        )
        return
    recorded_now = status is CheckinStatus.RECORDED
    if not granted.created and not recorded_now:
        ctx.answer(ctx.t("checkin.exception.already"))
        await ctx.edit_origin(
            ctx.t(
                "checkin.exception.granted",
                name=name,
                day=short_day(day),
                taken=outcome.at_office,
                capacity=outcome.capacity,
            )
        )
        return
    ctx.answer(ctx.t("checkin.exception.granted_short"))
    text = ctx.t(
        "checkin.exception.granted",
        name=name,
        day=short_day(day),
        taken=outcome.at_office,
        capacity=outcome.capacity,
    )
    if own:
        await ctx.edit_origin(text + "\n" + ctx.t("checkin.office_reminder"))
        return
    await ctx.edit_origin(text)
    lang = language_of(ctx, person)
    await notify(
        ctx,
        person,
        "checkin.exception.granted_notice",
        leader=html.escape(ctx.actor.full_name),
        day=day_text(day, lang),
        mode=ctx.t_in(lang, "checkin.mode.office"),
    )


# ---------------------------------------------------------------------------------------
# /checkout


@router.command(
    "checkout", "ketthuc", permission=Permission.CHECKIN, description="cmd.checkout", chats=PRIVATE
)
async def checkout(ctx: Ctx) -> None:
    _, unit = await service.person_and_unit(ctx.session, ctx.actor.person_id)
    row, marked = await service.check_out(ctx.session, person_id=ctx.actor.person_id, now=ctx.now)
    if row is None:
        await ctx.reply(ctx.t("checkin.checkout.none"))
        return
    assert row.checked_out_at is not None
    key = "checkin.checkout.done" if marked else "checkin.checkout.already"
    await ctx.reply(ctx.t(key, time=local_time(row.checked_out_at, unit)))


# ---------------------------------------------------------------------------------------


def _mode(value: str) -> Mode | None:
    try:
        return Mode(value)
    except ValueError:
        return None


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
