"""What reminders are due when: per unit, in its time zone, on its working days.

The planner only reads; the engine records and enqueues. Given a window of time it lists
every reminder whose moment falls inside, with its recipient and text, so a dry run and the
real tick share one code path.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.events import ChatKind, ChatRef
from bot.core.i18n import Translator
from bot.scheduler.settings import ReminderSettings
from bot.services.attendance.calendar import WorkCalendar
from bot.services.attendance.service import UnitDay, load_unit_day, unit_values
from bot.services.attendance.unitconfig import calendar_of, timezone_of
from bot.services.org import directory
from bot.services.tasks.format import format_deadline
from storage.models import Identity, Person, Report, Task, Unit

OPEN_TASK_STATUSES = ("assigned", "accepted", "blocked", "returned")
STAFF_ROLES = ("staff", "deputy", "leader")


@dataclass(frozen=True)
class Due:
    kind: str
    target: str
    slot: str
    due_at: datetime
    chat: ChatRef
    text: str
    lang: str = "vi"

    @property
    def key(self) -> str:
        return f"{self.kind}|{self.target}|{self.slot}"


def local_moment(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def deliverable(
    moment: datetime, tz: ZoneInfo, settings: ReminderSettings, calendar: WorkCalendar
) -> datetime:
    """The moment, or the first one after it outside quiet hours on a working day."""
    local = moment.astimezone(tz)
    day = local.date()
    if calendar.is_working_day(day) and not settings.in_quiet_hours(local.time()):
        return moment
    if calendar.is_working_day(day) and local.time() < settings.quiet_end:
        return local_moment(day, settings.quiet_end, tz)
    return local_moment(calendar.next_working_day(day), settings.quiet_end, tz)


def _days(start: datetime, end: datetime, tz: ZoneInfo) -> Iterable[date]:
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


@dataclass
class Recipients:
    """Private chats and languages of the people of one unit, read once."""

    chats: dict[int, ChatRef]
    languages: dict[int, str]


class Planner:
    def __init__(self, i18n: Translator, default_language: str = "vi") -> None:
        self.i18n = i18n
        self.default_language = default_language

    def t(self, lang: str, key: str, **params: object) -> str:
        return self.i18n.gettext(lang, key, **params)

    async def due_between(
        self, session: AsyncSession, start: datetime, end: datetime, unit_code: str | None = None
    ) -> list[Due]:
        query = select(Unit).order_by(Unit.id)
        if unit_code:
            query = query.where(Unit.code == unit_code)
        units = list(await session.scalars(query))
        found: list[Due] = []
        for unit in units:
            found.extend(await self._unit_days(session, unit, start, end))
        found.extend(await self._tasks(session, {u.id: u for u in units}, start, end, unit_code))
        found.sort(key=lambda d: (d.due_at, d.kind, d.target))
        return found

    async def _recipients(self, session: AsyncSession, people: Iterable[Person]) -> Recipients:
        by_id = {p.id: p for p in people}
        if not by_id:
            return Recipients({}, {})
        rows = await session.scalars(
            select(Identity)
            .where(Identity.person_id.in_(by_id), Identity.user_id.is_not(None))
            .order_by(Identity.id)
        )
        chats: dict[int, ChatRef] = {}
        languages: dict[int, str] = {}
        for identity in rows:
            assert identity.person_id is not None and identity.user_id is not None
            if identity.unreachable:
                continue
            chats.setdefault(
                identity.person_id, ChatRef(identity.channel, identity.user_id, ChatKind.PRIVATE)
            )
            person = by_id[identity.person_id]
            languages.setdefault(
                identity.person_id,
                person.language or identity.language or self.default_language,
            )
        return Recipients(chats, languages)

    async def _unit_days(
        self, session: AsyncSession, unit: Unit, start: datetime, end: datetime
    ) -> list[Due]:
        tz = timezone_of(unit.timezone)
        settings = ReminderSettings.of(unit.settings)
        calendar = calendar_of(unit.working_days, unit.settings)
        values = unit_values(unit)
        cutoff = _hhmm(values.checkin_by, time(9, 0))
        report_at = _hhmm(unit.report_at, time(16, 30))
        digest_at = (
            datetime.combine(date(2000, 1, 1), report_at)
            + timedelta(minutes=settings.digest_after_minutes)
        ).time()
        moments = {
            "checkin.morning": settings.morning_at,
            "tasks.digest": settings.morning_at,
            "checkin.nudge": cutoff,
            "checkin.missing": cutoff,
            "report.reminder": report_at,
            "report.digest": digest_at,
            "report.group_counts": digest_at,
        }
        found: list[Due] = []
        for day in _days(start, end, tz):
            if not calendar.is_working_day(day):
                continue
            kinds = [
                kind
                for kind, at in moments.items()
                if settings.enabled(kind) and start <= local_moment(day, at, tz) < end
            ]
            if not kinds:
                continue
            unit_day = await load_unit_day(session, unit, day)
            recipients = await self._recipients(session, unit_day.people)
            reported = set(
                await session.scalars(
                    select(Report.person_id).where(Report.unit_id == unit.id, Report.day == day)
                )
            )
            for kind in kinds:
                due_at = local_moment(day, moments[kind], tz)
                found.extend(
                    await self._unit_kind(
                        session, kind, unit_day, recipients, reported, due_at, settings, tz
                    )
                )
        return found

    async def _unit_kind(
        self,
        session: AsyncSession,
        kind: str,
        unit_day: UnitDay,
        recipients: Recipients,
        reported: set[int],
        due_at: datetime,
        settings: ReminderSettings,
        tz: ZoneInfo,
    ) -> list[Due]:
        day = unit_day.day
        slot = day.isoformat()
        staff = [p for p in unit_day.people if p.role in STAFF_ROLES and p.active]
        on_leave = {pid for pid, row in unit_day.rows.items() if row.mode == "leave"}
        not_checked = [p for p in staff if p.id not in unit_day.rows]
        not_reported = [p for p in staff if p.id not in reported and p.id not in on_leave]
        leader = next((p for p in unit_day.people if p.role == "leader" and p.active), None)
        cutoff = unit_day.rules.cutoff.strftime("%H:%M")
        date_text = day.strftime("%d/%m/%Y")
        out: list[Due] = []

        def personal(person: Person, text_key: str, **params: object) -> None:
            chat = recipients.chats.get(person.id)
            if chat is None:
                return
            lang = recipients.languages[person.id]
            text = self.t(lang, text_key, name=html.escape(person.full_name), **params)
            out.append(Due(kind, f"person:{person.id}", slot, due_at, chat, text, lang))

        if kind == "checkin.morning":
            for person in staff:
                if person.id in on_leave:
                    continue
                expected = unit_day.expected(person.id)
                lang = recipients.languages.get(person.id, self.default_language)
                expected_text = self.t(
                    lang, f"remind.expected.{expected.value if expected else 'none'}"
                )
                personal(
                    person,
                    "remind.checkin.morning",
                    date=date_text,
                    expected=expected_text,
                    cutoff=cutoff,
                )
        elif kind == "checkin.nudge":
            for person in not_checked:
                personal(person, "remind.checkin.nudge", date=date_text, cutoff=cutoff)
        elif kind == "checkin.missing" and leader is not None and not_checked:
            names = ", ".join(html.escape(p.full_name) for p in not_checked)
            personal(
                leader, "remind.checkin.missing", cutoff=cutoff, count=len(not_checked), names=names
            )
        elif kind == "report.reminder":
            for person in not_reported:
                personal(person, "remind.report.reminder", date=date_text)
        elif kind == "tasks.digest":
            for person in staff:
                if person.id in on_leave:
                    continue
                tasks = list(
                    await session.scalars(
                        select(Task)
                        .where(Task.assignee_id == person.id, Task.status.in_(OPEN_TASK_STATUSES))
                        .order_by(Task.deadline.is_(None), Task.deadline, Task.id)
                    )
                )
                if not tasks:
                    continue
                lang = recipients.languages.get(person.id, self.default_language)
                lines = "\n".join(self._task_line(task, tz, lang, due_at) for task in tasks[:15])
                personal(person, "remind.tasks.digest", count=len(tasks), lines=lines)
        elif kind in ("report.digest", "report.group_counts"):
            counts = {mode: 0 for mode in ("office", "home", "leave", "field_trip")}
            for row in unit_day.rows.values():
                counts[row.mode] = counts.get(row.mode, 0) + 1
            overdue = len(
                list(
                    await session.scalars(
                        select(Task.id).where(
                            Task.unit_id == unit_day.unit.id,
                            Task.status.in_(OPEN_TASK_STATUSES),
                            Task.deadline < due_at,
                        )
                    )
                )
            )
            params = {
                "unit": html.escape(unit_day.unit.name),
                "date": date_text,
                "checked": len(unit_day.rows),
                "total": len(staff),
                "office": counts["office"],
                "capacity": unit_day.capacity(),
                "home": counts["home"],
                "leave": counts["leave"],
                "field": counts["field_trip"],
                "reported": len([p for p in staff if p.id in reported]),
                "expected": len([p for p in staff if p.id not in on_leave]),
                "overdue": overdue,
            }
            if kind == "report.digest" and leader is not None:
                unreachable = [p for p in staff if p.unreachable or p.id not in recipients.chats]
                personal(
                    leader,
                    "remind.report.digest",
                    missing=_names(not_checked),
                    unreported=_names(not_reported),
                    unreachable=_names(unreachable),
                    **params,
                )
            elif kind == "report.group_counts" and settings.group_counts:
                group = await directory.unit_group(session, unit_day.unit.id)
                if group is not None:
                    text = self.t(self.default_language, "remind.report.group_counts", **params)
                    unit_target = f"unit:{unit_day.unit.id}"
                    out.append(
                        Due(kind, unit_target, slot, due_at, group, text, self.default_language)
                    )
        return out

    def _task_line(self, task: Task, tz: ZoneInfo, lang: str, now: datetime) -> str:
        deadline = (
            format_deadline(task.deadline, tz, lang)  # type: ignore[arg-type]
            if task.deadline
            else self.t(lang, "remind.no_deadline")
        )
        overdue = task.deadline is not None and task.deadline < now
        key = "remind.task_line_overdue" if overdue else "remind.task_line"
        return self.t(lang, key, id=task.id, text=html.escape(_short(task.text)), deadline=deadline)

    async def _tasks(
        self,
        session: AsyncSession,
        units: dict[int, Unit],
        start: datetime,
        end: datetime,
        unit_code: str | None,
    ) -> list[Due]:
        # Reminders sit between (deadline - longest offset) and (deadline + escalation), and
        # quiet hours may push them up to a few days later: look that far around the window.
        horizon = timedelta(days=4)
        query = select(Task).where(
            Task.status.in_(OPEN_TASK_STATUSES),
            Task.deadline.is_not(None),
            Task.deadline >= start - horizon,
            Task.deadline < end + horizon,
        )
        if unit_code:
            query = query.where(Task.unit_id.in_(units))
        tasks = list(await session.scalars(query.order_by(Task.deadline, Task.id)))
        if not tasks:
            return []
        people = {
            p.id: p
            for p in await session.scalars(
                select(Person).where(
                    Person.id.in_({t.assignee_id for t in tasks} | {t.assigner_id for t in tasks})
                )
            )
        }
        leaders: dict[int, Person] = {}
        for unit_id in {t.unit_id for t in tasks if t.unit_id is not None}:
            leader = await session.scalar(
                select(Person)
                .where(Person.unit_id == unit_id, Person.role == "leader", Person.active)
                .order_by(Person.id)
                .limit(1)
            )
            if leader is not None:
                leaders[unit_id] = leader
        recipients = await self._recipients(session, [*people.values(), *leaders.values()])
        found: list[Due] = []
        for task in tasks:
            unit = units.get(task.unit_id) if task.unit_id is not None else None
            if unit_code and unit is None:
                continue
            tz = timezone_of(unit.timezone if unit else None)
            settings = ReminderSettings.of(unit.settings if unit else None)
            calendar = calendar_of(unit.working_days, unit.settings) if unit else WorkCalendar()
            assert task.deadline is not None
            slot = task.deadline.isoformat()
            plans: list[tuple[str, datetime, int | None, int | None]] = []
            for hours in settings.task_offsets_hours:
                plans.append(
                    ("task.before", task.deadline - timedelta(hours=hours), task.assignee_id, hours)
                )
            plans.append(("task.due", task.deadline, task.assignee_id, None))
            overdue_at = task.deadline + timedelta(minutes=settings.overdue_after_minutes)
            plans.append(("task.overdue", overdue_at, task.assigner_id, None))
            leader = leaders.get(task.unit_id) if task.unit_id is not None else None
            if leader is not None and leader.id != task.assigner_id:
                escalate_at = task.deadline + timedelta(hours=settings.escalate_after_hours)
                plans.append(
                    ("task.escalate", escalate_at, leader.id, settings.escalate_after_hours)
                )
            for kind, moment, person_id, hours in plans:
                if not settings.enabled(kind) or person_id is None:
                    continue
                due_at = deliverable(moment, tz, settings, calendar)
                # A "before" reminder pushed past the deadline by quiet hours says nothing new.
                if kind == "task.before" and due_at >= task.deadline:
                    continue
                if not start <= due_at < end:
                    continue
                chat = recipients.chats.get(person_id)
                if chat is None:
                    continue
                lang = recipients.languages[person_id]
                assignee = people.get(task.assignee_id)
                text = self.t(
                    lang,
                    f"remind.{kind}",
                    id=task.id,
                    text=html.escape(_short(task.text)),
                    deadline=format_deadline(task.deadline, tz, lang),
                    hours=hours or 0,
                    assignee=html.escape(assignee.full_name if assignee else "?"),
                )
                target = f"task:{task.id}" + ("" if kind != "task.before" else f":{hours}h")
                found.append(Due(kind, target, slot, due_at, chat, text, lang))
        return found


def _hhmm(value: str | None, default: time) -> time:
    try:
        hours, minutes = (value or "").split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        return default


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _names(people: list[Person]) -> str:
    return ", ".join(html.escape(p.full_name) for p in people) or "—"
