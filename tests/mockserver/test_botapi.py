"""The Bot API surface: request encodings, envelopes, statuses, and each method's behaviour."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from bot.mockserver import MockServer
from bot.mockserver.client import MockClient
from bot.mockserver.errors import NOT_MODIFIED
from tests.mockserver.conftest import BOT_ID, TOKEN, BotApi
from tests.mockserver.test_text import _png

KEYBOARD = {"inline_keyboard": [[{"text": "Đồng ý", "callback_data": "task:1:ok"}]]}


# -- transport ------------------------------------------------------------------------------


async def test_get_me_takes_the_id_from_the_token_and_ignores_method_case(
    server: MockServer, session: aiohttp.ClientSession
) -> None:
    async with session.get(f"{server.base_url}/bot{TOKEN}/GETME") as response:
        body = await response.json()
    assert response.status == 200
    assert body["ok"] is True
    me = body["result"]
    assert me["id"] == BOT_ID
    assert me["is_bot"] is True
    assert me["username"] == "congvu_bot"
    assert me["can_join_groups"] is True


async def test_unknown_method_is_404_and_bad_token_is_401(
    server: MockServer, session: aiohttp.ClientSession
) -> None:
    async with session.post(f"{server.base_url}/bot{TOKEN}/sendCarrierPigeon") as response:
        assert response.status == 404
        assert await response.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found",
        }
    async with session.post(f"{server.base_url}/botnot-a-token/getMe") as response:
        assert response.status == 401
        assert (await response.json())["description"] == "Unauthorized"


async def test_fixed_token_rejects_other_tokens(session: aiohttp.ClientSession) -> None:
    async with MockServer(token=TOKEN) as fixed:
        async with session.get(f"{fixed.base_url}/bot999:other/getMe") as response:
            assert response.status == 401
        async with session.get(f"{fixed.base_url}/bot{TOKEN}/getMe") as response:
            assert response.status == 200


async def test_json_body_and_query_string_are_accepted(
    server: MockServer, session: aiohttp.ClientSession, people: dict[str, int]
) -> None:
    url = f"{server.base_url}/bot{TOKEN}/sendMessage"
    async with session.post(
        url, json={"chat_id": 42, "text": "json", "reply_markup": KEYBOARD}
    ) as r:
        sent = (await r.json())["result"]
    assert sent["reply_markup"] == KEYBOARD
    async with session.get(url, params={"chat_id": "42", "text": "query"}) as r:
        assert (await r.json())["result"]["text"] == "query"


# -- sending --------------------------------------------------------------------------------


async def test_send_message_returns_a_full_message(api: BotApi, people: dict[str, int]) -> None:
    sent = await api.ok(
        "sendMessage", chat_id=42, text="<b>Chào</b> An", parse_mode="HTML", reply_markup=KEYBOARD
    )
    assert sent["message_id"] == 1
    assert isinstance(sent["date"], int)
    assert sent["chat"] == {
        "id": 42,
        "type": "private",
        "first_name": "Nguyễn Văn An",
        "username": "an_nguyen",
    }
    assert sent["from"]["id"] == BOT_ID
    assert sent["from"]["is_bot"] is True
    assert sent["text"] == "Chào An"
    assert sent["entities"] == [{"type": "bold", "offset": 0, "length": 4}]
    assert sent["reply_markup"] == KEYBOARD

    group = await api.ok("sendMessage", chat_id=-1001, text="Họp lúc 9h")
    assert group["chat"] == {"id": -1001, "type": "supergroup", "title": "Phòng Hành chính"}
    assert group["message_id"] == 1  # one sequence per chat


async def test_reply_keyboards_are_accepted_but_not_echoed(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    keyboard = {"keyboard": [[{"text": "Chấm công"}]], "resize_keyboard": True}
    sent = await api.ok("sendMessage", chat_id=42, text="Chọn", reply_markup=keyboard)
    assert "reply_markup" not in sent  # Telegram returns inline keyboards only
    listing = await mock.messages(42)
    assert listing["messages"][0]["reply_markup"] == keyboard


@pytest.mark.parametrize(
    ("params", "status", "description"),
    [
        ({"chat_id": 777, "text": "x"}, 400, "Bad Request: chat not found"),
        ({"chat_id": 42, "text": "   "}, 400, "Bad Request: message text is empty"),
        ({"chat_id": 42}, 400, "Bad Request: message text is empty"),
        ({"chat_id": 42, "text": "a" * 4097}, 400, "Bad Request: message is too long"),
        (
            {
                "chat_id": 42,
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "b", "callback_data": "d" * 65}]]},
            },
            400,
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {"chat_id": 42, "text": "<p>đoạn</p>", "parse_mode": "HTML"},
            400,
            'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 0',
        ),
        (
            {"chat_id": 42, "text": "x", "reply_to_message_id": 99},
            400,
            "Bad Request: message to be replied not found",
        ),
        (
            {"chat_id": 42, "text": "x", "reply_parameters": {"message_id": "abc"}},
            400,
            'Bad Request: field "message_id" must be a valid Number',
        ),
        (
            {"chat_id": 42, "text": "x", "entities": {"type": "bold"}},
            400,
            "Bad Request: can't parse entities JSON object",
        ),
    ],
)
async def test_send_message_errors(
    api: BotApi, people: dict[str, int], params: dict[str, object], status: int, description: str
) -> None:
    got_status, body = await api.error("sendMessage", **params)
    assert (got_status, body["description"]) == (status, description)


async def test_limits_of_text_and_button_data_are_inclusive(
    api: BotApi, people: dict[str, int]
) -> None:
    # 4096 Vietnamese characters are more than 4096 bytes; the limit counts characters.
    await api.ok("sendMessage", chat_id=42, text="ệ" * 4096)
    emoji_data = "✅" * 21  # 63 bytes in UTF-8
    keyboard = {"inline_keyboard": [[{"text": "ok", "callback_data": emoji_data + "x"}]]}
    await api.ok("sendMessage", chat_id=42, text="x", reply_markup=keyboard)


async def test_blocked_user_gives_403(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    await mock.add_user(44, "Lê Cường", blocked=True)
    status, body = await api.error("sendMessage", chat_id=44, text="Nhắc việc")
    assert status == 403
    assert body["description"] == "Forbidden: bot was blocked by the user"


async def test_reply_embeds_the_replied_message(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    asked = await mock.send(42, 42, "Hạn nộp báo cáo?")
    sent = await api.ok(
        "sendMessage",
        chat_id=42,
        text="Thứ Sáu",
        reply_parameters={"message_id": asked["message_id"]},
    )
    assert sent["reply_to_message"]["message_id"] == asked["message_id"]
    assert sent["reply_to_message"]["text"] == "Hạn nộp báo cáo?"


async def test_missing_reply_target_can_be_allowed(api: BotApi, people: dict[str, int]) -> None:
    sent = await api.ok(
        "sendMessage",
        chat_id=42,
        text="vẫn gửi",
        reply_parameters={"message_id": 99, "allow_sending_without_reply": True},
    )
    assert "reply_to_message" not in sent


# -- editing and deleting -------------------------------------------------------------------


async def test_edit_text_drops_the_keyboard_unless_repeated_and_rejects_no_ops(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    sent = await api.ok("sendMessage", chat_id=42, text="Việc mới", reply_markup=KEYBOARD)
    mid = sent["message_id"]
    status, body = await api.error(
        "editMessageText", chat_id=42, message_id=mid, text="Việc mới", reply_markup=KEYBOARD
    )
    assert (status, body["description"]) == (400, NOT_MODIFIED)

    edited = await api.ok("editMessageText", chat_id=42, message_id=mid, text="Đã nhận việc")
    assert edited["text"] == "Đã nhận việc"
    assert "reply_markup" not in edited
    assert isinstance(edited["edit_date"], int)

    listing = (await mock.messages(42))["messages"]
    assert listing[0]["edited"] is True
    assert listing[0]["text"] == "Đã nhận việc"


async def test_edit_reply_markup_and_its_no_op(api: BotApi, people: dict[str, int]) -> None:
    mid = (await api.ok("sendMessage", chat_id=42, text="Duyệt?", reply_markup=KEYBOARD))[
        "message_id"
    ]
    status, _ = await api.error(
        "editMessageReplyMarkup", chat_id=42, message_id=mid, reply_markup=KEYBOARD
    )
    assert status == 400
    cleared = await api.ok("editMessageReplyMarkup", chat_id=42, message_id=mid)
    assert "reply_markup" not in cleared


async def test_edit_and_delete_errors(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    user_message = await mock.send(42, 42, "tin của tôi")
    _, body = await api.error(
        "editMessageText", chat_id=42, message_id=user_message["message_id"], text="sửa"
    )
    assert body["description"] == "Bad Request: message can't be edited"
    _, body = await api.error("editMessageText", chat_id=42, message_id=50, text="sửa")
    assert body["description"] == "Bad Request: message to edit not found"

    mid = (await api.ok("sendMessage", chat_id=42, text="tạm"))["message_id"]
    assert await api.ok("deleteMessage", chat_id=42, message_id=mid) is True
    _, body = await api.error("deleteMessage", chat_id=42, message_id=mid)
    assert body["description"] == "Bad Request: message to delete not found"
    listing = (await mock.messages(42))["messages"]
    assert [m["deleted"] for m in listing] == [False, True]


# -- files ----------------------------------------------------------------------------------


async def test_upload_ptb_style_and_aiogram_style_then_download(
    server: MockServer, session: aiohttp.ClientSession, mock: MockClient, people: dict[str, int]
) -> None:
    url = f"{server.base_url}/bot{TOKEN}/sendDocument"
    direct = aiohttp.FormData(quote_fields=False)
    direct.add_field("chat_id", "42")
    direct.add_field("caption", "Báo cáo <b>tuần</b>")
    direct.add_field("parse_mode", "HTML")
    direct.add_field("document", b"a,b\n1,2\n", filename="báo cáo.csv", content_type="text/csv")
    async with session.post(url, data=direct) as response:
        first = (await response.json())["result"]
    assert first["document"]["file_name"] == "báo cáo.csv"
    assert first["document"]["mime_type"] == "text/csv"
    assert first["caption"] == "Báo cáo tuần"
    assert first["caption_entities"] == [{"type": "bold", "offset": 8, "length": 4}]

    attached = aiohttp.FormData(quote_fields=False)
    attached.add_field("chat_id", "42")
    attached.add_field("document", "attach://f1")
    attached.add_field("f1", b"%PDF-1.4", filename="qd.pdf")
    async with session.post(url, data=attached) as response:
        second = (await response.json())["result"]
    assert second["document"]["file_size"] == 8

    async with session.post(
        f"{server.base_url}/bot{TOKEN}/getFile", data={"file_id": second["document"]["file_id"]}
    ) as response:
        file_info = (await response.json())["result"]
    async with session.get(f"{server.base_url}/file/bot{TOKEN}/{file_info['file_path']}") as r:
        assert await r.read() == b"%PDF-1.4"

    listing = (await mock.messages(42))["messages"]
    assert await mock.download(listing[0]["document"]["download_url"]) == b"a,b\n1,2\n"
    assert listing[0]["caption"] == "Báo cáo <b>tuần</b>"


async def test_send_photo_reports_dimensions_and_file_ids_can_be_resent(
    server: MockServer, session: aiohttp.ClientSession, api: BotApi, people: dict[str, int]
) -> None:
    form = aiohttp.FormData()
    form.add_field("chat_id", "-1001")
    form.add_field("photo", _png(800, 600), filename="chart.png", content_type="image/png")
    async with session.post(f"{server.base_url}/bot{TOKEN}/sendPhoto", data=form) as response:
        photo = (await response.json())["result"]["photo"]
    assert (photo[-1]["width"], photo[-1]["height"]) == (800, 600)
    again = await api.ok("sendPhoto", chat_id=42, photo=photo[-1]["file_id"])
    assert again["photo"][-1]["file_unique_id"] == photo[-1]["file_unique_id"]
    _, body = await api.error("sendDocument", chat_id=42, document="no-such-file-id")
    assert body["description"] == "Bad Request: wrong file identifier/HTTP URL specified"


async def test_user_document_can_be_fetched_by_the_bot(
    server: MockServer,
    session: aiohttp.ClientSession,
    api: BotApi,
    mock: MockClient,
    people: dict[str, int],
) -> None:
    sent = await mock.send_document(
        42, 42, "đơn xin nghỉ.docx", b"DOCX-BYTES", caption="Em gửi đơn"
    )
    document = sent["document"]
    assert document["file_name"] == "đơn xin nghỉ.docx"
    info = await api.ok("getFile", file_id=document["file_id"])
    assert info["file_size"] == len(b"DOCX-BYTES")
    async with session.get(f"{server.base_url}/file/bot{TOKEN}/{info['file_path']}") as response:
        assert await response.read() == b"DOCX-BYTES"
    _, body = await api.error("getFile", file_id="nope")
    assert body["description"].startswith("Bad Request: wrong file_id")


# -- chats, members, commands ---------------------------------------------------------------


async def test_get_chat_is_chat_full_info(api: BotApi, people: dict[str, int]) -> None:
    group = await api.ok("getChat", chat_id=-1001)
    assert group["title"] == "Phòng Hành chính"
    assert group["accent_color_id"] == 0
    assert group["max_reaction_count"] > 0
    assert set(group["accepted_gift_types"]) == {
        "unlimited_gifts",
        "limited_gifts",
        "unique_gifts",
        "premium_subscription",
        "gifts_from_channels",
    }
    private = await api.ok("getChat", chat_id=42)
    assert private["first_name"] == "Nguyễn Văn An"
    _, body = await api.error("getChat", chat_id=-5)
    assert body["description"] == "Bad Request: chat not found"


async def test_members_and_administrators(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    await mock.add_user(44, "Lê Cường")
    assert (await api.ok("getChatMember", chat_id=-1001, user_id=42))["status"] == "member"
    assert (await api.ok("getChatMember", chat_id=-1001, user_id=43))["status"] == "creator"
    assert (await api.ok("getChatMember", chat_id=-1001, user_id=44))["status"] == "left"
    assert (await api.ok("getChatMember", chat_id=-1001, user_id=BOT_ID))[
        "status"
    ] == "administrator"
    admins = await api.ok("getChatAdministrators", chat_id=-1001)
    assert [a["user"]["id"] for a in admins] == [43, BOT_ID]
    assert admins[1]["can_delete_messages"] is True
    _, body = await api.error("getChatMember", chat_id=-1001, user_id=9999)
    assert body["description"] == "Bad Request: user not found"


async def test_commands_are_stored_per_scope_and_language(api: BotApi) -> None:
    vi = [{"command": "checkin", "description": "Chấm công"}]
    en = [{"command": "checkin", "description": "Check in"}]
    admins = [{"command": "report", "description": "Báo cáo"}]
    assert await api.ok("setMyCommands", commands=vi) is True
    await api.ok("setMyCommands", commands=en, language_code="en")
    await api.ok("setMyCommands", commands=admins, scope={"type": "all_chat_administrators"})
    assert await api.ok("getMyCommands") == vi
    assert await api.ok("getMyCommands", language_code="en") == en
    assert await api.ok("getMyCommands", scope={"type": "all_chat_administrators"}) == admins
    assert await api.ok("getMyCommands", language_code="fr") == []
    _, body = await api.error(
        "setMyCommands", commands=[{"command": "Bad-Name", "description": "x"}]
    )
    assert body["description"] == "Bad Request: BOT_COMMAND_INVALID"


# -- faults ---------------------------------------------------------------------------------


async def test_faults_fail_the_next_calls_then_stop(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    await mock.fault("sendMessage", 429, retry_after=7, times=2)
    for _ in range(2):
        status, body = await api.error("sendMessage", chat_id=42, text="x")
        assert status == 429
        assert body["description"] == "Too Many Requests: retry after 7"
        assert body["parameters"] == {"retry_after": 7}
    await api.ok("sendMessage", chat_id=42, text="x")
    stats = await mock.stats()
    assert stats["errors"]["429"] == 2
    assert stats["calls"]["sendMessage"] == 3
    assert stats["messages_sent"] == 1


async def test_fault_matching_a_chat_and_default_description(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    await mock.fault("SENDMESSAGE", 403, chat_id=43)
    await api.ok("sendMessage", chat_id=42, text="không bị ảnh hưởng")
    status, body = await api.error("sendMessage", chat_id=43, text="bị chặn")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    await api.ok("sendMessage", chat_id=43, text="hết lỗi")


async def test_delay_fault_slows_the_answer(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    await mock.fault("getChat", delay=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await api.ok("getChat", chat_id=42)
    assert loop.time() - started >= 0.3
    assert (await mock.request("GET", "/_mock/faults"))["faults"] == []


async def test_answer_callback_query_unknown_id(api: BotApi) -> None:
    status, body = await api.error("answerCallbackQuery", callback_query_id="123")
    assert status == 400
    assert "query is too old" in body["description"]


async def test_envelope_is_utf8_json(
    server: MockServer, session: aiohttp.ClientSession, people: dict[str, int]
) -> None:
    async with session.post(
        f"{server.base_url}/bot{TOKEN}/sendMessage", data={"chat_id": "42", "text": "Tiếng Việt"}
    ) as response:
        raw = await response.read()
        assert response.content_type == "application/json"
    assert "Tiếng Việt".encode() in raw
    assert json.loads(raw)["ok"] is True
