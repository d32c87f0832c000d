"""Catalogue versions: seeded at start-up, uploaded by an admin, picked up by every instance."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from bot.app import Application, build_application
from bot.clock import ManualClock
from bot.config import Settings
from bot.core.events import Attachment
from bot.delivery.service import Delivery
from bot.services.faq.index import FaqIndex
from storage.models import AuditEntry, CatalogueVersion
from storage.repositories import faq as repo
from tests.fakes import FakeMessenger, UpdateFactory
from tests.faq_feature.helpers import (
    BAD_CSV,
    add_person,
    catalogue_bytes,
    catalogue_with_extra_alias,
    version_count,
)

ADMIN = "900"
NEW_ALIAS = "phiếu chim cò cho nhóc tì"


async def upload(
    application: Application,
    messenger: FakeMessenger,
    updates: UpdateFactory,
    filename: str,
    content: bytes,
    user_id: str = ADMIN,
) -> None:
    file_id = f"file-{len(messenger.files) + 1}"
    messenger.files[file_id] = content
    incoming = replace(
        updates.message("", user_id=user_id),
        document=Attachment(file_id=file_id, filename=filename, size=len(content)),
    )
    await application.core.handle(incoming)


async def best_id(application: Application, question: str) -> str | None:
    result = application.app.get(FaqIndex).current.matcher.match(question)
    return result.best.id if result.best is not None else None


async def test_shipped_catalogue_is_seeded_once_and_newer_versions_are_picked_up(
    application: Application,
    settings: Settings,
    clock: ManualClock,
    messenger: FakeMessenger,
    updates: UpdateFactory,
) -> None:
    assert await version_count(application.app.db) == 1
    index = application.app.get(FaqIndex)
    assert index.current.version_id == 1 and index.current.source == "shipped"
    assert len(index.current.catalogue.procedures) >= 21
    # A restart (or a second instance) finds it and does not store it again.
    again = await build_application(settings, clock=clock, delivery=Delivery(), schema="none")
    try:
        assert again.app.get(FaqIndex).current.version_id == 1
    finally:
        await again.close()
    assert await version_count(application.app.db) == 1

    # A version stored by another instance (or the CLI) is picked up.
    app = application.app
    app.provide(FaqIndex(app.get(FaqIndex).current, check_every=0))
    async with app.db.transaction() as session:
        await repo.add_version(
            session,
            at=app.clock.now(),
            source="cli:other.yaml",
            catalogue=catalogue_with_extra_alias(NEW_ALIAS),
        )
    await application.core.handle(updates.message(NEW_ALIAS, user_id="101"))
    assert "<b>Đăng ký khai sinh</b>" in messenger.texts("101")[-1]
    assert app.get(FaqIndex).current.version_id == 2


async def test_admin_upload_replaces_the_catalogue_and_rebuilds_the_matcher(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    db = application.app.db
    admin_id = await add_person(db, name="Quản trị", role="admin", user_id=ADMIN)
    assert await best_id(application, NEW_ALIAS) != "khai-sinh"
    content = catalogue_bytes(catalogue_with_extra_alias(NEW_ALIAS), "xlsx")
    await upload(application, messenger, updates, "danh-muc.xlsx", content)
    done = messenger.texts(ADMIN)[-1]
    assert "✅" in done and "phiên bản #2" in done
    assert await version_count(db) == 2
    assert application.app.get(FaqIndex).current.version_id == 2
    assert await best_id(application, NEW_ALIAS) == "khai-sinh"
    async with db.transaction() as session:
        row = await session.get(CatalogueVersion, 2)
        assert row is not None and row.uploaded_by == admin_id and row.policy
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "faq.catalogue.upload")
        )
        assert entry is not None and entry.actor_id == admin_id
    # A citizen now gets the card for the new alias.
    await application.core.handle(updates.message(NEW_ALIAS, user_id="101"))
    assert "<b>Đăng ký khai sinh</b>" in messenger.texts("101")[-1]

    # Not a catalogue format: refused. A citizen's file is not a catalogue at all.
    await upload(application, messenger, updates, "danh-muc.pdf", b"%PDF-1.4")
    assert ".yaml, .csv" in messenger.texts(ADMIN)[-1]
    await upload(application, messenger, updates, "catalogue.csv", content, user_id="101")
    assert "/thutuc" in messenger.texts("101")[-1]
    assert await version_count(db) == 2


async def test_invalid_upload_lists_every_error_and_changes_nothing(
    application: Application, messenger: FakeMessenger, updates: UpdateFactory
) -> None:
    db = application.app.db
    await add_person(db, name="Quản trị", role="admin", user_id=ADMIN)
    before = application.app.get(FaqIndex).current
    await upload(application, messenger, updates, "catalogue.csv", BAD_CSV)
    report = messenger.texts(ADMIN)[-1]
    assert "KHÔNG thay đổi" in report
    for row in ("row 2", "row 3", "row 4"):
        assert row in report
    assert "slug" in report and "name_vi is required" in report and "level must be" in report
    assert await version_count(db) == 1
    assert application.app.get(FaqIndex).current is before
    await application.core.handle(updates.message("đăng ký khai sinh", user_id="101"))
    assert "<b>Đăng ký khai sinh</b>" in messenger.texts("101")[-1]

    # A long list: as many as fit in the message, and all of them in a text file.
    rows = [b"type,id,name_vi,name_en,field,level,online_level"]
    rows += [f"procedure,Bad Id {i},,,,nowhere,9".encode() for i in range(300)]
    await upload(application, messenger, updates, "big.csv", b"\n".join(rows))
    last = messenger.sent[-1].message
    assert len(last.text) <= 4096
    assert last.document is not None and last.document.filename == "catalogue-errors.txt"
    assert last.document.content.decode().count("\n") >= 300 * 3
    assert await version_count(db) == 1
