"""The core's own message model: what every channel translates to and from.

Handlers see only these types; they never touch aiogram, python-telegram-bot or Zalo objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ChannelName(StrEnum):
    TELEGRAM = "telegram"
    ZALO = "zalo"


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A chat on a channel. Ids are strings so Telegram ints and Zalo ids fit alike."""

    channel: str
    chat_id: str
    kind: ChatKind = ChatKind.PRIVATE
    title: str | None = None

    @property
    def is_group(self) -> bool:
        return self.kind is ChatKind.GROUP


@dataclass(frozen=True, slots=True)
class Sender:
    user_id: str
    first_name: str = ""
    username: str | None = None
    language_code: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the user sent; `file_id` is the channel's handle for downloading it."""

    file_id: str
    filename: str
    size: int | None = None
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class ReplyTo:
    message_id: str
    text: str
    from_user_id: str | None = None
    from_bot: bool = False


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update from a user: a message, a command or a button press."""

    channel: str
    update_id: str
    chat: ChatRef
    sender: Sender
    date: datetime
    text: str = ""
    command: str | None = None
    args: str = ""
    callback_data: str | None = None
    callback_id: str | None = None
    message_id: str | None = None
    reply_to: ReplyTo | None = None
    mentions: tuple[str, ...] = ()
    document: Attachment | None = None

    @property
    def is_callback(self) -> bool:
        return self.callback_data is not None


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: callback data, a URL, or a phone number to call."""

    text: str
    data: str | None = None
    url: str | None = None
    phone: str | None = None


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True, slots=True)
class OutDocument:
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class OutMessage:
    """What to show: HTML text (user text already escaped), buttons, optional file or photo."""

    text: str
    buttons: Keyboard = ()
    document: OutDocument | None = None
    photo: OutDocument | None = None
    disable_preview: bool = True


@dataclass(frozen=True, slots=True)
class SentRef:
    """A message the bot sent, so it can be edited later."""

    chat: ChatRef
    message_id: str


@dataclass(slots=True)
class CallbackAnswer:
    text: str | None = None
    alert: bool = False


@dataclass(slots=True)
class Outcome:
    """What the core did with one update; runtimes use it to answer callback queries."""

    handled: bool = True
    duplicate: bool = False
    callback_answer: CallbackAnswer | None = None
    errors: list[str] = field(default_factory=list)
