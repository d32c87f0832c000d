"""Exceptions a handler raises to end with a localized answer instead of a traceback."""

from __future__ import annotations

from typing import Any


class UserFacingError(Exception):
    """Ends the handler; the core replies with the localized message `key`."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class Denied(UserFacingError):
    """The guard refused: the person may not do this."""


class InvalidInput(UserFacingError):
    """The input could not be understood; the message says what is expected."""
