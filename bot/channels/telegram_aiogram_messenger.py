"""Sending to Telegram with aiogram's Bot: our messages in, platform answers as our errors out.

Apart from the runtime (telegram_aiogram.py) so that a process that only sends — the outbox
worker restarting mid-wave — imports aiogram's client and types, not its dispatcher, webhook
server and our whole core: every second of start-up is a second of the wave not sent.
"""

from __future__ import annotations

import contextlib
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods.base import Response
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup

from bot.channels.telegram_update import TELEGRAM, inline_keyboard
from bot.core.events import CallbackAnswer, ChatRef, OutMessage, SentRef
from bot.delivery.errors import (
    NotModified,
    Rejected,
    RetryAfter,
    ServerError,
    Transient,
    Unreachable,
)


def _markup(message: OutMessage) -> InlineKeyboardMarkup | None:
    raw = inline_keyboard(message.buttons)
    return InlineKeyboardMarkup.model_validate(raw) if raw else None


@contextlib.contextmanager
def _translated_errors() -> Any:
    try:
        yield
    except TelegramRetryAfter as exc:
        raise RetryAfter(float(exc.retry_after)) from exc
    except TelegramForbiddenError as exc:
        raise Unreachable(exc.message) from exc
    except TelegramBadRequest as exc:
        if "message is not modified" in exc.message:
            raise NotModified(exc.message) from exc
        raise Rejected(exc.message) from exc
    except TelegramServerError as exc:
        # A 5xx was not carried out: the rate-limit slot it took can be given back.
        raise ServerError(str(exc)) from exc
    except (TelegramNetworkError, TimeoutError) as exc:
        raise Transient(str(exc)) from exc


class AiogramMessenger:
    channel = TELEGRAM

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat: ChatRef, message: OutMessage) -> SentRef:
        with _translated_errors():
            if message.document is not None:
                sent = await self.bot.send_document(
                    chat.chat_id,
                    BufferedInputFile(message.document.content, message.document.filename),
                    caption=message.text or None,
                    reply_markup=_markup(message),
                )
            elif message.photo is not None:
                sent = await self.bot.send_photo(
                    chat.chat_id,
                    BufferedInputFile(message.photo.content, message.photo.filename),
                    caption=message.text or None,
                    reply_markup=_markup(message),
                )
            else:
                sent = await self.bot.send_message(
                    chat.chat_id,
                    message.text,
                    reply_markup=_markup(message),
                    disable_web_page_preview=message.disable_preview,
                )
        return SentRef(chat, str(sent.message_id))

    async def edit(self, ref: SentRef, message: OutMessage) -> None:
        with _translated_errors():
            await self.bot.edit_message_text(
                text=message.text,
                chat_id=ref.chat.chat_id,
                message_id=int(ref.message_id),
                reply_markup=_markup(message),
                disable_web_page_preview=message.disable_preview,
            )

    async def delete(self, ref: SentRef) -> None:
        with _translated_errors():
            await self.bot.delete_message(ref.chat.chat_id, int(ref.message_id))

    async def answer_callback(self, callback_id: str, answer: CallbackAnswer) -> None:
        with _translated_errors():
            await self.bot.answer_callback_query(callback_id, answer.text, show_alert=answer.alert)

    async def download(self, file_id: str) -> bytes:
        with _translated_errors():
            info = await self.bot.get_file(file_id)
            buffer = await self.bot.download_file(info.file_path or "")
        return buffer.read() if buffer else b""


class _Session(AiohttpSession):
    """aiogram's session, keeping the `Response[T]` types it validates answers with.

    aiogram writes `Response[method.__returning__]` for every answer, and pydantic keeps such
    parametrised classes only weakly: after each full garbage collection the next call builds
    the class again, ~3.5 ms of CPU (profiled at 9 % of the bot's CPU under load). Holding
    one reference per return type — a few dozen at most — keeps pydantic's cache warm.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._response_types: dict[Any, type] = {}

    def check_response(  # type: ignore[override]
        self, bot: Bot, method: Any, status_code: int, content: str
    ) -> Any:
        returning = method.__returning__
        if returning not in self._response_types:
            self._response_types[returning] = Response[returning]  # type: ignore[valid-type]
        return super().check_response(bot, method, status_code, content)


def make_bot(token: str, api_url: str) -> Bot:
    session = _Session(api=TelegramAPIServer.from_base(api_url.rstrip("/")))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode="HTML"))
