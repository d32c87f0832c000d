"""Telegram Bot API update (as a plain dict) → the core's Incoming; shared by both runtimes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.core.commands import mentions, parse_command
from bot.core.events import (
    Attachment,
    ChannelName,
    ChatKind,
    ChatRef,
    Incoming,
    Keyboard,
    ReplyTo,
    Sender,
)
from bot.core.i18n import Translator
from bot.core.router import RouteTable

TELEGRAM = ChannelName.TELEGRAM.value


def chat_ref(chat: dict[str, Any]) -> ChatRef:
    kind = ChatKind.PRIVATE if chat.get("type") == "private" else ChatKind.GROUP
    return ChatRef(TELEGRAM, str(chat["id"]), kind, chat.get("title"))


def _sender(user: dict[str, Any]) -> Sender:
    return Sender(
        user_id=str(user["id"]),
        first_name=" ".join(p for p in (user.get("first_name"), user.get("last_name")) if p),
        username=user.get("username"),
        language_code=user.get("language_code"),
    )


def _date(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(int(value or 0), UTC)


def incoming_from_update(update: dict[str, Any], bot_username: str = "") -> Incoming | None:
    """None for update kinds the bot does not act on (edits, joins, channel posts)."""
    update_id = str(update["update_id"])
    if "callback_query" in update:
        query = update["callback_query"]
        message = query.get("message") or {}
        chat = message.get("chat") or {"id": query["from"]["id"], "type": "private"}
        return Incoming(
            channel=TELEGRAM,
            update_id=update_id,
            chat=chat_ref(chat),
            sender=_sender(query["from"]),
            date=_date(message.get("date")),
            callback_data=query.get("data") or "",
            callback_id=str(query["id"]),
            message_id=str(message["message_id"]) if message.get("message_id") else None,
        )
    message = update.get("message")
    if not message or "from" not in message:
        return None
    text = message.get("text") or message.get("caption") or ""
    command = parse_command(text, bot_username) if text.startswith("/") else None
    reply = message.get("reply_to_message")
    document = message.get("document")
    return Incoming(
        channel=TELEGRAM,
        update_id=update_id,
        chat=chat_ref(message["chat"]),
        sender=_sender(message["from"]),
        date=_date(message.get("date")),
        text=text,
        command=command.name if command else None,
        args=command.args if command else "",
        message_id=str(message["message_id"]),
        reply_to=ReplyTo(
            message_id=str(reply["message_id"]),
            text=reply.get("text") or reply.get("caption") or "",
            from_user_id=str(reply["from"]["id"]) if reply.get("from") else None,
            from_bot=bool(reply.get("from", {}).get("is_bot")),
        )
        if reply
        else None,
        mentions=mentions(text),
        document=Attachment(
            file_id=document["file_id"],
            filename=document.get("file_name") or "file",
            size=document.get("file_size"),
            mime_type=document.get("mime_type"),
        )
        if document
        else None,
    )


def inline_keyboard(buttons: Keyboard) -> dict[str, Any] | None:
    """Our buttons as Telegram's reply_markup; phone buttons have no inline form and are dropped
    (handlers put the number in the text too)."""
    rows = []
    for row in buttons:
        out = []
        for button in row:
            if button.data is not None:
                out.append({"text": button.text, "callback_data": button.data})
            elif button.url is not None:
                out.append({"text": button.text, "url": button.url})
        if out:
            rows.append(out)
    return {"inline_keyboard": rows} if rows else None


def command_menu(routes: RouteTable, i18n: Translator, lang: str) -> list[tuple[str, str]]:
    """(command, description) pairs for setMyCommands in one language."""
    return [
        (route.names[0], i18n.gettext(lang, route.description_key))
        for route in routes.menu
        if route.description_key
    ]
