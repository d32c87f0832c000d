"""`congvu org import|export` and `congvu audit`.

Import validates the whole file before it opens the database: a file with errors prints
every one of them (one per line, with its line or row) and exits 1 having changed nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from bot.cli.common import CommandError, parse_moment, read_input_file, write_output_file
from bot.clock import SystemClock
from bot.config import load_settings
from bot.services import audit
from bot.services.org.exporter import export_org
from bot.services.org.importer import ImportConflictError, apply_org, detect_format, parse_org
from bot.services.org.spec import FORMATS, Format
from storage.db import Database


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    org = sub.add_parser("org", help="import or export the organisation (units, people, groups)")
    actions = org.add_subparsers(dest="org_command", metavar="ACTION")
    actions.required = True

    load = actions.add_parser(
        "import", help="load units and people from YAML, CSV or XLSX (validated first)"
    )
    load.add_argument("file", help="organisation file: .yaml, .csv or .xlsx")
    load.add_argument("--format", choices=FORMATS, help="override the format the name implies")
    load.add_argument(
        "--dry-run", action="store_true", help="validate and show what would change; save nothing"
    )
    load.add_argument(
        "--deactivate-missing",
        action="store_true",
        help="mark people who are not in the file inactive (never deleted)",
    )
    load.set_defaults(func=_import)

    dump = actions.add_parser("export", help="write the organisation in an importable format")
    dump.add_argument("--format", choices=FORMATS, help="yaml (default), csv or xlsx")
    dump.add_argument("--out", help="file to write (default: standard output)")
    dump.set_defaults(func=_export)

    log = sub.add_parser("audit", help="print the audit log of changes")
    log.add_argument(
        "--since",
        required=True,
        type=_local_moment,
        help="YYYY-MM-DD or YYYY-MM-DDTHH:MM, in the configured time zone",
    )
    log.add_argument("--until", type=_local_moment, help="same form; default: now")
    log.add_argument("--action", help="only actions starting with this, e.g. org.import")
    log.set_defaults(func=_audit)


def _local_moment(text: str) -> datetime:
    """A naive local moment; the zone is attached once the settings are loaded."""
    moment = parse_moment(text)
    if moment.tzinfo is not None:
        raise argparse.ArgumentTypeError(f"{text!r}: give a local time without a zone")
    return moment


async def _import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    data = await read_input_file(path)
    try:
        fmt: Format = args.format or detect_format(path.name)
    except ValueError as exc:
        raise CommandError(f"{exc} (or pass --format)") from None
    spec = parse_org(data, fmt)
    if isinstance(spec, list):
        noun = "error" if len(spec) == 1 else "errors"
        print(f"{path}: {len(spec)} {noun}; nothing was imported", file=sys.stderr)
        for error in spec:
            print(f"{path}: {error}", file=sys.stderr)
        return 1
    for warning in spec.warnings:
        print(f"{path}: warning: {warning}", file=sys.stderr)

    settings = load_settings()
    database = Database(settings.resolved_database_url)
    try:
        await database.upgrade()
        async with database.sessions() as session:
            try:
                report = await apply_org(
                    session,
                    spec,
                    now=SystemClock().now(),
                    actor_label=f"import {path.name}",
                    deactivate_missing=args.deactivate_missing,
                )
            except ImportConflictError as exc:
                await session.rollback()
                noun = "conflict" if len(exc.errors) == 1 else "conflicts"
                print(
                    f"{path}: {len(exc.errors)} {noun} with the database; nothing was imported",
                    file=sys.stderr,
                )
                for error in exc.errors:
                    print(f"{path}: {error}", file=sys.stderr)
                return 1
            if args.dry_run:
                await session.rollback()
            else:
                await session.commit()
    finally:
        await database.dispose()
    if args.dry_run:
        print("dry run, nothing saved. The import would make these changes:")
    print(report.summary())
    return 0


async def _export(args: argparse.Namespace) -> int:
    fmt: Format
    if args.format:
        fmt = args.format
    elif args.out:
        try:
            fmt = detect_format(args.out)
        except ValueError as exc:
            raise CommandError(f"{exc} (or pass --format)") from None
    else:
        fmt = "yaml"
    if fmt == "xlsx" and not args.out:
        raise CommandError("an XLSX export needs --out FILE.xlsx")
    settings = load_settings()
    database = Database(settings.resolved_database_url)
    try:
        await database.upgrade()
        async with database.transaction() as session:
            data = await export_org(session, fmt)
    finally:
        await database.dispose()
    if args.out:
        write_output_file(Path(args.out), data)
        print(f"wrote {args.out} ({fmt})", file=sys.stderr)
    else:
        sys.stdout.write(data.decode("utf-8-sig"))
    return 0


def _compact(values: dict[str, Any] | None) -> str:
    return "–" if values is None else json.dumps(values, ensure_ascii=False, sort_keys=True)


async def _audit(args: argparse.Namespace) -> int:
    settings = load_settings()
    zone = settings.zone
    since = cast(datetime, args.since).replace(tzinfo=zone)
    until = args.until.replace(tzinfo=zone) if args.until else None
    database = Database(settings.resolved_database_url)
    try:
        await database.upgrade()
        async with database.transaction() as session:
            entries = await audit.since(session, since)
    finally:
        await database.dispose()
    shown = 0
    for entry in entries:
        if until is not None and entry.at > until:
            continue
        if args.action and not entry.action.startswith(args.action):
            continue
        when = entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        who = entry.actor_label or (f"#{entry.actor_id}" if entry.actor_id else "system")
        what = f"{entry.entity}#{entry.entity_id}" if entry.entity_id else entry.entity
        line = f"{when}  {who}  {entry.action}  {what}  {_compact(entry.before)} → "
        line += _compact(entry.after)
        if entry.note:
            line += f"  ({entry.note})"
        print(line)
        shown += 1
    print(f"{shown} entries since {since:%Y-%m-%d %H:%M} ({settings.timezone})", file=sys.stderr)
    return 0
