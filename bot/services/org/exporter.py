"""`congvu org export`: the organisation as YAML, CSV or XLSX that imports back unchanged.

The export is a file an admin edits and re-imports, so it is written in the same formats and
column names :mod:`bot.services.org.importer` reads (bilingual headers such as
"Họ tên (full_name)"), and a round trip — export, import — changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date
from fractions import Fraction
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.org.spec import (
    RESERVED_SETTINGS,
    ROTATION_KEY,
    ChatRef,
    Format,
    OrgSpec,
    PersonSpec,
    RotationSpec,
    UnitSpec,
    parents_first,
    quota_value,
)
from storage.models import ChatBinding, Identity, Person, Role, Unit
from storage.models.org import ChatPurpose

__all__ = ["TABLE_HEADERS", "dump_org", "export_org", "load_org"]

# Column → header written by the export. Each header is also accepted by the importer (the
# Vietnamese part by itself, or the canonical name in brackets).
TABLE_HEADERS: dict[str, str] = {
    "unit_code": "Mã đơn vị (unit_code)",
    "unit_name": "Tên đơn vị (unit_name)",
    "parent_unit": "Đơn vị cấp trên (parent_unit)",
    "timezone": "Múi giờ (timezone)",
    "working_days": "Ngày làm việc (working_days)",
    "office_quota": "Tỉ lệ tại cơ quan (office_quota)",
    "checkin_by": "Hạn điểm danh (checkin_by)",
    "report_at": "Giờ báo cáo (report_at)",
    "health_declaration": "Khai báo y tế (health_declaration)",
    "group_telegram": "Nhóm Telegram (group_telegram)",
    "group_zalo": "Nhóm Zalo (group_zalo)",
    "group_title": "Tên nhóm (group_title)",
    "rotation_cycle": "Chu kỳ luân phiên (rotation_cycle)",
    "rotation_anchor": "Ngày bắt đầu luân phiên (rotation_anchor)",
    "rotation_teams": "Thứ tự luân phiên (rotation_teams)",
    "unit_settings": "Cài đặt đơn vị (unit_settings)",
    "full_name": "Họ tên (full_name)",
    "role": "Vai trò (role)",
    "telegram_id": "Telegram ID (telegram_id)",
    "username": "Tên Telegram (username)",
    "zalo_id": "Zalo ID (zalo_id)",
    "manager": "Cấp trên trực tiếp (manager)",
    "team": "Nhóm (team)",
    "on_duty": "Trực (on_duty)",
    "language": "Ngôn ngữ (language)",
    "active": "Đang công tác (active)",
    "support_group_telegram": "Nhóm hỗ trợ người dân (support_group_telegram)",
    "support_group_zalo": "Nhóm hỗ trợ Zalo (support_group_zalo)",
    "support_group_title": "Tên nhóm hỗ trợ (support_group_title)",
}

_YAML_HEADER = """\
# Organisation exported by `congvu org export`. Edit and re-import with `congvu org import`.
# A person's telegram id (else username) is how they are recognised on re-import.
# Leaving out language, team or on_duty keeps the current value; write null/false to clear.
"""


# ---------------------------------------------------------------------------------------------
# Database → OrgSpec
# ---------------------------------------------------------------------------------------------


def _rotation_of(settings: Mapping[str, Any]) -> RotationSpec | None:
    raw = settings.get(ROTATION_KEY)
    if not isinstance(raw, dict) or "anchor" not in raw:
        return None
    try:
        return RotationSpec(
            anchor=date.fromisoformat(str(raw["anchor"])),
            cycle="week" if raw.get("cycle") == "week" else "day",
            teams=tuple(str(t) for t in raw.get("teams") or ()),
        )
    except ValueError:
        return None


def _quota_of(unit: Unit) -> int | float | None:
    value = quota_value(unit.office_quota, unit.settings)
    return float(value) if isinstance(value, Fraction) else value


def _chat_ref(bindings: Sequence[ChatBinding]) -> ChatRef | None:
    """The first binding per channel (the importer keeps one per unit and channel)."""
    telegram = next((b for b in bindings if b.channel == "telegram"), None)
    zalo = next((b for b in bindings if b.channel == "zalo"), None)
    if telegram is None and zalo is None:
        return None
    title = (telegram or zalo).title  # type: ignore[union-attr]
    return ChatRef(
        telegram=telegram.chat_id if telegram else None,
        zalo=zalo.chat_id if zalo else None,
        title=title,
    )


async def load_org(session: AsyncSession) -> OrgSpec:
    """The organisation in the database as a spec (inactive people included, marked so)."""
    units = list(await session.scalars(select(Unit).order_by(Unit.id)))
    people = list(await session.scalars(select(Person).order_by(Person.id)))
    identities = list(await session.scalars(select(Identity).order_by(Identity.id)))
    chats = list(await session.scalars(select(ChatBinding).order_by(ChatBinding.id)))
    code_of = {u.id: u.code for u in units}

    unit_specs: list[UnitSpec] = []
    for unit in _parents_first(units):
        settings = {k: v for k, v in (unit.settings or {}).items() if k not in RESERVED_SETTINGS}
        rotation = _rotation_of(unit.settings or {})
        group = _chat_ref(
            [c for c in chats if c.purpose == ChatPurpose.UNIT_GROUP and c.unit_id == unit.id]
        )
        quota = _quota_of(unit)
        given = {"name", "timezone", "working_days", "checkin_by", "report_at"}
        given |= (
            {"health_declaration", "office_quota"} if quota is not None else {"health_declaration"}
        )
        if unit.parent_id is not None:
            given.add("parent")
        if rotation is not None:
            given.add("rotation")
        if group is not None:
            given.add("group")
        if settings:
            given.add("settings")
        unit_specs.append(
            UnitSpec(
                code=unit.code,
                where=f"unit #{unit.id}",
                name=unit.name,
                parent=code_of.get(unit.parent_id) if unit.parent_id else None,
                timezone=unit.timezone,
                working_days=unit.working_days,
                office_quota=quota,
                checkin_by=unit.checkin_by,
                report_at=unit.report_at,
                health_declaration=unit.health_declaration,
                group=group,
                rotation=rotation,
                settings=settings,
                given=frozenset(given),
            )
        )

    # Admins (no unit) first, then units in order, as the YAML lays them out.
    ordered = [p for p in people if p.unit_id is None] + [
        p for u in _parents_first(units) for p in people if p.unit_id == u.id
    ]
    index_of = {p.id: i for i, p in enumerate(ordered)}
    person_specs: list[PersonSpec] = []
    for person in ordered:
        own = [i for i in identities if i.person_id == person.id]
        bound = next((i for i in own if i.channel == "telegram" and i.user_id), None)
        named = next((i for i in own if i.channel == "telegram" and i.username), None)
        zalo = next((i for i in own if i.channel == "zalo" and i.user_id), None)
        username = (bound.username if bound and bound.username else None) or (
            named.username if named else None
        )
        given = {"telegram", "username", "zalo", "on_duty"}
        if person.language is not None:
            given.add("language")
        if person.team is not None:
            given.add("team")
        person_specs.append(
            PersonSpec(
                name=person.full_name,
                where=f"person #{person.id}",
                role=Role(person.role),
                unit=code_of.get(person.unit_id) if person.unit_id else None,
                telegram=bound.user_id if bound else None,
                username=username,
                zalo=zalo.user_id if zalo else None,
                manager=index_of.get(person.manager_id) if person.manager_id else None,
                language=person.language,
                team=person.team,
                on_duty=person.on_duty,
                active=person.active,
                given=frozenset(given),
            )
        )
    support = _chat_ref([c for c in chats if c.purpose == ChatPurpose.SUPPORT_GROUP])
    return OrgSpec(units=tuple(unit_specs), people=tuple(person_specs), support_group=support)


def _parents_first(units: Sequence[Unit]) -> list[Unit]:
    # A cycle cannot be imported, but never loop on a hand-edited database.
    return parents_first(units, key=lambda u: u.id, parent=lambda u: u.parent_id)


# ---------------------------------------------------------------------------------------------
# OrgSpec → bytes
# ---------------------------------------------------------------------------------------------


def _quota_text(quota: int | float) -> str:
    """0.34 stays "0.34", a third becomes "1/3", a head count "2", everyone "1.0"."""
    if isinstance(quota, int):
        return str(quota)
    share = Fraction(quota).limit_denominator(10**6)
    denominator = share.denominator
    while denominator % 2 == 0:
        denominator //= 2
    while denominator % 5 == 0:
        denominator //= 5
    if denominator == 1:
        text = f"{float(share):.6f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    return f"{share.numerator}/{share.denominator}"


def _quota_cell(quota: int | float) -> str:
    # Excel turns a typed "1.0" into 1 (one person) when it saves; "100%" survives.
    if isinstance(quota, float) and quota == 1.0:
        return "100%"
    return _quota_text(quota)


def _quota_yaml(quota: int | float) -> int | float | str:
    text = _quota_text(quota)
    if isinstance(quota, int):
        return quota
    return float(text) if "/" not in text else text


def _manager_ref(spec: OrgSpec, person: PersonSpec) -> str | int | None:
    if person.manager is None:
        return None
    head = spec.people[person.manager]
    if head.username:
        return head.username
    if head.telegram:
        return int(head.telegram)
    return head.name


def _chat_yaml(ref: ChatRef) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if ref.telegram is not None:
        out["telegram"] = int(ref.telegram)
    if ref.zalo is not None:
        out["zalo"] = ref.zalo
    if ref.title:
        out["title"] = ref.title
    return out


class _Flow(dict[str, Any]):
    """A mapping written on one line, like the people in the documented format."""


class _Dumper(yaml.SafeDumper):
    pass


_TIME_LIKE = re.compile(r"^\d{1,2}:\d{2}$")


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    # Quote "09:00" like "16:30" (which YAML 1.1 would read as 990), so times look alike.
    style = "'" if _TIME_LIKE.match(data) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


_Dumper.add_representer(_Flow, _represent_flow)
_Dumper.add_representer(str, _represent_str)


def _person_yaml(spec: OrgSpec, person: PersonSpec, *, with_role: bool = True) -> _Flow:
    out = _Flow(name=person.name)
    if with_role:
        out["role"] = person.role.value
    if person.telegram:
        out["telegram"] = int(person.telegram)
    if person.username:
        out["username"] = person.username
    if person.zalo:
        out["zalo"] = person.zalo
    if (manager := _manager_ref(spec, person)) is not None:
        out["manager"] = manager
    if person.language:
        out["language"] = person.language
    if person.team:
        out["team"] = person.team
    if person.on_duty:
        out["on_duty"] = True
    if not person.active:
        out["active"] = False
    return out


def _unit_yaml(spec: OrgSpec, unit: UnitSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"code": unit.code, "name": unit.name}
    if unit.parent:
        out["parent"] = unit.parent
    out["timezone"] = unit.timezone
    out["working_days"] = unit.working_days
    if unit.office_quota is not None:
        out["office_quota"] = _quota_yaml(unit.office_quota)
    out["checkin_by"] = unit.checkin_by
    out["report_at"] = unit.report_at
    out["health_declaration"] = unit.health_declaration
    if unit.group is not None:
        out["group"] = _Flow(_chat_yaml(unit.group))
    if unit.rotation is not None:
        out["rotation"] = _Flow(unit.rotation.to_json())
        out["rotation"]["anchor"] = unit.rotation.anchor
    if unit.settings:
        out["settings"] = dict(unit.settings)
    out["people"] = [_person_yaml(spec, p) for p in spec.people_of(unit.code)]
    return out


def _dump_yaml(spec: OrgSpec) -> bytes:
    doc: dict[str, Any] = {"version": 1}
    unitless = spec.people_of(None)
    admins = [p for p in unitless if p.role == Role.ADMIN]
    others = [p for p in unitless if p.role != Role.ADMIN]
    if admins:
        doc["admins"] = [_person_yaml(spec, p, with_role=False) for p in admins]
    if others:
        doc["people"] = [_person_yaml(spec, p) for p in others]
    if spec.support_group is not None:
        doc["support_group"] = _Flow(_chat_yaml(spec.support_group))
    doc["units"] = [_unit_yaml(spec, u) for u in spec.units]
    text = yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000, indent=2)
    return (_YAML_HEADER + text).encode("utf-8")


def _yes(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _unit_cells(unit: UnitSpec) -> dict[str, Any]:
    rotation = unit.rotation
    return {
        "unit_code": unit.code,
        "unit_name": unit.name,
        "parent_unit": unit.parent or "",
        "timezone": unit.timezone,
        "working_days": unit.working_days,
        "office_quota": "" if unit.office_quota is None else _quota_cell(unit.office_quota),
        "checkin_by": unit.checkin_by,
        "report_at": unit.report_at,
        "health_declaration": _yes(unit.health_declaration),
        "group_telegram": _int_or_blank(unit.group.telegram if unit.group else None),
        "group_zalo": (unit.group.zalo if unit.group else None) or "",
        "group_title": (unit.group.title if unit.group else None) or "",
        "rotation_cycle": rotation.cycle if rotation else "",
        "rotation_anchor": rotation.anchor.isoformat() if rotation else "",
        "rotation_teams": ",".join(rotation.teams) if rotation else "",
        "unit_settings": (
            json.dumps(dict(unit.settings), ensure_ascii=False, sort_keys=True)
            if unit.settings
            else ""
        ),
    }


def _int_or_blank(value: str | None) -> int | str:
    return int(value) if value else ""


def _person_cells(spec: OrgSpec, person: PersonSpec) -> dict[str, Any]:
    manager = _manager_ref(spec, person)
    return {
        "full_name": person.name,
        "role": person.role.value,
        "telegram_id": _int_or_blank(person.telegram),
        "username": person.username or "",
        "zalo_id": person.zalo or "",
        "manager": "" if manager is None else manager,
        "team": person.team or "",
        "on_duty": _yes(person.on_duty),
        "language": person.language or "",
        "active": _yes(person.active),
    }


def _table(spec: OrgSpec) -> list[list[Any]]:
    """Header plus one row per person; a unit without people gets a row of its own."""
    columns = list(TABLE_HEADERS)
    rows: list[dict[str, Any]] = [_person_cells(spec, p) for p in spec.people_of(None)]
    for unit in spec.units:
        members = spec.people_of(unit.code)
        cells = _unit_cells(unit)
        rows.extend({**cells, **_person_cells(spec, p)} for p in members)
        if not members:
            rows.append(cells)
    if spec.support_group is not None:
        if not rows:
            rows.append({})
        rows[0]["support_group_telegram"] = _int_or_blank(spec.support_group.telegram)
        rows[0]["support_group_zalo"] = spec.support_group.zalo or ""
        rows[0]["support_group_title"] = spec.support_group.title or ""
    return [[TABLE_HEADERS[c] for c in columns]] + [
        [row.get(c, "") for c in columns] for row in rows
    ]


def _dump_csv(spec: OrgSpec) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(_table(spec))
    # The BOM makes Excel open the file as UTF-8 instead of the machine's ANSI code page.
    return buffer.getvalue().encode("utf-8-sig")


def _dump_xlsx(spec: OrgSpec) -> bytes:
    from openpyxl import Workbook  # lazily: only spreadsheet exports need it
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Tổ chức"
    for row in _table(spec):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for column_cells in sheet.columns:
        width = max(len(str(c.value or "")) for c in column_cells)
        sheet.column_dimensions[column_cells[0].column_letter].width = min(max(width, 8), 40) + 2
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def dump_org(spec: OrgSpec, fmt: Format) -> bytes:
    """The spec in a file format :func:`bot.services.org.importer.parse_org` reads back."""
    if fmt == "yaml":
        return _dump_yaml(spec)
    if fmt == "csv":
        return _dump_csv(spec)
    if fmt == "xlsx":
        return _dump_xlsx(spec)
    raise ValueError(f"unsupported format {fmt!r}")


async def export_org(session: AsyncSession, fmt: Format) -> bytes:
    return dump_org(await load_org(session), fmt)
