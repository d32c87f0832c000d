"""Several real bot processes on one PostgreSQL database and one Redis db, behind the mock.

Shared by the multi-instance test and `benchmarks/scale.py`: the pieces a deployment has
(a fresh database, a Redis db of our own, N `congvu run` processes in webhook mode, the mock
chat server pushing round-robin to all of them as a load balancer would) and the clean-up
that must happen whatever goes wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN_DSN = os.environ.get(
    "CONGVU_TEST_PG_DSN", f"postgresql://postgres@{PG_HOST}:{PG_PORT}/test"
)
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
TOKEN = "123456789:scale-test-token"
WEBHOOK_SECRET = "scale-test-secret"
REPO = Path(__file__).resolve().parents[2]
# Redis dbs this harness may use; one per run, claimed with a marker key so that two runs on
# one machine (two CI jobs, a benchmark beside the test) never flush each other's keys.
REDIS_DBS = tuple(range(15, 7, -1))
CLAIM_KEY = "congvu:scale:claimed"
CLAIM_SECONDS = 1800


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A port nothing listens on now (the bot needs a number: it cannot report port 0 back)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- PostgreSQL and Redis ------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fresh_database(prefix: str = "congvu_scale") -> AsyncIterator[str]:
    """A new, empty PostgreSQL database (SQLAlchemy URL), dropped afterwards."""
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@contextlib.asynccontextmanager
async def own_redis_db() -> AsyncIterator[str]:
    """A Redis db nobody else is using, flushed before and after (URL)."""
    from redis.asyncio import Redis

    token = uuid.uuid4().hex
    for db in REDIS_DBS:
        redis = Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
        try:
            if not await redis.set(CLAIM_KEY, token, nx=True, ex=CLAIM_SECONDS):
                continue
            # One transaction: nobody can claim the db between the flush and our marker.
            async with redis.pipeline(transaction=True) as pipe:
                await pipe.flushdb().set(CLAIM_KEY, token, ex=CLAIM_SECONDS).execute()
            try:
                yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"
            finally:
                await redis.flushdb()
            return
        finally:
            await redis.aclose()
    raise RuntimeError(f"every Redis db in {REDIS_DBS} is claimed by another run ({CLAIM_KEY})")


# -- bot processes -------------------------------------------------------------------------


@dataclass
class Instance:
    index: int
    process: asyncio.subprocess.Process
    webhook_port: int
    ops_port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.webhook_port}/telegram/webhook"

    @property
    def ops_url(self) -> str:
        return f"http://127.0.0.1:{self.ops_port}"

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Cluster:
    """N `congvu run` processes in webhook mode; always `await cluster.stop()` (try/finally)."""

    database_url: str
    redis_url: str
    mock_url: str
    log_dir: Path
    scheduler_interval: float = 1.0
    log_level: str = "INFO"
    extra_env: dict[str, str] = field(default_factory=dict)
    # argv before "-m bot.cli run": e.g. a wrapper module (the benchmark lifts flood limits).
    launcher: tuple[str, ...] = ("-m", "bot.cli", "run")
    instances: list[Instance] = field(default_factory=list)

    def env(self, webhook_port: int, ops_port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONGVU_")}
        env.update(
            {
                "CONGVU_DATABASE_URL": self.database_url,
                "CONGVU_REDIS_URL": self.redis_url,
                "CONGVU_TELEGRAM_TOKEN": TOKEN,
                "CONGVU_TELEGRAM_API_URL": self.mock_url,
                "CONGVU_WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/telegram/webhook",
                "CONGVU_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "CONGVU_WEBHOOK_PORT": str(webhook_port),
                "CONGVU_OPS_PORT": str(ops_port),
                "CONGVU_SCHEDULER_INTERVAL": str(self.scheduler_interval),
                "CONGVU_LOG_LEVEL": self.log_level,
                "CONGVU_DATA_DIR": str(self.log_dir / "data"),
                "PYTHONPATH": str(REPO),
            }
        )
        env.update(self.extra_env)
        return env

    async def start(self, count: int, *, timeout: float = 90.0) -> list[Instance]:
        """Start `count` processes at once (as a deployment restarts them) and wait until
        each one's /healthz answers 200."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        started: list[Instance] = []
        for _ in range(count):
            index = len(self.instances)
            webhook_port, ops_port = free_port(), free_port()
            log_path = self.log_dir / f"instance-{index}.log"
            with log_path.open("wb") as log:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    *self.launcher,
                    env=self.env(webhook_port, ops_port),
                    # Not the repository: a developer's .env there must not leak in.
                    cwd=str(self.log_dir),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                    # Its own session: a Ctrl-C meant for pytest does not reach it first;
                    # stop() ends it in order.
                    start_new_session=True,
                )
            instance = Instance(index, process, webhook_port, ops_port, log_path)
            self.instances.append(instance)
            started.append(instance)
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(self._wait_healthy(http, i, timeout) for i in started))
        return started

    async def _wait_healthy(
        self, http: aiohttp.ClientSession, instance: Instance, timeout: float
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if not instance.alive:
                raise RuntimeError(
                    f"instance {instance.index} exited with {instance.process.returncode}:\n"
                    + instance.log_tail()
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(
                    instance.ops_url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)
                ) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"instance {instance.index} not healthy:\n" + instance.log_tail())

    @property
    def alive(self) -> list[Instance]:
        return [i for i in self.instances if i.alive]

    def by_pid(self, pid: int) -> Instance:
        return next(i for i in self.instances if i.pid == pid)

    async def kill(self, instance: Instance) -> None:
        """SIGKILL: no clean-up, no lock released, as when a machine loses power."""
        if instance.alive:  # not yet reaped, so the pid is still this process's
            with contextlib.suppress(ProcessLookupError):
                instance.process.kill()
        await instance.process.wait()

    async def stop(self, grace: float = 10.0) -> None:
        """SIGTERM every live process, SIGKILL what has not exited after `grace` seconds."""
        for instance in self.alive:
            with contextlib.suppress(ProcessLookupError):
                instance.process.send_signal(signal.SIGTERM)
        for instance in self.instances:
            try:
                await asyncio.wait_for(instance.process.wait(), grace)
            except TimeoutError:
                await self.kill(instance)


async def metric(http: aiohttp.ClientSession, instance: Instance, name: str) -> float:
    """A sample on one instance's /metrics: `name` exactly as rendered with its labels, or a
    bare family name for the sum over all its labels; 0 when absent."""
    async with http.get(instance.ops_url + "/metrics") as response:
        response.raise_for_status()
        body = await response.text()
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            head, _, value = line.rpartition(" ")
            if head == name or head.startswith(name + "{"):
                total += float(value)
    return total
