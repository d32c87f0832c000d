"""Acceptance, end to end: the real aiogram runtime polling the mock chat server.

A unit of 6 with quota 1/3 has 2 places: two staff choose Office and are recorded, a third
is refused with the numbers, the leader's exception lets them in, /roster shows the counts,
the missing and the late in Vietnamese and English, and a holiday is not a working day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from bot.clock import ManualClock
from bot.runner import RunningBot
from tests.chat import ChatUser, MockChatClient, bot_messages, buttons
from tests.checkin.helpers import Member, Org, attendance_rows, audit_actions, build_unit


def hcmc(hour: int, minute: int, day: int = 14) -> datetime:
    """A local time in Hồ Chí Minh City (UTC+7) in April 2020, as UTC."""
    return datetime(2020, 4, day, hour - 7, minute, tzinfo=UTC)


async def join(chat: MockChatClient, org: Org) -> dict[str, ChatUser]:
    """Every member of the unit as a user of the mock server, by name."""
    users: dict[str, ChatUser] = {}
    for member in org.everyone:
        users[member.name] = await chat.user(
            int(member.user_id), member.name, member.username, language_code="vi"
        )
    return users


async def as_now(chat: MockChatClient, user: ChatUser, message: dict[str, Any]) -> dict[str, Any]:
    """A message of the bot as it reads now (after edits made by button presses)."""
    for current in await chat.messages(user.chat_id):
        if current["message_id"] == message["message_id"]:
            return dict(current)
    raise AssertionError(f"message {message['message_id']} not found")


def plain(message: dict[str, Any]) -> str:
    """The text as the person reads it (HTML markup turned into formatting)."""
    return str(message.get("plain_text") or message["text"])


async def last_id(chat: MockChatClient, user: ChatUser) -> int:
    messages = await chat.messages(user.chat_id)
    return max((int(m["message_id"]) for m in messages), default=0)


async def test_quota_exception_and_roster_in_both_languages(
    bot: RunningBot, chat: MockChatClient, clock: ManualClock
) -> None:
    db = bot.application.app.db
    org = await build_unit(db)
    users = await join(chat, org)
    lan, an, binh, cuong, dung = (users[n] for n in ("Lan", "An", "Bình", "Cường", "Dũng"))
    clock.set(hcmc(8, 30))

    # Two staff choose Office (one taps the card, one types it) and are recorded.
    [card] = await an.ask("/diemdanh")
    assert buttons(card) == ["🏠 Ở nhà", "🏢 Cơ quan", "🌴 Nghỉ phép", "🚗 Công tác"]
    answer = await an.callback_answer(await an.press(card, "Cơ quan"))
    assert answer.get("text") == "Đã ghi nhận."
    assert "Đã ghi nhận: làm việc tại cơ quan" in plain(await as_now(chat, an, card))
    [second] = await binh.ask("/checkin office")
    assert "Tại cơ quan hôm nay: 2/2" in plain(second)

    # The third is refused with the numbers and the alternatives.
    [refused] = await cuong.ask("/diemdanh coquan")
    assert "2/2 đã ở cơ quan" in plain(refused)
    assert {"🏠 Ở nhà", "🚗 Công tác", "🌴 Nghỉ phép"} <= set(buttons(refused))

    # They ask; the leader grants with a button; they are recorded at the office and told.
    seen_by_lan = await last_id(chat, lan)
    await cuong.callback_answer(await cuong.press(refused, "Xin lãnh đạo"))
    assert "Đã gửi đề nghị tới Lan" in plain(await as_now(chat, cuong, refused))
    [request] = await bot_messages(chat, lan.chat_id, seen_by_lan)
    assert "Cường xin đến cơ quan" in plain(request)
    seen_by_cuong = await last_id(chat, cuong)
    await lan.callback_answer(await lan.press(request, "Cho phép"))
    [told] = await bot_messages(chat, cuong.chat_id, seen_by_cuong)
    assert "Lan đã cho phép bạn đến cơ quan" in plain(told)
    assert "Đã cho phép Cường" in plain(await as_now(chat, lan, request))
    rows = {r.person_id: r for r in await attendance_rows(db, date(2020, 4, 14))}
    cuong_row = rows[_member(org, "Cường").person_id]
    assert (cuong_row.mode, cuong_row.by_exception) == ("office", True)
    assert "attendance.exception.grant" in await audit_actions(db)

    # One more checks in from home after the 09:00 cut-off: late.
    clock.set(hcmc(9, 30))
    [late] = await dung.ask("/diemdanh nha")
    assert "muộn" in plain(late)

    [vi] = await lan.ask("/tinhhinh")
    assert "Tại cơ quan: 3/2" in plain(vi)
    assert "Vượt hạn mức 1 người" in plain(vi)
    assert "Chưa điểm danh: 2 · ⏰ Muộn (sau 09:00): 1" in plain(vi)
    assert "Chưa điểm danh: Lan, Em" in plain(vi)
    assert "Điểm danh muộn: Dũng" in plain(vi)
    assert "Đến cơ quan theo ngoại lệ: Cường" in plain(vi)

    await lan.ask("/lang en")
    [en] = await lan.ask("/roster")
    assert "At the office: 3/2" in plain(en)
    assert "Not checked in: 2 · ⏰ Late (after 09:00): 1" in plain(en)
    assert "Not checked in: Lan, Em" in plain(en)
    assert "Late: Dũng" in plain(en)


async def test_a_holiday_is_not_a_working_day(
    bot: RunningBot, chat: MockChatClient, clock: ManualClock
) -> None:
    db = bot.application.app.db
    org = await build_unit(db)
    users = await join(chat, org)
    an, lan = users["An"], users["Lan"]
    clock.set(hcmc(8, 30, day=30))  # Thursday 30/4/2020, Reunification Day

    [asked] = await an.ask("/diemdanh coquan")
    assert "không phải ngày làm việc" in plain(asked)
    assert "Ngày Chiến thắng" in plain(asked)
    assert await attendance_rows(db) == []

    [roster] = await lan.ask("/tinhhinh")
    assert "Ngày không làm việc" in plain(roster)
    assert "Chưa điểm danh:" not in plain(roster)

    await an.callback_answer(await an.press(asked, "Vẫn điểm danh"))
    [row] = await attendance_rows(db)
    assert (row.day, row.mode, row.non_working_day, row.late) == (
        date(2020, 4, 30),
        "office",
        True,
        False,
    )


def _member(org: Org, name: str) -> Member:
    return next(m for m in org.everyone if m.name == name)
