"""Building Telegram objects (Chat, Message, Document, ...) from the mock's state.

Two views of each message exist: the Bot API `payload` (what a framework parses: plain text plus
entities, inline keyboards only) and the control-API listing (what the bot actually sent, for
tests and the playground).
"""

from __future__ import annotations

import copy
import hashlib
import mimetypes
import struct
from typing import Any

from bot.mockserver.entities import detect_entities
from bot.mockserver.formatting import FormattedText
from bot.mockserver.state import MockChat, MockState, MockUser, StoredFile, StoredMessage


def file_download_path(file_id: str) -> str:
    return f"/_mock/files/{file_id}"


def chat_to_api(state: MockState, chat: MockChat) -> dict[str, Any]:
    result: dict[str, Any] = {"id": chat.id, "type": chat.type}
    user = state.chat_user(chat)
    if user is not None:
        result["first_name"] = user.first_name
        if user.last_name:
            result["last_name"] = user.last_name
        if user.username:
            result["username"] = user.username
        return result
    if chat.title is not None:
        result["title"] = chat.title
    if chat.username:
        result["username"] = chat.username
    return result


def chat_full_info(state: MockState, chat: MockChat) -> dict[str, Any]:
    # Current aiogram and PTB refuse a ChatFullInfo without these three fields.
    return {
        **chat_to_api(state, chat),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


def chat_instance(chat_id: int) -> str:
    """Stable per chat, opaque like Telegram's."""
    digest = hashlib.sha256(f"chat-instance:{chat_id}".encode()).digest()
    return str(int.from_bytes(digest[:8], "big") >> 1)


def guess_mime_type(file_name: str | None) -> str | None:
    if not file_name:
        return None
    return mimetypes.guess_type(file_name)[0]


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG, read from its header."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                return None
            marker = data[index + 1]
            (length,) = struct.unpack(">H", data[index + 2 : index + 4])
            # SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[index + 5 : index + 9])
                return width, height
            index += 2 + length
    return None


def document_to_api(stored: StoredFile) -> dict[str, Any]:
    document: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
    }
    if stored.file_name:
        document["file_name"] = stored.file_name
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    return document


def photo_to_api(stored: StoredFile) -> list[dict[str, Any]]:
    return [
        {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "width": stored.width or 0,
            "height": stored.height or 0,
        }
    ]


def file_to_api(stored: StoredFile) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
        "file_path": stored.file_path,
    }


def inline_markup(markup: Any) -> dict[str, Any] | None:
    """Only inline keyboards come back in a Message; reply keyboards live on the client."""
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return markup
    return None


def _reply_payload(message: StoredMessage) -> dict[str, Any]:
    # Telegram embeds the replied-to message one level deep only.
    embedded = copy.deepcopy(message.payload)
    embedded.pop("reply_to_message", None)
    return embedded


def _set_text(payload: dict[str, Any], key: str, formatted: FormattedText | None) -> None:
    entities_key = "entities" if key == "text" else "caption_entities"
    if formatted is None or not formatted.text:
        payload.pop(key, None)
        payload.pop(entities_key, None)
        return
    payload[key] = formatted.text
    if formatted.entities:
        payload[entities_key] = formatted.entities
    else:
        payload.pop(entities_key, None)


def set_text(payload: dict[str, Any], formatted: FormattedText | None) -> None:
    _set_text(payload, "text", formatted)


def set_caption(payload: dict[str, Any], formatted: FormattedText | None) -> None:
    _set_text(payload, "caption", formatted)


def set_markup(payload: dict[str, Any], markup: Any) -> None:
    inline = inline_markup(markup)
    if inline is None:
        payload.pop("reply_markup", None)
    else:
        payload["reply_markup"] = inline


def _base_payload(
    state: MockState,
    chat: MockChat,
    sender: MockUser,
    reply_to: StoredMessage | None,
    date: int | None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "message_id": state.new_message_id(chat.id),
        "from": sender.to_api(),
        "chat": chat_to_api(state, chat),
        "date": date if date is not None else state.now(),
    }
    if reply_to is not None:
        payload["reply_to_message"] = _reply_payload(reply_to)
    return payload


def new_user_message(
    state: MockState,
    chat: MockChat,
    user: MockUser,
    *,
    text: str | None = None,
    caption: str | None = None,
    document: StoredFile | None = None,
    reply_to: StoredMessage | None = None,
    date: int | None = None,
) -> StoredMessage:
    payload = _base_payload(state, chat, user, reply_to, date)
    if text is not None:
        set_text(payload, FormattedText(text, detect_entities(text)))
    if document is not None:
        payload["document"] = document_to_api(document)
    if caption:
        set_caption(payload, FormattedText(caption, detect_entities(caption)))
    message = StoredMessage(
        chat_id=chat.id,
        message_id=payload["message_id"],
        sender_id=user.id,
        from_bot=False,
        payload=payload,
        text_as_sent=text,
        caption_as_sent=caption,
    )
    return state.store_message(message)


def new_bot_message(
    state: MockState,
    chat: MockChat,
    bot: MockUser,
    *,
    text: FormattedText | None = None,
    caption: FormattedText | None = None,
    text_as_sent: str | None = None,
    caption_as_sent: str | None = None,
    parse_mode: str | None = None,
    markup: Any = None,
    reply_to: StoredMessage | None = None,
    document: StoredFile | None = None,
    photo: StoredFile | None = None,
) -> StoredMessage:
    payload = _base_payload(state, chat, bot, reply_to, None)
    set_text(payload, text)
    if document is not None:
        payload["document"] = document_to_api(document)
    if photo is not None:
        payload["photo"] = photo_to_api(photo)
    set_caption(payload, caption)
    set_markup(payload, markup)
    message = StoredMessage(
        chat_id=chat.id,
        message_id=payload["message_id"],
        sender_id=bot.id,
        from_bot=True,
        payload=payload,
        text_as_sent=text_as_sent,
        caption_as_sent=caption_as_sent,
        parse_mode=parse_mode,
        markup_as_sent=markup,
    )
    return state.store_message(message)


def listing_item(message: StoredMessage) -> dict[str, Any]:
    """A message as the control API shows it: what was sent, plus what the user sees."""
    payload = message.payload
    sender = payload["from"]
    item: dict[str, Any] = {
        "message_id": message.message_id,
        "chat_id": message.chat_id,
        "date": payload["date"],
        "from": {
            "id": sender["id"],
            "is_bot": sender["is_bot"],
            "first_name": sender.get("first_name"),
            "username": sender.get("username"),
        },
        "text": message.text_as_sent if message.text_as_sent is not None else payload.get("text"),
        "plain_text": payload.get("text"),
        "entities": payload.get("entities", []),
        "caption": (
            message.caption_as_sent
            if message.caption_as_sent is not None
            else payload.get("caption")
        ),
        "plain_caption": payload.get("caption"),
        "parse_mode": message.parse_mode,
        "reply_markup": message.markup_as_sent if message.from_bot else None,
        "reply_to_message_id": (payload.get("reply_to_message") or {}).get("message_id"),
        "edited": message.edited,
        "deleted": message.deleted,
        "edit_date": payload.get("edit_date"),
        "version": message.version,
    }
    if "document" in payload:
        document = dict(payload["document"])
        document["download_url"] = file_download_path(document["file_id"])
        item["document"] = document
    if "photo" in payload:
        item["photo"] = [
            {**size, "download_url": file_download_path(size["file_id"])}
            for size in payload["photo"]
        ]
    return item
