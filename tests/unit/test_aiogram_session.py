"""The aiogram session keeps the answer types it validates with (a CPU cost, not behaviour)."""

from __future__ import annotations

import gc
import json
import weakref

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import GetMyShortDescription
from aiogram.methods.base import Response
from aiogram.types import BotShortDescription

from bot.channels.telegram_aiogram_messenger import make_bot

# A method nothing else in the suite calls, so no other bot's session keeps its answer type.
ANSWER = json.dumps({"ok": True, "result": {"short_description": "Trợ lý công vụ"}})


def answer_type_survives_a_full_collection(bot: Bot) -> bool:
    method = GetMyShortDescription()
    response = bot.session.check_response(bot, method, 200, ANSWER)
    assert isinstance(response.result, BotShortDescription)
    assert response.result.short_description == "Trợ lý công vụ"
    alive = weakref.ref(Response[method.__returning__])  # type: ignore[name-defined]
    del response
    gc.collect()
    return alive() is not None


async def test_pydantic_drops_the_answer_type_unless_the_session_keeps_it() -> None:
    plain = Bot("1:a", session=AiohttpSession())
    ours = make_bot("1:a", "http://127.0.0.1:1")
    try:
        # The premise: without a reference, the type is rebuilt after every full collection.
        assert not answer_type_survives_a_full_collection(plain)
        assert answer_type_survives_a_full_collection(ours)
    finally:
        await plain.session.close()
        await ours.session.close()
