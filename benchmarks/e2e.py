"""The real runtime polling the mock chat server: N /start-like commands from many users.

python benchmarks/e2e.py --n 3000 [--users 500] [--concurrency 50] [--runtime aiogram|ptb]
The mock server and the load run in this process, the bot in its own (`congvu run`), as in
production. Prints one JSON line: {"n", "updates_per_s", "p50_ms", "p99_ms", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.load import SERVE_LIFTED, send_all, wait_ready
from bot.mockserver.server import MockServer

TOKEN = "123456789:bench-token"
COMMANDS = ("/start", "/help", "/me")


async def run(args: argparse.Namespace) -> dict[str, object]:
    mock = MockServer(port=0)
    base = await mock.start()
    users = list(range(400001, 400001 + args.users))
    folder = tempfile.mkdtemp()
    env = {
        **os.environ,
        "CONGVU_TELEGRAM_TOKEN": TOKEN,
        "CONGVU_TELEGRAM_API_URL": base,
        "CONGVU_TELEGRAM_RUNTIME": args.runtime,
        "CONGVU_DATABASE_URL": args.database_url or f"sqlite+aiosqlite:///{folder}/bench.sqlite3",
        "CONGVU_LOG_LEVEL": "WARNING",
    }
    async with aiohttp.ClientSession(base) as http:
        async with http.post(
            "/_mock/users",
            json=[{"id": u, "first_name": f"Người dùng {u}", "language_code": "vi"} for u in users],
        ) as response:
            response.raise_for_status()
        profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
        launcher = SERVE_LIFTED if args.limits == "lifted" else ("-m", "bot.cli", "run")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *profile,
            *launcher,
            env=env,
            cwd=str(Path(__file__).parents[1]),
        )
        try:
            await wait_ready(http, users[0])
            messages = [(users[i % len(users)], COMMANDS[i % 3]) for i in range(args.n)]
            started = time.perf_counter()
            latencies = await send_all(http, messages, args.concurrency)
            elapsed = time.perf_counter() - started
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
    await mock.stop()
    latencies.sort()
    return {
        "n": args.n,
        "users": args.users,
        "concurrency": args.concurrency,
        "runtime": args.runtime,
        "limits": args.limits,
        "seconds": round(elapsed, 3),
        "updates_per_s": round(args.n / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--runtime", choices=("aiogram", "ptb"), default="aiogram")
    parser.add_argument(
        "--limits",
        choices=("lifted", "telegram"),
        default="lifted",
        help="lifted (default): the bot's own capacity; telegram: capped at 30 messages/s",
    )
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--profile", help="write a cProfile of the bot process to this file")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
