"""Deadline phrases read against fixed clocks; no test looks at today's date."""

from __future__ import annotations

import time as perf
import unicodedata
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.tasks.deadline import (
    DAY_MONTH_ORDER,
    HOUR_AM_PM,
    NEXT_WEEKDAY,
    PAST_ROLLED,
    WEEK_ONLY,
    WEEKDAY_IS_TODAY,
    WEEKDAY_MISMATCH,
    DeadlineReading,
    parse_deadline,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
BANGKOK = ZoneInfo("Asia/Bangkok")
BERLIN = ZoneInfo("Europe/Berlin")

TUESDAY = datetime(2020, 4, 14, 10, 0, tzinfo=HCM)  # the reference clock: Tue 14/04/2020
FRIDAY = datetime(2020, 4, 17, 10, 0, tzinfo=HCM)
FRIDAY_EVENING = datetime(2020, 4, 17, 18, 0, tzinfo=HCM)
NEAR_MIDNIGHT = datetime(2020, 4, 14, 23, 50, tzinfo=HCM)
YEAR_END = datetime(2020, 12, 30, 10, 0, tzinfo=HCM)  # a Wednesday


def at(day: int, month: int = 4, hour: int = 17, minute: int = 0, year: int = 2020) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HCM)


def read(text: str, now: datetime = TUESDAY, **kwargs: object) -> DeadlineReading:
    return parse_deadline(text, now=now, tz=HCM, **kwargs)  # type: ignore[arg-type]


# (text, expected deadline, time was assumed) — all read on Tuesday 14/04/2020 10:00.
PHRASES: list[tuple[str, datetime, bool]] = [
    ("hạn 17h 15/4", at(15), False),
    ("15/04/2020", at(15), True),
    ("trước 9 giờ sáng mai", at(15, hour=9), False),
    ("9h sáng mai", at(15, hour=9), False),
    ("17h30 ngày mai", at(15, hour=17, minute=30), False),
    ("ngày mai", at(15), True),
    ("mai", at(15), True),
    ("ngày kia", at(16), True),
    ("mốt", at(16), True),
    ("thứ 6", at(17), True),
    ("thứ sáu tuần sau", at(24), True),
    ("chủ nhật", at(19), True),
    ("cuối tuần", at(17), True),  # the end of the working week: Friday 17:00
    ("cuối tháng", at(30), True),
    ("trong 3 ngày", at(17), True),
    ("3 ngày nữa", at(17), True),
    ("2 tiếng nữa", at(14, hour=12), False),
    ("by Friday 5pm", at(17), False),
    ("tomorrow 9am", at(15, hour=9), False),
    ("in 2 days", at(16), True),
    ("2020-04-15 17:00", at(15), False),
    ("15/4/2020 8:30", at(15, hour=8, minute=30), False),
    ("chiều mai", at(15), True),  # chiều without an hour: 17:00, the end of the day
    ("sáng thứ 2", at(20, hour=8), True),  # sáng without an hour: 08:00
    # Typed without diacritics.
    ("han 17h ngay mai", at(15), False),
    ("thu 6", at(17), True),
    ("thu sau tuan sau", at(24), True),
    ("chu nhat", at(19), True),
    ("cuoi tuan", at(17), True),
    ("cuoi thang", at(30), True),
    ("trong 3 ngay", at(17), True),
    ("2 tieng nua", at(14, hour=12), False),
    ("truoc 9 gio sang mai", at(15, hour=9), False),
    ("ngay kia", at(16), True),
    ("chieu mai", at(15), True),
    ("sang thu 2", at(20, hour=8), True),
    # More ways people write it.
    ("hạn: 17h ngày 15/4", at(15), False),
    ("ngày 15 tháng 4 năm 2020", at(15), True),
    ("hạn 20 tháng tư", at(20), True),
    ("15.04.2020", at(15), True),
    ("15-04-2020 14:00", at(15, hour=14), False),
    ("2020/04/20", at(20), True),
    ("9 rưỡi sáng mai", at(15, hour=9, minute=30), False),
    ("9h kém 15 sáng mai", at(15, hour=8, minute=45), False),
    ("17 giờ 30 phút ngày 16/4", at(16, hour=17, minute=30), False),
    ("5 giờ chiều thứ 4 tuần sau", at(22), False),
    ("2h chiều thứ 4 tuần sau", at(22, hour=14), False),
    ("1h chiều mai", at(15, hour=13), False),
    ("12h trưa mai", at(15, hour=12), False),
    ("tối nay", at(14, hour=20), True),
    ("10h tối nay", at(14, hour=22), False),
    ("12h đêm nay", at(14, hour=23, minute=59), False),
    ("1h đêm nay", at(15, hour=1), False),  # after midnight, the night of the 14th
    ("thứ 7 này", at(18), True),
    ("hạn thứ 6 tới", at(17), True),
    ("cuối tuần sau", at(24), True),
    ("cuối tháng 5", at(31, month=5), True),
    ("hạn ngày 20", at(20), True),
    ("hạn T6", at(17), True),
    ("hạn CN", at(19), True),
    ("trong vòng hai ngày", at(16), True),
    ("nửa tiếng nữa", at(14, hour=10, minute=30), False),
    ("trong 24h", at(15, hour=10), False),
    ("30p nữa", at(14, hour=10, minute=30), False),
    ("trước 17h hôm nay", at(14), False),
    ("cuối ngày", at(14), True),
    ("trong tuần", at(17), True),
    ("April 20 5pm", at(20), False),
    ("20 Apr", at(20), True),
    ("by the 20th at 3pm", at(20, hour=15), False),
    ("end of April", at(30), True),
    ("end of month", at(30), True),
    ("EOD", at(14), True),
    ("tonight", at(14, hour=20), True),
    ("this afternoon", at(14), True),
    ("the day after tomorrow", at(16), True),
    ("in an hour", at(14, hour=11), False),
    ("1 week from now", at(21), True),
    ("by next Monday", at(20), True),
    ("by midnight", at(14, hour=23, minute=59), False),
    ("due 17:00 15/04", at(15), False),
]


@pytest.mark.parametrize(("text", "expected", "assumed"), PHRASES, ids=[p[0] for p in PHRASES])
def test_phrase_is_read(text: str, expected: datetime, assumed: bool) -> None:
    reading = read(text)
    assert reading.when == expected
    assert reading.when is not None and reading.when.tzinfo == HCM
    assert reading.assumed_time is assumed
    assert reading.matched == text  # the whole phrase was consumed ...
    assert reading.remaining_text == ""  # ... so nothing is left of it
    assert not reading.ambiguous
    assert reading.candidates == [expected]
    assert not reading.past
    assert reading.source == "rules"


EMBEDDED: list[tuple[str, datetime, str, str]] = [
    (
        "Soạn công văn gửi sở Y tế hạn 17h ngày mai",
        at(15),
        "hạn 17h ngày mai",
        "Soạn công văn gửi sở Y tế",
    ),
    (
        "Soan cong van gui so Y te han 17h ngay mai",
        at(15),
        "han 17h ngay mai",
        "Soan cong van gui so Y te",
    ),
    ("Soạn công văn, hạn 17h ngày mai.", at(15), "hạn 17h ngày mai", "Soạn công văn."),
    (
        "Hoàn thành báo cáo (hạn: 17h ngày 15/4).",
        at(15),
        "hạn: 17h ngày 15/4",
        "Hoàn thành báo cáo.",
    ),
    (
        "Nộp báo cáo tổng hợp trước 9 giờ sáng mai",
        at(15, hour=9),
        "trước 9 giờ sáng mai",
        "Nộp báo cáo tổng hợp",
    ),
    ("Send the summary by Friday 5pm please", at(17), "by Friday 5pm", "Send the summary please"),
    # A marked phrase wins over another date in the text.
    (
        "Chuẩn bị tài liệu họp ngày 20/4, hạn 17h 16/4",
        at(16),
        "hạn 17h 16/4",
        "Chuẩn bị tài liệu họp ngày 20/4",
    ),
    # Without markers the last phrase wins: deadlines close the sentence.
    ("Báo cáo tuần 13/4 nộp 17h 15/4", at(15), "17h 15/4", "Báo cáo tuần 13/4 nộp"),
    # "Mai" opening the text is "tomorrow" ...
    ("Mai nộp báo cáo", at(15), "Mai", "nộp báo cáo"),
    # ... but capitalised mid-sentence it is a person, and stays in the text.
    ("Gửi chị Mai trước 17h", at(14), "trước 17h", "Gửi chị Mai"),
    ("Nộp cho chị Mai 17h", at(14), "17h", "Nộp cho chị Mai"),
    # "lần thứ 2" is an ordinal, only the later weekday is a deadline.
    ("Họp lần thứ 2 vào thứ 6", at(17), "vào thứ 6", "Họp lần thứ 2"),
    # A document number is not a date.
    (
        "Triển khai Quyết định 15/2020/QĐ-UBND trước 20/4",
        at(20),
        "trước 20/4",
        "Triển khai Quyết định 15/2020/QĐ-UBND",
    ),
    # Plain "tôi"/"đem" are not "tối"/"đêm" once the text has diacritics.
    ("Gửi tôi lúc 11h", at(14, hour=11), "lúc 11h", "Gửi tôi"),
    ("Đem hồ sơ lên lúc 11h", at(14, hour=11), "lúc 11h", "Đem hồ sơ lên"),
    ("Chuyển sang thứ 2", at(20), "thứ 2", "Chuyển sang"),
]


@pytest.mark.parametrize(
    ("text", "expected", "matched", "rest"), EMBEDDED, ids=[e[0] for e in EMBEDDED]
)
def test_deadline_inside_task_text(text: str, expected: datetime, matched: str, rest: str) -> None:
    reading = read(text)
    assert reading.when == expected
    assert reading.matched == matched
    assert reading.remaining_text == rest
    assert reading.span is not None
    assert text[reading.span[0] : reading.span[1]] == matched


NO_DEADLINE = [
    "Soạn công văn gửi sở Y tế",
    "Họp lần thứ 2",
    "Gửi chị Mai bản thảo",
    "Soạn một công văn",
    "Tổng hợp báo cáo tuần trước",
    "Xử lý đơn nhận hôm qua",
    "thu 6 trieu dong tien phat",
    "Triển khai công văn số 15/4",
    "Dự toán 15.4 triệu",
    "Trước khi họp, đọc tài liệu",
    "Báo cáo cuối năm",
    "Kiểm tra T6",
    "",
]


@pytest.mark.parametrize("text", NO_DEADLINE)
def test_text_without_a_deadline(text: str) -> None:
    reading = read(text)
    assert reading.when is None
    assert not reading.found
    assert reading.matched == ""
    assert reading.candidates == []
    assert reading.remaining_text == text
    assert reading.source == "none"


def test_vietnamese_in_decomposed_unicode_is_read() -> None:
    reading = read(unicodedata.normalize("NFD", "Soạn công văn hạn 17h ngày mai"))
    assert reading.when == at(15)
    assert reading.remaining_text == "Soạn công văn"


# ---------------------------------------------------------------- ambiguity and the past


def test_yearless_date_already_past_offers_next_year_and_the_past_one() -> None:
    reading = read("hạn 15/4", now=at(16, hour=10))
    assert reading.ambiguous
    assert reading.when == at(15, year=2021)
    assert reading.candidates == [at(15, year=2021), at(15)]
    assert reading.reasons == (PAST_ROLLED,)
    assert not reading.past  # the best reading is in the future; the bot asks anyway


def test_yearless_date_far_past_means_next_year_without_asking() -> None:
    reading = read("hạn 15/1", now=YEAR_END)
    assert reading.when == at(15, month=1, year=2021)
    assert not reading.ambiguous
    assert reading.candidates == [reading.when]


def test_explicit_past_date_is_past_not_ambiguous() -> None:
    reading = read("15/04/2020", now=at(16, hour=10))
    assert reading.when == at(15)
    assert reading.past
    assert not reading.ambiguous


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        ("sáng nay", TUESDAY, at(14, hour=8)),
        ("hạn hôm qua", TUESDAY, at(13)),
        ("trước 17h hôm nay", at(14, hour=18), at(14)),
        ("thứ 2 tuần này", TUESDAY, at(13)),
        ("hạn tuần trước", TUESDAY, at(10)),
    ],
)
def test_explicit_readings_in_the_past_are_flagged(
    text: str, now: datetime, expected: datetime
) -> None:
    reading = read(text, now=now)
    assert reading.when == expected
    assert reading.past
    assert not reading.ambiguous


def test_weekday_said_on_that_weekday_is_ambiguous() -> None:
    reading = read("thứ 6", now=FRIDAY)
    assert reading.ambiguous
    assert reading.candidates == [at(17), at(24)]
    assert reading.reasons == (WEEKDAY_IS_TODAY,)


def test_weekday_said_on_that_weekday_after_hours_prefers_next_week() -> None:
    reading = read("thứ 6", now=FRIDAY_EVENING)
    assert reading.when == at(24)
    assert reading.candidates == [at(24), at(17)]
    assert reading.reasons == (PAST_ROLLED,)


def test_weekday_with_toi_on_that_weekday_is_next_week() -> None:
    reading = read("thứ 6 tới", now=FRIDAY)
    assert reading.when == at(24)
    assert not reading.ambiguous


def test_weekday_later_this_week_is_not_ambiguous() -> None:
    reading = read("thứ 6", now=TUESDAY)
    assert reading.when == at(17)
    assert not reading.ambiguous


def test_earlier_weekday_means_next_week() -> None:
    assert read("thứ 2", now=TUESDAY).when == at(20)


def test_bare_hour_already_past_today_is_ambiguous() -> None:
    reading = read("hạn 9h", now=TUESDAY)
    assert reading.when == at(15, hour=9)
    assert reading.candidates == [at(15, hour=9), at(14, hour=9)]
    assert reading.reasons == (PAST_ROLLED,)


def test_bare_hour_late_in_the_evening_means_tomorrow() -> None:
    reading = read("hạn 9h", now=at(14, hour=22))
    assert reading.when == at(15, hour=9)
    assert not reading.ambiguous


def test_bare_hour_still_to_come_is_today() -> None:
    reading = read("hạn 9h", now=at(14, hour=8))
    assert reading.when == at(14, hour=9)
    assert not reading.ambiguous


def test_small_bare_hour_reads_afternoon_but_asks() -> None:
    reading = read("hạn 5h")
    assert reading.when == at(14, hour=17)
    assert reading.candidates == [at(14, hour=17), at(15, hour=5)]
    assert reading.reasons == (HOUR_AM_PM,)


def test_hour_with_leading_zero_is_24_hour_clock() -> None:
    reading = read("hạn 05:00 ngày 16/4")
    assert reading.when == at(16, hour=5)
    assert not reading.ambiguous


def test_day_month_order_is_ambiguous_in_english() -> None:
    reading = read("by 5/6", lang_hint="en")
    assert reading.when == at(5, month=6)  # DMY first: the unit is Vietnamese
    assert reading.candidates == [at(5, month=6), at(6, month=5)]
    assert reading.reasons == (DAY_MONTH_ORDER,)


def test_day_month_order_detected_from_english_words() -> None:
    reading = read("by 5/6")
    assert reading.ambiguous
    assert reading.candidates[1] == at(6, month=5)


def test_day_month_order_with_year_in_english() -> None:
    reading = read("5/6/2020", lang_hint="en")
    assert reading.candidates == [at(5, month=6), at(6, month=5)]


@pytest.mark.parametrize("text", ["hạn 5/6", "han 5/6", "5/6"])
def test_day_month_order_is_not_ambiguous_in_vietnamese(text: str) -> None:
    reading = read(text)
    assert reading.when == at(5, month=6)
    assert not reading.ambiguous


def test_same_day_and_month_is_never_ambiguous() -> None:
    assert not read("by 6/6", lang_hint="en").ambiguous


def test_next_weekday_in_english_asks_which_week() -> None:
    reading = read("next Friday")
    assert reading.candidates == [at(17), at(24)]
    assert reading.reasons == (NEXT_WEEKDAY,)


def test_weekday_and_date_that_disagree_are_ambiguous() -> None:
    reading = read("thứ 5 ngày 17/4")  # 17/4/2020 is a Friday
    assert reading.when == at(17)
    assert reading.candidates == [at(17), at(16)]
    assert reading.reasons == (WEEKDAY_MISMATCH,)


def test_weekday_and_date_that_agree_are_not_ambiguous() -> None:
    reading = read("thứ 6 ngày 17/4")
    assert reading.when == at(17)
    assert not reading.ambiguous


def test_next_week_without_a_day_asks() -> None:
    reading = read("hạn tuần sau")
    assert reading.candidates == [at(24), at(20)]
    assert reading.reasons == (WEEK_ONLY,)


def test_day_of_month_just_passed_is_ambiguous() -> None:
    reading = read("hạn ngày 10")
    assert reading.candidates == [at(10, month=5), at(10)]


def test_end_of_month_on_its_last_evening_rolls_and_asks() -> None:
    reading = read("cuối tháng", now=at(30, hour=18))
    assert reading.when == at(31, month=5)
    assert reading.candidates == [at(31, month=5), at(30)]


def test_end_of_week_on_saturday_rolls_and_asks() -> None:
    reading = read("cuối tuần", now=at(18, hour=9))
    assert reading.candidates == [at(24), at(17)]


def test_candidates_are_capped_and_start_with_when() -> None:
    reading = read("by 5/6", lang_hint="en")
    assert reading.candidates[0] == reading.when
    assert len(reading.candidates) <= 4


# ---------------------------------------------------------------- clocks and zones


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mai", at(15)),
        ("2 tiếng nữa", at(15, hour=1, minute=50)),
        ("9h", at(15, hour=9)),
        ("ngày kia", at(16)),
    ],
)
def test_near_midnight(text: str, expected: datetime) -> None:
    reading = read(text, now=NEAR_MIDNIGHT)
    assert reading.when == expected
    assert not reading.ambiguous


def test_today_near_midnight_is_past() -> None:
    reading = read("hôm nay", now=NEAR_MIDNIGHT)
    assert reading.when == at(14)
    assert reading.past


def test_clock_in_utc_is_read_in_the_units_zone() -> None:
    # 17:30 UTC on the 14th is already 00:30 on the 15th in Hồ Chí Minh City.
    now_utc = datetime(2020, 4, 14, 17, 30, tzinfo=UTC)
    reading = read("ngày mai", now=now_utc)
    assert reading.when == at(16)
    assert reading.when is not None and reading.when.tzinfo == HCM


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cuối tháng", at(31, month=12)),
        ("hạn cuối năm", at(31, month=12)),
        ("thứ 2 tuần sau", at(4, month=1, year=2021)),
        ("ngày kia", at(1, month=1, year=2021)),
        ("trong 3 ngày", at(2, month=1, year=2021)),
        ("hạn ngày 5", at(5, month=1, year=2021)),
        ("15/1", at(15, month=1, year=2021)),
        ("cuối tháng sau", at(31, month=1, year=2021)),
    ],
)
def test_near_year_end(text: str, expected: datetime) -> None:
    reading = read(text, now=YEAR_END)
    assert reading.when == expected
    assert not reading.ambiguous


def test_same_instant_different_zones_give_different_tomorrows() -> None:
    # 20:00 UTC: 03:00 on the 15th in Bangkok, 22:00 on the 14th in Berlin (CEST).
    now = datetime(2020, 4, 14, 20, 0, tzinfo=UTC)
    bangkok = parse_deadline("ngày mai 17h", now=now, tz=BANGKOK)
    berlin = parse_deadline("ngày mai 17h", now=now, tz=BERLIN)
    assert bangkok.when == datetime(2020, 4, 16, 17, 0, tzinfo=BANGKOK)
    assert berlin.when == datetime(2020, 4, 15, 17, 0, tzinfo=BERLIN)
    assert bangkok.when is not None and berlin.when is not None
    assert bangkok.when.utcoffset() == timedelta(hours=7)
    assert berlin.when.utcoffset() == timedelta(hours=2)
    assert bangkok.when.astimezone(UTC) == datetime(2020, 4, 16, 10, 0, tzinfo=UTC)
    assert berlin.when.astimezone(UTC) == datetime(2020, 4, 15, 15, 0, tzinfo=UTC)


def test_relative_hours_are_the_same_instant_in_every_zone() -> None:
    now = datetime(2020, 4, 14, 20, 0, tzinfo=UTC)
    bangkok = parse_deadline("2 tiếng nữa", now=now, tz=BANGKOK).when
    berlin = parse_deadline("2 tiếng nữa", now=now, tz=BERLIN).when
    assert bangkok == berlin == datetime(2020, 4, 14, 22, 0, tzinfo=UTC)
    assert bangkok is not None and berlin is not None
    assert (bangkok.hour, berlin.hour) == (5, 0)


def test_wall_time_in_a_dst_gap_moves_forward() -> None:
    # Berlin skipped 02:00–03:00 on 29/03/2020.
    now = datetime(2020, 3, 28, 10, 0, tzinfo=BERLIN)
    reading = parse_deadline("2h30 sáng mai", now=now, tz=BERLIN)
    assert reading.when == datetime(2020, 3, 29, 3, 30, tzinfo=BERLIN)
    assert reading.when is not None and reading.when.utcoffset() == timedelta(hours=2)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_deadline("mai", now=datetime(2020, 4, 14, 10, 0), tz=HCM)


# ---------------------------------------------------------------- dateparser fallback


def test_fallback_hands_unknown_forms_after_a_marker_to_dateparser() -> None:
    reading = read("Nộp tờ trình hạn 22 thg 4")
    assert reading.source == "dateparser"
    assert reading.when == at(22)
    assert reading.assumed_time
    assert reading.matched == "hạn 22 thg 4"
    assert reading.remaining_text == "Nộp tờ trình"


def test_fallback_keeps_a_time_dateparser_found() -> None:
    reading = read("deadline Wednesday, 22 April 2020 3pm")
    assert reading.when == at(22, hour=15)
    assert not reading.assumed_time


def test_fallback_not_tried_without_date_words() -> None:
    # "trước khi họp" has a marker but nothing date-like after it.
    assert read("Đọc tài liệu trước khi họp").when is None


# ---------------------------------------------------------------- speed


def test_rule_path_is_fast() -> None:
    texts = [p[0] for p in PHRASES] + [e[0] for e in EMBEDDED]
    read(texts[0])  # import-time work is not what we measure
    rounds = 5
    start = perf.perf_counter()
    for _ in range(rounds):
        for text in texts:
            read(text)
    per_parse = (perf.perf_counter() - start) / (rounds * len(texts))
    # Typically ~0.1 ms; the bound leaves room for slow CI machines.
    assert per_parse < 0.002
