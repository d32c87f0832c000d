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


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("ủy ban còn tiếp dân không ạ", "topic:accepted-list"),
        ("thủ tục nào phải đợi hết dịch mới làm", "topic:accepted-list"),
        ("làm thủ tục trên mạng được không", "topic:online"),
        ("trả lệ phí bằng thẻ atm được không", "topic:payment"),
        ("nộp hồ sơ trực tuyến rồi đóng phí ở đâu", "topic:payment"),
        ("muốn hỏi thủ tục thì gọi đâu", "topic:hotline"),
        ("lên phường có cần đặt lịch hẹn trước không", "topic:covid-rules"),
        ("quá hẹn mấy hôm chưa đi lấy hồ sơ thì sao", "topic:pickup-results"),
        ("Can the papers be sent to my home?", "topic:postal"),
    ],
)
def test_round7_topic_frames(matcher: Matcher, question: str, expected: str) -> None:
    result = matcher.match(question)
    assert result.best is not None and result.best.id == expected


@pytest.mark.parametrize(
    "question",
    ["học tiếng anh online", "đăng ký gói internet", "làm thẻ atm", "chuyển khoản bị lỗi"],
)
def test_round7_topic_cues_ignore_everyday_errands(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).kind == "none"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # the child's certificate exists: recognition only
        ("con đã có giấy khai sinh, giờ bố muốn nhận con", "nhan-cha-me-con"),
        # no certificate yet and a father to be named: both at once
        ("bé chưa có khai sinh, bố muốn đứng tên trong giấy", "khai-sinh-nhan-cha-me-con"),
        # the parents' marriage is not the child's certificate
        ("khai sinh cho con mà bố mẹ chưa đăng ký kết hôn", "khai-sinh"),
        # a re-registration needs a word saying the paper is gone or done again
        ("làm giấy kết hôn có mất phí không", "ket-hon"),
        ("đăng ký lại kết hôn", "dang-ky-lai-ket-hon"),
        ("khai sinh từ lâu mà mất bản chính, sổ gốc cũng không còn", "dang-ky-lai-khai-sinh"),
        ("đăng ký kết hôn với bạn trai người Nhật", "ket-hon-yeu-to-nuoc-ngoai"),
        ("đóng hộ kinh doanh", "cham-dut-ho-kinh-doanh"),
        ("tạm đóng hộ kinh doanh 3 tháng", "tam-ngung-ho-kinh-doanh"),
        ("mẹ mất không để lại di chúc, chia đất cho các con", "chung-thuc-phan-chia-di-san"),
        ("công chứng bằng đại học ở đâu", "chung-thuc-ban-sao"),
        ("công chứng hợp đồng mua bán nhà", "cong-chung-hop-dong"),
    ],
)
def test_round7_siblings_by_state_words(matcher: Matcher, question: str, expected: str) -> None:
    result = matcher.match(question)
    assert result.best is not None and result.best.id == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("llpt", "ly-lich-tu-phap"),
        ("hưởng tctn cần gì", "tro-cap-that-nghiep"),
        ("gia han tt o dau", "gia-han-tam-tru"),
        ("ctbs hoc ba", "chung-thuc-ban-sao"),
        ("xnhn de ket hon", "xac-nhan-tinh-trang-hon-nhan"),
        ("hỗ trợ cho người bán hàng rong mất thu nhập", "ho-tro-covid"),
        ("hỗ trợ 1tr5 vì covid", "ho-tro-covid"),
    ],
)
def test_round7_abbreviations_and_aid(matcher: Matcher, question: str, expected: str) -> None:
    result = matcher.match(question)
    assert result.best is not None and result.best.id == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("bé chưa có giấy khai sinh, bố muốn đứng tên luôn", "khai-sinh-nhan-cha-me-con"),
        ("con được cấp khai sinh rồi, giờ bố muốn nhận con", "nhan-cha-me-con"),
        ("bố mất không có di chúc, anh em thỏa thuận chia đất", "chung-thuc-phan-chia-di-san"),
        ("kết hôn năm 1990, ủy ban không còn lưu sổ, làm lại", "dang-ky-lai-ket-hon"),
        ("nộp hồ sơ lâu rồi, quá hạn hẹn có lấy được không", "topic:pickup-results"),
    ],
)
def test_round7_state_words_after_batch_e(matcher: Matcher, question: str, expected: str) -> None:
    result = matcher.match(question)
    assert result.best is not None and result.best.id == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # frames made of filler words, read with the fillers kept
        ("giãn cách rồi những thủ tục nào còn được làm", "topic:accepted-list"),
        ("quy định khi đến bộ phận một cửa là gì", "topic:covid-rules"),
        # an operation named beside a situation
        ("bố mẹ cháu mất cả rồi, tôi muốn làm người giám hộ", "giam-ho"),
    ],
)
def test_round7_frames_and_operations(matcher: Matcher, question: str, expected: str) -> None:
    result = matcher.match(question)
    assert result.best is not None and result.best.id == expected


def test_frame_of_a_topic_pays_for_everyday_words(matcher: Matcher) -> None:
    assert matcher.match("tuyển sinh lớp 1 những thủ tục nào").kind == "none"
