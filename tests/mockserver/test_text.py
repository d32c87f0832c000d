"""Entity detection and HTML parsing: UTF-16 offsets and Telegram's rejections."""

from __future__ import annotations

import struct
import zlib

import pytest

from bot.mockserver.entities import detect_entities, utf16_len
from bot.mockserver.errors import BotApiError
from bot.mockserver.formatting import parse_html
from bot.mockserver.messages import image_size


def test_command_entity_covers_the_bot_name() -> None:
    assert detect_entities("/start@congvu_bot 123") == [
        {"type": "bot_command", "offset": 0, "length": 17}
    ]


def test_mentions_after_vietnamese_and_emoji_use_utf16_offsets() -> None:
    text = "Chào 👋 @an_nguyen, gặp @binh_tran nhé"
    entities = detect_entities(text)
    # "Chào " is 5 units, the emoji 2, the space 1.
    assert entities[0] == {"type": "mention", "offset": 8, "length": 10}
    second = text.index("@binh_tran")
    assert entities[1] == {
        "type": "mention",
        "offset": utf16_len(text[:second]),
        "length": 10,
    }
    assert utf16_len(text[:second]) == second + 1  # only the emoji is wider than one unit


def test_no_entities_inside_words_dates_or_emails() -> None:
    assert detect_entities("hạn 12/05/2024, mail an@congvu.vn, @a") == []


def test_command_later_in_the_text_and_mention_not_inside_it() -> None:
    entities = detect_entities("gõ /checkin@congvu_bot hoặc hỏi @an_nguyen")
    assert [e["type"] for e in entities] == ["bot_command", "mention"]
    assert entities[0]["offset"] == 3
    assert entities[0]["length"] == len("/checkin@congvu_bot")


def test_html_becomes_plain_text_and_entities() -> None:
    parsed = parse_html(
        '<b>Đã chấm công</b> 😀 <a href="https://dvc.gov.vn">xem</a> &lt;3 &amp; &#39;'
    )
    assert parsed.text == "Đã chấm công 😀 xem <3 & '"
    assert parsed.entities == [
        {"type": "bold", "offset": 0, "length": 12},
        {"type": "text_link", "offset": 16, "length": 3, "url": "https://dvc.gov.vn"},
    ]


def test_pre_with_code_language_is_one_entity() -> None:
    parsed = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert parsed.entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]


@pytest.mark.parametrize(
    ("html", "detail"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("Đúng < sai", 'Unsupported start tag "" at byte offset 7'),
        ("<b>mở mà không đóng", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<br/>", 'Unsupported start tag "br" at byte offset 0'),
    ],
)
def test_html_that_telegram_rejects(html: str, detail: str) -> None:
    with pytest.raises(BotApiError) as caught:
        parse_html(html)
    assert caught.value.error_code == 400
    assert caught.value.description == f"Bad Request: can't parse entities: {detail}"


def _png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(header))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


def test_image_size_reads_png_headers() -> None:
    assert image_size(_png(640, 480)) == (640, 480)
    assert image_size(b"not an image") is None
