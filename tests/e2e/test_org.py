"""Organisation over the mock chat server: the demo org, invitations, /me, groups, the guard."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.demo import demo_organisation
from bot.runner import RunningBot
from bot.services.org.importer import apply_org, parse_org
from storage.models import AuditEntry, ChatBinding, Person, Task
from tests.chat import MockChatClient


async def load_demo(bot: RunningBot) -> None:
    spec = parse_org(demo_organisation(), "yaml")
    assert not isinstance(spec, list), spec
    app = bot.application.app
    async with app.db.transaction() as session:
        report = await apply_org(session, spec, now=app.clock.now())
    assert report.added
    async with app.db.transaction() as session:
        again = await apply_org(session, spec, now=app.clock.now())
    assert again.is_noop
    app.actors.clear()


async def test_invitation_binds_once(bot: RunningBot, chat: MockChatClient) -> None:
    await load_demo(bot)
    leader = await chat.user(100001, "Nguyễn Văn An", "an_nv")
    [created] = await leader.ask("/moi canbo 3")
    code = re.search(r"start=([A-Za-z0-9_-]+)", created["text"])
    assert code, created["text"]
    assert len(code.group(1)) >= 16  # 96 random bits in base64url

    newcomer = await chat.user(100050, "Đinh Văn Mới", "moi_dv")
    [welcome] = await newcomer.ask(f"/start {code.group(1)}")
    assert "Văn phòng UBND Phường 1" in welcome["text"]
    [me] = await newcomer.ask("/toi")
    assert "Đinh Văn Mới" in me["text"] and "Nguyễn Văn An" in me["text"]

    second = await chat.user(100051, "Kẻ Dùng Lại")
    [refused] = await second.ask(f"/start {code.group(1)}")
    assert "đã được dùng" in refused["text"]
    async with bot.application.app.db.transaction() as session:
        people = await session.scalar(
            select(func.count()).select_from(Person).where(Person.full_name == "Kẻ Dùng Lại")
        )
        audited = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("invite.%"))
        )
    assert people == 0
    assert audited == 2  # created and redeemed


async def test_staff_cannot_invite_and_citizen_gets_the_faq_hint(
    bot: RunningBot, chat: MockChatClient
) -> None:
    await load_demo(bot)
    staff = await chat.user(100002, "Trần Thị Bình", "binh_tt")
    [refused] = await staff.ask("/moi")
    assert "Chỉ trưởng đơn vị" in refused["text"]
    citizen = await chat.user(500001, "Lê Văn Dân", "dan_le")
    [citizen_refused] = await citizen.ask("/moi")
    assert "chỉ dành cho cán bộ" in citizen_refused["text"]


async def test_bindgroup_by_the_leader_only(bot: RunningBot, chat: MockChatClient) -> None:
    await load_demo(bot)
    await chat.user(100001, "Nguyễn Văn An", "an_nv")
    await chat.user(100002, "Trần Thị Bình", "binh_tt")
    await chat.group(-1002000009, "Nhóm mới của Văn phòng", [100001, 100002])
    staff = (await chat.user(100002, "Trần Thị Bình", "binh_tt")).in_chat(-1002000009)
    [refused] = await staff.ask("/ganketnhom")
    assert "Chỉ trưởng đơn vị" in refused["text"]
    leader = (await chat.user(100001, "Nguyễn Văn An", "an_nv")).in_chat(-1002000009)
    [bound] = await leader.ask("/ganketnhom")
    assert "nhóm làm việc của <b>Văn phòng UBND Phường 1</b>" in bound["text"]
    async with bot.application.app.db.transaction() as session:
        groups = list(
            await session.scalars(
                select(ChatBinding.chat_id).where(ChatBinding.purpose == "unit_group")
            )
        )
    assert "-1002000009" in groups
    assert "-1001000001" not in groups  # the unit's previous group was released


async def test_staff_cannot_assign_and_classified_text_is_never_stored(
    bot: RunningBot, chat: MockChatClient
) -> None:
    await load_demo(bot)
    await chat.user(100001, "Nguyễn Văn An", "an_nv")
    staff = (await chat.user(100002, "Trần Thị Bình", "binh_tt")).in_chat(-1001000001)
    await chat.group(-1001000001, "Văn phòng", [100001, 100002])
    [refused] = await staff.ask("/giaoviec @an_nv Soạn báo cáo hạn 17h ngày mai")
    assert "Chỉ lãnh đạo" in refused["text"]

    leader = (await chat.user(100001, "Nguyễn Văn An", "an_nv")).in_chat(-1001000001)
    [warning] = await leader.ask("/giaoviec @binh_tt Soạn tài liệu Tối mật gửi Thành uỷ hạn 17h")
    assert "bí mật nhà nước" in warning["text"]
    async with bot.application.app.db.transaction() as session:
        tasks = await session.scalar(select(func.count()).select_from(Task))
        audit = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "classified.refused")
            )
        )
    assert tasks == 0
    assert len(audit) == 1
    assert "Thành uỷ" not in (audit[0].note or "") and audit[0].entity == "task"
