"""Assembling the mock chat server: the Bot API, the control API and the playground."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from bot.mockserver.botapi import execute, handle_bot_request, handle_file_download
from bot.mockserver.control import ControlApi
from bot.mockserver.params import Params
from bot.mockserver.playground import playground_handler
from bot.mockserver.state import DEFAULT_BOT_FIRST_NAME, DEFAULT_BOT_USERNAME, MockState
from bot.mockserver.webhook import WebhookPusher
from bot.mockserver.zalo import ZaloMock

log = logging.getLogger(__name__)

STATE_KEY = web.AppKey("congvu_mock_state", MockState)
PUSHER_KEY = web.AppKey("congvu_mock_pusher", WebhookPusher)
# Telegram accepts 50 MB uploads from bots; leave room for multipart overhead.
MAX_REQUEST_BYTES = 64 * 1024 * 1024


def create_app(
    *,
    token: str | None = None,
    bot_username: str = DEFAULT_BOT_USERNAME,
    bot_first_name: str = DEFAULT_BOT_FIRST_NAME,
    state: MockState | None = None,
) -> web.Application:
    """The mock as an aiohttp app. `token=None` accepts any well-formed `digits:secret` token."""
    state = state or MockState(bot_username=bot_username, bot_first_name=bot_first_name)
    pusher = WebhookPusher(state)

    async def run_webhook_reply(method: str, params: dict[str, Any]) -> None:
        if state.webhook is not None:
            await execute(state, pusher, state.webhook.token, method, Params(params))

    pusher.reply_executor = run_webhook_reply

    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[STATE_KEY] = state
    app[PUSHER_KEY] = pusher
    app.router.add_get("/", playground_handler())
    app.router.add_route(
        "*",
        "/bot{token}/{method}",
        partial(handle_bot_request, state=state, pusher=pusher, token=token),
    )
    app.router.add_get(
        "/file/bot{token}/{path:.+}", partial(handle_file_download, state=state, token=token)
    )
    ControlApi(state, pusher).register(app)
    ZaloMock().register(app)  # the Zalo OA API and /_mock/zalo/... on the same server

    async def on_shutdown(app: web.Application) -> None:
        # Long polls and listing waits would otherwise hold shutdown for their full timeout.
        state.closing = True
        state.updates_changed.notify()
        state.messages_changed.notify()
        await pusher.close()

    app.on_shutdown.append(on_shutdown)
    return app


class MockServer:
    """The app on a real socket; `async with MockServer() as server: server.base_url`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        **app_options: Any,
    ) -> None:
        self.host = host
        self.port = port
        self.app = create_app(token=token, **app_options)
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    @property
    def state(self) -> MockState:
        return self.app[STATE_KEY]

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the mock server is not started")
        return self._base_url

    async def start(self) -> str:
        if self._base_url is not None:
            return self._base_url
        # handler_cancellation: a poller that hangs up should not keep a long poll alive.
        runner = web.AppRunner(
            self.app, handler_cancellation=True, shutdown_timeout=5.0, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._base_url = f"http://{host}:{port}"
        return self._base_url

    async def stop(self) -> None:
        runner, self._runner, self._base_url = self._runner, None, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


async def serve_forever(host: str, port: int, *, token: str | None = None) -> None:
    """Run until cancelled (Ctrl+C under asyncio.run); used by `congvu mockserver --port P`."""
    server = MockServer(host, port, token=token)
    base_url = await server.start()
    log.info("mock chat server on %s (playground: %s/)", base_url, base_url)
    print(f"Mock chat server: {base_url}/bot<TOKEN>/<method>", flush=True)
    print(f"Playground: {base_url}/", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
