"""What every CLI module shares."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path


class CommandError(Exception):
    """Ends a command with one line on stderr and a non-zero exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def parse_moment(text: str) -> datetime:
    """An argparse type: YYYY-MM-DD or YYYY-MM-DDTHH:MM (a space may stand for the T)."""
    try:
        return datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None


async def read_input_file(path: Path) -> bytes:
    """The file's bytes; a file that cannot be read ends the command with the reason."""
    try:
        return await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None


def write_output_file(path: Path, data: bytes) -> None:
    """Write `data`; a file that cannot be written ends the command with the reason."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
