"""Reminders fire once, at the right local time, on working days, never to people on leave."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app import Application
from bot.clock import ManualClock
from bot.delivery.outbox import OutboxWorker
from bot.scheduler.engine import ReminderEngine
from storage.models import Attendance, Identity, OutboxMessage, Person, Reminder, Task, Unit
from tests.fakes import FakeMessenger

HCM = 7  # UTC+7
TOKYO = 9  # UTC+9


def at_local(day: date, hour: int, minute: int, offset: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(
        hours=offset
    )


async def seed(application: Application) -> dict[str, int]:
    ids: dict[str, int] = {}
    async with application.app.db.transaction() as session:
        hcm = Unit(code="vp", name="Văn phòng", timezone="Asia/Ho_Chi_Minh", office_quota=0.5)
        tokyo = Unit(code="jp", name="Đại diện Tokyo", timezone="Asia/Tokyo", office_quota=0.5)
        session.add_all([hcm, tokyo])
        await session.flush()
        people = [
            ("an", "Nguyễn Văn An", "leader", hcm.id, "1001"),
            ("binh", "Trần Thị Bình", "staff", hcm.id, "1002"),
            ("chi", "Lê Thị Chi", "staff", hcm.id, "1003"),
            ("dao", "Phạm Văn Đạo", "leader", tokyo.id, "2001"),
            ("em", "Hoàng Thị Em", "staff", tokyo.id, "2002"),
        ]
        for key, name, role, unit_id, user_id in people:
            person = Person(full_name=name, role=role, unit_id=unit_id)
            session.add(person)
            await session.flush()
            session.add(Identity(channel="telegram", user_id=user_id, person_id=person.id))
            ids[key] = person.id
        ids["hcm"], ids["tokyo"] = hcm.id, tokyo.id
    return ids


def worker(application: Application, name: str = "w1") -> OutboxWorker:
    app = application.app
    return OutboxWorker(app.db, app.delivery, app.clock, name)


async def run(application: Application, clock: ManualClock, moment: datetime) -> list[str]:
    clock.set(moment)
    engine = ReminderEngine(application.app)
    result = await engine.tick()
    await worker(application).drain()
    return result.sent + result.late


TUESDAY = date(2020, 4, 14)


async def check_in(
    application: Application, person_id: int, unit_id: int, mode: str, at: datetime
) -> None:
    """The person's attendance row for TUESDAY, checked in at ``at``."""
    async with application.app.db.transaction() as session:
        session.add(
            Attendance(
                person_id=person_id,
                unit_id=unit_id,
                day=TUESDAY,
                mode=mode,
                checked_in_at=at,
                updated_at=at,
            )
        )


async def test_morning_reminder_once_per_unit_in_its_time_zone(
    application: Application, clock: ManualClock, messenger: FakeMessenger
) -> None:
    ids = await seed(application)
    hcm_people = {f"person:{ids[k]}" for k in ("an", "binh", "chi")}
    # 07:29 in Hồ Chí Minh City is 09:29 in Tokyo: Tokyo's 07:30 has passed, ours not yet.
    early = await run(application, clock, at_local(TUESDAY, 7, 29, HCM))
    assert not any(k.split("|")[1] in hcm_people for k in early)
    assert messenger.texts("1002") == []
    # Tokyo's were two hours late (this test starts the clock then): sent once, marked late.
    assert messenger.texts("2002")[0].startswith("(nhắc muộn)")
    sent = await run(application, clock, at_local(TUESDAY, 7, 30, HCM))
    mornings = {k.split("|")[1] for k in sent if k.startswith("checkin.morning")}
    assert mornings == hcm_people
    texts = messenger.texts("1002")
    assert len(texts) == 1 and "Chào buổi sáng Trần Thị Bình" in texts[0]
    assert "/diemdanh" in texts[0]
    again = await run(application, clock, at_local(TUESDAY, 7, 45, HCM))
    assert [k for k in again if k.startswith("checkin.morning")] == []
    assert len(messenger.texts("1002")) == 1
    assert len([t for t in messenger.texts("2002") if "Chào buổi sáng" in t]) == 1


async def test_tokyo_morning_on_time(
    application: Application, clock: ManualClock, messenger: FakeMessenger
) -> None:
    ids = await seed(application)
    sent = await run(application, clock, at_local(TUESDAY, 7, 30, TOKYO))
    assert {k.split("|")[1] for k in sent if k.startswith("checkin.morning")} == {
        f"person:{ids['dao']}",
        f"person:{ids['em']}",
    }
    assert messenger.texts("1002") == []
    assert not messenger.texts("2002")[0].startswith("(nhắc muộn)")


@pytest.mark.parametrize(
    "day",
    [date(2020, 4, 30), date(2020, 5, 1), date(2020, 4, 18), date(2020, 4, 19)],
    ids=["reunification-day", "labour-day", "saturday", "sunday"],
)
async def test_no_reminders_on_holidays_and_weekends(
    application: Application, clock: ManualClock, messenger: FakeMessenger, day: date
) -> None:
    await seed(application)
    for hour in (7, 9, 16, 17, 18):
        await run(application, clock, at_local(day, hour, 31, HCM))
    assert messenger.sent == []


async def test_nobody_on_leave_is_reminded_and_the_nudge_skips_who_checked_in(
    application: Application, clock: ManualClock, messenger: FakeMessenger
) -> None:
    ids = await seed(application)
    await check_in(application, ids["chi"], ids["hcm"], "leave", at_local(TUESDAY, 7, 0, HCM))
    await run(application, clock, at_local(TUESDAY, 7, 30, HCM))
    assert messenger.texts("1003") == []
    await check_in(application, ids["binh"], ids["hcm"], "home", at_local(TUESDAY, 8, 0, HCM))
    sent = await run(application, clock, at_local(TUESDAY, 9, 0, HCM))
    nudged = sorted(k for k in sent if k.startswith("checkin.nudge|"))
    assert nudged == [f"checkin.nudge|person:{ids['an']}|2020-04-14"]
    [leader_list] = [t for t in messenger.texts("1001") if "người chưa điểm danh" in t]
    assert "Nguyễn Văn An" in leader_list
    assert "Trần Thị Bình" not in leader_list and "Lê Thị Chi" not in leader_list


async def test_restart_between_recorded_and_sent_loses_nothing_and_repeats_nothing(
    application: Application, clock: ManualClock, messenger: FakeMessenger
) -> None:
    await seed(application)
    clock.set(at_local(TUESDAY, 7, 30, HCM))
    result = await ReminderEngine(application.app).tick()
    assert result.sent
    # The process dies here: keys recorded, outbox filled, nothing sent yet.
    assert messenger.sent == []
    # A new process: a new engine decides nothing twice, a new worker sends the rest.
    again = await ReminderEngine(application.app).tick()
    assert again.sent == [] and again.late == []
    await worker(application, "after-restart").drain()
    decided = len(result.sent) + len(result.late)
    assert len(messenger.sent) == decided
    sent_pairs = [(r.chat.chat_id, r.message.text) for r in messenger.sent]
    assert len(set(sent_pairs)) == decided  # nothing twice
    async with application.app.db.transaction() as session:
        reminders = await session.scalar(select(func.count()).select_from(Reminder))
        outbox = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
        )
    assert reminders == outbox == decided


async def test_after_long_downtime_old_reminders_are_skipped_not_sent(
    application: Application, clock: ManualClock, messenger: FakeMessenger
) -> None:
    await seed(application)
    clock.set(at_local(TUESDAY, 11, 0, HCM))
    result = await ReminderEngine(application.app).tick()
    await worker(application).drain()
    assert any(k.startswith("checkin.morning") for k in result.skipped)
    assert not any(k.startswith("checkin.morning") for k in result.sent + result.late)
    assert [t for t in messenger.texts() if "Chào buổi sáng" in t] == []


async def test_task_deadline_reminders_and_escalation(
    application: Application, clock: ManualClock, messenger: FakeMessenger
) -> None:
    ids = await seed(application)
    deadline = at_local(date(2020, 4, 16), 17, 0, HCM)  # Thursday 17:00
    async with application.app.db.transaction() as session:
        task = Task(
            unit_id=ids["hcm"],
            text="Tổng hợp hồ sơ tồn đọng",
            assigner_id=ids["an"],
            assignee_id=ids["binh"],
            status="accepted",
            deadline=deadline,
            created_at=deadline - timedelta(days=3),
            updated_at=deadline - timedelta(days=3),
        )
        session.add(task)
    # The leader of the unit assigned it, so escalation goes nowhere new; the assigner is told.
    moments = [
        deadline - timedelta(hours=24),
        deadline - timedelta(hours=2),
        deadline,
        deadline + timedelta(hours=1),
    ]
    kinds: list[str] = []
    for moment in moments:
        sent = await run(application, clock, moment)
        kinds.extend(k.split("|")[0] for k in sent if k.startswith("task."))
    assert kinds == ["task.before", "task.before", "task.due", "task.overdue"]
    binh = [t for t in messenger.texts("1002") if "Việc #" in t]
    assert "còn 24 giờ" in binh[0] and "còn 2 giờ" in binh[1] and "đến hạn lúc này" in binh[2]
    assert "17:00 thứ Năm 16/04/2020" in binh[0]
    [overdue] = [t for t in messenger.texts("1001") if "Việc #" in t]
    assert "đã quá hạn" in overdue
    assert "Trần Thị Bình" in overdue


async def test_quiet_hours_push_a_reminder_to_the_morning(
    application: Application, clock: ManualClock, messenger: FakeMessenger
) -> None:
    ids = await seed(application)
    deadline = at_local(date(2020, 4, 15), 23, 0, HCM)  # due at 23:00: inside quiet hours
    async with application.app.db.transaction() as session:
        session.add(
            Task(
                unit_id=ids["hcm"],
                text="Gửi báo cáo nhanh",
                assigner_id=ids["an"],
                assignee_id=ids["binh"],
                status="assigned",
                deadline=deadline,
                created_at=deadline - timedelta(days=2),
                updated_at=deadline - timedelta(days=2),
            )
        )
    at_night = await run(application, clock, deadline)
    assert [k for k in at_night if k.startswith("task.due")] == []
    morning = await run(application, clock, at_local(date(2020, 4, 16), 6, 30, HCM))
    # Both the 23:00 "due" and the 00:00 "overdue" waited for the end of the quiet hours.
    assert [k.split("|")[0] for k in morning if k.startswith("task.")] == [
        "task.due",
        "task.overdue",
    ]


async def test_preview_lists_a_day_without_sending(
    application: Application, clock: ManualClock, messenger: FakeMessenger
) -> None:
    await seed(application)
    engine = ReminderEngine(application.app)
    start = at_local(TUESDAY, 0, 0, HCM)
    due = await engine.preview(start, start + timedelta(days=1), "vp")
    kinds = {d.kind for d in due}
    assert {"checkin.morning", "checkin.nudge", "report.reminder", "report.digest"} <= kinds
    assert all(d.chat.chat_id.startswith("100") for d in due if d.kind != "report.group_counts")
    assert messenger.sent == []
    async with application.app.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Reminder)) == 0
