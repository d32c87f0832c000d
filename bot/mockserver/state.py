"""Everything one mock server remembers. One `MockState` per app; nothing module-level."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.mockserver.limits import RateLimiter

DEFAULT_BOT_USERNAME = "congvu_bot"
DEFAULT_BOT_FIRST_NAME = "Trợ lý Công vụ"
CHAT_TYPES = ("private", "group", "supergroup")


class Notifier:
    """Wakes every waiter on `notify()`; waiters re-check their own condition.

    Swapping in a fresh Event keeps `notify()` synchronous, so state mutations can call it
    without awaiting a lock.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], within: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, within)
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            event = self._event
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                return predicate()
        return True


@dataclass(slots=True)
class MockUser:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    # The user blocked the bot: sends to their private chat answer 403.
    blocked: bool = False

    def to_api(self) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": self.id,
            "is_bot": self.is_bot,
            "first_name": self.first_name,
        }
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                user[key] = value
        return user

    def to_control(self) -> dict[str, Any]:
        return {**self.to_api(), "blocked": self.blocked}


@dataclass(slots=True)
class MockChat:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    members: list[int] = field(default_factory=list)
    admins: list[int] = field(default_factory=list)

    def to_control(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "title": self.title,
            "username": self.username,
            "members": list(self.members),
            "admins": list(self.admins),
        }


@dataclass(slots=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def file_size(self) -> int:
        return len(self.data)


@dataclass(slots=True)
class StoredMessage:
    chat_id: int
    message_id: int
    sender_id: int
    from_bot: bool
    # The Message exactly as the bot receives it (parsed text + entities, inline markup only).
    payload: dict[str, Any]
    # What the bot sent, before Telegram parsed it; the playground renders these.
    text_as_sent: str | None = None
    caption_as_sent: str | None = None
    parse_mode: str | None = None
    markup_as_sent: Any = None
    edited: bool = False
    deleted: bool = False
    version: int = 0


@dataclass(slots=True)
class PendingUpdate:
    update_id: int
    kind: str
    payload: dict[str, Any]
    chat_key: int | None

    def to_api(self) -> dict[str, Any]:
        return {"update_id": self.update_id, self.kind: self.payload}


@dataclass(slots=True)
class WebhookConfig:
    url: str
    token: str  # the bot that set it; methods returned in webhook replies run as this bot
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(slots=True)
class Fault:
    method: str  # lower-cased
    error_code: int | None
    description: str | None
    retry_after: int | None
    times: int
    chat_id: str | None = None
    delay: float = 0.0

    def to_control(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "error_code": self.error_code,
            "description": self.description,
            "retry_after": self.retry_after,
            "times": self.times,
            "chat_id": self.chat_id,
            "delay": self.delay,
        }


@dataclass(slots=True)
class CallbackRecord:
    id: str
    chat_id: int
    message_id: int
    from_id: int
    data: str
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int | None = None

    def to_control(self) -> dict[str, Any]:
        return {
            "callback_query_id": self.id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "from_id": self.from_id,
            "data": self.data,
            "answered": self.answered,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
            "cache_time": self.cache_time,
        }


@dataclass(slots=True)
class Stats:
    calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    messages_sent: int = 0
    documents_sent: int = 0
    photos_sent: int = 0
    messages_edited: int = 0
    messages_deleted: int = 0
    user_messages: int = 0
    callbacks_sent: int = 0
    updates_created: int = 0
    rate_limited: int = 0
    faults_triggered: int = 0
    webhook_pushes: int = 0
    webhook_failures: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "errors": dict(self.errors),
            "messages_sent": self.messages_sent,
            "documents_sent": self.documents_sent,
            "photos_sent": self.photos_sent,
            "messages_edited": self.messages_edited,
            "messages_deleted": self.messages_deleted,
            "user_messages": self.user_messages,
            "callbacks_sent": self.callbacks_sent,
            "updates_created": self.updates_created,
            "rate_limited": self.rate_limited,
            "faults_triggered": self.faults_triggered,
            "webhook_pushes": self.webhook_pushes,
            "webhook_failures": self.webhook_failures,
        }


UpdateListener = Callable[[PendingUpdate], None]


class MockState:
    def __init__(
        self,
        *,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_first_name: str = DEFAULT_BOT_FIRST_NAME,
        clock: Callable[[], float] = time.time,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.clock = clock
        self.limiter = limiter or RateLimiter()
        self.updates_changed = Notifier()
        self.messages_changed = Notifier()
        self.update_listeners: list[UpdateListener] = []
        self.closing = False
        self._init_data()

    def _init_data(self) -> None:
        self.users: dict[int, MockUser] = {}
        self.chats: dict[int, MockChat] = {}
        self.messages: dict[tuple[int, int], StoredMessage] = {}
        self.chat_log: dict[int, list[int]] = {}
        self._next_message_id: dict[int, int] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self.updates: dict[int, PendingUpdate] = {}
        # Like Telegram after a quiet spell, ids start at an unpredictable number: a bot whose
        # database outlives a mock server restart must not take new updates for old ones.
        self._next_update_id = secrets.randbelow(1 << 30) + 1
        self.allowed_updates: list[str] | None = None
        self.poll_generation = 0
        self.webhook: WebhookConfig | None = None
        self.webhook_targets: list[str] = []
        self.faults: list[Fault] = []
        self.stats = Stats()
        self.callbacks: dict[str, CallbackRecord] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        # Bumped on every message change; lets listings ask "what changed since V?".
        self.version = 0
        # Per chat, so a listing's wait can decide in O(1) whether to wake.
        self.last_bot_message_id: dict[int, int] = {}
        self.chat_edit_versions: dict[int, int] = {}

    def reset(self) -> None:
        self._init_data()
        self.limiter.reset()
        # Waiters re-check against the fresh data (their chats may be gone).
        self.updates_changed.notify()
        self.messages_changed.notify()

    def now(self) -> int:
        return int(self.clock())

    # -- people and chats -------------------------------------------------------------

    def bot_user(self, token: str) -> MockUser:
        return MockUser(
            id=int(token.split(":", 1)[0]),
            first_name=self.bot_first_name,
            username=self.bot_username,
            is_bot=True,
        )

    def add_user(self, user: MockUser) -> MockUser:
        self.users[user.id] = user
        chat = self.chats.get(user.id)
        if chat is None:
            self.chats[user.id] = MockChat(id=user.id, type="private", members=[user.id])
        return user

    def add_chat(self, chat: MockChat) -> MockChat:
        self.chats[chat.id] = chat
        return chat

    def find_chat(self, ref: int | str | None) -> MockChat | None:
        if ref is None:
            return None
        if isinstance(ref, str):
            wanted = ref.removeprefix("@").lower()
            return next(
                (c for c in self.chats.values() if c.username and c.username.lower() == wanted),
                None,
            )
        return self.chats.get(ref)

    def chat_user(self, chat: MockChat) -> MockUser | None:
        return self.users.get(chat.id) if chat.type == "private" else None

    # -- messages -----------------------------------------------------------------------

    def new_message_id(self, chat_id: int) -> int:
        next_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = next_id + 1
        return next_id

    def store_message(self, message: StoredMessage) -> StoredMessage:
        key = (message.chat_id, message.message_id)
        self.messages[key] = message
        self.chat_log.setdefault(message.chat_id, []).append(message.message_id)
        if message.from_bot:
            self.last_bot_message_id[message.chat_id] = message.message_id
        self.touch(message)
        return message

    def get_message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        return self.messages.get((chat_id, message_id))

    def chat_messages(self, chat_id: int) -> Iterator[StoredMessage]:
        for message_id in self.chat_log.get(chat_id, ()):
            yield self.messages[(chat_id, message_id)]

    def touch(self, message: StoredMessage) -> None:
        """Record a change to a message and wake whoever is watching that chat."""
        self.version += 1
        message.version = self.version
        if message.edited or message.deleted:
            self.chat_edit_versions[message.chat_id] = self.version
        self.messages_changed.notify()

    # -- files --------------------------------------------------------------------------

    def add_file(
        self,
        data: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> StoredFile:
        number = next(self._file_counter)
        prefix = "AgAC" if kind == "photos" else "BQAC"
        extension = ""
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1]
        elif kind == "photos":
            extension = ".jpg"
        stored = StoredFile(
            file_id=f"{prefix}{number:06d}{secrets.token_hex(10)}",
            file_unique_id=f"AQAD{number:06d}{secrets.token_hex(3)}",
            file_path=f"{kind}/file_{number}{extension}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    # -- updates ------------------------------------------------------------------------

    def enqueue_update(
        self, kind: str, payload: dict[str, Any], chat_key: int | None
    ) -> PendingUpdate:
        update = PendingUpdate(self._next_update_id, kind, payload, chat_key)
        self._next_update_id += 1
        self.updates[update.update_id] = update
        self.stats.updates_created += 1
        self.updates_changed.notify()
        for listener in list(self.update_listeners):
            listener(update)
        return update

    def confirm_updates(self, offset: int) -> None:
        """getUpdates with an offset forgets everything before it (negative: keep the tail)."""
        if offset < 0:
            keep = list(self.updates)[offset:]
            self.updates = {uid: self.updates[uid] for uid in keep}
            return
        for update_id in [uid for uid in self.updates if uid < offset]:
            del self.updates[update_id]

    def drop_updates(self) -> None:
        self.updates.clear()

    # -- faults -------------------------------------------------------------------------

    def take_fault(self, method: str, chat_id: int | str | None) -> Fault | None:
        lowered = method.lower()
        for fault in self.faults:
            if fault.method != lowered or fault.times == 0:
                continue
            if fault.chat_id is not None and fault.chat_id != str(chat_id):
                continue
            if fault.times > 0:
                fault.times -= 1
            if fault.times == 0:
                self.faults.remove(fault)
            self.stats.faults_triggered += 1
            return fault
        return None
