"""The Zalo OA webhook: verify the signature over the raw bytes, acknowledge, hand over.

Zalo expects a 200 within about two seconds and otherwise retries the same event (after
30 s, 5 min, 15 min, 30 min and 1 h). So nothing slow happens here: a verified event is
passed to `accept` (which only schedules work) and answered at once. Retries and replays are
recognised by the message id: cheaply here, durably by the core's update journal.

This is unlike the Telegram webhooks, which answer only after handling (Telegram waits for
the answer before sending the chat's next update and redelivers on failure, so ordering
across instances and redelivery after a crash come from the platform). Acknowledging first
means: an event whose instance dies before handling it is lost (Zalo got its 200), and a
user's events are kept in order only within one instance (ZaloRuntime chains them per user);
two events of one user that a load balancer spreads over two instances may be handled at the
same time. Handling before answering is not an option within Zalo's two seconds.

Statuses: 401 when the signature is missing or wrong, 400 when the body is not an event,
403 when it is correctly signed but refused (too old or too far in the future, another app).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.channels.zalo import protocol
from bot.clock import Clock

log = logging.getLogger(__name__)


class WebhookRejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ZaloEvent:
    name: str
    user_id: str
    at: datetime
    timestamp: str
    msg_id: str | None = None
    text: str = ""
    body: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> str:
        """What makes this event unique: Zalo's msg_id; follows have none, so who and when."""
        return self.msg_id or f"{self.name}:{self.user_id}:{self.timestamp}"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else str(value) if isinstance(value, int) else ""


def _timestamp(body: dict[str, Any]) -> tuple[str, datetime]:
    raw = body.get(protocol.F_TIMESTAMP)
    text = _str(raw).strip()
    try:
        millis = int(text)
        return text, datetime.fromtimestamp(millis / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        raise WebhookRejected(400, "no valid timestamp") from None


@dataclass
class SignatureVerifier:
    app_id: str
    oa_secret_key: str
    clock: Clock
    max_age: timedelta = timedelta(minutes=5)

    def verify(self, raw: bytes, header: str | None) -> dict[str, Any]:
        """The event body if `header` signs exactly these bytes recently; else WebhookRejected."""
        if not header:
            raise WebhookRejected(401, "missing signature")
        given = header.strip()
        if not given.startswith(protocol.SIGNATURE_PREFIX):
            raise WebhookRejected(401, "malformed signature")
        given = given[len(protocol.SIGNATURE_PREFIX) :].strip().lower()
        try:
            body = json.loads(raw)
        except ValueError:
            raise WebhookRejected(400, "body is not JSON") from None
        if not isinstance(body, dict):
            raise WebhookRejected(400, "body is not an event")
        timestamp, at = _timestamp(body)
        signed_id = _str(body.get(protocol.SIGNATURE_ID_FIELD))
        expected = protocol.signature(signed_id, raw, timestamp, self.oa_secret_key)
        if not hmac.compare_digest(given, expected):
            raise WebhookRejected(401, "wrong signature")
        app_id = _str(body.get(protocol.F_APP_ID))
        if self.app_id and app_id and app_id != self.app_id:
            raise WebhookRejected(403, "event for another app")
        age = self.clock.now() - at
        if abs(age) > self.max_age:
            # A correctly signed but old event is a replay (or a very late retry).
            raise WebhookRejected(403, f"stale event ({age.total_seconds():.0f}s old)")
        return body


def parse_event(body: dict[str, Any]) -> ZaloEvent | None:
    """The event in our terms, or None for events without a user (nothing to answer)."""
    name = _str(body.get(protocol.F_EVENT))
    if name in (protocol.EVENT_FOLLOW, protocol.EVENT_UNFOLLOW):
        who = body.get(protocol.F_FOLLOWER)
    else:
        who = body.get(protocol.F_SENDER)
    user_id = _str(who.get(protocol.F_ID)) if isinstance(who, dict) else ""
    if not name or not user_id:
        return None
    timestamp, at = _timestamp(body)
    message = body.get(protocol.F_MESSAGE)
    message = message if isinstance(message, dict) else {}
    msg_id = _str(message.get(protocol.F_MSG_ID)) or None
    text = _str(message.get(protocol.F_TEXT))
    return ZaloEvent(name, user_id, at, timestamp, msg_id, text, body)


class ZaloWebhook:
    """The aiohttp handler. `accept` must return quickly: it schedules, never awaits."""

    def __init__(
        self,
        verifier: SignatureVerifier,
        accept: Callable[[ZaloEvent], None],
        *,
        remember: int = 10_000,
    ) -> None:
        self.verifier = verifier
        self.accept = accept
        self.remember = remember
        # Recent event keys: a retry that arrives while the first copy is still being
        # handled (before the journal has recorded it) is dropped here.
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.rejected = 0
        self.duplicates = 0

    def _first_time(self, key: str) -> bool:
        if key in self._seen:
            return False
        self._seen[key] = None
        while len(self._seen) > self.remember:
            self._seen.popitem(last=False)
        return True

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = self.verifier.verify(raw, request.headers.get(protocol.SIGNATURE_HEADER))
            event = parse_event(body)
        except WebhookRejected as exc:
            self.rejected += 1
            log.warning(
                "zalo webhook refused from %s: %s (%d bytes)", request.remote, exc.reason, len(raw)
            )
            return web.json_response({"error": exc.reason}, status=exc.status)
        if event is None:
            log.info("zalo webhook: event without a user ignored: %s", body.get(protocol.F_EVENT))
            return web.json_response({"ok": True})
        if not self._first_time(event.key):
            self.duplicates += 1
            log.info(
                "zalo webhook: %s %s already received (retry %s); ignored",
                event.name,
                event.key,
                request.headers.get(protocol.RETRY_HEADER, "?"),
            )
            return web.json_response({"ok": True})
        self.accept(event)
        return web.json_response({"ok": True})
