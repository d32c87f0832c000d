"""What every CLI module shares."""

from __future__ import annotations


class CommandError(Exception):
    """Ends a command with one line on stderr and a non-zero exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
