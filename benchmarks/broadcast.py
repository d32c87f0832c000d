"""Broadcast benchmark: N private messages through the outbox, at Telegram's limits, with faults.

    python benchmarks/broadcast.py --n 3000 [--restart-at 0.5] [--seed S]
                                   [--database-url URL] [--redis-url URL]

Starts the mock chat server in this process with Telegram's flood limits on (~30 msg/s
overall, ~1/s per private chat, 20/min per group → 429) and seeded random faults on the
first sendMessage to some chats: 429 with retry_after, 500, slow answers, and timeouts (the
server holds the request past the client's timeout, then fails it, so the message was not
stored — the resend is not a duplicate). Creates N users, enqueues one message for each into
an outbox (a temporary SQLite file, or the given database: use a scratch one, its pending
rows are sent too), and runs the worker in a subprocess through Delivery with a real Telegram
client: python-telegram-bot's Bot by default, which imports in ~0.2 s, or `--client aiogram`,
whose import takes ~2.5 s on this machine (pydantic builds its ~300 Telegram types) — time a
restarted sender spends sending nothing. Both map the platform's answers to the same errors
(tests/conformance/test_error_mapping.py). With --restart-at F the sending process is killed
(SIGKILL) once a fraction F of the messages has arrived, started again, and finishes.

Prints one JSON line. `seconds` runs from the first message arriving to the last, so the
restart gap (a new process's start-up) and retry tails count; the first process's start-up
before anything is sent is reported apart as `startup_s`. `limit_per_s` is the platform's
overall limit; `lost` counts users who got nothing, `duplicated` extra copies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import astuple, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bot.core.events import ChatRef, OutMessage  # noqa: E402
from bot.delivery.outbox import DEAD, PENDING, enqueue  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models.delivery import OutboxMessage  # noqa: E402

TOKEN = "123456789:broadcast-benchmark"
LIMIT_PER_S = 30
FIRST_USER = 700_000_000


@dataclass(frozen=True)
class FaultMix:
    """Share of chats whose first sendMessage misbehaves, by kind."""

    rate_limited: float = 0.02  # 429 with retry_after 1-3 s
    server_error: float = 0.02  # 500
    slow: float = 0.01  # answers after 0.3-1.5 s
    timeout: float = 0.005  # held past the client's timeout, then 504


def plan_faults(n: int, rng: random.Random, mix: FaultMix, timeout: float) -> list[dict[str, Any]]:
    faults: list[dict[str, Any]] = []
    for index in range(n):
        chat_id = FIRST_USER + index
        roll = rng.random()
        base = {"method": "sendMessage", "chat_id": chat_id, "times": 1}
        edge = mix.rate_limited
        if roll < edge:
            faults.append({**base, "error_code": 429, "retry_after": rng.randint(1, 3)})
            continue
        edge += mix.server_error
        if roll < edge:
            faults.append({**base, "error_code": 500, "description": "Internal Server Error"})
            continue
        edge += mix.slow
        if roll < edge:
            faults.append({**base, "delay": round(rng.uniform(0.3, 1.5), 2)})
            continue
        edge += mix.timeout
        if roll < edge:
            faults.append({**base, "delay": timeout + 1.0, "error_code": 504})
    return faults


# -- the sending process ----------------------------------------------------------------------


async def run_worker(args: argparse.Namespace) -> None:
    from bot.clock import SystemClock
    from bot.delivery.limits import make_limiter
    from bot.delivery.outbox import OutboxWorker
    from bot.delivery.service import Delivery

    db = Database(args.database_url)
    delivery = Delivery(limiter=make_limiter(args.redis_url))
    if args.client == "aiogram":
        from bot.channels.telegram_aiogram_messenger import AiogramMessenger, make_bot

        bot = make_bot(TOKEN, args.api_url)
        # A request slower than this is abandoned and retried (aiogram's default is 60 s).
        bot.session.timeout = args.timeout
        delivery.register(AiogramMessenger(bot))
        close = bot.session.close
    else:
        from bot.channels.telegram_ptb_messenger import PtbMessenger, make_ptb_bot

        ptb_bot = make_ptb_bot(TOKEN, args.api_url, timeout=args.timeout)
        await ptb_bot.initialize()
        delivery.register(PtbMessenger(ptb_bot))
        close = ptb_bot.shutdown
    worker = OutboxWorker(
        db,
        delivery,
        SystemClock(),
        f"bench-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        lease=args.lease,
    )
    try:
        stats = await worker.drain(wait_for_pending=True)
    finally:
        await close()
        await delivery.aclose()
        await db.dispose()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = {**stats.__dict__, "cpu_s": round(usage.ru_utime + usage.ru_stime, 2)}
    print(json.dumps(report), flush=True)


# -- the benchmark ----------------------------------------------------------------------------


@dataclass
class Progress:
    launched: float = 0.0
    first: float | None = None
    last: float = 0.0
    count: int = 0
    restarts: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)
    worker_stats: list[dict[str, Any]] = field(default_factory=list)


def spawn(args: argparse.Namespace, api_url: str, database_url: str, log_path: Path) -> Any:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--api-url",
        api_url,
        "--database-url",
        database_url,
        "--timeout",
        str(args.timeout),
        "--lease",
        str(args.lease),
        "--client",
        args.client,
    ]
    if args.redis_url:
        command += ["--redis-url", args.redis_url]
    with log_path.open("ab") as log:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, cwd=ROOT)


async def enqueue_wave(db: Database, n: int, run_id: str) -> None:
    now = datetime.now(UTC)
    for start in range(0, n, 500):
        async with db.transaction() as session:
            for index in range(start, min(n, start + 500)):
                await enqueue(
                    session,
                    key=f"bench:{run_id}:{index}",
                    chat=ChatRef("telegram", str(FIRST_USER + index)),
                    message=OutMessage(f"Thông báo số {index}: họp giao ban lúc 8:00"),
                    not_before=now,
                    created_at=now,
                )


async def count_received(http: aiohttp.ClientSession, n: int) -> list[int]:
    limit = asyncio.Semaphore(32)

    async def one(index: int) -> int:
        async with limit, http.get(f"/_mock/chats/{FIRST_USER + index}/messages") as response:
            data = await response.json()
        return sum(1 for m in data["messages"] if m["from"]["is_bot"])

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def outbox_counts(db: Database) -> dict[str, int]:
    from sqlalchemy import func, select

    async with db.transaction() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {status: int(count) for status, count in rows}


async def benchmark(args: argparse.Namespace) -> tuple[dict[str, Any], Progress]:
    from bot.mockserver.server import MockServer

    rng = random.Random(args.seed)
    run_id = uuid.uuid4().hex[:8]
    scratch = Path(tempfile.mkdtemp(prefix="congvu-broadcast-"))
    database_url = args.database_url or f"sqlite+aiosqlite:///{scratch / 'outbox.sqlite3'}"
    log_path = scratch / "worker.log"

    mock = MockServer(port=0)
    await mock.start()
    db = Database(database_url)
    try:
        await db.create_all()
        async with aiohttp.ClientSession(mock.base_url) as http:

            async def post(path: str, body: Any) -> None:
                async with http.post(path, json=body) as response:
                    assert response.status == 200, await response.text()

            for start in range(0, args.n, 1000):
                users = range(start, min(args.n, start + 1000))
                await post(
                    "/_mock/users",
                    [{"id": FIRST_USER + i, "first_name": f"Cán bộ {i}"} for i in users],
                )
            mix = FaultMix(*(share * args.fault_scale for share in astuple(FaultMix())))
            faults = plan_faults(args.n, rng, mix, args.timeout)
            if faults:
                await post("/_mock/faults", faults)
            await post("/_mock/limits", {"enabled": True})
            await enqueue_wave(db, args.n, run_id)

            progress = Progress(launched=time.monotonic())
            process = spawn(args, mock.base_url, database_url, log_path)
            kill_at = None if args.restart_at is None else args.restart_at * args.n
            while True:
                async with http.get("/_mock/stats") as response:
                    count = int((await response.json())["messages_sent"])
                now = time.monotonic()
                progress.samples.append((round(now - progress.launched, 3), count))
                if count > progress.count:
                    progress.count, progress.last = count, now
                    if progress.first is None:
                        progress.first = now
                if kill_at is not None and count >= kill_at:
                    # Mid-wave, at whatever point the sends happen to be: no warning.
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                    process = spawn(args, mock.base_url, database_url, log_path)
                    progress.restarts += 1
                    kill_at = None
                code = process.poll()
                if code is not None:
                    output = process.stdout.read().decode() if process.stdout else ""
                    if code != 0:
                        raise SystemExit(f"worker failed ({code}); see {log_path}")
                    progress.worker_stats.append(json.loads(output.strip().splitlines()[-1]))
                    break
                await asyncio.sleep(0.05)

            received = await count_received(http, args.n)
            async with http.get("/_mock/stats") as response:
                stats = await response.json()
        statuses = await outbox_counts(db)
    finally:
        await db.dispose()
        await mock.stop()

    first = progress.first if progress.first is not None else progress.last
    seconds = progress.last - first
    msgs_per_s = sum(1 for c in received if c) / seconds if seconds > 0 else 0.0
    result = {
        "n": args.n,
        "seconds": round(seconds, 2),
        "msgs_per_s": round(msgs_per_s, 2),
        "limit_per_s": LIMIT_PER_S,
        "ratio_to_limit": round(msgs_per_s / LIMIT_PER_S, 3),
        "received_429": int(stats["errors"].get("429", 0)),
        "lost": sum(1 for c in received if c == 0),
        "duplicated": sum(c - 1 for c in received if c > 1),
        # Diagnostics beyond the required figures:
        "flood_control_429": int(stats["rate_limited"]),
        "faults_injected": len(faults),
        "restarts": progress.restarts,
        "startup_s": round(first - progress.launched, 2),
        "outbox_pending": statuses.get(PENDING, 0),
        "outbox_dead": statuses.get(DEAD, 0),
        "seed": args.seed,
        "worker": progress.worker_stats,
    }
    return result, progress


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--restart-at", type=float, default=None)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="", help="share the limits through Redis")
    parser.add_argument("--timeout", type=float, default=2.0, help="client request timeout, s")
    parser.add_argument(
        "--client",
        choices=("ptb", "aiogram"),
        default="ptb",
        help="Telegram client of the sending process (ptb starts in ~0.2 s, aiogram in ~2.5 s)",
    )
    parser.add_argument("--lease", type=float, default=10.0, help="outbox claim lease, s")
    parser.add_argument(
        "--fault-scale", type=float, default=1.0, help="multiply the fault shares (0: none)"
    )
    parser.add_argument("--trace", default="", help="write (seconds, delivered) samples here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--api-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(run_worker(args))
        return
    if args.restart_at is not None and not 0 < args.restart_at < 1:
        parser.error("--restart-at is a fraction between 0 and 1")
    result, progress = asyncio.run(benchmark(args))
    if args.trace:
        Path(args.trace).write_text(json.dumps(progress.samples))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
