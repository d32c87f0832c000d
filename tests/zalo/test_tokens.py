"""The single-use refresh token: rotated, persisted, spent once, adopted across instances."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select

from bot.app import Application
from bot.channels.zalo.client import ZaloHttp
from bot.channels.zalo.tokens import TokenError, ZaloTokens
from bot.clock import ManualClock
from bot.mockserver.server import MockServer
from storage.models import ZaloToken
from tests.zalo.conftest import APP_ID, APP_SECRET, ZaloControl


@pytest.fixture
async def http() -> AsyncIterator[ZaloHttp]:
    client = ZaloHttp(timeout=5)
    try:
        yield client
    finally:
        await client.close()


MakeTokens = Callable[..., ZaloTokens]


@pytest.fixture
def make_tokens(application: Application, mock: MockServer, http: ZaloHttp) -> MakeTokens:
    def make(access: str = "configured-access", refresh: str = "configured-refresh") -> ZaloTokens:
        return ZaloTokens(
            db=application.app.db,
            clock=application.app.clock,
            http=http,
            app_id=APP_ID,
            app_secret=APP_SECRET,
            oauth_url=mock.base_url,
            access_token=access,
            refresh_token=refresh,
        )

    return make


async def stored(application: Application) -> ZaloToken:
    async with application.app.db.sessions() as session:
        row = await session.scalar(select(ZaloToken).where(ZaloToken.app_id == APP_ID))
    assert row is not None
    return row


async def test_refresh_rotates_and_persists_and_each_refresh_token_is_used_once(
    make_tokens: MakeTokens, application: Application, control: ZaloControl
) -> None:
    await control.post("/_mock/zalo/tokens", {"app_secret": APP_SECRET})
    tokens = make_tokens()
    await tokens.load()
    row = await stored(application)
    assert (row.access_token, row.refresh_token, row.version) == (
        "configured-access",
        "configured-refresh",
        1,
    )

    first = await tokens.refresh("configured-access")
    row = await stored(application)
    assert first.startswith("mock-access-") and row.access_token == first
    assert row.refresh_token.startswith("mock-refresh-") and row.version == 2
    assert row.access_expires_at == application.app.clock.now() + timedelta(seconds=90000)

    second = await tokens.refresh(first)
    row2 = await stored(application)
    assert second != first and row2.refresh_token != row.refresh_token and row2.version == 3
    state = await control.tokens()
    # Two refreshes, two different refresh tokens, none refused (a reuse would be refused).
    assert (state["refreshes"], state["used_refresh_tokens"], state["refresh_refused"]) == (
        2,
        2,
        0,
    )

    # A restart with the same (now spent) configured token continues from the stored pair.
    restarted = make_tokens()
    await restarted.load()
    assert restarted.pair.access_token == second
    assert restarted.pair.refresh_token == row2.refresh_token


async def test_a_newly_configured_refresh_token_replaces_the_stored_pair(
    make_tokens: MakeTokens, application: Application
) -> None:
    await make_tokens().load()
    again = make_tokens("new-access", "new-refresh")
    await again.load()
    row = await stored(application)
    assert (row.refresh_token, row.version) == ("new-refresh", 2)
    assert again.pair.access_token == "new-access"


async def test_concurrent_refreshes_are_one(make_tokens: MakeTokens, control: ZaloControl) -> None:
    tokens = make_tokens()
    await tokens.load()
    results = await asyncio.gather(*(tokens.refresh("configured-access") for _ in range(5)))
    assert len(set(results)) == 1
    assert (await control.tokens())["refreshes"] == 1


async def test_another_instance_adopts_the_rotated_pair_instead_of_a_dead_token(
    make_tokens: MakeTokens, control: ZaloControl
) -> None:
    one, two = make_tokens(), make_tokens()
    await one.load()
    await two.load()
    fresh = await one.refresh("configured-access")
    # `two` still holds the spent refresh token; it must not use it.
    assert await two.refresh("configured-access") == fresh
    state = await control.tokens()
    assert (state["refreshes"], state["refresh_refused"]) == (1, 0)


async def test_token_known_to_expire_soon_is_refreshed_before_use(
    make_tokens: MakeTokens, clock: ManualClock, control: ZaloControl
) -> None:
    tokens = make_tokens()
    await tokens.load()
    assert await tokens.access_token() == "configured-access"  # expiry unknown: used as is
    fresh = await tokens.refresh("configured-access")
    clock.advance(timedelta(hours=24))
    assert await tokens.access_token() == fresh
    clock.advance(timedelta(seconds=90000 - 24 * 3600 - 60))  # within the 5-minute margin
    assert await tokens.access_token() != fresh
    assert (await control.tokens())["refreshes"] == 2


async def test_refused_refresh_token_is_a_token_error(
    make_tokens: MakeTokens, control: ZaloControl, mock: MockServer
) -> None:
    await control.post("/_mock/zalo/tokens", {"refresh_tokens": ["some-other-token"]})
    tokens = make_tokens()
    await tokens.load()
    with pytest.raises(TokenError):
        await tokens.refresh("configured-access")
    # And the mock refuses a refresh token the second time, as Zalo does.
    async with aiohttp.ClientSession() as session:
        form = {
            "app_id": APP_ID,
            "grant_type": "refresh_token",
            "refresh_token": "some-other-token",
        }
        for expected in (True, False):
            async with session.post(f"{mock.base_url}/v4/oa/access_token", data=form) as answer:
                assert ("access_token" in await answer.json()) is expected
