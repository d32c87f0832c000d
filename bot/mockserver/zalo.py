"""The mock server's Zalo side: the OA API the bot calls, and citizens who write to the OA.

OA API (what the bot calls; both "hosts" are this server):
- `POST /v3.0/oa/message/cs` with the `access_token` header: text ≤ 2,000 characters,
  button templates checked (types, payload shapes, at most 5), Zalo-shaped errors;
- `GET /v3.0/oa/user/detail?data={"user_id": ...}`: the user's display name;
- `POST /v4/oa/access_token` (form; `secret_key` header): refresh tokens work once, each
  refresh issues a new pair.

Control API (`/_mock/zalo/...`, JSON): configure the webhook, play users, read what the bot
sent, press buttons, push forged or replayed events, expire tokens, inject API errors.
Events are signed the way Zalo signs them (`X-ZEvent-Signature: mac=sha256(app_id + body +
timestamp + OA secret key)`) and pushed in order per user; a push that is not answered 2xx is
retried a few times (Zalo waits 30 s … 1 h; here milliseconds) with the `num_retry` header.

Field names, the signature and the limits come from `bot.channels.zalo.protocol`, the one
module to correct when a real OA disagrees.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.zalo import protocol
from bot.mockserver.control import (
    MAX_WAIT_SECONDS,
    ControlError,
    Handler,
    _body,
    _json_errors,
    _query_float,
    _query_int,
    _reply,
)
from bot.mockserver.state import Notifier

log = logging.getLogger(__name__)

DEFAULT_OA_ID = "579745863508352884"
# Zalo refuses messages to users silent for 7 days (-230) or who never wrote (-232).
INTERACTION_LIMIT = timedelta(days=7)
# Zalo's retry schedule is 30 s, 5 min, 15 min, 30 min, 1 h; the mock keeps the count, not the wait.
RETRY_DELAYS = (0.05, 0.2, 0.5, 1.0, 2.0)
# Error codes the OAuth host uses for a bad refresh token / app secret [mock's own choice].
OAUTH_BAD_REFRESH = -14014
OAUTH_BAD_SECRET = -14002


@dataclass(slots=True)
class ZaloUser:
    user_id: str
    display_name: str
    follower: bool = True
    last_message_ms: int | None = None

    def to_control(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "display_name": self.display_name,
            "follower": self.follower,
            "last_message_ms": self.last_message_ms,
        }


@dataclass(slots=True)
class ZaloMessage:
    id: int
    user_id: str
    from_bot: bool
    text: str
    msg_id: str
    timestamp_ms: int
    buttons: list[dict[str, Any]] = field(default_factory=list)
    event_name: str | None = None

    def to_control(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "from": "bot" if self.from_bot else "user",
            "from_bot": self.from_bot,
            "text": self.text,
            "buttons": self.buttons,
            "msg_id": self.msg_id,
            "event_name": self.event_name,
            "timestamp": self.timestamp_ms,
        }


@dataclass(slots=True)
class SignedEvent:
    """An event exactly as pushed: the same bytes and signature can be replayed."""

    key: str
    user_id: str
    raw: bytes
    signature: str


@dataclass(slots=True)
class ApiFault:
    error: int
    times: int
    user_id: str | None = None
    message: str = ""
    skip: int = 0  # let this many matching sends through first

    def to_control(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "times": self.times,
            "user_id": self.user_id,
            "message": self.message,
            "skip": self.skip,
        }


class ZaloMockState:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.changed = Notifier()
        self.closing = False  # set at shutdown so long polls end at once
        self.reset()

    def reset(self) -> None:
        self.webhook_url: str | None = None
        self.app_id = ""
        self.oa_id = DEFAULT_OA_ID
        self.secret_key = ""  # the OA secret key that signs events
        self.app_secret = ""  # checked on token refresh when set
        self.offset_ms = 0
        self.users: dict[str, ZaloUser] = {}
        self.messages: list[ZaloMessage] = []
        self._ids = itertools.count(1)
        self.events: dict[str, SignedEvent] = {}
        self.faults: list[ApiFault] = []
        # Tokens: before the first expiry any access token is accepted; afterwards only those
        # issued by a refresh at or after the current generation.
        self.issued: dict[str, int] = {}
        self.generation = 0
        self.valid_from = 0
        self.used_refresh: set[str] = set()
        self.valid_refresh: set[str] | None = None  # None: any refresh token not used yet
        self.stats: Counter[str] = Counter()
        self.last_push_status: int | None = None
        self.last_push_error: str | None = None

    def now_ms(self) -> int:
        return int(self.clock() * 1000) + self.offset_ms

    def next_id(self) -> int:
        return next(self._ids)

    def user(self, user_id: str, display_name: str | None = None) -> ZaloUser:
        user = self.users.get(user_id)
        if user is None:
            user = ZaloUser(user_id, display_name or f"Người dùng {user_id[-4:]}")
            self.users[user_id] = user
        elif display_name:
            user.display_name = display_name
        return user

    def store(self, message: ZaloMessage) -> ZaloMessage:
        self.messages.append(message)
        self.changed.notify()
        return message

    def token_ok(self, token: str) -> bool:
        if not token:
            return False
        if self.valid_from == 0:
            return True
        return self.issued.get(token, -1) >= self.valid_from

    def take_fault(self, user_id: str) -> ApiFault | None:
        for fault in self.faults:
            if fault.user_id is not None and fault.user_id != user_id:
                continue
            if fault.skip > 0:
                fault.skip -= 1
                return None
            if fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
            return fault
        return None


def _error(code: int, message: str) -> web.Response:
    # Zalo answers API errors with HTTP 200 and a negative "error".
    return web.json_response({protocol.F_ERROR: code, protocol.F_ERROR_MESSAGE: message})


def _check_buttons(message: dict[str, Any]) -> list[dict[str, Any]] | str:
    """The buttons of a send body, or what is wrong with them."""
    attachment = message.get("attachment")
    if attachment is None:
        return []
    if not isinstance(attachment, dict) or attachment.get("type") != "template":
        return "attachment must be a template"
    payload = attachment.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("buttons"), list):
        return "template payload needs a buttons list"
    template_type = payload.get("template_type")
    if protocol.BUTTON_TEMPLATE_TYPE is not None and template_type != protocol.BUTTON_TEMPLATE_TYPE:
        return f"template_type must be {protocol.BUTTON_TEMPLATE_TYPE!r}"
    buttons = payload["buttons"]
    if not buttons or len(buttons) > protocol.MAX_BUTTONS:
        return f"1 to {protocol.MAX_BUTTONS} buttons per message"
    for button in buttons:
        if not isinstance(button, dict):
            return "a button must be an object"
        title, kind, value = button.get("title"), button.get("type"), button.get("payload")
        if not isinstance(title, str) or not title.strip():
            return "a button needs a title"
        if len(title) > protocol.BUTTON_TITLE_LIMIT:
            return f"button title longer than {protocol.BUTTON_TITLE_LIMIT} characters"
        if kind == protocol.BUTTON_QUERY:
            if not isinstance(value, str) or not value:
                return "oa.query.show needs a string payload"
        elif kind == protocol.BUTTON_URL:
            if not isinstance(value, dict) or not str(value.get("url", "")).startswith("http"):
                return "oa.open.url needs payload {url}"
        elif kind == protocol.BUTTON_PHONE:
            if not isinstance(value, dict) or not value.get("phone_code"):
                return "oa.open.phone needs payload {phone_code}"
        else:
            return f"unknown button type {kind!r}"
    return list(buttons)


class ZaloPusher:
    """Pushes signed events to the bot: in order per user, retried a few times on failure."""

    def __init__(self, state: ZaloMockState, *, timeout: float = 10.0) -> None:
        self.state = state
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._queues: dict[str, deque[SignedEvent]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    def _session_(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def post(self, raw: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """One push; the status (0 if it did not connect) and the answer or error."""
        url = self.state.webhook_url
        if not url:
            raise ControlError(409, "no Zalo webhook configured: POST /_mock/zalo/webhook first")
        all_headers = {"Content-Type": "application/json", **headers}
        try:
            async with self._session_().post(
                url,
                data=raw,
                headers=all_headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, text = 0, f"{exc.__class__.__name__}: {exc}"
        self.state.last_push_status = status
        self.state.last_push_error = None if 200 <= status < 300 else text[:300]
        self.state.stats["webhook_pushes" if 200 <= status < 300 else "webhook_failures"] += 1
        return status, text

    def enqueue(self, event: SignedEvent) -> None:
        queue = self._queues.setdefault(event.user_id, deque())
        queue.append(event)
        if event.user_id not in self._workers:
            self._workers[event.user_id] = asyncio.create_task(self._work(event.user_id))

    async def _work(self, user_id: str) -> None:
        queue = self._queues[user_id]
        try:
            while queue:
                event = queue[0]
                for attempt, delay in enumerate((0.0, *RETRY_DELAYS)):
                    if delay:
                        await asyncio.sleep(delay)
                    headers = {protocol.SIGNATURE_HEADER: event.signature}
                    if attempt:
                        headers[protocol.RETRY_HEADER] = str(attempt)
                    try:
                        status, _ = await self.post(event.raw, headers)
                    except ControlError:
                        status = 0  # the webhook was removed meanwhile
                    if 200 <= status < 300:
                        break
                else:
                    log.info("zalo mock: gave up pushing %s", event.key)
                queue.popleft()
        finally:
            if self._workers.get(user_id) is asyncio.current_task():
                del self._workers[user_id]
            if self._queues.get(user_id) is queue and not queue:
                del self._queues[user_id]

    async def stop(self) -> None:
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers.clear()
        self._queues.clear()

    async def close(self) -> None:
        await self.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None


def _user_id(data: dict[str, Any]) -> str:
    value = data.get("user_id")
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise ControlError(400, "'user_id' is required (a string of digits)")
    return str(value).strip()


def _text(data: dict[str, Any], key: str = "text") -> str:
    text = data.get(key)
    if not isinstance(text, str) or not text.strip():
        raise ControlError(400, f"'{key}' must be a non-empty string")
    if len(text) > protocol.TEXT_LIMIT:
        raise ControlError(400, f"'{key}' is longer than {protocol.TEXT_LIMIT} characters")
    return text


class ZaloMock:
    def __init__(self, state: ZaloMockState | None = None) -> None:
        self.state = state or ZaloMockState()
        self.pusher = ZaloPusher(self.state)

    def register(self, app: web.Application) -> None:
        app[ZALO_KEY] = self
        app.router.add_post(protocol.SEND_CS_PATH, self.send_cs)
        app.router.add_get(protocol.USER_DETAIL_PATH, self.user_detail)
        app.router.add_post(protocol.TOKEN_PATH, self.refresh_token)
        routes: list[tuple[str, str, Handler]] = [
            ("POST", "/_mock/zalo/reset", self.reset),
            ("POST", "/_mock/zalo/webhook", self.set_webhook),
            ("GET", "/_mock/zalo/webhook", self.get_webhook),
            ("POST", "/_mock/zalo/clock", self.set_clock),
            ("POST", "/_mock/zalo/users", self.add_user),
            ("GET", "/_mock/zalo/users", self.list_users),
            ("GET", "/_mock/zalo/users/{user_id}/messages", self.list_messages),
            ("POST", "/_mock/zalo/messages", self.user_text),
            ("POST", "/_mock/zalo/events", self.user_event),
            ("POST", "/_mock/zalo/buttons", self.press_button),
            ("POST", "/_mock/zalo/raw", self.push_raw),
            ("POST", "/_mock/zalo/replay", self.replay),
            ("POST", "/_mock/zalo/tokens", self.set_tokens),
            ("POST", "/_mock/zalo/tokens/expire", self.expire_tokens),
            ("GET", "/_mock/zalo/tokens", self.get_tokens),
            ("POST", "/_mock/zalo/faults", self.add_faults),
            ("GET", "/_mock/zalo/faults", self.list_faults),
            ("DELETE", "/_mock/zalo/faults", self.clear_faults),
            ("GET", "/_mock/zalo/stats", self.get_stats),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, _json_errors(handler))

        async def on_shutdown(app: web.Application) -> None:
            self.state.closing = True
            self.state.changed.notify()
            await self.pusher.close()

        app.on_shutdown.append(on_shutdown)

    # -- the OA API ---------------------------------------------------------------------

    def _token_error(self, request: web.Request) -> web.Response | None:
        token = request.headers.get(protocol.ACCESS_TOKEN_HEADER, "")
        if self.state.token_ok(token):
            return None
        self.state.stats["token_refused"] += 1
        return _error(protocol.ACCESS_TOKEN_INVALID, "Access token is invalid")

    async def send_cs(self, request: web.Request) -> web.Response:
        state = self.state
        state.stats["send_calls"] += 1
        refused = self._token_error(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return _error(protocol.PARAMS_INVALID, "body is not JSON")
        recipient = body.get(protocol.F_RECIPIENT) if isinstance(body, dict) else None
        message = body.get(protocol.F_MESSAGE) if isinstance(body, dict) else None
        if not isinstance(recipient, dict) or not isinstance(message, dict):
            return _error(protocol.PARAMS_INVALID, "recipient and message are required")
        user_id = str(recipient.get(protocol.F_RECIPIENT_USER) or "")
        text = message.get(protocol.F_TEXT)
        if not isinstance(text, str) or not text:
            return _error(protocol.PARAMS_INVALID, "message.text is required")
        if len(text) > protocol.TEXT_LIMIT:
            state.stats["too_long"] += 1
            return _error(
                protocol.PARAMS_INVALID, f"text is longer than {protocol.TEXT_LIMIT} characters"
            )
        buttons = _check_buttons(message)
        if isinstance(buttons, str):
            return _error(protocol.PARAMS_INVALID, buttons)
        user = state.users.get(user_id)
        if user is None or not user.follower:
            return _error(protocol.USER_NOT_FOLLOWER, "User has not followed the OA")
        if user.last_message_ms is None:
            return _error(protocol.NEVER_INTERACTED, "User has not interacted with the OA")
        if state.now_ms() - user.last_message_ms > INTERACTION_LIMIT.total_seconds() * 1000:
            return _error(protocol.NO_INTERACTION_7_DAYS, "User has not interacted for 7 days")
        fault = state.take_fault(user_id)
        if fault is not None:
            state.stats["faults_triggered"] += 1
            return _error(fault.error, fault.message or f"injected error {fault.error}")
        sent = state.store(
            ZaloMessage(
                id=state.next_id(),
                user_id=user_id,
                from_bot=True,
                text=text,
                msg_id=secrets.token_hex(16),
                timestamp_ms=state.now_ms(),
                buttons=buttons,
            )
        )
        state.stats["messages_sent"] += 1
        return web.json_response(
            {
                protocol.F_ERROR: protocol.OK,
                protocol.F_ERROR_MESSAGE: "Success",
                protocol.F_DATA: {protocol.F_MESSAGE_ID: sent.msg_id, "user_id": user_id},
            }
        )

    async def user_detail(self, request: web.Request) -> web.Response:
        refused = self._token_error(request)
        if refused is not None:
            return refused
        try:
            data = json.loads(request.query.get("data", ""))
            user_id = str(data["user_id"])
        except (ValueError, KeyError, TypeError):
            return _error(protocol.PARAMS_INVALID, 'data={"user_id": ...} is required')
        user = self.state.users.get(user_id)
        if user is None:
            return _error(protocol.USER_NOT_FOLLOWER, "User has not followed the OA")
        return web.json_response(
            {
                protocol.F_ERROR: protocol.OK,
                protocol.F_ERROR_MESSAGE: "Success",
                protocol.F_DATA: {
                    "user_id": user.user_id,
                    protocol.F_DISPLAY_NAME: user.display_name,
                    "user_is_follower": user.follower,
                },
            }
        )

    async def refresh_token(self, request: web.Request) -> web.Response:
        state = self.state
        state.stats["refresh_calls"] += 1
        form = await request.post()
        secret = request.headers.get(protocol.OAUTH_SECRET_HEADER, "")
        if state.app_secret and secret != state.app_secret:
            return web.json_response({"error": OAUTH_BAD_SECRET, "error_name": "Invalid secret"})
        if form.get("grant_type") != protocol.GRANT_REFRESH:
            return web.json_response({"error": -14001, "error_name": "Invalid grant_type"})
        if state.app_id and form.get("app_id") != state.app_id:
            return web.json_response({"error": -14003, "error_name": "Invalid app_id"})
        used = str(form.get(protocol.F_REFRESH_TOKEN) or "")
        known = state.valid_refresh is None or used in state.valid_refresh
        if not used or used in state.used_refresh or not known:
            state.stats["refresh_refused"] += 1
            return web.json_response(
                {
                    "error": OAUTH_BAD_REFRESH,
                    "error_name": "Invalid refresh token",
                    "error_description": "The refresh token is invalid or was already used",
                }
            )
        state.used_refresh.add(used)
        if state.valid_refresh is not None:
            state.valid_refresh.discard(used)
        access = f"mock-access-{secrets.token_hex(8)}"
        refresh = f"mock-refresh-{secrets.token_hex(8)}"
        state.issued[access] = state.generation
        if state.valid_refresh is not None:
            state.valid_refresh.add(refresh)
        state.stats["refreshes"] += 1
        return web.json_response(
            {
                protocol.F_ACCESS_TOKEN: access,
                protocol.F_REFRESH_TOKEN: refresh,
                protocol.F_EXPIRES_IN: "90000",
            }
        )

    # -- control: setup -----------------------------------------------------------------

    async def reset(self, request: web.Request) -> web.Response:
        await self.pusher.stop()
        self.state.reset()
        self.state.changed.notify()
        return _reply({"ok": True})

    def _set_clock(self, data: dict[str, Any]) -> None:
        if data.get("now_ms") is None:
            return
        try:
            now_ms = int(data["now_ms"])
        except (TypeError, ValueError):
            raise ControlError(400, "'now_ms' must be milliseconds since the epoch") from None
        self.state.offset_ms = now_ms - int(self.state.clock() * 1000)

    async def set_webhook(self, request: web.Request) -> web.Response:
        data = await _body(request)
        url, app_id, secret = data.get("url"), data.get("app_id"), data.get("secret_key")
        if not isinstance(url, str) or not url.startswith("http"):
            raise ControlError(400, "'url' must be an http(s) URL")
        if not isinstance(app_id, str) or not app_id or not isinstance(secret, str) or not secret:
            raise ControlError(400, "'app_id' and 'secret_key' (the OA secret key) are required")
        state = self.state
        state.webhook_url, state.app_id, state.secret_key = url, app_id, secret
        if isinstance(data.get("oa_id"), str) and data["oa_id"]:
            state.oa_id = data["oa_id"]
        if isinstance(data.get("app_secret"), str):
            state.app_secret = data["app_secret"]
        self._set_clock(data)
        return await self.get_webhook(request)

    async def get_webhook(self, request: web.Request) -> web.Response:
        state = self.state
        return _reply(
            {
                "url": state.webhook_url,
                "app_id": state.app_id,
                "oa_id": state.oa_id,
                "secret_key_set": bool(state.secret_key),
                "now_ms": state.now_ms(),
                "last_status": state.last_push_status,
                "last_error": state.last_push_error,
            }
        )

    async def set_clock(self, request: web.Request) -> web.Response:
        self._set_clock(await _body(request))
        return _reply({"now_ms": self.state.now_ms()})

    async def add_user(self, request: web.Request) -> web.Response:
        data = await _body(request)
        user = self.state.user(_user_id(data), data.get("display_name") or None)
        if isinstance(data.get("follower"), bool):
            user.follower = data["follower"]
        if data.get("interacted"):
            # As if the user had written just now (tests that call the OA API directly).
            user.last_message_ms = self.state.now_ms()
        return _reply(user.to_control())

    async def list_users(self, request: web.Request) -> web.Response:
        return _reply({"users": [user.to_control() for user in self.state.users.values()]})

    # -- control: what users do ---------------------------------------------------------

    def _sign(self, body: dict[str, Any]) -> tuple[bytes, str]:
        state = self.state
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        signed_id = str(body.get(protocol.SIGNATURE_ID_FIELD, ""))
        timestamp = str(body.get(protocol.F_TIMESTAMP, ""))
        return raw, protocol.signature_header(signed_id, raw, timestamp, state.secret_key)

    def _envelope(self, event_name: str, user_id: str, timestamp_ms: int) -> dict[str, Any]:
        state = self.state
        if not state.webhook_url:
            raise ControlError(409, "no Zalo webhook configured: POST /_mock/zalo/webhook first")
        return {
            protocol.F_APP_ID: state.app_id,
            protocol.F_OA_ID: state.oa_id,
            "user_id_by_app": user_id,
            protocol.F_EVENT: event_name,
            protocol.F_TIMESTAMP: str(timestamp_ms),
        }

    def _timestamp(self, data: dict[str, Any]) -> int:
        if data.get("timestamp") is None:
            return self.state.now_ms()
        try:
            return int(data["timestamp"])
        except (TypeError, ValueError):
            raise ControlError(400, "'timestamp' must be milliseconds since the epoch") from None

    def _push(self, key: str, user_id: str, body: dict[str, Any]) -> SignedEvent:
        raw, signature = self._sign(body)
        event = SignedEvent(key, user_id, raw, signature)
        self.state.events[key] = event
        self.pusher.enqueue(event)
        return event

    def _send_text(
        self, user_id: str, text: str, data: dict[str, Any], event_name: str
    ) -> dict[str, Any]:
        state = self.state
        timestamp = self._timestamp(data)
        body = self._envelope(event_name, user_id, timestamp)
        user = state.user(user_id, data.get("display_name") or None)
        msg_id = secrets.token_hex(16)
        body[protocol.F_SENDER] = {protocol.F_ID: user_id}
        body[protocol.F_RECIPIENT] = {protocol.F_ID: state.oa_id}
        message: dict[str, Any] = {protocol.F_MSG_ID: msg_id, protocol.F_TEXT: text}
        if event_name != protocol.EVENT_TEXT:
            kind = event_name.removeprefix("user_send_")
            message[protocol.F_TEXT] = ""
            message[protocol.F_ATTACHMENTS] = [
                {"type": kind, "payload": {"url": f"https://mock.zalo/{kind}/{msg_id}"}}
            ]
        body[protocol.F_MESSAGE] = message
        user.last_message_ms = max(user.last_message_ms or 0, timestamp)
        stored = state.store(
            ZaloMessage(
                id=state.next_id(),
                user_id=user_id,
                from_bot=False,
                text=text,
                msg_id=msg_id,
                timestamp_ms=timestamp,
                event_name=event_name,
            )
        )
        state.stats["user_events"] += 1
        self._push(msg_id, user_id, body)
        return {**stored.to_control(), "event": body}

    async def user_text(self, request: web.Request) -> web.Response:
        data = await _body(request)
        return _reply(self._send_text(_user_id(data), _text(data), data, protocol.EVENT_TEXT))

    async def user_event(self, request: web.Request) -> web.Response:
        """Any other event: {"user_id", "event_name": "follow" | "user_send_image" | ...}."""
        data = await _body(request)
        user_id = _user_id(data)
        name = data.get("event_name")
        if not isinstance(name, str) or not name:
            raise ControlError(400, "'event_name' is required")
        if name == protocol.EVENT_TEXT:
            return _reply(self._send_text(user_id, _text(data), data, name))
        if name.startswith("user_send_"):
            return _reply(
                self._send_text(user_id, f"[{name.removeprefix('user_send_')}]", data, name)
            )
        timestamp = self._timestamp(data)
        body = self._envelope(name, user_id, timestamp)
        user = self.state.user(user_id, data.get("display_name") or None)
        if name in (protocol.EVENT_FOLLOW, protocol.EVENT_UNFOLLOW):
            user.follower = name == protocol.EVENT_FOLLOW
            body["source"] = "testing"
            body[protocol.F_FOLLOWER] = {protocol.F_ID: user_id}
            if user.follower:
                # Zalo counts a follow as an interaction: the OA may greet the new follower.
                user.last_message_ms = max(user.last_message_ms or 0, timestamp)
        else:
            body[protocol.F_SENDER] = {protocol.F_ID: user_id}
            body[protocol.F_RECIPIENT] = {protocol.F_ID: self.state.oa_id}
        key = f"{name}:{user_id}:{timestamp}"
        self._push(key, user_id, body)
        self.state.stats["user_events"] += 1
        return _reply({"key": key, "event": body})

    async def press_button(self, request: web.Request) -> web.Response:
        """Press an `oa.query.show` button: Zalo sends its payload back as the user's text."""
        data = await _body(request)
        user_id = _user_id(data)
        payload = data.get("payload")
        if not isinstance(payload, str) or not payload:
            raise ControlError(400, "'payload' is required")
        if not data.get("force"):
            offered = {
                button.get("payload")
                for message in self.state.messages
                if message.from_bot and message.user_id == user_id
                for button in message.buttons
                if button.get("type") == protocol.BUTTON_QUERY
            }
            if payload not in offered:
                raise ControlError(400, f"the bot offered user {user_id} no button {payload!r}")
        self.state.stats["buttons_pressed"] += 1
        return _reply(self._send_text(user_id, payload, data, protocol.EVENT_TEXT))

    async def push_raw(self, request: web.Request) -> web.Response:
        """Push exactly these bytes and headers once (forged or hand-made events)."""
        data = await _body(request)
        body = data.get("body")
        if isinstance(body, dict):
            raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raise ControlError(400, "'body' must be a JSON object or a string")
        headers = data.get("headers") or {}
        if not isinstance(headers, dict):
            raise ControlError(400, "'headers' must be an object")
        headers = {str(k): str(v) for k, v in headers.items()}
        if data.get("sign") and isinstance(body, dict):
            headers[protocol.SIGNATURE_HEADER] = self._sign(body)[1]
        status, text = await self.pusher.post(raw, headers)
        return _reply({"status": status, "answer": text[:500]})

    async def replay(self, request: web.Request) -> web.Response:
        """Push an earlier event again, same bytes and signature, as a Zalo retry would."""
        data = await _body(request)
        key = data.get("msg_id") or data.get("key")
        event = self.state.events.get(str(key))
        if event is None:
            raise ControlError(404, f"no event {key!r} was pushed")
        headers = {protocol.SIGNATURE_HEADER: event.signature, protocol.RETRY_HEADER: "1"}
        status, text = await self.pusher.post(event.raw, headers)
        return _reply({"status": status, "answer": text[:500]})

    # -- control: what the bot sent -----------------------------------------------------

    async def list_messages(self, request: web.Request) -> web.Response:
        """Messages of one user's conversation with id > after; `wait` blocks for the bot."""
        user_id = request.match_info["user_id"]
        after = _query_int(request, "after") or 0
        wait = min(MAX_WAIT_SECONDS, _query_float(request, "wait", 0.0))
        state = self.state

        def bot_spoke() -> bool:
            return state.closing or any(
                m.from_bot and m.user_id == user_id and m.id > after for m in state.messages
            )

        if wait > 0:
            await state.changed.wait_for(bot_spoke, wait)
        items = [m.to_control() for m in state.messages if m.user_id == user_id and m.id > after]
        return _reply({"messages": items})

    # -- control: misbehaviour ----------------------------------------------------------

    async def set_tokens(self, request: web.Request) -> web.Response:
        """{"refresh_tokens": [...]} accepts only these (and their successors);
        {"app_secret": "..."} checks the secret_key header of refreshes."""
        data = await _body(request)
        tokens = data.get("refresh_tokens")
        if tokens is not None:
            if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
                raise ControlError(400, "'refresh_tokens' must be a list of strings")
            self.state.valid_refresh = set(tokens)
        if isinstance(data.get("app_secret"), str):
            self.state.app_secret = data["app_secret"]
        return await self.get_tokens(request)

    async def expire_tokens(self, request: web.Request) -> web.Response:
        """Every access token in use now becomes invalid (-216) until the bot refreshes."""
        state = self.state
        state.generation += 1
        state.valid_from = state.generation
        return await self.get_tokens(request)

    async def get_tokens(self, request: web.Request) -> web.Response:
        state = self.state
        return _reply(
            {
                "refreshes": state.stats["refreshes"],
                "refresh_refused": state.stats["refresh_refused"],
                "token_refused": state.stats["token_refused"],
                "used_refresh_tokens": len(state.used_refresh),
                "generation": state.generation,
            }
        )

    async def add_faults(self, request: web.Request) -> web.Response:
        """{"error": -32, "times": 1, "user_id"?, "message"?, "skip"?} (times -1: always)."""
        data = await _body(request)
        try:
            error = int(data["error"])
            times = int(data.get("times", 1))
            skip = int(data.get("skip", 0))
        except (KeyError, TypeError, ValueError):
            raise ControlError(400, "'error' (and 'times') must be integers") from None
        if times == 0:
            raise ControlError(400, "'times' must be positive, or -1 for always")
        user_id = data.get("user_id")
        who = None if user_id is None else str(user_id)
        self.state.faults.append(ApiFault(error, times, who, data.get("message") or "", skip))
        return await self.list_faults(request)

    async def list_faults(self, request: web.Request) -> web.Response:
        return _reply({"faults": [fault.to_control() for fault in self.state.faults]})

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.state.faults.clear()
        return _reply({"faults": []})

    async def get_stats(self, request: web.Request) -> web.Response:
        return _reply(dict(self.state.stats))


ZALO_KEY = web.AppKey("congvu_mock_zalo", ZaloMock)
