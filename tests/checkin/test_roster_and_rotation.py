"""/roster and /rotation for leaders, through the core without a chat framework."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from bot.app import Application
from bot.clock import ManualClock
from storage.models import DayPlan, Person, Unit
from tests.checkin.driver import Driver
from tests.checkin.helpers import Org, attendance_rows, audit_actions, build_unit
from tests.fakes import FakeMessenger, UpdateFactory

GROUP = "-1001234"


def hcmc(hour: int, minute: int, day: int = 14) -> datetime:
    """A local time in Hồ Chí Minh City (UTC+7) in April 2020, as UTC."""
    return datetime(2020, 4, day, hour - 7, minute, tzinfo=UTC)


@pytest.fixture
async def org(application: Application, clock: ManualClock) -> Org:
    clock.set(hcmc(8, 0))
    return await build_unit(application.app.db, group_chat_id=GROUP)


async def morning(drive: Driver, org: Org, clock: ManualClock) -> None:
    """An and Bình at the office on time, Cường home late, Dũng on leave late, two missing."""
    an, binh, cuong, dung = org.staff[:4]
    clock.set(hcmc(8, 20))
    await drive.say(an, "/checkin office")
    await drive.say(binh, "/checkin office")
    clock.set(hcmc(9, 30))
    await drive.say(cuong, "/checkin home")
    await drive.say(dung, "/checkin leave")


async def test_roster_counts_missing_late_and_leave_in_both_languages(
    drive: Driver, org: Org, clock: ManualClock
) -> None:
    await morning(drive, org, clock)
    await drive.say(org.leader, "/tinhhinh")
    vi = drive.text(org.leader)
    assert "Tình hình điểm danh — Phòng Tư pháp" in vi
    assert "Thứ Ba 14/04/2020" in vi
    assert "Tại cơ quan: <b>2/2</b>" in vi
    assert "Ở nhà: 1 · 🌴 Nghỉ phép: 1 · 🚗 Công tác: 0" in vi
    assert "Chưa điểm danh: 2 · ⏰ Muộn (sau 09:00): 1" in vi
    assert "Chưa điểm danh: Lan, Em" in vi
    assert "Điểm danh muộn: Cường" in vi  # Dũng is on leave: never late
    assert "Nghỉ phép: Dũng" in vi
    assert "Tại cơ quan: An, Bình" in vi

    await drive.say(org.leader, "/lang en")
    await drive.say(org.leader, "/roster")
    en = drive.text(org.leader)
    assert "Check-ins — Phòng Tư pháp" in en and "Tuesday 14/04/2020" in en
    assert "At the office: <b>2/2</b>" in en
    assert "Not checked in: Lan, Em" in en
    assert "Late: Cường" in en
    assert "On leave: Dũng" in en


async def test_roster_of_a_given_day_and_a_holiday(
    drive: Driver, org: Org, clock: ManualClock
) -> None:
    await morning(drive, org, clock)
    clock.set(hcmc(8, 0, day=15))
    await drive.say(org.leader, "/roster 14/04")
    assert "Chưa điểm danh: Lan, Em" in drive.text(org.leader)
    await drive.say(org.leader, "/roster 2020-04-14")
    assert "Điểm danh muộn: Cường" in drive.text(org.leader)
    await drive.say(org.leader, "/roster 30/4/2020")
    holiday = drive.text(org.leader)
    assert "Ngày không làm việc: ngày lễ (Ngày Chiến thắng)" in holiday
    assert "Chưa điểm danh" not in holiday
    await drive.say(org.leader, "/roster 31/02")
    assert "Không hiểu ngày “31/02”" in drive.text(org.leader)


async def test_roster_to_the_group_names_nobody(
    drive: Driver, org: Org, clock: ManualClock, messenger: FakeMessenger
) -> None:
    await morning(drive, org, clock)
    await drive.say(org.leader, "/roster group")
    [posted] = messenger.texts(GROUP)
    assert "Tại cơ quan: <b>2/2</b>" in posted
    assert "Chưa điểm danh: 2" in posted
    for name in ("An", "Bình", "Cường", "Dũng", "Em", "Lan"):
        assert f" {name}" not in posted.replace("Phòng Tư pháp", "")
    assert "Đã gửi số liệu (không nêu tên ai)" in drive.text(org.leader)


async def test_roster_typed_in_the_group_shows_counts_only(
    drive: Driver, org: Org, clock: ManualClock, application: Application, updates: UpdateFactory
) -> None:
    await morning(drive, org, clock)
    await application.core.handle(
        updates.message(
            "/tinhhinh", user_id=org.leader.user_id, chat_id=GROUP, group=True, username="lan_ld"
        )
    )
    [posted] = drive.messenger.texts(GROUP)
    assert "Chưa điểm danh: 2" in posted
    assert "Em" not in posted


async def test_roster_without_a_group_says_how_to_bind_one(
    drive: Driver, application: Application, clock: ManualClock
) -> None:
    org = await build_unit(application.app.db)
    await drive.say(org.leader, "/roster nhom")
    assert "/ganketnhom" in drive.text(org.leader)


async def test_staff_cannot_see_the_roster_or_set_the_rotation(drive: Driver, org: Org) -> None:
    await drive.say(org.staff[0], "/roster")
    assert "Chỉ lãnh đạo đơn vị mới xem được" in drive.text(org.staff[0])
    await drive.say(org.staff[0], "/rotation A: @staff1; B: @staff2")
    assert "Chỉ trưởng đơn vị" in drive.text(org.staff[0])


async def test_rotation_by_mentions_sets_teams_and_shows_expected_modes(
    drive: Driver, org: Org, application: Application
) -> None:
    await drive.say(org.leader, "/luanphien A: @staff1 @staff2; B: @staff3 @staff4 tuần từ 13/04")
    reply = drive.text(org.leader)
    assert "Đã lưu lịch luân phiên" in reply
    assert "Đổi nhóm mỗi tuần, bắt đầu Thứ Hai 13/04/2020" in reply
    assert "Nhóm A: An, Bình" in reply and "Nhóm B: Cường, Dũng" in reply
    assert "• An: 🏢 Cơ quan / 🏢 Cơ quan" in reply
    assert "• Cường: 🏠 Ở nhà / 🏠 Ở nhà" in reply
    assert "• Em: — / —" in reply
    async with application.app.db.transaction() as session:
        teams = dict((await session.execute(select(Person.full_name, Person.team))).all())
        unit = await session.get(Unit, org.unit_id)
        assert unit is not None
        stored = unit.settings["rotation"]
    assert teams == {"Lan": None, "An": "A", "Bình": "A", "Cường": "B", "Dũng": "B", "Em": None}
    assert stored == {"cycle": "week", "anchor": "2020-04-13", "teams": ["A", "B"]}
    assert "attendance.rotation.set" in await audit_actions(application.app.db)


async def test_rotation_refuses_unknown_people_and_warns_about_the_quota(
    drive: Driver, org: Org, application: Application
) -> None:
    await drive.say(org.leader, "/rotation A: @staff1 @nobody; B: @staff3")
    assert "Không tìm thấy trong đơn vị: @nobody" in drive.text(org.leader)
    await drive.say(org.leader, "/rotation A: @staff1 @staff2 @staff3; B: @staff4 ngay")
    reply = drive.text(org.leader)
    assert "Nhóm A đông hơn hạn mức (3&gt;2)" in reply
    await drive.say(org.leader, "/rotation A: @staff1; B: @staff2 thang")
    assert "Không hiểu “thang”" in drive.text(org.leader)
    await drive.say(org.leader, "/rotation A: @staff1; A: @staff2")
    assert "Nhóm A được ghi hai lần" in drive.text(org.leader)


async def test_rotation_from_recorded_teams_holds_places_until_the_cutoff(
    drive: Driver, org: Org, application: Application, clock: ManualClock
) -> None:
    an, binh, cuong, dung = org.staff[:4]
    async with application.app.db.transaction() as session:
        for member, team in ((an, "A"), (binh, "A"), (cuong, "B"), (dung, "B")):
            await session.execute(
                update(Person).where(Person.id == member.person_id).values(team=team)
            )
    application.app.actors.clear()
    await drive.say(org.leader, "/rotation nhom tu 13/04/2020")
    assert "Nhóm A: An, Bình" in drive.text(org.leader)

    # Tuesday is B's turn: their two places are held for them until 09:00.
    clock.set(hcmc(8, 30))
    await drive.say(an, "/checkin office")
    assert "2/2 đã ở cơ quan" in drive.text(an)
    assert "2 chỗ giữ cho người trực hoặc đến lượt" in drive.text(an)
    await drive.say(cuong, "/checkin office")
    assert "Tại cơ quan hôm nay: 1/2" in drive.text(cuong)

    # After the cut-off Dũng's hold lapses; An may come in within the quota, with a note.
    clock.set(hcmc(9, 15))
    await drive.say(an, "/checkin office")
    assert "Tại cơ quan hôm nay: 2/2" in drive.text(an)
    assert "theo lịch luân phiên hôm nay bạn làm việc tại nhà" in drive.text(an)
    await drive.say(org.leader, "/roster")
    assert "Đến cơ quan ngoài lịch luân phiên: An" in drive.text(org.leader)
    assert "Dự kiến Thứ Tư 15/04/2020: 2/2 tại cơ quan theo lịch — An, Bình" in drive.text(
        org.leader
    )


async def test_day_plans_override_the_rotation_and_can_be_removed(
    drive: Driver, org: Org, application: Application, clock: ManualClock
) -> None:
    em = org.staff[4]
    await drive.say(org.leader, "/rotation A: @staff1 @staff2; B: @staff3 @staff4 from 13/04/2020")
    await drive.say(org.leader, "/luanphien kehoach 16/04 coquan @staff5")
    assert "Kế hoạch Thứ Năm 16/04/2020: Em — làm việc tại cơ quan" in drive.text(org.leader)
    async with application.app.db.transaction() as session:
        plans = list(await session.scalars(select(DayPlan)))
    assert [(p.person_id, p.day, p.mode) for p in plans] == [
        (em.person_id, date(2020, 4, 16), "office")
    ]
    clock.set(hcmc(8, 0, day=16))
    await drive.say(em, "/checkin")
    assert "Theo lịch, hôm nay bạn làm việc tại cơ quan." in drive.text(em)

    await drive.say(org.leader, "/rotation plan 16/04 clear")
    async with application.app.db.transaction() as session:
        assert list(await session.scalars(select(DayPlan))) == []
    await drive.say(org.leader, "/rotation plan 16/04 beach @staff5")
    assert "Cú pháp" in drive.text(org.leader)


async def test_rotation_off(drive: Driver, org: Org, application: Application) -> None:
    await drive.say(org.leader, "/rotation A: @staff1; B: @staff2")
    await drive.say(org.leader, "/rotation off")
    assert "Đã bỏ lịch luân phiên" in drive.text(org.leader)
    await drive.say(org.leader, "/rotation")
    assert "Đơn vị chưa có lịch luân phiên." in drive.text(org.leader)
    await drive.say(org.leader, "/rotation tat")
    assert drive.text(org.leader) == "Đơn vị chưa có lịch luân phiên."
    assert (await audit_actions(application.app.db)).count("attendance.rotation.clear") == 1
    assert await attendance_rows(application.app.db) == []


async def test_the_units_own_days_off_and_make_up_days(
    drive: Driver, org: Org, application: Application, clock: ManualClock
) -> None:
    an = org.staff[0]
    await drive.say(org.leader, "/luanphien nghi 16/04")
    assert "Đã thêm ngày nghỉ của đơn vị: 16/04" in drive.text(org.leader)
    assert "Ngày nghỉ riêng của đơn vị: 16/04" in drive.text(org.leader)
    await drive.say(org.leader, "/rotation workday 18/04/2020")
    assert "Ngày làm việc bù: 18/04" in drive.text(org.leader)

    clock.set(hcmc(8, 0, day=16))
    await drive.say(an, "/checkin home")
    assert "ngày nghỉ của đơn vị" in drive.text(an)
    assert await attendance_rows(application.app.db) == []

    clock.set(hcmc(8, 0, day=18))  # a Saturday the unit works
    await drive.say(an, "/checkin home")
    assert "Đã ghi nhận: <b>làm việc tại nhà</b>" in drive.text(an)

    await drive.say(org.leader, "/rotation nghi 18/04")  # moves it from the other list
    await drive.say(org.leader, "/rotation dayoff 18/04 remove")
    async with application.app.db.transaction() as session:
        unit = await session.get(Unit, org.unit_id)
        assert unit is not None
        settings = dict(unit.settings)
    assert settings["extra_days_off"] == ["2020-04-16"]
    assert settings["extra_working_days"] == []
    assert (await audit_actions(application.app.db)).count("attendance.calendar.set") == 4
    await drive.say(org.leader, "/rotation nghi")
    assert "Cú pháp: <code>/luanphien nghi 02/05</code>" in drive.text(org.leader)


async def test_roster_in_another_units_group_is_refused(
    drive: Driver, org: Org, application: Application, updates: UpdateFactory
) -> None:
    other = await build_unit(
        application.app.db,
        code="khac",
        name="Phòng khác",
        leader_user_id=2000,
        first_user_id=2001,
        username_prefix="k_",
        group_chat_id="-100999",
    )
    await application.core.handle(
        updates.message("/roster", user_id=org.leader.user_id, chat_id="-100999", group=True)
    )
    assert drive.messenger.texts("-100999") == [
        "Bạn chỉ xem được đơn vị của mình và các đơn vị trực thuộc."
    ]
    await application.core.handle(
        updates.message("/roster", user_id=other.leader.user_id, chat_id="-100999", group=True)
    )
    assert "Phòng khác" in drive.messenger.texts("-100999")[-1]
