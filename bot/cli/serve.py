"""`congvu run`, `congvu demo` and `congvu mockserver`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import webbrowser

from bot.cli.common import CommandError
from bot.config import load_settings
from bot.runner import DEMO_TOKEN, start_bot


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return port


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run the bot against Telegram (needs CONGVU_TELEGRAM_TOKEN)")
    run.set_defaults(func=_run)

    demo = sub.add_parser(
        "demo", help="run the bot on SQLite with the mock chat server and a browser playground"
    )
    demo.add_argument("--port", type=_port, default=8081, help="mock chat server port (8081)")
    demo.add_argument("--no-browser", action="store_true", help="do not open a browser")
    demo.set_defaults(func=_demo)

    mock = sub.add_parser("mockserver", help="run only the mock chat server")
    mock.add_argument("--port", type=_port, default=8081)
    mock.add_argument("--host", default="127.0.0.1")
    mock.set_defaults(func=_mockserver)


async def _wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Windows' event loop has no signal handlers; Ctrl+C still ends the run there.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    running = await start_bot(settings)
    try:
        await _wait_for_stop()
    finally:
        await running.stop()
    return 0


async def _demo(args: argparse.Namespace) -> int:
    from bot.demo import seed_demo, start_demo_zalo
    from bot.mockserver.server import MockServer

    mock = MockServer(port=args.port)
    try:
        base = await mock.start()
    except OSError as exc:
        raise CommandError(f"cannot listen on port {args.port}: {exc.strerror}") from None
    settings = load_settings(
        telegram_token=DEMO_TOKEN,
        telegram_api_url=base,
        webhook_url="",
        zalo_app_id="",
        zalo_webhook_port=0,
        # Beside the playground's port, so two demos on different ports do not clash.
        ops_port=args.port + 9 if args.port else 0,
    )
    try:
        running = await start_bot(settings, mode="polling")
        try:
            await start_demo_zalo(running, base)
            people = await seed_demo(running.application, base)
            print(f"congvu demo is running. Playground: {base}/", flush=True)
            print(f"Database: {settings.resolved_database_url}", flush=True)
            print(f"Health and metrics: http://127.0.0.1:{running.ops_port}/healthz", flush=True)
            print("Demo people: " + ", ".join(people), flush=True)
            print("Press Ctrl+C to stop.", flush=True)
            if not args.no_browser:
                with contextlib.suppress(Exception):
                    webbrowser.open(f"{base}/")
            await _wait_for_stop()
        finally:
            await running.stop()
    finally:
        await mock.stop()
    return 0


async def _mockserver(args: argparse.Namespace) -> int:
    from bot.mockserver.server import serve_forever

    try:
        await serve_forever(args.host, args.port)
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    return 0
