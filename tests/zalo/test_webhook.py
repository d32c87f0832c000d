"""The webhook's signature check and de-duplication, without the core."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.channels.zalo import protocol
from bot.channels.zalo.webhook import (
    SignatureVerifier,
    WebhookRejected,
    ZaloEvent,
    ZaloWebhook,
    parse_event,
)
from bot.clock import ManualClock

APP_ID = "4321"
SECRET = "oa-secret"
NOW = datetime(2020, 4, 14, 2, 0, tzinfo=UTC)


def event_body(msg_id: str = "m1", text: str = "xin chào", at: datetime = NOW) -> bytes:
    body = {
        "app_id": APP_ID,
        "user_id_by_app": "77",
        "event_name": "user_send_text",
        "timestamp": str(int(at.timestamp() * 1000)),
        "sender": {"id": "77"},
        "recipient": {"id": "oa-1"},
        "message": {"msg_id": msg_id, "text": text},
    }
    return json.dumps(body, ensure_ascii=False).encode()


def mac(raw: bytes, secret: str = SECRET) -> str:
    timestamp = json.loads(raw)["timestamp"]
    return protocol.signature_header(APP_ID, raw, timestamp, secret)


@pytest.fixture
def verifier() -> SignatureVerifier:
    return SignatureVerifier(APP_ID, SECRET, ManualClock(NOW), timedelta(minutes=5))


def test_signature_is_plain_sha256_of_id_body_timestamp_secret() -> None:
    raw = b'{"a":1}'
    expected = hashlib.sha256(b"app" + raw + b"1586829600000" + b"key").hexdigest()
    assert protocol.signature("app", raw, "1586829600000", "key") == expected
    assert protocol.signature_header("app", raw, "1586829600000", "key") == "mac=" + expected


def test_right_signature_is_accepted(verifier: SignatureVerifier) -> None:
    raw = event_body()
    body = verifier.verify(raw, mac(raw))
    event = parse_event(body)
    assert event is not None
    assert (event.name, event.user_id, event.at, event.msg_id, event.text) == (
        "user_send_text",
        "77",
        NOW,
        "m1",
        "xin chào",
    )
    assert event.key == "m1"


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        ("", 401),
        ("sha256=abc", 401),  # not the mac= form
        ("mac=" + "0" * 64, 401),
        ("WRONG_SECRET", 401),
    ],
)
def test_missing_or_wrong_signature_is_refused(
    verifier: SignatureVerifier, header: str | None, status: int
) -> None:
    raw = event_body()
    if header == "WRONG_SECRET":
        header = mac(raw, "another-secret")
    with pytest.raises(WebhookRejected) as refused:
        verifier.verify(raw, header)
    assert refused.value.status == status


def test_signature_covers_the_raw_bytes(verifier: SignatureVerifier) -> None:
    raw = event_body()
    signature = mac(raw)
    respaced = json.dumps(json.loads(raw), indent=2).encode()  # same JSON, other bytes
    with pytest.raises(WebhookRejected):
        verifier.verify(respaced, signature)
    tampered = raw.replace("xin chào".encode(), b"/start")
    with pytest.raises(WebhookRejected):
        verifier.verify(tampered, signature)


@pytest.mark.parametrize(
    ("age", "accepted"),
    [
        (timedelta(minutes=4, seconds=59), True),
        (timedelta(minutes=5, seconds=1), False),
        (-timedelta(minutes=6), False),  # from the future: a clock far off, or a forgery
    ],
)
def test_stale_events_are_refused(
    verifier: SignatureVerifier, age: timedelta, accepted: bool
) -> None:
    raw = event_body(at=NOW - age)
    if accepted:
        assert verifier.verify(raw, mac(raw))["app_id"] == APP_ID
        return
    with pytest.raises(WebhookRejected) as refused:
        verifier.verify(raw, mac(raw))
    assert refused.value.status == 403


def test_event_of_another_app_is_refused(verifier: SignatureVerifier) -> None:
    raw = event_body().replace(f'"app_id": "{APP_ID}"'.encode(), b'"app_id": "999"')
    header = protocol.signature_header("999", raw, json.loads(raw)["timestamp"], SECRET)
    with pytest.raises(WebhookRejected) as refused:
        verifier.verify(raw, header)
    assert refused.value.status == 403


def test_follow_event_has_the_follower_as_user() -> None:
    event = parse_event(
        {
            "app_id": APP_ID,
            "event_name": "follow",
            "timestamp": "1586829600000",
            "follower": {"id": "55"},
            "oa_id": "oa-1",
        }
    )
    assert event is not None and event.user_id == "55" and event.msg_id is None
    assert event.key == "follow:55:1586829600000"


@pytest.fixture
async def endpoint(
    verifier: SignatureVerifier,
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], list[ZaloEvent]]]:
    accepted: list[ZaloEvent] = []
    hook = ZaloWebhook(verifier, accepted.append)
    app = web.Application()
    app.router.add_post("/zalo/webhook", hook.handle)
    async with TestClient(TestServer(app)) as client:
        yield client, accepted


async def test_http_statuses_and_nothing_accepted_when_refused(
    endpoint: tuple[TestClient[web.Request, web.Application], list[ZaloEvent]],
) -> None:
    client, accepted = endpoint
    raw = event_body()
    wrong = await client.post("/zalo/webhook", data=raw, headers={"X-ZEvent-Signature": "mac=1"})
    missing = await client.post("/zalo/webhook", data=raw)
    junk = await client.post(
        "/zalo/webhook", data=b"not json", headers={"X-ZEvent-Signature": "mac=1"}
    )
    assert (wrong.status, missing.status, junk.status) == (401, 401, 400)
    assert accepted == []
    ok = await client.post("/zalo/webhook", data=raw, headers={"X-ZEvent-Signature": mac(raw)})
    assert ok.status == 200
    assert [e.msg_id for e in accepted] == ["m1"]


async def test_retried_msg_id_is_acknowledged_but_not_accepted_again(
    endpoint: tuple[TestClient[web.Request, web.Application], list[ZaloEvent]],
) -> None:
    client, accepted = endpoint
    raw = event_body("m-retry")
    for attempt in range(3):
        headers = {"X-ZEvent-Signature": mac(raw), "num_retry": str(attempt)}
        response = await client.post("/zalo/webhook", data=raw, headers=headers)
        assert response.status == 200  # Zalo must stop retrying
    other = event_body("m-other")
    await client.post("/zalo/webhook", data=other, headers={"X-ZEvent-Signature": mac(other)})
    assert [e.msg_id for e in accepted] == ["m-retry", "m-other"]
