"""`congvu` — the command line. Each feature's commands live in a module of this package."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from bot.cli import database, export, faq, org, remind, serve
from bot.cli.common import CommandError
from bot.config import ConfigError

COMMAND_MODULES = (serve, database, org, remind, export, faq)


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments end with one line naming the problem, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="congvu",
        description="congvu-bot: check-in, tasks, daily reports and citizen FAQ in chat.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("CONGVU_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        result = args.func(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
    except ConfigError as exc:
        print(f"congvu: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except CommandError as exc:
        print(f"congvu: {exc}", file=sys.stderr)
        return exc.code
    return int(result or 0)
