"""Three bot processes on one PostgreSQL and one Redis behind a round-robin webhook pusher.

The deployment of the README's Deployment section, end to end: N people check in (some twice
at once: the second update is pushed as soon as the first is acknowledged, mostly to another
instance, while the first is still being handled), a morning reminder wave starts, the
instance running the scheduler is SIGKILLed while it is deciding the wave, and the others
finish it. What must hold:

* every check-in is stored once (one attendance row, one event, one "recorded" reply each);
* every reminder is decided once and sent once, the unfinished part by a new leader;
* the mock's flood limits (Telegram's ~30 messages/s overall) are never exceeded: the shared
  Redis limiter keeps the three processes together under them;
* the survivors answer /healthz and count their sends in /metrics.

N is CONGVU_SCALE_USERS, 300 by default: every reply and reminder passes the shared 30/s
budget, so the run lasts about (2.1 N / 30 s) + the 15 s scheduler-lock TTL + start-up, ~50 s
at 300. The issue's 1,000 (`CONGVU_SCALE_USERS=1000`) passes too, in ~100 s.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
import asyncpg
from redis.asyncio import Redis

from bot.mockserver.client import MockClient
from bot.mockserver.server import MockServer
from bot.mockserver.state import MockState
from bot.scheduler.leader import REDIS_KEY
from tests.scale.cluster import Cluster, Instance, fresh_database, metric, own_redis_db
from tests.scale.org import MORNING, import_org, midday_zone, open_morning_wave, user_ids

N_USERS = int(os.environ.get("CONGVU_SCALE_USERS", "300"))
INSTANCES = 3
TWICE_EVERY = 10  # every tenth person sends the check-in twice
LIMIT_PER_SECOND = 30  # the mock's (and Telegram's) overall flood limit
MORNING_TEXT = "Chào buổi sáng"  # remind.checkin.morning in Vietnamese
RECORDED_TEXT = "Đã ghi nhận"  # checkin.recorded
UNCHANGED_TEXT = "không có gì thay đổi"  # checkin.unchanged


class SendLog:
    """Every send request reaching the mock's flood limiter (granted or refused), with the
    limiter's own clock: the mock keeps only whole-second message dates."""

    def __init__(self, state: MockState) -> None:
        self.attempts: list[float] = []
        self.granted: list[float] = []
        limiter = state.limiter
        original = limiter.acquire

        def acquire(chat_id: int, chat_type: str) -> int | None:
            now = limiter.clock()
            retry_after = original(chat_id, chat_type)
            self.attempts.append(now)
            if retry_after is None:
                self.granted.append(now)
            return retry_after

        limiter.acquire = acquire  # type: ignore[method-assign]


def busiest_second(stamps: list[float], window: float = 1.0) -> int:
    """The most stamps in any window of `window` seconds (sliding, not calendar seconds)."""
    ordered = sorted(stamps)
    most, first = 0, 0
    for last, stamp in enumerate(ordered):
        while ordered[first] <= stamp - window:
            first += 1
        most = max(most, last - first + 1)
    return most


async def eventually(
    check: Callable[[], Awaitable[bool] | bool], timeout: float, what: str, every: float = 0.1
) -> None:
    """Poll until `check()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        await asyncio.sleep(every)


async def bot_texts(mock: MockClient, chat_id: int) -> list[str]:
    listing = await mock.messages(chat_id)
    return [m["plain_text"] or "" for m in listing["messages"] if m["from"]["is_bot"]]


async def all_bot_texts(mock: MockClient, users: list[int]) -> dict[int, list[str]]:
    gate = asyncio.Semaphore(50)

    async def one(user: int) -> tuple[int, list[str]]:
        async with gate:
            return user, await bot_texts(mock, user)

    return dict(await asyncio.gather(*(one(u) for u in users)))


async def leader(cluster: Cluster, redis: Redis) -> Instance:
    """The instance holding the scheduler lock (RedisLeadership's token is "host:pid:…")."""
    token = await redis.get(REDIS_KEY)
    assert token is not None, "no instance holds the scheduler lock"
    pid = int(token.decode().split(":")[1])
    found = [i for i in cluster.instances if i.pid == pid]
    assert found, f"the lock is held by pid {pid}, none of ours"
    return found[0]


async def test_three_instances_share_checkins_reminders_and_limits(tmp_path: Path) -> None:
    started = time.monotonic()
    phases: dict[str, float] = {}
    users = user_ids(N_USERS)
    twice = users[::TWICE_EVERY]
    now = datetime.now(UTC)
    zone = midday_zone(now)
    today: date = now.astimezone(zone).date()

    async with (
        fresh_database() as database_url,
        own_redis_db() as redis_url,
        MockServer(port=0) as server,
        MockClient(server.base_url) as mock,
        aiohttp.ClientSession() as http,
    ):
        await mock.limits(True)
        sends = SendLog(server.state)
        # A bare DSN for asyncpg: the assertions read the tables directly.
        pg = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        redis = Redis.from_url(redis_url)
        cluster = Cluster(database_url, redis_url, server.base_url, tmp_path)
        try:
            # All three at once on an empty database: they must agree on one schema upgrade.
            instances = await cluster.start(INSTANCES)
            phases["start"] = time.monotonic() - started
            # Each instance registered its own URL with setWebhook; the load balancer spreads
            # updates over all three.
            await mock.request(
                "POST", "/_mock/webhook/targets", json=[i.webhook_url for i in instances]
            )
            await import_org(database_url, N_USERS, zone, now)
            await mock.request(
                "POST",
                "/_mock/users",
                json=[{"id": u, "first_name": f"Cán bộ {u}", "language_code": "vi"} for u in users],
            )

            # -- check-ins ------------------------------------------------------------------
            mark = time.monotonic()
            gate = asyncio.Semaphore(50)

            async def check_in(index: int, user: int) -> None:
                text = "/checkin home" if index % 2 else "/diemdanh nha"
                async with gate:
                    await mock.send(user, user, text)
                    if user in twice_set:
                        # At once, not after the answer: the second update goes to the next
                        # instance while the first may still be in the database.
                        await mock.send(user, user, text)

            twice_set = set(twice)
            await asyncio.gather(*(check_in(i, u) for i, u in enumerate(users)))
            expected_replies = N_USERS + len(twice)
            await eventually(
                lambda: server.state.stats.messages_sent >= expected_replies,
                timeout=30 + expected_replies / 10,
                what=f"{expected_replies} check-in replies",
            )
            phases["checkins"] = time.monotonic() - mark

            rows = await pg.fetch("SELECT person_id, version FROM attendance WHERE day = $1", today)
            assert len(rows) == N_USERS
            assert len({r["person_id"] for r in rows}) == N_USERS
            assert {r["version"] for r in rows} == {1}  # nobody's row was written twice
            events = await pg.fetch(
                "SELECT person_id, count(*) AS n FROM attendance_events WHERE day = $1 "
                "GROUP BY person_id",
                today,
            )
            assert len(events) == N_USERS and {e["n"] for e in events} == {1}
            replies = await all_bot_texts(mock, users)
            for user in users:
                texts = replies[user]
                assert len(texts) == (2 if user in twice_set else 1), (user, texts)
                assert sum(RECORDED_TEXT in t for t in texts) == 1, (user, texts)
                if user in twice_set:
                    assert sum(UNCHANGED_TEXT in t for t in texts) == 1, (user, texts)
            # The load balancer's part: every instance handled its share, none failed.
            handled = 'congvu_updates_total{channel="telegram",outcome="handled"}'
            shares = [await metric(http, i, handled) for i in instances]
            assert sum(shares) == expected_replies and min(shares) > 0, shares
            assert [await metric(http, i, "congvu_updates_total") for i in instances] == shares

            # -- the reminder wave, and the leader killed in the middle of deciding it -----
            mark = time.monotonic()
            first_leader = await leader(cluster, redis)
            await open_morning_wave(database_url, zone, datetime.now(UTC))

            async def decided() -> int:
                return int(
                    await pg.fetchval("SELECT count(*) FROM reminders WHERE kind = $1", MORNING)
                )

            async def started_deciding() -> bool:
                return await decided() > 0

            # Killed at its first decisions: most of the wave is still undecided, and its
            # outbox worker has hardly had time to claim a row (see the report for why a
            # message being sent at the very moment of the kill could go twice).
            await eventually(started_deciding, timeout=30, what="the wave to start", every=0.005)
            await cluster.kill(first_leader)
            killed_at = time.monotonic()
            # A COMMIT already on the wire still lands; then its decisions stay as they are
            # (the survivors cannot decide anything before the lock's TTL runs out).
            await asyncio.sleep(0.5)
            decided_by_first = await decided()
            survivors = cluster.alive
            await mock.request(
                "POST", "/_mock/webhook/targets", json=[i.webhook_url for i in survivors]
            )
            assert 0 < decided_by_first < N_USERS, "the kill did not land mid-wave"

            async def wave_done() -> bool:
                pending = await pg.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'")
                return await decided() == N_USERS and pending == 0

            await eventually(wave_done, timeout=60 + N_USERS / 10, what="the whole wave sent")
            phases["wave"] = time.monotonic() - mark
            phases["takeover_and_finish_after_kill"] = time.monotonic() - killed_at

            # A new leader, one of the survivors, decided the rest.
            new_leader = await leader(cluster, redis)
            assert new_leader in survivors
            decided_by_new = await metric(http, new_leader, 'congvu_reminders_total{result="sent"}')
            assert decided_by_new == N_USERS - decided_by_first

            reminders = await pg.fetch(
                "SELECT target, late, skipped FROM reminders WHERE kind = $1", MORNING
            )
            assert len({r["target"] for r in reminders}) == N_USERS
            assert not any(r["late"] or r["skipped"] for r in reminders)
            statuses = await pg.fetch(
                "SELECT status, count(*) AS n FROM outbox GROUP BY status ORDER BY status"
            )
            assert {s["status"]: s["n"] for s in statuses} == {"sent": N_USERS}

            replies = await all_bot_texts(mock, users)
            morning_counts = {u: sum(MORNING_TEXT in t for t in replies[u]) for u in users}
            assert {u: n for u, n in morning_counts.items() if n != 1} == {}

            # -- limits: the three processes together stayed under the platform's ------------
            stats = await mock.stats()
            busiest_attempts = busiest_second(sends.attempts)
            print(  # shown with -s: the figures behind the assertions
                f"\nusers={N_USERS} phases={ {k: round(v, 1) for k, v in phases.items()} } "
                f"decided_by_first={decided_by_first} 429s={stats['rate_limited']} "
                f"busiest_second: granted={busiest_second(sends.granted)} "
                f"attempted={busiest_attempts} sends={len(sends.granted)}"
            )
            # Requests the mock received, refused or not: the platform's view of our rate.
            assert busiest_attempts <= LIMIT_PER_SECOND
            assert stats["rate_limited"] == 0
            assert len(sends.granted) == expected_replies + N_USERS

            # -- operations endpoints on the survivors --------------------------------------
            for instance in survivors:
                async with http.get(instance.ops_url + "/healthz") as response:
                    assert response.status == 200
                    assert (await response.json())["checks"] == {"database": True, "redis": True}
                sent = await metric(http, instance, "congvu_messages_sent_total")
                assert sent > 0, f"instance {instance.index} sent nothing"
        except BaseException:
            _print_logs(cluster.instances)
            raise
        finally:
            await cluster.stop()
            await redis.aclose()
            await pg.close()
    print(f"total {time.monotonic() - started:.1f} s")


def _print_logs(instances: list[Instance]) -> None:
    for instance in instances:
        print(f"--- instance {instance.index} (pid {instance.pid}) ---\n{instance.log_tail(40)}")
