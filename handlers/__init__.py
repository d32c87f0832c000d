"""Conversation handlers, one module per feature; each exposes a `router`.

A feature that needs start-up work (loading a catalogue, building an index) adds an async
`setup(app)` to FEATURE_SETUPS; periodic work goes into FEATURE_JOBS.
"""

from collections.abc import Awaitable, Callable

from bot.core.app_context import AppContext
from handlers import checkin, faq, invites, org, reports, roster, start, summary, tasks

FEATURE_ROUTERS = (
    start.router,
    invites.router,
    org.router,
    checkin.router,
    roster.router,
    tasks.router,
    reports.router,
    summary.router,
    # Last: its free-text route answers any private message no feature above claimed.
    faq.router,
)
FEATURE_SETUPS: tuple[Callable[[AppContext], Awaitable[None]], ...] = (faq.setup,)
# Periodic work a feature does on the scheduler's tick (leader instance only; idempotent).
FEATURE_JOBS: tuple[Callable[[AppContext], Awaitable[object]], ...] = (reports.send_due_digests,)
