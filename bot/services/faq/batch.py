"""One JSON-ready record per question: the contract of ``congvu faq match --jsonl``.

Kept here (not in the CLI) so the evaluation format is tested with the domain code
and the CLI stays a loop over stdin.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.services.faq.catalogue import Procedure
from bot.services.faq.matcher import Matcher
from bot.services.faq.policy import Policy


def match_record(matcher: Matcher, policy: Policy, question: str, at: datetime) -> dict[str, Any]:
    """``{"query", "kind", "id", "title", "score", "accepted", "postal"}``.

    Greetings and thanks are reported as ``none`` (they are not catalogue entries);
    ``accepted``/``postal`` are null for topics and for none. An ambiguous match still
    reports its best candidate: the chat asks "Bạn muốn hỏi…", the batch gives top-1.
    """
    result = matcher.match(question)
    record: dict[str, Any] = {
        "query": question,
        "kind": "none",
        "id": None,
        "title": None,
        "score": round(result.score, 1),
        "accepted": None,
        "postal": None,
    }
    entry = result.best
    if entry is None or result.kind not in ("procedure", "topic"):
        return record
    record.update(kind=result.kind, id=entry.id, title=entry.title)
    if isinstance(entry, Procedure):
        decision = policy.status(entry, at)
        record.update(accepted=decision.accepted, postal=decision.postal)
    return record
