"""The control API under `/_mock/`: tests, load generators and the playground play users here.

Requests and answers are JSON. Errors are `{"ok": false, "error": "..."}` with status 400 (bad
input) or 404 (unknown chat, user, message, callback or file).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import secrets
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.mockserver.messages import (
    chat_instance,
    guess_mime_type,
    listing_item,
    new_user_message,
)
from bot.mockserver.state import (
    CHAT_TYPES,
    CallbackRecord,
    Fault,
    MockChat,
    MockState,
    MockUser,
    StoredMessage,
)
from bot.mockserver.webhook import WebhookPusher

MAX_WAIT_SECONDS = 120.0
MAX_TEXT_LENGTH = 4096
dumps = partial(json.dumps, ensure_ascii=False)


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _reply(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


async def _body(request: web.Request) -> Any:
    if not request.body_exists:
        return {}
    try:
        return await request.json()
    except ValueError:
        raise ControlError(400, "the body must be JSON") from None


def _items(body: Any) -> list[dict[str, Any]]:
    """Endpoints that create things take one object or a list of them."""
    items = body if isinstance(body, list) else [body]
    if not all(isinstance(item, dict) for item in items):
        raise ControlError(400, "expected a JSON object or a list of objects")
    return items


def _int(data: dict[str, Any], key: str, default: int | None = None) -> int:
    value = data.get(key, default)
    if value is None:
        raise ControlError(400, f"'{key}' is required")
    if isinstance(value, bool):
        raise ControlError(400, f"'{key}' must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(400, f"'{key}' must be an integer") from None


def _optional_int(data: dict[str, Any], key: str) -> int | None:
    return None if data.get(key) is None else _int(data, key)


def _query_float(request: web.Request, key: str, default: float) -> float:
    try:
        return float(request.query.get(key, default))
    except ValueError:
        raise ControlError(400, f"'{key}' must be a number") from None


def _query_int(request: web.Request, key: str) -> int | None:
    if key not in request.query:
        return None
    try:
        return int(request.query[key])
    except ValueError:
        raise ControlError(400, f"'{key}' must be an integer") from None


Handler = Callable[[web.Request], Awaitable[web.Response]]


def _json_errors(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except ControlError as error:
            return _reply({"ok": False, "error": error.message}, status=error.status)

    return wrapped


class ControlApi:
    def __init__(self, state: MockState, pusher: WebhookPusher) -> None:
        self.state = state
        self.pusher = pusher

    def register(self, app: web.Application) -> None:
        routes: list[tuple[str, str, Handler]] = [
            ("POST", "/_mock/reset", self.reset),
            ("GET", "/_mock/info", self.info),
            ("POST", "/_mock/users", self.create_users),
            ("GET", "/_mock/users", self.list_users),
            ("POST", "/_mock/chats", self.create_chats),
            ("GET", "/_mock/chats", self.list_chats),
            ("GET", "/_mock/chats/{chat_id}/messages", self.list_messages),
            ("POST", "/_mock/messages", self.send_message),
            ("POST", "/_mock/documents", self.send_document),
            ("POST", "/_mock/callbacks", self.press_button),
            ("GET", "/_mock/callbacks/{callback_id}", self.get_callback),
            ("POST", "/_mock/faults", self.add_faults),
            ("GET", "/_mock/faults", self.list_faults),
            ("DELETE", "/_mock/faults", self.clear_faults),
            ("POST", "/_mock/limits", self.set_limits),
            ("GET", "/_mock/limits", self.get_limits),
            ("GET", "/_mock/stats", self.stats),
            ("GET", "/_mock/updates", self.list_updates),
            ("GET", "/_mock/commands", self.list_commands),
            ("GET", "/_mock/webhook", self.get_webhook),
            ("POST", "/_mock/webhook/targets", self.set_webhook_targets),
            ("GET", "/_mock/files/{file_id}", self.download_file),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, _json_errors(handler))

    # -- lookups ----------------------------------------------------------------------

    def _user(self, user_id: int) -> MockUser:
        user = self.state.users.get(user_id)
        if user is None:
            raise ControlError(404, f"user {user_id} not found; create it with POST /_mock/users")
        return user

    def _chat(self, chat_id: int) -> MockChat:
        chat = self.state.chats.get(chat_id)
        if chat is None:
            raise ControlError(404, f"chat {chat_id} not found")
        return chat

    def _sender(self, data: dict[str, Any]) -> tuple[MockChat, MockUser]:
        user = self._user(_int(data, "from_id"))
        chat = self._chat(_int(data, "chat_id", user.id))
        if user.id not in chat.members:
            raise ControlError(400, f"user {user.id} is not a member of chat {chat.id}")
        return chat, user

    def _reply_target(self, chat: MockChat, data: dict[str, Any]) -> StoredMessage | None:
        reply_id = _optional_int(data, "reply_to_message_id")
        if reply_id is None:
            return None
        target = self.state.get_message(chat.id, reply_id)
        if target is None or target.deleted:
            raise ControlError(404, f"message {reply_id} not found in chat {chat.id}")
        return target

    def _deliver(self, message: StoredMessage) -> None:
        self.state.stats.user_messages += 1
        self.state.enqueue_update("message", copy.deepcopy(message.payload), message.chat_id)

    # -- everything at once -----------------------------------------------------------

    async def reset(self, request: web.Request) -> web.Response:
        await self.pusher.deactivate()
        self.state.reset()
        return _reply({"ok": True})

    async def info(self, request: web.Request) -> web.Response:
        return _reply(
            {
                "bot_username": self.state.bot_username,
                "bot_first_name": self.state.bot_first_name,
                "version": self.state.version,
            }
        )

    # -- users and chats --------------------------------------------------------------

    async def create_users(self, request: web.Request) -> web.Response:
        body = await _body(request)
        users: list[MockUser] = []
        for item in _items(body):
            first_name = item.get("first_name")
            if not isinstance(first_name, str) or not first_name.strip():
                raise ControlError(400, "'first_name' is required")
            user_id = _int(item, "id")
            if user_id <= 0:
                raise ControlError(400, "a user id must be positive")
            username = item.get("username")
            users.append(
                MockUser(
                    id=user_id,
                    first_name=first_name,
                    last_name=item.get("last_name"),
                    username=username.removeprefix("@") if isinstance(username, str) else None,
                    language_code=item.get("language_code"),
                    blocked=bool(item.get("blocked", False)),
                )
            )
        for user in users:
            self.state.add_user(user)
        result = [user.to_control() for user in users]
        return _reply(result if isinstance(body, list) else result[0])

    async def list_users(self, request: web.Request) -> web.Response:
        return _reply([user.to_control() for user in self.state.users.values()])

    def _parse_chat(self, item: dict[str, Any]) -> MockChat:
        chat_id = _int(item, "id")
        chat_type = item.get("type", "private" if chat_id > 0 else "group")
        if chat_type not in CHAT_TYPES:
            raise ControlError(400, f"'type' must be one of {', '.join(CHAT_TYPES)}")
        members = item.get("members") or []
        admins = item.get("admins") or []
        if not isinstance(members, list) or not isinstance(admins, list):
            raise ControlError(400, "'members' and 'admins' must be lists of user ids")
        try:
            member_ids = [int(m) for m in members]
            admin_ids = [int(a) for a in admins]
        except (TypeError, ValueError):
            raise ControlError(400, "'members' and 'admins' must be lists of user ids") from None
        if chat_type == "private":
            self._user(chat_id)  # a private chat id is its user's id
            member_ids = [chat_id]
            admin_ids = []
        elif chat_id >= 0:
            raise ControlError(400, "group ids are negative (supergroups start with -100)")
        for user_id in dict.fromkeys(member_ids + admin_ids):
            self._user(user_id)
        # Admins are members too; dict.fromkeys keeps order and drops repeats.
        member_ids = list(dict.fromkeys(member_ids + admin_ids))
        title = item.get("title")
        if chat_type != "private" and not title:
            title = f"Nhóm {chat_id}"
        username = item.get("username")
        return MockChat(
            id=chat_id,
            type=chat_type,
            title=title if chat_type != "private" else None,
            username=username.removeprefix("@") if isinstance(username, str) else None,
            members=member_ids,
            admins=admin_ids,
        )

    async def create_chats(self, request: web.Request) -> web.Response:
        body = await _body(request)
        chats = [self._parse_chat(item) for item in _items(body)]
        for chat in chats:
            self.state.add_chat(chat)
        result = [chat.to_control() for chat in chats]
        return _reply(result if isinstance(body, list) else result[0])

    async def list_chats(self, request: web.Request) -> web.Response:
        return _reply([chat.to_control() for chat in self.state.chats.values()])

    # -- what users do ----------------------------------------------------------------

    async def send_message(self, request: web.Request) -> web.Response:
        data = _items(await _body(request))[0]
        chat, user = self._sender(data)
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ControlError(400, "'text' must be a non-empty string")
        if len(text) > MAX_TEXT_LENGTH:
            raise ControlError(400, "'text' is longer than 4096 characters")
        message = new_user_message(
            self.state,
            chat,
            user,
            text=text,
            reply_to=self._reply_target(chat, data),
            date=_optional_int(data, "date"),
        )
        self._deliver(message)
        return _reply(message.payload)

    async def send_document(self, request: web.Request) -> web.Response:
        data = _items(await _body(request))[0]
        chat, user = self._sender(data)
        filename = data.get("filename")
        if not isinstance(filename, str) or not filename:
            raise ControlError(400, "'filename' is required")
        try:
            content = base64.b64decode(str(data.get("content_base64", "")), validate=True)
        except (binascii.Error, ValueError):
            raise ControlError(400, "'content_base64' is not valid base64") from None
        if not content:
            raise ControlError(400, "the document is empty")
        stored = self.state.add_file(
            content,
            kind="documents",
            file_name=filename,
            mime_type=data.get("mime_type") or guess_mime_type(filename),
        )
        caption = data.get("caption")
        message = new_user_message(
            self.state,
            chat,
            user,
            caption=caption if isinstance(caption, str) else None,
            document=stored,
            reply_to=self._reply_target(chat, data),
        )
        self._deliver(message)
        return _reply(message.payload)

    async def press_button(self, request: web.Request) -> web.Response:
        data = _items(await _body(request))[0]
        chat, user = self._sender(data)
        message_id = _int(data, "message_id")
        message = self.state.get_message(chat.id, message_id)
        if message is None or message.deleted:
            raise ControlError(404, f"message {message_id} not found in chat {chat.id}")
        callback_data = data.get("data")
        if not isinstance(callback_data, str) or not callback_data:
            raise ControlError(400, "'data' is required")
        # A real client can only press a button the message still shows.
        if not data.get("force"):
            rows = (message.payload.get("reply_markup") or {}).get("inline_keyboard", [])
            offered = {button.get("callback_data") for row in rows for button in row}
            if callback_data not in offered:
                raise ControlError(
                    400, f"message {message_id} has no button with callback_data {callback_data!r}"
                )
        query_id = str(secrets.randbits(63))
        self.state.callbacks[query_id] = CallbackRecord(
            id=query_id,
            chat_id=chat.id,
            message_id=message_id,
            from_id=user.id,
            data=callback_data,
        )
        update = self.state.enqueue_update(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_api(),
                "message": copy.deepcopy(message.payload),
                "chat_instance": chat_instance(chat.id),
                "data": callback_data,
            },
            chat.id,
        )
        self.state.stats.callbacks_sent += 1
        return _reply({"callback_query_id": query_id, "update_id": update.update_id})

    async def get_callback(self, request: web.Request) -> web.Response:
        query_id = request.match_info["callback_id"]
        record = self.state.callbacks.get(query_id)
        if record is None:
            raise ControlError(404, f"callback query {query_id} not found")
        wait = min(MAX_WAIT_SECONDS, _query_float(request, "wait", 0.0))
        if wait > 0:
            await self.state.messages_changed.wait_for(
                lambda: record.answered or self.state.closing, wait
            )
        return _reply(record.to_control())

    # -- what the bot did -------------------------------------------------------------

    async def list_messages(self, request: web.Request) -> web.Response:
        """Messages with id > after_id; with `wait`, block until the bot says something new.

        `since_version` (from a previous answer's `version`) also returns older messages edited
        or deleted since then, and wakes on such changes; without it only changes after this
        call started wake the wait.
        """
        try:
            chat_id = int(request.match_info["chat_id"])
        except ValueError:
            raise ControlError(400, "chat id must be an integer") from None
        chat = self._chat(chat_id)
        after_id = _query_int(request, "after_id") or 0
        since_version = _query_int(request, "since_version")
        wait = min(MAX_WAIT_SECONDS, _query_float(request, "wait", 0.0))
        state = self.state
        baseline = state.version if since_version is None else since_version

        def ready() -> bool:
            return (
                state.closing
                or state.chats.get(chat.id) is not chat
                or state.last_bot_message_id.get(chat.id, 0) > after_id
                or state.chat_edit_versions.get(chat.id, 0) > baseline
            )

        if wait > 0:
            await state.messages_changed.wait_for(ready, wait)
        items = [
            listing_item(message)
            for message in state.chat_messages(chat.id)
            if message.message_id > after_id
            or (since_version is not None and message.version > since_version)
        ]
        last_id = max(state.chat_log.get(chat.id) or [0])
        return _reply({"messages": items, "version": state.version, "last_message_id": last_id})

    async def download_file(self, request: web.Request) -> web.Response:
        stored = self.state.files.get(request.match_info["file_id"])
        if stored is None:
            raise ControlError(404, "file not found")
        name = stored.file_name or stored.file_path.rsplit("/", 1)[-1]
        return web.Response(
            body=stored.data,
            content_type=stored.mime_type or "application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
        )

    async def list_updates(self, request: web.Request) -> web.Response:
        return _reply([update.to_api() for update in self.state.updates.values()])

    async def list_commands(self, request: web.Request) -> web.Response:
        return _reply(
            [
                {"scope": json.loads(scope), "language_code": language, "commands": commands}
                for (scope, language), commands in self.state.commands.items()
            ]
        )

    async def stats(self, request: web.Request) -> web.Response:
        return _reply(
            {
                **self.state.stats.to_dict(),
                "pending_updates": len(self.state.updates),
                "webhook_set": self.state.webhook is not None,
            }
        )

    # -- misbehaviour -----------------------------------------------------------------

    async def add_faults(self, request: web.Request) -> web.Response:
        faults: list[Fault] = []
        for item in _items(await _body(request)):
            method = item.get("method")
            if not isinstance(method, str) or not method:
                raise ControlError(400, "'method' is required")
            error_code = _optional_int(item, "error_code")
            try:
                delay = float(item.get("delay") or 0.0)
            except (TypeError, ValueError):
                raise ControlError(400, "'delay' must be a number of seconds") from None
            if error_code is None and delay <= 0:
                raise ControlError(400, "a fault needs 'error_code', 'delay' or both")
            chat_id = item.get("chat_id")
            faults.append(
                Fault(
                    method=method.lower(),
                    error_code=error_code,
                    description=item.get("description"),
                    retry_after=_optional_int(item, "retry_after"),
                    times=_int(item, "times", 1),
                    chat_id=None if chat_id is None else str(chat_id),
                    delay=delay,
                )
            )
        self.state.faults.extend(faults)
        return _reply({"faults": [fault.to_control() for fault in self.state.faults]})

    async def list_faults(self, request: web.Request) -> web.Response:
        return _reply({"faults": [fault.to_control() for fault in self.state.faults]})

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.state.faults.clear()
        return _reply({"faults": []})

    async def set_limits(self, request: web.Request) -> web.Response:
        data = _items(await _body(request))[0]
        if "enabled" in data and not isinstance(data["enabled"], bool):
            raise ControlError(400, "'enabled' must be true or false")
        try:
            config = self.state.limiter.configure(**data)
        except (TypeError, ValueError) as error:
            raise ControlError(400, str(error)) from None
        return _reply(config.to_dict())

    async def get_limits(self, request: web.Request) -> web.Response:
        return _reply(self.state.limiter.config.to_dict())

    # -- webhook ----------------------------------------------------------------------

    async def get_webhook(self, request: web.Request) -> web.Response:
        webhook = self.state.webhook
        return _reply(
            {
                "url": webhook.url if webhook else None,
                "secret_token_set": bool(webhook and webhook.secret_token),
                "targets": list(self.state.webhook_targets),
                "pending_update_count": len(self.state.updates),
                "last_error_message": webhook.last_error_message if webhook else None,
            }
        )

    async def set_webhook_targets(self, request: web.Request) -> web.Response:
        body = await _body(request)
        urls = body.get("urls") if isinstance(body, dict) else body
        if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
            raise ControlError(400, 'expected a list of URLs or {"urls": [...]}')
        self.state.webhook_targets = list(urls)
        return _reply({"targets": self.state.webhook_targets})
