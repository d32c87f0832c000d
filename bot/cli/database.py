"""`congvu db upgrade`."""

from __future__ import annotations

import argparse

from bot.config import load_settings
from storage.db import Database


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database maintenance")
    actions = db.add_subparsers(dest="db_command", metavar="ACTION")
    actions.required = True
    upgrade = actions.add_parser("upgrade", help="bring the schema up to date")
    upgrade.set_defaults(func=_upgrade)


async def _upgrade(args: argparse.Namespace) -> int:
    settings = load_settings()
    database = Database(settings.resolved_database_url)
    try:
        await database.upgrade()
    finally:
        await database.dispose()
    print(f"database is up to date: {settings.resolved_database_url}")
    return 0
