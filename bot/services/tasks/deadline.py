"""Read a task deadline written in natural Vietnamese or English.

Leaders write deadlines the way they talk: "hạn 17h 15/4", "trước 9 giờ sáng mai", "thứ 6",
"cuối tuần", "by Friday 5pm", often typed without diacritics ("han 17h ngay mai") and inside
a longer task text ("Soạn công văn gửi sở Y tế hạn 17h ngày mai").

How it works, and why:

1. One precompiled regex finds *tokens* (a time "17h30", a date "15/4", a weekday "thứ 6",
   a day word "mai", a period "chiều", a relative span "trong 3 ngày", a marker "hạn", ...).
   dateparser alone gets most Vietnamese forms wrong ("thứ 6" → the 6th, "17h 15/4" → 03:00)
   and its ``search_dates`` is slow and noisy, so our own rules handle everything they can.
2. Adjacent tokens (separated only by spaces, commas, "lúc", "vào", "at", ...) form a
   *cluster*; the cluster after a marker wins, else the last one (deadlines end sentences).
3. The cluster is resolved against the caller's ``now`` in the unit's time zone. Readings a
   person could mean differently become ``candidates`` and ``ambiguous`` so the bot asks with
   buttons instead of guessing.
4. Only when no rule matched but a marker ("hạn", "by", ...) is followed by something that
   looks like a date, the words after the marker go to dateparser (vi + en) as a fallback.
   The rule path takes ~0.05 ms; a fallback ~1 ms, plus ~100 ms once per process while
   dateparser loads its language data.

Conventions (one place, so the echo and the docs agree):

- A date without a time means the end of the working day, 17:00 (``assumed_time=True``).
- Periods without an hour: sáng 08:00 (the start of the working morning: "nộp sáng thứ 2"
  means "on my desk when Monday starts"), trưa 12:00, chiều 17:00 (the end of the working
  day, same as a bare date; 16:30 would match only some southern offices' hours), tối 20:00,
  đêm 23:59. These also set ``assumed_time``.
- "cuối tuần" is Friday 17:00 (the end of the working week), "cuối tháng" the last calendar
  day of the month 17:00, "trong N ngày"/"N ngày nữa"/"in N days" the date N days ahead at
  17:00; "N tiếng nữa"/"in N hours" is exactly now + N hours.
- A bare hour 1–6 with no sáng/chiều/am/pm ("hạn 5h") reads as the afternoon (17:00) but is
  ambiguous with 05:00; "9h" is 09:00. "12h đêm", "nửa đêm", "midnight" are 23:59.
- Day/month order is DMY. "5/6" is ambiguous with the MDY reading only in an English context
  (``lang_hint="en"`` or English words around it); Vietnamese never writes MDY.
- A reading that would be in the past is moved to the next occurrence when the text left the
  year/week/day open ("15/4", "thứ 6", "9h", "cuối tháng"). If that next occurrence is
  nearer than the one just gone ("15/1" said on 30/12, "9h" said at 22:00) it is simply
  taken; otherwise the move is reported as an ambiguity with the past reading as the second
  candidate ("9h" said at 10:00 may be a typo). Explicit readings ("hôm nay 9h",
  "15/04/2020") stay put and set ``past``.
- "thứ 6" said on a Friday (before the time) is ambiguous between today and next week.
- Accent-free words are accepted, but in a message that has Vietnamese diacritics elsewhere
  the plain forms that are other words ("sang" = go over, "toi" = I, "mot" = one, "dem" =
  bring, "thu" = collect, "may" = sew) are not read as date words.
- The text is NFC-normalised first; ``matched`` and ``span`` refer to that normalised text.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import Final, Literal
from zoneinfo import ZoneInfo

from dateparser.date import DateDataParser

from bot.services.tasks._text import tidy

Lang = Literal["vi", "en"]

END_OF_WORKDAY: Final = time(17, 0)
# When only a part of the day is given. Keys are the accent-free forms.
PERIOD_DEFAULT: Final = MappingProxyType(
    {
        "sang": time(8, 0),
        "trua": time(12, 0),
        "chieu": time(17, 0),
        "toi": time(20, 0),
        "dem": time(23, 59),
    }
)
MAX_CANDIDATES: Final = 4
MIN_YEAR: Final = 1970
MAX_YEAR: Final = 2200

# Ambiguity/past reasons, so the bot can phrase its question.
PAST_ROLLED: Final = "past_rolled"  # literal reading is past; moved to the next occurrence
WEEKDAY_IS_TODAY: Final = "weekday_is_today"  # "thứ 6" said on a Friday
DAY_MONTH_ORDER: Final = "day_month_order"  # "5/6" in an English context
HOUR_AM_PM: Final = "hour_am_pm"  # "5h" without sáng/chiều/am/pm
WEEKDAY_MISMATCH: Final = "weekday_mismatch"  # "thứ 6 15/4" but 15/4 is a Wednesday
NEXT_WEEKDAY: Final = "next_weekday"  # "next Friday": this coming one or next week's?
WEEK_ONLY: Final = "week_only"  # "tuần sau" with no day: start or end of that week?


@dataclass(frozen=True, slots=True)
class DeadlineReading:
    """What :func:`parse_deadline` understood.

    ``candidates`` lists the distinct readings a person could mean, best first; when a
    deadline was found it always starts with ``when`` and has more than one item exactly
    when ``ambiguous``. It may contain a past reading (the literal one that was moved to the
    next occurrence) so the bot can show it as "đã qua".
    """

    when: datetime | None
    matched: str = ""
    remaining_text: str = ""
    ambiguous: bool = False
    candidates: list[datetime] = field(default_factory=list)
    past: bool = False
    assumed_time: bool = False
    span: tuple[int, int] | None = None
    reasons: tuple[str, ...] = ()
    source: Literal["rules", "dateparser", "none"] = "none"

    @property
    def found(self) -> bool:
        return self.when is not None


# --------------------------------------------------------------------------- vocabulary


def _plain(word: str) -> str:
    """Strip Vietnamese diacritics; đ is its own letter, so NFD alone would keep it."""
    word = word.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


def _words(*phrases: str) -> str:
    """Alternation accepting each phrase fully accented or fully without accents.

    All-or-nothing on purpose: a per-letter class like ``t[ốo]i`` would also accept "tôi"
    (I) for "tối" (evening) and "đem" (bring) for "đêm" (night).
    """
    forms: list[str] = []
    for phrase in phrases:
        for form in (phrase, _plain(phrase)):
            if form not in forms:
                forms.append(form)
    forms.sort(key=len, reverse=True)  # longest first: the regex takes the first that fits
    return "(?:" + "|".join(re.escape(f).replace(r"\ ", r"\s+") for f in forms) + ")"


def _build_strip_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]:
        char = chr(code)
        base = _plain(char)
        if len(base) == 1 and base != char and base.isascii():
            table[code] = base
    return table


_STRIP_TABLE: Final = MappingProxyType(_build_strip_table())

_NUMBER_WORDS: Final = MappingProxyType(
    {
        "một": 1, "mot": 1, "hai": 2, "ba": 3, "bốn": 4, "bon": 4, "năm": 5, "nam": 5,
        "sáu": 6, "sau": 6, "bảy": 7, "bẩy": 7, "bay": 7, "tám": 8, "tam": 8, "chín": 9,
        "chin": 9, "mười": 10, "muoi": 10, "one": 1, "two": 2, "three": 3, "four": 4,
        "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a": 1, "an": 1,
    }
)  # fmt: skip
_NUM: Final = (
    "(?:\\d{1,3}|"
    + "|".join(sorted((re.escape(w) for w in _NUMBER_WORDS), key=len, reverse=True))
    + "|"
    + _words("nửa")
    + "|half\\s+an|half\\s+a)"
)

_UNIT_DAY: Final = _words("ngày", "hôm") + r"|days?"
_UNIT_WEEK: Final = _words("tuần") + r"|weeks?"
_UNIT_MONTH: Final = _words("tháng") + r"|months?"
_UNIT_HOUR: Final = _words("tiếng", "giờ") + r"|h|hours?|hrs?"
_UNIT_MIN: Final = _words("phút") + r"|p|minutes?|mins?"
_UNITS_ALL: Final = f"{_UNIT_DAY}|{_UNIT_WEEK}|{_UNIT_MONTH}|{_UNIT_HOUR}|{_UNIT_MIN}"
_UNITS_NO_CLOCK: Final = (  # after "sau": "sau 2 giờ" is "after 2 o'clock", not "in 2 hours"
    f"{_UNIT_DAY}|{_UNIT_WEEK}|{_UNIT_MONTH}|{_words('tiếng')}|hours?|{_UNIT_MIN}"
)

# Spelled out rather than taken from `calendar`, whose names follow the process locale.
_MONTH_NAMES_EN: Final = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
_MONTHS_EN: Final = MappingProxyType(
    {
        **{name: i for i, name in enumerate(_MONTH_NAMES_EN, 1)},
        **{name[:3]: i for i, name in enumerate(_MONTH_NAMES_EN, 1)},
        "sept": 9,
    }
)
_MONTH_RE: Final = "(?:" + "|".join(sorted(_MONTHS_EN, key=len, reverse=True)) + ")"
# "thu" is left out of the English abbreviations: it is "thứ" typed without accents.
_WEEKDAYS_EN: Final = MappingProxyType(
    {
        "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
        "sunday": 6, "mon": 0, "tue": 1, "tues": 1, "wed": 2, "thur": 3, "thurs": 3, "fri": 4,
        "sat": 5, "sun": 6,
    }
)  # fmt: skip
_WEEKDAY_EN_RE: Final = "(?:" + "|".join(sorted(_WEEKDAYS_EN, key=len, reverse=True)) + ")"
_WEEKDAY_EN_WEAK: Final = frozenset(
    {"mon", "tue", "tues", "wed", "thur", "thurs", "fri", "sat", "sun"}
)

_WEEKDAY_VI_WORDS: Final = MappingProxyType(
    {
        "hai": 0, "ba": 1, "tư": 2, "tu": 2, "năm": 3, "nam": 3, "sáu": 4, "sau": 4,
        "bảy": 5, "bẩy": 5, "bay": 5,
    }
)  # fmt: skip

_VI_MONTHS: Final = (
    ("giêng", 1), ("hai", 2), ("ba", 3), ("tư", 4), ("năm", 5), ("sáu", 6), ("bảy", 7),
    ("bẩy", 7), ("tám", 8), ("chín", 9), ("mười", 10), ("mười một", 11), ("mười hai", 12),
    ("chạp", 12),
)  # fmt: skip
# "20 tháng tư": keyed by the lower-case form as written, accented or not.
_VI_MONTH_WORDS: Final = MappingProxyType(
    {form: n for word, n in _VI_MONTHS for form in (word, _plain(word))}
)
_VI_MONTH_RE: Final = _words(*(word for word, _ in _VI_MONTHS))
_RANGE_UNITS: Final = _words("tuần", "tháng", "năm", "ngày", "giờ")
_THU: Final = _words("thứ")
_NGAY: Final = _words("ngày")
_THANG: Final = _words("tháng")
# "thu 6 triệu": collecting six million, not Friday.
_MONEY_AFTER: Final = (
    r"\s*(?:" + _words("triệu", "nghìn", "ngàn", "người", "đồng") + r"|tr\b|k\b|đ|vnd|%|[.,]\d)"
)

# The master pattern. Order matters: at one position the first alternative that fits wins,
# so the longer or more specific forms come first (a relative span before a clock time, a
# date with "ngày" before a bare "ngày" connector, ...).
_TOKEN_RE: Final = re.compile(
    # Every token starts a word: "ba ngày sau" must not be found inside "cuba ngày sau".
    r"(?<!\w)(?:"
    + "|".join(
        [
            # "trong 3 ngày", "trong vòng 2 tiếng", "in 2 days", "within 3 days"
            rf"(?P<rel>(?:{_words('trong vòng', 'trong')}|within|in)\s+(?P<rel_n1>{_NUM})\s*"
            rf"(?P<rel_u1>{_UNITS_ALL})(?!\w)(?:\s+(?:{_words('nữa', 'tới')}|from\s+now))?"
            # "sau 3 ngày", "after 2 hours"
            rf"|(?:{_words('sau')}|after)\s+(?P<rel_n2>{_NUM})\s*(?P<rel_u2>{_UNITS_NO_CLOCK})"
            r"(?!\w)"
            # "3 ngày nữa", "2 tiếng nữa", "2h nữa", "3 days from now", "2 hours later"
            rf"|(?P<rel_n3>{_NUM})\s*(?P<rel_u3>{_UNITS_ALL})\s+"
            rf"(?:{_words('nữa', 'sau')}|from\s+now|later)(?!\w))",
            # "cuối tuần (sau)", "cuối tháng (4)", "cuối ngày", "trong tuần này", "end of month"
            rf"(?P<rng>(?:{_words('cuối', 'trong')})\s+(?P<rng_u>{_words('tuần', 'tháng', 'năm')}"
            rf"|{_words('ngày', 'giờ')}(?!\s+{_words('mai', 'kia', 'mốt', 'kìa')}\b))"
            rf"(?:\s+(?P<rng_m>{_words('kế tiếp', 'sau', 'tới', 'này', 'nay', 'hôm nay')}"
            rf"|{_words('làm việc', 'chiều')}|(?P<rng_n>\d{{1,2}})(?!\d|/)))?(?!\w)"
            rf"|end\s+of\s+(?P<rng_en_mon>{_MONTH_RE})\b"
            r"|end\s+of\s+(?:the\s+)?(?P<rng_en_m>next\s+|this\s+)?"
            r"(?P<rng_en_u>day|week|month|year)\b|\b(?P<rng_eod>eod|cob)\b)",
            # "2020-04-15", "2020-04-15 17:00", "2020/04/15T17:00"
            r"(?P<iso>(?<![\w/.\-])(?P<iso_y>\d{4})(?P<iso_s>[\-/])(?P<iso_m>\d{1,2})"
            r"(?P=iso_s)(?P<iso_d>\d{1,2})(?:[T\s]+(?P<iso_h>\d{1,2}):(?P<iso_mi>\d{2})"
            r"(?::\d{2})?)?(?![\w/\-:]))",
            # "15/4", "ngày 15/04/2020", "15/4/20" (not "15/4/QĐ" nor "1/2/3/4")
            rf"(?P<dmy>(?<![\w/.\-])(?:{_NGAY}\s+)?(?P<dmy_d>\d{{1,2}})/(?P<dmy_m>\d{{1,2}})"
            r"(?:/(?P<dmy_y>\d{4}|\d{2}))?(?![\w/]|[.\-]\d))",
            # "15.4.2020", "15-04-2020": dot/dash only with a year ("15.4" is 15.4 million)
            rf"(?P<dmy2>(?<![\w/.\-])(?:{_NGAY}\s+)?(?P<dmy2_d>\d{{1,2}})(?P<dmy2_s>[.\-])"
            r"(?P<dmy2_m>\d{1,2})(?P=dmy2_s)(?P<dmy2_y>\d{4})(?![\w/]|[.\-]\d))",
            # "ngày 15 tháng 4 năm 2020", "15 tháng 4"
            rf"(?P<vnd>(?<![\w/.])(?:{_NGAY}\s+)?(?P<vnd_d>\d{{1,2}})\s+{_THANG}\s+"
            rf"(?P<vnd_m>\d{{1,2}}|{_VI_MONTH_RE})"
            rf"(?:\s*(?:{_words('năm')}\s+|/|,\s*)(?P<vnd_y>\d{{4}}))?(?!\w))",
            # "April 15", "Apr 15th, 2020"
            rf"(?P<enmd>(?P<enmd_mon>{_MONTH_RE})\.?\s+(?P<enmd_d>\d{{1,2}})(?:st|nd|rd|th)?"
            r"(?:,?\s+(?P<enmd_y>\d{4}))?(?!\w))",
            # "15 April", "the 15th of April 2020"
            rf"(?P<endm>(?:the\s+)?(?P<endm_d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?"
            rf"(?P<endm_mon>{_MONTH_RE})\.?(?:,?\s+(?P<endm_y>\d{{4}}))?(?!\w))",
            # "ngày 20", "the 20th": a day of this (or next) month
            rf"(?P<dom>{_NGAY}\s+(?P<dom_d>\d{{1,2}})(?![\w/.\-:]|\s*(?:{_THANG}|h\b|:))"
            r"|(?:the\s+)?(?P<dom_d2>\d{1,2})(?:st|nd|rd|th)(?!\w))",
            # "thứ 6", "thứ sáu", "thu 6", "chủ nhật", "T6", "CN", optionally "tới"/"này"
            rf"(?P<vwd>(?:{_THU}\s*(?P<vwd_n>[2-7])(?!{_MONEY_AFTER})"
            rf"|{_THU}\s+(?P<vwd_w>{_words('hai', 'ba', 'tư', 'năm', 'sáu', 'bảy', 'bẩy')})"
            rf"|(?P<vwd_cn>{_words('chủ nhật')})|\b(?P<vwd_t>[tT][2-7])|\b(?P<vwd_cn2>CN))(?!\w)"
            rf"(?:\s+(?P<vwd_mod>{_words('tới', 'này')})(?!\w))?)",
            # "Friday", "next Friday", "this fri"
            rf"(?P<ewd>(?:(?P<ewd_mod>next|this|coming)\s+)?(?P<ewd_d>{_WEEKDAY_EN_RE})\.?(?!\w))",
            # "tuần sau", "tuần tới", "tuần này", "next week"
            rf"(?P<wrel>{_words('tuần')}\s+(?P<wrel_vi>{_words('kế tiếp', 'kế', 'tiếp', 'tới')}"
            rf"|{_words('sau', 'này', 'trước')})(?!\w)|(?P<wrel_en>next|this|last)\s+week\b)",
            # "ngày mai", "mai", "mốt", "hôm nay", "tomorrow", "tonight"
            rf"(?P<day>(?P<day_w>{_words('hôm nay', 'ngày mai', 'ngày kia', 'ngày kìa')}"
            rf"|{_words('ngày mốt', 'hôm qua', 'mai', 'mốt', 'nay')}|tomorrow|tmrw?|today"
            r"|tonight|(?:the\s+)?day\s+after\s+tomorrow|yesterday"
            r"|this\s+(?:morning|afternoon|evening))(?!\w))",
            # "17h", "17h30", "17 giờ 30 phút", "9h rưỡi", "9h kém 15", "17:00", "5pm", "noon"
            rf"(?P<tm>(?<![\d:/.,])(?P<tm_h>\d{{1,2}})\s*(?:{_words('giờ')}|h|g)"
            rf"(?:\s*(?P<tm_m>\d{{1,2}})(?![\d/.\-:]|\s*{_THANG})(?:\s*(?:{_words('phút')}|p|'))?"
            rf"|\s*(?P<tm_half>{_words('rưỡi')}))?"
            rf"(?:\s*{_words('kém')}\s*(?P<tm_less>\d{{1,2}})(?:\s*(?:{_words('phút')}|p|'))?)?"
            r"(?:\s*(?P<tm_ap1>[ap]\.?m\.?))?(?!\w)"
            r"|(?<![\d:/.,])(?P<tm_h2>\d{1,2}):(?P<tm_m2>\d{2})(?::\d{2})?"
            r"(?:\s*(?P<tm_ap2>[ap]\.?m\.?))?(?![\w:])"
            r"|(?<![\d:/.,])(?P<tm_h3>\d{1,2})\s*(?P<tm_ap3>[ap]\.?m\.?)(?!\w)"
            rf"|(?<![\d:/.,])(?P<tm_h4>\d{{1,2}})\s+(?P<tm_half2>{_words('rưỡi')})(?!\w)"
            rf"|(?P<tm_word>noon|midday|midnight|{_words('nửa đêm')})(?!\w))",
            # "sáng", "chiều", "tối", "morning", ...
            rf"(?P<per>(?P<per_w>{_words('sáng', 'trưa', 'chiều', 'tối', 'đêm')}"
            r"|morning|afternoon|evening|night)(?!\w))",
            # Markers that introduce a deadline; stripped together with it.
            # "hạn cuối" (final deadline) but not the "hạn" + "cuối năm" of "hạn cuối năm"
            rf"(?P<mark>(?:{_words('hạn cuối')}(?!\s+{_RANGE_UNITS})"
            rf"|{_words('thời hạn pháp lý', 'thời hạn', 'hạn chót')}"
            rf"|{_words('hạn nộp', 'hạn hoàn thành', 'hạn xử lý', 'hạn trả lời', 'hạn')}"
            rf"|{_words('chậm nhất là', 'chậm nhất', 'muộn nhất là', 'muộn nhất')}"
            rf"|{_words('trễ nhất là', 'trễ nhất', 'trước', 'trong', 'đến')}"
            r"|deadline|no\s+later\s+than|due\s+(?:by|on)|due|by|before|until|till)(?!\w))",
            # Glue words inside a deadline phrase ("17h ngày 15/4", "tomorrow at 9am").
            rf"(?P<conn>(?:{_words('vào lúc', 'vào', 'lúc', 'ngày', 'là')}|at|on)(?!\w))",
        ]
    )
    + ")",
    re.IGNORECASE,
)

# What may separate two tokens of one deadline phrase.
_GAP_RE: Final = re.compile(r"[\s,:\-–]*")
_PREV_WORD_RE: Final = re.compile(r"(\w+)\W*$")
_WORD_RE: Final = re.compile(r"\w+")
_FALLBACK_STOP_RE: Final = re.compile(r"[.;!?\n()\[\]]")
_FALLBACK_WORD_RE: Final = re.compile(r"\S+")
_FALLBACK_MAX_WORDS: Final = 6

# Plain spellings that are other everyday words once the writer uses diacritics at all.
_RISKY_PLAIN: Final = frozenset({"sang", "toi", "mot", "dem", "thu", "may"})
# "lần thứ 2", "điều thứ ba": ordinals, not weekdays.
_ORDINAL_HEADS: Final = frozenset(
    _plain(w).lower()
    for w in (
        "lần", "điều", "khoản", "mục", "phần", "bước", "kỳ", "khóa", "khoá", "người", "chương",
        "trang", "tầng", "hạng", "vị", "lớp", "đợt", "quý", "tuần", "tháng", "đứng", "giải",
        "cuộc", "bản", "đề", "câu", "bài", "con", "cái", "hàng", "dòng",
    )
)  # fmt: skip
# "công văn số 15/4": a document number, not a date.
_NUMBER_HEADS: Final = frozenset({"so", "số", "hieu", "hiệu"})
_PERIOD_EN: Final = MappingProxyType(
    {"morning": "sang", "afternoon": "chieu", "evening": "toi", "night": "dem"}
)
_EN_HINT_RE: Final = re.compile(
    rf"\b(?:by|before|due|until|till|within|in|after|at|on|next|this|last|today|tonight"
    rf"|tomorrow|tmrw?|yesterday|noon|midday|midnight|morning|afternoon|evening|night|end"
    rf"|from\s+now|later|days?|weeks?|hours?|minutes?|[ap]\.?m\.?|{_WEEKDAY_EN_RE}"
    rf"|{_MONTH_RE})\b",
    re.IGNORECASE,
)
_VI_HINT_RE: Final = re.compile(
    r"\b(?:han|truoc|ngay|gio|thu|mai|mot|sang|trua|chieu|toi|dem|tuan|thang|cuoi|trong"
    r"|nua|tieng|phut|luc|vao|den|hom|nay|kia|nhat|cham|muon|tre|\d+[hg]\d*)\b",
    re.IGNORECASE,
)
_DATE_VOCAB_RE: Final = re.compile(
    rf"\d|\b(?:{_MONTH_RE}|{_WEEKDAY_EN_RE}|next|end|week|fortnight|month|year|noon|tomorrow"
    rf"|today|{_words('tháng', 'tuần', 'năm', 'tết', 'rằm')})\b",
    re.IGNORECASE,
)

# Fixed part of the dateparser settings; RELATIVE_BASE and TIMEZONE are added per call.
_DATEPARSER_SETTINGS: Final = MappingProxyType(
    {
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "DMY",
        "PREFER_LOCALE_DATE_ORDER": False,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "RETURN_TIME_AS_PERIOD": True,  # period "time" tells us a time of day was given
    }
)

_DATE_KINDS: Final = frozenset({"iso", "dmy", "dmy2", "vnd", "enmd", "endm", "dom"})
_CONTENT_KINDS: Final = _DATE_KINDS | {"rel", "rng", "vwd", "ewd", "wrel", "day", "tm", "per"}


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    start: int
    end: int
    match: re.Match[str]
    weak: bool = False  # alone it is too likely another word ("Mai" the name, "CN", "sáng")
    name_like: bool = False  # capitalised "Mai" in mid-sentence: a person unless led in
    slots: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class _Clock:
    hour: int
    minute: int
    day_shift: int = 0  # "1h đêm" belongs to the night after the named day


@dataclass(frozen=True, slots=True)
class _Anchor:
    """The day a cluster names, before a time of day is applied."""

    day: date
    roll_to: date | None = None  # next occurrence, used if `day` at the time is past
    offer_roll: bool = False  # `day` is fine but `roll_to` is just as plausible
    extra: tuple[date, ...] = ()  # further readings (MDY order, next week's weekday)
    reasons: tuple[str, ...] = ()


def _slots_for(kind: str, m: re.Match[str]) -> frozenset[str]:
    """Which parts of a deadline a token fills; a second token for a filled part starts a
    new phrase ("15/4 ... 20/4" are two phrases, not one)."""
    if kind == "rel":
        unit = _unit_of(m)
        if unit in ("hour", "minute"):
            return frozenset({"anchor", "time", "period", "weekday", "week"})
        return frozenset({"anchor", "weekday", "week"})
    if kind == "iso":
        return frozenset({"anchor", "time", "period"} if m.group("iso_h") else {"anchor"})
    if kind in _DATE_KINDS or kind == "rng":
        return frozenset({"anchor", "week"})
    if kind == "day":
        word = _norm_word(m.group("day_w"))
        if word == "tonight" or word.startswith("this "):
            return frozenset({"anchor", "period", "week"})
        return frozenset({"anchor", "week"})
    if kind in ("vwd", "ewd"):
        has_mod = bool(m.group("vwd_mod") if kind == "vwd" else m.group("ewd_mod"))
        return frozenset({"weekday", "week"} if has_mod else {"weekday"})
    if kind == "wrel":
        return frozenset({"week"})
    if kind == "tm":
        # "5pm" and "noon" already say the part of the day; "5h" still takes "chiều".
        says_period = any(m.group(g) for g in ("tm_ap1", "tm_ap2", "tm_ap3", "tm_word"))
        return frozenset({"time", "period"} if says_period else {"time"})
    if kind == "per":
        return frozenset({"period"})
    return frozenset()


def _risky_plain(kind: str, raw: str) -> bool:
    """An accent-free spelling that is another word ("sang", "toi", "thu", "may", ...)."""
    if kind not in ("per", "day", "vwd", "enmd", "endm"):
        return False
    words = _WORD_RE.findall(raw.lower())
    if kind == "vwd":
        words = words[:1]  # only "thu"; a plain modifier ("thứ 6 toi") is harmless
    return any(w in _RISKY_PLAIN for w in words)


def _norm_word(text: str) -> str:
    return " ".join(text.lower().split())


def _unit_of(m: re.Match[str]) -> str:
    raw = _plain(m.group("rel_u1") or m.group("rel_u2") or m.group("rel_u3") or "").lower()
    if raw in ("ngay", "hom", "day", "days"):
        return "day"
    if raw in ("tuan", "week", "weeks"):
        return "week"
    if raw in ("thang", "month", "months"):
        return "month"
    if raw in ("phut", "p", "minute", "minutes", "min", "mins"):
        return "minute"
    return "hour"


def _number(text: str) -> float:
    word = _norm_word(text)
    if word.isdigit():
        return float(word)
    if word.startswith("half") or _plain(word) == "nua":
        return 0.5
    return float(_NUMBER_WORDS.get(word, _NUMBER_WORDS.get(_plain(word), 1)))


# --------------------------------------------------------------------------- the reader


class _Reader:
    """One parse: the text, the clock and the zone, shared by the resolution steps."""

    def __init__(self, text: str, now: datetime, tz: tzinfo, lang_hint: str | None) -> None:
        self.text = text
        self.tz = tz
        self.now = now.astimezone(tz)
        self.today = self.now.date()
        self.lang_hint = lang_hint
        self.has_diacritics = text.translate(_STRIP_TABLE) != text

    # ---- tokens

    def tokens(self) -> list[_Token]:
        found: list[_Token] = []
        for m in _TOKEN_RE.finditer(self.text):
            kind = m.lastgroup
            if kind is None:
                continue
            token = self._token(kind, m)
            if token is not None:
                found.append(token)
        return found

    def _token(self, kind: str, m: re.Match[str]) -> _Token | None:
        if self.has_diacritics and _risky_plain(kind, m.group(0)):
            return None
        weak = False
        name_like = False
        if kind == "vwd":
            if self._prev_word(m.start()) in _ORDINAL_HEADS:
                return None
            if m.group("vwd_cn2"):
                if m.group("vwd_cn2") != "CN":  # "cn" lower-case is too often something else
                    return None
                weak = True
            weak = weak or bool(m.group("vwd_t"))
        elif kind == "ewd":
            weak = m.group("ewd_d").lower() in _WEEKDAY_EN_WEAK and not m.group("ewd_mod")
        elif kind in _DATE_KINDS:
            if self._prev_word(m.start()) in _NUMBER_HEADS:
                return None  # "công văn số 15/4" is a document number
            if self._explicit_date(kind, m) is None and not self._yearless_valid(kind, m):
                return None
            if kind == "iso" and m.group("iso_h") and _iso_clock(m) is None:
                return None
        elif kind == "tm":
            if self._clock_parts(m) is None:
                return None
        elif kind in ("per", "wrel"):
            # "báo cáo tuần trước" is last week's report, not a deadline last week.
            weak = True
        elif kind == "rng":
            # "báo cáo cuối năm" is the year-end report far more often than a deadline.
            unit = _plain(m.group("rng_u") or m.group("rng_en_u") or "").lower()
            weak = unit in ("nam", "year")
        elif kind == "day":
            word = m.group("day_w")
            folded = _plain(word).lower()
            if folded in ("nay", "hom qua", "yesterday"):
                weak = True  # "đơn nhận hôm qua": when it came in, not when it is due
            elif word == "Mai" and self.text[: m.start()].strip(" \t,.:;-"):
                name_like = True  # a capital "Mai" opening the text is sentence case
            elif word.lower() == "mot":
                weak = True
        return _Token(kind, m.start(), m.end(), m, weak, name_like, _slots_for(kind, m))

    def _prev_word(self, start: int) -> str:
        found = _PREV_WORD_RE.search(self.text, max(0, start - 24), start)
        return _plain(found.group(1)).lower() if found else ""

    # ---- clusters

    def clusters(self, tokens: list[_Token]) -> list[list[_Token]]:
        clusters: list[list[_Token]] = []
        current: list[_Token] = []
        filled: set[str] = set()
        for token in tokens:
            joins = (
                bool(current)
                and _GAP_RE.fullmatch(self.text, current[-1].end, token.start) is not None
                and not (token.slots & filled)
                # a marker after content starts the next phrase ("17h, hạn 18h")
                and not (token.kind == "mark" and filled)
            )
            if not joins:
                if current:
                    clusters.append(current)
                current, filled = [], set()
            current.append(token)
            filled |= token.slots
        if current:
            clusters.append(current)
        return [c for c in (self._trim(c) for c in clusters) if c]

    def _trim(self, cluster: list[_Token]) -> list[_Token]:
        """Drop trailing glue, and a leading "Mai" that is a person's name."""
        while cluster and cluster[-1].kind in ("mark", "conn"):
            cluster = cluster[:-1]
        content = [t for t in cluster if t.kind in _CONTENT_KINDS]
        has_mark = any(t.kind == "mark" for t in cluster)
        if content and content[0].name_like and not has_mark:
            cluster = cluster[cluster.index(content[0]) + 1 :]
            while cluster and cluster[0].kind == "conn":
                cluster = cluster[1:]
        if not any(t.kind in _CONTENT_KINDS for t in cluster):
            return []
        # Leading glue ("vào 9h") stays in the phrase, so it leaves the task text with it.
        return cluster

    @staticmethod
    def _valid(cluster: list[_Token]) -> bool:
        content = [t for t in cluster if t.kind in _CONTENT_KINDS]
        has_mark = any(t.kind == "mark" for t in cluster)
        return has_mark or len(content) >= 2 or any(not t.weak for t in content)

    @staticmethod
    def pick(clusters: list[list[_Token]]) -> list[_Token] | None:
        valid = [c for c in clusters if _Reader._valid(c)]
        marked = [c for c in valid if any(t.kind == "mark" for t in c)]
        # A marked phrase wins; otherwise the last one, since deadlines end the sentence.
        if marked:
            return marked[-1]
        return valid[-1] if valid else None

    # ---- language

    def lang(self, cluster: list[_Token]) -> Lang:
        """The language of the phrase; it only decides whether "5/6" may be MDY."""
        if self.lang_hint == "en":
            return "en"
        if self.lang_hint == "vi" or self.has_diacritics:
            return "vi"
        words = " ".join(t.match.group(0) for t in cluster)
        if _EN_HINT_RE.search(words) and not _VI_HINT_RE.search(words):
            return "en"
        return "vi"

    # ---- resolution

    def resolve(self, cluster: list[_Token]) -> DeadlineReading:
        by_kind: dict[str, _Token] = {}
        for token in cluster:
            by_kind.setdefault(token.kind, token)
        reasons: list[str] = []
        start, end = cluster[0].start, cluster[-1].end

        rel = by_kind.get("rel")
        if rel is not None and _unit_of(rel.match) in ("hour", "minute"):
            when = self._relative_exact(rel.match)
            return self._reading([when], start, end, [], assumed=False)

        clocks, clock_reasons, assumed = self._clocks(by_kind)
        reasons += clock_reasons
        anchor = self._anchor(by_kind, cluster, self.lang(cluster))
        reasons += anchor.reasons

        candidates: list[datetime] = []
        for index, clock in enumerate(clocks):
            literal = self._at(anchor.day, clock)
            if anchor.roll_to is not None and literal <= self.now:
                rolled = self._at(anchor.roll_to, clock)
                if rolled - self.now < self.now - literal:
                    # The next occurrence is nearer than the one just gone ("15/1" on
                    # 30/12, "9h" at 22:00): that is what was meant, no need to ask.
                    seq = [rolled]
                else:
                    seq = [rolled, literal]
                    if index == 0:
                        reasons.append(PAST_ROLLED)
            elif anchor.roll_to is not None and anchor.offer_roll:
                seq = [literal, self._at(anchor.roll_to, clock)]
                if index == 0:
                    reasons.append(WEEKDAY_IS_TODAY)
            else:
                seq = [literal]
            candidates += seq if index == 0 else seq[:1]
            if index == 0:
                candidates += [self._at(d, clock) for d in anchor.extra]
        return self._reading(candidates, start, end, reasons, assumed=assumed)

    def _reading(
        self,
        candidates: list[datetime],
        start: int,
        end: int,
        reasons: list[str],
        *,
        assumed: bool,
        source: Literal["rules", "dateparser"] = "rules",
    ) -> DeadlineReading:
        unique: list[datetime] = []
        for c in candidates:
            if c not in unique:
                unique.append(c)
        unique = unique[:MAX_CANDIDATES]
        when = unique[0]
        return DeadlineReading(
            when=when,
            matched=self.text[start:end],
            remaining_text=tidy(self.text[:start] + " " + self.text[end:]),
            ambiguous=len(unique) > 1,
            candidates=unique,
            past=when <= self.now,
            assumed_time=assumed,
            span=(start, end),
            # A reason only matters when there is a choice to offer.
            reasons=tuple(dict.fromkeys(reasons)) if len(unique) > 1 else (),
            source=source,
        )

    def _at(self, day: date, clock: _Clock) -> datetime:
        day += timedelta(days=clock.day_shift)
        naive = datetime.combine(day, time(clock.hour, clock.minute))
        return _localize(naive, self.tz)

    def _relative_exact(self, m: re.Match[str]) -> datetime:
        n = _number(m.group("rel_n1") or m.group("rel_n2") or m.group("rel_n3"))
        unit = _unit_of(m)
        delta = timedelta(hours=n) if unit == "hour" else timedelta(minutes=n)
        # Absolute time: "2 tiếng nữa" across a DST change is still two hours.
        return (self.now.astimezone(UTC) + delta).astimezone(self.tz)

    # ---- time of day

    @staticmethod
    def _clock_parts(m: re.Match[str]) -> tuple[int, int, str | None, bool] | None:
        """(hour, minute, am/pm, leading zero) or None when not a valid time."""
        if m.group("tm_word"):
            return -1, -1, None, False  # noon/midnight: resolved by word in _clocks
        h_text = m.group("tm_h") or m.group("tm_h2") or m.group("tm_h3") or m.group("tm_h4")
        hour = int(h_text)
        minute = int(m.group("tm_m") or m.group("tm_m2") or 0)
        if m.group("tm_half") or m.group("tm_half2"):
            minute = 30
        if m.group("tm_less"):
            less = int(m.group("tm_less"))
            if not 0 < less < 60:
                return None
            hour, minute = hour - 1, 60 - less
        ampm = m.group("tm_ap1") or m.group("tm_ap2") or m.group("tm_ap3")
        ampm = ampm.lower().replace(".", "")[0] if ampm else None
        if ampm and not 1 <= hour <= 12:
            return None
        if not (0 <= hour <= 24 and 0 <= minute <= 59) or (hour == 24 and minute):
            return None
        return hour, minute, ampm, h_text.startswith("0") and len(h_text) == 2

    def _clocks(self, by_kind: dict[str, _Token]) -> tuple[list[_Clock], list[str], bool]:
        """Time-of-day options (best first), reasons, and whether the time was assumed."""
        period = self._period(by_kind)
        tm = by_kind.get("tm")
        iso = by_kind.get("iso")
        if iso is not None and iso.match.group("iso_h"):
            clock = _iso_clock(iso.match)
            assert clock is not None  # filtered when the token was made
            return [clock], [], False
        if tm is None:
            default = PERIOD_DEFAULT.get(period or "", END_OF_WORKDAY)
            return [_Clock(default.hour, default.minute)], [], True
        word = tm.match.group("tm_word")
        if word:
            folded = _plain(word).lower()
            if folded in ("noon", "midday"):
                return [_Clock(12, 0)], [], False
            return [_Clock(23, 59)], [], False
        parts = self._clock_parts(tm.match)
        assert parts is not None  # filtered when the token was made
        hour, minute, ampm, leading_zero = parts
        if hour == 24:
            return [_Clock(23, 59)], [], False
        if ampm == "p":
            return [_Clock(hour % 12 + 12, minute)], [], False
        if ampm == "a":
            return [_Clock(hour % 12, minute)], [], False
        if period is not None:
            return [_period_clock(hour, minute, period)], [], False
        if 1 <= hour <= 6 and not leading_zero:
            # "hạn 5h": offices mean 17:00 far more often than 05:00, but ask.
            return [_Clock(hour + 12, minute), _Clock(hour, minute)], [HOUR_AM_PM], False
        return [_Clock(hour, minute)], [], False

    @staticmethod
    def _period(by_kind: dict[str, _Token]) -> str | None:
        per = by_kind.get("per")
        if per is not None:
            word = _plain(per.match.group("per_w")).lower()
            return _PERIOD_EN.get(word, word)
        day = by_kind.get("day")
        if day is not None:
            word = _norm_word(day.match.group("day_w"))
            if word == "tonight":
                return "toi"
            if word.startswith("this "):
                return _PERIOD_EN[word.split()[-1]]
        return None

    # ---- the day

    def _anchor(self, by_kind: dict[str, _Token], cluster: list[_Token], lang: Lang) -> _Anchor:
        weekday_token = by_kind.get("vwd") or by_kind.get("ewd")
        week = self._week_shift(by_kind.get("wrel"))
        date_token = next((t for t in cluster if t.kind in _DATE_KINDS), None)

        if date_token is not None:
            anchor = self._date_anchor(date_token, lang)
            if weekday_token is not None:
                wd, _ = self._weekday_of(weekday_token)
                if anchor.day.weekday() != wd:
                    other = self._weekday_anchor(weekday_token, week)
                    anchor = _Anchor(
                        anchor.day,
                        anchor.roll_to,
                        anchor.offer_roll,
                        (*anchor.extra, other.day),
                        (*anchor.reasons, WEEKDAY_MISMATCH),
                    )
            return anchor
        if "rel" in by_kind:
            return _Anchor(self._relative_day(by_kind["rel"].match))
        if "rng" in by_kind:
            return self._range_anchor(by_kind["rng"].match)
        if "day" in by_kind:
            return _Anchor(self.today + timedelta(days=self._day_offset(by_kind["day"].match)))
        if weekday_token is not None:
            return self._weekday_anchor(weekday_token, week)
        if week is not None:
            monday = self._monday() + timedelta(weeks=week)
            if week != 1:  # this week / last week: only its end makes sense as a deadline
                return _Anchor(monday + timedelta(days=4))
            return _Anchor(monday + timedelta(days=4), extra=(monday,), reasons=(WEEK_ONLY,))
        # Only a time or a part of the day: today, or tomorrow if that is past.
        return _Anchor(self.today, roll_to=self.today + timedelta(days=1))

    def _monday(self) -> date:
        return self.today - timedelta(days=self.today.weekday())

    @staticmethod
    def _week_shift(token: _Token | None) -> int | None:
        if token is None:
            return None
        word = _plain(token.match.group("wrel_vi") or token.match.group("wrel_en")).lower()
        word = " ".join(word.split())
        if word in ("nay", "this"):
            return 0
        if word in ("truoc", "last"):
            return -1
        return 1

    def _day_offset(self, m: re.Match[str]) -> int:
        word = _norm_word(m.group("day_w"))
        if word in ("ngày kìa",):  # only the accented form: "kia" is the day after tomorrow
            return 3
        folded = _plain(word)
        if folded in ("hom qua", "yesterday"):
            return -1
        if folded in ("ngay mai", "mai", "tomorrow", "tmr", "tmrw"):
            return 1
        if folded in ("ngay kia", "ngay mot", "mot") or folded.endswith("after tomorrow"):
            return 2
        return 0

    def _weekday_of(self, token: _Token) -> tuple[int, str | None]:
        """(Monday=0 weekday, modifier) of a weekday token."""
        m = token.match
        if token.kind == "ewd":
            mod = m.group("ewd_mod")
            return _WEEKDAYS_EN[m.group("ewd_d").lower()], mod.lower() if mod else None
        mod = m.group("vwd_mod")
        mod = _plain(mod).lower() if mod else None
        if m.group("vwd_n"):
            return int(m.group("vwd_n")) - 2, mod
        if m.group("vwd_w"):
            word = m.group("vwd_w").lower()
            return _WEEKDAY_VI_WORDS.get(word, _WEEKDAY_VI_WORDS.get(_plain(word), 0)), mod
        if m.group("vwd_t"):
            return int(m.group("vwd_t")[1]) - 2, mod
        return 6, mod  # chủ nhật / CN

    def _weekday_anchor(self, token: _Token, week: int | None) -> _Anchor:
        wd, mod = self._weekday_of(token)
        monday = self._monday()
        if mod in ("this", "nay") and week is None:
            week = 0
        if week is not None:
            # Vietnamese weeks run thứ 2 … chủ nhật, so "tuần sau" on a Sunday starts tomorrow.
            return _Anchor(monday + timedelta(weeks=week, days=wd))
        ahead = (wd - self.today.weekday()) % 7
        if mod == "next":
            coming = self.today + timedelta(days=ahead or 7)
            next_week = monday + timedelta(weeks=1, days=wd)
            if coming == next_week:
                return _Anchor(coming)
            return _Anchor(coming, extra=(next_week,), reasons=(NEXT_WEEKDAY,))
        if ahead == 0:
            if mod in ("toi", "coming"):  # "thứ 6 tới" said on a Friday: next week's
                return _Anchor(self.today + timedelta(days=7))
            return _Anchor(self.today, roll_to=self.today + timedelta(days=7), offer_roll=True)
        return _Anchor(self.today + timedelta(days=ahead))

    def _relative_day(self, m: re.Match[str]) -> date:
        n = int(_number(m.group("rel_n1") or m.group("rel_n2") or m.group("rel_n3")))
        unit = _unit_of(m)
        if unit == "week":
            return self.today + timedelta(weeks=n)
        if unit == "month":
            return _add_months(self.today, n)
        return self.today + timedelta(days=n)

    def _range_anchor(self, m: re.Match[str]) -> _Anchor:
        if m.group("rng_eod"):
            return _Anchor(self.today)
        if m.group("rng_en_mon"):
            return self._month_end_anchor(_MONTHS_EN[m.group("rng_en_mon").lower()])
        if m.group("rng_en_u"):
            unit = m.group("rng_en_u").lower()
            shift = 1 if (m.group("rng_en_m") or "").strip().lower() == "next" else 0
            explicit = bool(m.group("rng_en_m"))
        else:
            unit = {"tuan": "week", "thang": "month", "nam": "year"}.get(
                _plain(m.group("rng_u")).lower(), "day"
            )
            modifier = _plain(m.group("rng_m") or "").lower()
            modifier = " ".join(modifier.split())
            shift = 1 if modifier in ("ke tiep", "sau", "toi") else 0
            explicit = bool(modifier) and not m.group("rng_n")
            if m.group("rng_n"):
                return self._month_end_anchor(int(m.group("rng_n")))
        if unit == "day":
            return _Anchor(self.today)
        if unit == "week":
            friday = self._monday() + timedelta(weeks=shift, days=4)
            roll = None if explicit else friday + timedelta(weeks=1)
            return _Anchor(friday, roll_to=roll)
        if unit == "month":
            first = _add_months(self.today.replace(day=1), shift)
            end = _month_end(first.year, first.month)
            roll = None if explicit else _month_end_of(_add_months(first, 1))
            return _Anchor(end, roll_to=roll)
        year = self.today.year + shift
        return _Anchor(date(year, 12, 31), roll_to=None if explicit else date(year + 1, 12, 31))

    def _month_end_anchor(self, month: int) -> _Anchor:
        if not 1 <= month <= 12:
            month = self.today.month
        year = self.today.year
        return _Anchor(_month_end(year, month), roll_to=_month_end(year + 1, month))

    # ---- dates

    @staticmethod
    def _date_fields(kind: str, m: re.Match[str]) -> tuple[int, int, int | None]:
        """(day, month, year or None) of a date token."""
        if kind == "iso":
            return int(m.group("iso_d")), int(m.group("iso_m")), int(m.group("iso_y"))
        if kind == "dom":
            return int(m.group("dom_d") or m.group("dom_d2")), 0, None
        if kind in ("enmd", "endm"):
            month = _MONTHS_EN.get(m.group(f"{kind}_mon").lower(), 0)
            year = m.group(f"{kind}_y")
            return int(m.group(f"{kind}_d")), month, int(year) if year else None
        if kind == "vnd":
            month_text = _norm_word(m.group("vnd_m"))
            month = int(month_text) if month_text.isdigit() else _VI_MONTH_WORDS[month_text]
            year_text = m.group("vnd_y")
            return int(m.group("vnd_d")), month, int(year_text) if year_text else None
        year_text = m.group(f"{kind}_y")
        year = int(year_text) if year_text else None
        if year is not None and len(year_text) == 2:
            year += 2000  # "15/4/20"
        return int(m.group(f"{kind}_d")), int(m.group(f"{kind}_m")), year

    def _explicit_date(self, kind: str, m: re.Match[str]) -> date | None:
        day, month, year = self._date_fields(kind, m)
        if year is None or month == 0 or not MIN_YEAR <= year <= MAX_YEAR:
            return None  # out-of-range years are typos, and would overflow zone arithmetic
        return _safe_date(year, month, day)

    def _yearless_valid(self, kind: str, m: re.Match[str]) -> bool:
        day, month, year = self._date_fields(kind, m)
        if year is not None:
            return False
        if month == 0:
            return 1 <= day <= 31
        # 29/2 is valid in some year; the anchor picks the right one.
        return _safe_date(2020, month, day) is not None

    def _date_anchor(self, token: _Token, lang: Lang) -> _Anchor:
        kind, m = token.kind, token.match
        day, month, _ = self._date_fields(kind, m)
        # "5/6" in English may be May 6th; Vietnamese never writes month first.
        swap = kind in ("dmy", "dmy2") and lang == "en" and day <= 12 and month <= 12
        swap = swap and day != month
        explicit = self._explicit_date(kind, m)
        if explicit is not None:
            swapped = _safe_date(explicit.year, day, month) if swap else None
            if swapped is None:
                return _Anchor(explicit)
            return _Anchor(explicit, extra=(swapped,), reasons=(DAY_MONTH_ORDER,))
        if month == 0:  # "ngày 20": this month's, or next month's if past
            this = self._next_month_with(day, self.today.replace(day=1))
            following = self._next_month_with(day, _add_months(this.replace(day=1), 1))
            return _Anchor(this, roll_to=following)
        this, following = self._year_pair(day, month)
        if not swap:
            return _Anchor(this, roll_to=following)
        swapped_this, swapped_next = self._year_pair(month, day)
        swapped = swapped_this if swapped_this >= self.today else swapped_next
        return _Anchor(this, roll_to=following, extra=(swapped,), reasons=(DAY_MONTH_ORDER,))

    def _year_pair(self, day: int, month: int) -> tuple[date, date]:
        """This year's and the next year's day/month (29/2 moves to the next leap year)."""
        year = self.today.year
        this = _safe_date(year, month, day)
        while this is None:
            year += 1
            this = _safe_date(year, month, day)
        year += 1
        following = _safe_date(year, month, day)
        while following is None:
            year += 1
            following = _safe_date(year, month, day)
        return this, following

    @staticmethod
    def _next_month_with(day: int, first: date) -> date:
        for _ in range(12):
            found = _safe_date(first.year, first.month, day)
            if found is not None:
                return found
            first = _add_months(first, 1)
        raise ValueError(f"no month has day {day}")  # unreachable: 1 ≤ day ≤ 31

    # ---- dateparser fallback

    def fallback(self, tokens: list[_Token]) -> DeadlineReading | None:
        """Hand the words after a marker to dateparser, longest prefix first."""
        marks = [t for t in tokens if t.kind == "mark"]
        if not marks:
            return None
        parser: DateDataParser | None = None
        for mark in reversed(marks):
            stop = _FALLBACK_STOP_RE.search(self.text, mark.end)
            segment_end = stop.start() if stop else len(self.text)
            words = list(_FALLBACK_WORD_RE.finditer(self.text, mark.end, segment_end))
            words = words[:_FALLBACK_MAX_WORDS]
            if not words or not _DATE_VOCAB_RE.search(self.text, words[0].start(), words[-1].end()):
                continue
            if parser is None:
                parser = self._dateparser()
            for count in range(len(words), 0, -1):
                end = words[count - 1].end()
                phrase = self.text[words[0].start() : end].strip(",:;-– ")
                if not phrase or not _DATE_VOCAB_RE.search(phrase):
                    continue
                try:
                    data = parser.get_date_data(phrase)
                except Exception:
                    # A third-party parser on arbitrary user text ("01/01/0001" overflows
                    # inside dateparser): a failure there must not break the assignment.
                    continue
                if data.date_obj is None or not MIN_YEAR <= data.date_obj.year <= MAX_YEAR:
                    continue
                local = data.date_obj.replace(tzinfo=None)
                assumed = data.period != "time"
                if assumed:
                    local = datetime.combine(local.date(), END_OF_WORKDAY)
                when = _localize(local, self.tz)
                return self._reading(
                    [when], mark.start, end, [], assumed=assumed, source="dateparser"
                )
        return None

    def _dateparser(self) -> DateDataParser:
        languages = ["en", "vi"] if self.lang_hint == "en" else ["vi", "en"]
        settings = {
            **_DATEPARSER_SETTINGS,
            "RELATIVE_BASE": self.now.replace(tzinfo=None),  # naive wall time in the zone
            "TIMEZONE": getattr(self.tz, "key", str(self.tz)),
        }
        return DateDataParser(languages=languages, settings=settings)


# --------------------------------------------------------------------------- helpers


def _iso_clock(m: re.Match[str]) -> _Clock | None:
    hour, minute = int(m.group("iso_h")), int(m.group("iso_mi"))
    if (hour, minute) == (24, 0):
        return _Clock(23, 59)  # "24:00" is the end of that day
    return _Clock(hour, minute) if hour <= 23 and minute <= 59 else None


def _period_clock(hour: int, minute: int, period: str) -> _Clock:
    """Apply sáng/trưa/chiều/tối/đêm to a 12-hour reading."""
    if period == "trua":
        return _Clock(hour + 12 if 1 <= hour <= 5 else hour, minute)
    if period == "chieu":
        return _Clock(hour + 12 if 1 <= hour <= 11 else hour, minute)
    if period in ("toi", "dem"):
        if hour == 12 or hour == 0:
            return _Clock(23, 59)  # "12h đêm": the end of that day, not the start of it
        if period == "dem" and hour < 6:
            return _Clock(hour, minute, day_shift=1)  # "1h đêm nay" is after midnight
        return _Clock(hour + 12 if hour < 12 else hour, minute)
    return _Clock(hour % 24, minute)  # sáng: as written


def _localize(naive: datetime, tz: tzinfo) -> datetime:
    """Attach the zone; a wall time in a DST gap moves forward, as clocks do."""
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _month_end_of(day: date) -> date:
    return _month_end(day.year, day.month)


# --------------------------------------------------------------------------- public API


def parse_deadline(
    text: str, *, now: datetime, tz: ZoneInfo, lang_hint: str | None = None
) -> DeadlineReading:
    """Find and read the deadline in ``text`` as of ``now`` in the unit's zone ``tz``.

    ``now`` must be timezone-aware (the injectable clock's time); it is converted to ``tz``
    so "ngày mai" means the unit's tomorrow whatever zone the clock reports in. Returns a
    reading with ``when=None`` (and the cleaned text) when there is no deadline. Never
    raises for user text; raises ``ValueError`` for a naive ``now`` (a programming error).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("parse_deadline needs an aware 'now' (the injectable clock's time)")
    text = unicodedata.normalize("NFC", text)
    reader = _Reader(text, now, tz, lang_hint)
    tokens = reader.tokens()
    cluster = reader.pick(reader.clusters(tokens))
    if cluster is not None:
        return reader.resolve(cluster)
    fallback = reader.fallback(tokens)
    if fallback is not None:
        return fallback
    return DeadlineReading(when=None, remaining_text=tidy(text))
