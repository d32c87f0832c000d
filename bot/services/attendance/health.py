"""Health declaration before coming to the office: temperature and symptoms.

Temperature text accepted (decided here): a two-digit whole part with an optional decimal
part written with "." or "," ("37.8", "37,8"), optionally followed by a unit ("độ", "do",
"°", "°C", "C", "oC", "độ C"), optionally preceded by a label ("nhiệt độ", "thân nhiệt",
"temp", "đo được" …). The Vietnamese spoken and hand-written forms "37 độ 8", "37độ8" and
"37°8" mean 37.8 and are accepted too. Fahrenheit is not: nobody in the unit measures in
it, and "98.6" would otherwise look like a typo for something. Anything else, and any value
outside 34–43 °C (not a living person's reading, or a slip such as "378"), gives None so
the bot can answer with an example.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from bot.services.attendance.modes import Mode
from bot.services.attendance.text import fold, fold_keep_marks

MIN_PLAUSIBLE_C = 34.0
MAX_PLAUSIBLE_C = 43.0
# The Ministry of Health's screening threshold: at or above it, stay home.
FEVER_THRESHOLD_C = 37.5

_LABEL = r"(?:nhiet do|than nhiet|temperature|temp|t|do duoc|do)\s*[:=]?\s*"
_UNIT = r"(?:do\s*c|do|°\s*c|º\s*c|°|º|oc|c)"
_TEMPERATURE = re.compile(
    rf"^(?:{_LABEL})?"
    r"(?P<whole>\d{2})"
    r"(?:"
    r"[.,](?P<decimal>\d{1,2})"  # 37.8, 37,85
    r"|\s*(?:do|°|º)\s*(?P<spoken>\d{1,2})"  # 37 độ 8, 37°8
    r")?"
    rf"\s*{_UNIT}?$"
)


def parse_temperature(text: str) -> float | None:
    """Body temperature in °C from free text, or None when it is not a plausible reading."""
    folded = fold_keep_marks(text).rstrip(" .!")
    match = _TEMPERATURE.match(folded)
    if match is None:
        return None
    decimal = match["decimal"] or match["spoken"] or "0"
    value = round(float(f"{match['whole']}.{decimal}"), 2)
    if not MIN_PLAUSIBLE_C <= value <= MAX_PLAUSIBLE_C:
        return None
    return value


class Symptom(StrEnum):
    FEVER = "fever"
    COUGH = "cough"
    SHORTNESS_OF_BREATH = "shortness_of_breath"
    SORE_THROAT = "sore_throat"
    LOSS_OF_TASTE = "loss_of_taste"
    LOSS_OF_SMELL = "loss_of_smell"
    FATIGUE = "fatigue"


# Folded spellings (no diacritics). The code value itself is always accepted too.
_SYMPTOM_ALIASES: Mapping[Symptom, tuple[str, ...]] = MappingProxyType(
    {
        Symptom.FEVER: ("sot", "bi sot", "sot cao", "fever"),
        Symptom.COUGH: ("ho", "bi ho", "ho khan", "ho co dom", "cough"),
        Symptom.SHORTNESS_OF_BREATH: (
            "kho tho",
            "tho doc",
            "shortness of breath",
            "breathless",
            "breathing difficulty",
        ),
        Symptom.SORE_THROAT: ("dau hong", "rat hong", "viem hong", "sore throat"),
        Symptom.LOSS_OF_TASTE: ("mat vi giac", "mat vi", "loss of taste", "no taste"),
        Symptom.LOSS_OF_SMELL: ("mat khu giac", "loss of smell", "no smell"),
        Symptom.FATIGUE: ("met", "met moi", "fatigue", "tired"),
    }
)

_NO_SYMPTOMS = frozenset(
    {"khong", "khong co", "khong co trieu chung", "binh thuong", "none", "no", "nothing", "ok"}
)

# Split the original text (not the folded one) so unknown pieces are echoed as typed.
_SEPARATORS = re.compile(r"[,;/\n+]|\s(?:và|va|and)\s", re.IGNORECASE)


def _build_symptom_lookup() -> MappingProxyType[str, Symptom]:
    table: dict[str, Symptom] = {}
    for symptom, aliases in _SYMPTOM_ALIASES.items():
        for alias in (symptom.value, *aliases):
            table[fold(alias)] = symptom
    return MappingProxyType(table)


_SYMPTOM_LOOKUP = _build_symptom_lookup()


def parse_symptom(text: str) -> Symptom | None:
    """One symptom from a code ("sore_throat") or a phrase ("đau họng"), or None."""
    return _SYMPTOM_LOOKUP.get(fold(text))


@dataclass(frozen=True, slots=True)
class SymptomAnswer:
    """What a person answered to "any symptoms?".

    ``unknown`` holds the pieces that were not understood, so the bot can ask again instead
    of dropping a symptom it could not read.
    """

    symptoms: tuple[Symptom, ...]
    unknown: tuple[str, ...]
    none_declared: bool


def parse_symptoms(text: str) -> SymptomAnswer:
    """Split "ho, đau họng và sốt" into symptoms; "không" / "none" declares none."""
    folded_whole = fold(text)
    if not folded_whole or folded_whole in _NO_SYMPTOMS:
        return SymptomAnswer((), (), none_declared=bool(folded_whole))
    found: list[Symptom] = []
    unknown: list[str] = []
    for piece in _SEPARATORS.split(unicodedata.normalize("NFC", text)):
        if not fold(piece):
            continue
        symptom = parse_symptom(piece)
        if symptom is None:
            unknown.append(piece.strip())
        elif symptom not in found:
            found.append(symptom)
    return SymptomAnswer(tuple(found), tuple(unknown), none_declared=False)


class HealthAdvice(StrEnum):
    OK = "ok"
    STAY_HOME_FEVER = "stay_home_fever"
    STAY_HOME_SYMPTOMS = "stay_home_symptoms"
    STAY_HOME_FEVER_AND_SYMPTOMS = "stay_home_fever_and_symptoms"


@dataclass(frozen=True, slots=True)
class HealthAssessment:
    ok: bool
    advice_code: HealthAdvice
    temperature: float | None
    fever: bool
    symptoms: tuple[Symptom, ...]

    @property
    def notify_leader(self) -> bool:
        # The directive's point is that the leader knows before the person arrives.
        return not self.ok


def assess(temperature: float | None, symptoms: Iterable[Symptom | str]) -> HealthAssessment:
    """≥ 37.5 °C or any symptom → advised to stay home.

    ``temperature`` may be None when the person declared symptoms without measuring; a
    reading outside 34–43 °C is a caller bug (parse it with :func:`parse_temperature`), as
    is a symptom string that is neither a code nor a known phrase.
    """
    if temperature is not None and not MIN_PLAUSIBLE_C <= temperature <= MAX_PLAUSIBLE_C:
        raise ValueError(f"implausible temperature {temperature}")
    declared: list[Symptom] = []
    for item in symptoms:
        symptom = item if isinstance(item, Symptom) else parse_symptom(item)
        if symptom is None:
            raise ValueError(f"unknown symptom {item!r}")
        if symptom not in declared:
            declared.append(symptom)
    fever = temperature is not None and temperature >= FEVER_THRESHOLD_C
    # A declared fever without a reading is still a fever for the advice, but it is listed
    # as a symptom, so the leader sees that nobody measured it.
    has_symptoms = bool(declared)
    if fever and has_symptoms:
        advice = HealthAdvice.STAY_HOME_FEVER_AND_SYMPTOMS
    elif fever:
        advice = HealthAdvice.STAY_HOME_FEVER
    elif has_symptoms:
        advice = HealthAdvice.STAY_HOME_SYMPTOMS
    else:
        advice = HealthAdvice.OK
    return HealthAssessment(
        ok=advice is HealthAdvice.OK,
        advice_code=advice,
        temperature=temperature,
        fever=fever,
        symptoms=tuple(declared),
    )


def mode_after_health(requested: Mode, assessment: HealthAssessment) -> Mode:
    """The mode to record: Office with a failed declaration is recorded as Home.

    Other modes are unaffected — a person on leave or on a field trip is not at the office
    either way.
    """
    if requested is Mode.OFFICE and not assessment.ok:
        return Mode.HOME
    return requested
