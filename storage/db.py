"""The async engine, sessions and schema upgrades for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, exc, text
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x6D696772  # "migr"
# A pooled PostgreSQL connection is pinged before use only after this long unused (seconds).
PING_AFTER_IDLE = 10.0
# ... and replaced after this long in any case (server or firewall idle timeouts).
RECYCLE_AFTER = 1800


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # WAL lets readers work while one writer commits; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _PoolGuard:
    """Checks a pooled connection at checkout for a fraction of what ``pool_pre_ping`` costs.

    ``pool_pre_ping`` pings every checkout — BEGIN, a query and ROLLBACK over asyncpg, three
    round trips before each of the two or three transactions of an update. This guard:

    * replaces a connection the server has closed (a restart or ``pg_terminate_backend``
      closes the socket, and asyncpg knows that without a round trip);
    * pings (the dialect's own ping) a connection unused for ``ping_after`` seconds, where a
      silently dropped network path is likely and the cost is nothing under load;
    * otherwise trusts it. If it died unnoticed all the same, its first statement fails as
      a disconnect, SQLAlchemy invalidates the whole pool (every connection made before is
      replaced at its next checkout) and only that transaction — rolled back, nothing
      half-written — is lost, as it would have been had the server died during it.

    A failed check raises ``InvalidatePoolError``: the pool reconnects and retries the
    checkout, as it does after a failed pre-ping.
    """

    def __init__(self, dialect: Dialect, ping_after: float) -> None:
        self.dialect = dialect
        self.ping_after = ping_after

    @staticmethod
    def server_closed(dbapi_connection: Any) -> bool:
        """asyncpg's own knowledge, no round trip: the socket was closed by the other end."""
        return bool(dbapi_connection.driver_connection.is_closed())

    def checkin(self, _dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(self, dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None:
            return  # a new connection: just made
        if self.server_closed(dbapi_connection):
            raise exc.InvalidatePoolError("the server closed the connection")
        if time.monotonic() - idle_since < self.ping_after:
            return
        try:
            self.dialect.do_ping(dbapi_connection)
        except self.dialect.loaded_dbapi.Error as error:
            if self.dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.InvalidatePoolError("ping failed") from error
            raise


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


class Database:
    def __init__(
        self, url: str, *, echo: bool = False, ping_after: float = PING_AFTER_IDLE
    ) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_recycle=RECYCLE_AFTER)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            guard = _PoolGuard(self.engine.dialect, ping_after)
            event.listen(self.engine.sync_engine, "checkin", guard.checkin)
            event.listen(self.engine.sync_engine, "checkout", guard.checkout)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def upgrade(self, revision: str = "head") -> None:
        def run(connection: Connection) -> None:
            # Alembic is imported here, not at the top: a process that never migrates (an outbox
            # worker restarting mid-wave) starts a quarter of a second sooner.
            from alembic import command

            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

        async with self.engine.begin() as connection:
            if not self.is_sqlite:
                # Several instances start together: one migrates, the others wait, then find
                # the schema current. The lock ends with this transaction.
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            await connection.run_sync(run)

    async def create_all(self) -> None:
        """Create every table straight from the models (tests); production uses upgrade()."""
        from storage.models import Base

        async with self.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)

    async def dispose(self) -> None:
        await self.engine.dispose()
