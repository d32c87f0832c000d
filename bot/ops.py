"""GET /healthz and GET /metrics for operators and load balancers."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from sqlalchemy import text

from bot.core.app_context import AppContext
from bot.delivery.outbox import outbox_depth

log = logging.getLogger(__name__)


async def _database_ok(app: AppContext) -> bool:
    try:
        async with app.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        log.warning("health check: database unreachable", exc_info=True)
        return False
    return True


async def _redis_ok(url: str) -> bool:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(await client.ping())
    except Exception:
        log.warning("health check: redis unreachable", exc_info=True)
        return False
    finally:
        await client.aclose()


def ops_app(app: AppContext) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        checks = {"database": await _database_ok(app)}
        if app.settings.redis_url:
            checks["redis"] = await _redis_ok(app.settings.redis_url)
        healthy = all(checks.values())
        return web.json_response(
            {"status": "ok" if healthy else "unhealthy", "checks": checks},
            status=200 if healthy else 503,
        )

    async def metrics(request: web.Request) -> web.Response:
        try:
            async with app.db.transaction() as session:
                depth = await outbox_depth(session, app.clock.now())
            app.metrics.outbox_depth.set(depth.pending)
        except Exception:
            log.warning("metrics: outbox depth unavailable", exc_info=True)
        return web.Response(body=app.metrics.render(), content_type="text/plain", charset="utf-8")

    web_app = web.Application()
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics)
    return web_app


class OpsServer:
    def __init__(self, app: AppContext, host: str, port: int) -> None:
        self._runner = web.AppRunner(ops_app(app))
        self.host, self.port = host, port

    async def start(self) -> int:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        return self.port

    async def stop(self) -> None:
        await asyncio.shield(self._runner.cleanup())
