"""What every Redis-backed piece shares: owner-guarded lock scripts and outage bookkeeping.

A plain PEXPIRE or DEL after a pause (GC, a slow handler) could extend or delete a lock that
has meanwhile lapsed and been taken by another instance; the owner's token guards both.
"""

from __future__ import annotations

import logging

RENEW_IF_OWNER = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)
RELEASE_IF_OWNER = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) else return 0 end"
)


def redis_failures() -> tuple[type[Exception], ...]:
    """The exceptions that mean "Redis is away". Imported on call: a process without Redis
    (one instance, or an outbox worker restarting mid-wave) never imports the client."""
    from redis.exceptions import RedisError

    return (RedisError, OSError)


class Outage:
    """Says once when Redis goes away (and what we do meanwhile), and once when it is back."""

    def __init__(self, logger: logging.Logger, what: str, fallback: str) -> None:
        self.logger = logger
        self.what = what
        self.fallback = fallback
        self.degraded = False

    def failed(self, exc: Exception) -> None:
        if not self.degraded:
            self.logger.warning("%s unavailable (%s): %s", self.what, exc, self.fallback)
        self.degraded = True

    def back(self) -> None:
        if self.degraded:
            self.logger.warning("%s available again", self.what)
        self.degraded = False
