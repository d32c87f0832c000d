"""The task state machine: every action from every status, rights, races, overdue, order."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.tasks.lifecycle import (
    MAX_TEXT_LENGTH,
    Action,
    ActionKind,
    ActorView,
    Refusal,
    TaskStatus,
    TaskView,
    TransitionResult,
    allowed_actions,
    check,
    invalid_from,
    is_due_today,
    is_overdue,
    parse_flags,
    sort_key_for_listing,
    transition,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2020, 4, 14, 10, 0, tzinfo=HCM)
DEADLINE = datetime(2020, 4, 15, 17, 0, tzinfo=HCM)

UNIT = 7
ASSIGNER = ActorView(person_id=1)
ASSIGNEE = ActorView(person_id=2)
SECOND_ASSIGNEE = ActorView(person_id=3)
UNIT_LEADER = ActorView(person_id=4, leads_unit_ids=frozenset({UNIT}))
OTHER_LEADER = ActorView(person_id=5, leads_unit_ids=frozenset({UNIT + 1}))
STRANGER = ActorView(person_id=99)

S = TaskStatus
A = ActionKind


def task(status: TaskStatus = S.ASSIGNED, **changes: object) -> TaskView:
    base = TaskView(
        id=10,
        status=status,
        assigner_id=ASSIGNER.person_id,
        assignee_ids=frozenset({ASSIGNEE.person_id, SECOND_ASSIGNEE.person_id}),
        unit_id=UNIT,
        deadline=DEADLINE,
        version=3,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# A valid request of each kind (payload included), so only the status decides.
ACTIONS: dict[ActionKind, Action] = {
    A.ACCEPT: Action.accept(),
    A.DONE: Action.done(),
    A.NEED_HELP: Action.need_help("thiếu số liệu của phòng Tài chính"),
    A.PROGRESS: Action.progress("đã xong 50%"),
    A.APPROVE: Action.approve(),
    A.RETURN: Action.return_("sửa lại mục 2"),
    A.EXTEND: Action.extend(DEADLINE + timedelta(days=2)),
    A.CANCEL: Action.cancel(),
}

ALREADY_APPROVED = Refusal.ALREADY_APPROVED
CANCELLED = Refusal.CANCELLED

# action → status → new status (allowed) or refusal code (refused).
EXPECTED: dict[ActionKind, dict[TaskStatus, TaskStatus | str]] = {
    A.ACCEPT: {
        S.ASSIGNED: S.ACCEPTED,
        S.ACCEPTED: Refusal.ALREADY_ACCEPTED,
        S.BLOCKED: S.ACCEPTED,
        S.DONE: Refusal.ALREADY_DONE,
        S.APPROVED: ALREADY_APPROVED,
        S.CANCELLED: CANCELLED,
    },
    A.DONE: {
        S.ASSIGNED: S.DONE,
        S.ACCEPTED: S.DONE,
        S.BLOCKED: S.DONE,
        S.DONE: Refusal.ALREADY_DONE,
        S.APPROVED: ALREADY_APPROVED,
        S.CANCELLED: CANCELLED,
    },
    A.NEED_HELP: {
        S.ASSIGNED: S.BLOCKED,
        S.ACCEPTED: S.BLOCKED,
        S.BLOCKED: Refusal.ALREADY_BLOCKED,
        S.DONE: Refusal.ALREADY_DONE,
        S.APPROVED: ALREADY_APPROVED,
        S.CANCELLED: CANCELLED,
    },
    A.PROGRESS: {
        S.ASSIGNED: S.ACCEPTED,
        S.ACCEPTED: S.ACCEPTED,
        S.BLOCKED: S.ACCEPTED,
        S.DONE: Refusal.ALREADY_DONE,
        S.APPROVED: ALREADY_APPROVED,
        S.CANCELLED: CANCELLED,
    },
    A.APPROVE: {
        S.ASSIGNED: "invalid_from_assigned",
        S.ACCEPTED: "invalid_from_accepted",
        S.BLOCKED: "invalid_from_blocked",
        S.DONE: S.APPROVED,
        S.APPROVED: ALREADY_APPROVED,
        S.CANCELLED: CANCELLED,
    },
    A.RETURN: {
        S.ASSIGNED: "invalid_from_assigned",
        S.ACCEPTED: "invalid_from_accepted",
        S.BLOCKED: "invalid_from_blocked",
        S.DONE: S.ACCEPTED,
        S.APPROVED: ALREADY_APPROVED,
        S.CANCELLED: CANCELLED,
    },
    A.EXTEND: {
        S.ASSIGNED: S.ASSIGNED,
        S.ACCEPTED: S.ACCEPTED,
        S.BLOCKED: S.BLOCKED,
        S.DONE: Refusal.ALREADY_DONE,
        S.APPROVED: ALREADY_APPROVED,
        S.CANCELLED: CANCELLED,
    },
    A.CANCEL: {
        S.ASSIGNED: S.CANCELLED,
        S.ACCEPTED: S.CANCELLED,
        S.BLOCKED: S.CANCELLED,
        S.DONE: S.CANCELLED,
        S.APPROVED: ALREADY_APPROVED,
        S.CANCELLED: CANCELLED,
    },
}

CASES = [
    (kind, status, outcome) for kind, row in EXPECTED.items() for status, outcome in row.items()
]
ASSIGNEE_KINDS = {A.ACCEPT, A.DONE, A.NEED_HELP, A.PROGRESS}


def test_table_covers_every_action_and_status() -> None:
    assert set(EXPECTED) == set(ActionKind)
    assert all(set(row) == set(TaskStatus) for row in EXPECTED.values())


@pytest.mark.parametrize(
    ("kind", "status", "outcome"), CASES, ids=[f"{k}-from-{s}" for k, s, _ in CASES]
)
def test_every_action_from_every_status(
    kind: ActionKind, status: TaskStatus, outcome: TaskStatus | str
) -> None:
    actor = ASSIGNEE if kind in ASSIGNEE_KINDS else ASSIGNER
    result = transition(task(status), ACTIONS[kind], actor, NOW)
    assert result.action is kind
    assert result.from_status is status
    assert result.expected_version == 3
    if isinstance(outcome, TaskStatus):
        assert result.ok
        assert result.to_status is outcome
        assert result.refusal is None
        assert check(task(status), kind, actor) is None
    else:
        assert not result.ok
        assert result.to_status is None
        assert result.refusal == outcome
        assert check(task(status), kind, actor) == outcome


def test_invalid_from_codes_name_the_status() -> None:
    assert invalid_from(S.BLOCKED) == "invalid_from_blocked"


# ---------------------------------------------------------------- rights


@pytest.mark.parametrize("kind", sorted(ASSIGNEE_KINDS))
@pytest.mark.parametrize(
    "actor", [ASSIGNER, UNIT_LEADER, STRANGER], ids=["assigner", "leader", "stranger"]
)
def test_only_assignees_do_assignee_actions(kind: ActionKind, actor: ActorView) -> None:
    result = transition(task(S.ACCEPTED), ACTIONS[kind], actor, NOW)
    assert not result.ok
    assert result.refusal == Refusal.NOT_ASSIGNEE


@pytest.mark.parametrize("kind", sorted(set(ActionKind) - ASSIGNEE_KINDS))
@pytest.mark.parametrize(
    "actor", [ASSIGNEE, OTHER_LEADER, STRANGER], ids=["assignee", "other-unit-leader", "stranger"]
)
def test_only_assigner_or_unit_leader_do_supervisor_actions(
    kind: ActionKind, actor: ActorView
) -> None:
    result = transition(task(S.DONE), ACTIONS[kind], actor, NOW)
    assert not result.ok
    assert result.refusal == Refusal.NOT_ASSIGNER


def test_unit_leader_may_act_for_the_assigner() -> None:
    result = transition(task(S.DONE), Action.approve(), UNIT_LEADER, NOW)
    assert result.ok and result.to_status is S.APPROVED


def test_any_of_several_assignees_may_act() -> None:
    result = transition(task(S.ASSIGNED), Action.accept(), SECOND_ASSIGNEE, NOW)
    assert result.ok and result.to_status is S.ACCEPTED


def test_leader_who_assigned_themself_may_do_both_sides() -> None:
    own = task(S.ACCEPTED, assignee_ids=frozenset({ASSIGNER.person_id}))
    assert transition(own, Action.done(), ASSIGNER, NOW).ok
    assert transition(replace(own, status=S.DONE), Action.approve(), ASSIGNER, NOW).ok


def test_rights_are_checked_before_state() -> None:
    # A stranger pressing a stale button learns nothing about the task's state.
    result = transition(task(S.CANCELLED), Action.done(), STRANGER, NOW)
    assert result.refusal == Refusal.NOT_ASSIGNEE


def test_task_without_unit_only_its_assigner_supervises() -> None:
    loose = task(S.DONE, unit_id=None)
    assert transition(loose, Action.approve(), UNIT_LEADER, NOW).refusal == Refusal.NOT_ASSIGNER
    assert transition(loose, Action.approve(), ASSIGNER, NOW).ok


@pytest.mark.parametrize(
    ("status", "actor", "expected"),
    [
        (S.ASSIGNED, ASSIGNEE, (A.ACCEPT, A.DONE, A.NEED_HELP, A.PROGRESS)),
        (S.ACCEPTED, ASSIGNEE, (A.DONE, A.NEED_HELP, A.PROGRESS)),
        (S.BLOCKED, ASSIGNEE, (A.ACCEPT, A.DONE, A.PROGRESS)),
        (S.DONE, ASSIGNEE, ()),
        (S.ACCEPTED, ASSIGNER, (A.EXTEND, A.CANCEL)),
        (S.DONE, ASSIGNER, (A.APPROVE, A.RETURN, A.CANCEL)),
        (S.DONE, UNIT_LEADER, (A.APPROVE, A.RETURN, A.CANCEL)),
        (S.APPROVED, ASSIGNER, ()),
        (S.ACCEPTED, STRANGER, ()),
    ],
)
def test_allowed_actions_are_the_cards_buttons(
    status: TaskStatus, actor: ActorView, expected: tuple[ActionKind, ...]
) -> None:
    assert allowed_actions(task(status), actor) == expected


# ---------------------------------------------------------------- payloads


@pytest.mark.parametrize(
    ("action", "code"),
    [
        (Action.need_help(""), Refusal.REASON_REQUIRED),
        (Action.need_help("   "), Refusal.REASON_REQUIRED),
        (Action.progress(""), Refusal.NOTE_REQUIRED),
        (Action.progress("x" * (MAX_TEXT_LENGTH + 1)), Refusal.TEXT_TOO_LONG),
    ],
)
def test_assignee_payload_refusals(action: Action, code: str) -> None:
    result = transition(task(S.ACCEPTED), action, ASSIGNEE, NOW)
    assert not result.ok
    assert result.refusal == code


def test_return_needs_a_comment() -> None:
    result = transition(task(S.DONE), Action.return_(" "), ASSIGNER, NOW)
    assert result.refusal == Refusal.COMMENT_REQUIRED


@pytest.mark.parametrize(
    ("new_deadline", "code"),
    [
        (None, Refusal.DEADLINE_REQUIRED),
        (NOW - timedelta(minutes=1), Refusal.DEADLINE_IN_PAST),
        (NOW, Refusal.DEADLINE_IN_PAST),
        (DEADLINE, Refusal.DEADLINE_UNCHANGED),
    ],
)
def test_extend_refusals(new_deadline: datetime | None, code: str) -> None:
    result = transition(task(S.ACCEPTED), Action.extend(new_deadline), ASSIGNER, NOW)
    assert not result.ok
    assert result.refusal == code


def test_extend_keeps_the_status_and_carries_the_new_deadline() -> None:
    new = DEADLINE + timedelta(days=2)
    result = transition(task(S.BLOCKED), Action.extend(new), UNIT_LEADER, NOW)
    assert result.ok
    assert result.to_status is S.BLOCKED
    assert not result.status_changed
    assert result.new_deadline == new
    assert result.event == "extended"


def test_extend_with_a_naive_deadline_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        transition(task(S.ACCEPTED), Action.extend(datetime(2020, 4, 20, 17)), ASSIGNER, NOW)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        transition(task(), Action.accept(), ASSIGNEE, datetime(2020, 4, 14, 10))


def test_text_is_stripped_and_events_are_named() -> None:
    returned = transition(task(S.DONE), Action.return_("  sửa lại mục 2 "), ASSIGNER, NOW)
    assert returned.text == "sửa lại mục 2"
    assert returned.event == "returned"
    assert returned.to_status is S.ACCEPTED  # back to in progress
    unblocked = transition(task(S.BLOCKED), Action.progress("đã có số liệu"), ASSIGNEE, NOW)
    assert unblocked.event == "unblocked"
    assert unblocked.status_changed


def test_progress_note_on_work_in_progress_changes_no_status() -> None:
    result = transition(task(S.ACCEPTED), Action.progress("đã xong 50%"), ASSIGNEE, NOW)
    assert result.ok
    assert not result.status_changed
    assert result.event == "noted"
    assert result.new_version == 4


def test_refusal_changes_nothing() -> None:
    result = transition(task(S.DONE), Action.done(), ASSIGNEE, NOW)
    assert not result.status_changed
    assert result.to_status is None


# ---------------------------------------------------------------- double presses


@dataclass
class FakeRow:
    """A repository row with a compare-and-set update, as the real one does in SQL."""

    status: TaskStatus
    version: int
    writes: int = 0

    def view(self) -> TaskView:
        return task(self.status, version=self.version)

    def apply(self, result: TransitionResult) -> bool:
        """UPDATE … WHERE status = :from AND version = :version; True if a row changed."""
        if not result.ok:
            return False
        if (self.status, self.version) != (result.from_status, result.expected_version):
            return False
        assert result.to_status is not None
        self.status, self.version = result.to_status, result.new_version
        self.writes += 1
        return True


def press(row: FakeRow, stale: TaskView, action: Action, actor: ActorView) -> str:
    """A button handler: decide on what the card showed, write, re-read if it lost."""
    result = transition(stale, action, actor, NOW)
    if row.apply(result):
        return "ok"
    fresh = transition(row.view(), action, actor, NOW)
    return fresh.refusal or "retry"


def test_double_done_makes_one_transition() -> None:
    row = FakeRow(S.ACCEPTED, version=3)
    card = row.view()  # both presses were made on the same card
    assert press(row, card, Action.done(), ASSIGNEE) == "ok"
    assert press(row, card, Action.done(), ASSIGNEE) == Refusal.ALREADY_DONE
    assert row.status is S.DONE
    assert row.writes == 1


def test_done_pressed_again_later_is_refused_without_writing() -> None:
    row = FakeRow(S.ACCEPTED, version=3)
    assert press(row, row.view(), Action.done(), ASSIGNEE) == "ok"
    assert press(row, row.view(), Action.done(), ASSIGNEE) == Refusal.ALREADY_DONE
    assert row.writes == 1


def test_stale_card_cannot_approve_after_a_cancel() -> None:
    row = FakeRow(S.DONE, version=5)
    card = row.view()
    assert press(row, card, Action.cancel(), UNIT_LEADER) == "ok"
    assert press(row, card, Action.approve(), ASSIGNER) == Refusal.CANCELLED
    assert row.status is S.CANCELLED
    assert row.writes == 1


def test_two_assignees_pressing_done_together_make_one_transition() -> None:
    row = FakeRow(S.ACCEPTED, version=3)
    card = row.view()
    outcomes = [
        press(row, card, Action.done(), ASSIGNEE),
        press(row, card, Action.done(), SECOND_ASSIGNEE),
    ]
    assert outcomes == ["ok", Refusal.ALREADY_DONE]
    assert row.writes == 1


def test_full_happy_path() -> None:
    row = FakeRow(S.ASSIGNED, version=0)
    assert press(row, row.view(), Action.accept(), ASSIGNEE) == "ok"
    assert press(row, row.view(), Action.need_help("thiếu số liệu"), ASSIGNEE) == "ok"
    assert press(row, row.view(), Action.accept(), ASSIGNEE) == "ok"
    assert press(row, row.view(), Action.done(), ASSIGNEE) == "ok"
    assert press(row, row.view(), Action.return_("bổ sung phụ lục"), ASSIGNER) == "ok"
    assert row.status is S.ACCEPTED
    assert press(row, row.view(), Action.done(), ASSIGNEE) == "ok"
    assert press(row, row.view(), Action.approve(), UNIT_LEADER) == "ok"
    assert (row.status, row.version, row.writes) == (S.APPROVED, 7, 7)


# ---------------------------------------------------------------- overdue and listing


@pytest.mark.parametrize(
    ("status", "now", "expected"),
    [
        (S.ASSIGNED, DEADLINE + timedelta(minutes=1), True),
        (S.ACCEPTED, DEADLINE + timedelta(days=3), True),
        (S.BLOCKED, DEADLINE + timedelta(seconds=1), True),
        (S.ACCEPTED, DEADLINE, False),  # exactly at the deadline is on time
        (S.ACCEPTED, DEADLINE - timedelta(minutes=1), False),
        (S.DONE, DEADLINE + timedelta(days=1), False),  # waiting for approval
        (S.APPROVED, DEADLINE + timedelta(days=1), False),
        (S.CANCELLED, DEADLINE + timedelta(days=1), False),
    ],
)
def test_overdue_is_derived(status: TaskStatus, now: datetime, expected: bool) -> None:
    assert is_overdue(task(status), now) is expected


def test_task_without_deadline_is_never_overdue() -> None:
    assert not is_overdue(task(S.ACCEPTED, deadline=None), NOW + timedelta(days=365))


def test_overdue_compares_instants_not_wall_clocks() -> None:
    # 17:00 in Hồ Chí Minh City is 12:00 in Berlin (CEST): 12:30 there is past it.
    berlin_now = datetime(2020, 4, 15, 12, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert is_overdue(task(S.ACCEPTED), berlin_now)


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        (datetime(2020, 4, 15, 8, 0, tzinfo=HCM), HCM, True),
        (datetime(2020, 4, 15, 18, 0, tzinfo=HCM), HCM, True),  # due today, already late
        (datetime(2020, 4, 14, 23, 0, tzinfo=HCM), HCM, False),
        # 16/4 01:00 in HCM is still the 15th in Berlin, where the deadline is 12:00.
        (datetime(2020, 4, 16, 1, 0, tzinfo=HCM), ZoneInfo("Europe/Berlin"), True),
    ],
)
def test_due_today_uses_the_units_calendar(now: datetime, tz: ZoneInfo, expected: bool) -> None:
    assert is_due_today(task(S.ACCEPTED), now, tz) is expected


def test_listing_order_overdue_first_then_deadline_then_no_deadline() -> None:
    now = datetime(2020, 4, 20, 10, 0, tzinfo=HCM)
    tasks = [
        task(S.ACCEPTED, id=1, deadline=None),
        task(S.ACCEPTED, id=2, deadline=now + timedelta(days=2)),
        task(S.ASSIGNED, id=3, deadline=now - timedelta(hours=1)),  # overdue
        task(S.ACCEPTED, id=4, deadline=now + timedelta(hours=3)),
        task(S.BLOCKED, id=5, deadline=now - timedelta(days=2)),  # most overdue
        task(S.DONE, id=6, deadline=now - timedelta(days=3)),  # late but handed in
        task(S.ACCEPTED, id=7, deadline=now + timedelta(hours=3), urgent=True),
        task(S.ASSIGNED, id=8, deadline=None, urgent=True),
    ]
    ordered = sorted(tasks, key=lambda t: sort_key_for_listing(t, now))
    assert [t.id for t in ordered] == [5, 3, 6, 7, 4, 2, 8, 1]


# ---------------------------------------------------------------- flags


@pytest.mark.parametrize(
    ("text", "clean", "urgent", "legal"),
    [
        ("Soạn công văn !khan", "Soạn công văn", True, False),
        ("Soạn công văn !khẩn hạn mai", "Soạn công văn hạn mai", True, False),
        ("!URGENT draft the letter", "draft the letter", True, False),
        ("Gửi báo cáo !gấp", "Gửi báo cáo", True, False),
        ("Trả lời đơn !phaply", "Trả lời đơn", False, True),
        ("Trả lời đơn !pháp_lý !khan", "Trả lời đơn", True, True),
        ("Answer the complaint !legal", "Answer the complaint", False, True),
        ("Trả lời đơn, thời hạn pháp lý.", "Trả lời đơn.", False, True),
        ("Tra loi don thoi han phap ly", "Tra loi don", False, True),
        # Followed by a date the phrase stays: it is that deadline's marker.
        ("Trả lời đơn thời hạn pháp lý 15/4", "Trả lời đơn thời hạn pháp lý 15/4", False, True),
        ("Gọi anh !khanh", "Gọi anh !khanh", False, False),
        ("Hỏi khẩn trương", "Hỏi khẩn trương", False, False),
        ("Soạn công văn", "Soạn công văn", False, False),
    ],
)
def test_parse_flags(text: str, clean: str, urgent: bool, legal: bool) -> None:
    assert parse_flags(text) == (clean, urgent, legal)
