from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.services.faq.catalogue import Catalogue, Procedure
from bot.services.faq.policy import (
    VIETNAM_TZ,
    Override,
    Policy,
    PolicyInvalidError,
    Rule,
    parse_policy,
    policy_with_rules,
)

DURING = datetime(2020, 4, 6, 9, 0, tzinfo=VIETNAM_TZ)
BEFORE = datetime(2020, 3, 20, 9, 0, tzinfo=VIETNAM_TZ)


def proc(catalogue: Catalogue, pid: str) -> Procedure:
    entry = catalogue.get(pid)
    assert isinstance(entry, Procedure)
    return entry


def test_khai_sinh_accepted_as_urgent_and_must_come_to_sign(
    catalogue: Catalogue, policy: Policy
) -> None:
    decision = policy.status(proc(catalogue, "khai-sinh"), DURING)
    assert decision.accepted
    assert decision.reason == "urgent"
    assert decision.sign_in_person
    assert not decision.postal


def test_ket_hon_not_accepted_and_not_postal(catalogue: Catalogue, policy: Policy) -> None:
    decision = policy.status(proc(catalogue, "ket-hon"), DURING)
    assert not decision.accepted
    assert decision.reason == "not_accepted"
    assert not decision.postal


def test_online_level_4_accepted_online(catalogue: Catalogue, policy: Policy) -> None:
    company = proc(catalogue, "dang-ky-doanh-nghiep")
    assert company.online_level == 4
    decision = policy.status(company, DURING)
    assert decision.accepted and decision.reason == "online" and decision.postal


def test_level_2_not_urgent_is_not_accepted(catalogue: Catalogue, policy: Policy) -> None:
    decision = policy.status(proc(catalogue, "tam-tru"), DURING)
    assert not decision.accepted and decision.postal


@pytest.mark.parametrize(
    "pid", ["khai-tu", "chung-thuc-di-chuc", "dang-ky-bien-phap-bao-dam", "chung-thuc-hop-dong"]
)
def test_urgent_groups_from_the_directive(catalogue: Catalogue, policy: Policy, pid: str) -> None:
    decision = policy.status(proc(catalogue, pid), DURING)
    assert decision.accepted and decision.reason == "urgent"


def test_essential_goods_joined_by_catalogue_tag(catalogue: Catalogue, policy: Policy) -> None:
    # An agency's own procedure tagged essential-goods is urgent without editing the policy.
    masks = replace(proc(catalogue, "tam-tru"), id="san-xuat-gang-tay", tags=("essential-goods",))
    decision = policy.status(masks, DURING)
    assert decision.accepted and decision.reason == "urgent"


def test_before_the_rule_everything_is_normal(catalogue: Catalogue, policy: Policy) -> None:
    decision = policy.status(proc(catalogue, "ket-hon"), BEFORE)
    assert decision.accepted and decision.reason == "normal"
    assert decision.until == datetime(2020, 4, 1, tzinfo=VIETNAM_TZ)


def test_rule_starts_at_local_midnight(catalogue: Catalogue, policy: Policy) -> None:
    ket_hon = proc(catalogue, "ket-hon")
    # 31 March 16:59 UTC is 23:59 in Vietnam: still before the rule.
    assert policy.status(ket_hon, datetime(2020, 3, 31, 16, 59, tzinfo=UTC)).reason == "normal"
    assert policy.status(ket_hon, datetime(2020, 3, 31, 17, 0, tzinfo=UTC)).reason == "not_accepted"


def test_announced_end_shown_but_rule_stays_in_force(catalogue: Catalogue, policy: Policy) -> None:
    ket_hon = proc(catalogue, "ket-hon")
    during = policy.status(ket_hon, DURING)
    assert during.until == datetime(2020, 4, 16, tzinfo=VIETNAM_TZ)  # 15 April inclusive
    later = policy.status(ket_hon, datetime(2020, 6, 1, tzinfo=VIETNAM_TZ))
    assert not later.accepted and later.until is None  # in force until an admin changes it


def test_later_rule_ends_the_restriction(catalogue: Catalogue, policy: Policy) -> None:
    reopening = Rule(
        id="reopening",
        title_vi="Bình thường",
        title_en="Normal",
        effective_from=datetime(2020, 5, 1, tzinfo=VIETNAM_TZ),
        restricted=False,
    )
    changed = policy_with_rules(policy, [reopening])
    ket_hon = proc(catalogue, "ket-hon")
    assert changed.status(ket_hon, DURING).until == reopening.effective_from
    after = changed.status(ket_hon, datetime(2020, 5, 2, tzinfo=VIETNAM_TZ))
    assert after.accepted and after.reason == "normal" and after.rule_id == "reopening"
    assert not after.postal  # signing the register still rules out the post


def test_per_procedure_override_with_its_own_dates(catalogue: Catalogue) -> None:
    policy = parse_policy(
        {
            "rules": [
                {
                    "id": "r1",
                    "from": "2020-04-01",
                    "online_min_level": 3,
                    "overrides": [
                        {
                            "procedure": "ket-hon",
                            "accepted": True,
                            "reason": "urgent",
                            "from": "2020-04-10",
                            "until": "2020-04-12",
                            "note": "special case",
                        },
                        {"procedure": "dang-ky-doanh-nghiep", "accepted": False},
                    ],
                }
            ]
        }
    )
    ket_hon = proc(catalogue, "ket-hon")
    assert not policy.status(ket_hon, datetime(2020, 4, 9, 23, 0, tzinfo=VIETNAM_TZ)).accepted
    inside = policy.status(ket_hon, datetime(2020, 4, 12, 23, 0, tzinfo=VIETNAM_TZ))
    assert inside.accepted and inside.reason == "urgent" and inside.note == "special case"
    assert inside.until == datetime(2020, 4, 13, tzinfo=VIETNAM_TZ)
    assert not policy.status(ket_hon, datetime(2020, 4, 13, 0, 0, tzinfo=VIETNAM_TZ)).accepted
    # An override beats the online rule too.
    company = policy.status(proc(catalogue, "dang-ky-doanh-nghiep"), DURING)
    assert not company.accepted and company.reason == "not_accepted"


def test_naive_datetime_is_vietnam_local_time(catalogue: Catalogue, policy: Policy) -> None:
    ket_hon = proc(catalogue, "ket-hon")
    assert policy.status(ket_hon, datetime(2020, 4, 1, 0, 0)).reason == "not_accepted"
    assert policy.status(ket_hon, datetime(2020, 3, 31, 23, 59)).reason == "normal"


def test_invalid_policy_lists_every_error() -> None:
    with pytest.raises(PolicyInvalidError) as info:
        parse_policy(
            {
                "rules": [
                    {"id": "a", "from": "not a date"},
                    {
                        "id": "b",
                        "from": "2020-04-01",
                        "online_min_level": 7,
                        "overrides": [{"procedure": "x", "accepted": "maybe"}],
                    },
                ]
            }
        )
    errors = info.value.errors
    assert len(errors) >= 3
    assert any("rules[0]" in e for e in errors)
    assert any("online_min_level" in e for e in errors)
    assert any("overrides[0]" in e for e in errors)


def test_shipped_policy_names_only_known_procedures(catalogue: Catalogue, policy: Policy) -> None:
    assert policy.unknown_procedures(catalogue) == []
    broken = Policy(
        (
            replace(
                policy.rules[0], overrides=(Override("khai-sinhh", accepted=True, reason="urgent"),)
            ),
        )
    )
    assert broken.unknown_procedures(catalogue) == ["khai-sinhh"]


def test_accepted_list_contains_urgent_and_online_only(
    catalogue: Catalogue, policy: Policy
) -> None:
    accepted = {p.id for p, _ in policy.accepted_procedures(catalogue, DURING)}
    assert {"khai-sinh", "khai-tu", "dang-ky-doanh-nghiep", "trang-thiet-bi-y-te"} <= accepted
    assert "ket-hon" not in accepted and "tam-tru" not in accepted
