"""Importing the YAML organisation: counts, idempotency, edits in place, identities, audit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.services.org.importer import ImportConflictError, apply_org
from bot.services.org.spec import quota_value
from storage.db import Database
from storage.models import AuditEntry, ChatBinding, Identity, Person, Unit
from storage.repositories.identities import touch_identity
from tests.org.helpers import (
    LATER,
    NOW,
    identities,
    import_bytes,
    parse_ok,
    people_by_name,
    sample_yaml,
    snapshot,
)


async def count(db: Database, model: type) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_sample_import_creates_every_unit_person_identity_and_chat(org_db: Database) -> None:
    report = await import_bytes(org_db, sample_yaml(), "yaml")

    assert await count(org_db, Unit) == 2
    assert await count(org_db, Person) == 10  # admin + 6 in vp + 3 in tp
    assert await count(org_db, Identity) == 10
    assert await count(org_db, ChatBinding) == 3
    assert len(report.added) == 25 and report.changed == [] and not report.is_noop
    people = await people_by_name(org_db)
    an, binh, em = people["Nguyễn Văn An"], people["Trần Thị Bình"], people["Hoàng Văn Em"]
    assert an.role == "leader" and an.on_duty and an.team == "A"
    assert binh.manager_id == an.id  # named in the file
    assert em.manager_id == people["Lê Văn Cường"].id
    assert people["Phạm Thị Dung"].manager_id is None  # default head: the unit's leader
    assert people["Quản trị hệ thống"].role == "admin"
    assert people["Quản trị hệ thống"].unit_id is None
    assert people["Vũ Thị Giang"].language == "en"


async def test_units_keep_hierarchy_times_and_both_kinds_of_quota(org_db: Database) -> None:
    await import_bytes(org_db, sample_yaml(), "yaml")
    async with org_db.transaction() as session:
        units = {u.code: u for u in await session.scalars(select(Unit))}
        chats = {c.chat_id: c for c in await session.scalars(select(ChatBinding))}
    vp, tp = units["vp"], units["tp"]
    assert tp.parent_id == vp.id and vp.parent_id is None
    assert (vp.checkin_by, vp.report_at, vp.working_days) == ("09:00", "16:30", "12345")
    assert (tp.checkin_by, tp.working_days) == ("08:30", "123456")
    # 0.34 is a share, 1 is one person: the float column alone could not tell 1 from 1.0.
    assert quota_value(vp.office_quota, vp.settings) == pytest.approx(0.34)
    assert quota_value(tp.office_quota, tp.settings) == 1
    assert isinstance(quota_value(tp.office_quota, tp.settings), int)
    assert vp.settings["rotation"] == {"cycle": "day", "anchor": "2020-04-01", "teams": ["A", "B"]}
    assert chats["-1001000001"].purpose == "unit_group" and chats["-1001000001"].unit_id == vp.id
    assert chats["-1009000001"].purpose == "support_group"
    assert chats["-1009000001"].unit_id is None


async def test_reimporting_the_same_file_changes_nothing(org_db: Database) -> None:
    await import_bytes(org_db, sample_yaml(), "yaml")
    before = await snapshot(org_db)

    report = await import_bytes(org_db, sample_yaml(), "yaml", now=LATER)

    assert report.is_noop
    assert report.summary().startswith("no changes")
    assert report.unchanged == 25
    assert await snapshot(org_db) == before  # not even an audit entry


async def test_edited_file_updates_in_place_and_never_duplicates(org_db: Database) -> None:
    await import_bytes(org_db, sample_yaml(), "yaml")
    old = await people_by_name(org_db)
    edited = (
        sample_yaml()
        .decode()
        .replace(
            '{name: "Trần Thị Bình", role: staff, telegram: 100002, username: binh_tt, '
            "manager: an_nv, team: A}",
            '{name: "Trần Thị Bình", role: deputy, telegram: 100002, username: binh_tt, team: B}',
        )
        .replace("office_quota: 0.34", "office_quota: 0.5")
        .replace(
            "      # Only a username",
            '      - {name: "Mai Văn Minh", role: staff, telegram: 100013, username: minh_mv}\n'
            "      # Only a username",
        )
    )
    assert edited != sample_yaml().decode()

    report = await import_bytes(org_db, edited.encode(), "yaml", now=LATER)

    new = await people_by_name(org_db)
    assert len(new) == len(old) + 1
    binh = new["Trần Thị Bình"]
    assert binh.id == old["Trần Thị Bình"].id
    assert (binh.role, binh.team, binh.manager_id) == ("deputy", "B", None)
    assert new["Mai Văn Minh"].unit_id == old["Đỗ Thị Hạnh"].unit_id
    assert any(
        line.startswith("unit vp") and "office_quota 0.34 → 0.5" in line for line in report.changed
    )
    assert any("Trần Thị Bình" in line and "role staff → deputy" in line for line in report.changed)
    assert "person Mai Văn Minh" in " ".join(report.added)
    assert await count(org_db, Identity) == 11
    async with org_db.transaction() as session:
        entries = list(await session.scalars(select(AuditEntry).where(AuditEntry.at == LATER)))
    change = next(e for e in entries if e.entity == "person" and e.entity_id == str(binh.id))
    assert change.action == "org.import.change"
    assert change.before == {"role": "staff", "manager_id": old["Nguyễn Văn An"].id, "team": "A"}
    assert change.after == {"role": "deputy", "manager_id": None, "team": "B"}
    assert {e.action for e in entries} == {"org.import.change", "org.import.add"}


async def test_every_change_is_audited_with_after_values(org_db: Database) -> None:
    await import_bytes(org_db, sample_yaml(), "yaml", actor_label="import org.yaml")
    async with org_db.transaction() as session:
        entries = list(await session.scalars(select(AuditEntry)))
    assert len(entries) == 25
    assert {e.action for e in entries} == {"org.import.add"}
    assert {e.actor_label for e in entries} == {"import org.yaml"}
    unit = next(e for e in entries if e.entity == "unit" and e.after and e.after["code"] == "vp")
    assert unit.before is None and unit.after["name"] == "Văn phòng UBND Phường 1"


async def test_people_missing_from_a_later_file_stay_unless_asked(org_db: Database) -> None:
    await import_bytes(org_db, sample_yaml(), "yaml")
    without_dung = "\n".join(
        line for line in sample_yaml().decode().splitlines() if "Phạm Thị Dung" not in line
    ).encode()

    kept = await import_bytes(org_db, without_dung, "yaml", now=LATER)
    assert kept.is_noop
    assert (await people_by_name(org_db))["Phạm Thị Dung"].active

    dropped = await import_bytes(org_db, without_dung, "yaml", now=LATER, deactivate_missing=True)
    assert dropped.deactivated == [
        f"person Phạm Thị Dung (#{(await people_by_name(org_db))['Phạm Thị Dung'].id})"
    ]
    people = await people_by_name(org_db)
    assert not people["Phạm Thị Dung"].active
    assert len(people) == 10  # deactivated, not deleted

    back = await import_bytes(org_db, sample_yaml(), "yaml", now=LATER)
    assert any("active False → True" in line for line in back.changed)
    assert (await people_by_name(org_db))["Phạm Thị Dung"].active


async def test_username_only_person_gets_a_pending_identity_that_binds_on_first_message(
    org_db: Database,
) -> None:
    await import_bytes(org_db, sample_yaml(), "yaml")
    lan = (await people_by_name(org_db))["Ngô Thị Lan"]
    pending = [i for i in await identities(org_db) if i.person_id == lan.id]
    assert [(i.channel, i.user_id, i.username) for i in pending] == [("telegram", None, "lan_nt")]

    # Lan writes for the first time; Telegram reports her username in another case.
    async with org_db.transaction() as session:
        bound = await touch_identity(
            session,
            channel="telegram",
            user_id="100013",
            username="Lan_NT",
            first_name="Lan",
            now=LATER,
        )
        assert bound.person_id == lan.id

    # The file still has only her username: nothing to change, nothing duplicated.
    report = await import_bytes(org_db, sample_yaml(), "yaml", now=LATER)
    assert report.is_noop
    mine = [i for i in await identities(org_db) if i.person_id == lan.id]
    assert [(i.user_id, i.username) for i in mine] == [("100013", "Lan_NT")]


async def test_adding_the_id_of_a_pending_person_completes_the_same_identity(
    org_db: Database,
) -> None:
    await import_bytes(org_db, sample_yaml(), "yaml")
    before = await identities(org_db)
    with_id = sample_yaml().replace(
        b"username: lan_nt, team: A}", b"telegram: 100013, username: lan_nt, team: A}"
    )
    report = await import_bytes(org_db, with_id, "yaml", now=LATER)

    after = await identities(org_db)
    assert len(after) == len(before)
    lan_identity = next(i for i in after if i.username == "lan_nt")
    assert lan_identity.user_id == "100013"
    assert lan_identity.id == next(i.id for i in before if i.username == "lan_nt")
    assert any("user_id – → 100013" in line for line in report.changed)


async def test_two_people_swapping_usernames_does_not_trip_uniqueness(org_db: Database) -> None:
    await import_bytes(org_db, sample_yaml(), "yaml")
    swapped = (
        sample_yaml()
        .replace(b"username: binh_tt", b"username: TMP_SWAP")
        .replace(b"username: dung_pt", b"username: binh_tt")
        .replace(b"username: TMP_SWAP", b"username: dung_pt")
        .replace(b"manager: an_nv, ", b"")
    )
    report = await import_bytes(org_db, swapped, "yaml", now=LATER)

    by_user = {i.user_id: i.username for i in await identities(org_db)}
    assert by_user["100002"] == "dung_pt" and by_user["100004"] == "binh_tt"
    assert len([line for line in report.changed if "username" in line]) == 2


async def test_a_username_on_another_persons_account_is_a_conflict_and_rolls_back(
    org_db: Database,
) -> None:
    await import_bytes(org_db, sample_yaml(), "yaml")
    before = await snapshot(org_db)
    # Lan (username only) is now said to be @khoa_bv, the username of Khoa's account.
    clash = (
        sample_yaml()
        .replace(b"username: lan_nt", b"username: khoa_bv")
        .replace(b"telegram: 100012, username: khoa_bv", b"telegram: 100012")
    )
    spec = parse_ok(clash, "yaml")
    with pytest.raises(ImportConflictError) as caught:
        async with org_db.transaction() as session:
            await apply_org(session, spec, now=LATER)
    assert "@khoa_bv belongs to Telegram id 100012" in str(caught.value)
    assert caught.value.errors[0].where == "line 42"
    assert await snapshot(org_db) == before


async def test_a_citizen_who_wrote_before_the_import_is_linked_not_duplicated(
    org_db: Database,
) -> None:
    async with org_db.transaction() as session:
        await touch_identity(
            session,
            channel="telegram",
            user_id="100002",
            username="binh_tt",
            first_name="Bình",
            now=NOW,
        )
    await import_bytes(org_db, sample_yaml(), "yaml")
    binh = (await people_by_name(org_db))["Trần Thị Bình"]
    rows = [i for i in await identities(org_db) if i.user_id == "100002"]
    assert len(rows) == 1 and rows[0].person_id == binh.id


async def test_a_person_without_ids_is_matched_by_name_within_the_unit(org_db: Database) -> None:
    text = (
        b"units:\n  - code: vp\n    name: V\n    people:\n"
        b'      - {name: "Nguyen Van An", role: leader, telegram: 1}\n'
        b'      - {name: "Tran Thi Binh", team: A}\n'
    )
    await import_bytes(org_db, text, "yaml")
    report = await import_bytes(
        org_db, text.replace(b"team: A", b"team: B").replace(b"Tran Thi", b"TRAN  THI"), "yaml"
    )
    people = await people_by_name(org_db)
    assert len(people) == 2
    assert people["TRAN THI Binh"].team == "B"
    assert len(report.changed) == 1


async def test_leader_change_moves_default_heads_without_rewriting_rows(org_db: Database) -> None:
    await import_bytes(org_db, sample_yaml(), "yaml")
    text = sample_yaml().decode()
    swapped = text.replace('"Nguyễn Văn An", role: leader', '"Nguyễn Văn An", role: deputy')
    swapped = swapped.replace('"Lê Văn Cường", role: deputy', '"Lê Văn Cường", role: leader')
    assert swapped != text and swapped.count("role: leader") == text.count("role: leader")
    report = await import_bytes(org_db, swapped.encode(), "yaml", now=LATER)
    people = await people_by_name(org_db)
    assert people["Lê Văn Cường"].role == "leader" and people["Nguyễn Văn An"].role == "deputy"
    assert people["Phạm Thị Dung"].manager_id is None  # still "the unit's leader"
    assert len(report.changed) == 2


async def test_group_renamed_in_the_file_repoints_the_unit_binding(org_db: Database) -> None:
    await import_bytes(org_db, sample_yaml(), "yaml")
    moved = sample_yaml().replace(b"telegram: -1001000001", b"telegram: -1001000099")
    report = await import_bytes(org_db, moved, "yaml", now=LATER)
    async with org_db.transaction() as session:
        chats = {c.chat_id: c.purpose for c in await session.scalars(select(ChatBinding))}
    assert "-1001000001" not in chats and chats["-1001000099"] == "unit_group"
    assert len(chats) == 3
    assert any("-1001000001" in line for line in report.removed)
    async with org_db.transaction() as session:
        actions = set(
            await session.scalars(select(AuditEntry.action).where(AuditEntry.at == LATER))
        )
    assert actions == {"org.import.add", "org.import.remove"}


async def test_timestamps_given_to_apply_are_the_audit_time(org_db: Database) -> None:
    moment = datetime(2020, 5, 4, 2, 30, tzinfo=UTC)
    await import_bytes(org_db, sample_yaml(), "yaml", now=moment)
    async with org_db.transaction() as session:
        times = set(await session.scalars(select(AuditEntry.at)))
    assert times == {moment}


async def test_a_username_the_file_gives_to_a_new_account_is_taken_from_the_old_one(
    org_db: Database,
) -> None:
    # A citizen once wrote as @binh_tt from another account; the file says @binh_tt is 100002.
    async with org_db.transaction() as session:
        await touch_identity(
            session,
            channel="telegram",
            user_id="555",
            username="binh_tt",
            first_name="?",
            now=NOW,
        )
    await import_bytes(org_db, sample_yaml(), "yaml")
    rows = {i.user_id: i for i in await identities(org_db)}
    assert rows["100002"].username == "binh_tt"
    assert rows["555"].username is None and rows["555"].person_id is None


async def test_dry_run_by_rollback_leaves_nothing_behind(org_db: Database) -> None:
    spec = parse_ok(sample_yaml(), "yaml")
    async with org_db.sessions() as session:
        report = await apply_org(session, spec, now=NOW)
        await session.rollback()
    assert len(report.added) == 25
    assert all(not rows for rows in (await snapshot(org_db)).values())
