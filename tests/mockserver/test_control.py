"""The control API: people, chats, user actions, listings with waits, reset, the playground."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bot.mockserver import MockServer
from bot.mockserver.client import MockClient, MockControlError
from tests.mockserver.conftest import BotApi

BUTTONS = {
    "inline_keyboard": [
        [{"text": "Nhận việc", "callback_data": "task:7:accept"}],
        [{"text": "Cổng DVC", "url": "https://dichvucong.gov.vn"}],
    ]
}


async def test_users_one_or_many_and_their_private_chats(mock: MockClient) -> None:
    one = await mock.add_user(42, "An", username="@an_nguyen")
    assert one == {
        "id": 42,
        "is_bot": False,
        "first_name": "An",
        "username": "an_nguyen",
        "blocked": False,
    }
    many = await mock.request(
        "POST", "/_mock/users", json=[{"id": 50 + i, "first_name": f"Cán bộ {i}"} for i in range(3)]
    )
    assert [u["id"] for u in many] == [50, 51, 52]
    assert len(await mock.request("GET", "/_mock/users")) == 4
    chats = await mock.request("GET", "/_mock/chats")
    assert {c["id"]: c["type"] for c in chats} == {
        42: "private",
        50: "private",
        51: "private",
        52: "private",
    }


async def test_chat_validation(mock: MockClient) -> None:
    await mock.add_user(42, "An")
    with pytest.raises(MockControlError) as unknown_member:
        await mock.add_chat(-1002, "group", members=[42, 77])
    assert unknown_member.value.status == 404
    with pytest.raises(MockControlError) as positive_group:
        await mock.add_chat(5, "group", members=[42])
    assert positive_group.value.status == 400
    group = await mock.add_chat(-1002, "group", members=[42])
    assert group["title"] == "Nhóm -1002"


async def test_user_message_entities_and_queueing(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    text = "/giao@congvu_bot 🔥 @binh_tran soạn công văn"
    message = await mock.send(-1001, 42, text)
    assert message["chat"] == {"id": -1001, "type": "supergroup", "title": "Phòng Hành chính"}
    assert message["from"]["username"] == "an_nguyen"
    assert message["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 16},
        {"type": "mention", "offset": 20, "length": 10},
    ]
    updates = await api.ok("getUpdates")
    assert updates[0]["message"] == message


async def test_non_members_cannot_post(mock: MockClient, people: dict[str, int]) -> None:
    await mock.add_user(44, "Người ngoài")
    with pytest.raises(MockControlError) as caught:
        await mock.send(-1001, 44, "xin chào")
    assert caught.value.status == 400
    assert "not a member" in caught.value.message


async def test_reply_to_embeds_the_bot_message(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    question = await api.ok("sendMessage", chat_id=42, text="Lý do nghỉ?", reply_markup=BUTTONS)
    answer = await mock.send(42, 42, "Ốm", reply_to_message_id=question["message_id"])
    embedded = answer["reply_to_message"]
    assert embedded["message_id"] == question["message_id"]
    assert embedded["from"]["is_bot"] is True
    assert embedded["text"] == "Lý do nghỉ?"
    assert "reply_to_message" not in embedded


async def test_button_press_builds_a_callback_query_and_records_the_answer(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    sent = await api.ok("sendMessage", chat_id=42, text="Việc #7", reply_markup=BUTTONS)
    query_id = await mock.press(42, 42, sent["message_id"], "task:7:accept")
    [update] = await api.ok("getUpdates")
    query = update["callback_query"]
    assert query["id"] == query_id
    assert query["from"]["id"] == 42
    assert query["data"] == "task:7:accept"
    assert query["message"] == sent
    assert query["chat_instance"]

    assert (await mock.callback(query_id))["answered"] is False
    waiting = asyncio.create_task(mock.callback(query_id, wait=3))
    await asyncio.sleep(0.05)
    await api.ok("answerCallbackQuery", callback_query_id=query_id, text="Đã nhận", show_alert=True)
    answered = await asyncio.wait_for(waiting, 2)
    assert answered["answered"] is True
    assert answered["text"] == "Đã nhận"
    assert answered["show_alert"] is True
    status, _ = await api.error("answerCallbackQuery", callback_query_id=query_id)
    assert status == 400  # a query is answered once


async def test_pressing_a_button_the_message_does_not_show_is_refused(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    sent = await api.ok("sendMessage", chat_id=42, text="Việc", reply_markup=BUTTONS)
    with pytest.raises(MockControlError) as caught:
        await mock.press(42, 42, sent["message_id"], "task:8:accept")
    assert caught.value.status == 400
    forced = await mock.request(
        "POST",
        "/_mock/callbacks",
        json={
            "chat_id": 42,
            "from_id": 42,
            "message_id": sent["message_id"],
            "data": "stale",
            "force": True,
        },
    )
    assert forced["callback_query_id"]


async def test_listing_waits_for_the_bot_and_lists_both_sides(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    mine = await mock.send(42, 42, "/start")

    async def bot_answers_later() -> None:
        await asyncio.sleep(0.15)
        await api.ok(
            "sendMessage",
            chat_id=42,
            text="<i>Chào</i> An",
            parse_mode="HTML",
            reply_markup=BUTTONS,
        )

    answering = asyncio.create_task(bot_answers_later())
    loop = asyncio.get_running_loop()
    started = loop.time()
    listing = await mock.messages(42, after_id=0, wait=3)
    await answering
    assert loop.time() - started < 1.5
    first, second = listing["messages"]
    assert first["message_id"] == mine["message_id"]
    assert first["from"] == {
        "id": 42,
        "is_bot": False,
        "first_name": "Nguyễn Văn An",
        "username": "an_nguyen",
    }
    assert second["from"]["is_bot"] is True
    assert second["text"] == "<i>Chào</i> An"
    assert second["plain_text"] == "Chào An"
    assert second["parse_mode"] == "HTML"
    assert second["reply_markup"] == BUTTONS
    assert (second["edited"], second["deleted"]) == (False, False)
    assert listing["last_message_id"] == 2


async def test_listing_wait_times_out_and_ignores_user_messages(
    mock: MockClient, people: dict[str, int]
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    sending = asyncio.create_task(mock.send(42, 42, "có ai không?"))
    listing = await mock.messages(42, wait=0.4)
    await sending
    assert loop.time() - started >= 0.4  # a user message does not end the wait
    assert [m["text"] for m in listing["messages"]] == ["có ai không?"]
    with pytest.raises(TimeoutError):
        await mock.wait_bot_messages(42, timeout=0.2)


async def test_listing_wakes_on_edits_of_older_messages(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    sent = await api.ok("sendMessage", chat_id=42, text="Đang xử lý", reply_markup=BUTTONS)
    before = await mock.messages(42)

    async def edit_later() -> None:
        await asyncio.sleep(0.1)
        await api.ok("editMessageText", chat_id=42, message_id=sent["message_id"], text="Xong")

    editing = asyncio.create_task(edit_later())
    listing = await mock.messages(
        42, after_id=sent["message_id"], wait=3, since_version=before["version"]
    )
    await editing
    [changed] = listing["messages"]
    assert changed["edited"] is True
    assert changed["text"] == "Xong"
    assert changed["reply_markup"] is None
    assert listing["version"] > before["version"]


async def test_wait_bot_messages_returns_only_the_bot(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    await mock.send(42, 42, "hỏi")
    await api.ok("sendMessage", chat_id=42, text="đáp")
    replies = await mock.wait_bot_messages(42, after_id=1, timeout=1)
    assert [r["text"] for r in replies] == ["đáp"]


async def test_reset_clears_everything(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    await mock.send(42, 42, "x")
    await mock.fault("sendMessage", 500, times=5)
    await mock.limits(True)
    await mock.reset()
    assert await mock.request("GET", "/_mock/users") == []
    assert await mock.request("GET", "/_mock/chats") == []
    assert await api.ok("getUpdates") == []
    assert (await mock.request("GET", "/_mock/faults"))["faults"] == []
    assert (await mock.request("GET", "/_mock/limits"))["enabled"] is False
    stats = await mock.stats()
    assert stats["user_messages"] == 0
    assert stats["calls"] == {"getUpdates": 1}


async def test_bad_control_input_is_a_json_error(
    server: MockServer, session: aiohttp.ClientSession
) -> None:
    async with session.post(f"{server.base_url}/_mock/users", json={"id": 1}) as response:
        assert response.status == 400
        assert await response.json() == {"ok": False, "error": "'first_name' is required"}
    async with session.get(f"{server.base_url}/_mock/chats/5/messages") as response:
        assert response.status == 404


async def test_playground_is_one_utf8_page(
    server: MockServer, session: aiohttp.ClientSession
) -> None:
    async with session.get(server.base_url + "/") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        assert response.charset == "utf-8"
        page = await response.text()
    assert "/_mock/chats/" in page
    assert "<script src=" not in page  # self-contained: no CDN
    assert "http://" not in page.replace("http://www.w3.org", "")
