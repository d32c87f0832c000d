"""Typed button data: a short prefix plus fields, packed into Telegram's 64-byte limit."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any, ClassVar, Self

MAX_BYTES = 64
SEPARATOR = ":"


class BadCallback(ValueError):
    """Button data that does not unpack: forged, stale after an upgrade, or truncated."""


class CallbackData:
    """Base for frozen dataclasses that describe one kind of button press.

    ``class TaskButton(CallbackData, prefix="tk"): task_id: int; action: str``
    """

    prefix: ClassVar[str]

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not prefix or SEPARATOR in prefix:
            raise ValueError(f"bad callback prefix {prefix!r}")
        cls.prefix = prefix

    def pack(self) -> str:
        parts = [self.prefix]
        for item in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, item.name)
            text = _encode(value)
            if SEPARATOR in text:
                raise ValueError(f"{item.name} may not contain {SEPARATOR!r}")
            parts.append(text)
        packed = SEPARATOR.join(parts)
        if len(packed.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {packed!r}")
        return packed

    @classmethod
    def matches(cls, data: str) -> bool:
        return data == cls.prefix or data.startswith(cls.prefix + SEPARATOR)

    @classmethod
    def unpack(cls, data: str) -> Self:
        prefix, *values = data.split(SEPARATOR)
        if prefix != cls.prefix:
            raise BadCallback(f"prefix {prefix!r} is not {cls.prefix!r}")
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        if len(values) != len(fields):
            raise BadCallback(f"expected {len(fields)} fields, got {len(values)}")
        hints = typing.get_type_hints(cls)
        kwargs: dict[str, Any] = {}
        for item, raw in zip(fields, values, strict=True):
            kwargs[item.name] = _decode(raw, hints[item.name])
        return cls(**kwargs)


def _encode(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def _decode(raw: str, annotation: Any) -> Any:
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        annotation = args[0]
    if raw == "" and optional:
        return None
    try:
        if annotation is bool:
            if raw not in ("0", "1"):
                raise ValueError(raw)
            return raw == "1"
        if annotation is int:
            return int(raw)
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            return annotation(raw)
        return raw
    except ValueError as exc:
        raise BadCallback(f"bad value {raw!r} for {annotation}") from exc
