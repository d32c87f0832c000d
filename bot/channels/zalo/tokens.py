"""The OA access token: refreshed with Zalo's single-use refresh token, rotated and persisted.

Zalo answers every refresh with a NEW refresh token and invalidates the old one, so the new
pair is written to the database before anything uses it; losing it means an operator must
authorise the OA again. Within one process a lock makes refreshes single-flight; across
instances the stored `version` tells an instance that another one has already rotated the
pair, and it adopts the stored pair instead of spending a dead refresh token.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.channels.zalo import protocol
from bot.channels.zalo.client import ZaloHttp
from bot.clock import Clock
from bot.delivery.errors import DeliveryError
from storage.db import Database
from storage.models import ZaloToken

log = logging.getLogger(__name__)


class TokenError(DeliveryError):
    """No usable token: the refresh token or the app secret was refused, or none is set.

    Retrying cannot help; an operator has to configure a new refresh token.
    """


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: datetime | None = None
    version: int = 0


def _seed(refresh_token: str) -> str:
    # Only a fingerprint is stored, to notice that the operator configured a new token.
    return hashlib.sha256(refresh_token.encode()).hexdigest() if refresh_token else ""


class ZaloTokens:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        http: ZaloHttp,
        app_id: str,
        app_secret: str,
        oauth_url: str,
        access_token: str = "",
        refresh_token: str = "",
        refresh_margin: timedelta = timedelta(minutes=5),
    ) -> None:
        self.db = db
        self.clock = clock
        self.http = http
        self.app_id = app_id
        self.app_secret = app_secret
        self.token_url = oauth_url.rstrip("/") + protocol.TOKEN_PATH
        self.refresh_margin = refresh_margin
        self._configured = TokenPair(access_token, refresh_token)
        self._pair = self._configured
        self._lock = asyncio.Lock()
        self.refreshes = 0

    @property
    def pair(self) -> TokenPair:
        return self._pair

    async def load(self) -> None:
        """Take the stored pair, unless the operator configured a refresh token not seen yet."""
        seed = _seed(self._configured.refresh_token)
        stored = await self._read()
        if stored is not None and (not seed or stored[1] == seed):
            self._pair = stored[0]
            return
        if not seed:
            if not self._configured.access_token:
                log.warning("zalo: no OA access or refresh token configured; sends will fail")
            return
        version = stored[0].version + 1 if stored is not None else 1
        pair = TokenPair(self._configured.access_token, self._configured.refresh_token, None, 0)
        try:
            await self._write(pair, version, seed)
        except IntegrityError:
            # Another instance stored the same configuration a moment ago.
            again = await self._read()
            if again is not None:
                self._pair = again[0]
                return
            raise
        self._pair = TokenPair(pair.access_token, pair.refresh_token, None, version)
        log.info("zalo: using the configured OA tokens (stored as version %d)", version)

    async def access_token(self) -> str:
        """A token to send with; refreshed first if it is known to expire soon."""
        pair = self._pair
        due = pair.expires_at is not None and self.clock.now() >= (
            pair.expires_at - self.refresh_margin
        )
        if (not pair.access_token or due) and pair.refresh_token:
            try:
                return await self.refresh(pair.access_token)
            except TokenError:
                if not pair.access_token:
                    raise
                log.exception("zalo: early token refresh failed; trying the current token")
        if not pair.access_token:
            raise TokenError("no Zalo OA access token and no refresh token configured")
        return pair.access_token

    async def refresh(self, used: str) -> str:
        """A new access token after `used` was refused; refreshes at most once per token."""
        async with self._lock:
            if self._pair.access_token and self._pair.access_token != used:
                return self._pair.access_token  # refreshed while this caller waited
            stored = await self._read()
            if stored is not None and stored[0].version > self._pair.version:
                # Another instance rotated the pair: its refresh token is the live one.
                self._pair = stored[0]
                if self._pair.access_token and self._pair.access_token != used:
                    return self._pair.access_token
            if not self._pair.refresh_token:
                raise TokenError("no Zalo refresh token: configure one to continue")
            fresh = await self._exchange(self._pair.refresh_token)
            version = self._pair.version + 1
            fresh = TokenPair(fresh.access_token, fresh.refresh_token, fresh.expires_at, version)
            # The old refresh token is dead now: the new pair is the only way back in.
            self._pair = fresh
            try:
                await self._write(fresh, version, None)
            except Exception:
                log.critical(
                    "zalo: the rotated OA token pair could not be saved; it is only in memory "
                    "and a restart will need a new refresh token",
                    exc_info=True,
                )
            self.refreshes += 1
            log.info("zalo: access token refreshed (version %d)", version)
            return fresh.access_token

    async def _exchange(self, refresh_token: str) -> TokenPair:
        answer = await self.http.request(
            "POST",
            self.token_url,
            headers={protocol.OAUTH_SECRET_HEADER: self.app_secret},
            form={
                protocol.F_REFRESH_TOKEN: refresh_token,
                "app_id": self.app_id,
                "grant_type": protocol.GRANT_REFRESH,
            },
        )
        body = answer.body
        access = body.get(protocol.F_ACCESS_TOKEN)
        new_refresh = body.get(protocol.F_REFRESH_TOKEN)
        if not isinstance(access, str) or not access or not isinstance(new_refresh, str):
            reason = body.get("error_description") or body.get("error_name") or body
            log.error("zalo: token refresh refused (%s); configure a new refresh token", reason)
            raise TokenError(f"zalo token refresh refused: {reason}")
        try:
            seconds = int(body.get(protocol.F_EXPIRES_IN) or 0)
        except (TypeError, ValueError):
            seconds = 0
        expires = self.clock.now() + timedelta(seconds=seconds) if seconds > 0 else None
        return TokenPair(access, new_refresh or refresh_token, expires)

    async def _read(self) -> tuple[TokenPair, str] | None:
        async with self.db.sessions() as session:
            row = await session.scalar(select(ZaloToken).where(ZaloToken.app_id == self.app_id))
            if row is None:
                return None
            pair = TokenPair(
                row.access_token, row.refresh_token, row.access_expires_at, row.version
            )
            return pair, row.seed

    async def _write(self, pair: TokenPair, version: int, seed: str | None) -> None:
        async with self.db.transaction() as session:
            row = await session.get(ZaloToken, self.app_id, with_for_update=True)
            if row is None:
                row = ZaloToken(app_id=self.app_id, seed=seed or "")
                session.add(row)
            elif seed is not None:
                row.seed = seed
            row.access_token = pair.access_token
            row.refresh_token = pair.refresh_token
            row.access_expires_at = pair.expires_at
            row.version = version
            row.refreshed_at = self.clock.now()
