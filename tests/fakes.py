"""Framework-free doubles for unit tests of the core and the handlers."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.core.commands import mentions, parse_command
from bot.core.events import (
    CallbackAnswer,
    ChatKind,
    ChatRef,
    Incoming,
    OutMessage,
    Sender,
    SentRef,
)
from bot.delivery.errors import DeliveryError


@dataclass
class Recorded:
    chat: ChatRef
    message: OutMessage
    message_id: str
    edits: list[OutMessage] = field(default_factory=list)


@dataclass
class FakeMessenger:
    """Records what the bot would send; can be told to fail the next sends."""

    channel: str = "telegram"
    sent: list[Recorded] = field(default_factory=list)
    answers: list[tuple[str, CallbackAnswer]] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def send(self, chat: ChatRef, message: OutMessage) -> SentRef:
        if self.failures:
            raise self.failures.pop(0)
        record = Recorded(chat, message, str(next(self._ids)))
        self.sent.append(record)
        return SentRef(chat, record.message_id)

    async def edit(self, ref: SentRef, message: OutMessage) -> None:
        for record in self.sent:
            if record.message_id == ref.message_id and record.chat == ref.chat:
                record.edits.append(message)
                return

    async def delete(self, ref: SentRef) -> None:
        self.sent = [r for r in self.sent if r.message_id != ref.message_id]

    async def answer_callback(self, callback_id: str, answer: CallbackAnswer) -> None:
        self.answers.append((callback_id, answer))

    async def download(self, file_id: str) -> bytes:
        return self.files[file_id]

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [r.message.text for r in self.sent if chat_id is None or r.chat.chat_id == chat_id]


@dataclass
class UpdateFactory:
    """Builds Incoming updates with fresh update ids."""

    channel: str = "telegram"
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def message(
        self,
        text: str,
        *,
        user_id: str = "100",
        chat_id: str | None = None,
        group: bool = False,
        first_name: str = "Tester",
        username: str | None = None,
        language_code: str | None = None,
        update_id: str | None = None,
    ) -> Incoming:
        command = parse_command(text) if text.startswith("/") else None
        chat = ChatRef(
            self.channel, chat_id or user_id, ChatKind.GROUP if group else ChatKind.PRIVATE
        )
        return Incoming(
            channel=self.channel,
            update_id=update_id or str(next(self._ids)),
            chat=chat,
            sender=Sender(user_id, first_name, username, language_code),
            date=datetime(2020, 4, 1, tzinfo=UTC),
            text=text,
            command=command.name if command else None,
            args=command.args if command else "",
            message_id=str(next(self._ids)),
            mentions=mentions(text),
        )

    def press(
        self,
        data: str,
        *,
        user_id: str = "100",
        chat_id: str | None = None,
        message_id: str = "1",
        language_code: str | None = None,
    ) -> Incoming:
        return Incoming(
            channel=self.channel,
            update_id=str(next(self._ids)),
            chat=ChatRef(self.channel, chat_id or user_id),
            sender=Sender(user_id, "Tester", None, language_code),
            date=datetime(2020, 4, 1, tzinfo=UTC),
            callback_data=data,
            callback_id=f"cb{next(self._ids)}",
            message_id=message_id,
        )
