"""/baocao, /tonghop and /xuat driven through the core with a fake channel (no framework)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.app import Application
from bot.clock import ManualClock
from handlers.reports import send_due_digests
from storage.models import (
    AuditEntry,
    ConversationState,
    Identity,
    Person,
    Report,
    ReportAttachment,
    ReportRevision,
    Task,
    Unit,
)
from tests.fakes import FakeMessenger, UpdateFactory
from tests.reports.conftest import TUESDAY_AFTERNOON, Org
from tests.reports.helpers import Talk, shown


@pytest.fixture
def talk(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory, clock: ManualClock
) -> Talk:
    clock.set(TUESDAY_AFTERNOON)
    return Talk(application, messenger, updates)


async def reports_of(application: Application, person_id: int) -> list[Report]:
    async with application.app.db.transaction() as session:
        rows = await session.scalars(select(Report).where(Report.person_id == person_id))
        return list(rows)


async def add_task(application: Application, org: Org, assignee: int, text: str, **kw) -> int:
    async with application.app.db.transaction() as session:
        task = Task(
            unit_id=org.unit_id,
            text=text,
            assigner_id=org.head_id,
            assignee_id=assignee,
            status=kw.get("status", "accepted"),
            deadline=kw.get("deadline"),
            created_at=kw.get("created_at", datetime(2020, 4, 13, 2, 0, tzinfo=UTC)),
            updated_at=kw.get("created_at", datetime(2020, 4, 13, 2, 0, tzinfo=UTC)),
            done_at=kw.get("done_at"),
        )
        session.add(task)
        await session.flush()
        return task.id


# --------------------------------------------------------------------------- one-shot


async def test_one_shot_saves_and_reaches_the_head(talk: Talk, org: Org) -> None:
    await talk.say(org.an_user, "/baocao Đã xử lý 12 hồ sơ đăng ký kinh doanh")
    [report] = await reports_of(talk.application, org.an_id)
    assert report.day == date(2020, 4, 14)
    assert report.done == "Đã xử lý 12 hồ sơ đăng ký kinh doanh"
    assert "Đã lưu báo cáo" in talk.last(org.an_user)
    assert "Đã chuyển cho người quản lý" in talk.last(org.an_user)
    [to_head] = talk.texts(org.head_user)
    assert "Nguyễn Văn An" in to_head and "12 hồ sơ" in to_head
    # No blockers: no Reply button for the head.
    assert talk.button_labels(org.head_user) == []


async def test_labelled_one_shot_splits_parts_and_blocker_brings_reply_button(
    talk: Talk, org: Org
) -> None:
    await talk.say(
        org.binh_user,
        "/baocao Đã làm: trả 5 kết quả; Vướng mắc: chưa có chữ ký số\nKế hoạch: họp trực tuyến",
    )
    [report] = await reports_of(talk.application, org.binh_id)
    assert (report.done, report.blockers, report.plan) == (
        "trả 5 kết quả",
        "chưa có chữ ký số",
        "họp trực tuyến",
    )
    assert "Có vướng mắc" in talk.last(org.head_user)
    assert any("Trả lời" in label for label in talk.button_labels(org.head_user))


async def test_head_reply_is_relayed_to_the_author_and_nobody_else_may_reply(
    talk: Talk, org: Org
) -> None:
    await talk.say(org.binh_user, "/baocao Vướng mắc: máy quét hỏng")
    # Only the head (or a leader above) may answer; a colleague's press is refused.
    refused = await talk.press(org.head_user, "Trả lời", pressed_by=org.cuong_user)
    assert refused.callback_answer is not None and refused.callback_answer.alert
    assert "Chỉ người quản lý trực tiếp" in (refused.callback_answer.text or "")
    # The head is half-way through their own report when they answer.
    await talk.say(org.head_user, "/baocao")
    await talk.say(org.head_user, "Duyệt 15 hồ sơ")
    outcome = await talk.press(org.head_user, "Trả lời")
    assert outcome.handled
    assert "Gõ nội dung trả lời Lê Thị Bình" in talk.last(org.head_user)
    await talk.say(org.head_user, "Mượn máy của bộ phận văn thư nhé")
    assert "Đã chuyển câu trả lời" in talk.last(org.head_user)
    assert "vẫn được giữ" in talk.last(org.head_user)
    await talk.say(org.head_user, "/baocao")
    assert "đang làm dở" in talk.last(org.head_user)  # the draft continues at question 2
    relayed = talk.last(org.binh_user)
    assert "Trần Thị Hoa" in relayed and "Mượn máy của bộ phận văn thư" in relayed


async def test_second_one_shot_is_merged_after_confirming_and_history_kept(
    talk: Talk, org: Org
) -> None:
    await talk.say(org.an_user, "/baocao Đã xử lý 12 hồ sơ")
    await talk.say(org.an_user, "/baocao Trả lời 3 phản ánh")
    assert "Xem lại báo cáo" in talk.last(org.an_user)
    [report] = await reports_of(talk.application, org.an_id)
    assert report.version == 1  # nothing changes before Confirm
    await talk.press(org.an_user, "Gửi báo cáo")
    [report] = await reports_of(talk.application, org.an_id)
    assert report.done == "Đã xử lý 12 hồ sơ\nTrả lời 3 phản ánh"
    assert report.version == 2
    async with talk.application.app.db.transaction() as session:
        [revision] = list(await session.scalars(select(ReportRevision)))
    assert revision.content["done"] == "Đã xử lý 12 hồ sơ"
    assert "đã sửa, lần 2" in talk.last(org.head_user)


# --------------------------------------------------------------------------- guided


async def test_guided_report_with_a_task_picked(talk: Talk, org: Org) -> None:
    task_id = await add_task(talk.application, org, org.an_id, "Soạn công văn trả lời Sở Nội vụ")
    await talk.say(org.an_user, "/baocao")
    assert "Hôm nay bạn đã làm xong" in talk.last(org.an_user)
    assert any(f"#{task_id}" in b for b in talk.button_labels(org.an_user))
    await talk.press(org.an_user, f"#{task_id}")
    assert any(b.startswith("✅") for b in talk.button_labels(org.an_user))
    await talk.press(org.an_user, "Tiếp")
    assert "đang làm dở" in talk.last(org.an_user)
    await talk.say(org.an_user, "Rà soát hồ sơ tồn")
    await talk.press(org.an_user, "Bỏ qua")  # no blockers
    await talk.say(org.an_user, "Trả kết quả qua bưu điện")
    preview = talk.last(org.an_user)
    assert "Xem lại báo cáo" in preview and "Soạn công văn" in preview
    assert await reports_of(talk.application, org.an_id) == []
    await talk.press(org.an_user, "Gửi báo cáo")
    [report] = await reports_of(talk.application, org.an_id)
    assert report.task_ids == [task_id]
    assert (report.in_progress, report.blockers, report.plan) == (
        "Rà soát hồ sơ tồn",
        "",
        "Trả kết quả qua bưu điện",
    )
    assert "Soạn công văn trả lời Sở Nội vụ" in talk.last(org.head_user)


async def test_empty_reports_are_refused_and_nothing_is_stored(talk: Talk, org: Org) -> None:
    await talk.say(org.an_user, "/baocao ;;")
    assert "Báo cáo đang trống" in talk.last(org.an_user)
    await talk.say(org.an_user, "/baocao")
    for _ in range(4):
        await talk.press(org.an_user, "Bỏ qua")
    outcome = await talk.press(org.an_user, "Gửi báo cáo")
    assert outcome.callback_answer is not None
    assert "Báo cáo đang trống" in (outcome.callback_answer.text or "")
    assert "Hôm nay bạn đã làm xong" in talk.last(org.an_user)
    assert await reports_of(talk.application, org.an_id) == []


async def test_resume_then_edit_one_part_from_the_preview(talk: Talk, org: Org) -> None:
    await talk.say(org.an_user, "/baocao")
    await talk.say(org.an_user, "Tiếp nhận 7 hồ sơ")
    await talk.say(org.an_user, "/baocao")  # picks up where it stopped
    assert "đang làm dở" in talk.last(org.an_user)
    await talk.press(org.an_user, "Bỏ qua")
    await talk.press(org.an_user, "Bỏ qua")
    await talk.press(org.an_user, "Bỏ qua")
    await talk.press(org.an_user, "Sửa")
    await talk.press(org.an_user, "Đã làm")
    assert "Tiếp nhận 7 hồ sơ" in talk.last(org.an_user)  # the current text is shown
    await talk.say(org.an_user, "Tiếp nhận 8 hồ sơ")
    assert "Tiếp nhận 8 hồ sơ" in talk.last(org.an_user)
    await talk.press(org.an_user, "Gửi báo cáo")
    [report] = await reports_of(talk.application, org.an_id)
    assert report.done == "Tiếp nhận 8 hồ sơ"


async def test_classified_text_is_refused_and_answers_survive(talk: Talk, org: Org) -> None:
    await talk.say(org.an_user, "/baocao Đã chuyển tài liệu MẬT cho văn thư")
    assert await reports_of(talk.application, org.an_id) == []
    assert talk.texts(org.head_user) == []
    await talk.say(org.an_user, "/baocao")
    await talk.say(org.an_user, "Tiếp nhận 7 hồ sơ")
    await talk.say(org.an_user, "Soạn văn bản Tối mật số 12")
    assert "bí mật" in talk.last(org.an_user).lower() or "mật" in talk.last(org.an_user)
    async with talk.application.app.db.transaction() as session:
        [state] = list(await session.scalars(select(ConversationState)))
        audits = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "classified.refused")
        )
    assert state.step == "in_progress"
    assert state.data["content"]["done"] == "Tiếp nhận 7 hồ sơ"
    assert "Tối mật" not in str(state.data)
    assert audits == 2


# --------------------------------------------------------------------------- days and edits


async def test_non_working_day_asks_first_and_stores_only_when_confirmed(
    talk: Talk, org: Org, clock: ManualClock
) -> None:
    clock.set(datetime(2020, 4, 18, 3, 0, tzinfo=UTC))  # Saturday 10:00
    await talk.say(org.an_user, "/baocao Trực xử lý hồ sơ khẩn")
    assert "không phải ngày làm việc" in talk.last(org.an_user)
    assert await reports_of(talk.application, org.an_id) == []
    await talk.press(org.an_user, "Vẫn báo cáo")
    [report] = await reports_of(talk.application, org.an_id)
    assert report.day == date(2020, 4, 18)
    assert report.done == "Trực xử lý hồ sơ khẩn"

    clock.set(datetime(2020, 4, 30, 3, 0, tzinfo=UTC))  # 30/4: Reunification Day
    await talk.say(org.an_user, "/baocao Trực")
    assert "ngày lễ" in talk.last(org.an_user)
    await talk.press(org.an_user, "Huỷ")
    assert "chưa được gửi" in talk.last(org.an_user)
    assert len(await reports_of(talk.application, org.an_id)) == 1


async def test_edit_until_the_next_working_days_cutoff(
    talk: Talk, org: Org, clock: ManualClock
) -> None:
    clock.set(datetime(2020, 4, 17, 9, 0, tzinfo=UTC))  # Friday 16:00
    await talk.say(org.an_user, "/baocao Xử lý 4 hồ sơ")
    clock.set(datetime(2020, 4, 20, 1, 59, tzinfo=UTC))  # Monday 08:59
    await talk.say(org.an_user, "/baocao sua 17/4")
    assert "Xem lại báo cáo" in talk.last(org.an_user)
    await talk.press(org.an_user, "Sửa")
    await talk.press(org.an_user, "Kế hoạch")
    await talk.say(org.an_user, "Trả kết quả")
    await talk.press(org.an_user, "Gửi báo cáo")
    [report] = await reports_of(talk.application, org.an_id)
    assert (report.plan, report.version) == ("Trả kết quả", 2)

    clock.set(datetime(2020, 4, 20, 2, 1, tzinfo=UTC))  # Monday 09:01
    await talk.say(org.an_user, "/baocao sua 17/4")
    assert "hết hạn sửa" in talk.last(org.an_user)
    assert "09:00" in talk.last(org.an_user)


async def test_cutoff_passing_while_editing_keeps_the_draft(
    talk: Talk, org: Org, clock: ManualClock
) -> None:
    await talk.say(org.an_user, "/baocao Xử lý 4 hồ sơ")
    clock.set(datetime(2020, 4, 15, 1, 50, tzinfo=UTC))  # Wednesday 08:50
    await talk.say(org.an_user, "/baocao sua")
    await talk.press(org.an_user, "Sửa")
    await talk.press(org.an_user, "Đang làm")
    await talk.say(org.an_user, "Rà soát")
    clock.set(datetime(2020, 4, 15, 2, 5, tzinfo=UTC))  # 09:05: too late
    outcome = await talk.press(org.an_user, "Gửi báo cáo")
    assert outcome.callback_answer is not None
    assert "hết hạn sửa" in (outcome.callback_answer.text or "")
    [report] = await reports_of(talk.application, org.an_id)
    assert report.in_progress == "" and report.version == 1


# --------------------------------------------------------------------------- files


async def test_file_in_the_flow_is_attached_on_confirm(talk: Talk, org: Org) -> None:
    await talk.say(org.an_user, "/baocao")
    await talk.say(org.an_user, "Tiếp nhận 7 hồ sơ")
    await talk.upload(org.an_user, "bang-ke.pdf", 120_000, file_id="FILE-1")
    assert "bang-ke.pdf" in talk.last(org.an_user)
    for _ in range(3):
        await talk.press(org.an_user, "Bỏ qua")
    await talk.press(org.an_user, "Gửi báo cáo")
    async with talk.application.app.db.transaction() as session:
        [attachment] = list(await session.scalars(select(ReportAttachment)))
    assert (attachment.file_id, attachment.filename) == ("FILE-1", "bang-ke.pdf")
    assert any("bang-ke.pdf" in b for b in talk.button_labels(org.head_user))
    # The head presses the file button and receives the document.
    talk.messenger.files["FILE-1"] = b"%PDF-1.4 demo"
    await talk.press(org.head_user, "bang-ke.pdf")
    document = talk.messages(org.head_user)[-1].message.document
    assert document is not None and document.content == b"%PDF-1.4 demo"


async def test_file_over_20_mb_is_refused_and_the_answers_stay(talk: Talk, org: Org) -> None:
    await talk.say(org.an_user, "/baocao")
    await talk.say(org.an_user, "Tiếp nhận 7 hồ sơ")
    await talk.upload(org.an_user, "scan.pdf", 25 * 1024 * 1024)
    assert "25.0 MB" in talk.last(org.an_user) and "20 MB" in talk.last(org.an_user)
    async with talk.application.app.db.transaction() as session:
        [state] = list(await session.scalars(select(ConversationState)))
    assert state.data["files"] == []
    assert state.data["content"]["done"] == "Tiếp nhận 7 hồ sơ"
    # A file named as a state secret is refused too, before anything is stored.
    await talk.upload(org.an_user, "Tối mật - phương án.pdf", 1000)
    async with talk.application.app.db.transaction() as session:
        [state] = list(await session.scalars(select(ConversationState)))
    assert state.data["files"] == []
    assert "bí mật nhà nước" in talk.last(org.an_user)


async def test_file_after_the_report_joins_it(talk: Talk, org: Org) -> None:
    await talk.upload(org.an_user, "ket-qua.xlsx", 5000)
    assert "Hãy gửi /baocao trước" in talk.last(org.an_user)
    await talk.say(org.an_user, "/baocao Xử lý 4 hồ sơ")
    await talk.upload(org.an_user, "ket-qua.xlsx", 5000, file_id="FILE-2")
    assert "Đã đính kèm" in talk.last(org.an_user)
    assert "ket-qua.xlsx" in talk.last(org.head_user)
    async with talk.application.app.db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(ReportAttachment))
    assert count == 1


# --------------------------------------------------------------------------- history


async def test_history_own_others_and_the_units(talk: Talk, org: Org, clock: ManualClock) -> None:
    await talk.say(org.an_user, "/baocao Xử lý 4 hồ sơ")
    clock.advance(timedelta(days=1))
    await talk.say(org.an_user, "/baocao Xử lý 5 hồ sơ")
    await talk.say(org.binh_user, "/baocao Trả 2 kết quả")

    await talk.say(org.an_user, "/baocao lichsu")
    own = talk.last(org.an_user)
    assert "Xử lý 4 hồ sơ" in own and "Xử lý 5 hồ sơ" in own

    await talk.say(org.an_user, f"/baocao lichsu @user{org.binh_user}")
    assert "Bạn chỉ xem được báo cáo của mình" in talk.last(org.an_user)

    await talk.say(org.head_user, f"/baocao lich su @user{org.an_user}")
    assert "Xử lý 5 hồ sơ" in talk.last(org.head_user)

    # The leader of another unit sees nothing of this one.
    async with talk.application.app.db.transaction() as session:
        other = Unit(code="TUPHAP", name="Tư pháp", settings={})
        session.add(other)
        await session.flush()
        stranger = Person(full_name="Võ Văn Khoa", role="leader", unit_id=other.id)
        session.add(stranger)
        await session.flush()
        session.add(Identity(channel="telegram", user_id="1999", person_id=stranger.id))
    await talk.say("1999", f"/baocao lichsu @user{org.an_user}")
    assert "Bạn chỉ xem được báo cáo của mình" in talk.last("1999")

    await talk.say(org.head_user, "/baocao lichsu 15/4")
    texts = talk.texts(org.head_user)
    assert "2 người đã gửi" in texts[-2]
    assert "Phạm Văn Cường" in texts[-2]  # not sent
    assert "Trả 2 kết quả" in texts[-1]


# --------------------------------------------------------------------------- digest


async def test_digest_holds_reports_but_not_blockers(
    talk: Talk, org: Org, clock: ManualClock
) -> None:
    await talk.say(org.head_user, "/baocao gop 17:30")
    assert "17:30" in talk.last(org.head_user)
    before = len(talk.texts(org.head_user))
    await talk.say(org.an_user, "/baocao Xử lý 4 hồ sơ")
    assert "bản tổng hợp" in talk.last(org.an_user)
    assert len(talk.texts(org.head_user)) == before  # held
    await talk.say(org.binh_user, "/baocao Vướng mắc: mất điện")
    assert "mất điện" in talk.last(org.head_user)  # blockers at once

    assert await send_due_digests(talk.application.app) == 0  # 16:30: not yet
    clock.set(datetime(2020, 4, 14, 10, 31, tzinfo=UTC))  # 17:31
    assert await send_due_digests(talk.application.app) == 1
    digest = talk.last(org.head_user)
    assert "2/3" in digest and "Xử lý 4 hồ sơ" in digest and "Phạm Văn Cường" in digest
    assert await send_due_digests(talk.application.app) == 0  # once a day


# --------------------------------------------------------------------------- summary, export


async def test_summary_names_the_missing_and_staff_cannot_ask(talk: Talk, org: Org) -> None:
    await talk.say(org.an_user, "/baocao Xử lý 4 hồ sơ")
    await talk.say(org.binh_user, "/baocao Trả 2 kết quả")
    await talk.say(org.head_user, "/tonghop")
    text = talk.last(org.head_user)
    assert "Báo cáo: 2/4" in text
    assert "Chưa gửi báo cáo (2): Phạm Văn Cường, Trần Thị Hoa" in text
    await talk.say(org.an_user, "/tonghop")
    assert "Chỉ lãnh đạo" in talk.last(org.an_user)


async def test_summary_bad_periods_and_units(talk: Talk, org: Org) -> None:
    for args, expected in [
        ("17/4/2020-13/4/2020", "Ngày bắt đầu phải trước ngày kết thúc"),
        ("2019-01-01 2020-04-14", "tối đa một năm"),
        ("31/2", "Ngày không hợp lệ"),
        ("tuan KHONGCO", "Không có đơn vị mã KHONGCO"),
    ]:
        await talk.say(org.head_user, f"/tonghop {args}")
        assert expected in talk.last(org.head_user), args


async def test_summary_week_sends_three_png_charts(talk: Talk, org: Org) -> None:
    await talk.say(org.an_user, "/baocao Xử lý 4 hồ sơ")
    await talk.say(org.head_user, "/tonghop tuan")
    photos = [r.message.photo for r in talk.messages(org.head_user) if r.message.photo]
    assert len(photos) == 3
    assert all(p.content.startswith(b"\x89PNG\r\n\x1a\n") for p in photos)
    summary = next(t for t in talk.texts(org.head_user) if "Tổng hợp" in t)
    assert "13/04/2020 – 19/04/2020" in summary
    assert "báo cáo 1/2" in summary  # An: Monday and Tuesday expected, one sent


async def test_export_in_chat_is_an_xlsx_with_vietnamese_headers(talk: Talk, org: Org) -> None:
    await talk.say(org.an_user, "/baocao Xử lý 4 hồ sơ")
    await talk.say(org.head_user, "/xuat 1/4/2020-14/4/2020")
    record = talk.messages(org.head_user)[-1]
    document = shown(record).document or record.message.document
    assert document is not None and document.filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(document.content))
    assert book.sheetnames == ["Cá nhân", "Tổng hợp đơn vị"]
    rows = list(book["Cá nhân"].iter_rows(values_only=True))
    assert rows[0][2] == "Họ và tên"
    by_name = {r[2]: r for r in rows[1:]}
    an = by_name["Nguyễn Văn An"]
    # 1-14 April 2020: 10 working days (the 2nd is the Hùng Kings' day).
    assert an[3] == 9
    assert an[11] == 1  # reports submitted
    assert an[12] == 8  # reports missing


async def test_summary_covers_sub_units_and_not_the_units_above(talk: Talk, org: Org) -> None:
    async with talk.application.app.db.transaction() as session:
        child = Unit(code="TIEPNHAN", name="Tổ tiếp nhận", parent_id=org.unit_id, settings={})
        session.add(child)
        await session.flush()
        lead = Person(full_name="Đỗ Văn Dũng", role="leader", unit_id=child.id)
        session.add_all([lead, Person(full_name="Hồ Thị Em", role="staff", unit_id=child.id)])
        await session.flush()
        session.add(Identity(channel="telegram", user_id="1888", person_id=lead.id))
    await talk.say(org.head_user, "/tonghop")
    text = talk.last(org.head_user)
    assert text.index("Bộ phận Một cửa") < text.index("Tổ tiếp nhận")
    assert "Hồ Thị Em" in text
    await talk.say("1888", "/tonghop MOTCUA")
    assert "Bạn chỉ xem được đơn vị của mình" in talk.last("1888")
    await talk.say("1888", "/tonghop")
    assert "Tổ tiếp nhận" in talk.last("1888") and "Nguyễn Văn An" not in talk.last("1888")
