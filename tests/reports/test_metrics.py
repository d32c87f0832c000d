"""The report numbers computed on crafted facts: no database, fixed aware datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from bot.app import Application
from bot.services.reports.metrics import (
    CheckinFacts,
    Facts,
    PersonFacts,
    ReportFacts,
    TaskFacts,
    UnitFacts,
    collect,
    compute,
    quota_of,
    sort_key,
)
from bot.services.reports.periods import Period
from bot.services.reports.rules import UnitSchedule
from storage.models import Attendance, Task, TaskEvent
from tests.reports.conftest import make_org

HCMC = UnitSchedule.of("Asia/Ho_Chi_Minh", "12345", "09:00")
UNIT = UnitFacts(1, "MOTCUA", "Một cửa", None, HCMC, Fraction(1, 3))
# Week of 13-19 April 2020; "now" is Thursday 16 April, 17:00 in HCMC.
WEEK = Period(date(2020, 4, 13), date(2020, 4, 19))
NOW = datetime(2020, 4, 16, 10, 0, tzinfo=UTC)


def at(day: int, hour: int, month: int = 4) -> datetime:
    """A moment in April 2020 given in HCMC local hours."""
    return datetime(2020, month, day, hour - 7, 0, tzinfo=UTC)


def people(n: int) -> list[PersonFacts]:
    names = ["Nguyễn Văn An", "Lê Thị Bình", "Phạm Văn Cường", "Đỗ Thị Dung", "Vũ Văn Em", "Hà Gia"]
    return [PersonFacts(i + 1, names[i], 1) for i in range(n)]


def test_working_days_stop_today_and_leave_is_not_expected() -> None:
    facts = Facts(
        units=[UNIT],
        people=people(1),
        checkins=[
            CheckinFacts(1, date(2020, 4, 13), "office"),
            CheckinFacts(1, date(2020, 4, 14), "leave", late=True),
            CheckinFacts(1, date(2020, 4, 15), "home", late=True),
        ],
        reports=[ReportFacts(1, date(2020, 4, 13)), ReportFacts(1, date(2020, 4, 18))],
    )
    [person] = compute(facts, WEEK, NOW).people
    assert person.working_days == 4  # Mon-Thu; Friday has not come
    assert dict(person.checkins) == {"office": 1, "home": 1, "field_trip": 0, "leave": 1}
    assert person.late_checkins == 1  # a leave day is never late
    assert person.missed_checkin_days == (date(2020, 4, 16),)
    assert person.reports_expected == 3  # Tuesday on leave
    assert person.reports_submitted == 2  # Saturday's confirmed report counts as submitted
    assert person.missing_report_days == (date(2020, 4, 15), date(2020, 4, 16))


def test_public_holidays_are_not_working_days() -> None:
    facts = Facts(units=[UNIT], people=people(1))
    period = Period(date(2020, 4, 27), date(2020, 5, 3))
    [person] = compute(facts, period, datetime(2020, 5, 4, 3, 0, tzinfo=UTC)).people
    # 30/4 and 1/5 are holidays, 2-3/5 a weekend: Monday to Wednesday remain.
    assert person.working_days == 3


def test_tasks_on_time_late_overdue_and_cancelled() -> None:
    tasks = [
        TaskFacts(1, 1, "done", at(13, 8), deadline=at(15, 17), done_at=at(15, 17)),  # on time
        TaskFacts(2, 1, "approved", at(13, 8), deadline=at(14, 17), done_at=at(15, 9)),  # late
        TaskFacts(3, 1, "done", at(13, 8), deadline=None, done_at=at(16, 9)),  # no deadline
        TaskFacts(4, 1, "accepted", at(13, 8), deadline=at(15, 17)),  # overdue now
        TaskFacts(5, 1, "assigned", at(14, 8), deadline=at(17, 17)),  # not yet due
        TaskFacts(6, 1, "cancelled", at(14, 8), deadline=at(14, 17)),  # never counts
        TaskFacts(7, 1, "blocked", at(1, 8), deadline=at(3, 17)),  # old, still overdue
        TaskFacts(8, 1, "done", at(1, 8), deadline=at(3, 17), done_at=at(6, 9)),  # done before
    ]
    [person] = compute(Facts(units=[UNIT], people=people(1), tasks=tasks), WEEK, NOW).people
    assert person.tasks_assigned == 5  # 1-5 created this week; 6 cancelled
    assert (person.tasks_done, person.tasks_done_on_time, person.tasks_done_late) == (3, 2, 1)
    assert person.overdue_task_ids == (4, 7)
    assert person.on_time_rate == pytest.approx(2 / 5)


def test_overdue_is_judged_at_the_end_of_a_past_period() -> None:
    # Due Friday 10/4, done on Monday 13/4: overdue for the week of 6-12 April, and not done.
    task = TaskFacts(1, 1, "done", at(6, 8), deadline=at(10, 17), done_at=at(13, 9))
    facts = Facts(units=[UNIT], people=people(1), tasks=[task])
    [previous] = compute(facts, Period(date(2020, 4, 6), date(2020, 4, 12)), NOW).people
    assert (previous.tasks_done, previous.tasks_overdue, previous.on_time_rate) == (0, 1, 0.0)
    [this_week] = compute(facts, WEEK, NOW).people
    assert (this_week.tasks_done, this_week.tasks_done_late, this_week.tasks_overdue) == (1, 1, 0)


def test_a_returned_task_is_open_again() -> None:
    task = TaskFacts(1, 1, "accepted", at(13, 8), deadline=at(14, 17), done_at=at(14, 10))
    [person] = compute(Facts(units=[UNIT], people=people(1), tasks=[task]), WEEK, NOW).people
    assert (person.tasks_done, person.tasks_overdue) == (0, 1)


def test_no_tasks_gives_no_rate() -> None:
    [person] = compute(Facts(units=[UNIT], people=people(1)), WEEK, NOW).people
    assert person.on_time_rate is None


def test_days_against_the_quota() -> None:
    checkins = [
        CheckinFacts(p, date(2020, 4, 14), "office") for p in (1, 2, 3)
    ]  # 3 at the office with a capacity of 2 (a third of 6)
    checkins += [CheckinFacts(4, date(2020, 4, 14), "leave")]
    facts = Facts(units=[UNIT], people=people(6), checkins=checkins)
    [unit] = compute(facts, WEEK, NOW).units
    assert unit.capacity == 2
    tuesday = next(d for d in unit.days if d.day == date(2020, 4, 14))
    assert (tuesday.at_office, tuesday.checked_in, tuesday.reports_expected) == (3, 4, 5)
    assert tuesday.over_capacity
    assert unit.days_over_capacity == 1 and unit.max_at_office == 3
    assert [d.day.day for d in unit.days] == [13, 14, 15, 16]  # no days to come


def test_sub_units_are_combined_per_day() -> None:
    child = UnitFacts(2, "TIEPNHAN", "Tiếp nhận", 1, HCMC, 2)
    staff = [PersonFacts(1, "An", 1), PersonFacts(2, "Bình", 2), PersonFacts(3, "Cường", 2)]
    checkins = [CheckinFacts(p, date(2020, 4, 13), "office") for p in (1, 2)]
    metrics = compute(Facts(units=[UNIT, child], people=staff, checkins=checkins), WEEK, NOW)
    monday = metrics.combined_days()[0]
    assert (monday.headcount, monday.at_office, monday.capacity) == (3, 2, 1 + 2)
    assert [u.headcount for u in metrics.units] == [1, 2]


def test_quota_of_reads_the_float_column_like_the_check_in_rules() -> None:
    assert quota_of(None, {}) is None
    assert quota_of(0.34, {}) == Fraction(17, 50)
    assert quota_of(1.0, {}) == Fraction(1)  # everyone
    assert quota_of(1.0, {"office_quota_kind": "people"}) == 1
    assert quota_of(3.0, {}) == 3


def test_vietnamese_order_is_by_given_name() -> None:
    names = ["Trần Thị Hoa", "Phạm Văn Cường", "Nguyễn Văn An"]
    assert sorted(names, key=sort_key) == ["Nguyễn Văn An", "Phạm Văn Cường", "Trần Thị Hoa"]


async def test_collect_reads_the_tables_and_dates_approved_tasks_from_history(
    application: Application,
) -> None:
    org = await make_org(application.app.db)
    created = datetime(2020, 4, 13, 2, 0, tzinfo=UTC)
    deadline = datetime(2020, 4, 15, 10, 0, tzinfo=UTC)
    async with application.app.db.transaction() as session:
        approved = Task(
            unit_id=org.unit_id,
            text="Báo cáo tuần",
            assigner_id=org.head_id,
            assignee_id=org.an_id,
            status="approved",
            deadline=deadline,
            created_at=created,
            updated_at=created,
            done_at=None,  # cleared by the approval
        )
        session.add(approved)
        await session.flush()
        session.add(
            TaskEvent(
                task_id=approved.id,
                at=datetime(2020, 4, 15, 3, 0, tzinfo=UTC),
                action="done",
                from_status="accepted",
                to_status="done",
            )
        )
        session.add(
            Attendance(
                person_id=org.binh_id,
                unit_id=org.unit_id,
                day=date(2020, 4, 14),
                mode="office",
                late=True,
                checked_in_at=created,
                updated_at=created,
            )
        )
    async with application.app.db.transaction() as session:
        metrics = await collect(session, [org.unit_id], WEEK, NOW)
    an = next(p for p in metrics.people if p.person_id == org.an_id)
    binh = next(p for p in metrics.people if p.person_id == org.binh_id)
    assert (an.tasks_done, an.tasks_done_on_time, an.tasks_overdue) == (1, 1, 0)
    assert (binh.checkins["office"], binh.late_checkins) == (1, 1)
    names = [p.name for p in metrics.people]  # Vietnamese order: by given name
    assert names == ["Nguyễn Văn An", "Lê Thị Bình", "Phạm Văn Cường", "Trần Thị Hoa"]
