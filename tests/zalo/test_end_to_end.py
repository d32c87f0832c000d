"""The real app and Zalo runtime against the mock server's Zalo side, over HTTP both ways."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.channels.zalo import protocol
from bot.channels.zalo.runtime import ZaloRuntime
from bot.clock import ManualClock
from storage.models import ZaloToken
from tests.zalo.conftest import APP_ID, OA_SECRET, ZaloControl, millis, sqlite_url


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # SQLite keeps this suite fast; the token store's PostgreSQL behaviour is in test_tokens.
    return sqlite_url(tmp_path)


async def test_start_and_free_text_are_answered(zalo: ZaloRuntime, control: ZaloControl) -> None:
    lan = await control.citizen("8001", "Lan")
    [greeting] = await lan.ask("/start")
    # handlers/start.py's citizen greeting, with the name from Zalo's user profile.
    assert greeting["text"].startswith("Xin chào Lan!")
    assert "<b>" not in greeting["text"] and "/help" in greeting["text"]
    [answer] = await lan.ask("xin chào")
    assert answer["text"].strip()
    [help_] = await lan.ask("/help")
    assert "/start" in help_["text"]


async def test_follow_greets_and_pictures_get_please_type(
    zalo: ZaloRuntime, control: ZaloControl
) -> None:
    minh = await control.citizen("8002", "Minh")
    [greeting] = await minh.event("follow")
    assert greeting["text"].startswith("Xin chào Minh!")
    [please] = await minh.event("user_send_image")
    assert "gõ câu hỏi" in please["text"]
    [again] = await minh.event("user_send_sticker")
    assert again["text"] == please["text"]


async def test_buttons_round_trip(zalo: ZaloRuntime, control: ZaloControl) -> None:
    hoa = await control.citizen("8003", "Hoa")
    [choose] = await hoa.ask("/lang")
    payloads = [b["payload"] for b in choose["buttons"]]
    assert {b["type"] for b in choose["buttons"]} == {protocol.BUTTON_QUERY}
    assert "#q:lang:en" in payloads
    answers = await hoa.press("#q:lang:en")
    # The edit becomes one new message; the callback answer repeats it and is not sent twice.
    assert [m["text"] for m in answers] == ["Switched to English."]
    [help_] = await hoa.ask("/help")
    assert help_["text"].startswith("Commands you can use")


async def test_forged_and_replayed_webhooks_change_nothing(
    zalo: ZaloRuntime, control: ZaloControl, application: Application, clock: ManualClock
) -> None:
    an = await control.citizen("8004", "An")
    sent = await control.post("/_mock/zalo/messages", {"user_id": an.user_id, "text": "/help"})
    await control.messages(an.user_id, int(sent["id"]), wait=5)
    await asyncio.sleep(0.1)
    handled = application.core.stats.handled
    before = await control.messages(an.user_id)

    event = dict(sent["event"])
    event[protocol.F_MESSAGE] = {protocol.F_MSG_ID: "forged-1", protocol.F_TEXT: "/start"}
    wrong = await control.post(
        "/_mock/zalo/raw",
        {"body": event, "headers": {protocol.SIGNATURE_HEADER: "mac=" + "0" * 64}},
    )
    unsigned = await control.post("/_mock/zalo/raw", {"body": event})
    replay = await control.post("/_mock/zalo/replay", {"msg_id": sent["msg_id"]})
    old = dict(event, timestamp=str(millis(clock) - 10 * 60 * 1000))
    stale = await control.post("/_mock/zalo/raw", {"body": old, "sign": True})
    assert (wrong["status"], unsigned["status"], stale["status"]) == (401, 401, 403)
    assert replay["status"] == 200  # acknowledged, so Zalo stops retrying; not handled again

    await asyncio.sleep(0.3)
    assert await control.messages(an.user_id) == before
    assert application.core.stats.handled == handled
    assert zalo.webhook.rejected == 3 and zalo.webhook.duplicates == 1


async def test_signed_event_passes_and_same_bytes_resigned_differently_fail(
    zalo: ZaloRuntime, control: ZaloControl, clock: ManualClock
) -> None:
    binh = await control.citizen("8005", "Binh")
    await binh.ask("/start")  # Zalo lets the OA answer only users who have written to it
    binh_last = max(m["id"] for m in await control.messages("8005"))
    body = {
        "app_id": APP_ID,
        "event_name": "user_send_text",
        "timestamp": str(millis(clock)),
        "sender": {"id": "8005"},
        "recipient": {"id": "oa"},
        "message": {"msg_id": "hand-made-1", "text": "/help"},
    }
    raw = json.dumps(body)
    mac = protocol.signature_header(APP_ID, raw.encode(), body["timestamp"], OA_SECRET)
    # The same JSON with other spacing is other bytes: the signature no longer matches.
    respaced = await control.post(
        "/_mock/zalo/raw",
        {"body": json.dumps(body, indent=1), "headers": {protocol.SIGNATURE_HEADER: mac}},
    )
    assert respaced["status"] == 401
    good = await control.post(
        "/_mock/zalo/raw", {"body": raw, "headers": {protocol.SIGNATURE_HEADER: mac}}
    )
    assert good["status"] == 200
    [answer] = await control.messages("8005", after=binh_last, wait=5)
    assert "/start" in answer["text"]


async def test_expired_token_is_refreshed_once_and_rotated_pair_persisted(
    zalo: ZaloRuntime, control: ZaloControl, application: Application
) -> None:
    chi = await control.citizen("8006", "Chi")
    await chi.ask("/help")
    await control.post("/_mock/zalo/tokens/expire")
    [answer] = await chi.ask("/help")
    assert "/start" in answer["text"]
    tokens = await control.tokens()
    assert tokens["refreshes"] == 1 and tokens["token_refused"] == 1
    async with application.app.db.sessions() as session:
        row = await session.scalar(select(ZaloToken).where(ZaloToken.app_id == APP_ID))
    assert row is not None
    assert row.refresh_token.startswith("mock-refresh-") and row.version == 2
    assert row.access_token == zalo.tokens.pair.access_token
    # Still one refresh: the new token keeps working.
    await chi.ask("/help")
    assert (await control.tokens())["refreshes"] == 1


async def test_reply_window_closes_after_48_hours(
    zalo: ZaloRuntime, control: ZaloControl, application: Application, clock: ManualClock
) -> None:
    from bot.core.events import ChatRef, OutMessage
    from bot.delivery.errors import Rejected

    dung = await control.citizen("8007", "Dũng")
    await dung.ask("/help")
    delivery = application.app.delivery
    clock.advance(timedelta(hours=47))
    await delivery.send(ChatRef("zalo", "8007"), OutMessage("Hồ sơ của bạn đã có kết quả."))
    clock.advance(timedelta(hours=2))
    before = await control.messages("8007")
    try:
        await delivery.send(ChatRef("zalo", "8007"), OutMessage("Nhắc lại: hồ sơ đã có kết quả."))
    except Rejected:
        pass
    else:
        raise AssertionError("a send 49 hours after the user's last message went out")
    assert await control.messages("8007") == before


async def test_replay_after_a_restart_is_dropped_by_the_core_journal(
    zalo: ZaloRuntime, control: ZaloControl, application: Application
) -> None:
    em = await control.citizen("8008", "Em")
    sent = await control.post("/_mock/zalo/messages", {"user_id": em.user_id, "text": "/help"})
    await control.messages(em.user_id, int(sent["id"]), wait=5)
    await asyncio.sleep(0.1)
    before = await control.messages(em.user_id)
    duplicates = application.core.stats.duplicates
    zalo.webhook._seen.clear()  # what a restarted process would have forgotten
    replay = await control.post("/_mock/zalo/replay", {"msg_id": sent["msg_id"]})
    assert replay["status"] == 200
    await asyncio.sleep(0.3)
    assert application.core.stats.duplicates == duplicates + 1
    assert await control.messages(em.user_id) == before


async def test_one_users_messages_are_answered_in_order(
    zalo: ZaloRuntime, control: ZaloControl
) -> None:
    giang = await control.citizen("8009", "Giang")
    for text in ("/start", "/lang", "/help"):
        await control.post("/_mock/zalo/messages", {"user_id": giang.user_id, "text": text})
    for _ in range(50):
        answers = [m for m in await control.messages(giang.user_id) if m["from_bot"]]
        if len(answers) >= 3:
            break
        await asyncio.sleep(0.05)
    assert answers[0]["text"].startswith("Xin chào Giang!")
    assert answers[1]["buttons"] and not answers[2]["buttons"]
    assert answers[2]["text"].startswith("Các lệnh bạn dùng được")
