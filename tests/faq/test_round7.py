"""Round 7: errands around a procedure's paper, small talk about the bot, topic frames,
sibling procedures decided by state words, chat abbreviations."""

from __future__ import annotations

import pytest

from bot.services.faq.matcher import Matcher
from bot.services.faq.normalize import is_smalltalk, tokens_of


@pytest.mark.parametrize(
    "question",
    [
        "cần bán nhà gấp 2 tầng sổ hồng riêng",
        "chính chủ bán lô đất 80m2, giá thương lượng",
        "công ty dịch vụ làm giấy phép xây dựng trọn gói",
        "làm sổ đỏ giá rẻ ở đâu",
        "mẫu đơn xin xác nhận",
        "mẫu hợp đồng mua bán đất viết tay",
        "nuôi chó trong chung cư có phải đăng ký không",
        "con mèo nhà tôi đi lạc, báo phường được không",
        "đi nghĩa vụ quân sự được hưởng lương không",
        "nghĩa vụ quân sự phụ cấp bao nhiêu",
    ],
)
def test_round7_errands_are_refused(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).kind == "none"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("cần bản sao giấy khai sinh để nộp hồ sơ", "trich-luc-ho-tich"),
        ("làm con nuôi cho cháu", "nuoi-con-nuoi"),
        ("nhận con cho bé", "nhan-cha-me-con"),
        ("bà không có lương hưu, đăng ký trợ cấp hằng tháng ở xã", "tro-cap-xa-hoi"),
        ("cơ sở sản xuất bánh xin giấy an toàn thực phẩm", "an-toan-thuc-pham"),
    ],
)
def test_round7_errand_words_do_not_catch_procedures(
    matcher: Matcher, question: str, expected: str
) -> None:
    result = matcher.match(question)
    assert result.best is not None and result.best.id == expected


def test_a_dog_with_its_accent_is_a_pet() -> None:
    assert "thucung" in tokens_of("nuôi chó có phải đăng ký")
    assert "thucung" in tokens_of("Chó cắn người")
    assert "thucung" not in tokens_of("nuôi cho con")  # the filler "cho" stays a filler


@pytest.mark.parametrize(
    "question",
    ["bạn là người thật hả", "ad có phải robot không", "em đang nói chuyện với ai đấy"],
)
def test_questions_about_the_bot_are_small_talk(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).kind == "none"
    assert is_smalltalk(tokens_of(question, drop_fillers=False))


def test_small_talk_marker_needs_a_short_question() -> None:
    assert not is_smalltalk(tokens_of("zalo của ủy ban là gì để hỏi", drop_fillers=False))
    long = "mình là người thật muốn hỏi thủ tục đăng ký khai sinh cho con ở phường nào ạ"
    assert not is_smalltalk(tokens_of(long, drop_fillers=False))
