"""Two webhook instances of one bot on one database, the mock pushing round-robin between them
(as a load balancer would): a chat's updates are handled one at a time and in order across the
instances, and an update whose instance died before finishing is redelivered to the other one
and handled exactly once. Both Telegram runtimes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config import Settings
from bot.core.context import Ctx
from bot.core.events import Incoming, Outcome, OutMessage
from bot.runner import RunningBot, start_bot
from storage.models import ProcessedUpdate
from tests.chat import MockChatClient

SECRET = "cluster-secret"
Run = Callable[[Incoming], Awaitable[Outcome]]
Route = Callable[[Ctx], Awaitable[bool]]


@pytest.fixture(params=["aiogram", "ptb"])
def runtime(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def cluster(
    bot_settings: Settings, clock: ManualClock, chat: MockChatClient
) -> AsyncIterator[list[RunningBot]]:
    configured = bot_settings.model_copy(update={"webhook_secret": SECRET, "webhook_port": 0})
    bots: list[RunningBot] = []
    try:
        for schema in ("create", "none"):
            bots.append(await start_bot(configured, clock=clock, mode="webhook", schema=schema))
        urls = [f"http://127.0.0.1:{b.webhook_port}/telegram/webhook" for b in bots]
        await chat.post("/_mock/webhook/targets", {"urls": urls})
        yield bots
    finally:
        for running in reversed(bots):
            await running.stop()


def wrap(running: RunningBot, make: Callable[[Run], Run]) -> None:
    """Replace the core's handling step (after the journal check, before the journal record)."""
    core = running.application.core
    core._run = make(core._run)  # type: ignore[method-assign]


async def acknowledged(chat: MockChatClient, timeout: float = 5.0) -> None:
    """Wait until the mock holds no pending update: every push was answered 2xx."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await chat.get("/_mock/webhook"))["pending_update_count"]:
        assert loop.time() < deadline, "updates still pending at the mock"
        await asyncio.sleep(0.02)


async def journal_rows(running: RunningBot) -> int:
    async with running.application.app.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(ProcessedUpdate)) or 0)


async def test_a_chat_keeps_its_order_across_instances(
    cluster: list[RunningBot], chat: MockChatClient
) -> None:
    texts = [f"tin {i}" for i in range(6)]
    # The earlier a message, the slower its handling: had an instance acknowledged before
    # handling, the next message would reach the other instance and overtake this one.
    delays = {text: 0.05 * (len(texts) - i) for i, text in enumerate(texts)}
    log: list[tuple[str, str, str]] = []

    for name, running in zip(("A", "B"), cluster, strict=True):

        def make(_: Run, name: str = name, running: RunningBot = running) -> Run:
            async def slow_echo(incoming: Incoming) -> Outcome:
                log.append(("start", name, incoming.text))
                await asyncio.sleep(delays[incoming.text])
                delivery = running.application.app.delivery
                await delivery.send(incoming.chat, OutMessage(f"đã nhận {incoming.text}"))
                log.append(("end", name, incoming.text))
                return Outcome()

            return slow_echo

        wrap(running, make)

    lan = await chat.user(730001, "Lan")
    first = await lan.send(texts[0])
    for text in texts[1:]:
        await lan.send(text)  # in quick succession, before the first is handled
    replies = await lan.bot_replies(int(first["message_id"]), len(texts))
    assert [r["text"] for r in replies] == [f"đã nhận {t}" for t in texts]
    await acknowledged(chat)
    # Handled strictly one after the other (each ends before the next starts), in order,
    # and by both instances.
    pairs = [(log[i], log[i + 1]) for i in range(0, len(log), 2)]
    assert all(s[0] == "start" and e == ("end", s[1], s[2]) for s, e in pairs), log
    assert [t for edge, _, t in log if edge == "start"] == texts
    assert {n for _, n, _ in log} == {"A", "B"}
    assert sum(b.application.core.stats.duplicates for b in cluster) == 0


async def test_an_update_cut_short_is_redelivered_to_the_other_instance_and_handled_once(
    cluster: list[RunningBot], chat: MockChatClient
) -> None:
    calls: list[str] = []

    for name, running in zip(("A", "B"), cluster, strict=True):
        core = running.application.core

        async def dies_first(ctx: Ctx, name: str = name, real: Route = core._route) -> bool:
            calls.append(name)
            if len(calls) == 1:
                # The instance goes away inside the handler, before anything is committed.
                raise asyncio.CancelledError
            return await real(ctx)

        core._route = dies_first  # type: ignore[method-assign]

    minh = await chat.user(730002, "Minh")
    [greeting] = await minh.ask("/start")
    assert greeting["text"].startswith("Xin chào Minh")
    await acknowledged(chat)
    assert calls == ["A", "B"]  # not acknowledged by A; the redelivery went to B
    stats = await chat.stats()
    assert stats["webhook_failures"] >= 1, stats
    assert sum(b.application.core.stats.handled for b in cluster) == 1
    assert await journal_rows(cluster[0]) == 1
    # Nothing more comes: no second greeting, no further delivery.
    assert await chat.messages(730002, int(greeting["message_id"]), wait=0.3) == []
    assert calls == ["A", "B"]


async def test_a_failing_handler_is_apologised_for_and_acknowledged(
    cluster: list[RunningBot], chat: MockChatClient
) -> None:
    for running in cluster:
        core = running.application.core

        async def broken(ctx: Ctx) -> bool:
            raise RuntimeError("a bug")

        core._route = broken  # type: ignore[method-assign]

    hoa = await chat.user(730003, "Hoa")
    [apology] = await hoa.ask("/start")
    assert apology["text"] == cluster[0].application.app.i18n.gettext("vi", "core.apology")
    # The apology path counts as handled: answered 200, recorded, never redelivered.
    await acknowledged(chat)
    assert await chat.messages(730003, int(apology["message_id"]), wait=0.3) == []
    stats = await chat.stats()
    assert stats["webhook_failures"] == 0, stats
    assert await journal_rows(cluster[0]) == 1
