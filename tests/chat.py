"""Playing users against the mock chat server's control API, for end-to-end tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass
class MockChatClient:
    """Control-API client: one per test, sharing the mock server's base URL."""

    http: aiohttp.ClientSession

    async def post(self, path: str, body: Any) -> Any:
        async with self.http.post(path, json=body) as response:
            data = await response.json()
            assert response.status == 200, f"{path}: {response.status} {data}"
            return data

    async def get(self, path: str, **params: Any) -> Any:
        async with self.http.get(path, params={k: str(v) for k, v in params.items()}) as response:
            data = await response.json()
            assert response.status == 200, f"{path}: {response.status} {data}"
            return data

    async def user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        language_code: str = "vi",
    ) -> ChatUser:
        body: dict[str, Any] = {"id": user_id, "first_name": first_name}
        if username:
            body["username"] = username
        body["language_code"] = language_code
        await self.post("/_mock/users", body)
        return ChatUser(self, user_id, user_id)

    async def group(self, chat_id: int, title: str, members: list[int]) -> None:
        await self.post(
            "/_mock/chats",
            {"id": chat_id, "type": "supergroup", "title": title, "members": members},
        )

    async def messages(self, chat_id: int, after_id: int = 0, wait: float = 0) -> list[dict]:
        data = await self.get(f"/_mock/chats/{chat_id}/messages", after_id=after_id, wait=wait)
        return list(data["messages"])

    async def stats(self) -> dict[str, Any]:
        return dict(await self.get("/_mock/stats"))


@dataclass
class ChatUser:
    """A person typing in one chat (their private chat by default)."""

    client: MockChatClient
    user_id: int
    chat_id: int

    def in_chat(self, chat_id: int) -> ChatUser:
        return ChatUser(self.client, self.user_id, chat_id)

    async def send(self, text: str, reply_to: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"chat_id": self.chat_id, "from_id": self.user_id, "text": text}
        if reply_to is not None:
            body["reply_to_message_id"] = reply_to
        return dict(await self.client.post("/_mock/messages", body))

    async def bot_replies(self, after_id: int, count: int = 1, timeout: float = 10) -> list[dict]:
        """Wait until the bot has written `count` messages after `after_id` in this chat."""
        return await bot_messages(self.client, self.chat_id, after_id, count, timeout)

    async def ask(self, text: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
        sent = await self.send(text)
        return await self.bot_replies(int(sent["message_id"]), count, timeout)

    async def press(self, message: dict[str, Any], label: str) -> str:
        """Press the inline button whose text contains `label`; returns the callback id."""
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if label in button["text"] and "callback_data" in button:
                    data = await self.client.post(
                        "/_mock/callbacks",
                        {
                            "chat_id": self.chat_id,
                            "from_id": self.user_id,
                            "message_id": message["message_id"],
                            "data": button["callback_data"],
                        },
                    )
                    return str(data["callback_query_id"])
        labels = [
            b["text"]
            for r in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in r
        ]
        raise AssertionError(f"no button {label!r} among {labels}")

    async def callback_answer(self, callback_id: str, timeout: float = 10) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            data = await self.client.get(f"/_mock/callbacks/{callback_id}")
            if data.get("answered"):
                return dict(data)
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"callback {callback_id} never answered: {data}")
            await asyncio.sleep(0.02)


async def bot_messages(
    client: MockChatClient, chat_id: int, after_id: int, count: int = 1, timeout: float = 10
) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    found: dict[int, dict[str, Any]] = {}
    cursor = after_id
    while True:
        remaining = deadline - loop.time()
        for message in await client.messages(chat_id, cursor, wait=max(0.0, min(remaining, 2.0))):
            cursor = max(cursor, int(message["message_id"]))
            if message["from"]["is_bot"]:
                found[int(message["message_id"])] = message
        if len(found) >= count:
            # Re-read so edits made meanwhile are visible.
            latest = {int(m["message_id"]): m for m in await client.messages(chat_id, after_id)}
            return [latest.get(i, m) for i, m in sorted(found.items())]
        if remaining <= 0:
            raise AssertionError(
                f"expected {count} bot messages in {chat_id} after {after_id}, got {found}"
            )


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        b["text"] for r in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in r
    ]
