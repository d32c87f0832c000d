"""`congvu catalog import|export` and `congvu faq match|unanswered`.

Every command works on a fresh database: it brings the schema up to date and, when no
catalogue has been loaded yet, stores the shipped one as the first version (as the bot
does at start-up).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bot.cli.common import CommandError, parse_moment, read_input_file, write_output_file
from bot.clock import SystemClock
from bot.config import load_settings
from bot.services import audit
from bot.services.faq.batch import match_record
from bot.services.faq.catalogue import (
    Format,
    detect_format,
    dump_catalogue,
    parse_catalogue,
)
from bot.services.faq.index import FaqSnapshot
from bot.services.faq.policy import as_vietnam_time
from storage.db import Database
from storage.repositories import faq as repo

FORMATS: tuple[Format, ...] = ("yaml", "csv", "xlsx")
# Keys a JSON line may carry the question under (faq_dev.jsonl uses "q").
QUESTION_KEYS = ("q", "query", "question", "text")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    catalog = sub.add_parser("catalog", help="import or export the FAQ catalogue of procedures")
    actions = catalog.add_subparsers(dest="catalog_command", metavar="ACTION")
    actions.required = True
    load = actions.add_parser(
        "import",
        help="load a catalogue from YAML, CSV or XLSX (all or nothing, every error listed)",
    )
    load.add_argument("file", help="catalogue file: .yaml, .csv or .xlsx")
    load.add_argument("--format", choices=FORMATS, help="override the format the name implies")
    load.add_argument("--dry-run", action="store_true", help="validate only; store nothing")
    load.set_defaults(func=_import)
    dump = actions.add_parser("export", help="write the catalogue in force")
    dump.add_argument("--format", choices=FORMATS, help="yaml (default), csv or xlsx")
    dump.add_argument("--out", help="file to write (default: standard output)")
    dump.set_defaults(func=_export)

    faq = sub.add_parser("faq", help="citizen FAQ: batch matching and the unanswered questions")
    faq_actions = faq.add_subparsers(dest="faq_command", metavar="ACTION")
    faq_actions.required = True
    match = faq_actions.add_parser(
        "match", help="answer questions from stdin, one per line (JSON lines out)"
    )
    match.add_argument(
        "--jsonl",
        action="store_true",
        required=True,
        help="print one JSON object per line: query, kind, id, title, score, accepted, postal",
    )
    match.add_argument(
        "--at",
        type=_moment,
        help="judge acceptance at this moment (YYYY-MM-DD[THH:MM], Vietnam time); default now",
    )
    match.set_defaults(func=_match)
    unanswered = faq_actions.add_parser(
        "unanswered", help="questions the bot could not answer confidently, most asked first"
    )
    unanswered.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    unanswered.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    unanswered.set_defaults(func=_unanswered)


def _moment(text: str) -> datetime:
    return as_vietnam_time(parse_moment(text))


async def _database() -> Database:
    database = Database(load_settings().resolved_database_url)
    await database.upgrade()
    return database


# --------------------------------------------------------------------------- catalog


async def _import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    data = await read_input_file(path)
    try:
        fmt: Format = args.format or detect_format(path.name)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    result = await asyncio.to_thread(parse_catalogue, data, fmt)
    if result.catalogue is None:
        for error in result.errors:
            print(f"{path.name}: {error}", file=sys.stderr)
        print(f"{path.name}: {len(result.errors)} error(s); nothing was changed", file=sys.stderr)
        return 1
    catalogue = result.catalogue
    summary = f"{len(catalogue.procedures)} procedures, {len(catalogue.topics)} topics"
    if args.dry_run:
        print(f"{path.name}: valid ({summary}); nothing stored (--dry-run)")
        return 0
    database = await _database()
    try:
        async with database.transaction() as session:
            now = SystemClock().now()
            row = await repo.add_version(
                session, at=now, source=f"cli:{path.name}", catalogue=catalogue
            )
            await audit.record(
                session,
                at=now,
                actor=None,
                actor_label="cli",
                action="faq.catalogue.import",
                entity="catalogue_version",
                entity_id=row.id,
                after={
                    "file": path.name,
                    "procedures": len(catalogue.procedures),
                    "topics": len(catalogue.topics),
                },
            )
            version = row.id
    finally:
        await database.dispose()
    print(f"imported {path.name}: {summary} (catalogue version {version})")
    return 0


async def _export(args: argparse.Namespace) -> int:
    fmt: Format = args.format or (detect_format(args.out) if args.out else "yaml")
    database = await _database()
    try:
        async with database.transaction() as session:
            stored = await repo.load_active(session, now=SystemClock().now())
    finally:
        await database.dispose()
    content = dump_catalogue(stored.catalogue, fmt)
    if args.out:
        write_output_file(Path(args.out), content)
        print(
            f"wrote {args.out}: {len(stored.catalogue.procedures)} procedures, "
            f"{len(stored.catalogue.topics)} topics (catalogue version {stored.version_id})",
            file=sys.stderr,
        )
        return 0
    if fmt == "xlsx" and sys.stdout.isatty():
        raise CommandError("XLSX is binary: give --out FILE")
    sys.stdout.buffer.write(content)
    sys.stdout.flush()
    return 0


# --------------------------------------------------------------------------- faq


async def _match(args: argparse.Namespace) -> int:
    database = await _database()
    try:
        async with database.transaction() as session:
            stored = await repo.load_active(session, now=SystemClock().now())
    finally:
        await database.dispose()
    snapshot = FaqSnapshot.build(stored.catalogue, stored.policy, version_id=stored.version_id)
    # Blocking reads are fine here: nothing else runs on this loop once the database is done.
    for question in questions(sys.stdin):
        at = args.at or SystemClock().now()
        record = match_record(snapshot.matcher, snapshot.policy, question, at)
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        # One answer per question as it arrives: a caller may wait for each line.
        sys.stdout.flush()
    return 0


def questions(stream: TextIO) -> Iterator[str]:
    """One question per line, read as lines arrive (no read-ahead).

    A line may also be a JSON object with the question under "q" (as in faq_dev.jsonl)
    or a JSON string; anything else is the question as typed.
    """
    while True:
        line = stream.readline()
        if not line:
            return
        yield question_of(line.rstrip("\r\n"))


def question_of(line: str) -> str:
    stripped = line.strip()
    if stripped[:1] in ("{", '"'):
        try:
            value: Any = json.loads(stripped)
        except ValueError:
            return line
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            for key in QUESTION_KEYS:
                if isinstance(value.get(key), str):
                    return str(value[key])
    return line


async def _unanswered(args: argparse.Namespace) -> int:
    database = await _database()
    try:
        async with database.transaction() as session:
            rows = await repo.unanswered(session, limit=max(1, args.limit))
    finally:
        await database.dispose()
    if args.json:
        for row in rows:
            item = {
                "count": row.count,
                "normalized": row.normalized,
                "example": row.example,
                "kind": row.kind,
                "best_id": row.best_id,
                "best_score": row.best_score,
                "first_at": row.first_at.isoformat(),
                "last_at": row.last_at.isoformat(),
            }
            print(json.dumps(item, ensure_ascii=False))
        return 0
    if not rows:
        print("no unanswered questions logged")
        return 0
    print(f"{'count':>5}  {'last asked':<16}  {'kind':<9}  {'best guess (score)':<34}  example")
    for row in rows:
        last = as_vietnam_time(row.last_at).strftime("%Y-%m-%d %H:%M")
        guess = f"{row.best_id} ({row.best_score or 0:.0f})" if row.best_id else "—"
        example = " ".join(row.example.split())
        print(f"{row.count:>5}  {last:<16}  {row.kind:<9}  {guess:<34}  {example}")
    return 0
