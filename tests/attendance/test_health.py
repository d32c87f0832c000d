"""Temperature text, symptom answers and the stay-home advice."""

from __future__ import annotations

import unicodedata

import pytest

from bot.services.attendance.health import (
    HealthAdvice,
    Symptom,
    assess,
    mode_after_health,
    parse_symptoms,
    parse_temperature,
)
from bot.services.attendance.modes import Mode


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("37,8", 37.8),
        ("37.8", 37.8),
        ("37.8 độ", 37.8),
        ("37.8 do", 37.8),
        ("38C", 38.0),
        ("38c", 38.0),
        ("38 °C", 38.0),
        ("38°C", 38.0),
        ("38º", 38.0),
        ("36.5oC", 36.5),
        ("36,5 độ C", 36.5),
        ("37 độ 8", 37.8),  # spoken Vietnamese
        ("37 do 8", 37.8),
        ("37độ8", 37.8),
        ("37°8", 37.8),  # hand-written Vietnamese
        ("37 độ", 37.0),
        ("  37.25  ", 37.25),
        ("nhiệt độ 37,2", 37.2),
        ("Thân nhiệt: 36.8", 36.8),
        ("temp=36.6", 36.6),
        ("đo được 36.9 độ", 36.9),
        ("36.6.", 36.6),
        ("34", 34.0),  # range ends are included
        ("43", 43.0),
        ("43.0", 43.0),
    ],
)
def test_temperatures_understood(text: str, expected: float) -> None:
    assert parse_temperature(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "sốt",
        "378",  # forgot the separator: refuse rather than guess
        "3 7.8",
        "37.8.5",
        "37,8,9",
        "37.855",
        "33.9",  # below the plausible range
        "43.1",  # above it
        "45",
        "0",
        "-37",
        "98.6F",  # Fahrenheit is not accepted
        "37.8 F",
        "37 38",
        "37.8 độ hôm qua",
        "1e2",
    ],
)
def test_nonsense_and_out_of_range_rejected(text: str) -> None:
    assert parse_temperature(text) is None


def test_decomposed_unicode_is_understood() -> None:
    # Some keyboards send combining marks instead of precomposed letters.
    assert parse_temperature(unicodedata.normalize("NFD", "37,8 độ")) == pytest.approx(37.8)


@pytest.mark.parametrize(
    ("temperature", "symptoms", "ok", "advice"),
    [
        (36.6, [], True, HealthAdvice.OK),
        (37.4, [], True, HealthAdvice.OK),
        (37.5, [], False, HealthAdvice.STAY_HOME_FEVER),  # the threshold itself is a fever
        (38.2, [], False, HealthAdvice.STAY_HOME_FEVER),
        (36.6, [Symptom.COUGH], False, HealthAdvice.STAY_HOME_SYMPTOMS),
        (36.6, ["sore_throat"], False, HealthAdvice.STAY_HOME_SYMPTOMS),
        (36.6, ["mất vị giác"], False, HealthAdvice.STAY_HOME_SYMPTOMS),
        (38.0, ["ho"], False, HealthAdvice.STAY_HOME_FEVER_AND_SYMPTOMS),
        (None, [], True, HealthAdvice.OK),
        (None, ["sốt"], False, HealthAdvice.STAY_HOME_SYMPTOMS),
    ],
)
def test_assess(
    temperature: float | None, symptoms: list[Symptom | str], ok: bool, advice: HealthAdvice
) -> None:
    result = assess(temperature, symptoms)
    assert result.ok is ok
    assert result.advice_code is advice
    assert result.notify_leader is (not ok)


def test_assess_keeps_symptom_codes_once_in_order() -> None:
    result = assess(37.0, ["ho", Symptom.COUGH, "khó thở"])
    assert result.symptoms == (Symptom.COUGH, Symptom.SHORTNESS_OF_BREATH)
    assert result.fever is False


def test_assess_rejects_unknown_symptom_and_implausible_reading() -> None:
    with pytest.raises(ValueError, match="unknown symptom"):
        assess(36.5, ["hắt hơi nhiều lắm"])
    with pytest.raises(ValueError, match="implausible"):
        assess(378.0, [])


def test_parse_symptoms_with_and_without_diacritics() -> None:
    answer = parse_symptoms("Ho, đau họng và sot; kho tho")
    assert answer.symptoms == (
        Symptom.COUGH,
        Symptom.SORE_THROAT,
        Symptom.FEVER,
        Symptom.SHORTNESS_OF_BREATH,
    )
    assert answer.unknown == ()
    assert not answer.none_declared


def test_parse_symptoms_reports_what_it_did_not_understand_as_typed() -> None:
    answer = parse_symptoms("ho, đau bụng")
    assert answer.symptoms == (Symptom.COUGH,)
    assert answer.unknown == ("đau bụng",)


@pytest.mark.parametrize("text", ["không", "Không có", "none", "bình thường"])
def test_parse_symptoms_none(text: str) -> None:
    answer = parse_symptoms(text)
    assert answer.none_declared
    assert answer.symptoms == ()
    assert answer.unknown == ()


def test_parse_symptoms_empty_is_not_a_declaration() -> None:
    assert not parse_symptoms("  ").none_declared


def test_failed_declaration_records_home_instead_of_office() -> None:
    sick = assess(38.0, [])
    well = assess(36.5, [])
    assert mode_after_health(Mode.OFFICE, sick) is Mode.HOME
    assert mode_after_health(Mode.OFFICE, well) is Mode.OFFICE
    assert mode_after_health(Mode.FIELD_TRIP, sick) is Mode.FIELD_TRIP
