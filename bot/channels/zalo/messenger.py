"""Sending to citizens on Zalo: the core's messages through `POST /v3.0/oa/message/cs`.

Zalo cannot do several things Telegram can, and each has a deliberate answer here:
- no HTML: text is converted to plain text (tags dropped, entities unescaped, links spelled
  out), and cut into ≤ 2,000-character parts at paragraph, line or sentence boundaries;
- no message editing through the OA API: `edit` sends the new text as a new message, because
  the user must still see the outcome of a button press (a language choice, a confirmation);
- no callback answers ("toasts"): a non-empty answer is sent as a message, unless it repeats
  what the user was just told;
- no deleting: `delete` is logged and otherwise ignored;
- replies are free only within 48 hours of the user's last message: outside it a send is
  refused here (Rejected), before Zalo bills or refuses it.
"""

from __future__ import annotations

import html
import json
import logging
from collections import OrderedDict
from typing import Any

from bot.channels.zalo import protocol
from bot.channels.zalo.client import ZaloHttp
from bot.channels.zalo.contacts import ContactBook
from bot.channels.zalo.convert import chunks, fit_text, html_to_text, zalo_buttons
from bot.channels.zalo.tokens import TokenError, ZaloTokens
from bot.core.events import CallbackAnswer, ChannelName, ChatRef, OutMessage, SentRef
from bot.delivery.errors import DeliveryError, Rejected, RetryAfter, Unreachable

log = logging.getLogger(__name__)

ZALO = ChannelName.ZALO.value
# Text of a follow-up message that only carries buttons beyond Zalo's per-message maximum.
MORE_BUTTONS_TEXT = "…"


def callback_id(user_id: str, msg_id: str) -> str:
    """The core's callback id for a button press: who pressed, and which event it was."""
    return f"{user_id}/{msg_id}"


def _user_of_callback(callback: str) -> str:
    return callback.partition("/")[0]


def _error_code(body: dict[str, Any]) -> int:
    try:
        return int(body.get(protocol.F_ERROR, protocol.OK))
    except (TypeError, ValueError):
        return protocol.PARAMS_INVALID


class ZaloMessenger:
    channel = ZALO

    def __init__(
        self,
        *,
        http: ZaloHttp,
        tokens: ZaloTokens,
        contacts: ContactBook,
        api_url: str,
        max_parts: int = 3,
    ) -> None:
        self.http = http
        self.tokens = tokens
        self.contacts = contacts
        self.api_url = api_url.rstrip("/")
        self.max_parts = max_parts
        # Sends per user, so the runtime can tell whether the core answered at all.
        self.sends: dict[str, int] = {}
        # The last text each user was sent: a callback answer that repeats it is not sent.
        self._last_text: OrderedDict[str, str] = OrderedDict()
        # A long message goes out in parts; when a later part fails and delivery retries the
        # same message, the parts already delivered are not sent twice.
        self._progress: OrderedDict[tuple[str, int], tuple[OutMessage, list[str]]] = OrderedDict()

    # -- the Zalo API -------------------------------------------------------------------

    async def _api(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Call the OA API; on an invalid/expired token refresh once and retry once."""
        try:
            token = await self.tokens.access_token()
        except TokenError as exc:
            raise Rejected(str(exc)) from exc
        for attempt in (1, 2):
            answer = await self.http.request(
                method,
                self.api_url + path,
                headers={protocol.ACCESS_TOKEN_HEADER: token},
                json_body=json_body,
                params=params,
            )
            code = _error_code(answer.body)
            if code == protocol.OK and answer.status < 400:
                data = answer.body.get(protocol.F_DATA)
                return data if isinstance(data, dict) else {}
            if code in protocol.TOKEN_ERRORS and attempt == 1:
                log.info("zalo: access token refused (%d); refreshing", code)
                try:
                    token = await self.tokens.refresh(token)
                except TokenError as exc:
                    raise Rejected(str(exc)) from exc
                continue
            raise self._error(code, answer.status, answer.body, path)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _error(self, code: int, status: int, body: dict[str, Any], path: str) -> DeliveryError:
        message = str(body.get(protocol.F_ERROR_MESSAGE) or body.get("description") or "")
        what = f"zalo {path}: error {code} {message}".strip()
        if code in protocol.TOKEN_ERRORS:
            log.error("%s even after a token refresh; check the OA's authorisation", what)
            return Rejected(what)
        if code in protocol.USER_GONE_ERRORS:
            # Not following, or silent for too long: Zalo will refuse until the user writes.
            log.warning("%s; not retrying until the user writes again", what)
            return Unreachable(what)
        if code == protocol.RATE_LIMITED:
            return RetryAfter(protocol.RATE_LIMIT_BACKOFF_SECONDS)
        if code == protocol.OK:  # an HTTP error status without a Zalo error code
            what = f"zalo {path}: HTTP {status}"
        log.warning("%s; message dropped", what)
        return Rejected(what)

    # -- Messenger ----------------------------------------------------------------------

    def _bodies(self, user_id: str, message: OutMessage) -> list[dict[str, Any]]:
        text = html_to_text(message.text)
        if message.document is not None or message.photo is not None:
            # File upload (/v2.0/oa/upload/...) is not implemented: say so, send the words.
            log.warning("zalo: files are not sent on Zalo yet; %s got the text only", user_id)
        parts = fit_text(text, protocol.TEXT_LIMIT, self.max_parts)
        groups = chunks(zalo_buttons(message.buttons), protocol.MAX_BUTTONS)
        if not parts:
            if not groups:
                raise Rejected("zalo: nothing to send (empty text)")
            parts = [MORE_BUTTONS_TEXT]
        bodies = [protocol.text_body(user_id, part) for part in parts[:-1]]
        if groups:
            bodies.append(protocol.button_body(user_id, parts[-1], groups[0]))
            bodies += [protocol.button_body(user_id, MORE_BUTTONS_TEXT, g) for g in groups[1:]]
        else:
            bodies.append(protocol.text_body(user_id, parts[-1]))
        return bodies

    async def send(self, chat: ChatRef, message: OutMessage) -> SentRef:
        user_id = chat.chat_id
        if not await self.contacts.may_reply(user_id):
            log.warning(
                "zalo: not sending to %s: no message from them in the last %s (Zalo's free "
                "reply window); a proactive message would be billed or refused",
                user_id,
                protocol.REPLY_WINDOW,
            )
            raise Rejected("outside Zalo's 48-hour reply window")
        bodies = self._bodies(user_id, message)
        key = (user_id, id(message))
        _, sent_ids = self._progress.pop(key, (message, []))
        self._progress[key] = (message, sent_ids)  # keeps `message` alive, so id() is stable
        while len(self._progress) > 256:
            self._progress.popitem(last=False)
        for body in bodies[len(sent_ids) :]:
            data = await self._api("POST", protocol.SEND_CS_PATH, json_body=body)
            sent_ids.append(str(data.get(protocol.F_MESSAGE_ID) or ""))
            self.contacts.replied(user_id)
        self._progress.pop(key, None)
        self.sends[user_id] = self.sends.get(user_id, 0) + 1
        self._last_text[user_id] = bodies[-1][protocol.F_MESSAGE][protocol.F_TEXT]
        self._last_text.move_to_end(user_id)
        while len(self._last_text) > 10_000:
            self._last_text.popitem(last=False)
        return SentRef(chat, sent_ids[-1])

    async def edit(self, ref: SentRef, message: OutMessage) -> None:
        # The OA API has no edit: the user sees the new state as a new message instead.
        await self.send(ref.chat, message)

    async def delete(self, ref: SentRef) -> None:
        log.info("zalo: cannot delete message %s for %s; left as is", ref.message_id, ref.chat)

    async def answer_callback(self, callback_id: str, answer: CallbackAnswer) -> None:
        if not answer.text:
            return
        user_id = _user_of_callback(callback_id)
        if self._last_text.get(user_id) == answer.text.strip():
            return  # the handler already said it (an "edit" became this very message)
        await self.send(ChatRef(ZALO, user_id), OutMessage(html.escape(answer.text)))

    async def download(self, file_id: str) -> bytes:
        raise Rejected("zalo: files from users are not downloaded")

    async def display_name(self, user_id: str) -> str:
        """The user's Zalo name, or "" (best effort: a greeting can do without it)."""
        try:
            data = await self._api(
                "GET",
                protocol.USER_DETAIL_PATH,
                params={"data": json.dumps({protocol.F_RECIPIENT_USER: user_id})},
            )
        except DeliveryError as exc:
            log.info("zalo: no profile for %s: %s", user_id, exc)
            return ""
        name = data.get(protocol.F_DISPLAY_NAME)
        return name.strip() if isinstance(name, str) else ""
