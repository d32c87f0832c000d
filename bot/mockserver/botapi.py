"""The Bot API subset aiogram 3 and python-telegram-bot 22 need, at `/bot{token}/{method}`.

Each method is an async function taking a `Call` and returning the `result`, or raising
`BotApiError`; `execute` adds what all methods share (method lookup, call counting, injected
faults) and `handle_bot_request` adds HTTP (parsing, tokens, envelopes, status codes).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from posixpath import basename
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import urlparse

from aiohttp import web

from bot.mockserver.errors import (
    NOT_MODIFIED,
    POLL_TERMINATED,
    QUERY_TOO_OLD,
    WEBHOOK_ACTIVE,
    BotApiError,
    bad_request,
    too_many_requests,
)
from bot.mockserver.formatting import FormattedText, format_text
from bot.mockserver.messages import (
    chat_full_info,
    file_to_api,
    guess_mime_type,
    image_size,
    new_bot_message,
    set_caption,
    set_markup,
    set_text,
)
from bot.mockserver.params import Params, UploadedFile, read_params
from bot.mockserver.state import (
    MockChat,
    MockState,
    MockUser,
    StoredFile,
    StoredMessage,
    WebhookConfig,
)
from bot.mockserver.webhook import WebhookPusher

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
COMMAND_PATTERN = re.compile(r"^[a-z0-9_]{1,32}$")
# Sent unless a client asks otherwise (Bot API: "all update types except ...").
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
BUTTON_ACTIONS = frozenset(
    {
        "callback_data",
        "url",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)

dumps = partial(json.dumps, ensure_ascii=False)
log = logging.getLogger(__name__)


@dataclass(slots=True)
class Call:
    state: MockState
    pusher: WebhookPusher
    token: str
    bot: MockUser
    params: Params


Handler = Callable[[Call], Awaitable[Any]]
_registry: dict[str, tuple[str, Handler]] = {}


HandlerT = TypeVar("HandlerT", bound=Handler)


def bot_method(name: str) -> Callable[[HandlerT], HandlerT]:
    def register(handler: HandlerT) -> HandlerT:
        _registry[name.lower()] = (name, handler)
        return handler

    return register


# -- shared checks ----------------------------------------------------------------------------


def resolve_chat(call: Call, name: str = "chat_id") -> MockChat:
    ref = call.params.chat_id(name)
    if ref is None:
        raise bad_request("chat_id is empty")
    chat = call.state.find_chat(ref)
    if chat is None:
        raise bad_request("chat not found")
    return chat


def check_not_blocked(call: Call, chat: MockChat) -> None:
    user = call.state.chat_user(chat)
    if user is not None and user.blocked:
        raise BotApiError(403, "Forbidden: bot was blocked by the user")


def check_rate_limit(call: Call, chat: MockChat) -> None:
    retry_after = call.state.limiter.acquire(chat.id, chat.type)
    if retry_after is not None:
        call.state.stats.rate_limited += 1
        raise too_many_requests(retry_after)


def read_formatted(
    call: Call, key: str, entities_key: str
) -> tuple[str | None, FormattedText | None]:
    raw = call.params.get_str(key)
    if raw is None:
        return None, None
    entities = call.params.get_json(entities_key)
    if entities is not None and not isinstance(entities, list):
        raise bad_request(f"can't parse {entities_key} JSON object")
    return raw, format_text(raw, call.params.get_str("parse_mode"), entities)


def read_text(call: Call) -> tuple[str, FormattedText]:
    raw, formatted = read_formatted(call, "text", "entities")
    if raw is None or formatted is None or not formatted.text.strip():
        raise bad_request("message text is empty")
    if len(formatted.text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return raw, formatted


def read_caption(call: Call) -> tuple[str | None, FormattedText | None]:
    raw, formatted = read_formatted(call, "caption", "caption_entities")
    if formatted is not None and len(formatted.text) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return raw, formatted


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Text is not specified")
    if not BUTTON_ACTIONS.intersection(button):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None:
        size = len(str(data).encode("utf-8"))
        if size == 0 or size > MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not urlparse(str(url)).scheme:
        raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def read_markup(call: Call) -> Any:
    markup = call.params.get_json("reply_markup", "reply keyboard markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "inline_keyboard" must be an Array of Arrays')
        for row in rows:
            for button in row:
                _check_inline_button(button)
    return markup


def read_reply_target(call: Call, chat: MockChat) -> StoredMessage | None:
    reply_id = call.params.get_int("reply_to_message_id")
    allow_missing = call.params.get_bool("allow_sending_without_reply")
    parameters = call.params.get_json("reply_parameters")
    if isinstance(parameters, dict):
        nested = Params(parameters)
        reply_id = nested.get_int("message_id", reply_id)
        allow_missing = nested.get_bool("allow_sending_without_reply", allow_missing)
    if reply_id is None:
        return None
    target = call.state.get_message(chat.id, reply_id)
    if target is None or target.deleted:
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")
    return target


def read_input_file(call: Call, name: str, kind: str) -> StoredFile:
    value = call.params.file(name)
    if value is None:
        raise bad_request(f"there is no {name} in the request")
    if isinstance(value, UploadedFile):
        if not value.data:
            raise bad_request("file must be non-empty")
        size = image_size(value.data) if kind == "photos" else None
        content_type = value.content_type
        if not content_type or content_type == "application/octet-stream":
            content_type = guess_mime_type(value.filename) or content_type
        return call.state.add_file(
            value.data,
            kind=kind,
            file_name=value.filename,
            mime_type=content_type,
            width=size[0] if size else None,
            height=size[1] if size else None,
        )
    known = call.state.files.get(value)
    if known is not None:
        return known
    if urlparse(value).scheme in ("http", "https"):
        # The mock does not fetch URLs; it records an empty file under the URL's name.
        file_name = basename(urlparse(value).path) or None
        return call.state.add_file(b"", kind=kind, file_name=file_name)
    raise bad_request("wrong file identifier/HTTP URL specified")


def editable_message(call: Call, *, action: str = "edit") -> StoredMessage:
    if call.params.get_str("inline_message_id"):
        raise bad_request("inline messages are not supported by the mock server")
    chat = resolve_chat(call)
    message_id = call.params.get_int("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    message = call.state.get_message(chat.id, message_id)
    if message is None or message.deleted:
        raise bad_request(f"message to {action} not found")
    if action == "edit" and not message.from_bot:
        raise bad_request("message can't be edited")
    return message


def apply_edit(
    call: Call, message: StoredMessage, change: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Apply `change` to a copy, reject a no-op as Telegram does, count it against the limits.

    Working on a copy keeps the stored message intact when the edit is refused (400 or 429).
    """
    updated = copy.deepcopy(message.payload)
    change(updated)
    if updated == message.payload:
        raise BotApiError(400, NOT_MODIFIED)
    check_rate_limit(call, call.state.chats[message.chat_id])
    updated["edit_date"] = call.state.now()
    message.payload = updated
    message.edited = True
    call.state.stats.messages_edited += 1
    call.state.touch(message)
    return updated


# -- identity, updates and webhooks -----------------------------------------------------------


@bot_method("getMe")
async def get_me(call: Call) -> dict[str, Any]:
    return {
        **call.bot.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def _allowed(update_kind: str, allowed: list[str] | None) -> bool:
    if not allowed:
        return update_kind not in DEFAULT_EXCLUDED_UPDATES
    return update_kind in allowed


@bot_method("getUpdates")
async def get_updates(call: Call) -> list[dict[str, Any]]:
    state, params = call.state, call.params
    if state.webhook is not None:
        raise BotApiError(409, WEBHOOK_ACTIVE)
    offset = params.get_int("offset")
    limit = min(100, max(1, params.get_int("limit", 100) or 100))
    timeout = max(0.0, params.get_float("timeout", 0.0) or 0.0)
    allowed = params.get_json("allowed_updates")
    if isinstance(allowed, list):
        state.allowed_updates = [str(kind) for kind in allowed]
    if offset:
        state.confirm_updates(offset)

    # A newer getUpdates ends an older one with 409, as on Telegram (two pollers = a bug).
    state.poll_generation += 1
    generation = state.poll_generation
    state.updates_changed.notify()

    def matching() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for update in state.updates.values():
            if offset is not None and offset > 0 and update.update_id < offset:
                continue
            if _allowed(update.kind, state.allowed_updates):
                found.append(update.to_api())
                if len(found) >= limit:
                    break
        return found

    def ready() -> bool:
        return (
            state.closing
            or generation != state.poll_generation
            or state.webhook is not None
            or bool(matching())
        )

    await state.updates_changed.wait_for(ready, timeout)
    if generation != state.poll_generation:
        raise BotApiError(409, POLL_TERMINATED)
    if state.webhook is not None:
        raise BotApiError(409, WEBHOOK_ACTIVE)
    return matching()


@bot_method("setWebhook")
async def set_webhook(call: Call) -> bool:
    state, params = call.state, call.params
    url = params.get_str("url") or ""
    if not url:
        return await delete_webhook(call)
    if urlparse(url).scheme not in ("http", "https"):
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    secret = params.get_str("secret_token")
    if secret is not None and not SECRET_PATTERN.match(secret):
        raise bad_request("secret token contains unallowed characters")
    allowed = params.get_json("allowed_updates")
    if params.get_bool("drop_pending_updates"):
        state.drop_updates()
    await call.pusher.deactivate()
    state.webhook = WebhookConfig(
        url=url,
        token=call.token,
        secret_token=secret,
        max_connections=min(100, max(1, params.get_int("max_connections", 40) or 40)),
        allowed_updates=[str(k) for k in allowed] if isinstance(allowed, list) else None,
        ip_address=params.get_str("ip_address"),
    )
    if isinstance(allowed, list):
        state.allowed_updates = [str(k) for k in allowed]
    state.updates_changed.notify()  # a waiting getUpdates now ends with 409
    call.pusher.activate()
    return True


@bot_method("deleteWebhook")
async def delete_webhook(call: Call) -> bool:
    call.state.webhook = None
    await call.pusher.deactivate()
    if call.params.get_bool("drop_pending_updates"):
        call.state.drop_updates()
    return True


@bot_method("getWebhookInfo")
async def get_webhook_info(call: Call) -> dict[str, Any]:
    webhook = call.state.webhook
    info: dict[str, Any] = {
        "url": webhook.url if webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(call.state.updates),
    }
    if webhook is not None:
        info["max_connections"] = webhook.max_connections
        if webhook.allowed_updates is not None:
            info["allowed_updates"] = webhook.allowed_updates
        if webhook.ip_address:
            info["ip_address"] = webhook.ip_address
        if webhook.last_error_date is not None:
            info["last_error_date"] = webhook.last_error_date
            info["last_error_message"] = webhook.last_error_message
    return info


# -- sending and editing ----------------------------------------------------------------------


@bot_method("sendMessage")
async def send_message(call: Call) -> dict[str, Any]:
    chat = resolve_chat(call)
    raw, formatted = read_text(call)
    markup = read_markup(call)
    reply_to = read_reply_target(call, chat)
    check_not_blocked(call, chat)
    check_rate_limit(call, chat)
    message = new_bot_message(
        call.state,
        chat,
        call.bot,
        text=formatted,
        text_as_sent=raw,
        parse_mode=call.params.get_str("parse_mode"),
        markup=markup,
        reply_to=reply_to,
    )
    call.state.stats.messages_sent += 1
    return message.payload


async def _send_file(call: Call, field: str, kind: str) -> dict[str, Any]:
    chat = resolve_chat(call)
    stored = read_input_file(call, field, kind)
    raw_caption, caption = read_caption(call)
    markup = read_markup(call)
    reply_to = read_reply_target(call, chat)
    check_not_blocked(call, chat)
    check_rate_limit(call, chat)
    message = new_bot_message(
        call.state,
        chat,
        call.bot,
        caption=caption,
        caption_as_sent=raw_caption,
        parse_mode=call.params.get_str("parse_mode"),
        markup=markup,
        reply_to=reply_to,
        document=stored if kind == "documents" else None,
        photo=stored if kind == "photos" else None,
    )
    call.state.stats.messages_sent += 1
    return message.payload


@bot_method("sendDocument")
async def send_document(call: Call) -> dict[str, Any]:
    payload = await _send_file(call, "document", "documents")
    call.state.stats.documents_sent += 1
    return payload


@bot_method("sendPhoto")
async def send_photo(call: Call) -> dict[str, Any]:
    payload = await _send_file(call, "photo", "photos")
    call.state.stats.photos_sent += 1
    return payload


def _edit_formatted(
    call: Call,
    message: StoredMessage,
    set_field: Callable[[dict[str, Any], FormattedText | None], None],
    formatted: FormattedText | None,
    markup: Any,
) -> dict[str, Any]:
    """Edit the text or the caption (`set_field`) and record the new parse mode and markup."""

    def change(payload: dict[str, Any]) -> None:
        set_field(payload, formatted)
        # Telegram drops the inline keyboard when an edit does not repeat it.
        set_markup(payload, markup)

    result = apply_edit(call, message, change)
    message.parse_mode = call.params.get_str("parse_mode")
    message.markup_as_sent = markup
    return result


@bot_method("editMessageText")
async def edit_message_text(call: Call) -> dict[str, Any]:
    message = editable_message(call)
    raw, formatted = read_text(call)
    markup = read_markup(call)
    if "text" not in message.payload:
        raise bad_request("there is no text in the message to edit")
    result = _edit_formatted(call, message, set_text, formatted, markup)
    message.text_as_sent = raw
    return result


@bot_method("editMessageCaption")
async def edit_message_caption(call: Call) -> dict[str, Any]:
    message = editable_message(call)
    raw, formatted = read_caption(call)
    markup = read_markup(call)
    if "document" not in message.payload and "photo" not in message.payload:
        raise bad_request("there is no caption in the message to edit")
    result = _edit_formatted(call, message, set_caption, formatted, markup)
    message.caption_as_sent = raw
    return result


@bot_method("editMessageReplyMarkup")
async def edit_message_reply_markup(call: Call) -> dict[str, Any]:
    message = editable_message(call)
    markup = read_markup(call)
    result = apply_edit(call, message, lambda payload: set_markup(payload, markup))
    message.markup_as_sent = markup
    return result


@bot_method("deleteMessage")
async def delete_message(call: Call) -> bool:
    message = editable_message(call, action="delete")
    message.deleted = True
    call.state.stats.messages_deleted += 1
    call.state.touch(message)
    return True


@bot_method("answerCallbackQuery")
async def answer_callback_query(call: Call) -> bool:
    query_id = call.params.get_str("callback_query_id")
    record = call.state.callbacks.get(query_id or "")
    if record is None or record.answered:
        raise BotApiError(400, QUERY_TOO_OLD)
    text = call.params.get_str("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    record.answered = True
    record.text = text
    record.show_alert = call.params.get_bool("show_alert")
    record.url = call.params.get_str("url")
    record.cache_time = call.params.get_int("cache_time")
    call.state.messages_changed.notify()  # wakes /_mock/callbacks/{id}?wait=
    return True


@bot_method("sendChatAction")
async def send_chat_action(call: Call) -> bool:
    chat = resolve_chat(call)
    check_not_blocked(call, chat)
    if not call.params.get_str("action"):
        raise bad_request("action is empty")
    return True


# -- files ------------------------------------------------------------------------------------


@bot_method("getFile")
async def get_file(call: Call) -> dict[str, Any]:
    stored = call.state.files.get(call.params.get_str("file_id") or "")
    if stored is None:
        raise bad_request("wrong file_id or the file is temporarily unavailable")
    return file_to_api(stored)


# -- chats and members ------------------------------------------------------------------------

_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_pin_messages",
    "can_manage_topics",
    "can_send_welcome_messages",
)


def _member(chat: MockChat, user: dict[str, Any]) -> dict[str, Any]:
    user_id = user["id"]
    creator = chat.admins[0] if chat.admins else (chat.members[0] if chat.members else None)
    if chat.type != "private" and user_id == creator:
        return {"status": "creator", "user": user, "is_anonymous": False}
    if chat.type != "private" and (user_id in chat.admins or user.get("is_bot")):
        # The bot is an administrator of every group it is in, so admin-only actions work.
        rights = dict.fromkeys(_ADMIN_RIGHTS, True)
        return {
            "status": "administrator",
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            **rights,
        }
    if user_id in chat.members or user.get("is_bot"):
        return {"status": "member", "user": user}
    return {"status": "left", "user": user}


@bot_method("getChat")
async def get_chat(call: Call) -> dict[str, Any]:
    return chat_full_info(call.state, resolve_chat(call))


@bot_method("getChatMember")
async def get_chat_member(call: Call) -> dict[str, Any]:
    chat = resolve_chat(call)
    user_id = call.params.get_int("user_id")
    if user_id is None:
        raise bad_request("user_id is empty")
    if user_id == call.bot.id:
        return _member(chat, call.bot.to_api())
    user = call.state.users.get(user_id)
    if user is None:
        raise bad_request("user not found")
    return _member(chat, user.to_api())


@bot_method("getChatAdministrators")
async def get_chat_administrators(call: Call) -> list[dict[str, Any]]:
    chat = resolve_chat(call)
    if chat.type == "private":
        raise bad_request("there are no administrators in the private chat")
    ids = list(chat.admins) or chat.members[:1]
    admins = [_member(chat, call.state.users[i].to_api()) for i in ids if i in call.state.users]
    admins.append(_member(chat, call.bot.to_api()))
    return admins


@bot_method("getChatMemberCount")
async def get_chat_member_count(call: Call) -> int:
    chat = resolve_chat(call)
    return len(chat.members) + 1  # the members plus the bot


# -- commands and profile ---------------------------------------------------------------------


def _commands_key(call: Call) -> tuple[str, str]:
    scope = call.params.get_json("scope", "bot command scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), call.params.get_str("language_code") or ""


@bot_method("setMyCommands")
async def set_my_commands(call: Call) -> bool:
    commands = call.params.get_json("commands", "bot commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not COMMAND_PATTERN.match(str(command.get("command"))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description") or "")) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    cleaned = [{"command": c["command"], "description": c["description"]} for c in commands]
    call.state.commands[_commands_key(call)] = cleaned
    return True


@bot_method("getMyCommands")
async def get_my_commands(call: Call) -> list[dict[str, Any]]:
    return list(call.state.commands.get(_commands_key(call), []))


@bot_method("deleteMyCommands")
async def delete_my_commands(call: Call) -> bool:
    call.state.commands.pop(_commands_key(call), None)
    return True


async def _accept(call: Call) -> bool:
    return True


for _name in ("setMyDescription", "setMyShortDescription", "setMyName", "setChatMenuButton"):
    bot_method(_name)(_accept)

METHODS: MappingProxyType[str, tuple[str, Handler]] = MappingProxyType(_registry)


# -- dispatch ---------------------------------------------------------------------------------


async def execute(
    state: MockState, pusher: WebhookPusher, token: str, method: str, params: Params
) -> Any:
    entry = METHODS.get(method.lower())
    if entry is None:
        state.stats.calls[method] += 1
        raise BotApiError(404, "Not Found")
    name, handler = entry
    state.stats.calls[name] += 1
    fault = state.take_fault(name, params.get_str("chat_id"))
    if fault is not None:
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault.error_code is not None:
            raise BotApiError(fault.error_code, fault.description, retry_after=fault.retry_after)
    return await handler(Call(state, pusher, token, state.bot_user(token), params))


def token_allowed(token: str, expected: str | None) -> bool:
    if expected is not None:
        return token == expected
    return bool(TOKEN_PATTERN.match(token))


def error_response(state: MockState, error: BotApiError) -> web.Response:
    state.stats.errors[str(error.error_code)] += 1
    return web.json_response(error.envelope(), status=error.error_code, dumps=dumps)


async def handle_bot_request(
    request: web.Request, *, state: MockState, pusher: WebhookPusher, token: str | None
) -> web.Response:
    given = request.match_info["token"]
    if not token_allowed(given, token):
        return error_response(state, BotApiError(401, "Unauthorized"))
    method = request.match_info["method"]
    try:
        params = await read_params(request)
        result = await execute(state, pusher, given, method, params)
    except BotApiError as error:
        return error_response(state, error)
    except Exception:
        # A mock bug must still look like Telegram to the client, and be loud in the log.
        log.exception("mock Bot API method %s failed", method)
        return error_response(state, BotApiError(500, "Internal Server Error"))
    return web.json_response({"ok": True, "result": result}, dumps=dumps)


async def handle_file_download(
    request: web.Request, *, state: MockState, token: str | None
) -> web.Response:
    if not token_allowed(request.match_info["token"], token):
        return error_response(state, BotApiError(401, "Unauthorized"))
    stored = state.files_by_path.get(request.match_info["path"])
    if stored is None:
        return error_response(state, BotApiError(404, "Not Found"))
    return web.Response(
        body=stored.data, content_type=stored.mime_type or "application/octet-stream"
    )
