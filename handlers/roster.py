"""/roster (/tinhhinh) and /rotation (/luanphien): the unit's day for its leaders.

/roster shows a day's counts against the office quota, who has not checked in, who was
late, who is on leave, and the next working day's forecast; ``/roster group`` posts the
counts (nobody named) to the unit's working group. /rotation sets an A/B (or N-team)
rotation and per-day plans, and shows what each person is expected to do.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.core.context import Ctx
from bot.core.errors import Denied, InvalidInput
from bot.core.events import OutMessage
from bot.core.router import PRIVATE, Router
from bot.services.access import Permission
from bot.services.attendance import service
from bot.services.attendance.modes import Mode, parse_mode
from bot.services.attendance.rotation import Cycle, RotationError
from bot.services.attendance.text import fold
from bot.services.attendance.unitconfig import RotationConfig
from bot.services.org import directory
from handlers.checkin import day_text, mode_button_label, mode_label, reason_text, short_day
from storage.models import Person, Unit
from storage.repositories import attendance as attendance_repo

router = Router("roster")

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DATE_TOKEN = re.compile(
    r"(?<![\w/.-])(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?)(?![\w/])"
)
_RELATIVE = {
    "today": 0,
    "hom nay": 0,
    "homnay": 0,
    "tomorrow": 1,
    "mai": 1,
    "ngay mai": 1,
    "ngaymai": 1,
    "yesterday": -1,
    "hom qua": -1,
    "homqua": -1,
}
_GROUP_WORDS = frozenset({"group", "nhom", "gui nhom", "post"})


def parse_day(text: str, today: date) -> date | None:
    """A day as people write it: 14/04, 14/4/2020, 2020-04-14, today/hôm nay, mai, hôm qua.

    A day and month without a year is in ``today``'s year.
    """
    raw = text.strip()
    if m := _ISO.match(raw):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _DMY.match(raw):
        day, month = int(m[1]), int(m[2])
        year = today.year if m[3] is None else int(m[3])
        if year < 100:
            year += 2000
    else:
        shift = _RELATIVE.get(fold(raw))
        return None if shift is None else today + timedelta(days=shift)
    try:
        return date(year, month, day)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------
# /roster


@dataclass(frozen=True)
class RosterRequest:
    day: date
    to_group: bool


def parse_roster_args(args: str, today: date) -> RosterRequest:
    to_group = False
    day = today
    words = args.split()
    rest: list[str] = []
    for word in words:
        if fold(word) in _GROUP_WORDS:
            to_group = True
        else:
            rest.append(word)
    if rest:
        parsed = parse_day(" ".join(rest), today)
        if parsed is None:
            raise InvalidInput("roster.bad_date", text=html.escape(" ".join(rest)[:40]))
        day = parsed
    return RosterRequest(day, to_group)


def _names(view: service.RosterView, ids: Sequence[str]) -> str:
    return ", ".join(html.escape(view.names.get(pid, pid)) for pid in ids)


def render_roster(ctx: Ctx, view: service.RosterView, lang: str, *, named: bool) -> str:
    """The roster in ``lang``; ``named=False`` for a group: counts only, nobody named."""

    def t(key: str, **params: object) -> str:
        return ctx.t_in(lang, key, **params)

    roster = view.roster
    lines = [
        t("roster.title", unit=html.escape(view.unit.name), day=day_text(roster.day, lang)),
    ]
    if not roster.working_day:
        lines.append(
            t(
                "roster.non_working",
                reason=reason_text(
                    t, lang, roster.non_working_reason, roster.day, ctx.app.holidays
                ),
            )
        )
    lines.append(
        t(
            "roster.office",
            taken=roster.at_office,
            capacity=roster.capacity,
            headcount=roster.headcount,
        )
    )
    if roster.over_capacity:
        lines.append(t("roster.over_capacity", over=roster.at_office - roster.capacity))
    lines.append(
        t(
            "roster.counts",
            home=roster.counts[Mode.HOME],
            leave=roster.counts[Mode.LEAVE],
            field_trip=roster.counts[Mode.FIELD_TRIP],
        )
    )
    if roster.working_day:
        lines.append(
            t(
                "roster.missing_late",
                missing=len(roster.not_checked_in),
                late=len(roster.late),
                cutoff=view.checkin_by,
            )
        )
    if named:
        lines.append("")
        if roster.people_by_mode[Mode.OFFICE]:
            office = [
                html.escape(view.names.get(pid, pid))
                + (t("roster.on_duty_mark") if pid in view.on_duty else "")
                for pid in roster.people_by_mode[Mode.OFFICE]
            ]
            lines.append(t("roster.list.office", names=", ".join(office)))
        if roster.not_checked_in:
            lines.append(t("roster.list.missing", names=_names(view, roster.not_checked_in)))
        if roster.late:
            lines.append(t("roster.list.late", names=_names(view, roster.late)))
        if roster.on_leave:
            lines.append(t("roster.list.leave", names=_names(view, roster.on_leave)))
        if roster.people_by_mode[Mode.FIELD_TRIP]:
            lines.append(
                t(
                    "roster.list.field_trip",
                    names=_names(view, roster.people_by_mode[Mode.FIELD_TRIP]),
                )
            )
        if roster.by_exception:
            lines.append(t("roster.list.exception", names=_names(view, roster.by_exception)))
        if roster.office_off_rotation:
            lines.append(
                t("roster.list.off_rotation", names=_names(view, roster.office_off_rotation))
            )
    forecast = roster.forecast
    if forecast is not None:
        lines.append("")
        if not forecast.expected:
            lines.append(t("roster.forecast_none", day=day_text(forecast.day, lang)))
        else:
            key = "roster.forecast_named" if named and forecast.office else "roster.forecast"
            lines.append(
                t(
                    key,
                    day=day_text(forecast.day, lang),
                    taken=len(forecast.office),
                    capacity=forecast.capacity,
                    names=_names(view, forecast.office),
                )
            )
            if forecast.over_capacity:
                lines.append(t("roster.forecast_over"))
    return "\n".join(lines)


async def _leader_unit(ctx: Ctx) -> Unit:
    if ctx.actor.unit_id is None:
        raise InvalidInput("roster.no_unit")
    unit = await ctx.session.get(Unit, ctx.actor.unit_id)
    if unit is None:
        raise InvalidInput("roster.no_unit")
    return unit


@router.command("roster", "tinhhinh", permission=Permission.VIEW_UNIT, description="cmd.roster")
async def roster(ctx: Ctx) -> None:
    unit = await _leader_unit(ctx)
    if ctx.in_group:
        # In a unit's group, that unit's counts — if the leader may see them.
        bound = await directory.unit_of_chat(ctx.session, ctx.chat.channel, ctx.chat.chat_id)
        if bound is not None and bound.id != unit.id:
            if not await service.may_decide_for(ctx.session, ctx.actor, bound.id):
                raise Denied("access.denied.not_your_unit")
            unit = bound
    request = parse_roster_args(ctx.incoming.args, service.local_day(unit, ctx.now))
    view = await service.roster_of(ctx.session, unit, request.day, ctx.app.holidays)
    group_lang = ctx.app.settings.default_language
    if ctx.in_group:
        # Names never go to a group: the counts are the unit's business, the people are not.
        await ctx.reply(render_roster(ctx, view, ctx.lang, named=False))
        return
    if request.to_group:
        group = await directory.unit_group(ctx.session, unit.id)
        if group is None:
            raise InvalidInput("roster.no_group")
        await ctx.send(group, OutMessage(render_roster(ctx, view, group_lang, named=False)))
        await ctx.reply(ctx.t("roster.posted", group=html.escape(group.title or "")))
        return
    await ctx.reply(render_roster(ctx, view, ctx.lang, named=True))


# ---------------------------------------------------------------------------------------
# /rotation


_OFF_WORDS = frozenset({"off", "tat", "huy", "xoa", "stop", "clear"})
_PLAN_WORDS = frozenset({"plan", "kehoach", "ke hoach"})
# The unit's own calendar: folded leading words → True for a working day, False for a day off.
_CALENDAR_WORDS = {
    "dayoff": False,
    "day off": False,
    "ngay nghi": False,
    "ngaynghi": False,
    "nghi": False,
    "workday": True,
    "working day": True,
    "ngay lam viec": True,
    "lam viec": True,
    "lamviec": True,
    "lam bu": True,
    "lambu": True,
}
_REMOVE_WORDS = frozenset({"xoa", "bo", "remove", "clear", "huy"})
_BY_TEAM_WORDS = frozenset({"teams", "team", "nhom", "theo nhom", "by team"})
_CLEAR_PLAN_WORDS = frozenset({"clear", "xoa", "huy", "none"})
_CYCLE_WORDS = {
    "day": Cycle.DAY,
    "daily": Cycle.DAY,
    "ngay": Cycle.DAY,
    "theo ngay": Cycle.DAY,
    "hang ngay": Cycle.DAY,
    "week": Cycle.WEEK,
    "weekly": Cycle.WEEK,
    "tuan": Cycle.WEEK,
    "theo tuan": Cycle.WEEK,
    "hang tuan": Cycle.WEEK,
}
# Words around an anchor date that carry no meaning of their own ("từ ngày 13/4").
_FILLER = ("tu ngay", "bat dau tu", "bat dau", "starting", "from", "since", "start", "tu")
_MENTION = re.compile(r"@([A-Za-z0-9_]{3,32})")
MAX_TEAM_NAME = 16


@dataclass(frozen=True)
class TeamsCommand:
    """``/rotation A: @an @binh; B: @cuong [week] [from 13/04]``; teams None = by Person.team."""

    teams: tuple[tuple[str, tuple[str, ...]], ...] | None
    cycle: Cycle
    anchor: date | None


@dataclass(frozen=True)
class PlanCommand:
    """``/rotation plan 16/04 office @an @binh`` (mode None: remove those plans)."""

    day: date
    mode: Mode | None
    usernames: tuple[str, ...]


@dataclass(frozen=True)
class CalendarCommand:
    """``/rotation dayoff 02/05`` or ``/rotation workday 09/05`` (``remove``: take them out)."""

    working: bool
    days: tuple[date, ...]
    remove: bool


@dataclass(frozen=True)
class OffCommand:
    pass


@dataclass(frozen=True)
class ShowCommand:
    pass


RotationCommand = TeamsCommand | PlanCommand | CalendarCommand | OffCommand | ShowCommand


def _options(text: str, today: date) -> tuple[Cycle | None, date | None]:
    """The cycle word and the anchor date among the words outside the teams."""
    anchor: date | None = None
    for token in _DATE_TOKEN.findall(text):
        parsed = parse_day(token, today)
        if parsed is None:
            raise InvalidInput("rotation.bad_date", text=html.escape(token))
        if anchor is not None and parsed != anchor:
            raise InvalidInput("rotation.two_dates")
        anchor = parsed
    words = " " + fold(_DATE_TOKEN.sub(" ", text)) + " "
    for filler in _FILLER:
        words = words.replace(f" {filler} ", " ")
    cycle: Cycle | None = None
    rest = words.split()
    # Two-word cycle phrases first ("theo tuần"), then single words.
    joined = " ".join(rest)
    for phrase, value in sorted(_CYCLE_WORDS.items(), key=lambda kv: -len(kv[0])):
        if f" {phrase} " in f" {joined} ":
            if cycle is not None and cycle is not value:
                raise InvalidInput("rotation.two_cycles")
            cycle = value
            joined = f" {joined} ".replace(f" {phrase} ", " ").strip()
    if joined.strip():
        raise InvalidInput("rotation.unknown_words", text=html.escape(joined.strip()[:40]))
    return cycle, anchor


def parse_rotation_args(args: str, today: date) -> RotationCommand:
    text = args.strip()
    if not text:
        return ShowCommand()
    folded = fold(text)
    if folded in _OFF_WORDS:
        return OffCommand()
    head = folded.split(" ", 1)[0]
    if head in _PLAN_WORDS or folded.startswith("ke hoach"):
        return _parse_plan(text, today)
    for words, working in sorted(_CALENDAR_WORDS.items(), key=lambda kv: -len(kv[0])):
        if (folded == words or folded.startswith(words + " ")) and ":" not in text:
            return _parse_calendar(text, working, today)
    for words in sorted(_BY_TEAM_WORDS, key=len, reverse=True):
        # "Nhóm A: @an_nv; Nhóm B: …" names teams; only "nhóm [tuần] [từ …]" means by team.
        if ":" not in text and (folded == words or folded.startswith(words + " ")):
            rest = text.split(None, len(words.split()))
            remainder = rest[-1] if len(rest) > len(words.split()) else ""
            cycle, anchor = _options(remainder, today)
            return TeamsCommand(None, cycle or Cycle.DAY, anchor)
    if ":" not in text:
        raise InvalidInput("rotation.usage")
    teams: list[tuple[str, tuple[str, ...]]] = []
    options: list[str] = []
    for segment in text.split(";"):
        if not segment.strip():
            continue
        if ":" not in segment:
            options.append(segment)
            continue
        name, _, members = segment.partition(":")
        name = name.strip()
        if not name or len(name) > MAX_TEAM_NAME or "@" in name:
            raise InvalidInput("rotation.bad_team", text=html.escape(name[:40]))
        usernames = tuple(m.lower() for m in _MENTION.findall(members))
        if not usernames:
            raise InvalidInput("rotation.empty_team", team=html.escape(name))
        teams.append((name, usernames))
        options.append(_MENTION.sub(" ", members))
    cycle, anchor = _options(" ".join(options), today)
    return TeamsCommand(tuple(teams), cycle or Cycle.DAY, anchor)


def _parse_calendar(text: str, working: bool, today: date) -> CalendarCommand:
    days: list[date] = []
    for token in _DATE_TOKEN.findall(text):
        parsed = parse_day(token, today)
        if parsed is None:
            raise InvalidInput("rotation.bad_date", text=html.escape(token))
        days.append(parsed)
    rest = fold(_DATE_TOKEN.sub(" ", text)).split()
    remove = bool(set(rest) & _REMOVE_WORDS)
    if not days:
        raise InvalidInput("rotation.calendar_usage")
    return CalendarCommand(working, tuple(dict.fromkeys(days)), remove)


def _parse_plan(text: str, today: date) -> PlanCommand:
    words = text.split()
    # "ke hoach" is two words, "plan"/"kehoach" one.
    skip = 2 if fold(" ".join(words[:2])) == "ke hoach" else 1
    words = words[skip:]
    if not words:
        raise InvalidInput("rotation.plan_usage")
    day = parse_day(words[0], today)
    if day is None:
        raise InvalidInput("rotation.bad_date", text=html.escape(words[0][:20]))
    usernames = tuple(m.lower() for m in _MENTION.findall(" ".join(words[1:])))
    mode_text = _MENTION.sub(" ", " ".join(words[1:])).strip()
    if fold(mode_text) in _CLEAR_PLAN_WORDS:
        return PlanCommand(day, None, usernames)
    mode = parse_mode(mode_text)
    if mode is None or not usernames:
        raise InvalidInput("rotation.plan_usage")
    return PlanCommand(day, mode, usernames)


async def _people_by_username(ctx: Ctx, unit: Unit, usernames: Sequence[str]) -> dict[str, Person]:
    found: dict[str, Person] = {}
    unknown: list[str] = []
    for username in usernames:
        person = await directory.person_by_username(ctx.session, ctx.incoming.channel, username)
        if person is None or person.unit_id != unit.id:
            unknown.append("@" + username)
        else:
            found[username] = person
    if unknown:
        raise InvalidInput("rotation.unknown_people", names=html.escape(", ".join(unknown)))
    return found


def _issue_text(ctx: Ctx, code: str, subject: str, detail: str, names: dict[str, str]) -> str:
    return ctx.t(
        f"rotation.issue.{code}",
        subject=html.escape(names.get(subject, subject)),
        detail=html.escape(detail),
    )


@router.command(
    "rotation",
    "luanphien",
    permission=Permission.MANAGE_UNIT,
    description="cmd.rotation",
    chats=PRIVATE,
)
async def rotation(ctx: Ctx) -> None:
    unit = await _leader_unit(ctx)
    today = service.local_day(unit, ctx.now)
    command = parse_rotation_args(ctx.incoming.args, today)
    if isinstance(command, ShowCommand):
        await ctx.reply(await render_rotation(ctx, unit, today) + "\n\n" + ctx.t("rotation.usage"))
        return
    if isinstance(command, OffCommand):
        cleared = await service.clear_rotation(ctx.session, actor=ctx.actor, unit=unit, now=ctx.now)
        await ctx.reply(ctx.t("rotation.cleared" if cleared else "rotation.none"))
        return
    if isinstance(command, CalendarCommand):
        await service.set_calendar_days(
            ctx.session,
            actor=ctx.actor,
            unit=unit,
            working=command.working,
            days=command.days,
            remove=command.remove,
            now=ctx.now,
        )
        kind = "working" if command.working else "off"
        action = "removed" if command.remove else "added"
        await ctx.reply(
            ctx.t(
                f"rotation.calendar.{kind}_{action}",
                days=", ".join(short_day(d) for d in command.days),
            )
            + "\n\n"
            + await render_rotation(ctx, unit, today)
        )
        return
    if isinstance(command, PlanCommand):
        people = await _people_by_username(ctx, unit, command.usernames)
        await service.set_day_plan(
            ctx.session,
            actor=ctx.actor,
            unit=unit,
            day=command.day,
            mode=command.mode,
            person_ids=[p.id for p in people.values()],
            now=ctx.now,
        )
        key = "rotation.plan_set" if command.mode else "rotation.plan_cleared"
        await ctx.reply(
            ctx.t(
                key,
                day=day_text(command.day, ctx.lang),
                mode=mode_label(ctx.t, command.mode) if command.mode else "",
                names=html.escape(", ".join(p.full_name for p in people.values()))
                or ctx.t("rotation.plan_everyone"),
            )
            + "\n\n"
            + await render_rotation(ctx, unit, command.day)
        )
        return
    teams: list[tuple[str, list[int]]] | None = None
    if command.teams is not None:
        usernames = [u for _, members in command.teams for u in members]
        people = await _people_by_username(ctx, unit, usernames)
        teams = [(name, [people[u].id for u in members]) for name, members in command.teams]
    anchor = command.anchor or today
    config = RotationConfig(anchor, command.cycle)
    try:
        change = await service.set_rotation(
            ctx.session, actor=ctx.actor, unit=unit, config=config, teams=teams, now=ctx.now
        )
    except RotationError as error:
        names = {str(p.id): p.full_name for p in await _unit_people(ctx, unit)}
        problems = "\n".join(
            "• " + _issue_text(ctx, i.code.value, i.subject, i.detail, names) for i in error.issues
        )
        raise InvalidInput("rotation.invalid", problems=problems) from None
    names = {str(p.id): p.full_name for p in await _unit_people(ctx, unit)}
    lines = [ctx.t("rotation.saved")]
    for issue in change.warnings:
        lines.append("⚠️ " + _issue_text(ctx, issue.code.value, issue.subject, issue.detail, names))
    lines.append("")
    lines.append(await render_rotation(ctx, unit, today))
    await ctx.reply("\n".join(lines))


async def _unit_people(ctx: Ctx, unit: Unit) -> list[Person]:
    return await attendance_repo.unit_people(ctx.session, unit.id)


async def render_rotation(ctx: Ctx, unit: Unit, day: date) -> str:
    """The rotation, and each person's expected mode on ``day`` and the next working day."""
    state = await service.load_unit_day(ctx.session, unit, day, ctx.app.holidays)
    config = service.current_rotation(unit)
    lines = [ctx.t("rotation.title", unit=html.escape(unit.name))]
    if config is None:
        lines.append(ctx.t("rotation.none"))
    else:
        lines.append(
            ctx.t(
                f"rotation.cycle.{config.cycle.value}",
                anchor=day_text(config.anchor, ctx.lang),
            )
        )
        rotation = state.rules.rotation
        for team in rotation.teams if rotation else ():
            members = ", ".join(html.escape(state.names.get(pid, pid)) for pid in team.members)
            lines.append(ctx.t("rotation.team", team=html.escape(team.name), names=members))
    own = service.calendar_days(unit, day)
    if own.days_off:
        lines.append(ctx.t("rotation.days_off", days=", ".join(short_day(d) for d in own.days_off)))
    if own.working_days:
        lines.append(
            ctx.t("rotation.working_days", days=", ".join(short_day(d) for d in own.working_days))
        )
    following = state.rules.calendar.next_working_day(day)
    lines.append("")
    lines.append(
        ctx.t(
            "rotation.expected_header",
            day=day_text(day, ctx.lang),
            next=day_text(following, ctx.lang),
        )
    )
    for person in state.people:
        today_mode = state.expected(person.id)
        next_mode = state.expected(person.id, following)
        lines.append(
            ctx.t(
                "rotation.expected_line",
                name=html.escape(person.full_name),
                today=mode_button_label(ctx.t, today_mode) if today_mode else "—",
                next=mode_button_label(ctx.t, next_mode) if next_mode else "—",
            )
        )
    if not state.rules.calendar.is_working_day(day):
        lines.append(
            ctx.t(
                "roster.non_working",
                reason=reason_text(
                    ctx.t, ctx.lang, state.rules.calendar.reason(day), day, ctx.app.holidays
                ),
            )
        )
    lines.append(ctx.t("rotation.capacity", capacity=state.capacity(), headcount=len(state.people)))
    return "\n".join(lines)


__all__ = ["parse_day", "parse_roster_args", "parse_rotation_args", "router"]
