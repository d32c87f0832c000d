"""Ask a person: the question goes to the support group, a staff answer comes back."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from bot.app import Application
from bot.core.events import ReplyTo
from bot.delivery.errors import Unreachable
from handlers.handoff import AskPerson, ReplyButton, SendDraft
from storage.models import ConversationState
from tests.fakes import FakeMessenger, Recorded, UpdateFactory
from tests.faq_feature.helpers import SUPPORT_GROUP, add_person, bind_support_group, handoffs

CITIZEN = "100"
STAFF = "300"


def group_posts(messenger: FakeMessenger) -> list[Recorded]:
    return [r for r in messenger.sent if r.chat.chat_id == SUPPORT_GROUP]


def reply_data(post: Recorded) -> str:
    [data] = [b.data for row in post.message.buttons for b in row if b.data]
    assert data is not None and ReplyButton.matches(data)
    return data


async def ask_person(application: Application, updates: UpdateFactory, question: str) -> None:
    await application.core.handle(updates.press(AskPerson().pack(), user_id=CITIZEN))
    await application.core.handle(updates.message(question, user_id=CITIZEN))


async def test_round_trip_through_the_staff_private_chat(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    db = application.app.db
    await bind_support_group(db)
    staff_id = await add_person(db, name="Cán bộ Hà", role="staff", user_id=STAFF)

    await application.core.handle(updates.press(AskPerson().pack(), user_id=CITIZEN))
    assert "gõ câu hỏi" in messenger.texts(CITIZEN)[-1]
    question = "Con em sinh ở bệnh viện tỉnh khác, gọi 0903 123 456 giúp em"
    await application.core.handle(updates.message(question, user_id=CITIZEN))
    [post] = group_posts(messenger)
    assert "Con em sinh ở bệnh viện tỉnh khác" in post.message.text
    assert "0903" not in post.message.text  # no phone number leaves the citizen's chat
    assert "Đã chuyển câu hỏi" in messenger.texts(CITIZEN)[-1]
    [row] = await handoffs(db)
    assert row.status == "open" and "0903" not in row.question
    assert row.group_message_id == post.message_id

    # A citizen in the group cannot answer.
    denied = await application.core.handle(
        updates.press(
            reply_data(post), user_id="555", chat_id=SUPPORT_GROUP, message_id=post.message_id
        )
    )
    assert denied.callback_answer is not None and denied.callback_answer.alert

    outcome = await application.core.handle(
        updates.press(
            reply_data(post), user_id=STAFF, chat_id=SUPPORT_GROUP, message_id=post.message_id
        )
    )
    assert outcome.callback_answer is not None
    assert "Gõ câu trả lời" in messenger.texts(STAFF)[-1]
    answer = "Chị mang giấy chứng sinh đến UBND phường nơi cư trú nhé."
    await application.core.handle(updates.message(answer, user_id=STAFF))
    relayed = messenger.texts(CITIZEN)[-1]
    assert "Cán bộ trả lời" in relayed and "giấy chứng sinh đến UBND phường" in relayed
    assert "Đã gửi câu trả lời" in messenger.texts(STAFF)[-1]
    assert "Cán bộ Hà đã trả lời" in post.edits[-1].text and post.edits[-1].buttons == ()
    [row] = await handoffs(db)
    assert row.status == "answered" and row.answered_by == staff_id and row.answer == answer

    # A second Reply (another staff member, or a double press) does not answer twice.
    again = await application.core.handle(
        updates.press(
            reply_data(post), user_id=STAFF, chat_id=SUPPORT_GROUP, message_id=post.message_id
        )
    )
    assert again.callback_answer is not None
    assert "đã có cán bộ trả lời" in (again.callback_answer.text or "")


async def test_staff_answers_by_replying_in_the_group(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    db = application.app.db
    await bind_support_group(db)
    await add_person(db, name="Cán bộ Minh", role="staff", user_id=STAFF)
    # A reply to some other bot message is not an answer.
    other = replace(
        updates.message("ok", user_id=STAFF, chat_id=SUPPORT_GROUP, group=True),
        reply_to=ReplyTo("12345", "some other message", from_bot=True),
    )
    await application.core.handle(other)
    assert messenger.sent == []

    await ask_person(application, updates, "Hồ sơ đất của tôi nộp tháng 3 xong chưa?")
    [post] = group_posts(messenger)
    text = "Hồ sơ của anh đã có kết quả, sẽ gửi qua bưu điện."
    reply = replace(
        updates.message(text, user_id=STAFF, chat_id=SUPPORT_GROUP, group=True),
        reply_to=ReplyTo(post.message_id, post.message.text, from_bot=True),
    )
    await application.core.handle(reply)
    assert "đã có kết quả" in messenger.texts(CITIZEN)[-1]
    [row] = await handoffs(db)
    assert row.status == "answered"


async def test_questions_reach_staff_only_when_sent_and_never_get_lost(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    db = application.app.db
    # No support group bound yet: the question is kept and the citizen gets the hotline.
    await application.core.handle(
        updates.message("/hoicanbo Khi nào phường mở cửa lại?", user_id=CITIZEN)
    )
    last = messenger.sent[-1]
    assert "1022" in last.message.text
    assert any(b.phone == "1022" for row in last.message.buttons for b in row)
    [row] = await handoffs(application.app.db)
    assert row.status == "open" and row.question == "Khi nào phường mở cửa lại?"

    await bind_support_group(db)
    await application.core.handle(updates.message("hàng xóm nuôi chó sủa cả đêm", user_id=CITIZEN))
    not_sure = messenger.sent[-1]
    [send] = [
        b.data
        for row in not_sure.message.buttons
        for b in row
        if b.data and SendDraft.matches(b.data)
    ]
    [_, draft] = await handoffs(db)
    assert draft.status == "draft" and group_posts(messenger) == []
    # Somebody else pressing the citizen's button gets nothing.
    other = await application.core.handle(updates.press(send or "", user_id="777"))
    assert other.callback_answer is not None and group_posts(messenger) == []

    await application.core.handle(updates.press(send or "", user_id=CITIZEN))
    [post] = group_posts(messenger)
    assert "hàng xóm nuôi chó" in post.message.text
    twice = await application.core.handle(updates.press(send or "", user_id=CITIZEN))
    assert twice.callback_answer is not None and "đã được gửi" in (twice.callback_answer.text or "")
    assert len(group_posts(messenger)) == 1


async def test_what_goes_wrong_on_the_way_back_loses_nothing(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    db = application.app.db
    await bind_support_group(db)
    await add_person(db, name="Cán bộ Lan", role="staff", user_id=STAFF)
    await ask_person(application, updates, "Cho hỏi lệ phí trích lục")
    [post] = group_posts(messenger)
    press = updates.press(
        reply_data(post), user_id=STAFF, chat_id=SUPPORT_GROUP, message_id=post.message_id
    )

    # The staff member never opened a private chat with the bot: told to reply in the group.
    messenger.failures.append(Unreachable("bot can't initiate conversation"))
    outcome = await application.core.handle(press)
    assert outcome.callback_answer is not None and outcome.callback_answer.alert
    async with db.transaction() as session:
        assert list(await session.scalars(select(ConversationState))) == []

    await application.core.handle(replace(press, update_id="again"))
    # A state secret in the answer is refused and nothing reaches the citizen.
    to_citizen = len(messenger.texts(CITIZEN))
    await application.core.handle(updates.message("Xem văn bản TUYỆT MẬT số 5", user_id=STAFF))
    assert len(messenger.texts(CITIZEN)) == to_citizen
    [row] = await handoffs(db)
    assert row.status == "open"

    # The citizen blocked the bot: the question stays open for another try.
    await application.core.handle(replace(press, update_id="third"))
    messenger.failures.append(Unreachable("blocked by the user"))
    await application.core.handle(updates.message("8.000 đồng một bản.", user_id=STAFF))
    assert "Chưa gửi được" in messenger.texts(STAFF)[-1]
    [row] = await handoffs(db)
    assert row.status == "open" and row.answer is None
