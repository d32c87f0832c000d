"""Issue 5's acceptance over the mock chat server with the real aiogram runtime."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.clock import ManualClock
from bot.runner import RunningBot
from storage.models import Task, TaskEvent
from tests.chat import MockChatClient, bot_messages, buttons
from tests.tasks_feature.helpers import build_org

GROUP = -1002000
LEADER, AN, CHI = 300001, 300002, 300003


async def current(chat: MockChatClient, chat_id: int, message_id: int) -> dict[str, Any]:
    """The message as the chat shows it now (after edits)."""
    for message in await chat.messages(chat_id):
        if int(message["message_id"]) == message_id:
            return message
    raise AssertionError(f"message {message_id} not in chat {chat_id}")


def callback_of(message: dict[str, Any], label: str) -> str:
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for b in row:
            if label in b["text"]:
                return str(b["callback_data"])
    raise AssertionError(f"no {label!r} among {buttons(message)}")


async def test_assign_accept_done_approve_refusals_and_overdue_list(
    bot: RunningBot, chat: MockChatClient, clock: ManualClock
) -> None:
    leader = await chat.user(LEADER, "Lãnh", "lanh_dao")
    an = await chat.user(AN, "An", "an_nv")
    chi = await chat.user(CHI, "Chi", "chi_pt")
    await chat.group(GROUP, "Văn phòng UBND", [LEADER, AN, CHI])
    app = bot.application.app
    await build_org(
        app.db,
        user_ids=(str(LEADER), str(AN), str(CHI), "300004", "300005"),
        group_id=str(GROUP),
    )
    app.actors.clear()

    # The leader assigns in the group: a card with the deadline read in the unit's zone.
    [card] = await leader.in_chat(GROUP).ask(
        "/giaoviec @an_nv Soạn công văn gửi Sở Y tế hạn 17h ngày mai"
    )
    assert "Việc #1" in card["text"]
    assert "⏰ Hạn: 17:00 thứ Tư 15/04/2020" in card["text"]
    assert buttons(card)[:3] == ["👌 Nhận việc", "🏁 Đã xong", "🆘 Cần hỗ trợ"]
    [copy] = await bot_messages(chat, AN, 0, 1)
    assert "Soạn công văn gửi Sở Y tế" in copy["text"]
    assert "17:00 thứ Tư 15/04/2020" in copy["text"]

    # A staff member's /assign is refused by the guard.
    [refusal] = await chi.in_chat(GROUP).ask("/giaoviec @an_nv Làm hộ tôi")
    assert refusal["text"].startswith("Chỉ lãnh đạo (trưởng, phó đơn vị) mới giao việc")

    # A stranger's press: a polite alert, and nothing new in the group.
    before = await chat.messages(GROUP)
    pressed = await chi.in_chat(GROUP).press(card, "Đã xong")
    answer = await chi.callback_answer(pressed)
    assert answer["show_alert"] and "không giao cho bạn" in answer["text"]
    assert await chat.messages(GROUP) == before

    # Accept, then Done, by the assignee in private: the group card is edited in place.
    await an.callback_answer(await an.press(copy, "Nhận việc"))
    edited = await current(chat, GROUP, card["message_id"])
    assert edited["edited"] and "Nguyễn Văn An: 🔧 Đang làm" in edited["text"]

    # A double press of Done (both taps sent before the first is answered): one transition.
    done = callback_of(await current(chat, AN, copy["message_id"]), "Đã xong")
    taps = [
        await chat.post(
            "/_mock/callbacks",
            {
                "chat_id": AN,
                "from_id": AN,
                "message_id": copy["message_id"],
                "data": done,
                "force": True,
            },
        )
        for _ in range(2)
    ]
    answers = await asyncio.gather(*(an.callback_answer(t["callback_query_id"]) for t in taps))
    assert sorted(a["text"] for a in answers) == [
        "Việc này đã hoàn thành trước đó.",
        "Đã báo hoàn thành việc #1, chờ duyệt.",
    ]
    edited = await current(chat, GROUP, card["message_id"])
    assert "☑️ Đã xong, chờ duyệt" in edited["text"]
    # The assigner is asked to approve in private.
    [approval] = await bot_messages(chat, LEADER, 0, 1)
    assert "chờ duyệt" in approval["text"] and "✅ Duyệt" in buttons(approval)

    # Approve by the leader on the group card: approved, no buttons left.
    await leader.in_chat(GROUP).callback_answer(await leader.in_chat(GROUP).press(edited, "Duyệt"))
    final = await current(chat, GROUP, card["message_id"])
    assert "✅ Đã duyệt" in final["text"] and buttons(final) == []
    async with app.db.transaction() as session:
        task = await session.scalar(select(Task))
        done_events = list(
            await session.scalars(select(TaskEvent).where(TaskEvent.action == "done"))
        )
    assert task is not None and task.status == "approved"
    assert len(done_events) == 1

    # /tasks: the overdue task first, whatever order the tasks were given in.
    group = leader.in_chat(GROUP)
    await group.ask("/giaoviec @an_nv Tổng hợp ý kiến hạn thứ 6")
    await group.ask("/giaoviec @an_nv Nộp danh sách trực hạn 17h ngày mai")
    # An's chat: the first copy, the approval notice, two new copies.
    await bot_messages(chat, AN, 0, 4)
    clock.set(datetime(2020, 4, 16, 2, 0, tzinfo=UTC))  # Thursday 09:00
    [listing] = await an.ask("/viec")
    lines = listing["plain_text"].splitlines()
    assert lines[0] == "Việc của tôi (2 việc, 1 quá hạn):"
    assert lines[1].startswith("#3 Nộp danh sách trực") and "⚠️ Quá hạn" in lines[1]
    assert lines[2].startswith("#2 Tổng hợp ý kiến") and "Quá hạn" not in lines[2]
