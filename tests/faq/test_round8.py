"""Round 8: a foreign element said in English or after a partner word, confirmation
papers, closing a licence, changing a company, topic frames (receipts, an official's
number, a closed office on the appointment day, a message that the result is ready),
other organisations' hotlines, accent-free templates, trade and looking for a buyer."""

from __future__ import annotations

import pytest

from bot.services.faq.matcher import Matcher
from bot.services.faq.normalize import tokens_of


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("my husband is Vietnamese", "nuocngoai"),
        ("my Vietnamese boyfriend", "nuocngoai"),
        ("my wife is Thai", "nuocngoai"),
        ("I am a Swiss citizen", "nuocngoai"),
        ("bạn trai Mỹ", "nuocngoai"),
        ("người yêu Hà Lan", "nuocngoai"),
    ],
)
def test_round8_foreign_partner_words(text: str, word: str) -> None:
    assert word in tokens_of(text, drop_fillers=False)


def test_round8_a_partner_who_is_vietnamese_too_is_not_foreign() -> None:
    assert "nuocngoai" not in tokens_of("my wife is Vietnamese too", drop_fillers=False)
    assert "nuocngoai" not in tokens_of("mang thai tháng thứ 8", drop_fillers=False)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "I am a French citizen and want to register our marriage here",
            "ket-hon-yeu-to-nuoc-ngoai",
        ),
        ("My girlfriend is Vietnamese, we want to marry next year", "ket-hon-yeu-to-nuoc-ngoai"),
        (
            "my husband is Vietnamese, birth registration for our baby",
            "khai-sinh-yeu-to-nuoc-ngoai",
        ),
        ("bạn gái mình người Hàn, muốn nộp hồ sơ kết hôn", "ket-hon-yeu-to-nuoc-ngoai"),
        ("xin giấy chứng nhận độc thân để mua nhà", "xac-nhan-tinh-trang-hon-nhan"),
        ("xac nhan chua ket hon lam o phuong nao", "xac-nhan-tinh-trang-hon-nhan"),
        ("cần giấy xác nhận cư trú cho con nhập học", "xac-nhan-cu-tru"),
        ("xin xác nhận tạm trú để đi làm", "xac-nhan-cu-tru"),
        ("hủy giấy phép kinh doanh tiệm tóc", "cham-dut-ho-kinh-doanh"),
        ("trả lại giấy phép kinh doanh hộ cá thể", "cham-dut-ho-kinh-doanh"),
        ("công ty đổi người đại diện pháp luật", "thay-doi-dang-ky-doanh-nghiep"),
        ("đổi tên công ty cổ phần", "thay-doi-dang-ky-doanh-nghiep"),
    ],
)
def test_round8_variants_and_siblings(matcher: Matcher, question: str, expected: str) -> None:
    result = matcher.match(question)
    assert result.best is not None and result.best.id == expected, result.alternatives


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("đóng lệ phí qua mạng rồi biên lai nhận ở đâu", "topic:payment"),
        ("xin số zalo anh cán bộ địa chính", "topic:hotline"),
        ("ngày hẹn trả hồ sơ mà xã đóng cửa vì dịch", "topic:pickup-results"),
        ("nhận tin nhắn báo hồ sơ có kết quả rồi", "topic:pickup-results"),
    ],
)
def test_round8_topic_frames(matcher: Matcher, question: str, expected: str) -> None:
    result = matcher.match(question)
    assert result.best is not None and result.best.id == expected, result.alternatives


@pytest.mark.parametrize(
    "question",
    [
        "hotline bộ y tế tư vấn covid",
        "khó thở thì gọi số nào",
        "số 115 gọi được không",
        "mau so yeu ly lich viet tay",
        "bán sỉ găng tay cao su",
        "nhập hàng nước sát khuẩn ở đâu",
        "tìm người mua lại đất ở quận 9",
    ],
)
def test_round8_errands_are_refused(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).kind == "none"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("mua lại xe máy cũ, sang tên ở đâu", "sang-ten-xe"),
        ("giấy chứng nhận kết hôn bị mất làm lại", "dang-ky-lai-ket-hon"),
        ("đăng ký tạm trú cho người thuê trọ", "tam-tru"),
    ],
)
def test_round8_rules_leave_their_neighbours(
    matcher: Matcher, question: str, expected: str
) -> None:
    result = matcher.match(question)
    assert result.best is not None and result.best.id == expected, result.alternatives


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("bố mẹ bé chưa đăng ký kết hôn, khai sinh muốn ghi tên bố", "khai-sinh-nhan-cha-me-con"),
        ("căn cước ghi sai tên đệm thì xin cấp lại", "cap-lai-cccd"),
        ("mẹ tôi hưởng trợ cấp xã hội vừa mất, xin hỗ trợ mai táng", "ho-tro-mai-tang"),
    ],
)
def test_round8_situations(matcher: Matcher, question: str, expected: str) -> None:
    result = matcher.match(question)
    assert result.best is not None and result.best.id == expected, result.alternatives


def test_round8_no_father_stays_plain_birth(matcher: Matcher) -> None:
    result = matcher.match("chưa kết hôn, làm khai sinh cho con không ghi tên bố")
    assert result.best is not None and result.best.id == "khai-sinh"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("giấy xác nhận độc thân quá 6 tháng hết hạn, xin làm lại", "xac-nhan-tinh-trang-hon-nhan"),
        ("hủy đăng ký kinh doanh tiệm may vì ế", "cham-dut-ho-kinh-doanh"),
        ("chứng minh nhân dân bị sai tên muốn làm lại", "cap-lai-cccd"),
    ],
)
def test_round8_after_batch_g(matcher: Matcher, question: str, expected: str) -> None:
    result = matcher.match(question)
    assert result.best is not None and result.best.id == expected, result.alternatives
