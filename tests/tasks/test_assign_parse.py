"""/assign arguments: mentions, task text, deadline, flags, the reply form, errors."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.services.tasks.assign_parse import AssignError, AssignRequest, parse_assign

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2020, 4, 14, 10, 0, tzinfo=HCM)  # Tuesday


def at(day: int, hour: int = 17, minute: int = 0) -> datetime:
    return datetime(2020, 4, day, hour, minute, tzinfo=HCM)


def parse(args: str, reply_text: str | None = None) -> AssignRequest:
    result = parse_assign(args, now=NOW, tz=HCM, reply_text=reply_text)
    assert isinstance(result, AssignRequest), result
    return result


def test_full_command_line() -> None:
    req = parse("@Lan @minh_nv Soạn công văn gửi sở Y tế hạn 17h ngày mai !khan")
    assert req.usernames == ["lan", "minh_nv"]
    assert req.text == "Soạn công văn gửi sở Y tế"
    assert req.deadline.when == at(15)
    assert req.urgent
    assert not req.legal
    assert not req.from_reply
    assert req.note is None


@pytest.mark.parametrize(
    ("args", "names"),
    [
        ("@a @b làm x", ["a", "b"]),
        ("@a, @b làm x", ["a", "b"]),
        ("@a và @b làm x", ["a", "b"]),
        ("@a and @B làm x", ["a", "b"]),
        ("@a & @b làm x", ["a", "b"]),
        ("@b @a @B làm x", ["b", "a"]),  # written order, duplicates once
        ("/assign @a làm x", ["a"]),
        ("/giaoviec@congvu_bot @a làm x", ["a"]),
        ("làm x @a @b", ["a", "b"]),  # a trailing run when none leads
    ],
)
def test_mentions(args: str, names: list[str]) -> None:
    req = parse(args)
    assert req.usernames == names
    assert req.text == "làm x"


def test_mention_inside_the_text_stays_in_the_text() -> None:
    req = parse("@lan gửi báo cáo cho @minh hạn mai")
    assert req.usernames == ["lan"]
    assert req.text == "gửi báo cáo cho @minh"
    assert req.deadline.when == at(15)


def test_task_without_deadline() -> None:
    req = parse("@lan Rà soát danh sách cán bộ")
    assert req.deadline.when is None
    assert req.text == "Rà soát danh sách cán bộ"


def test_legal_deadline_phrase_is_a_flag_and_a_marker() -> None:
    req = parse("@lan Trả lời đơn công dân, thời hạn pháp lý 20/4 !khẩn")
    assert req.legal and req.urgent
    assert req.deadline.when == at(20)
    assert req.text == "Trả lời đơn công dân"


def test_accent_free_command() -> None:
    req = parse("@lan soan cong van han 17h ngay mai !khan")
    assert (req.text, req.deadline.when, req.urgent) == ("soan cong van", at(15), True)


def test_reply_form_takes_the_replied_message_as_text() -> None:
    req = parse("@lan hạn thứ 6", reply_text="Rà soát danh sách hộ nghèo phường 3")
    assert req.from_reply
    assert req.usernames == ["lan"]
    assert req.text == "Rà soát danh sách hộ nghèo phường 3"
    assert req.deadline.when == at(17)
    assert req.note is None


def test_reply_form_keeps_the_assigners_own_words_as_a_note() -> None:
    req = parse("@lan xem giúp, hạn thứ 6", reply_text="Rà soát danh sách")
    assert req.text == "Rà soát danh sách"
    assert req.note == "xem giúp"


def test_reply_form_reads_a_deadline_in_the_replied_message() -> None:
    req = parse("@lan", reply_text="Nộp báo cáo trước 9h sáng mai")
    assert req.deadline.when == at(15, hour=9)
    assert req.text == "Nộp báo cáo"


def test_reply_form_deadline_in_the_command_wins() -> None:
    req = parse("@lan hạn thứ 6", reply_text="Nộp báo cáo trước 9h sáng mai")
    assert req.deadline.when == at(17)
    assert req.text == "Nộp báo cáo trước 9h sáng mai"


def test_reply_to_a_message_without_text_uses_the_command_text() -> None:
    req = parse("@lan Xem file đính kèm, hạn mai", reply_text="")
    assert req.text == "Xem file đính kèm"
    assert req.note is None


@pytest.mark.parametrize(
    ("args", "reply_text", "code", "names"),
    [
        ("Soạn công văn hạn mai", None, "no_assignee", []),
        ("", None, "no_assignee", []),
        ("/assign", None, "no_assignee", []),
        ("@lan", None, "empty_text", ["lan"]),
        ("@lan hạn 17h ngày mai !khan", None, "empty_text", ["lan"]),
        ("@lan hạn mai", "   ", "empty_text", ["lan"]),
        ("hạn mai", "Soạn công văn", "no_assignee", []),
    ],
)
def test_errors(args: str, reply_text: str | None, code: str, names: list[str]) -> None:
    result = parse_assign(args, now=NOW, tz=HCM, reply_text=reply_text)
    assert result == AssignError(code, names)  # type: ignore[arg-type]


def test_mai_opening_the_task_text_is_tomorrow() -> None:
    # After the mentions "Mai" starts the text: sentence case, not a person.
    req = parse("@lan Mai nộp báo cáo")
    assert req.deadline.when == at(15)
    assert req.text == "nộp báo cáo"


def test_mai_inside_the_task_text_is_a_person() -> None:
    req = parse("@lan Gửi chị Mai bản thảo")
    assert req.deadline.when is None
    assert req.text == "Gửi chị Mai bản thảo"
