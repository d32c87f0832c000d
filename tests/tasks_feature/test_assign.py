"""/assign (/giaoviec) through the core with a fake channel: cards, copies, questions, refusals.

Each test plays a whole scene: every database test runs on SQLite and PostgreSQL, and a
fresh database per test is the expensive part.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.app import Application
from bot.core.events import ReplyTo
from handlers.tasks import DeadlineChoice
from storage.models import AuditEntry, Identity, TaskCard, TaskEvent
from tests.fakes import FakeMessenger, UpdateFactory
from tests.tasks_feature.helpers import GROUP_ID, build_org, button, labels, press, rows, say


async def test_leader_assigns_in_the_group_card_and_private_copies(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    org = await build_org(application.app.db, binh_language="en")
    outcome = await application.core.handle(
        say(
            updates,
            org.leader,
            "/giaoviec @an_nv Soạn công văn gửi Sở Y tế hạn 17h ngày mai !khan",
            group=True,
        )
    )
    assert outcome.handled and not outcome.errors
    [card, copy] = messenger.sent
    assert card.chat.chat_id == GROUP_ID
    text = card.message.text
    assert text.startswith("📋 <b>Việc #1</b> · 🔴 KHẨN")
    assert "Soạn công văn gửi Sở Y tế" in text
    assert "⏰ Hạn: 17:00 thứ Tư 15/04/2020" in text
    assert "Nguyễn Văn An: 🆕 Mới giao" in text
    assert labels(card) == [
        "👌 Nhận việc",
        "🏁 Đã xong",
        "🆘 Cần hỗ trợ",
        "⏰ Gia hạn",
        "🚫 Huỷ việc",
    ]
    assert copy.chat.chat_id == org.an.user_id
    assert "17:00 thứ Tư 15/04/2020" in copy.message.text
    # The assignee's copy carries only the assignee's buttons.
    assert labels(copy) == ["👌 Nhận việc", "🏁 Đã xong", "🆘 Cần hỗ trợ"]

    [task] = await rows(application)
    assert task.status == "assigned" and task.urgent and not task.legal_deadline
    assert task.assignee_id == org.an.person_id and task.assigner_id == org.leader.person_id
    assert task.deadline == datetime(2020, 4, 15, 10, 0, tzinfo=UTC)  # 17:00 in UTC+7

    # The reply form: the replied message is the task; Bình reads her copy in English.
    quoted = ReplyTo("55", "Công dân <Lan> hỏi cấp lại giấy khai sinh !phaply", "999")
    await application.core.handle(
        say(
            updates, org.leader, "/assign @binh_lt trả lời trước thứ 6", group=True, reply_to=quoted
        )
    )
    [card2, copy2] = messenger.sent[2:]
    # User text is escaped: a bare "<" would make Telegram refuse the whole message.
    assert "Công dân &lt;Lan&gt; hỏi cấp lại giấy khai sinh" in card2.message.text
    assert "⚖️ Thời hạn pháp lý" in card2.message.text
    assert "Hạn: 17:00 thứ Sáu 17/04/2020" in card2.message.text
    assert copy2.chat.chat_id == org.binh.user_id
    assert copy2.message.text.startswith("📋 <b>Task #2</b>")
    assert "Deadline: 17:00 Friday 17/04/2020" in copy2.message.text
    assert labels(copy2) == ["👌 Accept", "🏁 Done", "🆘 Need help"]
    second = (await rows(application))[1]
    assert second.text == "Công dân <Lan> hỏi cấp lại giấy khai sinh" and second.legal_deadline

    async with application.app.db.transaction() as session:
        cards = sorted(
            (c.task_id, c.kind, c.chat_id) for c in await session.scalars(select(TaskCard))
        )
        events = [(e.task_id, e.action) for e in await session.scalars(select(TaskEvent))]
        audited = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "task.assigned")
        )
    assert cards == [
        (1, "assignee", org.an.user_id),
        (1, "origin", GROUP_ID),
        (2, "assignee", org.binh.user_id),
        (2, "origin", GROUP_ID),
    ]
    assert events == [(1, "assigned"), (2, "assigned")]
    assert audited == 2


async def test_several_assignees_share_one_card_and_act_on_their_own_rows(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    org = await build_org(application.app.db)
    await application.core.handle(
        say(updates, org.leader, "/assign @an_nv và @binh_lt Rà soát hồ sơ tồn đọng", group=True)
    )
    card = messenger.sent[0]
    assert "Nguyễn Văn An (#1): 🆕 Mới giao" in card.message.text
    assert "Lê Thị Bình (#2): 🆕 Mới giao" in card.message.text
    assert "Không đặt hạn" in card.message.text
    assert {r.chat.chat_id for r in messenger.sent[1:]} == {org.an.user_id, org.binh.user_id}

    outcome = await application.core.handle(
        press(
            updates,
            org.binh,
            button(card, "Nhận việc"),
            message_id=card.message_id,
            chat_id=GROUP_ID,
        )
    )
    assert outcome.callback_answer is not None
    assert outcome.callback_answer.text == "Đã nhận việc #2."
    statuses = {t.assignee_id: t.status for t in await rows(application)}
    assert statuses == {org.an.person_id: "assigned", org.binh.person_id: "accepted"}
    edited = card.edits[-1].text
    assert "Lê Thị Bình (#2): 🔧 Đang làm" in edited
    assert "Nguyễn Văn An (#1): 🆕 Mới giao" in edited
    # Bình's own copy moved too; An's did not.
    binh_copy = next(r for r in messenger.sent if r.chat.chat_id == org.binh.user_id)
    an_copy = next(r for r in messenger.sent if r.chat.chat_id == org.an.user_id)
    assert "🔧 Đang làm" in binh_copy.edits[-1].text and an_copy.edits == []


async def test_unclear_deadlines_are_asked_with_buttons(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    org = await build_org(application.app.db)
    # "5h" without sáng/chiều: 17:00 today or 05:00 tomorrow? The bot does not guess.
    await application.core.handle(
        say(updates, org.leader, "/giaoviec @an_nv Gửi báo cáo hạn 5h", group=True)
    )
    [question] = messenger.sent
    assert "«hạn 5h»" in question.message.text
    assert labels(question) == [
        "17:00 thứ Ba 14/04/2020",
        "05:00 thứ Tư 15/04/2020",
        "Không đặt hạn",
        "Thôi, không giao",
    ]
    assert await rows(application) == []

    choice = button(question, "17:00")
    assert DeadlineChoice.unpack(choice).by == org.leader.person_id
    refused = await application.core.handle(
        press(updates, org.chi, choice, message_id=question.message_id, chat_id=GROUP_ID)
    )
    assert refused.callback_answer is not None and refused.callback_answer.alert
    assert refused.callback_answer.text == "Chỉ người giao việc mới chọn được hạn này."
    assert await rows(application) == []

    done = await application.core.handle(
        press(updates, org.leader, choice, message_id=question.message_id, chat_id=GROUP_ID)
    )
    assert done.callback_answer is not None and not done.callback_answer.alert
    [task] = await rows(application)
    assert task.deadline == datetime(2020, 4, 14, 10, 0, tzinfo=UTC)
    # The question became the card; the assignee got a copy.
    assert question.edits[-1].text.startswith("📋 <b>Việc #1</b>")
    assert messenger.sent[-1].chat.chat_id == org.an.user_id
    # The same button again is stale: never a second task.
    again = await application.core.handle(
        press(updates, org.leader, choice, message_id=question.message_id, chat_id=GROUP_ID)
    )
    assert again.callback_answer is not None and again.callback_answer.alert
    assert len(await rows(application)) == 1

    # 09:00 on the clock: "8h today" has passed; offered: tomorrow 08:00, or no deadline.
    await application.core.handle(
        say(updates, org.leader, "/giaoviec @an_nv Họp giao ban hạn hôm nay 8h", group=True)
    )
    past = messenger.sent[-1]
    assert "đã qua" in past.message.text
    assert labels(past)[0] == "08:00 thứ Tư 15/04/2020"
    await application.core.handle(
        press(
            updates,
            org.leader,
            button(past, "Không đặt hạn"),
            message_id=past.message_id,
            chat_id=GROUP_ID,
        )
    )
    second = (await rows(application))[1]
    assert second.deadline is None and second.text == "Họp giao ban"

    # A question can be dropped: nothing is assigned.
    await application.core.handle(
        say(updates, org.leader, "/giaoviec @an_nv Gọi điện cho xã hạn 5h", group=True)
    )
    dropped = messenger.sent[-1]
    await application.core.handle(
        press(
            updates,
            org.leader,
            button(dropped, "Thôi"),
            message_id=dropped.message_id,
            chat_id=GROUP_ID,
        )
    )
    assert dropped.edits[-1].text == "Đã thôi, không giao việc này."
    assert len(await rows(application)) == 2


async def test_refusals_unknown_people_staff_secrets_and_unreachable_assignees(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    org = await build_org(application.app.db)
    # Unknown, and someone of another unit: both named; the unit's people and /moi shown.
    outcome = await application.core.handle(
        say(updates, org.leader, "/giaoviec @ai_do @xa_la Soạn thảo quyết định", group=True)
    )
    assert outcome.errors == ["tasks.assign.unknown"]
    answer = messenger.texts()[-1]
    named, listed = answer.split("Có thể giao việc cho:")
    assert "@ai_do" in named and "@xa_la" in named
    assert "@an_nv (Nguyễn Văn An)" in listed and "@binh_lt (Lê Thị Bình)" in listed
    assert "@xa_la" not in listed
    assert "/moi" in listed

    # Staff are refused by the guard with the localized explanation.
    outcome = await application.core.handle(
        say(updates, org.an, "/giaoviec @binh_lt Làm giúp báo cáo", group=True)
    )
    assert outcome.errors == ["access.denied.assign_tasks"]
    assert messenger.texts()[-1].startswith("Chỉ lãnh đạo (trưởng, phó đơn vị) mới giao việc")

    # A state-secret marking: refused, nothing stored, the refusal audited.
    outcome = await application.core.handle(
        say(updates, org.leader, "/giaoviec @an_nv Chuyển tài liệu Tối mật cho sở", group=True)
    )
    assert outcome.errors == ["classified.refused"]
    assert await rows(application) == []

    # Usage when there is no one to assign to.
    outcome = await application.core.handle(
        say(updates, org.leader, "/giaoviec Soạn công văn", group=True)
    )
    assert outcome.errors == ["tasks.assign.usage"]

    # An imported person whose identity has no user id yet: told in the group to open a chat.
    async with application.app.db.transaction() as session:
        identity = await session.scalar(
            select(Identity).where(Identity.person_id == org.binh.person_id)
        )
        assert identity is not None
        identity.user_id = None
    before = len(messenger.sent)
    await application.core.handle(
        say(updates, org.leader, "/giaoviec @binh_lt Cập nhật danh bạ", group=True)
    )
    [card, notice] = messenger.sent[before:]
    assert card.chat.chat_id == notice.chat.chat_id == GROUP_ID
    assert "@binh_lt" in notice.message.text and "Start" in notice.message.text
    assert [t.text for t in await rows(application)] == ["Cập nhật danh bạ"]
    async with application.app.db.transaction() as session:
        refusals = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "classified.refused", AuditEntry.entity == "task")
        )
    assert refusals == 1
