"""Classification markings are recognised as whole words, not inside everyday words."""

from __future__ import annotations

import pytest

from bot.services.classified import find_marking


@pytest.mark.parametrize(
    ("text", "marking"),
    [
        ("Soạn báo cáo Tối mật gửi Thành uỷ", "tối mật"),
        ("TUYỆT MẬT: kế hoạch", "tuyệt mật"),
        ("Tài liệu mật số 12", "mật"),
        ("Văn bản MẬT cần trình", "mật"),
        ("hồ sơ thuộc bí mật nhà nước", "bí mật nhà nước"),
        ("soan bao cao toi mat gui so", "toi mat"),
        ("tai lieu tuyet mat", "tuyet mat"),
        ("bi mat nha nuoc", "bi mat nha nuoc"),
        ("Độ mật: Mật", "mật"),
    ],
)
def test_markings_are_found(text: str, marking: str) -> None:
    assert find_marking(text) == marking


@pytest.mark.parametrize(
    "text",
    [
        "Đổi mật khẩu hộp thư công vụ",
        "mật độ dân số phường 1",
        "mua mật ong cho hội nghị",
        "giữ bí mật chuyện riêng",
        "người nhà mất cần khai tử",
        "mat khau email",
        "nguoi nha mat can khai tu",
        "Trời mát, làm việc ở nhà",
        "rửa mặt",
        "",
    ],
)
def test_everyday_words_are_not_markings(text: str) -> None:
    assert find_marking(text) is None


def test_accented_everyday_phrase_that_folds_like_a_marking() -> None:
    assert find_marking("Tuần này bận tối mặt") is None
