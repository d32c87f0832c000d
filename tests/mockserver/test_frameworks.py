"""aiogram 3 and python-telegram-bot 22, unchanged, polling the mock over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.filters import Command
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from telegram import InlineKeyboardButton as PtbButton
from telegram import InlineKeyboardMarkup as PtbMarkup
from telegram import Update
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.mockserver import MockServer
from bot.mockserver.client import MockClient
from tests.mockserver.conftest import BOT_ID, TOKEN

# -- aiogram --------------------------------------------------------------------------------


def aiogram_dispatcher() -> Dispatcher:
    dp = Dispatcher()

    @dp.message(Command("start"))
    async def start(message: Message) -> None:
        assert message.from_user is not None
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Nhận việc", callback_data="accept")]]
        )
        await message.answer(
            f"Chào <b>{message.from_user.first_name}</b>", parse_mode="HTML", reply_markup=keyboard
        )

    @dp.message(Command("info"))
    async def info(message: Message, bot: Bot) -> None:
        chat = await bot.get_chat(message.chat.id)
        assert message.from_user is not None
        member = await bot.get_chat_member(message.chat.id, message.from_user.id)
        await message.answer(f"{chat.title}|{member.status}")
        await message.answer_document(
            BufferedInputFile("Nội dung".encode(), filename="báo cáo.txt"), caption="Báo cáo"
        )

    @dp.message(F.document)
    async def receive(message: Message, bot: Bot) -> None:
        assert message.document is not None
        downloaded = await bot.download(message.document)
        assert downloaded is not None
        await message.answer(f"Đã nhận {len(downloaded.read())} byte")

    @dp.callback_query(F.data == "accept")
    async def accept(query: CallbackQuery) -> None:
        await query.answer("Đã nhận", show_alert=True)
        assert isinstance(query.message, Message)
        await query.message.edit_text("Đã nhận việc")

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    return dp


@pytest.fixture
async def aiogram_bot(server: MockServer) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url), timeout=5)
    bot = Bot(TOKEN, session=session)
    yield bot
    await bot.session.close()


@pytest.fixture
async def aiogram_polling(aiogram_bot: Bot) -> AsyncIterator[Dispatcher]:
    dp = aiogram_dispatcher()
    task = asyncio.create_task(
        dp.start_polling(
            aiogram_bot, polling_timeout=1, handle_signals=False, close_bot_session=False
        )
    )
    yield dp
    await dp.stop_polling()
    await asyncio.wait_for(task, 5)


async def test_aiogram_conversation(
    aiogram_polling: Dispatcher, mock: MockClient, people: dict[str, int]
) -> None:
    sent = await mock.send(42, 42, "/start")
    [greeting] = await mock.wait_bot_messages(42, after_id=sent["message_id"])
    assert greeting["text"] == "Chào <b>Nguyễn Văn An</b>"
    assert greeting["plain_text"] == "Chào Nguyễn Văn An"
    assert greeting["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "accept"

    before = await mock.messages(42)
    query_id = await mock.press(42, 42, greeting["message_id"], "accept")
    answered = await mock.callback(query_id, wait=3)
    assert (answered["text"], answered["show_alert"]) == ("Đã nhận", True)
    listing = await mock.messages(
        42, after_id=greeting["message_id"], wait=3, since_version=before["version"]
    )
    [edited] = listing["messages"]
    assert (edited["text"], edited["edited"], edited["reply_markup"]) == (
        "Đã nhận việc",
        True,
        None,
    )

    echo_after = (await mock.send(42, 42, "Xin chào 👋"))["message_id"]
    [echo] = await mock.wait_bot_messages(42, after_id=echo_after)
    assert echo["text"] == "Xin chào 👋"


async def test_aiogram_group_info_documents_and_downloads(
    aiogram_polling: Dispatcher, mock: MockClient, people: dict[str, int]
) -> None:
    sent = await mock.send(-1001, 42, "/info@congvu_bot")
    replies = await mock.wait_bot_messages(-1001, after_id=sent["message_id"])
    if len(replies) < 2:
        replies += await mock.wait_bot_messages(-1001, after_id=replies[-1]["message_id"])
    assert replies[0]["text"] == "Phòng Hành chính|member"
    document = replies[1]["document"]
    assert document["file_name"] == "báo cáo.txt"
    assert await mock.download(document["download_url"]) == "Nội dung".encode()

    upload = await mock.send_document(42, 42, "đơn.pdf", b"%PDF-1.7 test")
    [ack] = await mock.wait_bot_messages(42, after_id=upload["message_id"])
    assert ack["text"] == "Đã nhận 13 byte"


async def test_aiogram_sees_telegram_errors_as_its_exceptions(
    aiogram_bot: Bot, mock: MockClient, people: dict[str, int]
) -> None:
    me = await aiogram_bot.get_me()
    assert (me.id, me.username) == (BOT_ID, "congvu_bot")
    await mock.fault("sendMessage", 429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as retry:
        await aiogram_bot.send_message(42, "x")
    assert retry.value.retry_after == 3
    await mock.add_user(44, "Lê Cường", blocked=True)
    with pytest.raises(TelegramForbiddenError):
        await aiogram_bot.send_message(44, "x")
    sent = await aiogram_bot.send_message(42, "giống nhau")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await aiogram_bot.edit_message_text("giống nhau", chat_id=42, message_id=sent.message_id)


# -- python-telegram-bot --------------------------------------------------------------------


async def ptb_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_user is not None
    keyboard = PtbMarkup([[PtbButton("Nhận việc", callback_data="accept")]])
    await update.effective_message.reply_text(
        f"Chào {update.effective_user.first_name}; tham số: {' '.join(context.args or [])}",
        reply_markup=keyboard,
    )


async def ptb_accept(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Đã nhận")
    await query.edit_message_text("Đã nhận việc")


async def ptb_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.document is not None
    data = await (await message.document.get_file()).download_as_bytearray()
    await message.reply_document(bytes(data), filename="bản sao.txt", caption="Bản sao")


def ptb_application(base_url: str) -> Application:
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{base_url}/bot")
        .base_file_url(f"{base_url}/file/bot")
        .get_updates_read_timeout(5)
        .build()
    )
    app.add_handler(CommandHandler("start", ptb_start))
    app.add_handler(CallbackQueryHandler(ptb_accept, pattern="^accept$"))
    app.add_handler(MessageHandler(filters.Document.ALL, ptb_document))
    return app


@pytest.fixture
async def ptb_app(server: MockServer) -> AsyncIterator[Application]:
    app = ptb_application(server.base_url)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1, allowed_updates=Update.ALL_TYPES)
        try:
            yield app
        finally:
            with contextlib.suppress(RuntimeError):
                await app.updater.stop()
            await app.stop()


async def test_ptb_conversation_and_documents(
    ptb_app: Application, mock: MockClient, people: dict[str, int]
) -> None:
    sent = await mock.send(42, 42, "/start hôm nay")
    [greeting] = await mock.wait_bot_messages(42, after_id=sent["message_id"])
    assert greeting["text"] == "Chào Nguyễn Văn An; tham số: hôm nay"

    before = await mock.messages(42)
    query_id = await mock.press(42, 42, greeting["message_id"], "accept")
    assert (await mock.callback(query_id, wait=3))["text"] == "Đã nhận"
    listing = await mock.messages(
        42, after_id=greeting["message_id"], wait=3, since_version=before["version"]
    )
    assert [m["text"] for m in listing["messages"]] == ["Đã nhận việc"]

    upload = await mock.send_document(42, 42, "kế hoạch.txt", "Kế hoạch tuần".encode())
    [copy] = await mock.wait_bot_messages(42, after_id=upload["message_id"])
    assert copy["document"]["file_name"] == "bản sao.txt"
    assert copy["caption"] == "Bản sao"
    assert await mock.download(copy["document"]["download_url"]) == "Kế hoạch tuần".encode()

    calls = (await mock.stats())["calls"]
    assert calls["deleteWebhook"] == 1  # PTB clears the webhook when polling starts
    assert calls["getFile"] == 1


async def test_ptb_sees_telegram_errors_as_its_exceptions(
    server: MockServer, mock: MockClient, people: dict[str, int]
) -> None:
    app = ptb_application(server.base_url)
    async with app:
        assert app.bot.id == BOT_ID
        await mock.fault("sendMessage", 429, retry_after=2)
        with warnings.catch_warnings():
            # PTB 22 warns that retry_after becomes a timedelta; accept either form.
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            with pytest.raises(RetryAfter) as retry:
                await app.bot.send_message(42, "x")
            retry_after = retry.value.retry_after
        seconds = retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after
        assert seconds == 2
        await mock.fault("sendMessage", 403)
        with pytest.raises(Forbidden):
            await app.bot.send_message(42, "x")
        with pytest.raises(BadRequest, match="Chat not found"):
            await app.bot.send_message(-999, "x")
        chat = await app.bot.get_chat(-1001)
        assert chat.title == "Phòng Hành chính"
        admins = await app.bot.get_chat_administrators(-1001)
        assert [a.status for a in admins] == ["creator", "administrator"]
