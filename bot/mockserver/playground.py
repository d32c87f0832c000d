"""Serves the browser playground: one self-contained page shipped next to this module."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources

from aiohttp import web


def playground_html() -> str:
    return resources.files(__package__).joinpath("playground.html").read_text(encoding="utf-8")


def playground_handler() -> Callable[[web.Request], Awaitable[web.Response]]:
    page = playground_html()  # read once; the file ships with the package and never changes

    async def handle(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    return handle
