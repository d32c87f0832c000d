"""Which procedures are accepted *now*: an acceptance rule with effective dates.

The shipped rule is the HCMC one for the social-distancing period from 1 April 2020
(Sở Nội vụ TP HCM, see shared/seeds): accept what has a level 3/4 online service,
accept in person the urgent groups (birth and death registration; notarisation and
certification for wills, security contracts and security-interest registration for
loans; producing/trading essential anti-epidemic goods), nothing else. Results go
by post unless the law requires signing the register in person.

Rules are kept as data (``data/policy.yaml``) so an admin can change them without a
release; a rule stays in force until a later rule starts or its own end date passes.
Time is always passed in (``at``), never read from the system clock, so answers are
reproducible and testable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from bot.services.faq.catalogue import Catalogue, Procedure

Reason = Literal["online", "urgent", "not_accepted", "normal"]
REASONS: tuple[Reason, ...] = ("online", "urgent", "not_accepted", "normal")

# Vietnam has used UTC+7 without daylight saving since 1975; a fixed offset avoids
# depending on the tz database being installed.
VIETNAM_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class Decision:
    """The answer to "can I do this procedure now, and how does the result come back?"."""

    accepted: bool
    reason: Reason
    # When this answer is next expected to change, if known (rule end, announced end).
    until: datetime | None
    # Results can be returned by post (false when the register must be signed).
    postal: bool
    sign_in_person: bool
    rule_id: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class UrgentGroup:
    """A category of urgent procedures still accepted in person."""

    key: str
    label_vi: str
    label_en: str
    procedures: frozenset[str] = frozenset()
    # Catalogue tags that put a procedure in the group, so an agency's own catalogue
    # can join a group without editing the policy.
    tags: frozenset[str] = frozenset()

    def contains(self, procedure: Procedure) -> bool:
        return procedure.id in self.procedures or bool(self.tags.intersection(procedure.tags))


@dataclass(frozen=True)
class Override:
    """A per-procedure exception to the rule, optionally for a narrower period."""

    procedure_id: str
    accepted: bool
    reason: Reason
    postal: bool | None = None
    effective_from: datetime | None = None
    until: datetime | None = None
    note: str | None = None

    def applies(self, at: datetime) -> bool:
        if self.effective_from is not None and at < self.effective_from:
            return False
        return self.until is None or at < self.until


@dataclass(frozen=True)
class Rule:
    id: str
    title_vi: str
    title_en: str
    effective_from: datetime
    # Exclusive end; None means "in force until a later rule replaces it".
    effective_until: datetime | None = None
    # The end the authorities announced (e.g. 15 April 2020); shown to citizens as
    # "until" while it lies ahead, but the rule does not lapse by itself.
    announced_until: datetime | None = None
    # False: normal service, every procedure accepted (e.g. after the epidemic).
    restricted: bool = True
    online_min_level: int = 3
    urgent_groups: tuple[UrgentGroup, ...] = ()
    overrides: tuple[Override, ...] = ()
    source: str | None = None

    def covers(self, at: datetime) -> bool:
        return self.effective_from <= at and (
            self.effective_until is None or at < self.effective_until
        )

    def urgent_group(self, procedure: Procedure) -> UrgentGroup | None:
        return next((g for g in self.urgent_groups if g.contains(procedure)), None)


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]

    def rule_at(self, at: datetime) -> Rule | None:
        """The rule in force at ``at``: the latest-starting rule that covers it."""
        moment = as_vietnam_time(at)
        covering = [r for r in self.rules if r.covers(moment)]
        return max(covering, key=lambda r: r.effective_from, default=None)

    def _next_start(self, rule: Rule) -> datetime | None:
        later = [r.effective_from for r in self.rules if r.effective_from > rule.effective_from]
        return min(later, default=None)

    def status(self, procedure: Procedure, at: datetime) -> Decision:
        moment = as_vietnam_time(at)
        sign = procedure.sign_in_person
        # A result that needs a signature in the register cannot travel by post.
        postal = procedure.postal_return and not sign
        rule = self.rule_at(moment)
        if rule is None or not rule.restricted:
            until = self._next_start(rule) if rule is not None else self._first_start_after(moment)
            rule_id = rule.id if rule is not None else None
            return Decision(True, "normal", until, postal, sign, rule_id)
        rule_end = self._rule_end(rule, moment)
        override = next(
            (o for o in rule.overrides if o.procedure_id == procedure.id and o.applies(moment)),
            None,
        )
        if override is not None:
            ends = [d for d in (override.until, rule_end) if d is not None]
            return Decision(
                accepted=override.accepted,
                reason=override.reason,
                until=min(ends, default=None),
                postal=postal if override.postal is None else override.postal,
                sign_in_person=sign,
                rule_id=rule.id,
                note=override.note,
            )
        if procedure.online_level >= rule.online_min_level:
            return Decision(True, "online", rule_end, postal, sign, rule.id)
        group = rule.urgent_group(procedure)
        if group is not None:
            return Decision(True, "urgent", rule_end, postal, sign, rule.id, group.label_vi)
        return Decision(False, "not_accepted", rule_end, postal, sign, rule.id)

    def _rule_end(self, rule: Rule, moment: datetime) -> datetime | None:
        ends = [d for d in (rule.effective_until, self._next_start(rule)) if d is not None]
        if ends:
            return min(ends)
        if rule.announced_until is not None and moment < rule.announced_until:
            return rule.announced_until
        return None

    def _first_start_after(self, moment: datetime) -> datetime | None:
        return min(
            (r.effective_from for r in self.rules if r.effective_from > moment), default=None
        )

    def accepted_procedures(
        self, catalogue: Catalogue, at: datetime
    ) -> list[tuple[Procedure, Decision]]:
        """What ``topic:accepted-list`` shows: every procedure accepted at ``at``."""
        decisions = ((p, self.status(p, at)) for p in catalogue.procedures)
        return [(p, d) for p, d in decisions if d.accepted]

    def unknown_procedures(self, catalogue: Catalogue) -> list[str]:
        """Procedure ids the policy names that the catalogue lacks (typos, removed entries)."""
        known = {p.id for p in catalogue.procedures}
        named: list[str] = []
        for rule in self.rules:
            named.extend(o.procedure_id for o in rule.overrides)
            for group in rule.urgent_groups:
                named.extend(sorted(group.procedures))
        return sorted({pid for pid in named if pid not in known})


def as_vietnam_time(at: datetime) -> datetime:
    """Aware datetimes are converted; a naive one is taken as Vietnam local time."""
    if at.tzinfo is None:
        return at.replace(tzinfo=VIETNAM_TZ)
    return at.astimezone(VIETNAM_TZ)


# ---------------------------------------------------------------------------
# Loading from YAML (every error reported, nothing partial)
# ---------------------------------------------------------------------------


class PolicyInvalidError(ValueError):
    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(errors))


def _moment(value: Any, *, end_of_day: bool, where: str, errors: list[str]) -> datetime | None:
    """A date means local midnight; as an end date it includes that whole day."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return as_vietnam_time(value)
    if isinstance(value, date):
        start = datetime.combine(value, time(0), tzinfo=VIETNAM_TZ)
        return start + timedelta(days=1) if end_of_day else start
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            errors.append(f"{where}: not a date or datetime: {value!r}")
            return None
        if len(value) == 10:  # a bare date written as a string
            return _moment(parsed.date(), end_of_day=end_of_day, where=where, errors=errors)
        return as_vietnam_time(parsed)
    errors.append(f"{where}: not a date or datetime: {value!r}")
    return None


def _ids(value: Any, where: str, errors: list[str]) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(f"{where}: must be a list of ids")
        return frozenset()
    return frozenset(value)


def _override(raw: Mapping[str, Any], where: str, errors: list[str]) -> Override | None:
    pid = raw.get("procedure")
    accepted = raw.get("accepted")
    reason = raw.get("reason") or ("urgent" if accepted else "not_accepted")
    before = len(errors)
    if not isinstance(pid, str) or not pid:
        errors.append(f"{where}: procedure is required")
    if not isinstance(accepted, bool):
        errors.append(f"{where}: accepted must be true or false")
    if reason not in REASONS:
        errors.append(f"{where}: reason must be one of {', '.join(REASONS)}")
    elif isinstance(accepted, bool) and accepted == (reason == "not_accepted"):
        errors.append(f"{where}: reason {reason!r} contradicts accepted={accepted}")
    postal = raw.get("postal")
    if postal is not None and not isinstance(postal, bool):
        errors.append(f"{where}: postal must be true or false")
    start = _moment(raw.get("from"), end_of_day=False, where=where, errors=errors)
    until = _moment(raw.get("until"), end_of_day=True, where=where, errors=errors)
    unknown = set(raw) - {"procedure", "accepted", "reason", "postal", "from", "until", "note"}
    if unknown:
        errors.append(f"{where}: unknown fields {sorted(unknown)}")
    if len(errors) > before:
        return None
    return Override(str(pid), bool(accepted), reason, postal, start, until, raw.get("note"))


def parse_policy(data: Mapping[str, Any]) -> Policy:
    errors: list[str] = []
    rules: list[Rule] = []
    raw_rules = data.get("rules") if isinstance(data, Mapping) else None
    if not isinstance(raw_rules, list) or not raw_rules:
        raise PolicyInvalidError(["policy must have a non-empty 'rules' list"])
    seen: set[str] = set()
    for index, raw in enumerate(raw_rules):
        where = f"rules[{index}]"
        if not isinstance(raw, Mapping):
            errors.append(f"{where}: must be a mapping")
            continue
        rule_id = raw.get("id")
        where = f"rules[{index}] ({rule_id})"
        if not isinstance(rule_id, str) or not rule_id:
            errors.append(f"{where}: id is required")
        elif rule_id in seen:
            errors.append(f"{where}: duplicate rule id")
        seen.add(str(rule_id))
        start = _moment(raw.get("from"), end_of_day=False, where=where, errors=errors)
        if start is None and raw.get("from") is None:
            errors.append(f"{where}: 'from' is required")
        until = _moment(raw.get("until"), end_of_day=True, where=where, errors=errors)
        announced = _moment(raw.get("announced_until"), end_of_day=True, where=where, errors=errors)
        if start is not None and until is not None and until <= start:
            errors.append(f"{where}: 'until' must be after 'from'")
        level = raw.get("online_min_level", 3)
        if not isinstance(level, int) or level not in (2, 3, 4, 5):
            errors.append(f"{where}: online_min_level must be 2, 3 or 4 (5 disables online)")
        groups: list[UrgentGroup] = []
        for g_index, g in enumerate(raw.get("urgent_groups") or []):
            g_where = f"{where}.urgent_groups[{g_index}]"
            if not isinstance(g, Mapping) or not g.get("key"):
                errors.append(f"{g_where}: needs a key")
                continue
            groups.append(
                UrgentGroup(
                    key=str(g["key"]),
                    label_vi=str(g.get("label_vi") or g["key"]),
                    label_en=str(g.get("label_en") or g["key"]),
                    procedures=_ids(g.get("procedures"), g_where, errors),
                    tags=_ids(g.get("tags"), g_where, errors),
                )
            )
        overrides: list[Override] = []
        for o_index, raw_override in enumerate(raw.get("overrides") or []):
            parsed = _override(
                raw_override if isinstance(raw_override, Mapping) else {},
                f"{where}.overrides[{o_index}]",
                errors,
            )
            if parsed is not None:
                overrides.append(parsed)
        if start is not None:
            rules.append(
                Rule(
                    id=str(rule_id),
                    title_vi=str(raw.get("title_vi") or rule_id),
                    title_en=str(raw.get("title_en") or rule_id),
                    effective_from=start,
                    effective_until=until,
                    announced_until=announced,
                    restricted=bool(raw.get("restricted", True)),
                    online_min_level=level if isinstance(level, int) else 3,
                    urgent_groups=tuple(groups),
                    overrides=tuple(overrides),
                    source=raw.get("source"),
                )
            )
    if errors:
        raise PolicyInvalidError(errors)
    return Policy(tuple(sorted(rules, key=lambda r: r.effective_from)))


def json_safe(value: Any) -> Any:
    """YAML gives dates and datetimes; the database keeps JSON, so write them as ISO text
    (``parse_policy`` reads both forms alike)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def load_policy_data(path: str | Path) -> dict[str, Any]:
    """The policy file as JSON-ready data (validated: a bad file raises PolicyInvalidError)."""
    with Path(path).open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    data = json_safe(raw) if isinstance(raw, Mapping) else {}
    parse_policy(data)
    return data


def load_policy(path: str | Path) -> Policy:
    with Path(path).open(encoding="utf-8") as handle:
        return parse_policy(yaml.safe_load(handle) or {})


def shipped_policy_path() -> Path:
    return Path(str(resources.files(__package__).joinpath("data", "policy.yaml")))


def load_shipped_policy() -> Policy:
    return load_policy(shipped_policy_path())


def shipped_policy_data() -> dict[str, Any]:
    return load_policy_data(shipped_policy_path())


def policy_with_rules(policy: Policy, extra: Iterable[Rule]) -> Policy:
    """A new policy with more rules (what an admin's change produces)."""
    return Policy(tuple(sorted((*policy.rules, *extra), key=lambda r: r.effective_from)))
