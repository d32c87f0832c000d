"""Shared by the end-to-end benchmarks: a person writes and waits for the answer; the bot
served with Telegram's overall send limit lifted (`python -m benchmarks.load`), so a
benchmark measures the bot's own capacity rather than the 30 messages/s every bot gets."""

from __future__ import annotations

import asyncio
import dataclasses

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
