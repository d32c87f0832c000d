"""One way to talk to the bot, whatever the channel: a person asks, reads replies, presses.

The conformance suite runs the same scenarios through Telegram (aiogram or
python-telegram-bot, via the mock's Bot API side) and through Zalo OA (via the mock's Zalo
side). Texts are compared without HTML tags, since Zalo shows plain text.
"""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

TAGS = re.compile(r"<[^>]+>")
SETTLE = 0.3  # after the first reply, how long to wait for the rest of an answer


def plain(text: str) -> str:
    return html.unescape(TAGS.sub("", text))


@dataclass
class Reply:
    text: str
    buttons: list[str]
    raw: dict[str, Any] = field(repr=False)


class Talker(Protocol):
    user_id: str

    async def ask(self, text: str) -> list[Reply]: ...

    async def press(self, reply: Reply, label: str) -> list[Reply]: ...

    async def send_twice(self, text: str) -> list[Reply]:
        """The platform delivers one message twice; returns every reply."""
        ...

    async def wait_for(self, needle: str, timeout: float = 8.0) -> Reply:
        """The first bot message containing `needle`, waiting for it to arrive."""
        ...


async def _first_with(fetch_all: Any, needle: str, timeout: float) -> Reply:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for reply in await fetch_all():
            if needle in reply.text:
                return reply
        if loop.time() > deadline:
            raise AssertionError(f"no bot message containing {needle!r}")
        await asyncio.sleep(0.1)


async def _settled(fetch: Any, first_wait: float = 8.0) -> list[dict[str, Any]]:
    """Bot messages: wait for the first, then until no more arrive for SETTLE seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + first_wait
    found = await fetch(wait=min(first_wait, 5.0))
    while not found and loop.time() < deadline:
        found = await fetch(wait=1.0)
    while True:
        await asyncio.sleep(SETTLE)
        more = await fetch(wait=0)
        if len(more) == len(found):
            return list(found)
        found = more


@dataclass
class TelegramTalker:
    http: aiohttp.ClientSession
    user_id: str
    chat_id: str
    webhook_url: str
    secret: str

    async def _get(self, path: str, **params: Any) -> Any:
        query = {k: str(v) for k, v in params.items()}
        async with self.http.get(path, params=query) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def _post(self, path: str, body: Any) -> Any:
        async with self.http.post(path, json=body) as response:
            data = await response.json()
            assert response.status == 200, data
            return data

    async def _bot_messages_after(self, after: int, wait: float) -> list[dict[str, Any]]:
        data = await self._get(f"/_mock/chats/{self.chat_id}/messages", after_id=after, wait=wait)
        return [m for m in data["messages"] if m["from"]["is_bot"]]

    @staticmethod
    def _reply(message: dict[str, Any]) -> Reply:
        markup = message.get("reply_markup") or {}
        labels = [b["text"] for row in markup.get("inline_keyboard", []) for b in row]
        return Reply(plain(message.get("text") or message.get("caption") or ""), labels, message)

    async def ask(self, text: str) -> list[Reply]:
        sent = await self._post(
            "/_mock/messages",
            {"chat_id": int(self.chat_id), "from_id": int(self.user_id), "text": text},
        )
        after = int(sent["message_id"])

        async def fetch(wait: float) -> list[dict[str, Any]]:
            return await self._bot_messages_after(after, wait)

        return [self._reply(m) for m in await _settled(fetch)]

    async def press(self, reply: Reply, label: str) -> list[Reply]:
        markup = reply.raw.get("reply_markup") or {}
        data = next(
            b["callback_data"]
            for row in markup.get("inline_keyboard", [])
            for b in row
            if label in b["text"] and "callback_data" in b
        )
        pressed = await self._post(
            "/_mock/callbacks",
            {
                "chat_id": int(self.chat_id),
                "from_id": int(self.user_id),
                "message_id": reply.raw["message_id"],
                "data": data,
            },
        )
        await self._get(f"/_mock/callbacks/{pressed['callback_query_id']}", wait=8)
        after = int(reply.raw["message_id"])

        async def fetch(wait: float) -> list[dict[str, Any]]:
            return await self._bot_messages_after(after, wait)

        fresh = await _settled(fetch, first_wait=1.5)
        if fresh:
            return [self._reply(m) for m in fresh]
        # No new message: the answer is the pressed message, edited in place.
        everything = await self._get(f"/_mock/chats/{self.chat_id}/messages", after_id=after - 1)
        return [self._reply(m) for m in everything["messages"] if m["message_id"] == after]

    async def wait_for(self, needle: str, timeout: float = 8.0) -> Reply:
        async def everything() -> list[Reply]:
            return [self._reply(m) for m in await self._bot_messages_after(0, 0)]

        return await _first_with(everything, needle, timeout)

    async def send_twice(self, text: str) -> list[Reply]:
        """Telegram delivers the same update twice (a retried webhook): the same update id."""
        update = {
            "update_id": 800_000_000 + int(self.user_id),
            "message": {
                "message_id": 10_000_000,
                "date": 1586833200,
                "chat": {"id": int(self.chat_id), "type": "private"},
                "from": {"id": int(self.user_id), "is_bot": False, "first_name": "Lan"},
                "text": text,
                "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]
                if text.startswith("/")
                else [],
            },
        }
        before = len(await self._bot_messages_after(0, 0))
        async with aiohttp.ClientSession() as raw:
            for _ in range(2):
                async with raw.post(
                    self.webhook_url,
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": self.secret},
                ) as response:
                    assert response.status == 200

        async def fetch(wait: float) -> list[dict[str, Any]]:
            return (await self._bot_messages_after(0, wait))[before:]

        return [self._reply(m) for m in await _settled(fetch)]


@dataclass
class ZaloTalker:
    http: aiohttp.ClientSession
    user_id: str
    last_msg_id: str | None = None

    async def _call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        query = {k: str(v) for k, v in params.items()}
        async with self.http.request(method, path, json=body, params=query) as response:
            data = await response.json()
            assert response.status == 200, data
            return data

    async def _bot_after(self, after: int, wait: float) -> list[dict[str, Any]]:
        data = await self._call(
            "GET", f"/_mock/zalo/users/{self.user_id}/messages", after=after, wait=wait
        )
        return [m for m in data["messages"] if m["from_bot"]]

    @staticmethod
    def _reply(message: dict[str, Any]) -> Reply:
        labels = [b.get("title", "") for b in message.get("buttons") or []]
        return Reply(message.get("text") or "", labels, message)

    async def _collect(self, after: int, first_wait: float = 8.0) -> list[Reply]:
        async def fetch(wait: float) -> list[dict[str, Any]]:
            return await self._bot_after(after, wait)

        return [self._reply(m) for m in await _settled(fetch, first_wait)]

    async def ask(self, text: str) -> list[Reply]:
        sent = await self._call(
            "POST", "/_mock/zalo/messages", {"user_id": self.user_id, "text": text}
        )
        self.last_msg_id = sent.get("msg_id")
        return await self._collect(int(sent["id"]))

    async def press(self, reply: Reply, label: str) -> list[Reply]:
        payload = next(
            b["payload"]
            for b in reply.raw.get("buttons") or []
            if label in b.get("title", "") and isinstance(b.get("payload"), str)
        )
        sent = await self._call(
            "POST", "/_mock/zalo/buttons", {"user_id": self.user_id, "payload": payload}
        )
        return await self._collect(int(sent["id"]))

    async def wait_for(self, needle: str, timeout: float = 8.0) -> Reply:
        async def everything() -> list[Reply]:
            return [self._reply(m) for m in await self._bot_after(0, 0)]

        return await _first_with(everything, needle, timeout)

    async def send_twice(self, text: str) -> list[Reply]:
        """Zalo retries an event: the same msg_id, bytes and signature a second time."""
        replies = await self.ask(text)
        assert self.last_msg_id is not None
        last = max(int(r.raw["id"]) for r in replies)
        await self._call("POST", "/_mock/zalo/replay", {"msg_id": self.last_msg_id})
        await asyncio.sleep(SETTLE * 2)
        return replies + [self._reply(m) for m in await self._bot_after(last, 0)]
