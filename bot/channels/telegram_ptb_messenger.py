"""Sending to Telegram with python-telegram-bot's Bot: our messages in, answers as our errors.

Apart from the runtime (telegram_ptb.py) so that a process that only sends can use it without
the Application, webhook server and core. It starts fast: `telegram` imports in ~0.2 s where
aiogram takes ~2.5 s (pydantic builds its ~300 Telegram types at import), which is why the
broadcast benchmark's restartable sending process uses this client (see benchmarks/broadcast.py).
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Defaults, ExtBot
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.channels.telegram_update import TELEGRAM, inline_keyboard
from bot.core.events import CallbackAnswer, ChatRef, OutMessage, SentRef
from bot.delivery import errors


class PlatformServerError(NetworkError):
    """The Bot API answered 5xx. PTB raises a bare NetworkError for those — the same class as
    for a dropped connection — so the status is caught where it is still known."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class StatusAwareRequest(HTTPXRequest):
    """PTB's default request (same pool and timeouts), raising PlatformServerError on 5xx."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, payload = await super().do_request(
            url,
            method,
            request_data=request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if 500 <= code <= 599:
            raise PlatformServerError(_description(payload, code), code)
        return code, payload


def _description(payload: bytes, code: int) -> str:
    try:
        body = json.loads(payload)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("description"), str):
        return str(body["description"])
    return f"HTTP {code}"


@contextlib.contextmanager
def _translated_errors() -> Iterator[None]:
    try:
        yield
    except RetryAfter as exc:
        raise errors.RetryAfter(_seconds(exc)) from exc
    except Forbidden as exc:
        raise errors.Unreachable(exc.message) from exc
    except BadRequest as exc:
        if "message is not modified" in exc.message.lower():
            raise errors.NotModified(exc.message) from exc
        raise errors.Rejected(exc.message) from exc
    except PlatformServerError as exc:
        # A 5xx was not carried out: the rate-limit slot it took can be given back (as aiogram).
        raise errors.ServerError(exc.message) from exc
    except (TimedOut, NetworkError) as exc:
        raise errors.Transient(str(exc)) from exc


def _seconds(exc: RetryAfter) -> float:
    # PTB 22 returns an int and warns that a future version returns a timedelta.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


class PtbMessenger:
    channel = TELEGRAM

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    def _markup(self, message: OutMessage) -> InlineKeyboardMarkup | None:
        raw = inline_keyboard(message.buttons)
        return InlineKeyboardMarkup.de_json(raw, self.bot) if raw else None

    async def send(self, chat: ChatRef, message: OutMessage) -> SentRef:
        with _translated_errors():
            if message.document is not None:
                sent = await self.bot.send_document(
                    chat.chat_id,
                    InputFile(message.document.content, filename=message.document.filename),
                    caption=message.text or None,
                    reply_markup=self._markup(message),
                )
            elif message.photo is not None:
                sent = await self.bot.send_photo(
                    chat.chat_id,
                    InputFile(message.photo.content, filename=message.photo.filename),
                    caption=message.text or None,
                    reply_markup=self._markup(message),
                )
            else:
                sent = await self.bot.send_message(
                    chat.chat_id,
                    message.text,
                    reply_markup=self._markup(message),
                    disable_web_page_preview=message.disable_preview,
                )
        return SentRef(chat, str(sent.message_id))

    async def edit(self, ref: SentRef, message: OutMessage) -> None:
        with _translated_errors():
            await self.bot.edit_message_text(
                message.text,
                chat_id=ref.chat.chat_id,
                message_id=int(ref.message_id),
                reply_markup=self._markup(message),
                disable_web_page_preview=message.disable_preview,
            )

    async def delete(self, ref: SentRef) -> None:
        with _translated_errors():
            await self.bot.delete_message(ref.chat.chat_id, int(ref.message_id))

    async def answer_callback(self, callback_id: str, answer: CallbackAnswer) -> None:
        with _translated_errors():
            await self.bot.answer_callback_query(
                callback_id, text=answer.text, show_alert=answer.alert
            )

    async def download(self, file_id: str) -> bytes:
        with _translated_errors():
            file = await self.bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())


def make_ptb_bot(token: str, api_url: str, *, timeout: float | None = None) -> ExtBot[None]:
    """A Bot for the mock or the real Bot API (`api_url` without the /bot<token> part), HTML.

    `timeout`: seconds to connect, write and read before a request is abandoned (PTB's own
    defaults are 5 s each)."""
    base = api_url.rstrip("/")
    limits = {} if timeout is None else {"read_timeout": timeout, "write_timeout": timeout}
    if timeout is not None:
        limits["connect_timeout"] = timeout
    request = StatusAwareRequest(**limits)
    return ExtBot(
        token,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=request,
        defaults=Defaults(parse_mode="HTML"),
    )
