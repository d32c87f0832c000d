"""Cards, buttons, list lines and /tasks arguments: pure functions, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.i18n import Translator
from bot.services.tasks import service
from bot.services.tasks.lifecycle import Refusal, TaskStatus
from bot.services.tasks.service import TaskButton, TaskInfo
from handlers.tasks import (
    CARD_MARK,
    CancelConfirm,
    DeadlineChoice,
    ExtendChoice,
    ListRequest,
    parse_list_args,
)
from storage.models.tasks import CardKind

NOW = datetime(2020, 4, 14, 2, 0, tzinfo=UTC)
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def i18n() -> Translator:
    return Translator.load()


def info(**changes: object) -> TaskInfo:
    base = TaskInfo(
        id=7,
        batch_id=7,
        unit_id=1,
        text="Soạn công văn <gấp> gửi Sở Y tế",
        assigner_id=1,
        assigner_name="Trần Thị Lãnh",
        assignee_id=2,
        assignee_name="Nguyễn Văn An",
        status=TaskStatus.ASSIGNED,
        deadline=datetime(2020, 4, 15, 10, 0, tzinfo=UTC),
        urgent=False,
        legal=False,
        last_note=None,
        version=1,
        created_at=NOW,
        updated_at=NOW,
        tz=HCM,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def labels(keyboard: tuple) -> list[str]:
    return [b.text for row in keyboard for b in row]


def test_card_shows_what_when_who_and_escapes_user_text(i18n: Translator) -> None:
    row = info(urgent=True, legal=True, last_note="Đã gọi <b>")
    text = service.render_card(i18n, [row], lang="vi", now=NOW)
    assert text.splitlines() == [
        "📋 <b>Việc #7</b> · 🔴 KHẨN · ⚖️ Thời hạn pháp lý",
        "Soạn công văn &lt;gấp&gt; gửi Sở Y tế",
        "⏰ Hạn: 17:00 thứ Tư 15/04/2020",
        "👤 Nguyễn Văn An: 🆕 Mới giao",
        "    📝 Đã gọi &lt;b&gt;",
        "✍️ Người giao: Trần Thị Lãnh",
        "💬 Trả lời tin nhắn này để báo tiến độ.",
    ]
    english = service.render_card(i18n, [row], lang="en", now=NOW, kind=CardKind.ASSIGNEE)
    assert english.startswith("📋 <b>Task #7</b> · 🔴 URGENT · ⚖️ Legal deadline")
    assert "⏰ Deadline: 17:00 Wednesday 15/04/2020" in english


def test_batch_card_numbers_rows_and_marks_overdue(i18n: Translator) -> None:
    rows = [
        info(status=TaskStatus.ACCEPTED),
        info(id=8, assignee_id=3, assignee_name="Lê Thị Bình", status=TaskStatus.DONE),
    ]
    late = NOW + timedelta(days=2)
    text = service.render_card(i18n, rows, lang="vi", now=late)
    assert "⏰ Hạn: 17:00 thứ Tư 15/04/2020 — ⚠️ QUÁ HẠN" in text
    assert "👤 Nguyễn Văn An (#7): ⚠️ Quá hạn · 🔧 Đang làm" in text
    # Done is waiting for approval: the assignee's part is over, not overdue.
    assert "👤 Lê Thị Bình (#8): ☑️ Đã xong, chờ duyệt" in text
    # The assigner's approval card has no reply hint.
    assigner = service.render_card(i18n, rows[1:], lang="vi", now=NOW, kind=CardKind.ASSIGNER)
    assert "Trả lời tin nhắn" not in assigner and "Việc #8" in assigner


def test_a_very_long_text_is_cut_on_the_card(i18n: Translator) -> None:
    text = service.render_card(i18n, [info(text="x" * 5000)], lang="vi", now=NOW)
    assert len(text) < 4096 and "…" in text


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (TaskStatus.ASSIGNED, CardKind.ORIGIN, ["accept", "done", "need_help", "extend", "cancel"]),
        (TaskStatus.ACCEPTED, CardKind.ASSIGNEE, ["done", "need_help"]),
        (TaskStatus.BLOCKED, CardKind.ORIGIN, ["accept", "done", "extend", "cancel"]),
        (TaskStatus.DONE, CardKind.ORIGIN, ["approve", "return", "cancel"]),
        (TaskStatus.DONE, CardKind.ASSIGNEE, []),
        (TaskStatus.DONE, CardKind.ASSIGNER, ["approve", "return", "cancel"]),
        (TaskStatus.APPROVED, CardKind.ORIGIN, []),
        (TaskStatus.CANCELLED, CardKind.ASSIGNEE, []),
    ],
)
def test_buttons_follow_status_and_audience(
    i18n: Translator, status: TaskStatus, kind: CardKind, expected: list[str]
) -> None:
    keyboard = service.card_keyboard(i18n, [info(status=status)], lang="vi", kind=kind)
    acts = [TaskButton.unpack(b.data or "").act for row in keyboard for b in row]
    assert acts == expected
    whole = {TaskButton.unpack(b.data or "").whole for row in keyboard for b in row}
    assert whole <= {kind is CardKind.ORIGIN}


def test_list_line(i18n: Translator) -> None:
    line = service.render_line(
        i18n, info(urgent=True), lang="vi", now=NOW + timedelta(days=2), with_assignee=True
    )
    assert line == (
        "#7 🔴 Soạn công văn &lt;gấp&gt; gửi Sở Y tế — Nguyễn Văn An — "
        "⏰ 17:00 thứ Tư 15/04/2020 — ⚠️ Quá hạn · 🆕 Mới giao"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", ListRequest()),
        ("all", ListRequest(everyone=True)),
        ("tất cả quá hạn", ListRequest(everyone=True, only=frozenset({"overdue"}))),
        ("ALL hôm nay", ListRequest(everyone=True, only=frozenset({"today"}))),
        ("@Binh_LT", ListRequest(usernames=("binh_lt",))),
        ("all lung tung", ListRequest(everyone=True, unknown=("lung", "tung"))),
    ],
)
def test_list_arguments(args: str, expected: ListRequest) -> None:
    assert parse_list_args(args) == expected


def test_card_mark_reads_the_plain_first_line_in_both_languages() -> None:
    assert CARD_MARK.match("📋 Việc #12 · 🔴 KHẨN\nSoạn")
    assert CARD_MARK.match("📋 Task #3\nDraft")
    assert not CARD_MARK.match("Việc #12")


def test_button_data_fits_telegram_with_large_ids() -> None:
    big = 2**31 - 1
    for data in (
        TaskButton(big, "need_help", True),
        DeadlineChoice(str(big), 99_999_999, big),
        ExtendChoice(big, True, 99_999_999),
        CancelConfirm(big, False, True),
    ):
        assert len(data.pack().encode()) <= 64
        assert type(data).unpack(data.pack()) == data


def test_every_refusal_status_and_event_has_a_message(i18n: Translator) -> None:
    keys = [f"tasks.refusal.{r.value}" for r in Refusal]
    keys += ["tasks.refusal.invalid_from", "tasks.refusal.busy", "tasks.refusal.gone"]
    keys += [f"tasks.status.{s.value}" for s in TaskStatus] + ["tasks.status.overdue"]
    events = ("accepted", "unblocked", "done", "blocked", "noted", "approved", "returned")
    keys += [f"tasks.moved.{e}" for e in (*events, "extended", "cancelled")]
    keys += [f"tasks.button.{a}" for a in ("accept", "done", "need_help", "approve", "return")]
    keys += ["tasks.button.extend", "tasks.button.cancel"]
    keys += [
        f"tasks.notify.{n}"
        for n in ("blocked", "progress", "returned", "approved", "extended", "cancelled")
    ]
    for lang in ("vi", "en"):
        assert [k for k in keys if not i18n.has(k, lang)] == []
