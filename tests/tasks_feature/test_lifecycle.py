"""A task's life through the core with a fake channel: buttons, questions, notes, rights, lists."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.app import Application
from bot.clock import ManualClock
from bot.core.events import ReplyTo
from bot.delivery.errors import Unreachable
from storage.models import AuditEntry, TaskEvent
from tests.fakes import FakeMessenger, Recorded, UpdateFactory
from tests.tasks_feature.helpers import GROUP_ID, build_org, button, labels, press, rows, say


def last_in(messenger: FakeMessenger, chat_id: str) -> Recorded:
    return [r for r in messenger.sent if r.chat.chat_id == chat_id][-1]


def shown(record: Recorded) -> str:
    return record.edits[-1].text if record.edits else record.message.text


async def test_a_task_from_assignment_to_approval(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    org = await build_org(application.app.db)
    core = application.core
    await core.handle(
        say(updates, org.leader, "/giaoviec @an_nv Soạn báo cáo tuần hạn 17h ngày mai", group=True)
    )
    card, copy = messenger.sent
    leader_chat, an_chat = org.leader.user_id, org.an.user_id

    # A colleague pressing someone else's button: a polite alert, nothing in any chat.
    sent_before = len(messenger.sent)
    outcome = await core.handle(
        press(
            updates, org.chi, button(card, "Đã xong"), message_id=card.message_id, chat_id=GROUP_ID
        )
    )
    assert outcome.callback_answer is not None and outcome.callback_answer.alert
    assert "không giao cho bạn" in (outcome.callback_answer.text or "")
    assert len(messenger.sent) == sent_before and card.edits == []

    # Accept on the private copy: both cards show it.
    outcome = await core.handle(
        press(updates, org.an, button(copy, "Nhận việc"), message_id=copy.message_id)
    )
    assert outcome.callback_answer is not None
    assert outcome.callback_answer.text == "Đã nhận việc #1."
    assert "Nguyễn Văn An: 🔧 Đang làm" in shown(card)
    assert "🔧 Đang làm" in shown(copy)
    assert labels(card) == ["🏁 Đã xong", "🆘 Cần hỗ trợ", "⏰ Gia hạn", "🚫 Huỷ việc"]

    # A reply to the group card is a progress note; the assigner hears of it.
    card_quote = ReplyTo(card.message_id, "📋 Việc #1\nSoạn báo cáo tuần", "0", from_bot=True)
    await core.handle(say(updates, org.an, "Đã xong phần số liệu", group=True, reply_to=card_quote))
    assert "📝 Đã xong phần số liệu" in shown(card)
    notice = last_in(messenger, leader_chat)
    assert notice.message.text.startswith("📝 Nguyễn Văn An báo tiến độ việc #1")
    assert "Đã xong phần số liệu" in notice.message.text
    # Someone else's reply to the card is conversation: ignored, no note.
    await core.handle(say(updates, org.chi, "Cố lên!", group=True, reply_to=card_quote))
    assert "Cố lên" not in shown(card)

    # Need help asks for the reason in the private chat, then tells the assigner at once.
    outcome = await core.handle(
        press(
            updates,
            org.an,
            button(card, "Cần hỗ trợ"),
            message_id=card.message_id,
            chat_id=GROUP_ID,
        )
    )
    assert outcome.callback_answer is not None
    assert outcome.callback_answer.text == "Mời bạn trả lời trong tin nhắn riêng với bot."
    assert "bạn cần hỗ trợ gì" in last_in(messenger, an_chat).message.text
    await core.handle(say(updates, org.an, "Thiếu số liệu của phòng <Tài chính>"))
    assert "🆘 Cần hỗ trợ" in shown(card)
    help_notice = last_in(messenger, leader_chat).message.text
    assert help_notice.startswith("🆘 Nguyễn Văn An cần hỗ trợ việc #1")
    assert "Thiếu số liệu của phòng &lt;Tài chính&gt;" in help_notice

    # A note with a state-secret marking is refused and not kept.
    outcome = await core.handle(say(updates, org.an, "/tiendo 1 Đã nhận công văn Tuyệt mật"))
    assert outcome.errors == ["classified.refused"]
    assert "Tuyệt mật" not in shown(card)

    # /tiendo after help: back in progress, the assigner told again.
    await core.handle(say(updates, org.an, "/tiendo 1 Đã nhận số liệu, đang tổng hợp"))
    assert last_in(messenger, an_chat).message.text == (
        "Đã ghi tiến độ việc #1 và báo người giao việc."
    )
    assert "🔧 Đang làm" in shown(card)
    assert "Đã nhận số liệu" in last_in(messenger, leader_chat).message.text

    # Done: the assigner gets a card to approve; a second Done makes no second transition.
    done = button(copy, "Đã xong")
    outcome = await core.handle(press(updates, org.an, done, message_id=copy.message_id))
    assert outcome.callback_answer is not None
    assert outcome.callback_answer.text == "Đã báo hoàn thành việc #1, chờ duyệt."
    approval = last_in(messenger, leader_chat)
    assert "☑️ Đã xong, chờ duyệt" in approval.message.text
    assert labels(approval) == ["✅ Duyệt", "↩️ Trả lại", "🚫 Huỷ việc"]
    assert labels(copy) == []  # nothing left for the assignee to press
    again = await core.handle(press(updates, org.an, done, message_id=copy.message_id))
    assert again.callback_answer is not None and again.callback_answer.alert
    assert again.callback_answer.text == "Việc này đã hoàn thành trước đó."

    # Approve belongs to the assigner or the unit's leader.
    outcome = await core.handle(
        press(updates, org.chi, button(card, "Duyệt"), message_id=card.message_id, chat_id=GROUP_ID)
    )
    assert outcome.callback_answer is not None and outcome.callback_answer.alert
    assert "Chỉ người giao việc hoặc lãnh đạo" in (outcome.callback_answer.text or "")

    # A reply to the approval card is not an approval: the leader is pointed to the buttons.
    approval_quote = ReplyTo(approval.message_id, "📋 Việc #1\nSoạn", "0", from_bot=True)
    await core.handle(say(updates, org.leader, "ok", reply_to=approval_quote))
    assert "dùng nút Duyệt hoặc Trả lại" in last_in(messenger, leader_chat).message.text

    # Return with a comment, asked in the leader's private chat where the button was.
    await core.handle(
        press(updates, org.leader, button(approval, "Trả lại"), message_id=approval.message_id)
    )
    assert "cần làm lại hoặc bổ sung gì" in last_in(messenger, leader_chat).message.text
    await core.handle(say(updates, org.leader, "Bổ sung biểu đồ so sánh"))
    assert "🔧 Đang làm" in shown(card) and "📝 Bổ sung biểu đồ so sánh" in shown(card)
    returned = last_in(messenger, an_chat).message.text
    assert returned.startswith("↩️ Trần Thị Lãnh trả lại việc #1")
    assert "Bổ sung biểu đồ so sánh" in returned

    # Done again, approved from the group card: final, no buttons, the assignee thanked.
    await core.handle(press(updates, org.an, button(copy, "Đã xong"), message_id=copy.message_id))
    outcome = await core.handle(
        press(
            updates, org.leader, button(card, "Duyệt"), message_id=card.message_id, chat_id=GROUP_ID
        )
    )
    assert outcome.callback_answer is not None
    assert outcome.callback_answer.text == "Đã duyệt việc #1."
    assert "✅ Đã duyệt" in shown(card) and labels(card) == [] and labels(copy) == []
    assert last_in(messenger, an_chat).message.text.startswith("✅ Trần Thị Lãnh đã duyệt việc #1")

    [task] = await rows(application)
    assert task.status == "approved" and task.version == 9
    async with application.app.db.transaction() as session:
        events = [e.action for e in await session.scalars(select(TaskEvent).order_by(TaskEvent.id))]
        audited = [
            a.action
            for a in await session.scalars(
                select(AuditEntry).where(AuditEntry.action.like("task.%")).order_by(AuditEntry.id)
            )
        ]
    expected = [
        "assigned",
        "accepted",
        "noted",
        "blocked",
        "unblocked",
        "done",
        "returned",
        "done",
        "approved",
    ]
    assert events == expected
    assert audited == [f"task.{e}" for e in expected]


async def test_extend_cancel_and_lists_with_overdue_first(
    application: Application,
    messenger: FakeMessenger,
    updates: UpdateFactory,
    clock: ManualClock,
) -> None:
    org = await build_org(application.app.db)
    core = application.core
    for text in (
        "/giaoviec @an_nv Báo cáo A hạn 17h ngày mai",
        "/giaoviec @an_nv Báo cáo B hạn thứ 6",
        "/giaoviec @an_nv Việc C không gấp",
        "/giaoviec @binh_lt Việc D hạn 17h ngày mai !khan",
    ):
        await core.handle(say(updates, org.leader, text, group=True))
    cards = [r for r in messenger.sent if r.chat.chat_id == GROUP_ID]
    leader_chat, an_chat = org.leader.user_id, org.an.user_id

    # The bot cannot write to An in private: the reason is asked in the group, and An's
    # next message there is the answer.
    messenger.failures.append(Unreachable("blocked"))
    await core.handle(
        press(
            updates,
            org.an,
            button(cards[0], "Cần hỗ trợ"),
            message_id=cards[0].message_id,
            chat_id=GROUP_ID,
        )
    )
    asked = last_in(messenger, GROUP_ID).message.text
    assert asked.startswith("Nguyễn Văn An: 🆘 Việc #1 «Báo cáo A»: bạn cần hỗ trợ gì?")
    await core.handle(say(updates, org.an, "Chờ số liệu của xã", group=True))
    assert "🆘 Cần hỗ trợ" in shown(cards[0]) and "📝 Chờ số liệu của xã" in shown(cards[0])

    # Only a supervisor extends.
    refused = await core.handle(
        press(
            updates,
            org.an,
            button(cards[1], "Gia hạn"),
            message_id=cards[1].message_id,
            chat_id=GROUP_ID,
        )
    )
    assert refused.callback_answer is not None and refused.callback_answer.alert

    # Extend B: asked in private, a date it cannot read is asked again, then applied.
    await core.handle(
        press(
            updates,
            org.leader,
            button(cards[1], "Gia hạn"),
            message_id=cards[1].message_id,
            chat_id=GROUP_ID,
        )
    )
    assert "Hạn hiện tại: 17:00 thứ Sáu 17/04/2020" in last_in(messenger, leader_chat).message.text
    await core.handle(say(updates, org.leader, "khi nào xong thì thôi"))
    assert "chưa đọc được hạn" in last_in(messenger, leader_chat).message.text
    await core.handle(say(updates, org.leader, "20/4"))
    assert last_in(messenger, leader_chat).message.text == "Đã gia hạn việc #2."
    assert "⏰ Hạn: 17:00 thứ Hai 20/04/2020" in shown(cards[1])
    assert "17:00 thứ Hai 20/04/2020" in last_in(messenger, an_chat).message.text

    # Cancel C after a confirmation.
    await core.handle(
        press(
            updates,
            org.leader,
            button(cards[2], "Huỷ việc"),
            message_id=cards[2].message_id,
            chat_id=GROUP_ID,
        )
    )
    confirm = last_in(messenger, leader_chat)
    assert labels(confirm) == ["🚫 Có, huỷ việc", "Không huỷ"]
    # Nobody else can answer the question for the leader.
    for label in ("Có, huỷ", "Không huỷ"):
        other = await core.handle(
            press(
                updates,
                org.chi,
                button(confirm, label),
                message_id=confirm.message_id,
                chat_id=leader_chat,
            )
        )
        assert other.callback_answer is not None and other.callback_answer.alert
    assert confirm.edits == []
    await core.handle(
        press(updates, org.leader, button(confirm, "Có, huỷ"), message_id=confirm.message_id)
    )
    assert "🚫 Đã huỷ" in shown(cards[2]) and labels(cards[2]) == []
    assert last_in(messenger, an_chat).message.text.startswith("🚫 Trần Thị Lãnh đã huỷ việc #3")

    # Two days later A and D are overdue.
    clock.set(datetime(2020, 4, 16, 2, 0, tzinfo=UTC))
    await core.handle(say(updates, org.an, "/viec"))
    listing = last_in(messenger, an_chat).message.text.splitlines()
    assert listing[0] == "<b>Việc của tôi</b> (2 việc, 1 quá hạn):"
    assert listing[1].startswith("#1 Báo cáo A — ⏰ 17:00 thứ Tư 15/04/2020 — ⚠️ Quá hạn")
    assert listing[2].startswith("#2 Báo cáo B — ⏰ 17:00 thứ Hai 20/04/2020 — 🆕 Mới giao")
    assert "Việc C" not in "\n".join(listing)

    await core.handle(say(updates, org.leader, "/viec all quá hạn"))
    overdue = last_in(messenger, leader_chat).message.text.splitlines()
    assert overdue[0] == "<b>Việc của đơn vị</b> (2 việc, 2 quá hạn):"
    # The same deadline: the urgent one first.
    assert overdue[1].startswith("#4 🔴 Việc D — Lê Thị Bình")
    assert overdue[2].startswith("#1 Báo cáo A — Nguyễn Văn An")
    await core.handle(say(updates, org.leader, "/tasks all @binh_lt"))
    assert "(1 việc, 1 quá hạn)" in last_in(messenger, leader_chat).message.text
    await core.handle(say(updates, org.leader, "/viec all hôm nay"))
    assert last_in(messenger, leader_chat).message.text == "Không có việc nào đang mở. 👍"

    # Staff see only their own list.
    outcome = await core.handle(say(updates, org.an, "/viec all"))
    assert outcome.errors == ["access.denied.view_unit"]
