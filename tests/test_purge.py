"""``orfi purge``: the retention rules of docs/privacy.md, applied exactly.

Facts are filed through the real service, then moved back in time; each test says
which facts must lose their free text, photos and precise position, and which keep
them. One test loads the demo and checks the purge against the rules written out
again here, independently of orfi.privacy.
"""

from __future__ import annotations

import contextlib
import functools
import io
from datetime import UTC, date, datetime, time, timedelta

import h3
import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.security import generate_password_hash

from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.extensions import db
from orfi.followup.models import (
    ActionKind,
    Complaint,
    ComplaintFiler,
    ComplaintKind,
    FollowupAction,
    Partner,
)
from orfi.photos.models import Photo
from orfi.photos.services import add_photo, clean_image, photo_path
from orfi.privacy.models import (
    AccessAction,
    AccessLogEntry,
    ReportAnonymisation,
    RetentionRule,
)
from orfi.privacy.purge import purge
from orfi.privacy.retention import RetentionPolicy, add_months
from orfi.reports.creation import derived_fields
from orfi.reports.models import LocationSource, Report, ReportEvent, Status, Suite
from orfi.timezone import from_local, to_local
from tests.factories import (
    commit,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)

TEXT = "Porte du hall forcée, le locataire du 3e était présent."
COMMENT = "Vu avec M. Martin du 2e étage."
NOTE = "Appel au commissariat, agent Dupont."
FOLLOWUP = "followup"
FOLLOWUP_COMMENT = "Suivi : Signalement aux forces de l'ordre (Police nationale)"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 120, 30)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def world(app, tmp_path):
    app.config["ORFI_PHOTO_DIR"] = str(tmp_path / "photos")
    organisation = make_organisation(code="PUR")
    residence = make_residence(organisation, latitude=43.6409, longitude=1.4327)
    gardien = make_user(organisation, role=Role.GARDIEN, sector=[residence])
    referent = make_user(organisation, role=Role.REFERENT)
    commit()
    return {
        "organisation": organisation,
        "residence": residence,
        "gardien": gardien,
        "referent": referent,
    }


def today() -> date:
    return to_local(utcnow()).date()


def fact(
    world,
    *,
    months: int,
    days: int = 0,
    status: Status = Status.CLOS,
    suite: Suite | None = None,
    complaint: ComplaintKind | None = None,
    code: str = "AB01",
    gravity: int | None = 2,
    photos: int = 0,
    source: LocationSource = LocationSource.GPS,
    duplicate_of: Report | None = None,
) -> Report:
    """A fact that occurred ``months`` (and ``days``) before today, 10:00 Paris."""
    report = make_report(
        world["gardien"],
        category_code=code,
        description=TEXT,
        latitude=43.64105 if source is not LocationSource.RESIDENCE else None,
        longitude=1.43301 if source is not LocationSource.RESIDENCE else None,
        gps_accuracy_m=8.0 if source is not LocationSource.RESIDENCE else None,
        location_source=None if source is LocationSource.RESIDENCE else source,
    )
    day = add_months(today(), -months) - timedelta(days=days)
    occurred = from_local(datetime.combine(day, time(10)))
    report.occurred_at = occurred
    for name, value in derived_fields(
        occurred, report.latitude, report.longitude
    ).items():
        setattr(report, name, value)
    report.status, report.suite, report.gravity = status, suite, gravity
    report.duplicate_of = duplicate_of
    db.session.add(
        ReportEvent(
            report_id=report.id,
            user_id=world["referent"].id,
            kind="updated",
            changes={"status": ["nouveau", status.value]},
            comment=COMMENT,
        )
    )
    db.session.add(
        ReportEvent(
            report_id=report.id,
            user_id=world["referent"].id,
            kind=FOLLOWUP,
            changes={},
            comment=FOLLOWUP_COMMENT,
        )
    )
    add_action(world, report, day, note=NOTE)
    if complaint is not None:
        db.session.add(
            Complaint(
                report_id=report.id,
                kind=complaint,
                filed_by=ComplaintFiler.BAILLEUR,
                filed_on=day,
                reference="PV 2024/001234",
                updated_by_id=world["referent"].id,
            )
        )
    for _ in range(photos):
        add_photo(world["gardien"], report, clean_image(jpeg(), "photo.jpg"))
    db.session.flush()
    return report


def add_action(world, report: Report, day: date, note: str = "") -> FollowupAction:
    action = FollowupAction(
        report_id=report.id,
        done_on=day,
        kind=ActionKind.SIGNALEMENT,
        partner=Partner.POLICE_NATIONALE,
        note=note,
        author_id=world["referent"].id,
    )
    db.session.add(action)
    db.session.flush()
    return action


def anonymised_ids() -> set[int]:
    return set(db.session.scalars(sa.select(ReportAnonymisation.report_id)))


def photo_files(report: Report) -> list:
    photos = db.session.scalars(
        sa.select(Photo).where(Photo.report_id == report.id)
    ).all()
    return [photo_path(p, thumbnail=t) for p in photos for t in (False, True)]


def assert_kept(report: Report, *, photos: int = 0) -> None:
    db.session.refresh(report)
    assert report.description == TEXT
    assert report.id not in anonymised_ids()
    comments = db.session.scalars(
        sa.select(ReportEvent.comment).where(ReportEvent.report_id == report.id)
    ).all()
    assert COMMENT in comments
    notes = db.session.scalars(
        sa.select(FollowupAction.note).where(FollowupAction.report_id == report.id)
    ).all()
    assert NOTE in notes
    files = photo_files(report)
    assert len(files) == 2 * photos
    assert all(f.exists() for f in files)


def assert_anonymised(report: Report, rule: RetentionRule) -> None:
    db.session.refresh(report)
    assert report.description == ""
    record = db.session.get(ReportAnonymisation, report.id)
    assert record is not None and record.rule is rule
    events = db.session.execute(
        sa.select(ReportEvent.kind, ReportEvent.comment).where(
            ReportEvent.report_id == report.id
        )
    ).all()
    assert COMMENT not in [comment for _kind, comment in events]
    # Erased, not replaced: every other comment is empty.
    assert {comment for kind, comment in events if kind != FOLLOWUP} <= {""}
    # Follow-up comments are built from labels and stay.
    assert (FOLLOWUP, FOLLOWUP_COMMENT) in [tuple(e) for e in events]
    notes = db.session.scalars(
        sa.select(FollowupAction.note).where(FollowupAction.report_id == report.id)
    ).all()
    assert notes and set(notes) == {""}
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(Photo.report_id == report.id)
        )
        == 0
    )
    complaint = db.session.get(Complaint, report.id)
    if complaint is not None:
        assert complaint.reference == ""
        assert complaint.kind is not None  # the complaint rate still counts it


# ----------------------------------------------------------------------- the rules


def test_closed_facts_without_suite_go_after_a_year(world):
    if (today().month, today().day) == (2, 29):
        pytest.skip("No fact is exactly twelve months older than a 29 February.")
    old = fact(world, months=12, days=1, photos=2)
    just_in = fact(world, months=12)
    recent = fact(world, months=11, photos=1)
    old_files = photo_files(old)
    assert len(old_files) == 4 and all(f.exists() for f in old_files)
    commit()

    result = purge()

    assert result.facts == {RetentionRule.SANS_SUITE: 1}
    assert result.photos == 2
    assert_anonymised(old, RetentionRule.SANS_SUITE)
    assert not any(f.exists() for f in old_files)
    assert_kept(just_in)  # the year ends today: it goes tomorrow
    assert_kept(recent, photos=1)


def test_facts_with_a_suite_keep_the_limitation_period_of_their_class(world):
    delit = fact(world, months=60, suite=Suite.PLAINTE_BAILLEUR)
    delit_over = fact(
        world, months=72, days=1, suite=Suite.PLAINTE_BAILLEUR,
        complaint=ComplaintKind.PLAINTE,
    )  # fmt: skip
    main_courante = fact(world, months=30, complaint=ComplaintKind.MAIN_COURANTE)
    crime = fact(world, months=100, code="AP04", gravity=4, suite=Suite.PLAINTE_VICTIME)
    not_crime = fact(
        world, months=100, code="AP04", gravity=3, suite=Suite.PLAINTE_VICTIME
    )
    commit()

    result = purge()

    assert result.facts == {RetentionRule.DELIT: 2}
    assert_kept(delit)
    assert_kept(main_courante)  # a main courante is a suite: 6 years for a délit
    assert_kept(crime)  # 20 years
    assert_anonymised(delit_over, RetentionRule.DELIT)
    assert_anonymised(not_crime, RetentionRule.DELIT)


def test_troubles_keep_three_years_for_the_lease(world):
    noise_2y = fact(world, months=24, code="TT03")  # closed without suite
    noise_3y = fact(world, months=36, days=1, code="TT03")
    dealing = fact(world, months=40, code="TR01", gravity=3)
    commit()

    result = purge()

    assert result.facts == {RetentionRule.BAIL: 2}
    assert_kept(noise_2y)
    assert_anonymised(noise_3y, RetentionRule.BAIL)
    assert_anonymised(dealing, RetentionRule.BAIL)


def test_contraventions_end_after_a_year_when_the_lease_needs_less(app, world):
    app.config["ORFI_RETENTION_MONTHS_LEASE"] = 6
    open_noise = fact(world, months=13, code="TT03", status=Status.TRANSMIS)
    noise_with_suite = fact(world, months=11, code="TT03", suite=Suite.MAIN_COURANTE)
    commit()

    result = purge()

    assert result.facts == {RetentionRule.CONTRAVENTION: 1}
    assert result.open_facts == 1
    assert_anonymised(open_noise, RetentionRule.CONTRAVENTION)
    assert_kept(noise_with_suite)


def test_open_facts_are_kept_for_the_whole_limitation_period(world):
    handled = fact(world, months=70, status=Status.TRANSMIS)
    forgotten = fact(world, months=73, status=Status.NOUVEAU, photos=1)
    commit()

    result = purge()

    assert_kept(handled)
    assert_anonymised(forgotten, RetentionRule.DELIT)
    assert result.open_facts == 1
    line = db.session.scalar(
        sa.select(AccessLogEntry.detail).where(
            AccessLogEntry.action == AccessAction.PURGE
        )
    )
    assert "dont 1 encore ouvert(s)" in line


def test_retention_runs_from_the_last_follow_up(world):
    followed = fact(world, months=14)
    add_action(world, followed, add_months(today(), -10))
    complained = fact(world, months=80, suite=Suite.PLAINTE_BAILLEUR)
    db.session.add(
        Complaint(
            report_id=complained.id,
            kind=ComplaintKind.PLAINTE,
            filed_by=ComplaintFiler.VICTIME,
            filed_on=add_months(today(), -70),
            updated_by_id=world["referent"].id,
        )
    )
    commit()

    result = purge()

    assert result.fact_count == 0
    assert_kept(followed)
    assert_kept(complained)


def test_a_duplicate_goes_with_its_original(world):
    kept_original = fact(world, months=13, suite=Suite.PLAINTE_BAILLEUR)
    kept_copy = fact(world, months=13, duplicate_of=kept_original)
    gone_original = fact(world, months=13)
    gone_copy = fact(world, months=13, duplicate_of=gone_original)
    commit()

    result = purge(batch_size=1)  # originals and copies in different batches

    assert result.facts == {RetentionRule.SANS_SUITE: 2}
    assert_kept(kept_original)
    assert_kept(kept_copy)
    assert_anonymised(gone_original, RetentionRule.SANS_SUITE)
    assert_anonymised(gone_copy, RetentionRule.SANS_SUITE)


def test_a_duplicate_goes_in_the_same_purge_as_its_original(world):
    """Original and copy read in one batch: the copy does not wait for the next run."""
    original = fact(world, months=13)
    copy = fact(world, months=13, duplicate_of=original)
    early_copy = fact(world, months=14)
    later_original = fact(world, months=13)
    early_copy.duplicate_of = later_original  # the copy was filed first
    commit()

    result = purge()

    assert result.facts == {RetentionRule.SANS_SUITE: 4}
    for report in (original, copy, early_copy, later_original):
        assert_anonymised(report, RetentionRule.SANS_SUITE)


def test_a_kept_fact_does_not_shield_the_due_ones_after_it(world):
    """In one batch, a fact still kept, read first, does not stop the reading."""
    kept = fact(world, months=13, suite=Suite.PLAINTE_BAILLEUR)  # délit: 6 years
    due = [fact(world, months=13), fact(world, months=14)]
    commit()

    result = purge()

    assert result.facts == {RetentionRule.SANS_SUITE: 2}
    assert_kept(kept)
    for report in due:
        assert_anonymised(report, RetentionRule.SANS_SUITE)


def test_precise_positions_move_to_the_centre_of_their_cell(world):
    gps = fact(world, months=13)
    at_residence = fact(world, months=13, source=LocationSource.RESIDENCE)
    before = (at_residence.latitude, at_residence.longitude)
    cells = (gps.h3_r7, gps.h3_r9)
    commit()

    purge()

    db.session.refresh(gps)
    db.session.refresh(at_residence)
    centre = h3.cell_to_latlng(h3.int_to_str(gps.h3_r9))
    assert (gps.latitude, gps.longitude) == pytest.approx(centre, abs=1e-6)
    assert (gps.latitude, gps.longitude) != pytest.approx((43.64105, 1.43301))
    assert gps.gps_accuracy_m is None
    assert (gps.h3_r7, gps.h3_r9) == cells  # statistics and maps count the same
    assert (at_residence.latitude, at_residence.longitude) == before


def test_what_stays_serves_statistics(world):
    report = fact(world, months=13, code="AP01", gravity=3, photos=1)
    commit()
    db.session.refresh(report)
    kept = {
        name: getattr(report, name)
        for name in (
            "reference", "category_id", "residence_id", "occurred_at", "lieu",
            "victime", "suite", "gravity", "status", "damage_cost_eur", "author_id",
        )
    }  # fmt: skip
    commit()

    purge()

    db.session.refresh(report)
    assert {name: getattr(report, name) for name in kept} == kept


# ------------------------------------------------------ dry run, second run, logs


def test_dry_run_changes_nothing_and_counts_the_same(world):
    old = fact(world, months=13, photos=1)
    lease = fact(world, months=37, code="TT07")
    files = photo_files(old)
    db.session.add(
        AccessLogEntry(
            at=utcnow() - timedelta(days=400),
            organisation_id=world["organisation"].id,
            user_id=world["referent"].id,
            action=AccessAction.VIEW,
            object_type="report",
            object_ref=old.reference,
        )
    )
    commit()
    description_before = old.description

    simulated = purge(dry_run=True)

    assert simulated.dry_run
    assert simulated.facts == {RetentionRule.SANS_SUITE: 1, RetentionRule.BAIL: 1}
    assert (simulated.photos, simulated.log_entries) == (1, 1)
    db.session.expire_all()
    assert old.description == description_before
    assert_kept(old, photos=1)
    assert_kept(lease)
    assert all(f.exists() for f in files)
    assert anonymised_ids() == set()
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(AccessLogEntry)) == 1
    )

    real = purge()
    assert (real.facts, real.photos, real.log_entries) == (
        simulated.facts, simulated.photos, simulated.log_entries,
    )  # fmt: skip
    assert anonymised_ids() == {old.id, lease.id}


def test_a_second_run_does_nothing(world):
    fact(world, months=13, photos=1)
    commit()
    first = purge()
    assert first.fact_count == 1
    lines = db.session.scalar(sa.select(sa.func.count()).select_from(AccessLogEntry))

    second = purge()

    assert (second.fact_count, second.photos, second.log_entries) == (0, 0, 0)
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(AccessLogEntry))
        == lines
    )


def test_old_access_log_entries_go_and_the_purge_says_so_without_content(world):
    now = utcnow()
    organisation = world["organisation"]
    for days in (370, 366, 300, 1):
        db.session.add(
            AccessLogEntry(
                at=now - timedelta(days=days),
                organisation_id=organisation.id,
                user_id=world["referent"].id,
                action=AccessAction.VIEW,
                object_type="report",
                object_ref=f"PUR-{days}",
            )
        )
    old = fact(world, months=13, photos=1)
    commit()

    result = purge()

    assert result.log_entries == 2
    refs = set(db.session.scalars(sa.select(AccessLogEntry.object_ref)))
    assert refs == {"PUR-300", "PUR-1", ""}
    line = db.session.scalars(
        sa.select(AccessLogEntry).where(AccessLogEntry.action == AccessAction.PURGE)
    ).one()
    assert line.organisation_id == organisation.id and line.user_id is None
    assert line.detail == (
        "Purge : 1 fait(s) anonymisé(s) (clos sans suite 1), 1 photo(s) "
        "supprimée(s), 2 entrée(s) du journal de plus de 12 mois supprimée(s)."
    )
    assert old.reference not in line.detail and TEXT not in line.detail


def test_each_bailleur_gets_its_own_summary(world):
    fact(world, months=13)
    other = make_organisation(code="AUT")
    residence = make_residence(other, latitude=43.6409, longitude=1.4327)
    gardien = make_user(other, role=Role.GARDIEN, sector=[residence])
    referent = make_user(other, role=Role.REFERENT)
    other_world = {"gardien": gardien, "referent": referent}
    fact(other_world, months=13)
    fact(other_world, months=13)
    commit()

    purge()

    lines = dict(
        db.session.execute(
            sa.select(AccessLogEntry.organisation_id, AccessLogEntry.detail).where(
                AccessLogEntry.action == AccessAction.PURGE
            )
        ).all()
    )
    assert lines[world["organisation"].id].startswith("Purge : 1 fait(s)")
    assert lines[other.id].startswith("Purge : 2 fait(s)")


def test_a_photo_file_that_cannot_go_is_reported(world, monkeypatch):
    old = fact(world, months=13, photos=1)
    commit()

    def refuse(*_args):
        raise PermissionError("lecture seule")

    monkeypatch.setattr("orfi.privacy.purge.discard_files", refuse)
    result = purge()

    assert result.photo_files_failed == 1
    assert_anonymised(old, RetentionRule.SANS_SUITE)  # the row is gone all the same


def test_every_photo_file_that_cannot_go_is_counted_and_named(
    world, monkeypatch, caplog
):
    two = fact(world, months=13, photos=2)
    one = fact(world, months=13, photos=1)
    commit()
    uuids = set(
        db.session.scalars(
            sa.select(Photo.uuid).where(Photo.report_id.in_([two.id, one.id]))
        )
    )

    def refuse(*_args):
        raise PermissionError("lecture seule")

    monkeypatch.setattr("orfi.privacy.purge.discard_files", refuse)
    with caplog.at_level("ERROR", logger="orfi.privacy.purge"):
        result = purge(batch_size=1)  # the two facts in two batches

    assert result.photo_files_failed == 3
    assert sorted(r.getMessage() for r in caplog.records) == sorted(
        f"Fichier de la photo {uuid} non supprimé (la ligne l'est)" for uuid in uuids
    )


def test_open_facts_and_photos_are_counted_one_by_one(world):
    closed = fact(world, months=13)
    open_facts = [
        fact(world, months=73, status=Status.NOUVEAU, photos=2),
        fact(world, months=73, status=Status.TRANSMIS),
    ]
    commit()

    result = purge()

    assert (result.fact_count, result.open_facts, result.photos) == (3, 2, 2)
    counts = result.by_owner[("organisation", world["organisation"].id)]
    assert (counts.open_facts, counts.photos) == (2, 2)
    line = db.session.scalar(
        sa.select(AccessLogEntry.detail).where(
            AccessLogEntry.action == AccessAction.PURGE
        )
    )
    assert line == (
        "Purge : 3 fait(s) anonymisé(s) (clos sans suite 1, délit 2 ; dont 2 encore "
        "ouvert(s)), 2 photo(s) supprimée(s)."
    )
    assert_anonymised(closed, RetentionRule.SANS_SUITE)
    for report in open_facts:
        assert_anonymised(report, RetentionRule.DELIT)


def test_a_kept_original_keeps_its_copy_whatever_else_went_before(world):
    """Another fact anonymised earlier says nothing about this copy's original."""
    unrelated = fact(world, months=13)
    original = fact(world, months=13, suite=Suite.PLAINTE_BAILLEUR)  # délit: 6 years
    copy = fact(world, months=13, duplicate_of=original)
    commit()

    result = purge(batch_size=1)  # the unrelated fact goes before the copy is read

    assert result.facts == {RetentionRule.SANS_SUITE: 1}
    assert_anonymised(unrelated, RetentionRule.SANS_SUITE)
    assert_kept(original)
    assert_kept(copy)


def test_only_the_due_facts_lose_their_complaint_reference(world):
    kept = fact(
        world, months=13, complaint=ComplaintKind.PLAINTE, suite=Suite.PLAINTE_BAILLEUR
    )
    due = fact(
        world, months=73, complaint=ComplaintKind.PLAINTE, suite=Suite.PLAINTE_BAILLEUR
    )  # délit: 6 years
    changed = datetime(2024, 1, 2, 9, 30, tzinfo=UTC)
    for report in (kept, due):
        db.session.get(Complaint, report.id).updated_at = changed
    commit()

    purge()

    db.session.expire_all()
    kept_complaint = db.session.get(Complaint, kept.id)
    due_complaint = db.session.get(Complaint, due.id)
    assert (kept_complaint.reference, due_complaint.reference) == ("PV 2024/001234", "")
    # Not a user's edit: the complaint's date of change stays.
    for complaint in (kept_complaint, due_complaint):
        updated = complaint.updated_at  # naive on SQLite, which stores UTC
        assert (updated if updated.tzinfo else updated.replace(tzinfo=UTC)) == changed


def test_each_batch_of_facts_is_anonymised_on_its_own(world):
    reports = [fact(world, months=13) for _ in range(5)]
    commit()
    batches = []

    def record(_conn, _cursor, statement, parameters, _context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO REPORT_ANONYMISATION"):
            batches.append(len(parameters) if executemany else 1)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        result = purge(batch_size=2)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)

    assert batches == [2, 2, 1]
    assert result.fact_count == 5
    for report in reports:
        assert_anonymised(report, RetentionRule.SANS_SUITE)


def test_batches_follow_the_ids_whatever_the_order_of_the_rows(world):
    reports = [fact(world, months=13 + n) for n in range(4)]
    commit()
    # A later change moves the first fact's row to the end of PostgreSQL's table:
    # read without an order, the batches would skip it (SQLite reads by id anyway).
    reports[0].gravity = 3
    commit()

    result = purge(batch_size=1)

    assert result.fact_count == 4
    for report in reports:
        assert_anonymised(report, RetentionRule.SANS_SUITE)


def test_a_copy_kept_with_its_original_does_not_shield_the_due_facts_after_it(world):
    """In one batch, a copy kept for its original does not stop the reading."""
    original = fact(world, months=13, suite=Suite.PLAINTE_BAILLEUR)  # délit: 6 years
    copy = fact(world, months=13, duplicate_of=original)
    due = fact(world, months=13)
    commit()

    result = purge()

    assert result.facts == {RetentionRule.SANS_SUITE: 1}
    assert_kept(copy)
    assert_anonymised(due, RetentionRule.SANS_SUITE)


def test_corrections_kept_in_the_history_lose_their_text_and_positions(world):
    due = fact(world, months=13)
    kept = fact(world, months=13, suite=Suite.PLAINTE_BAILLEUR)  # délit: 6 years
    corrected = {
        "description": [TEXT, "Porte du hall forcée."],
        "position": ["43.64105, 1.43301", "43.64110, 1.43290"],
        "note": [NOTE, "Appel au commissariat."],
        "lieu": ["hall", "cave"],
    }
    for report in (due, kept):
        db.session.add(
            ReportEvent(
                report_id=report.id,
                user_id=world["referent"].id,
                kind="correction",
                changes=corrected,
            )
        )
    commit()

    purge()

    def changes(report: Report) -> list[tuple[str, dict]]:
        return [
            tuple(row)
            for row in db.session.execute(
                sa.select(ReportEvent.kind, ReportEvent.changes)
                .where(ReportEvent.report_id == report.id)
                .order_by(ReportEvent.id)
            )
        ]

    assert changes(due) == [
        ("updated", {"status": ["nouveau", "clos"]}),
        (FOLLOWUP, {}),
        (
            "correction",
            {
                "description": [None, None],
                "position": [None, None],
                "note": [None, None],
                "lieu": ["hall", "cave"],  # codes stay: which field changed, to what
            },
        ),
    ]
    assert changes(kept) == [
        ("updated", {"status": ["nouveau", "clos"]}),
        (FOLLOWUP, {}),
        ("correction", corrected),
    ]


def test_a_dry_run_never_takes_the_writers_turn(world, monkeypatch):
    fact(world, months=13, photos=1)
    commit()

    @contextlib.contextmanager
    def refuse(_engine):
        raise AssertionError("a dry run took the writers' turn")
        yield

    monkeypatch.setattr("orfi.privacy.purge.writer_turn", refuse)
    simulated = purge(dry_run=True)

    assert (simulated.fact_count, simulated.photos) == (1, 1)


@pytest.mark.parametrize(
    "setting", ["ORFI_RETENTION_MONTHS_DELIT", "ORFI_ACCESS_LOG_RETENTION_MONTHS"]
)
def test_a_zero_duration_is_refused(app, world, setting):
    old = fact(world, months=13)
    commit()
    app.config[setting] = 0
    with pytest.raises(ValueError, match=setting):
        purge()
    db.session.rollback()
    assert_kept(old)


@pytest.mark.parametrize("value", [True, "12", 12.0, None])
def test_a_duration_that_is_not_a_whole_number_of_months_is_refused(app, world, value):
    old = fact(world, months=13)
    commit()
    app.config["ORFI_ACCESS_LOG_RETENTION_MONTHS"] = value
    with pytest.raises(ValueError, match="ORFI_ACCESS_LOG_RETENTION_MONTHS doit"):
        purge()
    db.session.rollback()
    assert_kept(old)


def test_the_purge_logs_its_counts(world, caplog):
    for _ in range(2):
        fact(world, months=13)
    fact(world, months=13, photos=3)
    for days in (400, 380, 370, 366):
        db.session.add(
            AccessLogEntry(
                at=utcnow() - timedelta(days=days),
                organisation_id=world["organisation"].id,
                user_id=world["referent"].id,
                action=AccessAction.VIEW,
                object_type="report",
                object_ref=f"PUR-{days}",
            )
        )
    commit()

    with caplog.at_level("INFO", logger="orfi.privacy.purge"):
        purge(dry_run=True)
        purge()

    assert [r.getMessage() for r in caplog.records] == [
        f"Purge{mode} : 3 fait(s), 3 photo(s), notes de 0 réunion(s) et 0 "
        "intervention(s), 4 entrée(s) du journal"
        for mode in (" (simulation)", "")
    ]


def test_old_access_log_entries_of_every_log_are_counted(world):
    other = make_organisation(code="AUT")
    referent = make_user(other, role=Role.REFERENT)
    for organisation, user, n in (
        (world["organisation"], world["referent"], 2),
        (other, referent, 3),
    ):
        for day in range(n):
            db.session.add(
                AccessLogEntry(
                    at=utcnow() - timedelta(days=400 + day),
                    organisation_id=organisation.id,
                    user_id=user.id,
                    action=AccessAction.VIEW,
                    object_type="report",
                    object_ref=f"{organisation.code}-{day}",
                )
            )
    commit()

    result = purge()

    assert result.log_entries == 5
    assert {owner: counts.log_entries for owner, counts in result.by_owner.items()} == {
        ("organisation", world["organisation"].id): 2,
        ("organisation", other.id): 3,
    }


def test_policy_reads_the_settings(app):
    app.config["ORFI_RETENTION_MONTHS_CRIME"] = 360
    policy = RetentionPolicy.from_config(app.config)
    assert policy.months(RetentionRule.CRIME) == 360
    assert policy.months(RetentionRule.SANS_SUITE) == 12


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2026, 11, 22), -12, date(2025, 11, 22)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2020, 5, 10), 72, date(2026, 5, 10)),
    ],
)
def test_months_are_calendar_months(day, months, expected):
    assert add_months(day, months) == expected


# ------------------------------------------------------------------------- the CLI


def test_cli_dry_run_then_purge_then_nothing(runner, world):
    old = fact(world, months=13, photos=1)
    commit()
    files = photo_files(old)

    dry = runner.invoke(args=["orfi", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Simulation (--dry-run) : rien n'est modifié." in dry.output
    assert "1 fait(s) à anonymiser" in dry.output
    assert "Photos à supprimer : 1" in dry.output
    assert all(f.exists() for f in files)

    real = runner.invoke(args=["orfi", "purge"])
    assert real.exit_code == 0, real.output
    assert "Total : 1 fait(s) anonymisé(s), dont 0 encore ouvert(s)" in real.output
    assert "Photos supprimées : 1" in real.output
    assert not any(f.exists() for f in files)
    db.session.expire_all()
    assert_anonymised(old, RetentionRule.SANS_SUITE)

    again = runner.invoke(args=["orfi", "purge"])
    assert again.exit_code == 0
    assert "Total : 0 fait(s) anonymisé(s)" in again.output


def test_cli_simulates_a_future_day_only_in_a_dry_run(runner, world):
    fact(world, months=10)
    commit()
    future = (today() + timedelta(days=70)).isoformat()

    preview = runner.invoke(args=["orfi", "purge", "--dry-run", "--date", future])
    assert preview.exit_code == 0, preview.output
    assert "1 fait(s) à anonymiser" in preview.output
    assert anonymised_ids() == set()

    refused = runner.invoke(args=["orfi", "purge", "--date", future])
    assert refused.exit_code == 1
    assert "--date ne sert qu'à simuler" in refused.output


def test_cli_refuses_a_bad_setting(app, runner, world):
    app.config["ORFI_RETENTION_MONTHS_NO_SUITE"] = -3
    result = runner.invoke(args=["orfi", "purge"])
    assert result.exit_code == 1
    assert "ORFI_RETENTION_MONTHS_NO_SUITE doit être un nombre entier" in result.output


def test_the_fact_page_says_when_its_text_was_erased(client, auth, world):
    old = fact(world, months=13)
    commit()
    purge()
    auth.login(world["referent"].email)

    page = client.get(f"/signalements/{old.uuid}").get_data(as_text=True)

    assert TEXT not in page
    assert "durée de conservation écoulée (clos sans suite)" in page


# ------------------------------------------------------------------------ the demo

DEMO_FACTS = 400
#: The purge runs as if this many days had passed since the demo was loaded, so that
#: every rule but the crime's has facts to take.
DAYS_LATER = 2000
CONTRAVENTIONS = {"TT02", "TT03", "TT04", "TT05", "TT07"}
CRIMES = {"AP03", "AP04", "AB03", "TR01"}
MONTHS = {"sans_suite": 12, "bail": 36, "contravention": 12, "delit": 72, "crime": 240}


def documented_rule(row) -> tuple[str, date]:
    """docs/privacy.md, « Les règles », written out again from the table."""
    legal = row.has_complaint or row.suite not in (None, "aucune")
    if row.status == "clos" and not legal:
        candidates = ["sans_suite"]
    elif row.category in CRIMES and (row.gravity or 0) >= 4:
        candidates = ["crime"]
    elif row.category in CONTRAVENTIONS:
        candidates = ["contravention"]
    else:
        candidates = ["delit"]
    if row.family in ("TT", "TR"):
        candidates.append("bail")
    rule = max(candidates, key=MONTHS.get)
    occurred = row.occurred_at
    occurred = occurred if occurred.tzinfo else occurred.replace(tzinfo=UTC)
    start = max(
        d for d in (to_local(occurred).date(), row.last_action, row.complaint_on) if d
    )
    return rule, add_months(start, MONTHS[rule])


@pytest.fixture
def demo_app(app, monkeypatch):
    """The test app, with cheap password hashes: the demo creates many accounts."""
    monkeypatch.setattr(
        "orfi.auth.models.generate_password_hash",
        functools.partial(generate_password_hash, method="pbkdf2:sha256:1000"),
    )
    return app


def test_purge_of_the_demo_takes_exactly_what_the_rules_say(demo_app):
    loaded = demo_app.test_cli_runner().invoke(
        args=["orfi", "demo", "--reports", str(DEMO_FACTS)]
    )
    assert loaded.exit_code == 0, loaded.output
    db.session.commit()
    now = utcnow() + timedelta(days=DAYS_LATER)
    rows = db.session.execute(
        sa.text(
            """
            SELECT r.id, r.duplicate_of_id, r.status, r.suite, r.gravity,
                   r.occurred_at, c.code AS category, f.code AS family,
                   (SELECT MAX(a.done_on) FROM followup_action a
                     WHERE a.report_id = r.id) AS last_action,
                   p.filed_on AS complaint_on,
                   p.report_id IS NOT NULL AS has_complaint
            FROM report r
            JOIN category c ON c.id = r.category_id
            JOIN family f ON f.id = c.family_id
            LEFT JOIN report_complaint p ON p.report_id = r.id
            """
        ).columns(
            occurred_at=sa.DateTime(timezone=True),
            last_action=sa.Date,
            complaint_on=sa.Date,
            has_complaint=sa.Boolean,
        )
    ).all()
    assert len(rows) == DEMO_FACTS
    today_then = to_local(now).date()
    over = {row.id: today_then > documented_rule(row)[1] for row in rows}
    expected = {
        row.id
        for row in rows
        if over[row.id] and (row.duplicate_of_id is None or over[row.duplicate_of_id])
    }
    expected_rules = {
        row.id: documented_rule(row)[0] for row in rows if row.id in expected
    }
    texts = dict(db.session.execute(sa.select(Report.id, Report.description)).all())
    # The demo covers the rules: facts go by several of them, and facts stay.
    assert {"sans_suite", "bail", "delit"} <= set(expected_rules.values())
    assert 0 < len(expected) < DEMO_FACTS

    result = purge(now)

    assert anonymised_ids() == expected
    stored = dict(
        db.session.execute(
            sa.select(ReportAnonymisation.report_id, ReportAnonymisation.rule)
        ).all()
    )
    assert {k: v.value for k, v in stored.items()} == expected_rules
    assert result.fact_count == len(expected)
    after = dict(db.session.execute(sa.select(Report.id, Report.description)).all())
    assert all(after[i] == "" for i in expected)
    assert all(after[i] == texts[i] for i in after if i not in expected)
    assert purge(now).fact_count == 0
