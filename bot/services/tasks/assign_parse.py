"""The arguments of ``/assign`` (``/giaoviec``), read into a request or an error code.

Two forms, as the issue describes:

- ``/assign @user1 @user2 <what to do> [deadline] [!khan]``;
- a reply to any message with ``/assign @user [deadline]``: the replied message is the task
  text; anything else written after the mentions (besides the deadline and flags) is kept
  as ``note``, the assigner's instruction about it.

The assignees are the run of ``@mentions`` at the start (or, if there is none, at the very
end: "/assign Soạn công văn @lan"); a mention in the middle of the text is part of the
text ("gửi báo cáo cho @lan"). Who these usernames are is the handler's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

from bot.services.tasks.deadline import DeadlineReading, parse_deadline
from bot.services.tasks.lifecycle import parse_flags

AssignErrorCode = Literal["no_assignee", "empty_text"]

# "/assign", "/giaoviec", "/assign@congvu_bot" when the caller passes the whole message.
_COMMAND_RE: Final = re.compile(r"^\s*/(?:assign|giaoviec|giao_viec)(?:@\w+)?(?=\s|$)", re.I)
_MENTION_RE: Final = re.compile(r"@([A-Za-z0-9_]{1,32})(?![\w@])")
# What may separate mentions in a run: spaces, commas, "và"/"and"/"&".
# "và" first: once spaces were eaten, " và " could no longer match.
_SEPARATOR_RE: Final = re.compile(r"(?:\s+(?:và|va|and)\s+|\s*&\s*|[\s,;]+)*", re.I)
_TRAILING_RUN_RE: Final = re.compile(
    r"(?:(?<=\s)|^)(@[A-Za-z0-9_]{1,32}(?:(?:\s+(?:và|va|and)\s+|[\s,;&]+)@[A-Za-z0-9_]{1,32})*)"
    r"[\s.,;!]*$",
    re.I,
)


@dataclass(frozen=True, slots=True)
class AssignRequest:
    usernames: list[str]  # in the order written, lower-case, without "@", no duplicates
    text: str  # what to do, with the deadline phrase and the flags taken out
    deadline: DeadlineReading  # ``deadline.when is None`` when none was given
    urgent: bool = False
    legal: bool = False
    from_reply: bool = False
    note: str | None = None  # reply form: the assigner's own words besides the deadline


@dataclass(frozen=True, slots=True)
class AssignError:
    code: AssignErrorCode
    usernames: list[str] = field(default_factory=list)  # for "what should @lan do?"


def _leading_mentions(args: str) -> tuple[list[str], str]:
    """The run of mentions at the start and the text after it."""
    names: list[str] = []
    pos = 0
    while True:
        sep = _SEPARATOR_RE.match(args, pos)
        at = sep.end() if sep else pos
        mention = _MENTION_RE.match(args, at)
        if mention is None:
            break
        names.append(mention.group(1))
        pos = mention.end()
    return names, args[pos:] if names else args


def _trailing_mentions(args: str) -> tuple[list[str], str]:
    run = _TRAILING_RUN_RE.search(args)
    if run is None:
        return [], args
    return _MENTION_RE.findall(run.group(1)), args[: run.start()]


def _unique_lower(names: list[str]) -> list[str]:
    return list(dict.fromkeys(name.lower() for name in names))


def parse_assign(
    args: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    reply_text: str | None = None,
    lang_hint: str | None = None,
) -> AssignRequest | AssignError:
    """Read ``/assign`` arguments as of ``now`` in the unit's zone.

    ``reply_text`` is the text (or caption) of the replied-to message, ``None`` when the
    command was not a reply. A deadline written after the mentions wins; in the reply form
    without one, a deadline inside the replied message is used. Returns
    ``AssignError("no_assignee")`` without a mention and ``AssignError("empty_text")`` when
    nothing is left to do.
    """
    command = _COMMAND_RE.match(args)
    if command is not None:
        args = args[command.end() :]
    names, rest = _leading_mentions(args)
    if not names:
        names, rest = _trailing_mentions(args)
    usernames = _unique_lower(names)
    if not usernames:
        return AssignError("no_assignee")

    rest, urgent, legal = parse_flags(rest)
    deadline = parse_deadline(rest, now=now, tz=tz, lang_hint=lang_hint)
    own_text = deadline.remaining_text

    if reply_text is None:
        if not own_text:
            return AssignError("empty_text", usernames)
        return AssignRequest(usernames, own_text, deadline, urgent, legal)

    quoted, reply_urgent, reply_legal = parse_flags(reply_text)
    if deadline.when is None:
        in_reply = parse_deadline(quoted, now=now, tz=tz, lang_hint=lang_hint)
        if in_reply.when is not None:
            deadline, quoted = in_reply, in_reply.remaining_text
    text = quoted.strip() or own_text
    if not text:
        return AssignError("empty_text", usernames)
    note = own_text if quoted.strip() and own_text else None
    return AssignRequest(
        usernames,
        text,
        deadline,
        urgent or reply_urgent,
        legal or reply_legal,
        from_reply=True,
        note=note,
    )
