"""``orfi purge`` and the activity log: old notes of meetings and interventions go.

Entries are logged through the real services by a bailleur's référent and by a
federation's chargée de mission, dated back from a fixed purge day; each test says
which notes must be emptied and checks that nothing else of the entry changed.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from orfi.activity.models import Meeting, MeetingKind, PartnerIntervention
from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.extensions import db
from orfi.followup.models import Partner
from orfi.privacy.models import AccessAction, AccessLogEntry, RetentionRule
from orfi.privacy.purge import OwnerCounts, activity_cutoff, purge, summary_lines
from orfi.privacy.retention import add_months
from orfi.privacy.services import DETAIL_MAX_LENGTH
from orfi.timezone import from_local, to_local
from tests.factories import (
    commit,
    make_federation,
    make_intervention,
    make_meeting,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)

NOTE = "Rencontre avec M. Durand, gardien, au sujet du hall B."
#: The purge runs as of this day (noon, Paris) unless a test says otherwise.
PURGE_DAY = date(2025, 6, 16)
SETTING = "ORFI_RETENTION_MONTHS_ACTIVITY"


def at_noon(day: date) -> datetime:
    return from_local(datetime.combine(day, time(12)))


NOW = at_noon(PURGE_DAY)


@pytest.fixture
def world(app):
    organisation = make_organisation(code="ACT", region="Occitanie")
    residence = make_residence(organisation)
    referent = make_user(organisation, role=Role.REFERENT)
    federation = make_federation(code="USH-T", region="Occitanie")
    chargee = make_user(None, role=Role.FEDERATION, federation=federation)
    commit()
    return {
        "organisation": organisation,
        "residence": residence,
        "referent": referent,
        "federation": federation,
        "chargee": chargee,
    }


def meeting(world, user, day: date, notes: str = NOTE) -> Meeting:
    """A CLSPD with partners, bailleur and résidence, held on ``day``."""
    return make_meeting(
        user,
        held_on=day,
        kind=MeetingKind.CLSPD,
        subject="Cellule de veille du quartier",
        partners=[Partner.POLICE_MUNICIPALE, Partner.MAIRIE],
        bailleur_ids=[world["organisation"].id],
        residence_ids=[world["residence"].id],
        notes=notes,
    )


def intervention(world, user, day: date, **overrides) -> PartnerIntervention:
    """An intervention for the bailleur, at its résidence, done on ``day``."""
    values = {
        "done_on": day,
        "beneficiary_id": world["organisation"].id,
        "partner": Partner.POLICE_NATIONALE,
        "subject": "Occupation du hall",
        "notes": NOTE,
        "residence_id": world["residence"].id,
    }
    values.update(overrides)
    return make_intervention(user, **values)


def months_before(months: int, days: int = 0) -> date:
    return add_months(PURGE_DAY, -months) - timedelta(days=days)


def everything_but_notes(entry) -> dict:
    """The columns and links of an entry, notes aside, as stored."""
    db.session.refresh(entry)
    values = {
        column.key: getattr(entry, column.key)
        for column in entry.__table__.columns
        if column.key != "notes"
    }
    if isinstance(entry, Meeting):
        values["bailleurs"] = [o.id for o in entry.bailleurs]
        values["residences"] = [r.id for r in entry.residences]
    else:
        values["reports"] = [r.id for r in entry.reports]
    return values


def notes_of(entry) -> str:
    db.session.refresh(entry)
    return entry.notes


def purge_lines() -> list[AccessLogEntry]:
    return list(
        db.session.scalars(
            sa.select(AccessLogEntry)
            .where(AccessLogEntry.action == AccessAction.PURGE)
            .order_by(AccessLogEntry.id)
        )
    )


def count_log_lines() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AccessLogEntry))


# ----------------------------------------------------------------------- the rule


def test_notes_older_than_the_retention_are_emptied_and_nothing_else(world):
    fact = make_report(world["referent"], world["residence"])
    old = [
        meeting(world, world["referent"], months_before(36, days=1)),
        meeting(world, world["chargee"], months_before(48)),
        intervention(
            world,
            world["referent"],
            months_before(36, days=1),
            report_references=[fact.reference],
        ),
        intervention(world, world["chargee"], months_before(40)),
    ]
    kept = [
        meeting(world, world["referent"], months_before(36)),  # its last day
        meeting(world, world["chargee"], months_before(35)),
        intervention(world, world["referent"], months_before(36)),
        intervention(world, world["chargee"], months_before(2)),
    ]
    commit()
    before = [everything_but_notes(entry) for entry in old + kept]
    assert old[2].reports == [fact]

    result = purge(NOW)

    assert (result.meeting_notes, result.intervention_notes) == (2, 2)
    assert [notes_of(entry) for entry in old] == [""] * 4
    assert [notes_of(entry) for entry in kept] == [NOTE] * 4
    assert [everything_but_notes(entry) for entry in old + kept] == before


def test_each_owner_is_counted_and_told_without_content(world):
    meeting(world, world["referent"], months_before(37))
    intervention(world, world["referent"], months_before(37))
    intervention(world, world["referent"], months_before(50))
    intervention(world, world["chargee"], months_before(37))
    commit()

    result = purge(NOW)

    organisation = ("organisation", world["organisation"].id)
    federation = ("federation", world["federation"].id)
    assert set(result.by_owner) == {organisation, federation}
    assert (
        result.by_owner[organisation].meeting_notes,
        result.by_owner[organisation].intervention_notes,
    ) == (1, 2)
    assert (
        result.by_owner[federation].meeting_notes,
        result.by_owner[federation].intervention_notes,
    ) == (0, 1)
    lines = {(line.organisation_id, line.federation_id): line for line in purge_lines()}
    bailleur_line = lines[(world["organisation"].id, None)]
    federation_line = lines[(None, world["federation"].id)]
    assert bailleur_line.detail == (
        "Purge : notes de 1 réunion(s) et 2 intervention(s) de plus de 36 mois "
        "effacées."
    )
    assert federation_line.detail == (
        "Purge : notes de 1 intervention(s) de plus de 36 mois effacées."
    )
    assert bailleur_line.user_id is None
    assert all(NOTE not in line.detail for line in lines.values())


def test_a_long_summary_takes_two_lines_rather_than_losing_a_count():
    # A first purge of years of data: every count has several digits.
    counts = OwnerCounts(
        facts=Counter({rule: 2345 for rule in RetentionRule}),
        open_facts=123,
        photos=3456,
        meeting_notes=345,
        intervention_notes=1234,
        log_entries=23456,
    )

    lines = summary_lines(counts, 12, 36)

    assert len(lines) == 2
    assert all(len(line) <= DETAIL_MAX_LENGTH for line in lines)
    assert all(line.startswith("Purge : ") for line in lines)
    text = " ".join(lines)
    for told in (
        "11725 fait(s) anonymisé(s)",
        "dont 123 encore ouvert(s)",
        "3456 photo(s)",
        "notes de 345 réunion(s) et 1234 intervention(s) de plus de 36 mois",
        "23456 entrée(s) du journal",
    ):
        assert told in text


FULL_LINE = (  # 300 characters, all that one entry of the log holds
    "Purge : 50 fait(s) anonymisé(s) (clos sans suite 10, action liée au bail 10, "
    "contravention 10, délit 10, crime 10 ; dont 10 encore ouvert(s)), 100 photo(s) "
    "supprimée(s), notes de 10 réunion(s) et 10 intervention(s) de plus de 36 mois "
    "effacées, {} entrée(s) du journal de plus de 12 mois supprimée(s)."
)


def test_a_summary_of_exactly_one_entry_stays_one_line():
    counts = OwnerCounts(
        facts=Counter({rule: 10 for rule in RetentionRule}),
        open_facts=10,
        photos=100,
        meeting_notes=10,
        intervention_notes=10,
        log_entries=10,
    )
    assert len(FULL_LINE.format(10)) == 300

    assert summary_lines(counts, 12, 36) == [FULL_LINE.format(10)]

    counts.log_entries = 100  # one character more: the last count on a second line
    assert summary_lines(counts, 12, 36) == [
        FULL_LINE.split(", {}")[0] + ".",
        "Purge : 100 entrée(s) du journal de plus de 12 mois supprimée(s).",
    ]


def test_batches_cover_every_entry(world):
    entries = [meeting(world, world["referent"], months_before(40)) for _ in range(3)]
    entries += [
        intervention(world, world["chargee"], months_before(40)) for _ in range(3)
    ]
    commit()

    result = purge(NOW, batch_size=2)

    assert (result.meeting_notes, result.intervention_notes) == (3, 3)
    assert {notes_of(entry) for entry in entries} == {""}


def test_the_cut_off_follows_calendar_months_like_the_facts(app, world):
    # Kept while the purge day is at most the day plus N months: 28 February plus
    # one month is 28 March, so on 31 March its notes go.
    app.config[SETTING] = 1
    end_of_february = meeting(world, world["referent"], date(2025, 2, 28))
    first_of_march = intervention(world, world["referent"], date(2025, 3, 1))
    commit()

    result = purge(at_noon(date(2025, 3, 31)))

    assert (result.meeting_notes, result.intervention_notes) == (1, 0)
    assert notes_of(end_of_february) == ""
    assert notes_of(first_of_march) == NOTE


@pytest.mark.parametrize("months", [1, 11, 12, 36])
def test_the_first_kept_day_is_exact(months):
    day = date(2023, 1, 1)
    while day <= date(2025, 12, 31):
        first_kept = activity_cutoff(day, months)
        assert day <= add_months(first_kept, months)  # kept
        assert day > add_months(first_kept - timedelta(days=1), months)  # due
        day += timedelta(days=1)


def test_the_setting_changes_the_cut_off(app, world):
    year_old = meeting(world, world["chargee"], months_before(13))
    recent = intervention(world, world["chargee"], months_before(11))
    commit()

    assert purge(NOW).meeting_notes == 0  # 36 months by default
    assert notes_of(year_old) == NOTE

    app.config[SETTING] = 12
    result = purge(NOW)

    assert (result.meeting_notes, result.intervention_notes) == (1, 0)
    assert notes_of(year_old) == ""
    assert notes_of(recent) == NOTE


@pytest.mark.parametrize("value", [0, -6])
def test_a_zero_or_negative_setting_is_refused_before_anything(app, world, value):
    old = meeting(world, world["referent"], months_before(40))
    commit()
    app.config[SETTING] = value

    with pytest.raises(ValueError, match=f"{SETTING} doit être un nombre entier"):
        purge(NOW)

    db.session.rollback()
    assert notes_of(old) == NOTE
    assert purge_lines() == []


# ------------------------------------------------------------ dry run, second run


def test_dry_run_writes_nothing_and_counts_the_same(world):
    entries = [
        meeting(world, world["referent"], months_before(37)),
        meeting(world, world["chargee"], months_before(37)),
        intervention(world, world["referent"], months_before(37)),
    ]
    commit()
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        simulated = purge(NOW, dry_run=True)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)

    assert simulated.dry_run
    assert (simulated.meeting_notes, simulated.intervention_notes) == (2, 1)
    organisation = simulated.by_owner[("organisation", world["organisation"].id)]
    assert (organisation.meeting_notes, organisation.intervention_notes) == (1, 1)
    db.session.expire_all()
    assert [notes_of(entry) for entry in entries] == [NOTE] * 3
    assert count_log_lines() == 0
    # Not even in a transaction rolled back: a write would hold SQLite's lock.
    assert not [q for q in statements if q.lstrip().upper().startswith("UPDATE")]

    real = purge(NOW)

    assert (real.meeting_notes, real.intervention_notes) == (2, 1)
    assert [notes_of(entry) for entry in entries] == [""] * 3


def test_a_second_run_does_nothing(world):
    meeting(world, world["referent"], months_before(37))
    intervention(world, world["chargee"], months_before(37))
    # Notes already empty are not counted.
    meeting(world, world["chargee"], months_before(37), notes="")
    commit()
    first = purge(NOW)
    assert (first.meeting_notes, first.intervention_notes) == (1, 1)
    lines = count_log_lines()

    second = purge(NOW)

    assert (second.meeting_notes, second.intervention_notes) == (0, 0)
    assert second.by_owner == {}
    assert count_log_lines() == lines


def test_each_batch_of_notes_is_emptied_on_its_own_in_the_order_of_ids(world):
    meetings = [meeting(world, world["referent"], months_before(40)) for _ in range(3)]
    interventions = [
        intervention(world, world["chargee"], months_before(40)) for _ in range(3)
    ]
    commit()
    # A later change moves the first rows to the end of PostgreSQL's tables: read
    # without an order, the batches would skip them (SQLite reads by id anyway).
    meetings[0].subject = "Cellule de veille (compte rendu validé)"
    interventions[0].subject = "Occupation du hall B"
    commit()
    updates = []

    def record(_conn, _cursor, statement, *_args):
        words = statement.split()
        if words[0].upper() == "UPDATE":
            updates.append(words[1].strip('"'))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        result = purge(NOW, batch_size=2)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)

    assert (result.meeting_notes, result.intervention_notes) == (3, 3)
    assert {notes_of(entry) for entry in meetings + interventions} == {""}
    assert updates == ["meeting"] * 2 + ["partner_intervention"] * 2


def test_an_entry_moved_to_a_recent_day_during_the_purge_keeps_its_notes(world):
    moved = meeting(world, world["referent"], months_before(40))
    commit()
    recent = months_before(1)
    placeholder = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"

    def move_first(_conn, cursor, statement, *_args):
        # Another writer gives the entry a recent day between the read and the write.
        if statement.split()[0].upper() == "UPDATE" and not moved_already:
            moved_already.append(True)
            cursor.connection.cursor().execute(
                f"UPDATE meeting SET held_on = {placeholder} WHERE id = {placeholder}",
                (recent.isoformat(), moved.id),
            )

    moved_already: list[bool] = []
    sa.event.listen(db.engine, "before_cursor_execute", move_first)
    try:
        result = purge(NOW)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", move_first)

    assert moved_already
    assert result.meeting_notes == 0
    assert notes_of(moved) == NOTE


def test_a_dry_run_counts_only_the_notes_that_would_go(world):
    meeting(world, world["referent"], months_before(37))
    meeting(world, world["referent"], months_before(35))
    meeting(world, world["referent"], months_before(40), notes="")
    intervention(world, world["referent"], months_before(35))
    commit()

    simulated = purge(NOW, dry_run=True)

    assert (simulated.meeting_notes, simulated.intervention_notes) == (1, 0)
    counts = simulated.by_owner[("organisation", world["organisation"].id)]
    assert (counts.meeting_notes, counts.intervention_notes) == (1, 0)


# ------------------------------------------------------------------------- the CLI


def test_cli_reports_the_notes_in_a_dry_run_and_a_real_run(runner, world):
    today = to_local(utcnow()).date()
    old_meeting = meeting(world, world["referent"], add_months(today, -40))
    old_intervention = intervention(world, world["chargee"], add_months(today, -40))
    commit()

    dry = runner.invoke(args=["orfi", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert (
        "Notes du journal d'activité (plus de 36 mois) à effacer : 1 réunion(s), "
        "1 intervention(s)"
    ) in dry.output
    assert notes_of(old_meeting) == NOTE

    real = runner.invoke(args=["orfi", "purge"])
    assert real.exit_code == 0, real.output
    assert (
        "Notes du journal d'activité (plus de 36 mois) effacées : 1 réunion(s), "
        "1 intervention(s)"
    ) in real.output
    assert notes_of(old_meeting) == notes_of(old_intervention) == ""

    again = runner.invoke(args=["orfi", "purge"])
    assert again.exit_code == 0, again.output
    assert "effacées : 0 réunion(s), 0 intervention(s)" in again.output


def test_cli_refuses_a_bad_setting(app, runner, world):
    app.config[SETTING] = 0
    result = runner.invoke(args=["orfi", "purge", "--dry-run"])
    assert result.exit_code == 1
    assert f"Erreur : {SETTING} doit être un nombre entier de mois" in result.output
