from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

import pytest
import yaml

from bot.services.faq.catalogue import (
    TABLE_COLUMNS,
    Catalogue,
    dump_catalogue,
    dump_csv,
    export_catalogue,
    load_catalogue,
    parse_catalogue,
)

REQUIRED_IDS = {
    "khai-sinh",
    "khai-tu",
    "ket-hon",
    "nhan-cha-me-con",
    "trich-luc-ho-tich",
    "xac-nhan-tinh-trang-hon-nhan",
    "chung-thuc-ban-sao",
    "chung-thuc-chu-ky",
    "chung-thuc-di-chuc",
    "chung-thuc-hop-dong",
    "dang-ky-bien-phap-bao-dam",
    "dang-ky-doanh-nghiep",
    "dang-ky-ho-kinh-doanh",
    "ly-lich-tu-phap",
    "doi-gplx",
    "giay-phep-xay-dung",
    "cccd",
    "tam-tru",
    "thuong-tru",
    "gcn-qsdd",
    "trang-thiet-bi-y-te",
    "topic:accepted-list",
    "topic:postal",
    "topic:online",
    "topic:payment",
    "topic:hotline",
    "topic:covid-rules",
    "topic:pickup-results",
}


def test_shipped_catalogue_has_required_entries(catalogue: Catalogue) -> None:
    ids = {e.id for e in catalogue.entries}
    assert not REQUIRED_IDS - ids
    assert len(catalogue.procedures) >= 50


def test_shipped_facts_are_marked_unverified(catalogue: Catalogue) -> None:
    # Codes, levels and fees come from secondary sources: the agency must confirm.
    assert all(not p.verified for p in catalogue.procedures)


def test_shipped_topics_have_both_languages(catalogue: Catalogue) -> None:
    for topic in catalogue.topics:
        assert topic.body_vi and topic.body_en and topic.title_en


def test_signing_procedures_cannot_be_posted(catalogue: Catalogue) -> None:
    for pid in ("khai-sinh", "ket-hon", "nhan-cha-me-con"):
        proc = catalogue.get(pid)
        assert proc is not None and proc.sign_in_person and not proc.postal_return  # type: ignore[union-attr]


@pytest.mark.parametrize("fmt", ["yaml", "csv", "xlsx"])
def test_round_trip_export_import_is_equal(catalogue: Catalogue, fmt: str) -> None:
    result = parse_catalogue(dump_catalogue(catalogue, fmt), fmt)  # type: ignore[arg-type]
    assert result.errors == ()
    assert result.catalogue == catalogue


def test_export_to_file_and_load(catalogue: Catalogue, tmp_path: Path) -> None:
    path = export_catalogue(catalogue, tmp_path / "out.xlsx")
    assert load_catalogue(path).catalogue == catalogue


def _csv_text(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(TABLE_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in TABLE_COLUMNS})
    return buffer.getvalue()


GOOD_ROW = {
    "type": "procedure",
    "id": "khai-sinh",
    "name_vi": "Đăng ký khai sinh",
    "name_en": "Birth registration",
    "aliases": "làm giấy khai sinh|khai sanh",
    "field": "Hộ tịch",
    "level": "commune",
    "online_level": "2",
    "sign_in_person": "yes",
    "postal_return": "no",
    "in_person": "yes",
    "in_person_time": "trong ngày",
}


def test_csv_with_utf8_bom() -> None:
    data = _csv_text([GOOD_ROW]).encode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    result = parse_catalogue(data, "csv")
    assert result.ok, result.errors
    proc = result.catalogue.procedures[0]  # type: ignore[union-attr]
    assert proc.id == "khai-sinh"  # the BOM did not stick to the first header
    assert proc.name_vi == "Đăng ký khai sinh"
    assert proc.aliases == ("làm giấy khai sinh", "khai sanh")
    assert proc.channels[0].kind == "in_person"


def _to_cp1258(text: str) -> bytes:
    """Encode like old Vietnamese Excel: base letters precomposed, tones combining."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", ch)
        # Recompose the vowel-shape mark (circumflex, breve, horn) with the base.
        shape = [m for m in marks if m in "\u0302\u0306\u031b"]
        tones = [m for m in marks if m not in shape]
        out += unicodedata.normalize("NFC", base + "".join(shape)).encode("cp1258")
        out += "".join(tones).encode("cp1258")
    return bytes(out)


def test_csv_in_windows_1258() -> None:
    data = _to_cp1258(_csv_text([GOOD_ROW]))
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really not UTF-8
    result = parse_catalogue(data, "csv")
    assert result.ok, result.errors
    proc = result.catalogue.procedures[0]  # type: ignore[union-attr]
    assert proc.name_vi == "Đăng ký khai sinh"  # NFC, equal to the UTF-8 spelling
    assert proc.field == "Hộ tịch"


def test_validator_reports_every_bad_row_and_returns_nothing() -> None:
    rows = [
        GOOD_ROW,  # row 2: fine
        {**GOOD_ROW, "id": "Khai Sinh 2"},  # row 3: bad slug
        {**GOOD_ROW, "id": "ket-hon", "online_level": "7", "level": "village"},  # row 4: two errors
        {**GOOD_ROW, "id": "khai-sinh"},  # row 5: duplicate id
        {**GOOD_ROW, "id": "tam-tru", "sign_in_person": "yes", "postal_return": "yes"},  # row 6
        {"type": "topic", "id": "postal", "name_vi": "Bưu điện"},  # row 7: bad id, no bodies
        {**GOOD_ROW, "type": "thing", "id": "x"},  # row 8: bad type
    ]
    result = parse_catalogue(_csv_text(rows).encode("utf-8"), "csv")
    assert result.catalogue is None
    assert not result.ok
    by_row: dict[str, list[str]] = {}
    for error in result.errors:
        by_row.setdefault(error.location, []).append(error.message)
    assert set(by_row) == {"row 3", "row 4", "row 5", "row 6", "row 7", "row 8"}
    assert len(by_row["row 4"]) == 2
    assert any("duplicate" in m and "row 2" in m for m in by_row["row 5"])
    assert any("postal_return" in m for m in by_row["row 6"])
    assert len(by_row["row 7"]) >= 3  # id format, body_vi, body_en (all reported)


def test_unknown_column_rejected_at_header() -> None:
    text = _csv_text([GOOD_ROW]).replace("aliases", "aliasses", 1)
    result = parse_catalogue(text.encode("utf-8"), "csv")
    assert result.catalogue is None
    assert result.errors[0].location == "row 1"
    assert "aliasses" in result.errors[0].message


def test_yaml_errors_carry_line_numbers() -> None:
    text = """procedures:
  - id: khai-sinh
    name_vi: Đăng ký khai sinh
    name_en: Birth registration
    field: Hộ tịch
    level: commune
    online_level: 2
  - id: tam-tru
    national_code: 1.004194
    name_vi: Đăng ký tạm trú
    field: Cư trú
    level: commune
    online_level: 9
topics: []
"""
    result = parse_catalogue(text.encode("utf-8"), "yaml")
    assert result.catalogue is None
    assert {e.location for e in result.errors} == {"line 8"}
    messages = " ".join(e.message for e in result.errors)
    assert "name_en" in messages and "online_level" in messages
    assert "quoted" in messages  # unquoted codes become floats and lose digits


def test_yaml_syntax_error_is_an_error_not_an_exception() -> None:
    result = parse_catalogue(b"procedures: [\n  - id: x\n", "yaml")
    assert result.catalogue is None and result.errors


def test_invalid_xlsx_rejected_whole(catalogue: Catalogue) -> None:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(dump_catalogue(catalogue, "xlsx")))
    sheet = workbook.active
    sheet.cell(row=3, column=TABLE_COLUMNS.index("level") + 1, value="planet")
    # cell(..., value=None) would leave the value unchanged: assign explicitly.
    sheet.cell(row=10, column=TABLE_COLUMNS.index("name_vi") + 1).value = None
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = parse_catalogue(buffer.getvalue(), "xlsx")
    assert result.catalogue is None
    assert {e.location for e in result.errors} == {"row 3", "row 10"}


def test_csv_export_has_bom_for_excel(catalogue: Catalogue) -> None:
    assert dump_csv(catalogue).startswith(b"\xef\xbb\xbf")


def test_yaml_export_is_readable_unicode(catalogue: Catalogue) -> None:
    text = dump_catalogue(catalogue, "yaml").decode("utf-8")
    assert "Đăng ký khai sinh" in text
    assert yaml.safe_load(text)["procedures"][0]["id"] == catalogue.procedures[0].id


def test_situation_cues_name_shipped_entries_and_survive_normalisation(
    catalogue: Catalogue,
) -> None:
    from bot.services.faq.cues import ENGLISH_CUES, SITUATION_CUES
    from bot.services.faq.normalize import tokens_of

    ids = {entry.id for entry in catalogue.entries}
    assert set(SITUATION_CUES) == ids  # every entry has cues, and only entries do
    assert set(ENGLISH_CUES) <= ids
    for cues, english in ((SITUATION_CUES, None), (ENGLISH_CUES, True)):
        for entry_id, texts in cues.items():
            for cue in texts:
                parts = [tokens_of(p, english=english) for p in cue.lstrip("!").split("+")]
                # a part made only of fillers would match every question
                assert all(parts), (entry_id, cue)
