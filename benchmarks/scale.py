"""Several webhook instances on PostgreSQL and Redis: end-to-end updates/s and latency.

    python benchmarks/scale.py --instances 1|3 [--n 3000] [--users 1000] [--concurrency 50]
                               [--limits lifted|telegram] [--profile DIR]

A fresh PostgreSQL database with an organisation of --users people (units of 20) and a Redis
db of its own; N `congvu run` processes in webhook mode; the mock chat server in this process
pushing updates round-robin to all of them, as a load balancer would. Users send a mix of
commands (a check-in, /me, /help), each waiting for the bot's answer before the next, as
people do; latency runs from the control-API call to the answer in the chat.

Telegram lets a bot send about 30 messages a second in all: with every update answered, that
caps any number of instances at ~30 updates/s. `--limits telegram` measures exactly that;
the default, `lifted`, raises the bots' overall limit (per-chat limits stay) so the figure is
the instances' own capacity — what more instances buy for updates whose answers do not all
count against one bot's budget (several bots, Zalo, or paid broadcasts).

Prints one JSON line like benchmarks/e2e.py's, plus the CPU the machine spent: `cpu_busy`
is the share of all cores busy during the measured run (1.0 = the machine is the limit),
`cpu_s` the CPU seconds of the bot processes, of the PostgreSQL backends serving them and of
this process (mock and load), `per_instance` each bot's CPU and updates (from /metrics).
`cpu_busy` counts every process on the machine: run it on an otherwise idle one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.load import SERVE_LIFTED, ask, send_all
from bot.mockserver.server import MockServer
from storage.db import Database
from tests.scale.cluster import Cluster, fresh_database, metric, own_redis_db
from tests.scale.org import import_org, midday_zone, user_ids

COMMANDS = ("/diemdanh nha", "/me", "/help")
HANDLED = 'congvu_updates_total{channel="telegram",outcome="handled"}'


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [float(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def postgres_cpu(database_url: str) -> float:
    """CPU seconds of the PostgreSQL backends serving our database (their titles name it)."""
    name = database_url.rsplit("/", 1)[1]
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if title.startswith("postgres: ") and f" {name} " in title:
                total += process_cpu(int(entry.name))
        except (OSError, ValueError):
            continue  # gone meanwhile
    return total


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a live process."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (float(fields[11]) + float(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    users = user_ids(args.users)
    now = datetime.now(UTC)
    folder = Path(tempfile.mkdtemp(prefix="congvu-scale-"))
    async with (
        fresh_database("congvu_bench") as database_url,
        own_redis_db() as redis_url,
        MockServer(port=0) as mock,
        aiohttp.ClientSession(mock.base_url) as http,
    ):
        db = Database(database_url)
        try:
            await db.upgrade()
        finally:
            await db.dispose()
        await import_org(database_url, args.users, midday_zone(now), now)
        if args.limits == "telegram":
            # The platform's limits too: a 429 would show that ours let too much through.
            async with http.post("/_mock/limits", json={"enabled": True}) as response:
                response.raise_for_status()
        async with http.post(
            "/_mock/users",
            json=[{"id": u, "first_name": f"Cán bộ {u}", "language_code": "vi"} for u in users],
        ) as response:
            response.raise_for_status()
        launcher = ("-m", "bot.cli", "run")
        if args.limits == "lifted":
            launcher = SERVE_LIFTED
        cluster = Cluster(
            database_url,
            redis_url,
            mock.base_url,
            folder,
            scheduler_interval=30,
            log_level="WARNING",
            launcher=launcher,
        )
        profilers: list[asyncio.subprocess.Process] = []
        try:
            instances = await cluster.start(args.instances)
            if args.profile:
                # Sampled, not traced (cProfile would slow everything it measures): py-spy's
                # collapsed stacks, one file per instance (flamegraph.pl or speedscope draw
                # them). py-spy is not a dependency: `pip install py-spy`.
                for instance in instances:
                    output = Path(args.profile) / f"instance-{instance.index}.txt"
                    profiler = await asyncio.create_subprocess_exec(
                        "py-spy",
                        "record",
                        "--format",
                        "raw",
                        "--pid",
                        str(instance.pid),
                        "--output",
                        str(output),
                        "--duration",
                        str(args.profile_seconds),
                        "--rate",
                        "100",
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=asyncio.subprocess.DEVNULL,
                    )
                    profilers.append(profiler)
            async with http.post(
                "/_mock/webhook/targets", json=[i.webhook_url for i in instances]
            ) as response:
                response.raise_for_status()
            # Warm-up: a few answers from every instance (connection pools, first queries).
            await asyncio.gather(*(ask(http, u, "/start") for u in users[: 4 * len(instances)]))

            # People of all units at once, as on a city's morning; in id order the 50 senders
            # would all be in two or three units, queueing on their units' check-in locks.
            rng = random.Random(args.seed)
            order = rng.sample(users, len(users))
            # Drawn, not in turn: in turn, the round-robin pusher (also in turn over three
            # instances) sent every check-in to one instance and every /help to another.
            messages = [(order[i % len(order)], rng.choice(COMMANDS)) for i in range(args.n)]

            bots_before = [process_cpu(i.pid) for i in instances]
            postgres_before = postgres_cpu(database_url)
            own_before = _own_cpu()
            busy_before, total_before = cpu_times()
            started = time.perf_counter()
            latencies = await send_all(http, messages, args.concurrency)
            elapsed = time.perf_counter() - started
            busy_after, total_after = cpu_times()
            bots_cpu = [process_cpu(i.pid) - b for i, b in zip(instances, bots_before, strict=True)]
            own_cpu = _own_cpu() - own_before
            postgres = postgres_cpu(database_url) - postgres_before
            handled = [await metric(http, i, HANDLED) for i in instances]
            async with http.get("/_mock/stats") as response:
                stats = await response.json()
        except BaseException:
            print(f"bot logs: {folder}", file=sys.stderr)
            raise
        finally:
            for profiler in profilers:  # they write their file when their time is up
                try:
                    await asyncio.wait_for(profiler.wait(), args.profile_seconds + 10)
                except TimeoutError:
                    profiler.kill()
                    await profiler.wait()
            await cluster.stop()
    shutil.rmtree(folder, ignore_errors=True)
    latencies.sort()
    return {
        "instances": args.instances,
        "n": args.n,
        "users": args.users,
        "concurrency": args.concurrency,
        "limits": args.limits,
        "seconds": round(elapsed, 3),
        "updates_per_s": round(args.n / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "cpu_busy": round((busy_after - busy_before) / (total_after - total_before), 3),
        "cpu_s": {
            "bots": round(sum(bots_cpu), 1),
            "postgres": round(postgres, 1),
            "mock_and_load": round(own_cpu, 1),
        },
        "per_instance": {
            "cpu_s": [round(c, 1) for c in bots_cpu],
            "updates": [int(h) for h in handled],
        },
        "cores": os.cpu_count(),
        "429s": stats["rate_limited"],
    }


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--limits", choices=("lifted", "telegram"), default="lifted")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", help="folder for py-spy flame graphs of each instance")
    parser.add_argument("--profile-seconds", type=int, default=20)
    args = parser.parse_args()
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
