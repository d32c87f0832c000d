"""Shared by the end-to-end benchmarks: a person writes and waits for the answer; the bot
served with Telegram's overall send limit lifted (`python -m benchmarks.load`), so a
benchmark measures the bot's own capacity rather than the 30 messages/s every bot gets."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import aiohttp


async def ask(http: aiohttp.ClientSession, user: int, text: str, timeout: float = 60) -> None:
    """One user writes in their private chat and waits for the bot's answer there."""
    async with http.post(
        "/_mock/messages", json={"chat_id": user, "from_id": user, "text": text}
    ) as response:
        sent = await response.json()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        wait = max(0.1, min(10.0, deadline - loop.time()))
        async with http.get(
            f"/_mock/chats/{user}/messages",
            params={"after_id": str(sent["message_id"]), "wait": str(wait)},
        ) as response:
            messages = (await response.json())["messages"]
        if any(m["from"]["is_bot"] for m in messages):
            return
    raise TimeoutError(f"no answer in chat {user} within {timeout} s")


async def wait_ready(http: aiohttp.ClientSession, user: int, timeout: float = 60) -> None:
    """Send /start until the bot answers: it is up and taking updates."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            await ask(http, user, "/start", timeout=2)
            return
        except TimeoutError:
            continue
    raise SystemExit("the bot did not answer within the time limit")


# Messages per second overall: never the binding limit; per-chat limits stay as they are.
LIFTED = 100_000
SERVE_LIFTED = ("-m", "benchmarks.load")


def serve_with_lifted_limits() -> int:
    """`congvu run` with Telegram's overall limit raised (per-chat limits kept)."""
    from bot.cli import main as cli_main
    from bot.delivery import limits

    limits.TELEGRAM_LIMITS = dataclasses.replace(limits.TELEGRAM_LIMITS, overall=LIFTED)
    return cli_main(["run"])


if __name__ == "__main__":
    raise SystemExit(serve_with_lifted_limits())


async def send_all(
    http: aiohttp.ClientSession, messages: list[tuple[int, str]], concurrency: int
) -> list[float]:
    """Send `messages` (user, text) with `concurrency` senders, each waiting for the answer;
    a person's next message waits for their previous answer, as people do. Returns the
    latencies in seconds, in completion order."""
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)
    per_user = {user: asyncio.Lock() for user, _ in messages}
    latencies: list[float] = []

    async def sender() -> None:
        while True:
            try:
                user, text = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            async with per_user[user]:
                started = time.perf_counter()
                await ask(http, user, text)
                latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return latencies
