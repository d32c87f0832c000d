"""A thin async client for the control API, for tests, benchmarks and scripts.

async with MockClient(server.base_url) as mock:
    await mock.add_user(42, "An", username="an_nguyen")
    sent = await mock.send(42, 42, "/start")
    replies = await mock.wait_bot_messages(42, after_id=sent["message_id"])
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self

import aiohttp


class MockControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class MockClient:
    def __init__(self, base_url: str, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        client_timeout = aiohttp.ClientTimeout(total=timeout) if timeout else None
        async with self.session.request(
            method, self.base_url + path, json=json, params=query, timeout=client_timeout
        ) as response:
            body = await response.json()
            if response.status >= 400:
                error = body.get("error", body) if isinstance(body, dict) else body
                raise MockControlError(response.status, str(error))
            return body

    async def request_object(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        result = await self.request(method, path, json=json, params=params, timeout=timeout)
        if not isinstance(result, dict):
            raise MockControlError(200, f"{path} answered {type(result).__name__}, not an object")
        return result

    # -- setting the scene ------------------------------------------------------------

    async def reset(self) -> None:
        await self.request("POST", "/_mock/reset")

    async def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        username: str | None = None,
        language_code: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        body = {
            "id": user_id,
            "first_name": first_name,
            "username": username,
            "language_code": language_code,
            **extra,
        }
        return await self.request_object("POST", "/_mock/users", json=body)

    async def add_chat(
        self,
        chat_id: int,
        chat_type: str,
        *,
        title: str | None = None,
        members: Iterable[int] = (),
        admins: Iterable[int] = (),
        **extra: Any,
    ) -> dict[str, Any]:
        body = {
            "id": chat_id,
            "type": chat_type,
            "title": title,
            "members": list(members),
            "admins": list(admins),
            **extra,
        }
        return await self.request_object("POST", "/_mock/chats", json=body)

    # -- acting as users --------------------------------------------------------------

    async def send(
        self, chat_id: int, from_id: int, text: str, *, reply_to_message_id: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"chat_id": chat_id, "from_id": from_id, "text": text}
        if reply_to_message_id is not None:
            body["reply_to_message_id"] = reply_to_message_id
        return await self.request_object("POST", "/_mock/messages", json=body)

    async def send_document(
        self,
        chat_id: int,
        from_id: int,
        filename: str,
        content: bytes,
        *,
        caption: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "chat_id": chat_id,
            "from_id": from_id,
            "filename": filename,
            "content_base64": base64.b64encode(content).decode("ascii"),
            "caption": caption,
        }
        return await self.request_object("POST", "/_mock/documents", json=body)

    async def press(self, chat_id: int, from_id: int, message_id: int, data: str) -> str:
        body = {"chat_id": chat_id, "from_id": from_id, "message_id": message_id, "data": data}
        result = await self.request_object("POST", "/_mock/callbacks", json=body)
        return str(result["callback_query_id"])

    async def callback(self, callback_id: str, *, wait: float = 0.0) -> dict[str, Any]:
        return await self.request_object(
            "GET", f"/_mock/callbacks/{callback_id}", params={"wait": wait}, timeout=wait + 10
        )

    # -- watching the bot -------------------------------------------------------------

    async def messages(
        self,
        chat_id: int,
        *,
        after_id: int = 0,
        wait: float = 0.0,
        since_version: int | None = None,
    ) -> dict[str, Any]:
        params = {"after_id": after_id, "wait": wait, "since_version": since_version}
        return await self.request_object(
            "GET", f"/_mock/chats/{chat_id}/messages", params=params, timeout=wait + 10
        )

    async def wait_bot_messages(
        self, chat_id: int, *, after_id: int = 0, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """The bot's messages with id > after_id, once there is at least one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            listing = await self.messages(chat_id, after_id=after_id, wait=max(0.0, remaining))
            found = [m for m in listing["messages"] if m["from"]["is_bot"]]
            if found:
                return found
            if remaining <= 0:
                raise TimeoutError(f"the bot said nothing in chat {chat_id} within {timeout} s")

    async def download(self, path: str) -> bytes:
        async with self.session.get(self.base_url + path) as response:
            if response.status >= 400:
                raise MockControlError(response.status, await response.text())
            return await response.read()

    # -- misbehaviour and counters ----------------------------------------------------

    async def fault(
        self,
        method: str,
        error_code: int | None = None,
        *,
        times: int = 1,
        **options: Any,
    ) -> dict[str, Any]:
        body = {"method": method, "error_code": error_code, "times": times, **options}
        return await self.request_object("POST", "/_mock/faults", json=body)

    async def limits(self, enabled: bool, **settings: Any) -> dict[str, Any]:
        return await self.request_object(
            "POST", "/_mock/limits", json={"enabled": enabled, **settings}
        )

    async def stats(self) -> dict[str, Any]:
        return await self.request_object("GET", "/_mock/stats")
