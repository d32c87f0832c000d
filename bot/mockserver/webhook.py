"""Pushing updates to the bot's webhook the way Telegram does.

Updates of one chat go one at a time and in order: the next is sent only after the previous
was answered with 2xx, and a failed push is retried with backoff until it succeeds or the
webhook is removed. Different chats are pushed concurrently, up to `max_connections`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bot.mockserver.state import MockState, PendingUpdate, WebhookConfig

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Runs a Bot API method a webhook answered with (`{"method": "sendMessage", ...}`).
ReplyExecutor = Callable[[str, dict[str, Any]], Awaitable[None]]


class WebhookPusher:
    def __init__(
        self,
        state: MockState,
        *,
        timeout: float = 10.0,
        retry_initial: float = 0.05,
        retry_max: float = 2.0,
    ) -> None:
        self.state = state
        self.timeout = timeout
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.reply_executor: ReplyExecutor | None = None
        self._session: aiohttp.ClientSession | None = None
        self._queues: dict[int | None, deque[int]] = {}
        self._workers: dict[int | None, asyncio.Task[None]] = {}
        self._semaphore = asyncio.Semaphore(40)
        self._next_target = 0
        state.update_listeners.append(self._on_update)

    @property
    def active_workers(self) -> int:
        return len(self._workers)

    def activate(self) -> None:
        """Start pushing: called after setWebhook, covers updates that were already pending."""
        webhook = self.state.webhook
        if webhook is None:
            return
        self._semaphore = asyncio.Semaphore(max(1, webhook.max_connections))
        for update in list(self.state.updates.values()):
            self._enqueue(update)

    async def deactivate(self) -> None:
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers.clear()
        self._queues.clear()

    async def close(self) -> None:
        await self.deactivate()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _on_update(self, update: PendingUpdate) -> None:
        if self.state.webhook is not None:
            self._enqueue(update)

    def _enqueue(self, update: PendingUpdate) -> None:
        queue = self._queues.setdefault(update.chat_key, deque())
        if update.update_id in queue:
            return
        queue.append(update.update_id)
        if update.chat_key not in self._workers:
            self._workers[update.chat_key] = asyncio.create_task(self._work(update.chat_key))

    async def _work(self, chat_key: int | None) -> None:
        queue = self._queues[chat_key]
        delay = self.retry_initial
        try:
            while queue and self.state.webhook is not None:
                update = self.state.updates.get(queue[0])
                if update is None:  # dropped meanwhile (drop_pending_updates, reset)
                    queue.popleft()
                    continue
                if await self._push(self.state.webhook, update):
                    self.state.updates.pop(update.update_id, None)
                    queue.popleft()
                    delay = self.retry_initial
                else:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.retry_max)
        finally:
            # No await between the loop's last check and here, so a new update for this chat
            # either joined the queue in time or will find no worker and start one.
            if self._workers.get(chat_key) is asyncio.current_task():
                del self._workers[chat_key]
            if self._queues.get(chat_key) is queue and not queue:
                del self._queues[chat_key]

    def _target(self, webhook: WebhookConfig) -> str:
        targets = self.state.webhook_targets
        if not targets:
            return webhook.url
        url = targets[self._next_target % len(targets)]
        self._next_target += 1
        return url

    async def _push(self, webhook: WebhookConfig, update: PendingUpdate) -> bool:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {SECRET_HEADER: webhook.secret_token} if webhook.secret_token else {}
        url = self._target(webhook)
        async with self._semaphore:
            try:
                async with self._session.post(
                    url,
                    json=update.to_api(),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.timeout),
                ) as response:
                    body = await response.read()
                    if 200 <= response.status < 300:
                        self.state.stats.webhook_pushes += 1
                        await self._run_reply(response.content_type, body)
                        return True
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc.__class__.__name__}: {exc}"
        self.state.stats.webhook_failures += 1
        webhook.last_error_date = self.state.now()
        webhook.last_error_message = error
        log.debug("webhook push of update %s to %s failed: %s", update.update_id, url, error)
        return False

    async def _run_reply(self, content_type: str, body: bytes) -> None:
        """Telegram executes a method returned in the webhook's response body."""
        if self.reply_executor is None or content_type != "application/json" or not body:
            return
        try:
            reply = json.loads(body)
        except ValueError:
            return
        if isinstance(reply, dict) and isinstance(reply.get("method"), str):
            params = {k: v for k, v in reply.items() if k != "method"}
            try:
                await self.reply_executor(reply["method"], params)
            except Exception:  # Telegram drops a failing webhook reply silently, so do we.
                log.debug("webhook reply %s failed", reply["method"], exc_info=True)
