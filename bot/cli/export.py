"""`congvu export evaluation --unit CODE --from YYYY-MM-DD --to YYYY-MM-DD --out FILE`.

The evaluation of a unit and its sub-units for a period, as XLSX (a sheet per person row and
a summary sheet per unit) or CSV (the per-person table, plus ``<name>-units.csv``). The
numbers are the ones `/summary` shows: both read bot.services.reports.metrics.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from pathlib import Path

from bot.cli.common import CommandError, write_output_file
from bot.clock import SystemClock
from bot.config import load_settings
from bot.core.i18n import LANGUAGES, Translator
from bot.services.org import directory
from bot.services.reports import export
from bot.services.reports.metrics import Metrics, collect
from bot.services.reports.periods import MAX_PERIOD_DAYS, Period, PeriodError, PeriodProblem
from storage.db import Database
from storage.repositories import reports as repo

FORMATS = (".xlsx", ".csv")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("export", help="export reports and evaluations")
    kinds = parser.add_subparsers(dest="export_kind", metavar="WHAT")
    kinds.required = True
    evaluation = kinds.add_parser(
        "evaluation", help="per-person evaluation of a unit and its sub-units for a period"
    )
    evaluation.add_argument("--unit", required=True, metavar="CODE", help="the unit's code")
    evaluation.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
    evaluation.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD")
    evaluation.add_argument("--out", required=True, metavar="FILE.xlsx|FILE.csv")
    evaluation.add_argument("--lang", choices=LANGUAGES, default="vi", help="header language")
    evaluation.set_defaults(func=_evaluation)


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(f"{option} {value!r}: expected a date as YYYY-MM-DD") from None


def _period(args: argparse.Namespace) -> Period:
    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    try:
        return Period(start, end)
    except PeriodError as exc:
        if exc.code is PeriodProblem.BACKWARDS:
            raise CommandError(f"--from {start} is after --to {end}") from None
        raise CommandError(
            f"{start} to {end} is over {MAX_PERIOD_DAYS} days; export at most a year at a time"
        ) from None


async def _collect(code: str, period: Period) -> Metrics:
    settings = load_settings()
    database = Database(settings.resolved_database_url)
    try:
        await database.upgrade()
        async with database.transaction() as session:
            unit = await repo.unit_by_code(session, code)
            if unit is None:
                raise CommandError(f"--unit {code!r}: no unit with this code")
            unit_ids = await directory.unit_and_descendants(session, unit.id)
            return await collect(session, unit_ids, period, SystemClock().now())
    finally:
        await database.dispose()


def _evaluation(args: argparse.Namespace) -> int:
    period = _period(args)
    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise CommandError(f"--out {out}: the file must end in .xlsx or .csv")
    if not out.parent.exists():
        raise CommandError(f"--out {out}: folder {out.parent} does not exist")
    # The database part is async; writing the file is plain blocking work done afterwards.
    metrics = asyncio.run(_collect(args.unit, period))
    translator = Translator.load()

    def label(key: str) -> str:
        return translator.gettext(args.lang, key)

    if out.suffix.lower() == ".xlsx":
        files = {out: export.build_xlsx(metrics, label, generated_at=metrics.now)}
    else:
        files = {
            out: export.build_csv(metrics, label),
            out.with_name(f"{out.stem}-units.csv"): export.build_units_csv(metrics, label),
        }
    for path, data in files.items():
        write_output_file(path, data)
    written = list(files)
    names = ", ".join(str(p) for p in written)
    print(f"wrote {names}: {len(metrics.people)} people in {len(metrics.units)} unit(s)")
    return 0
