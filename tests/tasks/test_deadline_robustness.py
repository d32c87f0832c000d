"""User text never makes the parser raise, and every reading keeps its promises."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.tasks.assign_parse import parse_assign
from bot.services.tasks.deadline import parse_deadline

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
ZONES = [HCM, ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("UTC")]
BASE = datetime(2020, 4, 14, 10, 0, tzinfo=HCM)

# Real phrases, broken ones and odd edges, shuffled into random sentences.
VOCABULARY = (
    "hạn", "han", "trước", "17h", "9h30", "5h", "0h", "24h", "12h", "9:00", "05:00", "24:00",
    "25:00", "15/4", "31/2", "29/2", "0h", "01/01/0001", "31/12/9999", "2020-04-15",
    "2020-04-15T24:00", "2020-02-30", "15.04.2020", "ngày", "mai", "mai", "Mai", "mốt", "mot",
    "kia", "kìa", "thứ", "6", "thu", "2", "T6", "CN", "chủ", "nhật", "tuần", "sau", "này",
    "trước", "cuối", "tháng", "13", "0", "năm", "trong", "3", "ngày", "nữa", "2", "tiếng",
    "nửa", "sáng", "chiều", "tối", "đêm", "trưa", "by", "before", "Friday", "next", "tomorrow",
    "9am", "13pm", "0am", "5pm", "noon", "midnight", "in", "days", "week", "from", "now",
    "end", "of", "April", "the", "20th", "31st", "0th", "Feb", "30", "Apr", "tư", "rưỡi",
    "kém", "60", "lúc", "vào", ",", ":", "-", "(", ")", ".", "!", "@an", "!khan", "thời",
    "pháp", "lý", "số", "16/CT-TTg", "999", "thg", "deadline",
)  # fmt: skip


def test_random_sentences_never_raise_and_keep_invariants() -> None:
    rng = random.Random(20200414)  # fixed seed: the same sentences on every run
    found = 0
    for _ in range(1500):
        text = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(1, 8)))
        now = BASE + timedelta(minutes=rng.randint(-500_000, 500_000))
        tz = rng.choice(ZONES)
        reading = parse_deadline(text, now=now, tz=tz)
        if reading.when is not None:
            found += 1
            assert reading.candidates[0] == reading.when
            assert reading.when.tzinfo == tz
            assert reading.ambiguous == (len(reading.candidates) > 1)
            assert reading.past == (reading.when <= now)
            assert reading.span is not None
            assert text[reading.span[0] : reading.span[1]] == reading.matched
        else:
            assert reading.candidates == [] and not reading.ambiguous
        parse_assign("@an " + text, now=now, tz=tz, reply_text=rng.choice([None, text]))
    assert found > 500  # the vocabulary really does produce deadlines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hạn 2020-04-15 24:00", datetime(2020, 4, 15, 23, 59, tzinfo=HCM)),
        ("hạn 24:00 15/4", datetime(2020, 4, 15, 23, 59, tzinfo=HCM)),
        ("hạn 01/01/0001", None),  # year out of range: ignored, not an overflow
        ("hạn 0h 01/01/0001", datetime(2020, 4, 15, 0, 0, tzinfo=HCM)),  # only the hour
        ("hạn 31/2", None),
        ("hạn 25:00", None),
        ("hạn 13pm", None),
        ("cuối tháng 13", datetime(2020, 4, 30, 17, 0, tzinfo=HCM)),
    ],
)
def test_edge_values(text: str, expected: datetime | None) -> None:
    assert parse_deadline(text, now=BASE, tz=HCM).when == expected
