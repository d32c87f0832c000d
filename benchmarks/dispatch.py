"""Updates through the core in-process (no HTTP): throughput and latency.

python benchmarks/dispatch.py --n 20000 [--concurrency 64] [--database-url URL]
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import build_application
from bot.clock import SystemClock
from bot.config import load_settings
from bot.core.commands import parse_command
from bot.core.events import CallbackAnswer, ChatRef, Incoming, OutMessage, Sender, SentRef
from bot.delivery.service import Delivery


class NullMessenger:
    """Accepts every message instantly: measures the core, not a network."""

    channel = "telegram"

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.sent = 0

    async def send(self, chat: ChatRef, message: OutMessage) -> SentRef:
        self.sent += 1
        return SentRef(chat, str(next(self.ids)))

    async def edit(self, ref: SentRef, message: OutMessage) -> None:
        return None

    async def delete(self, ref: SentRef) -> None:
        return None

    async def answer_callback(self, callback_id: str, answer: CallbackAnswer) -> None:
        return None

    async def download(self, file_id: str) -> bytes:
        return b""


def make_updates(n: int, users: int) -> list[Incoming]:
    texts = ["/start", "/help", "/me"]
    now = datetime(2020, 4, 14, 2, tzinfo=UTC)
    out = []
    for i in range(n):
        user = str(300000 + i % users)
        text = texts[i % len(texts)]
        command = parse_command(text)
        assert command is not None
        out.append(
            Incoming(
                channel="telegram",
                update_id=str(i + 1),
                chat=ChatRef("telegram", user),
                sender=Sender(user, f"User {user}", None, "vi"),
                date=now,
                text=text,
                command=command.name,
                args=command.args,
                message_id=str(i + 1),
            )
        )
    return out


async def run(n: int, users: int, concurrency: int, database_url: str | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            database_url=database_url or f"sqlite+aiosqlite:///{folder}/bench.sqlite3",
            data_dir=Path(folder),
        )
        messenger = NullMessenger()
        delivery = Delivery()
        delivery.register(messenger)
        application = await build_application(settings, clock=SystemClock(), delivery=delivery)
        core = application.core
        updates = make_updates(n, users)
        # Warm-up: first contact of every user creates their identity.
        for update in make_updates(users, users):
            await core.handle(replace(update, update_id=f"warm-{update.update_id}"))
        latencies: list[float] = []
        queue: asyncio.Queue[Incoming] = asyncio.Queue()
        for update in updates:
            queue.put_nowait(update)

        async def worker() -> None:
            while True:
                try:
                    update = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                await core.handle(update)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        await application.close()
    latencies.sort()
    return {
        "n": n,
        "users": users,
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "updates_per_s": round(n / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 3),
        "messages_sent": messenger.sent,
        "database": "postgresql" if database_url and "postgres" in database_url else "sqlite",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.n, args.users, args.concurrency, args.database_url))))


if __name__ == "__main__":
    main()
