"""`congvu org import`: read an organisation file, validate all of it, then apply it.

Two steps with a hard line between them:

* :func:`parse_org` turns bytes into an :class:`OrgSpec` or into **every** error it can find,
  each with its line (YAML) or row (CSV/XLSX) and field. It never touches the database, so a
  bad file cannot half-import.
* :func:`apply_org` makes the database match a valid spec inside the caller's transaction,
  idempotently: units are matched by code; people by Telegram id, else by username, else by
  Zalo id, else by name within the unit; nothing is duplicated and nobody is deleted. Every
  row it adds or changes is written to the audit log.

Decisions worth knowing:

* A unit may have **one leader** (trưởng); a second is an error, because the default direct
  head of everyone in the unit is "the unit's leader" and two would make it a coin toss.
  Deputies (phó) are unlimited. A unit without a leader is only a warning.
* Telegram usernames are case-insensitive and unique; one given without an id creates a
  pending identity that :func:`storage.repositories.identities.touch_identity` completes when
  that person first writes. A username that the file gives to someone else moves to them
  (Telegram usernames do move between accounts).
* A unit has at most one working group per channel and the organisation one support group
  per channel: naming a new one re-points the binding.
* ``manager_id`` stays NULL for people whose head is the default (see
  :func:`bot.services.org.spec.default_head_index`), so a new leader becomes everyone's head
  without rewriting their rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.access import Actor
from bot.services.attendance.quota import parse_quota
from bot.services.org.spec import (
    DEFAULT_TIMEZONE,
    LANGUAGES,
    QUOTA_KIND_KEY,
    RESERVED_SETTINGS,
    ROTATION_KEY,
    ChatRef,
    Format,
    OrgSpec,
    PersonSpec,
    RotationSpec,
    RowError,
    UnitSpec,
    default_head_index,
    parents_first,
)
from storage.models import ChatBinding, Identity, Person, Role, Unit
from storage.models.org import ChatPurpose

__all__ = [
    "ImportConflictError",
    "ImportReport",
    "OrgSpec",
    "RowError",
    "apply_org",
    "column_of",
    "decode_text",
    "detect_format",
    "fold",
    "parse_org",
]

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lowercase without diacritics (``đ`` has no decomposition, so it is mapped by hand)."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return stripped.replace("đ", "d")


def _name_key(name: str) -> str:
    """How two spellings of one name compare: NFC, case and spacing do not matter."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without Excel's BOM), UTF-16 with a BOM, else Windows-1258; then NFC.

    Windows-1258 writes most Vietnamese tones as combining marks after the letter, and macOS
    writes NFD; NFC makes every spelling of "Nguyễn" the same string.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1258")
    return unicodedata.normalize("NFC", text)


def detect_format(filename: str) -> Format:
    """The format a file name implies; ValueError names the accepted extensions."""
    lower = filename.lower()
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    if lower.endswith((".csv", ".txt", ".tsv")):
        return "csv"
    if lower.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if lower.endswith(".xls"):
        raise ValueError(f"{filename}: old .xls workbooks are not supported; save as .xlsx")
    raise ValueError(f"{filename}: expected a .yaml, .yml, .csv or .xlsx file")


# ---------------------------------------------------------------------------------------------
# Field converters: each takes what the file holds (a YAML value or a cell's text) and returns
# the clean value or raises _Invalid with the message shown to the admin.
# ---------------------------------------------------------------------------------------------


class _Invalid(ValueError):
    pass


_CODE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
_USERNAME = re.compile(r"^[a-z][a-z0-9_]{3,31}$", re.IGNORECASE)
_HHMM = re.compile(r"^(\d{1,2})\s*[:hH.]\s*(\d{2})?$")
_DIGITS = re.compile(r"^[0-9]{1,20}$")
_CHAT_ID = re.compile(r"^-?[0-9]{1,20}$")

_ROLE_WORDS: dict[str, Role] = {
    "leader": Role.LEADER,
    "head": Role.LEADER,
    "lanh dao": Role.LEADER,
    "truong": Role.LEADER,
    "truong phong": Role.LEADER,
    "truong don vi": Role.LEADER,
    "chu tich": Role.LEADER,
    "chanh van phong": Role.LEADER,
    "deputy": Role.DEPUTY,
    "pho": Role.DEPUTY,
    "staff": Role.STAFF,
    "can bo": Role.STAFF,
    "chuyen vien": Role.STAFF,
    "nhan vien": Role.STAFF,
    "cong chuc": Role.STAFF,
    "vien chuc": Role.STAFF,
    "admin": Role.ADMIN,
    "quan tri": Role.ADMIN,
    "quan tri vien": Role.ADMIN,
    "administrator": Role.ADMIN,
}
_TRUE = frozenset({"yes", "y", "true", "1", "x", "co", "on", "dung"})
_FALSE = frozenset({"no", "n", "false", "0", "khong", "off", "sai"})


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "yes/no"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _text(value: object, *, max_length: int = 200, numbers: bool = False) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and numbers:
        value = str(value)
    if not isinstance(value, str):
        raise _Invalid(f"expected text, got {_describe(value)} (put it in quotes)")
    text = " ".join(value.split())
    if not text:
        raise _Invalid("must not be empty")
    if len(text) > max_length:
        raise _Invalid(f"longer than {max_length} characters")
    return text


def _code(value: object) -> str:
    text = _text(value, max_length=32)
    code = text.lower()
    if not _CODE.match(code):
        raise _Invalid(
            f"unit code {text!r} must be 1-32 letters a-z, digits, '_', '-' or '.' "
            "without spaces or diacritics (e.g. vp, tu-phap)"
        )
    return code


def _user_id(value: object) -> str:
    if isinstance(value, bool | float):
        raise _Invalid(f"expected a whole number, got {_describe(value)}")
    text = str(value).strip()
    if not _DIGITS.match(text) or int(text) <= 0:
        raise _Invalid(f"{text!r} is not a Telegram user id (a positive whole number)")
    return str(int(text))


def _zalo_id(value: object) -> str:
    if isinstance(value, bool | float):
        raise _Invalid(f"expected digits, got {_describe(value)} (put it in quotes)")
    text = str(value).strip()
    if not _DIGITS.match(text):
        raise _Invalid(f"{text!r} is not a Zalo user id (digits only)")
    return text


def _chat_id(value: object) -> str:
    if isinstance(value, bool | float):
        raise _Invalid(f"expected a whole number, got {_describe(value)}")
    text = str(value).strip()
    if not _CHAT_ID.match(text) or int(text) == 0:
        raise _Invalid(f"{text!r} is not a chat id (a whole number; groups start with -100)")
    return str(int(text))


def _zalo_chat_id(value: object) -> str:
    if isinstance(value, bool | float):
        raise _Invalid(f"expected digits, got {_describe(value)} (put it in quotes)")
    text = str(value).strip()
    if not _DIGITS.match(text):
        raise _Invalid(f"{text!r} is not a Zalo chat id (digits only)")
    return text


def _username(value: object) -> str:
    text = _text(value, max_length=33).removeprefix("@")
    if not _USERNAME.match(text):
        raise _Invalid(
            f"{text!r} is not a Telegram username (4-32 letters a-z, digits or '_', "
            "starting with a letter)"
        )
    return text


def _role(value: object) -> Role:
    text = _text(value, max_length=60)
    key = " ".join(re.sub(r"[^a-z0-9]+", " ", fold(text)).split())
    if key in _ROLE_WORDS:
        return _ROLE_WORDS[key]
    # Vietnamese titles: "Phó trưởng phòng", "Phó chủ tịch" are deputies; "Trưởng ban" leads.
    if key.startswith("pho "):
        return Role.DEPUTY
    if key.startswith("truong "):
        return Role.LEADER
    raise _Invalid(
        f"unknown role {text!r}; expected leader (lãnh đạo, trưởng), deputy (phó), "
        "staff (cán bộ, chuyên viên) or admin (quản trị)"
    )


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        key = fold(value).strip()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
    raise _Invalid(f"expected yes or no (có/không), got {value!r}")


def _hhmm(value: object) -> str:
    if isinstance(value, time):
        return f"{value.hour:02d}:{value.minute:02d}"
    if isinstance(value, bool) or not isinstance(value, str):
        raise _Invalid(f'expected a time like "09:00", got {_describe(value)}')
    match = _HHMM.match(value.strip())
    if match:
        hour, minute = int(match[1]), int(match[2] or 0)
        if hour < 24 and minute < 60:
            return f"{hour:02d}:{minute:02d}"
    raise _Invalid(f'{value!r} is not a time of day; expected HH:MM such as "09:00" or "16:30"')


def _timezone(value: object) -> str:
    text = _text(value, max_length=64)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Invalid(f"unknown time zone {text!r} (e.g. Asia/Ho_Chi_Minh)") from None
    return text


def _working_days(value: object) -> str:
    """ISO weekdays: "12345", "1-5", "1,2,3,4,5,6" or a YAML list [1, 2, 3]."""
    items: list[str]
    if isinstance(value, list):
        items = [str(v) for v in value if not isinstance(v, bool)]
        if len(items) != len(value):
            raise _Invalid("expected weekday numbers 1 (Monday) to 7 (Sunday)")
    elif isinstance(value, int) and not isinstance(value, bool):
        items = list(str(value))
    elif isinstance(value, str):
        items = [part for part in re.split(r"[,\s;]+", value.strip()) if part]
    else:
        raise _Invalid(f"expected weekday numbers such as 12345, got {_describe(value)}")
    days: set[int] = set()
    for item in items:
        if match := re.fullmatch(r"([1-7])\s*-\s*([1-7])", item):
            low, high = int(match[1]), int(match[2])
            if low > high:
                raise _Invalid(f"range {item!r} runs backwards")
            days.update(range(low, high + 1))
        elif re.fullmatch(r"[1-7]+", item):
            days.update(int(ch) for ch in item)
        else:
            raise _Invalid(
                f"{item!r}: expected weekday numbers 1 (Monday) to 7 (Sunday), e.g. 12345 or 1-5"
            )
    if not days:
        raise _Invalid("at least one working day is required")
    return "".join(str(d) for d in sorted(days))


def _quota(value: object) -> int | float:
    """A share in [0, 1] (float) or a whole number of people (int)."""
    if isinstance(value, bool):
        raise _Invalid("expected a share such as 0.34 or 1/3, or a number of people")
    if isinstance(value, int):
        if value < 0:
            raise _Invalid(f"{value} is below 0")
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _Invalid("expected a finite number")
        if value < 0:
            raise _Invalid(f"{value} is below 0")
        if value <= 1:
            return value
        if value.is_integer():
            return int(value)  # 2.0 cannot be a share, so it can only mean two people
        raise _Invalid(
            f"{value} is above 1: a share must be between 0 and 1 (e.g. 0.34), "
            "a number of people must be whole"
        )
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("-"):
            raise _Invalid(f"{text} is below 0")
        try:
            parsed = parse_quota(text)
        except ValueError:
            raise _Invalid(
                f"{text!r} is neither a share between 0 and 1 (0.34, 1/3, 34%) "
                "nor a whole number of people"
            ) from None
        return parsed if isinstance(parsed, int) else float(parsed)
    raise _Invalid(f"expected a number, got {_describe(value)}")


def _language(value: object) -> str:
    text = _text(value, max_length=8).lower()
    if text not in LANGUAGES:
        raise _Invalid(f"unknown language {text!r}; expected {' or '.join(LANGUAGES)}")
    return text


def _team(value: object) -> str:
    return _text(value, max_length=16, numbers=True)


def _date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Invalid(f"expected a date YYYY-MM-DD, got {value!r}")


def _cycle(value: object) -> Literal["day", "week"]:
    text = fold(_text(value, max_length=10))
    if text in ("day", "ngay"):
        return "day"
    if text in ("week", "tuan"):
        return "week"
    raise _Invalid(f"expected day or week, got {value!r}")


def _teams(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else re.split(r"[,;]", str(value))
    teams = tuple(_team(item) for item in items if not (isinstance(item, str) and not item.strip()))
    if len(set(teams)) != len(teams):
        raise _Invalid("a team is listed twice")
    return teams


def _json_safe(value: object, path: str) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_safe(v, path) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v, f"{path}.{k}") for k, v in value.items()}
    raise _Invalid(f"{path}: {_describe(value)} cannot be stored")


def _settings(value: object) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise _Invalid(f"expected a JSON object: {exc.msg}") from None
    if not isinstance(value, dict):
        raise _Invalid(f"expected a mapping, got {_describe(value)}")
    reserved = sorted(RESERVED_SETTINGS & set(value))
    if reserved:
        raise _Invalid(f"{', '.join(reserved)} cannot be set here (use the unit's own field)")
    return _json_safe(value, "settings")  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# Records: a unit or a person as the file wrote it, with where each field was.
# ---------------------------------------------------------------------------------------------


@dataclass
class _Record:
    where: str
    values: dict[str, Any] = field(default_factory=dict)
    places: dict[str, str] = field(default_factory=dict)
    # The column header a spreadsheet used for each key, so errors name what the admin sees.
    labels: Mapping[str, str] = field(default_factory=dict)

    def place(self, key: str) -> str:
        return self.places.get(key, self.where)

    def label(self, key: str) -> str:
        return self.labels.get(key, key)


@dataclass
class _Errors:
    items: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    def add(self, where: str, key: str | None, message: str) -> None:
        self.items.append(RowError(where, key, message))

    def warn(self, where: str, key: str | None, message: str) -> None:
        self.warnings.append(RowError(where, key, message))

    def convert(self, record: _Record, key: str, fn: Callable[[Any], T]) -> T | None:
        """The converted value of ``key``; None (and an error) when it is malformed."""
        try:
            return fn(record.values[key])
        except _Invalid as exc:
            self.add(record.place(key), record.label(key), str(exc))
            return None


@dataclass
class _UnitDraft:
    record: _Record
    group: _Record | None = None
    rotation: _Record | None = None


@dataclass
class _PersonDraft:
    record: _Record
    unit: str | None


@dataclass
class _Drafts:
    units: list[_UnitDraft] = field(default_factory=list)
    people: list[_PersonDraft] = field(default_factory=list)
    support_group: _Record | None = None
    # Errors found while reading; validation adds to them so that all are reported at once.
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# YAML
# ---------------------------------------------------------------------------------------------

_UNIT_KEYS = (
    "code",
    "name",
    "parent",
    "timezone",
    "working_days",
    "office_quota",
    "checkin_by",
    "report_at",
    "health_declaration",
    "group",
    "rotation",
    "settings",
    "people",
)
_PERSON_KEYS = (
    "name",
    "role",
    "telegram",
    "username",
    "zalo",
    "manager",
    "language",
    "team",
    "on_duty",
    "active",
)
_CHAT_KEYS = ("telegram", "zalo", "title")
_ROTATION_KEYS = ("cycle", "anchor", "teams")
_TOP_KEYS = ("version", "admins", "people", "support_group", "units")
# Spellings people naturally write; the export uses the canonical key.
_KEY_ALIASES = {"full_name": "name", "quota": "office_quota"}


@dataclass(frozen=True)
class _Y:
    """A YAML value with its 1-based line; mappings and lists hold more _Y."""

    value: Any
    line: int


class _YamlBuilder:
    """Turns PyYAML's node tree into values that remember their lines.

    PyYAML's own loader forgets positions and silently keeps the last of two equal keys;
    an admin needs both reported. Scalars are built by PyYAML's safe constructor, except
    YAML 1.1's base-60 integers: unquoted 16:30 would otherwise arrive as 990.
    """

    def __init__(self, loader: yaml.SafeLoader, errors: _Errors) -> None:
        self.loader = loader
        self.errors = errors

    def build(self, node: yaml.Node) -> _Y:
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, _Y] = {}
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    self.errors.add(f"line {key_line}", None, "a key must be plain text")
                    continue
                key = str(key_node.value)
                if key in out:
                    self.errors.add(
                        f"line {key_line}", key, f"duplicate key (first on line {out[key].line})"
                    )
                    continue
                value = self.build(value_node)
                # The key's line is where an admin looks for the field.
                out[key] = _Y(value.value, key_line)
            return _Y(out, line)
        if isinstance(node, yaml.SequenceNode):
            return _Y([self.build(item) for item in node.value], line)
        assert isinstance(node, yaml.ScalarNode)
        if node.tag.endswith((":int", ":float")) and ":" in node.value:
            return _Y(node.value, line)
        try:
            return _Y(self.loader.construct_object(node, deep=True), line)
        except (ValueError, yaml.YAMLError):
            # An impossible timestamp such as 2020-02-30: the field's own check reports it.
            return _Y(node.value, line)


def _unwrap(value: Any) -> Any:
    """Plain Python values from a _Y tree (for nested settings)."""
    if isinstance(value, _Y):
        return _unwrap(value.value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _yaml_record(
    item: _Y, keys: Sequence[str], errors: _Errors, what: str, nested: Sequence[str] = ()
) -> _Record | None:
    """A record of a YAML mapping; unknown keys are errors (a typo must not lose data)."""
    where = f"line {item.line}"
    if not isinstance(item.value, dict):
        errors.add(
            where, None, f"{what} must be a mapping (key: value), got {_describe(item.value)}"
        )
        return None
    record = _Record(where)
    for raw_key, value in item.value.items():
        key = _KEY_ALIASES.get(raw_key, raw_key)
        if key not in keys:
            errors.add(
                f"line {value.line}",
                raw_key,
                f"unknown key in {what}; expected one of: {', '.join(keys)}",
            )
            continue
        if key in record.values:
            errors.add(f"line {value.line}", raw_key, f"{key} is given twice")
            continue
        record.values[key] = value if key in nested else _unwrap(value)
        record.places[key] = f"line {value.line}"
    return record


def _yaml_chat(value: _Y, where: str, key: str, errors: _Errors, what: str) -> _Record | None:
    """A group as ``{telegram: -100..., zalo: "..."}`` or just the Telegram chat id."""
    if not isinstance(value.value, dict):
        record = _Record(where, {"telegram": value.value}, {"telegram": where})
    else:
        record = _yaml_record(value, _CHAT_KEYS, errors, what)
    if record is not None and not record.values:
        errors.add(where, key, "give a telegram and/or zalo chat id")
        return None
    return record


def _yaml_error(exc: yaml.YAMLError) -> RowError:
    """The line PyYAML points at, and what it was parsing when it gave up."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = f"line {mark.line + 1}" if mark is not None else "line 1"
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if context and context_mark is not None and context_mark is not mark:
        context += f" that starts on line {context_mark.line + 1}"
    return RowError(line, None, f"not valid YAML: {problem}" + (f" ({context})" if context else ""))


def _parse_yaml(text: str) -> _Drafts | list[RowError]:
    errors = _Errors()
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # control characters: not a text file at all
        line = text.count("\n", 0, exc.position) + 1
        return [RowError(f"line {line}", None, f"not valid YAML: character {exc.character:#x}")]
    try:
        node = loader.get_single_node()
        if node is None:
            return [RowError("line 1", None, "the file is empty")]
        root = _YamlBuilder(loader, errors).build(node)
    except yaml.YAMLError as exc:
        return [_yaml_error(exc)]
    finally:
        loader.dispose()
    if not isinstance(root.value, dict):
        return [
            RowError(f"line {root.line}", None, "expected a mapping with 'units' (and 'admins')")
        ]
    drafts = _Drafts()
    for key, value in root.value.items():
        if key not in _TOP_KEYS:
            errors.add(
                f"line {value.line}", key, f"unknown key; expected one of: {', '.join(_TOP_KEYS)}"
            )
    if "version" in root.value and root.value["version"].value not in (1, "1"):
        errors.add(f"line {root.value['version'].line}", "version", "only version 1 is known")
    if (support := root.value.get("support_group")) is not None and support.value is not None:
        drafts.support_group = _yaml_chat(
            support, f"line {support.line}", "support_group", errors, "support_group"
        )
    for section, default_role in (("admins", Role.ADMIN), ("people", Role.STAFF)):
        for item in _yaml_list(root.value.get(section), section, errors):
            record = _yaml_record(item, _PERSON_KEYS, errors, f"{section} entry")
            if record is not None:
                record.values.setdefault("role", default_role.value)
                drafts.people.append(_PersonDraft(record, None))
    for item in _yaml_list(root.value.get("units"), "units", errors):
        record = _yaml_record(
            item, _UNIT_KEYS, errors, "unit", nested=("group", "rotation", "people")
        )
        if record is None:
            continue
        unit = _UnitDraft(record)
        drafts.units.append(unit)
        if (group := record.values.pop("group", None)) is not None and group.value is not None:
            unit.group = _yaml_chat(group, record.place("group"), "group", errors, "group")
        if (rotation := record.values.pop("rotation", None)) is not None:
            if rotation.value is None:
                record.values["rotation"] = None
            else:
                unit.rotation = _yaml_record(rotation, _ROTATION_KEYS, errors, "rotation")
        people = record.values.pop("people", None)
        code = None
        if "code" in record.values:
            code = errors.convert(record, "code", _code)
        for person in _yaml_list(people, "people", errors):
            person_record = _yaml_record(person, _PERSON_KEYS, errors, "person")
            if person_record is not None:
                drafts.people.append(_PersonDraft(person_record, code or "?"))
    drafts.errors = errors.items
    return drafts


def _yaml_list(value: _Y | None, key: str, errors: _Errors) -> list[_Y]:
    if value is None or value.value is None:
        return []
    if not isinstance(value.value, list):
        errors.add(f"line {value.line}", key, f"must be a list, got {_describe(value.value)}")
        return []
    return list(value.value)


# ---------------------------------------------------------------------------------------------
# CSV and XLSX: one row per person, unit columns repeated (or given once) per unit.
# ---------------------------------------------------------------------------------------------

# Canonical column → accepted headers, folded (lowercase, no diacritics, punctuation → space).
COLUMNS: dict[str, tuple[str, ...]] = {
    "unit_code": ("unit code", "unit", "ma don vi", "ma dv", "don vi", "ma phong"),
    "unit_name": ("unit name", "ten don vi", "ten dv", "ten phong"),
    "parent_unit": (
        "parent unit",
        "parent",
        "parent code",
        "don vi cap tren",
        "ma don vi cap tren",
        "truc thuoc",
        "thuoc don vi",
    ),
    "timezone": ("timezone", "time zone", "tz", "mui gio"),
    "working_days": ("working days", "ngay lam viec"),
    "office_quota": (
        "office quota",
        "quota",
        "ti le",
        "ty le",
        "ti le tai co quan",
        "ty le tai co quan",
        "dinh muc",
    ),
    "checkin_by": ("checkin by", "check in by", "checkin", "han diem danh", "gio diem danh"),
    "report_at": ("report at", "report time", "gio bao cao", "bao cao luc"),
    "health_declaration": ("health declaration", "khai bao y te"),
    "group_telegram": (
        "group",
        "group chat",
        "group chat id",
        "group telegram",
        "telegram group",
        "nhom chat",
        "nhom telegram",
        "nhom don vi",
        "id nhom chat",
    ),
    "group_zalo": ("group zalo", "zalo group", "nhom zalo"),
    "group_title": ("group title", "ten nhom", "ten nhom chat"),
    "full_name": ("full name", "name", "ho ten", "ho va ten", "ten", "ten can bo"),
    "role": ("role", "vai tro", "chuc vu", "chuc danh"),
    "telegram_id": ("telegram id", "telegram", "id telegram", "telegram user id", "tg id"),
    "username": ("username", "telegram username", "user name", "ten dang nhap", "ten telegram"),
    "zalo_id": ("zalo id", "zalo", "id zalo"),
    "manager": (
        "manager",
        "head",
        "direct head",
        "nguoi quan ly",
        "quan ly",
        "cap tren",
        "cap tren truc tiep",
        "lanh dao truc tiep",
    ),
    "team": ("team", "rotation team", "nhom", "to", "ca", "kip"),
    "on_duty": ("on duty", "duty", "truc", "lanh dao truc", "truc co quan"),
    "language": ("language", "lang", "ngon ngu"),
    "active": ("active", "dang cong tac", "con cong tac", "hoat dong"),
    "rotation_cycle": ("rotation cycle", "chu ky luan phien"),
    "rotation_anchor": ("rotation anchor", "rotation start", "ngay bat dau luan phien"),
    "rotation_teams": ("rotation teams", "thu tu luan phien"),
    "unit_settings": ("unit settings", "settings", "cai dat don vi"),
    "support_group_telegram": (
        "support group",
        "support group telegram",
        "nhom ho tro",
        "nhom ho tro nguoi dan",
    ),
    "support_group_zalo": ("support group zalo", "nhom ho tro zalo"),
    "support_group_title": ("support group title", "ten nhom ho tro"),
}
REQUIRED_COLUMNS = ("unit_code", "full_name", "role")
# Columns every Vietnamese roster has that mean nothing to the bot.
_IGNORED_COLUMNS = frozenset(
    {"stt", "tt", "so thu tu", "no", "ghi chu", "note", "notes", "email", "sdt", "dien thoai"}
    | {"so dien thoai", "phone", "ngay sinh", "gioi tinh"}
)
_UNIT_COLUMNS: dict[str, str] = {
    "unit_name": "name",
    "parent_unit": "parent",
    "timezone": "timezone",
    "working_days": "working_days",
    "office_quota": "office_quota",
    "checkin_by": "checkin_by",
    "report_at": "report_at",
    "health_declaration": "health_declaration",
    "unit_settings": "settings",
}
_PERSON_COLUMNS: dict[str, str] = {
    "full_name": "name",
    "role": "role",
    "telegram_id": "telegram",
    "username": "username",
    "zalo_id": "zalo",
    "manager": "manager",
    "language": "language",
    "team": "team",
    "on_duty": "on_duty",
    "active": "active",
}
_HEADER_SCAN_ROWS = 10  # title rows ("DANH SÁCH CÁN BỘ ...") often sit above the header


def _header_key(cell: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(cell)).split())


_HEADER_LOOKUP: Mapping[str, str] = MappingProxyType(
    {alias: column for column, aliases in COLUMNS.items() for alias in aliases}
    | {column.replace("_", " "): column for column in COLUMNS}
)


def column_of(cell: str) -> str | None:
    """The canonical column a header names; "Họ tên (full name)" works in either language."""
    lookup = _HEADER_LOOKUP
    candidates = [cell, re.sub(r"\([^)]*\)", " ", cell), *re.findall(r"\(([^)]*)\)", cell)]
    for candidate in candidates:
        key = _header_key(candidate)
        if key in lookup:
            return lookup[key]
    return None


def _split_csv(text: str) -> list[list[str]] | RowError:
    lines = [line for line in text.splitlines() if line.strip()][:_HEADER_SCAN_ROWS]
    sample = "\n".join(lines)
    # Excel in a Vietnamese locale saves with ";"; "Unicode text" exports use tabs.
    delimiter = max((",", ";", "\t"), key=sample.count)
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        return RowError("row ?", None, f"not valid CSV: {exc}")


def _cell_text(value: object) -> str:
    """A spreadsheet cell as the text a person typed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 100001 as 100001.0
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, time):
        return f"{value.hour:02d}:{value.minute:02d}"
    if isinstance(value, date):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()


def _read_xlsx(data: bytes) -> list[list[str]] | RowError:
    from openpyxl import load_workbook  # lazily: only spreadsheet imports need it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        return RowError("row 1", None, f"not a valid XLSX workbook: {exc}")
    try:
        if not workbook.worksheets:
            return RowError("row 1", None, "the workbook has no sheets")
        sheet = workbook.worksheets[0]
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _parse_table(rows: list[list[str]]) -> _Drafts | list[RowError]:
    errors = _Errors()
    if not any(any(cell.strip() for cell in row) for row in rows):
        return [RowError("row 1", None, "the file is empty")]
    header_index: int | None = None
    for index, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
        if sum(1 for cell in row if column_of(cell)) >= 2:
            header_index = index
            break
    if header_index is None:
        expected = ", ".join(REQUIRED_COLUMNS)
        return [
            RowError(
                "row 1",
                None,
                f"no header row found in the first {_HEADER_SCAN_ROWS} rows; expected columns "
                f"such as {expected} (Mã đơn vị, Họ tên, Vai trò)",
            )
        ]
    header_where = f"row {header_index + 1}"
    columns: dict[int, str] = {}
    seen: dict[str, str] = {}
    for position, cell in enumerate(rows[header_index]):
        if not cell.strip():
            continue
        column = column_of(cell)
        if column is None:
            if _header_key(cell) not in _IGNORED_COLUMNS:
                errors.warn(header_where, cell, "unknown column, ignored")
            continue
        if column in seen:
            errors.add(header_where, cell, f"means the same as column {seen[column]!r} ({column})")
            continue
        seen[column] = cell
        columns[position] = column
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        errors.add(header_where, None, f"missing required columns: {', '.join(missing)}")
    if errors.items:
        return errors.items

    drafts = _Drafts()
    units: dict[str, _UnitDraft] = {}
    labels = _Labels.of(seen)
    support = _Record(header_where, labels=labels.support)
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        where = f"row {index + 1}"
        cells = {
            column: (row[position].strip() if position < len(row) else "")
            for position, column in columns.items()
        }
        if not any(cells.values()):
            continue  # blank lines between blocks are common in spreadsheets
        _table_row(where, cells, units, drafts, support, labels, errors)
    drafts.units = list(units.values())
    if support.values:
        drafts.support_group = support
    drafts.errors = errors.items
    drafts.warnings = errors.warnings
    return drafts


def _merge_cell(
    target: _Record, key: str, value: str, where: str, errors: _Errors, what: str
) -> None:
    """Unit columns may repeat on every row of a unit; they must then agree."""
    if key not in target.values:
        target.values[key] = value
        target.places[key] = where
    elif " ".join(target.values[key].split()).casefold() != " ".join(value.split()).casefold():
        errors.add(
            where,
            target.label(key),
            f"{value!r} differs from {target.values[key]!r} given for {what} on "
            f"{target.places[key]}",
        )


_GROUP_COLUMNS = {"group_telegram": "telegram", "group_zalo": "zalo", "group_title": "title"}
_SUPPORT_COLUMNS = {
    "support_group_telegram": "telegram",
    "support_group_zalo": "zalo",
    "support_group_title": "title",
}
_ROTATION_COLUMNS = {
    "rotation_cycle": "cycle",
    "rotation_anchor": "anchor",
    "rotation_teams": "teams",
}


@dataclass(frozen=True)
class _Labels:
    """Record key → the header the file used, per kind of record."""

    unit: Mapping[str, str]
    group: Mapping[str, str]
    rotation: Mapping[str, str]
    support: Mapping[str, str]
    person: Mapping[str, str]

    @classmethod
    def of(cls, headers: Mapping[str, str]) -> _Labels:
        def pick(columns: Mapping[str, str]) -> dict[str, str]:
            return {key: headers[column] for column, key in columns.items() if column in headers}

        code = {"code": headers.get("unit_code", "unit_code")}
        return cls(
            unit=pick(_UNIT_COLUMNS) | code,
            group=pick(_GROUP_COLUMNS),
            rotation=pick(_ROTATION_COLUMNS),
            support=pick(_SUPPORT_COLUMNS),
            person=pick(_PERSON_COLUMNS) | {"unit": code["code"]},
        )


def _table_row(
    where: str,
    cells: dict[str, str],
    units: dict[str, _UnitDraft],
    drafts: _Drafts,
    support: _Record,
    labels: _Labels,
    errors: _Errors,
) -> None:
    for column, key in _SUPPORT_COLUMNS.items():
        if cells.get(column):
            _merge_cell(support, key, cells[column], where, errors, "the support group")
    code: str | None = None
    if cells.get("unit_code"):
        try:
            code = _code(cells["unit_code"])
        except _Invalid as exc:
            errors.add(where, labels.unit["code"], str(exc))
            return
    person_cells = {k: cells[c] for c, k in _PERSON_COLUMNS.items() if c in cells}
    is_person = any(person_cells.values())
    if code is not None:
        unit = units.get(code)
        if unit is None:
            record = _Record(where, {"code": code}, {"code": where}, labels.unit)
            unit = units[code] = _UnitDraft(record)
        for column, key in _UNIT_COLUMNS.items():
            if cells.get(column):
                _merge_cell(unit.record, key, cells[column], where, errors, f"unit {code}")
        for column, key in _GROUP_COLUMNS.items():
            if cells.get(column):
                unit.group = unit.group or _Record(where, labels=labels.group)
                _merge_cell(unit.group, key, cells[column], where, errors, f"unit {code}")
        for column, key in _ROTATION_COLUMNS.items():
            if cells.get(column):
                unit.rotation = unit.rotation or _Record(where, labels=labels.rotation)
                _merge_cell(unit.rotation, key, cells[column], where, errors, f"unit {code}")
    elif not is_person:
        if not any(cells.get(c) for c in _SUPPORT_COLUMNS):
            errors.add(where, labels.unit["code"], "is required")
        return
    if not is_person:
        return
    # A column present with an empty cell still counts as given: it clears the value.
    record = _Record(where, dict(person_cells), {}, labels.person)
    if not record.values.get("role"):
        record.values.pop("role", None)
    drafts.people.append(_PersonDraft(record, code))


# ---------------------------------------------------------------------------------------------
# Building the spec: field conversion, references, duplicates, cycles.
# ---------------------------------------------------------------------------------------------


def _cleared(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _read_fields(
    errors: _Errors,
    record: _Record,
    converters: Mapping[str, Callable[[Any], Any]],
    clearable: Mapping[str, Any],
) -> dict[str, Any]:
    """The fields a record states, converted; malformed ones become errors and are left out.

    ``null`` or an empty cell sets a clearable field to its cleared value and is an error
    for the others (a unit cannot lose its name or time zone).
    """
    values: dict[str, Any] = {}
    for key, fn in converters.items():
        if key not in record.values:
            continue
        if _cleared(record.values[key]):
            if key in clearable:
                values[key] = clearable[key]
            else:
                errors.add(record.place(key), record.label(key), "must not be empty")
            continue
        value = errors.convert(record, key, fn)
        if value is not None:
            values[key] = value
    return values


def _build_chat(
    errors: _Errors, record: _Record | None, telegram: Callable[[Any], str]
) -> ChatRef | None:
    if record is None:
        return None
    values = _read_fields(
        errors,
        record,
        {"telegram": telegram, "zalo": _zalo_chat_id, "title": _text},
        {"telegram": None, "zalo": None, "title": None},
    )
    if values.get("telegram") is None and values.get("zalo") is None:
        return None
    return ChatRef(**values)


_UNIT_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "name": _text,
    "parent": _code,
    "timezone": _timezone,
    "working_days": _working_days,
    "office_quota": _quota,
    "checkin_by": _hhmm,
    "report_at": _hhmm,
    "health_declaration": _bool,
    "settings": _settings,
}
_PERSON_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "telegram": _user_id,
    "username": _username,
    "zalo": _zalo_id,
    "language": _language,
    "team": _team,
    "on_duty": _bool,
    "active": _bool,
}
_PERSON_CLEARED: dict[str, Any] = {
    "telegram": None,
    "username": None,
    "zalo": None,
    "language": None,
    "team": None,
    "on_duty": False,
    "active": True,
}


def _build_unit(errors: _Errors, draft: _UnitDraft) -> UnitSpec | None:
    record = draft.record
    if "code" not in record.values:
        errors.add(record.where, "code", "every unit needs a code")
        return None
    code = errors.convert(record, "code", _code)
    values = _read_fields(errors, record, _UNIT_CONVERTERS, {"parent": None, "office_quota": None})
    if "name" not in record.values:
        errors.add(record.where, record.label("name"), f"unit {code or '?'} has no name")
    given = set(values)
    rotation: RotationSpec | None = None
    if draft.rotation is not None:
        rotation = _build_rotation(errors, draft.rotation)
        given.add("rotation")
    elif "rotation" in record.values:  # rotation: null switches it off
        given.add("rotation")
    if draft.group is not None:
        given.add("group")
    group = _build_chat(errors, draft.group, _chat_id)
    if code is None:
        return None
    return UnitSpec(
        code=code,
        where=record.where,
        group=group,
        rotation=rotation,
        given=frozenset(given),
        **values,
    )


def _build_rotation(errors: _Errors, record: _Record) -> RotationSpec | None:
    if _cleared(record.values.get("anchor")):
        errors.add(record.where, "rotation", "anchor (the first day of the rotation) is required")
        return None
    anchor = errors.convert(record, "anchor", _date)
    cycle: Literal["day", "week"] = "day"
    if not _cleared(record.values.get("cycle")):
        cycle = errors.convert(record, "cycle", _cycle) or "day"
    teams: tuple[str, ...] = ()
    if not _cleared(record.values.get("teams")):
        teams = errors.convert(record, "teams", _teams) or ()
    # A bad anchor is already an error, so this spec never leaves parse_org; keeping the
    # rotation lets its teams still be checked against the people in the same pass.
    return RotationSpec(anchor=anchor or date.min, cycle=cycle, teams=teams)


def _build_person(errors: _Errors, draft: _PersonDraft) -> PersonSpec | None:
    record = draft.record
    name = None
    if _cleared(record.values.get("name")):
        errors.add(record.place("name"), record.label("name"), "the full name is required")
    else:
        name = errors.convert(record, "name", _text)
    role = Role.STAFF
    if not _cleared(record.values.get("role")):
        role = errors.convert(record, "role", _role) or Role.STAFF
    if draft.unit is None and role != Role.ADMIN:
        errors.add(
            record.where,
            record.label("unit"),
            "a unit code is required (only admins may have none)",
        )
    values = _read_fields(errors, record, _PERSON_CONVERTERS, _PERSON_CLEARED)
    if name is None:
        return None
    return PersonSpec(
        name=name,
        where=record.where,
        role=role,
        unit=draft.unit,
        given=frozenset(values),
        **values,
    )


def _resolve_manager(
    errors: _Errors,
    record: _Record,
    index: int,
    people: Sequence[PersonSpec],
    keys: Mapping[str, list[int]],
) -> int | None:
    """The index of the direct head a row names: a username, a Telegram id, or a full name."""
    raw = record.values.get("manager")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool | float):
        errors.add(
            record.place("manager"),
            record.label("manager"),
            "expected a username, Telegram id or name",
        )
        return None
    text = str(raw).strip()
    candidates: list[int] = []
    if _DIGITS.match(text):
        candidates = keys.get(f"id:{int(text)}", [])
    if not candidates:
        candidates = keys.get(f"user:{text.removeprefix('@').lower()}", [])
    if not candidates:
        candidates = keys.get(f"name:{_name_key(text)}", [])
    if not candidates:
        # Vietnamese colleagues go by the given name (the last word): "chị Hạnh".
        candidates = keys.get(f"given:{_name_key(text)}", [])
    if not candidates:
        errors.add(
            record.place("manager"),
            record.label("manager"),
            f"no one in this file has the username, Telegram id or name {text!r}",
        )
        return None
    if len(candidates) > 1:
        rows = ", ".join(people[i].where for i in candidates)
        errors.add(
            record.place("manager"),
            record.label("manager"),
            f"{text!r} is ambiguous ({rows}); use a username or Telegram id",
        )
        return None
    if candidates[0] == index:
        errors.add(
            record.place("manager"), record.label("manager"), "a person cannot be their own head"
        )
        return None
    return candidates[0]


def _check_unique(
    errors: _Errors,
    items: Iterable[tuple[str | None, str, str]],
    what: str,
    key_field: str,
) -> None:
    """Report every repeat of a key with the place it was first seen."""
    first: dict[str, str] = {}
    for key, where, shown in items:
        if key is None:
            continue
        if key in first:
            errors.add(where, key_field, f"{what} {shown} is already used on {first[key]}")
        else:
            first[key] = where


def _unit_order(
    errors: _Errors, units: list[UnitSpec], parent_places: Mapping[str, str]
) -> list[UnitSpec]:
    """Parents first; an unknown parent is reported, and each cycle once."""
    by_code = {u.code: u for u in units}
    for unit in units:
        if unit.parent is not None and unit.parent not in by_code:
            errors.add(
                parent_places.get(unit.code, unit.where),
                "parent",
                f"unknown unit {unit.parent!r} (it is not in this file)",
            )
    reported: set[str] = set()
    for unit in units:
        path: list[str] = []
        code: str | None = unit.code
        while code is not None and code in by_code and code not in path:
            path.append(code)
            code = by_code[code].parent
        if code is not None and code in path:
            cycle = path[path.index(code) :]
            if not reported & set(cycle):
                reported.update(cycle)
                chain = " → ".join([*cycle, code])
                errors.add(
                    parent_places.get(cycle[0], by_code[cycle[0]].where),
                    "parent",
                    f"the unit hierarchy has a cycle: {chain}",
                )
    return parents_first(units, key=lambda u: u.code, parent=lambda u: u.parent)


def _check_managers(errors: _Errors, spec: OrgSpec) -> None:
    """No chain of direct heads (named or default) may come back to where it started."""
    heads = [
        p.manager if p.manager is not None else default_head_index(spec, i)
        for i, p in enumerate(spec.people)
    ]
    reported: set[int] = set()
    for start in range(len(spec.people)):
        path: list[int] = []
        current: int | None = start
        while current is not None and current not in path:
            path.append(current)
            current = heads[current]
        if current is None or current in reported:
            continue
        cycle = path[path.index(current) :]
        if reported & set(cycle):
            continue
        reported.update(cycle)
        names = " → ".join(spec.people[i].name for i in [*cycle, current])
        first = spec.people[cycle[0]]
        errors.add(first.where, "manager", f"the chain of direct heads has a cycle: {names}")


def _check_people(
    errors: _Errors,
    units: Sequence[UnitSpec],
    people: Sequence[PersonSpec],
    records: Sequence[_Record],
) -> None:
    """Ids unique; one leader per unit; rotation teams known; everyone reachable (warning)."""
    # Every row of a file has the same headers, so any record names the columns.
    label: Callable[[str], str] = records[0].label if records else str
    unit_codes = {u.code for u in units}
    for person in people:
        if person.unit is not None and person.unit != "?" and person.unit not in unit_codes:
            errors.add(person.where, label("unit"), f"unknown unit {person.unit!r}")
    for key, what in (("telegram", "Telegram id"), ("username", "username"), ("zalo", "Zalo id")):
        values = [getattr(p, key) for p in people]
        _check_unique(
            errors,
            (
                (value.lower() if value else None, records[i].place(key), str(value))
                for i, value in enumerate(values)
            ),
            what,
            label(key),
        )
    # People without any id are told apart by name within their unit, so that pair is a key.
    _check_unique(
        errors,
        (
            (
                None if (p.telegram or p.username or p.zalo) else f"{p.unit}|{_name_key(p.name)}",
                p.where,
                f"{p.name!r} (unit {p.unit}, no ids)",
            )
            for p in people
        ),
        "the name",
        label("name"),
    )
    for person in people:
        if person.active and not (person.telegram or person.username or person.zalo):
            errors.warn(
                person.where,
                None,
                f"{person.name} has no Telegram id, username or Zalo id: the bot cannot "
                "reach them until they open an invite link",
            )
    for unit in units:
        members = [p for p in people if p.unit == unit.code and p.active]
        leaders = [p for p in members if p.role == Role.LEADER]
        if len(leaders) > 1:
            for extra in leaders[1:]:
                errors.add(
                    extra.where,
                    label("role"),
                    f"unit {unit.code} already has a leader ({leaders[0].name}, "
                    f"{leaders[0].where}); make one of them deputy",
                )
        elif not leaders and members:
            errors.warn(
                unit.where,
                None,
                f"unit {unit.code} has no leader; its people's default head is the leader "
                "of the unit above",
            )
        if unit.rotation is not None and unit.rotation.teams:
            for person in members:
                if person.team is not None and person.team not in unit.rotation.teams:
                    errors.add(
                        person.where,
                        label("team"),
                        f"team {person.team!r} is not in unit {unit.code}'s rotation "
                        f"({', '.join(unit.rotation.teams)})",
                    )


def _check_chats(
    errors: _Errors, units: Sequence[UnitSpec], support: ChatRef | None, support_where: str
) -> None:
    """A chat is the working group of one unit or the support group, never two of these."""
    chats: list[tuple[str | None, str, str]] = []
    for unit in units:
        if unit.group is not None:
            chats.extend(
                (f"{channel}:{chat}", unit.where, f"{channel} {chat}")
                for channel, chat in unit.group.chats()
            )
    if support is not None:
        chats.extend(
            (f"{channel}:{chat}", support_where, f"{channel} {chat}")
            for channel, chat in support.chats()
        )
    # In file order, so "already used on line N" always points upwards.
    chats.sort(key=lambda item: _position(item[1]))
    _check_unique(errors, chats, "chat", "group")


def _build_spec(drafts: _Drafts, errors: _Errors) -> OrgSpec | list[RowError]:
    units: list[UnitSpec] = []
    parent_places: dict[str, str] = {}
    for draft in drafts.units:
        unit = _build_unit(errors, draft)
        if unit is not None:
            units.append(unit)
            parent_places.setdefault(unit.code, draft.record.place("parent"))
    _check_unique(errors, ((u.code, u.where, repr(u.code)) for u in units), "unit code", "code")
    people: list[PersonSpec] = []
    records: list[_Record] = []
    for draft in drafts.people:
        person = _build_person(errors, draft)
        if person is not None:
            people.append(person)
            records.append(draft.record)
    if not drafts.units and not drafts.people:
        errors.add("line 1", None, "the file has no units and no people")
    _check_people(errors, units, people, records)
    support_where = drafts.support_group.where if drafts.support_group else "line 1"
    support = _build_chat(errors, drafts.support_group, _chat_id)
    _check_chats(errors, units, support, support_where)

    keys: dict[str, list[int]] = {}
    for index, person in enumerate(people):
        if person.telegram:
            keys.setdefault(f"id:{person.telegram}", []).append(index)
        if person.username:
            keys.setdefault(f"user:{person.username.lower()}", []).append(index)
        keys.setdefault(f"name:{_name_key(person.name)}", []).append(index)
        keys.setdefault(f"given:{_name_key(person.name).split()[-1]}", []).append(index)
    people = [
        replace(person, manager=_resolve_manager(errors, records[index], index, people, keys))
        for index, person in enumerate(people)
    ]
    spec = OrgSpec(
        units=tuple(_unit_order(errors, units, parent_places)),
        people=tuple(people),
        support_group=support,
        warnings=tuple(errors.warnings),
    )
    if not errors.items:
        # Cycles of heads are only meaningful once every reference resolved.
        _check_managers(errors, spec)
    if errors.items:
        return _sorted_errors(errors.items)
    return spec


def _position(where: str) -> int:
    number = re.search(r"\d+", where)
    return int(number[0]) if number else 0


def _sorted_errors(errors: list[RowError]) -> list[RowError]:
    """In file order, so the admin can walk down the file fixing them."""
    unique = list(dict.fromkeys(errors))
    return sorted(unique, key=lambda error: (_position(error.where), error.field or ""))


def parse_org(data: bytes, fmt: Format) -> OrgSpec | list[RowError]:
    """Validate a whole organisation file; a spec, or every error with its line/row and field.

    A CSV that is really a workbook (Excel names files freely) is read as one.
    """
    unit = "line" if fmt == "yaml" else "row"
    if not data.strip():
        return [RowError(f"{unit} 1", None, "the file is empty")]
    if data.startswith(b"PK\x03\x04") and fmt != "xlsx":
        fmt = "xlsx"
    if fmt == "xlsx":
        rows = _read_xlsx(data)
        if isinstance(rows, RowError):
            return [rows]
        drafts = _parse_table(rows)
    else:
        try:
            text = decode_text(data)
        except UnicodeDecodeError:
            return [
                RowError(
                    f"{unit} 1",
                    None,
                    "cannot read the text: it is neither UTF-8 nor Windows-1258 "
                    "(save it from Excel as 'CSV UTF-8')",
                )
            ]
        if fmt == "yaml":
            drafts = _parse_yaml(text)
        elif fmt == "csv":
            rows_or_error = _split_csv(text)
            if isinstance(rows_or_error, RowError):
                return [rows_or_error]
            drafts = _parse_table(rows_or_error)
        else:
            raise ValueError(f"unsupported format {fmt!r}")
    if isinstance(drafts, list):
        return _sorted_errors(drafts)
    return _build_spec(drafts, _Errors(list(drafts.errors), list(drafts.warnings)))


# ---------------------------------------------------------------------------------------------
# Applying a spec to the database
# ---------------------------------------------------------------------------------------------


class ImportConflictError(Exception):
    """The file is valid on its own but clashes with the database.

    Raised before anything is committed; the caller's transaction must roll back, and
    ``errors`` say what to fix.
    """

    def __init__(self, errors: Sequence[RowError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = list(errors)


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    deactivated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def is_noop(self) -> bool:
        return not (self.added or self.changed or self.deactivated or self.removed)

    def summary(self) -> str:
        """What an admin reads after an import, one change per line."""
        if self.is_noop:
            return f"no changes ({self.unchanged} unchanged)"
        head = f"added {len(self.added)}, changed {len(self.changed)}, unchanged {self.unchanged}"
        if self.deactivated:
            head += f", deactivated {len(self.deactivated)}"
        if self.removed:
            head += f", removed {len(self.removed)}"
        lines = [head]
        lines += [f"+ {item}" for item in self.added]
        lines += [f"~ {item}" for item in self.changed]
        lines += [f"- {item}" for item in [*self.deactivated, *self.removed]]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


_UNIT_FIELDS = (
    "code",
    "name",
    "parent_id",
    "timezone",
    "working_days",
    "office_quota",
    "checkin_by",
    "report_at",
    "health_declaration",
    "settings",
)
_PERSON_FIELDS = (
    "full_name",
    "role",
    "unit_id",
    "manager_id",
    "language",
    "team",
    "on_duty",
    "active",
)
_IDENTITY_FIELDS = ("channel", "user_id", "username", "person_id")
_CHAT_FIELDS = ("channel", "chat_id", "purpose", "unit_id", "title")


def _snapshot(obj: object, fields: Sequence[str]) -> dict[str, Any]:
    snap: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        snap[name] = dict(value) if isinstance(value, dict) else value
    return snap


@dataclass
class _Tracked:
    """An entity the import touched, with its state before (None when it is new)."""

    obj: Any
    entity: str
    fields: tuple[str, ...]
    before: dict[str, Any] | None
    label: Callable[[], str]


@dataclass
class _State:
    """The whole organisation, loaded once: offices have hundreds of people, not millions.

    Relationships are never used: in async code a lazy load would fail, and ids are enough.
    """

    units: dict[str, Unit]
    people: dict[int, Person]
    identities: list[Identity]
    chats: list[ChatBinding]
    tracked: dict[int, _Tracked] = field(default_factory=dict)
    removed: list[tuple[Any, str, dict[str, Any], str]] = field(default_factory=list)

    def track(
        self, obj: Any, entity: str, fields: tuple[str, ...], label: Callable[[], str]
    ) -> None:
        if id(obj) not in self.tracked:
            before = None if getattr(obj, "id", None) is None else _snapshot(obj, fields)
            self.tracked[id(obj)] = _Tracked(obj, entity, fields, before, label)

    def identity(
        self, channel: str, *, user_id: str | None = None, username: str | None = None
    ) -> Identity | None:
        for ident in self.identities:
            if ident.channel != channel:
                continue
            if user_id is not None and ident.user_id == user_id:
                return ident
            if (
                username is not None
                and ident.username is not None
                and ident.username.lower() == username.lower()
            ):
                return ident
        return None


async def _load(session: AsyncSession) -> _State:
    units = {u.code: u for u in await session.scalars(select(Unit).order_by(Unit.id))}
    people = {p.id: p for p in await session.scalars(select(Person).order_by(Person.id))}
    identities = list(await session.scalars(select(Identity).order_by(Identity.id)))
    chats = list(await session.scalars(select(ChatBinding).order_by(ChatBinding.id)))
    return _State(units, people, identities, chats)


def _apply_unit(state: _State, spec: UnitSpec) -> Unit:
    unit = state.units.get(spec.code)
    if unit is None:
        unit = Unit(
            code=spec.code,
            name=spec.name or spec.code,
            timezone=DEFAULT_TIMEZONE,
            working_days="12345",
            checkin_by="09:00",
            report_at="16:30",
            health_declaration=True,
            settings={},
        )
        state.units[spec.code] = unit
    state.track(unit, "unit", _UNIT_FIELDS, lambda: f"unit {unit.code} ({unit.name})")
    for key in (
        "name",
        "timezone",
        "working_days",
        "checkin_by",
        "report_at",
        "health_declaration",
    ):
        if key in spec.given:
            setattr(unit, key, getattr(spec, key))
    settings = dict(unit.settings or {})
    if "office_quota" in spec.given:
        if spec.office_quota is None:
            unit.office_quota = None
            settings.pop(QUOTA_KIND_KEY, None)
        else:
            unit.office_quota = float(spec.office_quota)
            settings[QUOTA_KIND_KEY] = "people" if isinstance(spec.office_quota, int) else "share"
    if "rotation" in spec.given:
        if spec.rotation is None:
            settings.pop(ROTATION_KEY, None)
        else:
            settings[ROTATION_KEY] = spec.rotation.to_json()
    if "settings" in spec.given:
        settings.update(spec.settings)
    if settings != (unit.settings or {}):
        unit.settings = settings  # a new dict: JSON columns do not notice in-place changes
    return unit


def _find_person(
    state: _State, spec: PersonSpec, unit: Unit | None, claimed: set[int], step: int
) -> Person | None:
    """The existing person a row describes; ``step`` is the kind of evidence tried (0-3)."""
    ident: Identity | None = None
    if step == 0 and spec.telegram:
        ident = state.identity("telegram", user_id=spec.telegram)
    elif step == 1 and spec.username:
        ident = state.identity("telegram", username=spec.username)
        # A username now on another account no longer identifies this person.
        if ident is not None and ident.user_id and spec.telegram and ident.user_id != spec.telegram:
            ident = None
    elif step == 2 and spec.zalo:
        ident = state.identity("zalo", user_id=spec.zalo)
    elif step == 3:
        unit_id = unit.id if unit is not None else None
        key = _name_key(spec.name)
        for person in state.people.values():
            if (
                person.id not in claimed
                and person.unit_id == unit_id
                and _name_key(person.full_name) == key
                and not _bound_elsewhere(state, person, spec)
            ):
                return person
        return None
    if ident is None or ident.person_id is None or ident.person_id in claimed:
        return None
    return state.people.get(ident.person_id)


def _bound_elsewhere(state: _State, person: Person, spec: PersonSpec) -> bool:
    """True when the person already has a Telegram account other than the row's."""
    return bool(spec.telegram) and any(
        i.person_id == person.id
        and i.channel == "telegram"
        and i.user_id is not None
        and i.user_id != spec.telegram
        for i in state.identities
    )


def _person_label(person: Person) -> Callable[[], str]:
    return lambda: f"person {person.full_name} (#{person.id})"


def _apply_person(
    state: _State, person: Person, spec: PersonSpec, unit_of: Mapping[str, Unit]
) -> None:
    state.track(person, "person", _PERSON_FIELDS, _person_label(person))
    person.full_name = spec.name
    person.role = spec.role.value
    person.unit_id = unit_of[spec.unit].id if spec.unit else None
    person.active = spec.active
    for key in ("language", "team", "on_duty"):
        if key in spec.given:
            setattr(person, key, getattr(spec, key))


@dataclass
class _IdentityPlan:
    """Final values for existing identities, applied after conflicting usernames are freed."""

    changes: dict[int, tuple[Identity, dict[str, Any]]] = field(default_factory=dict)
    doomed: list[Identity] = field(default_factory=list)
    new: list[Identity] = field(default_factory=list)
    conflicts: list[RowError] = field(default_factory=list)

    def want(self, ident: Identity, **values: Any) -> None:
        self.changes.setdefault(id(ident), (ident, {}))[1].update(values)

    def value(self, ident: Identity, key: str) -> Any:
        entry = self.changes.get(id(ident))
        return entry[1].get(key, getattr(ident, key)) if entry else getattr(ident, key)


def _identity_label(ident: Identity, state: _State) -> Callable[[], str]:
    def label() -> str:
        who = f"{ident.channel} {ident.user_id or '(pending)'}"
        if ident.username:
            who += f" @{ident.username}"
        owner = state.people.get(ident.person_id) if ident.person_id else None
        return f"identity {who} → {owner.full_name}" if owner is not None else f"identity {who}"

    return label


def _plan_identity(
    state: _State,
    plan: _IdentityPlan,
    person: Person,
    spec: PersonSpec,
    channel: str,
    user_id: str | None,
    username: str | None,
) -> None:
    """Decide which identity carries this row's account on ``channel``, and its final values.

    Identities are never removed because a file omits them; a pending (username-only)
    identity is removed only when the real account, found by id, takes over its username.
    """
    if user_id is None and username is None:
        return
    live = [i for i in state.identities if i not in plan.doomed and i.channel == channel]
    by_id = next((i for i in live if user_id and plan.value(i, "user_id") == user_id), None)
    by_name = None
    if username:
        by_name = next(
            (i for i in live if (plan.value(i, "username") or "").lower() == username.lower()),
            None,
        )
    target = by_id
    if by_name is not None and by_name is not by_id:
        pending = plan.value(by_name, "user_id") is None
        if by_id is not None:
            if pending:
                plan.doomed.append(by_name)  # the real account now carries the username
            else:
                plan.want(by_name, username=None)  # the username moved to this account
        elif pending:
            target = by_name
        elif user_id is not None:
            plan.want(by_name, username=None)
        elif by_name.person_id in (None, person.id):
            target = by_name
        else:
            owner = state.people.get(by_name.person_id)
            plan.conflicts.append(
                RowError(
                    spec.where,
                    "username",
                    f"@{username} belongs to Telegram id {by_name.user_id}"
                    + (f" ({owner.full_name})" if owner else "")
                    + "; give this person's Telegram id",
                )
            )
            return
    if target is None:
        own = [i for i in live if i.person_id == person.id and i not in plan.doomed]
        pending_own = next((i for i in own if plan.value(i, "user_id") is None), None)
        if pending_own is not None:
            target = pending_own
        elif own and user_id is None:
            target = own[0]  # the person's account changed its username
    if target is None:
        ident = Identity(
            channel=channel, user_id=user_id, username=username, person_id=person.id, first_name=""
        )
        plan.new.append(ident)
        state.identities.append(ident)
        state.track(ident, "identity", _IDENTITY_FIELDS, _identity_label(ident, state))
        return
    state.track(target, "identity", _IDENTITY_FIELDS, _identity_label(target, state))
    if user_id is not None and plan.value(target, "user_id") != user_id:
        plan.want(target, user_id=user_id)
    # Usernames compare without case; the spelling Telegram last reported is kept.
    current_name = plan.value(target, "username")
    if username is not None and (current_name or "").lower() != username.lower():
        plan.want(target, username=username)
    if target.person_id != person.id:
        plan.want(target, person_id=person.id)


async def _apply_identities(
    state: _State, session: AsyncSession, spec: OrgSpec, persons: Sequence[Person]
) -> None:
    plan = _IdentityPlan()
    for person, person_spec in zip(persons, spec.people, strict=True):
        _plan_identity(
            state,
            plan,
            person,
            person_spec,
            "telegram",
            person_spec.telegram,
            person_spec.username,
        )
        _plan_identity(state, plan, person, person_spec, "zalo", person_spec.zalo, None)
    if plan.conflicts:
        raise ImportConflictError(plan.conflicts)
    for ident in plan.doomed:
        state.removed.append(
            (ident, "identity", _snapshot(ident, _IDENTITY_FIELDS), _identity_label(ident, state)())
        )
        state.identities.remove(ident)
        if ident.id is not None:
            await session.delete(ident)
    for ident, values in plan.changes.values():
        if ident in plan.doomed:
            continue
        state.track(ident, "identity", _IDENTITY_FIELDS, _identity_label(ident, state))
        if "username" in values:
            ident.username = None
    # Free every username that changes hands before giving any out: a swap of two usernames
    # would otherwise trip the unique constraint halfway through the flush.
    await session.flush()
    for ident, values in plan.changes.values():
        if ident not in plan.doomed:
            for key, value in values.items():
                setattr(ident, key, value)
    session.add_all(plan.new)


def _chat_label(binding: ChatBinding) -> Callable[[], str]:
    def label() -> str:
        what = "support group" if binding.purpose == ChatPurpose.SUPPORT_GROUP else "group"
        return f"{binding.channel} chat {binding.chat_id} ({what} {binding.title or ''})".rstrip()

    return label


def _apply_chats(
    state: _State,
    session: AsyncSession,
    ref: ChatRef,
    purpose: ChatPurpose,
    unit: Unit | None,
    default_title: str,
) -> None:
    unit_id = unit.id if unit is not None else None
    for channel, chat_id in ref.chats():
        binding = next(
            (c for c in state.chats if c.channel == channel and c.chat_id == chat_id), None
        )
        if binding is None:
            binding = ChatBinding(
                channel=channel,
                chat_id=chat_id,
                purpose=purpose.value,
                unit_id=unit_id,
                title=ref.title or default_title,
            )
            session.add(binding)
            state.chats.append(binding)
        state.track(binding, "chat", _CHAT_FIELDS, _chat_label(binding))
        binding.purpose = purpose.value
        binding.unit_id = unit_id
        if ref.title:
            binding.title = ref.title
        # One working group per unit and channel, one support group per channel.
        for other in list(state.chats):
            if (
                other is not binding
                and other.channel == channel
                and other.purpose == purpose.value
                and other.unit_id == unit_id
            ):
                state.removed.append(
                    (other, "chat", _snapshot(other, _CHAT_FIELDS), _chat_label(other)())
                )
                state.chats.remove(other)


def _check_cycles(state: _State) -> None:
    """The database as a whole (the file plus what it left alone) must have no cycles."""
    problems: list[RowError] = []
    parent = {u.id: u.parent_id for u in state.units.values()}
    codes = {u.id: u.code for u in state.units.values()}
    head = {p.id: p.manager_id for p in state.people.values()}
    names = {p.id: p.full_name for p in state.people.values()}
    for links, shown, what, key in (
        (parent, codes, "the unit hierarchy", "parent"),
        (head, names, "the chain of direct heads", "manager"),
    ):
        for start in links:
            seen: list[int] = []
            current: int | None = start
            while current is not None and current not in seen:
                seen.append(current)
                current = links.get(current)
            if current == start:
                chain = " → ".join(str(shown[i]) for i in [*seen, start])
                problems.append(RowError("database", key, f"{what} would have a cycle: {chain}"))
                break
    if problems:
        raise ImportConflictError(problems)


async def apply_org(
    session: AsyncSession,
    spec: OrgSpec,
    *,
    now: datetime,
    actor_label: str = "import",
    actor: Actor | None = None,
    deactivate_missing: bool = False,
) -> ImportReport:
    """Make the database match ``spec`` inside the caller's transaction (nothing is committed).

    Raises :class:`ImportConflictError` when the file clashes with what the database holds
    (a username on someone else's account, a cycle through a unit the file leaves alone);
    the caller rolls back and shows the errors.
    """
    state = await _load(session)
    report = ImportReport(warnings=[str(w) for w in spec.warnings])

    unit_of: dict[str, Unit] = {}
    for unit_spec in spec.units:
        unit = _apply_unit(state, unit_spec)
        if unit.id is None:
            session.add(unit)
        unit_of[unit_spec.code] = unit
    await session.flush()
    for unit_spec in spec.units:
        if "parent" in unit_spec.given:
            parent = unit_of[unit_spec.parent] if unit_spec.parent else None
            unit_of[unit_spec.code].parent_id = parent.id if parent is not None else None

    # Strongest evidence first across all rows, so a name match never takes a person whom
    # a later row identifies by Telegram id.
    found: list[Person | None] = [None] * len(spec.people)
    claimed: set[int] = set()
    for step in range(4):
        for index, person_spec in enumerate(spec.people):
            if found[index] is None:
                unit = unit_of.get(person_spec.unit) if person_spec.unit else None
                person = _find_person(state, person_spec, unit, claimed, step)
                if person is not None:
                    found[index] = person
                    claimed.add(person.id)
    persons: list[Person] = []
    for index, person_spec in enumerate(spec.people):
        person = found[index]
        if person is None:
            person = Person(full_name=person_spec.name, role=person_spec.role.value)
            person.on_duty = False
            session.add(person)
        _apply_person(state, person, person_spec, unit_of)
        persons.append(person)
    await session.flush()
    for person in persons:
        state.people[person.id] = person
    for person, person_spec in zip(persons, spec.people, strict=True):
        head = persons[person_spec.manager] if person_spec.manager is not None else None
        person.manager_id = head.id if head is not None else None

    await _apply_identities(state, session, spec, persons)

    for unit_spec in spec.units:
        if unit_spec.group is not None:
            _apply_chats(
                state,
                session,
                unit_spec.group,
                ChatPurpose.UNIT_GROUP,
                unit_of[unit_spec.code],
                unit_of[unit_spec.code].name,
            )
    if spec.support_group is not None:
        _apply_chats(
            state, session, spec.support_group, ChatPurpose.SUPPORT_GROUP, None, "support group"
        )
    for obj, entity, _before, _label in state.removed:
        if entity == "chat" and obj.id is not None:
            await session.delete(obj)

    if deactivate_missing:
        listed = {p.id for p in persons}
        for person in state.people.values():
            if person.id not in listed and person.active:
                state.track(person, "person", _PERSON_FIELDS, _person_label(person))
                person.active = False

    await session.flush()
    _check_cycles(state)
    await _audit(session, state, report, now=now, actor=actor, actor_label=actor_label)
    return report


async def _audit(
    session: AsyncSession,
    state: _State,
    report: ImportReport,
    *,
    now: datetime,
    actor: Actor | None,
    actor_label: str,
) -> None:
    """One audit entry per added, changed or removed row; the report says the same in words."""

    async def log(action: str, entity: str, entity_id: object, before: Any, after: Any) -> None:
        await audit.record(
            session,
            at=now,
            actor=actor,
            actor_label=actor_label,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=_jsonable(before),
            after=_jsonable(after),
        )

    removed = {id(obj) for obj, *_ in state.removed}
    for tracked in state.tracked.values():
        if id(tracked.obj) in removed:
            continue
        after = _snapshot(tracked.obj, tracked.fields)
        if tracked.before is None:
            await log("org.import.add", tracked.entity, tracked.obj.id, None, after)
            report.added.append(tracked.label())
            continue
        changed = [k for k in tracked.fields if tracked.before[k] != after[k]]
        if not changed:
            report.unchanged += 1
            continue
        old = {k: tracked.before[k] for k in changed}
        new = {k: after[k] for k in changed}
        await log("org.import.change", tracked.entity, tracked.obj.id, old, new)
        if tracked.entity == "person" and changed == ["active"] and not new["active"]:
            report.deactivated.append(tracked.label())
        else:
            details = "; ".join(f"{k} {_show(old[k])} → {_show(new[k])}" for k in changed)
            report.changed.append(f"{tracked.label()}: {details}")
    for obj, entity, before, label in state.removed:
        await log("org.import.remove", entity, obj.id, before, None)
        report.removed.append(label)


def _jsonable(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return json.loads(json.dumps(values, default=str))  # type: ignore[no-any-return]


def _show(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)
