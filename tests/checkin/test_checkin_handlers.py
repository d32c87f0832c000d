"""/checkin, /checkout and quota exceptions through the core, without a chat framework."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, select, update

from bot.app import Application
from bot.clock import ManualClock
from storage.models import Attendance, Identity, Person, QuotaException, Unit
from tests.checkin.driver import Driver
from tests.checkin.helpers import (
    MORNING,
    Org,
    attendance_rows,
    audit_actions,
    build_unit,
    button_data,
    current,
    events_of,
)
from tests.fakes import UpdateFactory

TUESDAY = date(2020, 4, 14)
# 09:30 in Hồ Chí Minh City (UTC+7) on Tuesday 14 April 2020 (MORNING is 08:30).
AFTER_CUTOFF = datetime(2020, 4, 14, 2, 30, tzinfo=UTC)


@pytest.fixture
async def org(application: Application, clock: ManualClock) -> Org:
    clock.set(MORNING)
    return await build_unit(application.app.db)


async def fill_the_office_and_refuse_cuong(drive: Driver, org: Org) -> None:
    """An and Bình take the unit's two office places; Cường asks for the office and is refused."""
    for member in org.staff[:3]:
        await drive.say(member, "/checkin office")


async def test_two_at_the_office_then_the_third_is_refused_with_the_numbers(
    drive: Driver, org: Org, application: Application
) -> None:
    an, binh, cuong = org.staff[:3]
    await drive.say(an, "/checkin office")
    await drive.say(binh, "/diemdanh coquan")
    assert "làm việc tại cơ quan" in drive.text(an)
    assert "Tại cơ quan hôm nay: 2/2" in drive.text(binh)

    await drive.say(cuong, "/diemdanh cơ quan")
    refusal = drive.now(cuong)
    assert "2/2 đã ở cơ quan" in refusal.text
    labels = [b.text for row in refusal.buttons for b in row]
    assert "🏠 Ở nhà" in labels and "🚗 Công tác" in labels and "🌴 Nghỉ phép" in labels
    assert any("Xin lãnh đạo" in label for label in labels)
    assert not any(label.split(" ", 1)[-1] == "Cơ quan" for label in labels)

    rows = await attendance_rows(application.app.db, TUESDAY)
    assert {(r.person_id, r.mode) for r in rows} == {
        (an.person_id, "office"),
        (binh.person_id, "office"),
    }


async def test_a_refused_person_takes_an_alternative_with_one_tap(
    drive: Driver, org: Org, application: Application
) -> None:
    cuong = org.staff[2]
    await fill_the_office_and_refuse_cuong(drive, org)
    await drive.press(cuong, drive.last(cuong), "Ở nhà")
    assert "làm việc tại nhà" in drive.text(cuong)
    [row] = [r for r in await attendance_rows(application.app.db) if r.person_id == cuong.person_id]
    assert row.mode == "home"


async def test_changing_mode_keeps_history_and_the_first_lateness(
    drive: Driver, org: Org, application: Application, clock: ManualClock
) -> None:
    an = org.staff[0]
    await drive.say(an, "/checkin home")
    clock.set(AFTER_CUTOFF)
    await drive.say(an, "/checkin field trip")
    assert "Đã đổi thành" in drive.text(an)
    assert "muộn" not in drive.text(an)
    [row] = await attendance_rows(application.app.db)
    assert (row.mode, row.late, row.version) == ("field_trip", False, 2)
    assert row.checked_in_at == MORNING
    events = await events_of(application.app.db, an.person_id)
    assert [(e.action, e.mode) for e in events] == [("checkin", "home"), ("change", "field_trip")]


async def test_late_after_the_units_cutoff_in_its_own_time_zone(
    drive: Driver, org: Org, application: Application, clock: ManualClock
) -> None:
    an, binh = org.staff[:2]
    clock.set(datetime(2020, 4, 14, 2, 0, tzinfo=UTC))  # 09:00 sharp: on time
    await drive.say(an, "/checkin home")
    clock.set(datetime(2020, 4, 14, 2, 0, 1, tzinfo=UTC))  # 09:00:01: late
    await drive.say(binh, "/checkin nha")
    assert "muộn" not in drive.text(an)
    assert "Sau giờ điểm danh 09:00" in drive.text(binh)
    rows = {r.person_id: r.late for r in await attendance_rows(application.app.db)}
    assert rows == {an.person_id: False, binh.person_id: True}


async def test_a_holiday_is_recorded_only_when_the_person_confirms(
    drive: Driver, org: Org, application: Application, clock: ManualClock
) -> None:
    an, binh = org.staff[:2]
    clock.set(datetime(2020, 4, 30, 1, 30, tzinfo=UTC))
    await drive.say(an, "/checkin office")
    asked = drive.last(an)
    assert "không phải ngày làm việc" in asked.message.text
    assert "Ngày Chiến thắng" in asked.message.text
    assert await attendance_rows(application.app.db) == []

    await drive.press(an, asked, "Vẫn điểm danh")
    [row] = await attendance_rows(application.app.db)
    assert (row.day, row.mode, row.non_working_day, row.late) == (
        date(2020, 4, 30),
        "office",
        True,
        False,
    )

    await drive.say(binh, "/lang en")
    await drive.say(binh, "/checkin home")
    refused = drive.last(binh)
    assert "public holiday" in refused.message.text
    await drive.press(binh, refused, "No")
    assert current(refused).text == "OK, nothing recorded."
    assert len(await attendance_rows(application.app.db)) == 1


async def test_a_weekend_needs_confirmation_too(
    drive: Driver, org: Org, application: Application, clock: ManualClock
) -> None:
    clock.set(datetime(2020, 4, 18, 1, 30, tzinfo=UTC))  # Saturday
    await drive.say(org.staff[0], "/checkin home")
    assert "ngày nghỉ cuối tuần" in drive.text(org.staff[0])
    assert await attendance_rows(application.app.db) == []


async def test_an_unknown_mode_shows_the_buttons_again_with_help(
    drive: Driver, org: Org, application: Application
) -> None:
    an = org.staff[0]
    await drive.say(an, "/checkin <b>bãi biển</b>")
    reply = drive.now(an)
    assert "Không hiểu “&lt;b&gt;bãi biển&lt;/b&gt;”" in reply.text
    assert "/diemdanh coquan" in reply.text
    assert [b.text for row in reply.buttons for b in row] == [
        "🏠 Ở nhà",
        "🏢 Cơ quan",
        "🌴 Nghỉ phép",
        "🚗 Công tác",
    ]
    assert await attendance_rows(application.app.db) == []


async def test_the_card_shows_the_persons_expected_mode(
    drive: Driver, org: Org, application: Application
) -> None:
    an, _, cuong = org.staff[:3]
    await drive.say(org.leader, "/rotation A: @staff1 @staff2; B: @staff3 from 13/04/2020")
    # Monday 13/4 is A's, Tuesday 14/4 B's, Wednesday 15/4 A's again.
    await drive.say(an, "/checkin")
    assert "Theo lịch, hôm nay bạn làm việc tại nhà." in drive.text(an)
    assert "Thứ Tư 15/04/2020): làm việc tại cơ quan" in drive.text(an)
    await drive.say(cuong, "/lang en")
    await drive.say(cuong, "/diemdanh")
    assert "Planned for you today: at the office." in drive.text(cuong)


async def test_leaders_count_toward_the_quota(
    drive: Driver, org: Org, application: Application
) -> None:
    an, binh = org.staff[:2]
    await drive.say(org.leader, "/checkin office")
    await drive.say(an, "/checkin office")
    await drive.say(binh, "/checkin office")
    assert "2/2 đã ở cơ quan" in drive.text(binh)


async def test_a_place_is_held_for_the_person_on_duty_until_the_cutoff(
    drive: Driver, org: Org, application: Application, clock: ManualClock
) -> None:
    an, binh, cuong = org.staff[:3]
    async with application.app.db.transaction() as session:
        await session.execute(
            update(Person).where(Person.id == cuong.person_id).values(on_duty=True)
        )
    application.app.actors.clear()
    await drive.say(an, "/checkin office")
    await drive.say(binh, "/checkin office")
    assert "2/2 đã ở cơ quan" in drive.text(binh)
    assert "1 chỗ giữ cho người trực" in drive.text(binh)
    await drive.say(cuong, "/checkin office")
    assert "Tại cơ quan hôm nay: 2/2" in drive.text(cuong)


async def test_a_leaders_exception_lets_the_refused_person_in(
    drive: Driver, org: Org, application: Application
) -> None:
    cuong = org.staff[2]
    await fill_the_office_and_refuse_cuong(drive, org)
    await drive.press(cuong, drive.last(cuong), "Xin lãnh đạo")
    assert "Đã gửi đề nghị tới Lan" in drive.text(cuong)

    request = drive.last(org.leader)
    assert "<b>Cường</b> xin đến cơ quan" in request.message.text
    assert "2/2 đã ở cơ quan" in request.message.text
    granted = await drive.press(org.leader, request, "Cho phép")
    assert granted.callback_answer is not None
    assert "Đã cho phép Cường" in current(request).text
    assert "3/2" in current(request).text
    assert "đã cho phép bạn đến cơ quan" in drive.text(cuong)

    rows = {r.person_id: r for r in await attendance_rows(application.app.db)}
    assert (rows[cuong.person_id].mode, rows[cuong.person_id].by_exception) == ("office", True)
    assert "attendance.exception.grant" in await audit_actions(application.app.db)

    # The same button again (or an old copy of it) grants nothing twice.
    again = await drive.press_data(org.leader, request, button_data(request.message, "Cho phép"))
    assert again.callback_answer is not None
    assert again.callback_answer.text == "Ngoại lệ này đã được cho phép trước đó."
    assert len(await events_of(application.app.db, cuong.person_id)) == 1
    async with application.app.db.transaction() as session:
        exceptions = list(await session.scalars(select(QuotaException)))
    assert len(exceptions) == 1
    assert (await audit_actions(application.app.db)).count("attendance.exception.grant") == 1

    # Switching away and back the same day needs no second exception.
    await drive.say(cuong, "/checkin home")
    await drive.say(cuong, "/checkin office")
    assert "ngoại lệ lãnh đạo đã cho phép" in drive.text(cuong)


async def test_a_denied_exception_is_told_with_the_alternatives(
    drive: Driver, org: Org, application: Application
) -> None:
    an, binh, cuong = org.staff[:3]
    await fill_the_office_and_refuse_cuong(drive, org)
    await drive.press(cuong, drive.last(cuong), "Xin lãnh đạo")
    await drive.press(org.leader, drive.last(org.leader), "Không cho phép")
    notice = drive.now(cuong)
    assert "Lãnh đạo không đồng ý" in notice.text
    assert "🏠 Ở nhà" in [b.text for row in notice.buttons for b in row]
    assert "attendance.exception.deny" in await audit_actions(application.app.db)
    assert {r.person_id for r in await attendance_rows(application.app.db)} == {
        an.person_id,
        binh.person_id,
    }


async def test_only_a_leader_of_the_unit_decides_an_exception(
    drive: Driver, org: Org, application: Application
) -> None:
    an, _, cuong = org.staff[:3]
    await fill_the_office_and_refuse_cuong(drive, org)
    await drive.press(cuong, drive.last(cuong), "Xin lãnh đạo")
    data = button_data(drive.last(org.leader).message, "Cho phép")
    # Staff pressing a forwarded copy is stopped by the guard.
    outcome = await drive.press_data(an, drive.last(an), data)
    assert outcome.callback_answer is not None and outcome.callback_answer.alert
    # A leader of another unit is stopped by the object-level rule.
    other = await build_unit(
        application.app.db,
        code="khac",
        name="Phòng khác",
        leader_user_id=2000,
        first_user_id=2001,
        username_prefix="k_",
    )
    outcome = await drive.press_data(other.leader, drive.last(cuong), data)
    assert outcome.callback_answer is not None
    assert "không phải lãnh đạo" in (outcome.callback_answer.text or "")
    assert cuong.person_id not in {r.person_id for r in await attendance_rows(application.app.db)}


async def test_a_leader_over_the_quota_lets_themself_in_audited(
    drive: Driver, org: Org, application: Application
) -> None:
    an, binh = org.staff[:2]
    await drive.say(an, "/checkin office")
    await drive.say(binh, "/checkin office")
    await drive.say(org.leader, "/checkin office")
    assert "2/2 đã ở cơ quan" in drive.text(org.leader)
    await drive.press(org.leader, drive.last(org.leader), "Xin lãnh đạo")
    assert "Đã cho phép Lan" in drive.text(org.leader)
    rows = {r.person_id: r.mode for r in await attendance_rows(application.app.db)}
    assert rows[org.leader.person_id] == "office"
    assert "attendance.exception.grant" in await audit_actions(application.app.db)


async def test_checkout(
    drive: Driver, org: Org, application: Application, clock: ManualClock
) -> None:
    an = org.staff[0]
    await drive.say(an, "/checkout")
    assert "chưa điểm danh" in drive.text(an)
    await drive.say(an, "/checkin home")
    clock.set(datetime(2020, 4, 14, 10, 5, tzinfo=UTC))  # 17:05
    await drive.say(an, "/ketthuc")
    assert "lúc 17:05" in drive.text(an)
    clock.set(datetime(2020, 4, 14, 10, 30, tzinfo=UTC))
    await drive.say(an, "/checkout")
    assert "đã kết thúc ngày làm việc lúc 17:05" in drive.text(an)
    [row] = await attendance_rows(application.app.db)
    assert row.checked_out_at == datetime(2020, 4, 14, 10, 5, tzinfo=UTC)
    events = await events_of(application.app.db, an.person_id)
    assert [e.action for e in events] == ["checkin", "checkout"]


async def test_citizens_and_people_without_a_unit_are_refused(
    drive: Driver, org: Org, application: Application, updates: UpdateFactory
) -> None:
    await application.core.handle(updates.message("/checkin office", user_id="555"))
    assert drive.messenger.texts("555") == [
        "Chức năng này chỉ dành cho cán bộ của cơ quan. Bạn có thể hỏi về thủ tục hành chính: "
        "cứ gõ câu hỏi của bạn."
    ]
    an = org.staff[0]
    async with application.app.db.transaction() as session:
        await session.execute(update(Person).where(Person.id == an.person_id).values(unit_id=None))
    application.app.actors.clear()
    await drive.say(an, "/checkin office")
    assert "chưa thuộc đơn vị nào" in drive.text(an)
    assert await attendance_rows(application.app.db) == []


async def test_checkin_is_private_only(
    drive: Driver, org: Org, application: Application, updates: UpdateFactory
) -> None:
    an = org.staff[0]
    await application.core.handle(
        updates.message("/checkin office", user_id=an.user_id, chat_id="-100123", group=True)
    )
    assert drive.messenger.texts("-100123") == ["Lệnh này chỉ dùng trong trò chuyện riêng với bot."]
    assert await attendance_rows(application.app.db) == []


async def test_unit_time_zone_and_cutoff_decide_the_day_and_lateness(
    drive: Driver, org: Org, application: Application, clock: ManualClock
) -> None:
    async with application.app.db.transaction() as session:
        await session.execute(update(Unit).where(Unit.id == org.unit_id).values(checkin_by="8h30"))
    # 23:30 UTC on the 13th is 06:30 on the 14th in Hồ Chí Minh City.
    clock.set(datetime(2020, 4, 13, 23, 30, tzinfo=UTC))
    await drive.say(org.staff[0], "/checkin home")
    clock.set(datetime(2020, 4, 14, 1, 45, tzinfo=UTC))  # 08:45 > 08:30
    await drive.say(org.staff[1], "/checkin home")
    rows = {r.person_id: (r.day, r.late) for r in await attendance_rows(application.app.db)}
    assert rows == {
        org.staff[0].person_id: (TUESDAY, False),
        org.staff[1].person_id: (TUESDAY, True),
    }
    assert isinstance((await attendance_rows(application.app.db))[0], Attendance)


async def test_the_request_goes_to_a_deputy_when_the_head_is_unreachable(
    drive: Driver, org: Org, application: Application
) -> None:
    cuong, dung = org.staff[2:4]
    async with application.app.db.transaction() as session:
        # Lan never wrote to the bot; Dũng is the unit's deputy.
        await session.execute(delete(Identity).where(Identity.person_id == org.leader.person_id))
        await session.execute(
            update(Person).where(Person.id == dung.person_id).values(role="deputy")
        )
    application.app.actors.clear()
    await fill_the_office_and_refuse_cuong(drive, org)
    await drive.press(cuong, drive.last(cuong), "Xin lãnh đạo")
    assert "Đã gửi đề nghị tới Dũng" in drive.text(cuong)
    await drive.press(dung, drive.last(dung), "Cho phép")
    rows = {r.person_id: r.mode for r in await attendance_rows(application.app.db)}
    assert rows[cuong.person_id] == "office"
