"""What a channel's send can fail with, independent of the framework that raised it."""

from __future__ import annotations


class DeliveryError(Exception):
    """Base: the message did not go out."""


class RetryAfter(DeliveryError):
    """The platform asked us to wait (HTTP 429) before writing to this chat again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Unreachable(DeliveryError):
    """The user blocked the bot or the chat is gone (HTTP 403): retrying cannot help."""


class NotModified(DeliveryError):
    """An edit that changes nothing; for us that is success."""


class Rejected(DeliveryError):
    """The platform refused this message (HTTP 400): retrying the same request cannot help."""


class Transient(DeliveryError):
    """A 5xx, a timeout or a dropped connection: worth retrying with backoff."""


class Throttled(DeliveryError):
    """Our own rate limiter would make this send wait longer than the caller allows.

    Not a platform answer: nothing was sent and no 429 was received. The outbox uses it to put
    the row back with `not_before` pushed instead of holding a sending slot while it waits.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(f"throttled for {seconds:.3f}s")
        self.seconds = seconds


class ServerError(Transient):
    """The platform answered 5xx: the request was received but not carried out.

    Unlike a timeout (where the message may have gone out), this is known not to have counted
    against the flood limits, so Delivery gives the rate-limit slot back. Channels should raise
    it for 5xx answers; a plain Transient is treated conservatively.
    """
