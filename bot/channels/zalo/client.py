"""One aiohttp session for the Zalo API and OAuth hosts; network trouble becomes Transient."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.delivery.errors import RetryAfter, ServerError, Transient


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]


class ZaloHttp:
    def __init__(self, *, timeout: float = 10.0) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop (aiohttp requires one).
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        json_body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        """The JSON answer. 5xx → ServerError (received, not carried out: the rate-limit slot
        is given back); timeouts, dropped connections and non-JSON → Transient."""
        try:
            async with self._get_session().request(
                method, url, headers=headers, json=json_body, data=form, params=params
            ) as response:
                raw = await response.read()
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Transient(f"zalo {url}: {exc.__class__.__name__}: {exc}") from exc
        if status == 429:
            raise RetryAfter(_seconds(retry_after))
        if status >= 500:
            raise ServerError(f"zalo {url}: HTTP {status}")
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            raise Transient(f"zalo {url}: HTTP {status}, not JSON") from None
        if not isinstance(body, dict):
            raise Transient(f"zalo {url}: HTTP {status}, unexpected answer")
        return Answer(status, body)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 1.0
    except ValueError:
        return 1.0
