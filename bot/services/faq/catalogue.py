"""The catalogue of procedures and general topics: model, loader, validator, exporter.

An agency replaces the shipped catalogue with its own official list in YAML, CSV or
XLSX. A file is either accepted whole or rejected with *every* error, each with the
line (YAML) or row (CSV/XLSX) where it is: an admin fixing a 300-row spreadsheet must
see all problems at once, and a half-imported catalogue would answer citizens from a
mix of old and new facts.

Tabular layout (CSV and XLSX share it; one row per entry, header on row 1):
``type`` (procedure|topic), ``id``, ``national_code``, ``name_vi``, ``name_en``,
``aliases``, ``field``, ``level``, ``online_level``, ``sign_in_person``,
``postal_return``, ``portal_url``, ``documents``, ``tags``, ``verified``, ``note``,
``in_person``/``online``/``post`` (yes/no) with ``*_time`` and ``*_fee``, and for
topics ``body_vi``/``body_en`` (a topic's title goes in ``name_vi``/``name_en``).
Lists (aliases, documents, tags) are separated by ``|``.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

ChannelKind = Literal["in_person", "online", "post"]
Level = Literal["commune", "district", "province", "central"]
Format = Literal["yaml", "csv", "xlsx"]

CHANNEL_KINDS: tuple[ChannelKind, ...] = ("in_person", "online", "post")
LEVELS: tuple[Level, ...] = ("commune", "district", "province", "central")
# 0 means "none" (information only); 1 is accepted because old lists still say
# "mức độ 1", and it behaves like none everywhere.
ONLINE_LEVELS: tuple[int, ...] = (0, 1, 2, 3, 4)

PROCEDURE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
TOPIC_ID = re.compile(r"topic:[a-z0-9]+(?:-[a-z0-9]+)*")
# Chat buttons carry the id (Telegram allows 64 bytes of button data, prefix included).
MAX_ID_LENGTH = 48
LIST_SEPARATOR = "|"

TABLE_COLUMNS: tuple[str, ...] = (
    "type",
    "id",
    "national_code",
    "name_vi",
    "name_en",
    "aliases",
    "field",
    "level",
    "online_level",
    "sign_in_person",
    "postal_return",
    "portal_url",
    "documents",
    "tags",
    "verified",
    "note",
    "in_person",
    "in_person_time",
    "in_person_fee",
    "online",
    "online_time",
    "online_fee",
    "post",
    "post_time",
    "post_fee",
    "body_vi",
    "body_en",
)

PROCEDURE_KEYS = frozenset(
    {
        "id",
        "national_code",
        "name_vi",
        "name_en",
        "aliases",
        "field",
        "level",
        "online_level",
        "channels",
        "sign_in_person",
        "postal_return",
        "portal_url",
        "documents",
        "tags",
        "verified",
        "note",
    }
)
TOPIC_KEYS = frozenset({"id", "title_vi", "title_en", "body_vi", "body_en", "aliases"})
CHANNEL_KEYS = frozenset({"kind", "processing_time", "fee"})

_TRUE = frozenset({"true", "yes", "y", "1", "x", "co", "có", "đúng"})
_FALSE = frozenset({"false", "no", "n", "0", "khong", "không", "", "none"})


@dataclass(frozen=True)
class Channel:
    """One way to file: in person, online or by post, each with its own time and fee."""

    kind: ChannelKind
    processing_time: str | None = None
    fee: str | None = None


@dataclass(frozen=True)
class Procedure:
    id: str
    name_vi: str
    name_en: str
    field: str
    level: Level
    online_level: int
    national_code: str | None = None
    aliases: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    sign_in_person: bool = False
    postal_return: bool = True
    portal_url: str | None = None
    documents: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # False for facts (code, level, fee) we could not check against an official list
    verified: bool = False
    note: str | None = None

    @property
    def title(self) -> str:
        return self.name_vi

    def channel(self, kind: ChannelKind) -> Channel | None:
        return next((ch for ch in self.channels if ch.kind == kind), None)


@dataclass(frozen=True)
class Topic:
    id: str
    title_vi: str
    title_en: str
    body_vi: str
    body_en: str
    aliases: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.title_vi


Entry = Procedure | Topic


@dataclass(frozen=True)
class Catalogue:
    procedures: tuple[Procedure, ...] = ()
    topics: tuple[Topic, ...] = ()

    @property
    def entries(self) -> tuple[Entry, ...]:
        return (*self.procedures, *self.topics)

    def get(self, entry_id: str) -> Entry | None:
        # Linear scan: lookups are rare (card rendering); the matcher keeps its own index.
        return next((e for e in self.entries if e.id == entry_id), None)

    def fields(self) -> list[str]:
        """Fields in first-seen order, for the browse menu."""
        return list(dict.fromkeys(p.field for p in self.procedures))


@dataclass(frozen=True)
class CatalogueError:
    """One problem in a catalogue file; ``location`` is "line 12" or "row 7"."""

    location: str
    entry_id: str | None
    message: str

    def __str__(self) -> str:
        who = f" [{self.entry_id}]" if self.entry_id else ""
        return f"{self.location}{who}: {self.message}"


@dataclass(frozen=True)
class LoadResult:
    """Either a whole catalogue (``errors`` empty) or every error and no catalogue."""

    catalogue: Catalogue | None
    errors: tuple[CatalogueError, ...] = ()

    @property
    def ok(self) -> bool:
        return self.catalogue is not None and not self.errors


class CatalogueInvalidError(ValueError):
    def __init__(self, errors: Sequence[CatalogueError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(e) for e in errors[:10]))


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def detect_format(name: str) -> Format:
    suffix = Path(name).suffix.lower()
    if suffix in {".yaml", ".yml"}:
        return "yaml"
    if suffix == ".csv":
        return "csv"
    if suffix in {".xlsx", ".xlsm"}:
        return "xlsx"
    raise ValueError(f"unsupported catalogue file type: {suffix or name!r}")


def load_catalogue(path: str | Path) -> LoadResult:
    path = Path(path)
    return parse_catalogue(path.read_bytes(), detect_format(path.name))


def load_catalogue_or_raise(path: str | Path) -> Catalogue:
    result = load_catalogue(path)
    if result.catalogue is None:
        raise CatalogueInvalidError(result.errors)
    return result.catalogue


def shipped_catalogue_path() -> Path:
    return Path(str(resources.files(__package__).joinpath("data", "catalogue.yaml")))


def load_shipped_catalogue() -> Catalogue:
    return load_catalogue_or_raise(shipped_catalogue_path())


def parse_catalogue(data: bytes, fmt: Format) -> LoadResult:
    """Parse and validate bytes (an uploaded file) in the given format."""
    if fmt == "yaml":
        try:
            text = decode_text(data)
        except UnicodeDecodeError as exc:
            return _failed("line 1", None, f"cannot decode file: {exc}")
        return _parse_yaml(text)
    if fmt == "csv":
        try:
            text = decode_text(data)
        except UnicodeDecodeError as exc:
            return _failed("row 1", None, f"cannot decode file: {exc}")
        return _parse_rows(_csv_rows(text), "row")
    if fmt == "xlsx":
        return _parse_xlsx(data)
    raise ValueError(f"unsupported format {fmt!r}")


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without Excel's BOM), else Windows-1258.

    Vietnamese offices still save CSV from old Excel in Windows-1258, which writes
    tones as combining marks; NFC makes those equal to the UTF-8 spelling.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1258")
    return unicodedata.normalize("NFC", text)


def _failed(location: str, entry_id: str | None, message: str) -> LoadResult:
    return LoadResult(None, (CatalogueError(location, entry_id, message),))


def _parse_yaml(text: str) -> LoadResult:
    try:
        root, data = _compose_and_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else "line 1"
        return _failed(line, None, f"not valid YAML: {exc}")
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        return _failed("line 1", None, "expected a mapping with 'procedures' and 'topics'")
    errors: list[CatalogueError] = []
    lines = _item_lines(root)
    for key in data:
        if key not in {"procedures", "topics", "version", "note"}:
            errors.append(CatalogueError("line 1", None, f"unknown top-level key {key!r}"))
    procedures: list[Procedure] = []
    topics: list[Topic] = []
    for section in ("procedures", "topics"):
        items = data.get(section) or []
        if not isinstance(items, list):
            errors.append(CatalogueError("line 1", None, f"'{section}' must be a list"))
            continue
        for index, item in enumerate(items):
            where = f"line {lines[section][index]}" if index < len(lines[section]) else "line ?"
            if not isinstance(item, dict):
                errors.append(CatalogueError(where, None, f"{section} item must be a mapping"))
                continue
            if section == "procedures":
                proc, errs = _procedure_from_mapping(item, where)
                errors.extend(errs)
                if proc is not None:
                    procedures.append(proc)
            else:
                topic, errs = _topic_from_mapping(item, where)
                errors.extend(errs)
                if topic is not None:
                    topics.append(topic)
    return _finish(procedures, topics, errors, _yaml_id_locations(data, lines))


# libyaml when it is installed: the shipped file parses ~10x faster (start-up, tests).
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """One parse gives both the node tree (for line numbers) and the data."""
    loader = _SAFE_LOADER(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data


def _item_lines(root: yaml.MappingNode) -> dict[str, list[int]]:
    """1-based line of every item under 'procedures' and 'topics'."""
    out: dict[str, list[int]] = {"procedures": [], "topics": []}
    for key_node, value_node in root.value:
        if key_node.value in out and isinstance(value_node, yaml.SequenceNode):
            out[key_node.value] = [item.start_mark.line + 1 for item in value_node.value]
    return out


def _yaml_id_locations(data: Mapping[str, Any], lines: Mapping[str, list[int]]) -> list[str]:
    locations: list[str] = []
    for section in ("procedures", "topics"):
        items = data.get(section) or []
        if isinstance(items, list):
            locations.extend(f"line {ln}" for ln in lines[section][: len(items)])
    return locations


def _csv_rows(text: str) -> list[tuple[int, dict[str, str]]] | CatalogueError:
    # Excel in a Vietnamese locale often writes ";" as the separator; sniff it.
    sample = text.split("\n", 1)[0]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        all_rows = list(reader)
    except csv.Error as exc:
        return CatalogueError("row ?", None, f"not valid CSV: {exc}")
    return _rows_with_header(all_rows)


def _rows_with_header(
    all_rows: Sequence[Sequence[Any]],
) -> list[tuple[int, dict[str, str]]] | CatalogueError:
    if not all_rows:
        return CatalogueError("row 1", None, "the file is empty (a header row is required)")
    header = [str(h or "").strip().lower() for h in all_rows[0]]
    unknown = [h for h in header if h and h not in TABLE_COLUMNS]
    missing = [c for c in ("type", "id", "name_vi") if c not in header]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"unknown columns {unknown}")
        if missing:
            parts.append(f"missing columns {missing}")
        return CatalogueError("row 1", None, "; ".join(parts))
    rows: list[tuple[int, dict[str, str]]] = []
    for number, raw in enumerate(all_rows[1:], start=2):
        values = ["" if v is None else str(v) for v in raw]
        if not any(v.strip() for v in values):
            continue  # blank lines in spreadsheets are common and harmless
        rows.append(
            (number, {h: (values[i] if i < len(values) else "") for i, h in enumerate(header) if h})
        )
    return rows


def _parse_xlsx(data: bytes) -> LoadResult:
    from openpyxl import load_workbook  # imported lazily: only imports need it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        return _failed("row 1", None, f"not a valid XLSX workbook: {exc}")
    try:
        sheet = workbook.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    normalised = [[_cell_text(v) for v in r] for r in rows]
    return _parse_rows(_rows_with_header(normalised), "row")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel turns "3" into 3.0
    return unicodedata.normalize("NFC", str(value))


def _parse_rows(rows: list[tuple[int, dict[str, str]]] | CatalogueError, unit: str) -> LoadResult:
    if isinstance(rows, CatalogueError):
        return LoadResult(None, (rows,))
    errors: list[CatalogueError] = []
    procedures: list[Procedure] = []
    topics: list[Topic] = []
    proc_locations: list[str] = []
    topic_locations: list[str] = []
    for number, row in rows:
        where = f"{unit} {number}"
        kind = row.get("type", "").strip().lower()
        if kind == "procedure":
            proc, errs = _procedure_from_mapping(_row_to_procedure_mapping(row), where)
            errors.extend(errs)
            if proc is not None:
                procedures.append(proc)
                proc_locations.append(where)
        elif kind == "topic":
            topic_map = {
                "id": row.get("id", ""),
                "title_vi": row.get("name_vi", ""),
                "title_en": row.get("name_en", ""),
                "body_vi": row.get("body_vi", ""),
                "body_en": row.get("body_en", ""),
                "aliases": _split_list(row.get("aliases", "")),
            }
            topic, errs = _topic_from_mapping(topic_map, where)
            errors.extend(errs)
            if topic is not None:
                topics.append(topic)
                topic_locations.append(where)
        else:
            errors.append(
                CatalogueError(
                    where, row.get("id") or None, f"type must be procedure or topic, got {kind!r}"
                )
            )
    locations = proc_locations + topic_locations
    return _finish(procedures, topics, errors, locations)


def _row_to_procedure_mapping(row: Mapping[str, str]) -> dict[str, Any]:
    channels = []
    for kind in CHANNEL_KINDS:
        flag = row.get(kind, "").strip()
        time = row.get(f"{kind}_time", "").strip()
        fee = row.get(f"{kind}_fee", "").strip()
        present = _parse_bool(flag) if flag else bool(time or fee)
        if present is None:
            channels.append({"kind": kind, "_bad_flag": flag})
        elif present:
            channels.append({"kind": kind, "processing_time": time or None, "fee": fee or None})
    mapping: dict[str, Any] = {
        key: row.get(key, "")
        for key in (
            "id",
            "national_code",
            "name_vi",
            "name_en",
            "field",
            "level",
            "online_level",
            "sign_in_person",
            "postal_return",
            "portal_url",
            "verified",
            "note",
        )
    }
    mapping["aliases"] = _split_list(row.get("aliases", ""))
    mapping["documents"] = _split_list(row.get("documents", ""))
    mapping["tags"] = _split_list(row.get("tags", ""))
    mapping["channels"] = channels
    if row.get("body_vi", "").strip() or row.get("body_en", "").strip():
        mapping["_body_on_procedure"] = True
    return mapping


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]


# ---------------------------------------------------------------------------
# Validation of one entry (shared by every format)
# ---------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value)).strip()
    return text or None


def _parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _parse_online_level(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in {"", "none"}):
        return 0
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number in ONLINE_LEVELS else None


def _str_list(
    value: Any, where: str, entry_id: str | None, name: str
) -> tuple[tuple[str, ...], list[CatalogueError]]:
    if value is None or value == "":
        return (), []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return (), [CatalogueError(where, entry_id, f"{name} must be a list of texts")]
    items = [_text(v) for v in value]
    if any(item is None for item in items):
        return (), [CatalogueError(where, entry_id, f"{name} contains an empty item")]
    return tuple(item for item in items if item is not None), []


def _id_problem(entry_id: str | None, shape: re.Pattern[str], wrong_shape: str) -> str | None:
    """What is wrong with an entry's id (required, of the kind's shape, not too long), or None."""
    if entry_id is None:
        return "id is required"
    if not shape.fullmatch(entry_id):
        return wrong_shape
    if len(entry_id) > MAX_ID_LENGTH:
        return f"id must be at most {MAX_ID_LENGTH} characters"
    return None


def _procedure_from_mapping(
    item: Mapping[str, Any], where: str
) -> tuple[Procedure | None, list[CatalogueError]]:
    errors: list[CatalogueError] = []
    entry_id = _text(item.get("id"))

    def err(message: str) -> None:
        errors.append(CatalogueError(where, entry_id, message))

    for key in item:
        if key not in PROCEDURE_KEYS and not str(key).startswith("_"):
            err(f"unknown field {key!r}")
    if item.get("_body_on_procedure"):
        err("body_vi/body_en are only for topics")
    problem = _id_problem(entry_id, PROCEDURE_ID, "id must be a lowercase slug like 'khai-sinh'")
    if problem is not None:
        err(problem)
    code = item.get("national_code")
    if isinstance(code, int | float) and not isinstance(code, bool):
        # Unquoted in YAML, "2.000200" becomes the float 2.0002: the code is lost.
        err(f"national_code must be quoted text, got the number {code!r}")
    name_vi = _text(item.get("name_vi"))
    name_en = _text(item.get("name_en"))
    if name_vi is None:
        err("name_vi is required")
    if name_en is None:
        err("name_en is required")
    field_name = _text(item.get("field"))
    if field_name is None:
        err("field is required")
    level = _text(item.get("level"))
    if level not in LEVELS:
        err(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    online_level = _parse_online_level(item.get("online_level"))
    if online_level is None:
        err(f"online_level must be none, 1, 2, 3 or 4, got {item.get('online_level')!r}")
    sign = _parse_bool(item.get("sign_in_person", False))
    if sign is None:
        err(f"sign_in_person must be yes or no, got {item.get('sign_in_person')!r}")
    postal = _parse_bool(item.get("postal_return", True))
    if postal is None:
        err(f"postal_return must be yes or no, got {item.get('postal_return')!r}")
    if sign and postal:
        # The register must be signed in person, so the result cannot travel by post.
        err("postal_return cannot be yes when sign_in_person is yes")
    verified = _parse_bool(item.get("verified", False))
    if verified is None:
        err(f"verified must be yes or no, got {item.get('verified')!r}")
    portal = _text(item.get("portal_url"))
    if portal is not None and not re.match(r"https?://\S+$", portal):
        err(f"portal_url must be an http(s) link, got {portal!r}")
    aliases, errs = _str_list(item.get("aliases"), where, entry_id, "aliases")
    errors.extend(errs)
    documents, errs = _str_list(item.get("documents"), where, entry_id, "documents")
    errors.extend(errs)
    tags, errs = _str_list(item.get("tags"), where, entry_id, "tags")
    errors.extend(errs)
    channels, errs = _channels(item.get("channels"), where, entry_id)
    errors.extend(errs)
    if errors:
        return None, errors
    assert entry_id and name_vi and name_en and field_name and level in LEVELS
    return (
        Procedure(
            id=entry_id,
            name_vi=name_vi,
            name_en=name_en,
            field=field_name,
            level=level,  # type: ignore[arg-type]
            online_level=online_level or 0,
            national_code=_text(item.get("national_code")),
            aliases=aliases,
            channels=channels,
            sign_in_person=bool(sign),
            postal_return=bool(postal),
            portal_url=portal,
            documents=documents,
            tags=tags,
            verified=bool(verified),
            note=_text(item.get("note")),
        ),
        [],
    )


def _channels(
    value: Any, where: str, entry_id: str | None
) -> tuple[tuple[Channel, ...], list[CatalogueError]]:
    if value is None or value == []:
        return (), []
    if not isinstance(value, list):
        return (), [CatalogueError(where, entry_id, "channels must be a list")]
    errors: list[CatalogueError] = []
    channels: list[Channel] = []
    seen: set[str] = set()
    for raw in value:
        if not isinstance(raw, dict):
            errors.append(CatalogueError(where, entry_id, "each channel must be a mapping"))
            continue
        if "_bad_flag" in raw:
            errors.append(
                CatalogueError(
                    where, entry_id, f"{raw['kind']} must be yes or no, got {raw['_bad_flag']!r}"
                )
            )
            continue
        unknown = [k for k in raw if k not in CHANNEL_KEYS]
        if unknown:
            errors.append(CatalogueError(where, entry_id, f"unknown channel fields {unknown}"))
        kind = _text(raw.get("kind"))
        if kind not in CHANNEL_KINDS:
            errors.append(
                CatalogueError(
                    where,
                    entry_id,
                    f"channel kind must be one of {', '.join(CHANNEL_KINDS)}, got {kind!r}",
                )
            )
            continue
        if kind in seen:
            errors.append(CatalogueError(where, entry_id, f"channel {kind} listed twice"))
            continue
        seen.add(kind)
        channels.append(
            Channel(
                kind=kind,  # type: ignore[arg-type]
                processing_time=_text(raw.get("processing_time")),
                fee=_text(raw.get("fee")),
            )
        )
    # A stable order makes YAML, CSV and XLSX round trips compare equal.
    channels.sort(key=lambda ch: CHANNEL_KINDS.index(ch.kind))
    return tuple(channels), errors


def _topic_from_mapping(
    item: Mapping[str, Any], where: str
) -> tuple[Topic | None, list[CatalogueError]]:
    errors: list[CatalogueError] = []
    entry_id = _text(item.get("id"))

    def err(message: str) -> None:
        errors.append(CatalogueError(where, entry_id, message))

    for key in item:
        if key not in TOPIC_KEYS:
            err(f"unknown field {key!r}")
    problem = _id_problem(entry_id, TOPIC_ID, "topic id must look like 'topic:postal'")
    if problem is not None:
        err(problem)
    values = {key: _text(item.get(key)) for key in ("title_vi", "title_en", "body_vi", "body_en")}
    for key, value in values.items():
        if value is None:
            err(f"{key} is required")
    aliases, errs = _str_list(item.get("aliases"), where, entry_id, "aliases")
    errors.extend(errs)
    if errors:
        return None, errors
    return (
        Topic(
            id=entry_id or "",
            title_vi=values["title_vi"] or "",
            title_en=values["title_en"] or "",
            body_vi=values["body_vi"] or "",
            body_en=values["body_en"] or "",
            aliases=aliases,
        ),
        [],
    )


def _finish(
    procedures: list[Procedure],
    topics: list[Topic],
    errors: list[CatalogueError],
    locations: Sequence[str],
) -> LoadResult:
    """Whole-file checks (unique ids), then all-or-nothing."""
    seen: dict[str, str] = {}
    entries: list[Entry] = [*procedures, *topics]
    for entry, where in zip(entries, locations, strict=False):
        if entry.id in seen:
            errors.append(
                CatalogueError(where, entry.id, f"duplicate id (first at {seen[entry.id]})")
            )
        else:
            seen[entry.id] = where
    if errors:
        return LoadResult(None, tuple(errors))
    return LoadResult(Catalogue(tuple(procedures), tuple(topics)))


# ---------------------------------------------------------------------------
# Export (same formats; a round trip gives an equal Catalogue)
# ---------------------------------------------------------------------------


def procedure_to_mapping(proc: Procedure) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": proc.id,
        "national_code": proc.national_code,
        "name_vi": proc.name_vi,
        "name_en": proc.name_en,
        "aliases": list(proc.aliases),
        "field": proc.field,
        "level": proc.level,
        "online_level": proc.online_level or "none",
        "channels": [
            {"kind": ch.kind, "processing_time": ch.processing_time, "fee": ch.fee}
            for ch in proc.channels
        ],
        "sign_in_person": proc.sign_in_person,
        "postal_return": proc.postal_return,
        "portal_url": proc.portal_url,
        "documents": list(proc.documents),
        "tags": list(proc.tags),
        "verified": proc.verified,
        "note": proc.note,
    }
    return {k: v for k, v in data.items() if v is not None and v != []}


def topic_to_mapping(topic: Topic) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": topic.id,
        "title_vi": topic.title_vi,
        "title_en": topic.title_en,
        "aliases": list(topic.aliases),
        "body_vi": topic.body_vi,
        "body_en": topic.body_en,
    }
    return {k: v for k, v in data.items() if v != []}


def catalogue_to_data(catalogue: Catalogue) -> dict[str, Any]:
    """Plain JSON-ready data (what the database keeps for each catalogue version)."""
    return {
        "procedures": [procedure_to_mapping(p) for p in catalogue.procedures],
        "topics": [topic_to_mapping(t) for t in catalogue.topics],
    }


def catalogue_from_data(data: Mapping[str, Any]) -> LoadResult:
    """The inverse of ``catalogue_to_data``, validated like a file (errors name the item)."""
    errors: list[CatalogueError] = []
    procedures: list[Procedure] = []
    topics: list[Topic] = []
    locations: list[str] = []
    topic_locations: list[str] = []
    for index, item in enumerate(data.get("procedures") or []):
        where = f"procedures[{index}]"
        if not isinstance(item, Mapping):
            errors.append(CatalogueError(where, None, "procedure must be a mapping"))
            continue
        proc, errs = _procedure_from_mapping(item, where)
        errors.extend(errs)
        if proc is not None:
            procedures.append(proc)
            locations.append(where)
    for index, item in enumerate(data.get("topics") or []):
        where = f"topics[{index}]"
        if not isinstance(item, Mapping):
            errors.append(CatalogueError(where, None, "topic must be a mapping"))
            continue
        topic, errs = _topic_from_mapping(item, where)
        errors.extend(errs)
        if topic is not None:
            topics.append(topic)
            topic_locations.append(where)
    return _finish(procedures, topics, errors, locations + topic_locations)


def dump_yaml(catalogue: Catalogue) -> str:
    data = catalogue_to_data(catalogue)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def _table_rows(catalogue: Catalogue) -> Iterable[list[str]]:
    yield list(TABLE_COLUMNS)
    for proc in catalogue.procedures:
        row = dict.fromkeys(TABLE_COLUMNS, "")
        row.update(
            type="procedure",
            id=proc.id,
            national_code=proc.national_code or "",
            name_vi=proc.name_vi,
            name_en=proc.name_en,
            aliases=LIST_SEPARATOR.join(proc.aliases),
            field=proc.field,
            level=proc.level,
            online_level=str(proc.online_level) if proc.online_level else "none",
            sign_in_person="yes" if proc.sign_in_person else "no",
            postal_return="yes" if proc.postal_return else "no",
            portal_url=proc.portal_url or "",
            documents=LIST_SEPARATOR.join(proc.documents),
            tags=LIST_SEPARATOR.join(proc.tags),
            verified="yes" if proc.verified else "no",
            note=proc.note or "",
        )
        for kind in CHANNEL_KINDS:
            ch = proc.channel(kind)
            row[kind] = "yes" if ch else "no"
            row[f"{kind}_time"] = ch.processing_time or "" if ch else ""
            row[f"{kind}_fee"] = ch.fee or "" if ch else ""
        yield [row[c] for c in TABLE_COLUMNS]
    for topic in catalogue.topics:
        row = dict.fromkeys(TABLE_COLUMNS, "")
        row.update(
            type="topic",
            id=topic.id,
            name_vi=topic.title_vi,
            name_en=topic.title_en,
            aliases=LIST_SEPARATOR.join(topic.aliases),
            body_vi=topic.body_vi,
            body_en=topic.body_en,
        )
        yield [row[c] for c in TABLE_COLUMNS]


def dump_csv(catalogue: Catalogue) -> bytes:
    """UTF-8 with a BOM, so Excel opens the Vietnamese text correctly."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(_table_rows(catalogue))
    return buffer.getvalue().encode("utf-8-sig")


def dump_xlsx(catalogue: Catalogue) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "catalogue"
    for row in _table_rows(catalogue):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def dump_catalogue(catalogue: Catalogue, fmt: Format) -> bytes:
    if fmt == "yaml":
        return dump_yaml(catalogue).encode("utf-8")
    if fmt == "csv":
        return dump_csv(catalogue)
    if fmt == "xlsx":
        return dump_xlsx(catalogue)
    raise ValueError(f"unsupported format {fmt!r}")


def export_catalogue(catalogue: Catalogue, path: str | Path) -> Path:
    path = Path(path)
    path.write_bytes(dump_catalogue(catalogue, detect_format(path.name)))
    return path
