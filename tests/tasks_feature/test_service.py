"""The service layer on a real database: races, object rights, the scheduler's queries."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from bot.app import Application
from bot.services.access import Actor
from bot.services.tasks import service
from bot.services.tasks.lifecycle import Action, TaskStatus
from storage.models import Task, TaskEvent
from storage.repositories import tasks as repo
from tests.tasks_feature.helpers import Member, build_org

NOW = datetime(2020, 4, 14, 2, 0, tzinfo=UTC)


def actor(member: Member, role: str, unit_id: int) -> Actor:
    return Actor(
        identity_id=0,
        person_id=member.person_id,
        role=role,
        unit_id=unit_id,
        full_name=member.name,
        language="vi",
    )


async def test_races_rights_and_queries(application: Application, monkeypatch) -> None:
    db = application.app.db
    org = await build_org(db)
    leader = actor(org.leader, "leader", org.unit_id)
    an = actor(org.an, "staff", org.unit_id)
    async with db.transaction() as session:
        infos = await service.create(
            session,
            actor=leader,
            assignment=service.NewAssignment(
                "Báo cáo quý", (org.an.person_id,), deadline=NOW + timedelta(days=1)
            ),
            now=NOW,
        )
        later = await service.create(
            session,
            actor=leader,
            assignment=service.NewAssignment(
                "Kế hoạch tháng", (org.an.person_id,), deadline=NOW + timedelta(days=3)
            ),
            now=NOW,
        )
    task_id, later_id = infos[0].id, later[0].id

    # Two presses of Done at the same moment from two connections: exactly one moves.
    async def press_done() -> service.ActOutcome:
        async with db.transaction() as session:
            return await service.act(
                session, actor=an, task_id=task_id, whole=False, action=Action.done(), now=NOW
            )

    outcomes = await asyncio.gather(press_done(), press_done())
    assert sorted(bool(o.ok) for o in outcomes) == [False, True]
    assert [o.refusal for o in outcomes if not o.ok] == ["already_done"]

    # A stale read: another request moves the row between our read and our write. The
    # compare-and-set misses, the row is read again and the domain refuses.
    original = repo.compare_and_set
    raced: list[bool] = []

    async def racing(session, task_id_, **kwargs):  # type: ignore[no-untyped-def]
        if not raced:
            async with db.transaction() as other:
                await other.execute(
                    update(Task)
                    .where(Task.id == task_id_)
                    .values(status="accepted", version=Task.version + 1)
                )
        moved = await original(session, task_id_, **kwargs)
        raced.append(moved)
        return moved

    monkeypatch.setattr(repo, "compare_and_set", racing)
    async with db.transaction() as session:
        outcome = await service.act(
            session, actor=an, task_id=later_id, whole=False, action=Action.accept(), now=NOW
        )
    monkeypatch.setattr(repo, "compare_and_set", original)
    assert raced == [False] and outcome.refusal == "already_accepted"

    # Object rights: a colleague, a leader of another unit, a citizen.
    chi = actor(org.chi, "staff", org.unit_id)
    other_leader = actor(org.outsider, "leader", org.other_unit_id)
    citizen = Actor(0, None, "citizen", None, "Dân", "vi")
    async with db.transaction() as session:
        for who, action, refusal in (
            (chi, Action.accept(), "not_assignee"),
            (other_leader, Action.approve(), "not_assigner"),
            (citizen, Action.approve(), "not_assigner"),
            (citizen, Action.done(), "not_assignee"),
        ):
            result = await service.act(
                session, actor=who, task_id=task_id, whole=False, action=action, now=NOW
            )
            assert result.refusal == refusal, (who.full_name, action)
        # The unit's leader approves what the unit's deputy or anyone else assigned.
        approved = await service.act(
            session, actor=leader, task_id=task_id, whole=True, action=Action.approve(), now=NOW
        )
    assert approved.ok and approved.moved[0].after.status is TaskStatus.APPROVED

    async with db.transaction() as session:
        events = await session.scalar(
            select(func.count()).select_from(TaskEvent).where(TaskEvent.task_id == task_id)
        )
        # The scheduler's queries.
        due = await service.open_tasks_due_between(
            session, NOW + timedelta(days=2), NOW + timedelta(days=4)
        )
        late = await service.overdue_tasks(session, NOW + timedelta(days=5))
        mine = await service.open_tasks_of(session, org.an.person_id, NOW)
        refreshes = await service.card_refreshes(
            session, application.app.i18n, [later_id], NOW + timedelta(days=5)
        )
    assert events == 3  # assigned, done, approved: the losing presses left no trace
    assert [i.id for i in due] == [later_id]
    assert [i.id for i in late] == [later_id] and late[0].overdue(NOW + timedelta(days=5))
    assert [i.id for i in mine] == [later_id]
    assert refreshes == []  # created without cards
    card = service.render_card(application.app.i18n, late, lang="vi", now=NOW + timedelta(days=5))
    assert "⚠️ QUÁ HẠN" in card and "⚠️ Quá hạn · 🔧 Đang làm" in card
