"""/summary (/tonghop) and /export (/xuat): the leader's view of their units' numbers.

Both read :mod:`bot.services.reports.metrics`, the same numbers the CLI export writes.

- ``/tonghop`` — today; ``/tonghop 14/4``, ``/tonghop 13/4-17/4``, ``/tonghop tuan`` (the
  week, with PNG charts), ``thang``, ``quy``, ``nam``; a unit code picks a sub-unit.
- ``/xuat [kỳ] [mã đơn vị]`` — the evaluation workbook (XLSX) for the period (default:
  this month so far).

Private chats only: the summary names people, and the unit group must only see counts.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.context import Ctx
from bot.core.errors import Denied, InvalidInput
from bot.core.events import OutDocument
from bot.core.router import PRIVATE, Router
from bot.services import access
from bot.services.access import Permission
from bot.services.org import directory
from bot.services.reports import charts, export
from bot.services.reports.metrics import Metrics, PersonMetrics, UnitMetrics, collect
from bot.services.reports.periods import Period, PeriodError, parse_period
from handlers.reports import chunks, day_text, schedule_of
from storage.models import Unit
from storage.repositories import reports as repo

router = Router("summary")

# Charts for a period of a few days to a month; a quarter of daily bars is unreadable.
MAX_CHART_DAYS = 31


@dataclass(frozen=True)
class Scope:
    unit: Unit
    unit_ids: list[int]
    period: Period


async def resolve_scope(ctx: Ctx, default: str) -> Scope:
    """The unit (the leader's own, or one named by code that they may see) and the period."""
    own = await ctx.session.get(Unit, ctx.actor.unit_id) if ctx.actor.unit_id else None
    today = schedule_of(own).local_date(ctx.now) if own else ctx.now.date()
    try:
        parsed = parse_period(ctx.incoming.args, today, default=default)
    except PeriodError as exc:
        raise InvalidInput(f"report.period.{exc.code.value}") from exc
    unit = own
    if parsed.rest:
        code = parsed.rest[0]
        unit = await repo.unit_by_code(ctx.session, code)
        if unit is None:
            raise InvalidInput("summary.unknown_unit", code=html.escape(code))
        ancestors = await directory.ancestors(ctx.session, unit.id)
        if not access.can_see_unit(ctx.actor, unit.id, ancestors):
            raise Denied("access.denied.not_your_unit")
    if unit is None:
        raise InvalidInput("summary.unit_needed")
    unit_ids = await directory.unit_and_descendants(ctx.session, unit.id)
    return Scope(unit, unit_ids, parsed.period)


def period_text(period: Period, lang: str) -> str:
    if period.single_day:
        return day_text(period.start, lang)
    return f"{period.start:%d/%m/%Y} – {period.end:%d/%m/%Y}"


def _names(people: Sequence[PersonMetrics]) -> str:
    return html.escape(", ".join(p.name for p in people))


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def day_lines(ctx: Ctx, unit: UnitMetrics) -> list[str]:
    """One unit on one day: the roster against the quota, reports, tasks per person."""
    people = unit.people
    lines = [ctx.t("summary.unit", name=html.escape(unit.name), n=unit.headcount)]
    if not unit.days or not unit.days[0].working_day:
        lines.append(ctx.t("summary.non_working"))
    counts = unit.checkins
    capacity = "—" if unit.capacity is None else str(unit.capacity)
    lines.append(
        ctx.t(
            "summary.modes",
            office=counts["office"],
            capacity=capacity,
            home=counts["home"],
            field_trip=counts["field_trip"],
            leave=counts["leave"],
        )
    )
    if unit.capacity is not None and counts["office"] > unit.capacity:
        lines.append(ctx.t("summary.over_quota", n=counts["office"] - unit.capacity))
    missed = [p for p in people if p.missed_checkin_days]
    if missed:
        lines.append(ctx.t("summary.no_checkin", n=len(missed), names=_names(missed)))
    late = [p for p in people if p.late_checkins]
    if late:
        lines.append(ctx.t("summary.late", n=len(late), names=_names(late)))
    expected = unit.total("reports_expected")
    submitted = sum(1 for p in people if p.reports_submitted)
    missing = [p for p in people if p.missing_report_days]
    lines.append(ctx.t("summary.reports", submitted=submitted, expected=expected))
    if missing:
        lines.append(ctx.t("summary.reports_missing", n=len(missing), names=_names(missing)))
    blockers = [p for p in people if p.blocker_reports]
    if blockers:
        lines.append(ctx.t("summary.blockers", names=_names(blockers)))
    lines.extend(task_lines(ctx, people))
    return lines


def task_lines(ctx: Ctx, people: Sequence[PersonMetrics]) -> list[str]:
    busy = [p for p in people if p.tasks_done or p.tasks_overdue]
    if not busy:
        return [ctx.t("summary.tasks_none")]
    lines = [ctx.t("summary.tasks")]
    for p in busy:
        lines.append(
            ctx.t(
                "summary.task_person",
                name=html.escape(p.name),
                done=p.tasks_done,
                on_time=p.tasks_done_on_time,
                overdue=p.tasks_overdue,
            )
        )
    return lines


def range_lines(ctx: Ctx, unit: UnitMetrics) -> list[str]:
    lines = [ctx.t("summary.unit", name=html.escape(unit.name), n=unit.headcount)]
    office_days = unit.office_days
    average = sum(d.at_office for d in office_days) / len(office_days) if office_days else 0.0
    lines.append(ctx.t("summary.working_days", n=unit.working_days))
    lines.append(
        ctx.t(
            "summary.office_range",
            average=f"{average:.1f}",
            max=unit.max_at_office,
            capacity="—" if unit.capacity is None else str(unit.capacity),
            over=unit.days_over_capacity,
        )
    )
    lines.append(
        ctx.t(
            "summary.reports_range",
            submitted=unit.total("reports_submitted"),
            expected=unit.total("reports_expected"),
            missing=unit.total("reports_missing"),
            rate=_percent(unit.report_rate),
        )
    )
    lines.append(
        ctx.t(
            "summary.tasks_range",
            done=unit.total("tasks_done"),
            on_time=unit.total("tasks_done_on_time"),
            overdue=unit.total("tasks_overdue"),
            rate=_percent(unit.on_time_rate),
        )
    )
    lines.append(ctx.t("summary.per_person"))
    for p in unit.people:
        lines.append(
            ctx.t(
                "summary.person_range",
                name=html.escape(p.name),
                submitted=p.reports_submitted,
                expected=p.reports_expected,
                checkins=p.checkin_total,
                office=p.checkins["office"],
                late=p.late_checkins,
                done=p.tasks_done,
                on_time=p.tasks_done_on_time,
                overdue=p.tasks_overdue,
            )
        )
    return lines


def render(ctx: Ctx, metrics: Metrics) -> list[str]:
    lines = [ctx.t("summary.title", period=period_text(metrics.period, ctx.lang))]
    for unit in metrics.units:
        lines.append("")
        lines.extend(day_lines(ctx, unit) if metrics.period.single_day else range_lines(ctx, unit))
    return lines


def chart_texts(ctx: Ctx) -> charts.ChartTexts:
    return charts.ChartTexts(
        office_title=ctx.t("chart.office_title"),
        office_label=ctx.t("chart.office_label"),
        quota_label=ctx.t("chart.quota_label"),
        reports_title=ctx.t("chart.reports_title"),
        reports_expected=ctx.t("chart.reports_expected"),
        reports_submitted=ctx.t("chart.reports_submitted"),
        tasks_title=ctx.t("chart.tasks_title"),
        tasks_on_time=ctx.t("chart.tasks_on_time"),
        tasks_late=ctx.t("chart.tasks_late"),
        people_axis=ctx.t("chart.people_axis"),
        tasks_axis=ctx.t("chart.tasks_axis"),
    )


@router.command(
    "summary", "tonghop", permission=Permission.VIEW_UNIT, description="cmd.summary", chats=PRIVATE
)
async def summary(ctx: Ctx) -> None:
    scope = await resolve_scope(ctx, default="today")
    metrics = await collect(ctx.session, scope.unit_ids, scope.period, ctx.now)
    for text in chunks(render(ctx, metrics)):
        await ctx.reply(text)
    period = scope.period
    if period.single_day or period.days > MAX_CHART_DAYS:
        return
    days = metrics.combined_days()
    if not days:
        await ctx.reply(ctx.t("summary.no_chart_days"))
        return
    stem = f"{scope.unit.code}-{period.start:%Y%m%d}"
    for chart in charts.weekly_charts(days, chart_texts(ctx), stem):
        await ctx.reply("", photo=OutDocument(chart.filename, chart.png, "image/png"))


@router.command(
    "export", "xuat", permission=Permission.VIEW_UNIT, description="cmd.export", chats=PRIVATE
)
async def export_command(ctx: Ctx) -> None:
    scope = await resolve_scope(ctx, default="month")
    metrics = await collect(ctx.session, scope.unit_ids, scope.period, ctx.now)
    content = export.build_xlsx(metrics, ctx.t, generated_at=ctx.now)
    name = export.filename(scope.unit.code, metrics, "xlsx")
    await ctx.reply(
        ctx.t(
            "export.caption",
            unit=html.escape(scope.unit.name),
            period=period_text(scope.period, ctx.lang),
            n=len(metrics.people),
        ),
        document=OutDocument(name, content, export.XLSX_MIME),
    )
