"""The evaluation export: one row per person and a summary row per unit, as XLSX or CSV.

The numbers come from :mod:`bot.services.reports.metrics` unchanged; this module only lays
them out. Headers are message keys translated by the caller's ``label`` function, so the
same code writes Vietnamese (default) and English files.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from bot.services.reports.metrics import Metrics, PersonMetrics, UnitMetrics

Label = Callable[[str], str]
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"
PERCENT = "0%"


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    value: Callable[[Any], Any]
    percent: bool = False


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


PERSON_COLUMNS: tuple[Column, ...] = (
    Column("unit_code", lambda r: r[1].code),
    Column("unit_name", lambda r: r[1].name),
    Column("name", lambda r: r[0].name),
    Column("working_days", lambda r: r[0].working_days),
    Column("checkins_office", lambda r: r[0].checkins["office"]),
    Column("checkins_home", lambda r: r[0].checkins["home"]),
    Column("checkins_field_trip", lambda r: r[0].checkins["field_trip"]),
    Column("checkins_leave", lambda r: r[0].checkins["leave"]),
    Column("late_checkins", lambda r: r[0].late_checkins),
    Column("missed_checkins", lambda r: len(r[0].missed_checkin_days)),
    Column("reports_expected", lambda r: r[0].reports_expected),
    Column("reports_submitted", lambda r: r[0].reports_submitted),
    Column("reports_missing", lambda r: r[0].reports_missing),
    Column("tasks_assigned", lambda r: r[0].tasks_assigned),
    Column("tasks_done", lambda r: r[0].tasks_done),
    Column("tasks_done_on_time", lambda r: r[0].tasks_done_on_time),
    Column("tasks_done_late", lambda r: r[0].tasks_done_late),
    Column("tasks_overdue", lambda r: r[0].tasks_overdue),
    Column("on_time_rate", lambda r: _rate(r[0].on_time_rate), percent=True),
)


def _average_at_office(unit: UnitMetrics) -> float | None:
    days = unit.office_days
    return round(sum(d.at_office for d in days) / len(days), 2) if days else None


UNIT_COLUMNS: tuple[Column, ...] = (
    Column("unit_code", lambda u: u.code),
    Column("unit_name", lambda u: u.name),
    Column("headcount", lambda u: u.headcount),
    Column("office_capacity", lambda u: u.capacity),
    Column("working_days", lambda u: u.working_days),
    Column("average_at_office", _average_at_office),
    Column("max_at_office", lambda u: u.max_at_office),
    Column("days_over_quota", lambda u: u.days_over_capacity),
    Column("checkins_office", lambda u: u.checkins["office"]),
    Column("checkins_home", lambda u: u.checkins["home"]),
    Column("checkins_field_trip", lambda u: u.checkins["field_trip"]),
    Column("checkins_leave", lambda u: u.checkins["leave"]),
    Column("late_checkins", lambda u: u.total("late_checkins")),
    Column("reports_expected", lambda u: u.total("reports_expected")),
    Column("reports_submitted", lambda u: u.total("reports_submitted")),
    Column("reports_missing", lambda u: u.total("reports_missing")),
    Column("report_rate", lambda u: _rate(u.report_rate), percent=True),
    Column("tasks_assigned", lambda u: u.total("tasks_assigned")),
    Column("tasks_done", lambda u: u.total("tasks_done")),
    Column("tasks_done_on_time", lambda u: u.total("tasks_done_on_time")),
    Column("tasks_overdue", lambda u: u.total("tasks_overdue")),
    Column("on_time_rate", lambda u: _rate(u.on_time_rate), percent=True),
)


def person_rows(metrics: Metrics) -> list[tuple[PersonMetrics, UnitMetrics]]:
    return [(p, u) for u in metrics.units for p in u.people]


def headers(columns: Sequence[Column], label: Label) -> list[str]:
    return [label(f"export.col.{c.key}") for c in columns]


def build_xlsx(metrics: Metrics, label: Label, generated_at: datetime) -> bytes:
    """A workbook with the per-person sheet first and the per-unit summary second."""
    book = Workbook()
    people = book.active
    assert people is not None
    people.title = label("export.sheet.people")[:31]
    _table(people, PERSON_COLUMNS, person_rows(metrics), label)

    units = book.create_sheet(label("export.sheet.units")[:31])
    _table(units, UNIT_COLUMNS, list(metrics.units), label)
    # Where the numbers come from, under the table: an evaluation file travels on its own.
    note_row = len(metrics.units) + 3
    units.cell(
        note_row,
        1,
        label("export.period").format(
            start=metrics.period.start.strftime("%d/%m/%Y"),
            end=metrics.period.end.strftime("%d/%m/%Y"),
        ),
    )
    units.cell(note_row + 1, 1, label("export.generated").format(at=generated_at.isoformat()))
    units.cell(note_row + 2, 1, label("export.definitions"))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _table(sheet: Any, columns: Sequence[Column], rows: Sequence[Any], label: Label) -> None:
    sheet.append(headers(columns, label))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        sheet.append([c.value(row) for c in columns])
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        if column.percent:
            for cell in sheet[letter][1:]:
                cell.number_format = PERCENT
        width = 28 if column.key in ("name", "unit_name") else 12
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"


def build_csv(metrics: Metrics, label: Label) -> bytes:
    """The per-person table (CSV has no sheets); UTF-8 with a BOM so Excel shows Vietnamese."""
    return _csv(PERSON_COLUMNS, person_rows(metrics), label)


def build_units_csv(metrics: Metrics, label: Label) -> bytes:
    return _csv(UNIT_COLUMNS, list(metrics.units), label)


def _csv(columns: Sequence[Column], rows: Sequence[Any], label: Label) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers(columns, label))
    for row in rows:
        writer.writerow(["" if v is None else v for v in (c.value(row) for c in columns)])
    return buffer.getvalue().encode("utf-8-sig")


def filename(code: str, metrics: Metrics, extension: str) -> str:
    start, end = metrics.period.start.isoformat(), metrics.period.end.isoformat()
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in code) or "unit"
    return f"danh-gia_{safe}_{start}_{end}.{extension}"
