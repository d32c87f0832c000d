"""`python -m bot.mockserver --port 8081`: the mock chat server on its own."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from bot.mockserver.server import serve_forever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.mockserver", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=None, help="accept only this bot token")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(args.host, args.port, token=args.token))


if __name__ == "__main__":
    main()
