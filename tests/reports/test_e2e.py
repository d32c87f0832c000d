"""Acceptance of issue 6 over the real aiogram runtime and the mock chat server.

Two staff report (one guided with a task picked, one one-shot), one does not; the head
receives both; /tonghop names the missing one; /tonghop tuan returns PNG charts; the XLSX
from /xuat opens with openpyxl and its per-person numbers match the data created here; a
blocker reaches the head at once and the head's reply reaches its author.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import load_workbook

from bot.clock import ManualClock
from bot.runner import RunningBot
from storage.models import Attendance, Report, Task
from tests.chat import ChatUser, MockChatClient, bot_messages
from tests.reports.conftest import TUESDAY_AFTERNOON, Org, make_org

BASE_USER = 610000


async def current(chat: MockChatClient, chat_id: int, message_id: int) -> dict[str, Any]:
    """A message as it is now (after the bot's edits)."""
    for message in await chat.messages(chat_id):
        if int(message["message_id"]) == message_id:
            return message
    raise AssertionError(f"message {message_id} not in chat {chat_id}")


async def press_and_wait(user: ChatUser, message: dict[str, Any], label: str) -> dict[str, Any]:
    """Press a button and return the same message once the bot has answered the press."""
    callback = await user.press(message, label)
    await user.callback_answer(callback)
    return await current(user.client, user.chat_id, int(message["message_id"]))


async def seed(running: RunningBot) -> tuple[Org, dict[str, int]]:
    """The organisation, Monday's report of An, Tuesday's check-ins and three tasks."""
    app = running.application.app
    org = await make_org(app.db, base_user=BASE_USER)
    monday_9 = datetime(2020, 4, 13, 2, 0, tzinfo=UTC)
    tuesday = date(2020, 4, 14)
    deadline_today = datetime(2020, 4, 14, 10, 0, tzinfo=UTC)  # Tuesday 17:00
    async with app.db.transaction() as session:
        session.add(
            Report(
                person_id=org.an_id,
                unit_id=org.unit_id,
                day=date(2020, 4, 13),
                done="Tiếp nhận 9 hồ sơ",
                submitted_at=datetime(2020, 4, 13, 9, 0, tzinfo=UTC),
                updated_at=datetime(2020, 4, 13, 9, 0, tzinfo=UTC),
            )
        )
        for person, mode, late in (
            (org.head_id, "office", False),
            (org.an_id, "office", False),
            (org.binh_id, "home", True),
        ):
            session.add(
                Attendance(
                    person_id=person,
                    unit_id=org.unit_id,
                    day=tuesday,
                    mode=mode,
                    late=late,
                    checked_in_at=datetime(2020, 4, 14, 1, 30, tzinfo=UTC),
                    updated_at=datetime(2020, 4, 14, 1, 30, tzinfo=UTC),
                )
            )
        tasks = {
            "an": Task(text="Soạn công văn trả lời Sở Nội vụ", assignee_id=org.an_id,
                       status="accepted", deadline=deadline_today, done_at=None),
            "binh": Task(text="Tổng hợp hồ sơ trễ hạn", assignee_id=org.binh_id,
                         status="done", deadline=deadline_today,
                         done_at=datetime(2020, 4, 14, 8, 0, tzinfo=UTC)),
            "cuong": Task(text="Cập nhật danh mục thủ tục", assignee_id=org.cuong_id,
                          status="accepted", deadline=datetime(2020, 4, 13, 10, 0, tzinfo=UTC),
                          done_at=None),
        }  # fmt: skip
        for task in tasks.values():
            task.unit_id, task.assigner_id = org.unit_id, org.head_id
            task.created_at = task.updated_at = monday_9
            session.add(task)
        await session.flush()
        ids = {name: task.id for name, task in tasks.items()}
    app.actors.clear()
    return org, ids


async def test_daily_reports_summary_charts_export_and_blocker(
    bot: RunningBot, chat: MockChatClient, clock: ManualClock
) -> None:
    clock.set(TUESDAY_AFTERNOON)
    org, tasks = await seed(bot)
    head = await chat.user(int(org.head_user), "Hoa", username=f"user{org.head_user}")
    an = await chat.user(int(org.an_user), "An", username=f"user{org.an_user}")
    binh = await chat.user(int(org.binh_user), "Bình", username=f"user{org.binh_user}")
    cuong = await chat.user(int(org.cuong_user), "Cường", username=f"user{org.cuong_user}")

    # An: guided, picking the assigned task, skipping the blockers.
    [question] = await an.ask("/baocao")
    assert "Hôm nay bạn đã làm xong" in question["text"]
    question = await press_and_wait(an, question, f"#{tasks['an']}")
    question = await press_and_wait(an, question, "Tiếp")
    assert "đang làm dở" in question["text"]
    [question] = await an.ask("Rà soát hồ sơ tồn")
    question = await press_and_wait(an, question, "Bỏ qua")
    assert "Kế hoạch" in question["text"]
    [preview] = await an.ask("Trả kết quả qua bưu điện")
    assert "Soạn công văn trả lời Sở Nội vụ" in preview["text"]
    saved = await press_and_wait(an, preview, "Gửi báo cáo")
    assert "Đã lưu báo cáo" in saved["text"]

    # Bình: one-shot.
    [reply] = await binh.ask("/baocao Đã xử lý 12 hồ sơ…")
    assert "Đã lưu báo cáo" in reply["text"]

    # The head received both, privately.
    received = await bot_messages(chat, head.chat_id, 0, count=2)
    texts = [m["text"] for m in received]
    assert any("Nguyễn Văn An" in t and "Soạn công văn" in t for t in texts)
    assert any("Lê Thị Bình" in t and "12 hồ sơ" in t for t in texts)

    # /tonghop names the one who did not report.
    [summary] = await head.ask("/tonghop")
    assert "Báo cáo: 2/4" in summary["text"]
    missing_line = next(
        line for line in summary["text"].splitlines() if line.startswith("Chưa gửi báo cáo")
    )
    assert "Phạm Văn Cường" in missing_line and "Nguyễn Văn An" not in missing_line

    # /tonghop tuan: the text, then three PNG charts.
    week = await head.ask("/tonghop tuan", count=4)
    photos = [m for m in week if m.get("photo")]
    assert len(photos) == 3
    async with chat.http.get(photos[0]["photo"][-1]["download_url"]) as response:
        png = await response.read()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")

    # /xuat tuan: an XLSX whose rows are the numbers created above.
    [export] = await head.ask("/xuat tuan")
    assert export["document"]["file_name"].endswith(".xlsx")
    async with chat.http.get(export["document"]["download_url"]) as response:
        book = load_workbook(io.BytesIO(await response.read()))
    rows = list(book["Cá nhân"].iter_rows(values_only=True))
    header = rows[0]
    table = {
        row[header.index("Họ và tên")]: dict(zip(header, row, strict=True)) for row in rows[1:]
    }
    an_row, binh_row, cuong_row = (
        table["Nguyễn Văn An"],
        table["Lê Thị Bình"],
        table["Phạm Văn Cường"],
    )
    assert an_row["Ngày làm việc"] == 2  # Monday and Tuesday so far
    assert (an_row["Điểm danh tại cơ quan"], an_row["Điểm danh muộn"]) == (1, 0)
    assert (an_row["Báo cáo đã gửi"], an_row["Báo cáo còn thiếu"]) == (2, 0)
    assert (an_row["Việc được giao"], an_row["Việc hoàn thành"], an_row["Việc quá hạn"]) == (
        1,
        0,
        0,
    )
    assert (binh_row["Điểm danh ở nhà"], binh_row["Điểm danh muộn"]) == (1, 1)
    assert (binh_row["Báo cáo đã gửi"], binh_row["Báo cáo còn thiếu"]) == (1, 1)
    assert (binh_row["Hoàn thành đúng hạn"], binh_row["Tỷ lệ đúng hạn"]) == (1, 1)
    assert (cuong_row["Báo cáo đã gửi"], cuong_row["Báo cáo còn thiếu"]) == (0, 2)
    assert (cuong_row["Không điểm danh"], cuong_row["Việc quá hạn"]) == (2, 1)
    assert cuong_row["Tỷ lệ đúng hạn"] == 0
    units = list(book["Tổng hợp đơn vị"].iter_rows(values_only=True))
    assert units[1][0] == "MOTCUA" and units[1][2] == 4

    # A blocker reaches the head at once, with a Reply button that relays the answer.
    before = max(int(m["message_id"]) for m in await chat.messages(head.chat_id))
    await cuong.ask("/baocao Vướng mắc: chưa được cấp tài khoản một cửa điện tử")
    [alert] = await bot_messages(chat, head.chat_id, before, count=1)
    assert "Phạm Văn Cường" in alert["text"] and "chưa được cấp tài khoản" in alert["text"]
    callback = await head.press(alert, "Trả lời")
    await head.callback_answer(callback)
    [prompt] = await head.bot_replies(int(alert["message_id"]))
    assert "Gõ nội dung trả lời" in prompt["text"]
    last_cuong = max(int(m["message_id"]) for m in await chat.messages(cuong.chat_id))
    await head.ask("Chiều nay phòng CNTT cấp tài khoản")
    [relayed] = await bot_messages(chat, cuong.chat_id, last_cuong, count=1)
    assert "Chiều nay phòng CNTT cấp tài khoản" in relayed["text"]
