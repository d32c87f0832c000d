"""Health declaration before the office: temperature, then symptoms; failing it means home."""

from __future__ import annotations

import pytest

from bot.app import Application
from bot.clock import ManualClock
from tests.checkin.driver import Driver
from tests.checkin.helpers import (
    MORNING,
    Org,
    attendance_rows,
    build_unit,
    button_data,
    current,
    events_of,
)


@pytest.fixture
async def org(application: Application, clock: ManualClock) -> Org:
    clock.set(MORNING)
    return await build_unit(application.app.db, health=True)


async def fill_the_office(drive: Driver, org: Org) -> None:
    """An and Bình take the unit's two office places, each with a clean declaration."""
    for member in org.staff[:2]:
        await drive.say(member, "/checkin office")
        await drive.say(member, "36.6")
        await drive.press(member, drive.last(member), "Không có triệu chứng")


async def test_a_fever_typed_with_a_comma_sends_the_person_home_and_tells_the_leader(
    drive: Driver, org: Org, application: Application
) -> None:
    an = org.staff[0]
    await drive.say(an, "/checkin office")
    assert "Nhiệt độ cơ thể" in drive.text(an)
    await drive.say(an, "nóng lắm")
    assert "Không đọc được nhiệt độ “nóng lắm”" in drive.text(an)
    assert "<code>36.8</code>" in drive.text(an)
    assert await attendance_rows(application.app.db) == []

    await drive.say(an, "37,8")
    assert "Nhiệt độ: 37.8 °C" in drive.text(an)
    await drive.say(an, "không")
    assert "37,5 °C trở lên" in drive.text(an)
    assert "<b>làm việc tại nhà</b>" in drive.text(an)
    notice = drive.text(org.leader)
    assert "Khai báo y tế của <b>An</b>" in notice
    assert "37.8 °C" in notice

    [row] = await attendance_rows(application.app.db)
    assert (row.mode, row.temperature, row.symptoms) == ("home", 37.8, [])


async def test_symptom_buttons_tick_and_send(
    drive: Driver, org: Org, application: Application
) -> None:
    an = org.staff[0]
    await drive.say(an, "/diemdanh coquan")
    await drive.say(an, "36.6 độ")
    ask = drive.last(an)
    await drive.press(an, ask, "Ho")
    assert "✅ Ho" in [b.text for row in current(ask).buttons for b in row]
    await drive.press(an, ask, "Gửi khai báo")
    assert "Có triệu chứng" in current(ask).text
    assert "triệu chứng: Ho" in drive.text(org.leader)
    [row] = await attendance_rows(application.app.db)
    assert (row.mode, row.temperature, row.symptoms) == ("home", 36.6, ["cough"])


async def test_a_clean_declaration_records_the_office_with_the_reading(
    drive: Driver, org: Org, application: Application
) -> None:
    an = org.staff[0]
    await drive.say(an, "/checkin office")
    await drive.say(an, "36.5C")
    ask = drive.last(an)
    await drive.press(an, ask, "Không có triệu chứng")
    assert "<b>làm việc tại cơ quan</b>" in current(ask).text
    [row] = await attendance_rows(application.app.db)
    assert (row.mode, row.temperature, row.symptoms) == ("office", 36.5, [])
    assert drive.sent_to(org.leader) == []


async def test_symptoms_typed_in_words_are_understood_or_asked_again(
    drive: Driver, org: Org, application: Application
) -> None:
    an = org.staff[0]
    await drive.say(an, "/checkin office")
    await drive.say(an, "36.9")
    await drive.say(an, "đau bụng")
    assert "Không hiểu “đau bụng”" in drive.text(an)
    assert await attendance_rows(application.app.db) == []
    await drive.say(an, "ho, đau họng")
    [row] = await attendance_rows(application.app.db)
    assert (row.mode, row.symptoms) == ("home", ["cough", "sore_throat"])


async def test_the_quota_is_checked_before_anyone_declares(
    drive: Driver, org: Org, application: Application
) -> None:
    cuong = org.staff[2]
    await fill_the_office(drive, org)
    await drive.say(cuong, "/checkin office")
    assert "2/2 đã ở cơ quan" in drive.text(cuong)
    assert "Nhiệt độ" not in drive.text(cuong)


async def test_an_exception_request_carries_the_declaration(
    drive: Driver, org: Org, application: Application
) -> None:
    cuong = org.staff[2]
    await fill_the_office(drive, org)
    await drive.say(cuong, "/checkin office")
    await drive.press(cuong, drive.last(cuong), "Xin lãnh đạo")
    assert "Nhiệt độ cơ thể" in drive.text(cuong)
    await drive.say(cuong, "36,7")
    await drive.say(cuong, "không có")
    assert "Đã gửi đề nghị tới Lan" in drive.text(cuong)
    request = drive.last(org.leader)
    assert "36.7 °C, không có triệu chứng" in request.message.text
    await drive.press(org.leader, request, "Cho phép")
    rows = {r.person_id: r for r in await attendance_rows(application.app.db)}
    assert (rows[cuong.person_id].mode, rows[cuong.person_id].temperature) == ("office", 36.7)
    assert rows[cuong.person_id].by_exception


async def test_cancel_leaves_nothing_behind(
    drive: Driver, org: Org, application: Application
) -> None:
    an = org.staff[0]
    await drive.say(an, "/checkin office")
    ask = drive.last(an)
    await drive.press(an, ask, "Huỷ")
    assert "Đã huỷ khai báo y tế" in current(ask).text
    # The next free text is no longer read as a temperature.
    sent = len(drive.sent_to(an))
    await drive.say(an, "37.0")
    # Free text now goes to the citizens' questions, not to the cancelled declaration.
    answers = [r.message.text for r in drive.sent_to(an)[sent:]]
    assert not any("°C" in text or "triệu chứng" in text for text in answers)
    assert await attendance_rows(application.app.db) == []


async def test_sending_a_failed_declaration_twice_tells_the_leader_once(
    drive: Driver, org: Org, application: Application
) -> None:
    an = org.staff[0]
    await drive.say(an, "/checkin office")
    await drive.say(an, "38C")
    ask = drive.last(an)
    send = button_data(current(ask), "Không có triệu chứng")
    await drive.press_data(an, ask, send)
    await drive.press_data(an, ask, send)
    notices = [r for r in drive.sent_to(org.leader) if "Khai báo y tế" in r.message.text]
    assert len(notices) == 1
    assert "38.0 °C" in notices[0].message.text
    [row] = await attendance_rows(application.app.db)
    assert (row.mode, row.temperature) == ("home", 38.0)
    assert [e.action for e in await events_of(application.app.db, an.person_id)] == ["checkin"]
