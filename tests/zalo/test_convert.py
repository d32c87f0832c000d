"""HTML to plain text, 2,000-character parts at sentence boundaries, button templates."""

from __future__ import annotations

import re

import pytest

from bot.channels.zalo import protocol
from bot.channels.zalo.convert import (
    SHORTENED_MARK,
    callback_data,
    callback_payload,
    fit_text,
    html_to_text,
    split_text,
    zalo_buttons,
)
from bot.core.events import Button


@pytest.mark.parametrize(
    ("html", "plain"),
    [
        ("<b>Các lệnh</b>\n/start — bắt đầu", "Các lệnh\n/start — bắt đầu"),
        ("Tom &amp; Jerry &lt;3 &quot;ok&quot; &#39;x&#39;", "Tom & Jerry <3 \"ok\" 'x'"),
        ("<i>a</i><u>b</u><s>c</s><code>d</code><tg-spoiler>e</tg-spoiler>", "abcde"),
        ("<pre>line 1\nline 2</pre>\n\n<blockquote>quote</blockquote>", "line 1\nline 2\n\nquote"),
        (
            'Xem <a href="https://dichvucong.gov.vn">cổng DVC</a>.',
            "Xem cổng DVC (https://dichvucong.gov.vn).",
        ),
        ('<a href="https://x.vn">https://x.vn</a>', "https://x.vn"),  # not repeated
        ("một<br>hai<br/>ba", "một\nhai\nba"),
        ("Nguyễn Văn A &lt;b&gt;không in đậm&lt;/b&gt;", "Nguyễn Văn A <b>không in đậm</b>"),
    ],
)
def test_html_to_plain_text(html: str, plain: str) -> None:
    assert html_to_text(html) == plain


def sentences(count: int, length: int = 90) -> str:
    parts = []
    for i in range(count):
        words = f"Câu số {i} nói về thủ tục hành chính"
        parts.append((words + " đủ dài" * 20)[: length - 1] + ".")
    return " ".join(parts)


def test_short_text_is_one_part() -> None:
    assert split_text("Xin chào.") == ["Xin chào."]
    assert split_text("x" * 2000) == ["x" * 2000]


def test_long_text_splits_at_sentence_ends_within_the_limit() -> None:
    text = sentences(60)  # about 5,400 characters of 90-character sentences
    parts = split_text(text)
    assert len(parts) == 3
    assert all(len(part) <= protocol.TEXT_LIMIT for part in parts)
    assert all(part.endswith(".") for part in parts)
    # Nothing lost or reordered: only the spaces at the cuts are gone.
    assert " ".join(parts) == text
    # Cuts are as late as the limit allows: the first part is nearly full.
    assert len(parts[0]) > protocol.TEXT_LIMIT - 91


def test_paragraph_breaks_are_preferred_over_sentence_ends() -> None:
    first = sentences(15)  # ~1,350 characters
    text = first + "\n\n" + sentences(15)
    parts = split_text(text)
    assert parts[0] == first


def test_question_and_exclamation_marks_end_sentences_too() -> None:
    text = ("Bạn cần giấy tờ gì? " * 150).strip()
    parts = split_text(text, limit=500)
    assert all(len(part) <= 500 and part.endswith("?") for part in parts)


def test_text_without_spaces_is_cut_hard() -> None:
    parts = split_text("a" * 4500)
    assert [len(p) for p in parts] == [2000, 2000, 500]


def test_very_long_answer_is_shortened_and_marked() -> None:
    parts = fit_text(sentences(100), max_parts=2)
    assert len(parts) == 2
    assert parts[-1].endswith("." + SHORTENED_MARK)
    assert all(len(part) <= protocol.TEXT_LIMIT for part in parts)


def test_callback_data_round_trip() -> None:
    payload = callback_payload("lang:en")
    assert payload == "#q:lang:en"
    assert callback_data(payload) == "lang:en"
    assert callback_data("xin chào") is None
    assert callback_data("#q:") is None


def test_button_template_shapes() -> None:
    keyboard = (
        (Button("Tiếng Việt", data="lang:vi"), Button("English", data="lang:en")),
        (Button("Cổng dịch vụ công", url="https://dichvucong.gov.vn"),),
        (Button("Gọi 1022", phone="1022"), Button("no action")),
    )
    buttons = zalo_buttons(keyboard)
    assert buttons == [
        {"title": "Tiếng Việt", "type": "oa.query.show", "payload": "#q:lang:vi"},
        {"title": "English", "type": "oa.query.show", "payload": "#q:lang:en"},
        {
            "title": "Cổng dịch vụ công",
            "type": "oa.open.url",
            "payload": {"url": "https://dichvucong.gov.vn"},
        },
        {"title": "Gọi 1022", "type": "oa.open.phone", "payload": {"phone_code": "1022"}},
    ]
    body = protocol.button_body("77", "Chọn:", buttons[:2])
    assert body == {
        "recipient": {"user_id": "77"},
        "message": {
            "text": "Chọn:",
            "attachment": {
                "type": "template",
                "payload": {"template_type": "button", "buttons": buttons[:2]},
            },
        },
    }
    assert protocol.buttons_of(body) == buttons[:2]


def test_long_button_titles_are_cut() -> None:
    [button] = zalo_buttons(((Button("x" * 300, data="d"),),))
    assert len(button["title"]) == protocol.BUTTON_TITLE_LIMIT


def test_sentence_pattern_does_not_cut_inside_numbers() -> None:
    text = "Lệ phí 2.000 đồng mỗi trang. " * 200
    for part in split_text(text.strip(), limit=300):
        assert not re.search(r"\d\.$", part)
