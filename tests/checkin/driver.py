"""Driving the core with no chat framework: people type and press, the test reads replies."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app import Application
from bot.core.events import Outcome, OutMessage
from tests.checkin.helpers import Member, button_data, current
from tests.fakes import FakeMessenger, Recorded, UpdateFactory


@dataclass
class Driver:
    application: Application
    messenger: FakeMessenger
    updates: UpdateFactory

    async def say(self, member: Member, text: str, *, language: str | None = None) -> Outcome:
        return await self.application.core.handle(
            self.updates.message(
                text,
                user_id=member.user_id,
                first_name=member.name,
                username=member.username,
                language_code=language,
            )
        )

    async def press(self, member: Member, record: Recorded, label: str) -> Outcome:
        """Press the button labelled ``label`` on a message as it reads now."""
        return await self.press_data(member, record, button_data(current(record), label))

    async def press_data(self, member: Member, record: Recorded, data: str) -> Outcome:
        return await self.application.core.handle(
            self.updates.press(data, user_id=member.user_id, message_id=record.message_id)
        )

    def sent_to(self, member: Member) -> list[Recorded]:
        return [r for r in self.messenger.sent if r.chat.chat_id == member.user_id]

    def last(self, member: Member) -> Recorded:
        sent = self.sent_to(member)
        assert sent, f"nothing sent to {member.name}"
        return sent[-1]

    def text(self, member: Member) -> str:
        """What the last message to ``member`` says now."""
        return current(self.last(member)).text

    def now(self, member: Member) -> OutMessage:
        return current(self.last(member))
