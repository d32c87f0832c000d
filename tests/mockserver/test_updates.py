"""getUpdates: offsets, long polling, limits, allowed_updates and conflicts."""

from __future__ import annotations

import asyncio

from bot.mockserver.client import MockClient
from bot.mockserver.errors import POLL_TERMINATED, WEBHOOK_ACTIVE
from tests.mockserver.conftest import BotApi


async def test_first_call_without_offset_then_offset_confirms(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    for text in ("một", "hai", "ba"):
        await mock.send(42, 42, text)
    updates = await api.ok("getUpdates")
    assert [u["message"]["text"] for u in updates] == ["một", "hai", "ba"]
    first_id = updates[0]["update_id"]
    assert [u["update_id"] for u in updates] == [first_id, first_id + 1, first_id + 2]

    # Confirming up to the second drops the first for good.
    again = await api.ok("getUpdates", offset=first_id + 1)
    assert [u["message"]["text"] for u in again] == ["hai", "ba"]
    assert [u["message"]["text"] for u in await api.ok("getUpdates")] == ["hai", "ba"]
    assert await api.ok("getUpdates", offset=first_id + 3) == []
    assert (await mock.stats())["pending_updates"] == 0


async def test_limit_and_negative_offset(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    for number in range(5):
        await mock.send(42, 42, f"tin {number}")
    assert len(await api.ok("getUpdates", limit=2)) == 2
    tail = await api.ok("getUpdates", offset=-2)
    assert [u["message"]["text"] for u in tail] == ["tin 3", "tin 4"]
    assert len(await api.ok("getUpdates")) == 2  # the earlier ones were forgotten


async def test_long_poll_wakes_on_a_new_message(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(api.ok("getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    await mock.send(42, 42, "dậy đi")
    updates = await poll
    assert updates[0]["message"]["text"] == "dậy đi"
    assert loop.time() - started < 2


async def test_long_poll_times_out_empty(api: BotApi) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await api.ok("getUpdates", timeout=0.3) == []
    assert loop.time() - started >= 0.3
    started = loop.time()
    assert await api.ok("getUpdates", timeout=0) == []
    assert loop.time() - started < 0.2


async def test_allowed_updates_filter_and_persist(
    api: BotApi, mock: MockClient, people: dict[str, int]
) -> None:
    sent = await api.ok(
        "sendMessage",
        chat_id=42,
        text="Chọn",
        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
    )
    await mock.send(42, 42, "chữ")
    await mock.press(42, 42, sent["message_id"], "a")
    only_buttons = await api.ok("getUpdates", allowed_updates=["callback_query"])
    assert [list(u)[1] for u in only_buttons] == ["callback_query"]
    # Omitting allowed_updates keeps the previous setting, as on Telegram.
    assert [list(u)[1] for u in await api.ok("getUpdates")] == ["callback_query"]
    both = await api.ok("getUpdates", allowed_updates=[])
    assert [list(u)[1] for u in both] == ["message", "callback_query"]


async def test_a_second_poller_ends_the_first_with_409(api: BotApi) -> None:
    first = asyncio.create_task(api.call("getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    assert await api.ok("getUpdates", timeout=0) == []
    status, body = await first
    assert status == 409
    assert body["description"] == POLL_TERMINATED


async def test_get_updates_is_409_while_a_webhook_is_set(api: BotApi) -> None:
    await api.ok("setWebhook", url="http://127.0.0.1:9/hook")
    status, body = await api.error("getUpdates")
    assert (status, body["description"]) == (409, WEBHOOK_ACTIVE)
    await api.ok("deleteWebhook")
    assert await api.ok("getUpdates") == []


async def test_a_waiting_poll_ends_with_409_when_a_webhook_is_set(api: BotApi) -> None:
    poll = asyncio.create_task(api.call("getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    await api.ok("setWebhook", url="http://127.0.0.1:9/hook")
    status, _ = await asyncio.wait_for(poll, 2)
    assert status == 409
