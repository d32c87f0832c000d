"""Driving the core without a chat framework: a user types, presses, reads."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app import Application
from bot.core.events import Attachment, Incoming, Outcome, OutMessage
from tests.fakes import FakeMessenger, Recorded, UpdateFactory


def shown(record: Recorded) -> OutMessage:
    """What the message looks like now (its latest edit)."""
    return record.edits[-1] if record.edits else record.message


@dataclass
class Talk:
    application: Application
    messenger: FakeMessenger
    updates: UpdateFactory

    async def say(self, user: str, text: str) -> Outcome:
        return await self.application.core.handle(self.updates.message(text, user_id=user))

    async def upload(
        self, user: str, filename: str, size: int, caption: str = "", file_id: str = "F1"
    ) -> Outcome:
        base = self.updates.message(caption, user_id=user)
        incoming = Incoming(
            channel=base.channel,
            update_id=base.update_id,
            chat=base.chat,
            sender=base.sender,
            date=base.date,
            text=caption,
            command=base.command,
            args=base.args,
            message_id=base.message_id,
            document=Attachment(file_id, filename, size, "application/pdf"),
        )
        return await self.application.core.handle(incoming)

    def messages(self, user: str) -> list[Recorded]:
        return [r for r in self.messenger.sent if r.chat.chat_id == user]

    def texts(self, user: str) -> list[str]:
        return [shown(r).text for r in self.messages(user)]

    def last(self, user: str) -> str:
        return self.texts(user)[-1]

    def button_labels(self, user: str) -> list[str]:
        record = self.messages(user)[-1]
        return [b.text for row in shown(record).buttons for b in row]

    async def press(self, user: str, label: str, *, pressed_by: str | None = None) -> Outcome:
        """Press the button containing ``label`` on the newest message in ``user``'s chat."""
        for record in reversed(self.messages(user)):
            for row in shown(record).buttons:
                for button in row:
                    if label in button.text and button.data:
                        incoming = self.updates.press(
                            button.data,
                            user_id=pressed_by or user,
                            chat_id=user,
                            message_id=record.message_id,
                        )
                        return await self.application.core.handle(incoming)
        raise AssertionError(f"no button {label!r} in chat {user}")
