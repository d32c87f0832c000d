"""ZaloHttp maps HTTP failures to the delivery layer's errors (no mock OA needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.channels.zalo.client import ZaloHttp
from bot.delivery.errors import RetryAfter, ServerError, Transient


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def answer(request: web.Request) -> web.Response:
        status = int(request.match_info["status"])
        if status == 429:
            return web.json_response({}, status=429, headers={"Retry-After": "7"})
        if status == 200:
            return web.Response(text="not json")
        return web.json_response({"error": 0}, status=status)

    app = web.Application()
    app.router.add_post("/{status}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def call(base: str, status: int) -> None:
    http = ZaloHttp(timeout=5)
    try:
        await http.request("POST", f"{base}/{status}", headers={}, json_body={})
    finally:
        await http.close()


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_5xx_is_a_server_error_so_its_rate_limit_slot_is_given_back(
    server: str, status: int
) -> None:
    with pytest.raises(ServerError, match=f"HTTP {status}"):
        await call(server, status)


async def test_a_429_says_how_long_to_wait(server: str) -> None:
    with pytest.raises(RetryAfter) as caught:
        await call(server, 429)
    assert caught.value.seconds == 7


async def test_a_garbled_answer_is_transient_but_not_a_server_error(server: str) -> None:
    with pytest.raises(Transient) as caught:
        await call(server, 200)
    assert not isinstance(caught.value, ServerError)
