"""``orfi purge``: apply the retention rules (docs/privacy.md).

A fact past its retention keeps what statistics need (category, place, résidence,
time, status, suites, counts) and loses what may identify or describe a person: its
description, the comments of its history and the free text and positions its
corrections recorded there, the notes of its follow-up actions, the
reference of its complaint, its photos (rows and files) and its precise position,
moved to the centre of its H3 cell of resolution 9 (the cells maps and statistics
count in, ~0.1 km²). The fact is then recorded in ``report_anonymisation`` and never
looked at again: a second run does nothing more.

The activity log (meetings and interventions) keeps its notes, free text that may name
someone, for ``ORFI_RETENTION_MONTHS_ACTIVITY`` months from the day of the meeting or
intervention; the notes are then emptied and the rest of the entry (date, kind,
partners, subject, bailleurs, résidence) stays: the bilans count it.

Facts are read in batches by id; each batch is anonymised in one transaction, then the
files of its photos are deleted (a file whose deletion fails is logged; its row is
already gone, so no page serves it). Notes are emptied by batches of ids too. Entries
of the access log past their own retention are deleted, and each log touched gets one
summary line, counts only (two if one entry of the log cannot hold them all).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import h3
import sqlalchemy as sa
from flask import current_app

from orfi.activity.models import Meeting, PartnerIntervention
from orfi.database import utcnow
from orfi.extensions import db
from orfi.followup.models import Complaint, FollowupAction
from orfi.followup.services import EVENT_KIND as FOLLOWUP_EVENT_KIND
from orfi.nomenclature.models import Category, Family
from orfi.photos.models import Photo
from orfi.photos.services import discard_files
from orfi.privacy.models import ReportAnonymisation, RetentionRule
from orfi.privacy.retention import (
    FactRetention,
    RetentionPolicy,
    add_months,
    earliest_due_occurrence,
    is_due,
    kept_until,
)
from orfi.privacy.services import (
    DETAIL_MAX_LENGTH,
    Owner,
    count_entries_before,
    delete_entries_before,
    owner_of,
    write_purge_line,
)
from orfi.reports.models import LocationSource, Report, ReportEvent, Status
from orfi.timezone import from_local, to_local
from orfi.transaction import rollback, unit_of_work
from orfi.writers import writer_turn

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass
class OwnerCounts:
    """What a purge did in one log's perimeter (a bailleur, or a federation)."""

    facts: Counter[RetentionRule] = field(default_factory=Counter)
    open_facts: int = 0
    photos: int = 0
    meeting_notes: int = 0
    intervention_notes: int = 0
    log_entries: int = 0

    @property
    def anything(self) -> bool:
        """Whether there is something to report."""
        return bool(
            sum(self.facts.values())
            or self.photos
            or self.meeting_notes
            or self.intervention_notes
            or self.log_entries
        )


@dataclass
class PurgeResult:
    """The counts of one run (or of a dry run: what it would do)."""

    today: date
    dry_run: bool
    facts: Counter[RetentionRule] = field(default_factory=Counter)
    open_facts: int = 0
    photos: int = 0
    photo_files_failed: int = 0
    meeting_notes: int = 0
    intervention_notes: int = 0
    log_entries: int = 0
    by_owner: dict[Owner, OwnerCounts] = field(default_factory=dict)

    @property
    def fact_count(self) -> int:
        """Facts anonymised (or to be)."""
        return sum(self.facts.values())

    def owner(self, key: Owner) -> OwnerCounts:
        """Return the counts of one log, created empty on first use."""
        return self.by_owner.setdefault(key, OwnerCounts())


@dataclass(frozen=True)
class _Due:
    id: int
    organisation_id: int
    rule: RetentionRule
    still_open: bool
    new_position: tuple[float, float] | None


def _facts_query() -> sa.Select:
    """The columns the rules read, one row per fact (no entity loaded)."""
    last_action = (
        sa.select(sa.func.max(FollowupAction.done_on))
        .where(FollowupAction.report_id == Report.id)
        .scalar_subquery()
    )
    complaint_on = (
        sa.select(Complaint.filed_on)
        .where(Complaint.report_id == Report.id)
        .scalar_subquery()
    )
    return (
        sa.select(
            Report.id,
            Report.organisation_id,
            Report.duplicate_of_id,
            Report.status,
            Report.suite,
            Report.gravity,
            Report.occurred_at,
            Report.location_source,
            Report.h3_r9,
            Category.code.label("category_code"),
            Family.code.label("family_code"),
            last_action.label("last_action_on"),
            complaint_on.label("complaint_on"),
            sa.exists().where(Complaint.report_id == Report.id).label("has_complaint"),
            sa.exists()
            .where(ReportAnonymisation.report_id == Report.id)
            .label("anonymised"),
        )
        .join(Category, Category.id == Report.category_id)
        .join(Family, Family.id == Category.family_id)
    )


def fact_retention(row: sa.Row) -> FactRetention:
    """Turn a row of :func:`_facts_query` into what the rules read."""
    return FactRetention(
        category_code=row.category_code,
        family_code=row.family_code,
        gravity=row.gravity,
        status=row.status,
        suite=row.suite,
        has_complaint=bool(row.has_complaint),
        occurred_on=to_local(row.occurred_at).date(),
        last_action_on=row.last_action_on,
        complaint_on=row.complaint_on,
    )


def _cell_centre(row: sa.Row) -> tuple[float, float] | None:
    """The centre of the fact's r9 cell; None when its position is the résidence's
    (not a personal position) already."""
    if row.location_source is LocationSource.RESIDENCE:
        return None
    latitude, longitude = h3.cell_to_latlng(h3.int_to_str(row.h3_r9))
    return round(latitude, 6), round(longitude, 6)


def _due_in(rows: list[sa.Row], policy: RetentionPolicy, today: date) -> list[_Due]:
    """Return the facts of ``rows`` whose retention has ended.

    A duplicate is the same fact as its original: it goes only when its original goes
    too (or went already), whatever its own fields say.
    """
    original_ids = {row.duplicate_of_id for row in rows if row.duplicate_of_id}
    originals_gone = set()
    if original_ids:
        for row in db.session.execute(
            _facts_query().where(Report.id.in_(original_ids))
        ):
            if row.anonymised or is_due(fact_retention(row), policy, today):
                originals_gone.add(row.id)
    due = []
    for row in rows:
        rule, until = kept_until(fact_retention(row), policy)
        if today <= until:
            continue
        if row.duplicate_of_id and row.duplicate_of_id not in originals_gone:
            continue
        due.append(
            _Due(
                id=row.id,
                organisation_id=row.organisation_id,
                rule=rule,
                still_open=row.status is not Status.CLOS,
                new_position=_cell_centre(row),
            )
        )
    return due


def _photos_of(ids: list[int]) -> list[tuple[int, object]]:
    report, photo = Report.__table__, Photo.__table__
    return [
        (row.organisation_id, row.uuid)
        for row in db.session.execute(
            sa.select(report.c.organisation_id, photo.c.uuid)
            .join_from(photo, report, photo.c.report_id == report.c.id)
            .where(photo.c.report_id.in_(ids))
        )
    ]


def _anonymise(due: list[_Due], now: datetime) -> list[tuple[int, object]]:
    """Erase the free text, photos and precise position of ``due`` facts; return the
    photos deleted as (organisation id, uuid), for their files."""
    ids = [fact.id for fact in due]
    report = Report.__table__
    photo = Photo.__table__
    photos = _photos_of(ids)
    if photos:
        db.session.execute(photo.delete().where(photo.c.report_id.in_(ids)))
    db.session.execute(
        report.update()
        .where(report.c.id.in_(ids), report.c.description != "")
        .values(description="")
    )
    _blur_positions(due)
    _erase_follow_up_text(ids)
    db.session.execute(
        sa.insert(ReportAnonymisation.__table__),
        [
            {"report_id": fact.id, "anonymised_at": now, "rule": fact.rule}
            for fact in due
        ],
    )
    return photos


def _blur_positions(due: list[_Due]) -> None:
    """Move the facts with a precise position to their blurred one."""
    report = Report.__table__
    moves = [
        {"b_id": fact.id, "b_lat": fact.new_position[0], "b_lon": fact.new_position[1]}
        for fact in due
        if fact.new_position is not None
    ]
    if moves:
        db.session.execute(
            report.update()
            .where(report.c.id == sa.bindparam("b_id"))
            .values(
                latitude=sa.bindparam("b_lat"),
                longitude=sa.bindparam("b_lon"),
                gps_accuracy_m=None,
            ),
            moves,
        )


def _erase_follow_up_text(ids: list[int]) -> None:
    """Erase the free text of the facts' events, actions and complaints."""
    event = ReportEvent.__table__
    # Follow-up events carry a comment built from labels only ("Suivi : Signalement
    # aux forces de l'ordre (Police nationale)"); every other comment is free text.
    db.session.execute(
        event.update()
        .where(
            event.c.report_id.in_(ids),
            event.c.kind != FOLLOWUP_EVENT_KIND,
            event.c.comment != "",
        )
        .values(comment="")
    )
    _erase_history_values(ids)
    action = FollowupAction.__table__
    db.session.execute(
        action.update()
        .where(action.c.report_id.in_(ids), action.c.note != "")
        .values(note="")
    )
    complaint = Complaint.__table__
    db.session.execute(
        complaint.update()
        .where(complaint.c.report_id.in_(ids), complaint.c.reference != "")
        # The complaint's own date of change stays: this is not a user's edit.
        .values(reference="", updated_at=complaint.c.updated_at)
    )


#: Values of a fact's history that are free text or a precise position (corrections of
#: the description and of the place, edits of a follow-up note): erased with the rest;
#: the change itself stays (who, when, which field).
ERASED_CHANGES = frozenset({"description", "note", "position"})


def _erase_history_values(ids: list[int]) -> None:
    """Empty the free-text and position values the facts' history recorded."""
    event = ReportEvent.__table__
    updates = [
        {
            "e_id": row.id,
            "e_changes": {
                name: [None, None] if name in ERASED_CHANGES else change
                for name, change in row.changes.items()
            },
        }
        for row in db.session.execute(
            sa.select(event.c.id, event.c.changes).where(event.c.report_id.in_(ids))
        )
        if row.changes and ERASED_CHANGES & row.changes.keys()
    ]
    if updates:
        db.session.execute(
            event.update()
            .where(event.c.id == sa.bindparam("e_id"))
            .values(changes=sa.bindparam("e_changes")),
            updates,
        )


def _remove_files(photos: list[tuple[int, object]]) -> int:
    """Delete the files of deleted photos; return how many could not be deleted."""
    failed = 0
    for organisation_id, photo_uuid in photos:
        try:
            discard_files(organisation_id, [photo_uuid])
        except OSError:
            failed += 1
            logger.exception(
                "Fichier de la photo %s non supprimé (la ligne l'est)", photo_uuid
            )
    return failed


def access_log_cutoff(now: datetime, months: int) -> datetime:
    """Return the moment before which access log entries are deleted."""
    local = to_local(now)
    day = add_months(local.date(), -months)
    return from_local(datetime.combine(day, local.time().replace(tzinfo=None)))


def activity_cutoff(today: date, months: int) -> date:
    """Return the first day whose activity notes are still kept on ``today``.

    Notes of day ``d`` are kept while ``today <= add_months(d, months)``, the facts'
    arithmetic. Month ends make ``add_months`` merge days (31 March minus one month is
    28 February, plus one month 28 March), so the first kept day is found by walking
    forward from ``add_months(today, -months)``, which is never past it: one step at
    most.
    """
    day = add_months(today, -months)
    while add_months(day, months) < today:
        day += timedelta(days=1)
    return day


def summary_lines(
    counts: OwnerCounts, log_months: int, activity_months: int
) -> list[str]:
    """Return the French summary of a purge for one log (counts only): one line, or
    more when it would not fit in one entry of the log, so that no count is cut."""
    parts = []
    total = sum(counts.facts.values())
    if total:
        rules = ", ".join(
            f"{rule.label.lower()} {counts.facts[rule]}"
            for rule in RetentionRule
            if counts.facts[rule]
        )
        still_open = (
            f" ; dont {counts.open_facts} encore ouvert(s)" if counts.open_facts else ""
        )
        parts.append(f"{total} fait(s) anonymisé(s) ({rules}{still_open})")
    if counts.photos:
        parts.append(f"{counts.photos} photo(s) supprimée(s)")
    entries = [
        f"{n} {what}"
        for n, what in (
            (counts.meeting_notes, "réunion(s)"),
            (counts.intervention_notes, "intervention(s)"),
        )
        if n
    ]
    if entries:
        parts.append(
            f"notes de {' et '.join(entries)} de plus de {activity_months} mois "
            "effacées"
        )
    if counts.log_entries:
        parts.append(
            f"{counts.log_entries} entrée(s) du journal de plus de {log_months} mois "
            "supprimée(s)"
        )
    lines: list[list[str]] = [[]]
    for part in parts:
        if lines[-1] and len(_summary(lines[-1] + [part])) > DETAIL_MAX_LENGTH:
            lines.append([])
        lines[-1].append(part)
    return [_summary(line) for line in lines]


def _summary(parts: list[str]) -> str:
    return "Purge : " + ", ".join(parts) + "."


def _whole_months(config: Mapping[str, Any], key: str) -> int:
    """Return the setting ``key``, a number of months; ValueError unless it is ≥ 1
    (a zero would purge everything at once)."""
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{key} doit être un nombre entier de mois, au moins 1 "
            f"(valeur : {value!r})."
        )
    return value


def purge(
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> PurgeResult:
    """Apply the retention rules as of ``now``; with ``dry_run``, only count.

    Commits each batch itself (one unit of work per batch): call it from a command,
    not from a request. Raises ValueError for a wrong duration setting.
    """
    config = current_app.config
    policy = RetentionPolicy.from_config(config)
    log_months = _whole_months(config, "ORFI_ACCESS_LOG_RETENTION_MONTHS")
    activity_months = _whole_months(config, "ORFI_RETENTION_MONTHS_ACTIVITY")
    now = now or utcnow()
    result = PurgeResult(today=to_local(now).date(), dry_run=dry_run)
    _purge_facts(result, policy, now, batch_size)
    _purge_activity_notes(result, activity_months, batch_size)
    _purge_access_log(result, now, log_months, activity_months)
    logger.info(
        "Purge%s : %d fait(s), %d photo(s), notes de %d réunion(s) et %d "
        "intervention(s), %d entrée(s) du journal",
        " (simulation)" if dry_run else "",
        result.fact_count,
        result.photos,
        result.meeting_notes,
        result.intervention_notes,
        result.log_entries,
    )
    return result


@contextlib.contextmanager
def _transaction(dry_run: bool) -> Iterator[None]:
    """One transaction: a writer's (in its turn, see orfi.writers) or, for a dry
    run, a reader's, rolled back whatever happens."""
    if dry_run:
        try:
            yield
        finally:
            rollback()
        return
    with writer_turn(db.engine), unit_of_work():
        yield


def _purge_facts(
    result: PurgeResult, policy: RetentionPolicy, now: datetime, batch_size: int
) -> None:
    """Anonymise the facts past their retention, by batches of ids."""
    first_kept = earliest_due_occurrence(policy, result.today)
    candidates = _facts_query().where(
        Report.occurred_at < from_local(datetime.combine(first_kept, time.min)),
        ~sa.exists().where(ReportAnonymisation.report_id == Report.id),
    )
    last_id = 0
    while True:
        photos: list = []
        with _transaction(result.dry_run):
            rows = db.session.execute(
                candidates.where(Report.id > last_id)
                .order_by(Report.id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            last_id = rows[-1].id
            due = _due_in(rows, policy, result.today)
            if due and result.dry_run:
                photos = _photos_of([fact.id for fact in due])
            elif due:
                photos = _anonymise(due, now)
        if not result.dry_run:  # the rows are gone for good: now the files
            result.photo_files_failed += _remove_files(photos)
        _count(result, due, photos)


def _purge_activity_notes(result: PurgeResult, months: int, batch_size: int) -> None:
    """Empty the notes of the meetings and interventions older than ``months``."""
    cutoff = activity_cutoff(result.today, months)
    meetings = _empty_notes(
        Meeting.__table__, "held_on", cutoff, result.dry_run, batch_size
    )
    for owner, n in meetings.items():
        result.owner(owner).meeting_notes += n
        result.meeting_notes += n
    interventions = _empty_notes(
        PartnerIntervention.__table__, "done_on", cutoff, result.dry_run, batch_size
    )
    for owner, n in interventions.items():
        result.owner(owner).intervention_notes += n
        result.intervention_notes += n


def _empty_notes(
    table: sa.Table, day: str, cutoff: date, dry_run: bool, batch_size: int
) -> Counter[Owner]:
    """Empty the notes of ``table``'s rows dated before ``cutoff``, by batches of ids;
    return how many rows each log had (or, for a dry run, has) emptied."""
    due = sa.and_(table.c[day] < cutoff, table.c.notes != "")
    counts: Counter[Owner] = Counter()
    last_id = 0
    while True:
        with _transaction(dry_run):
            rows = db.session.execute(
                sa.select(table.c.id, table.c.organisation_id, table.c.federation_id)
                .where(due, table.c.id > last_id)
                .order_by(table.c.id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            last_id = rows[-1].id
            if not dry_run:
                # The conditions again: an entry given a new date since the read
                # keeps its notes, and is not counted.
                rows = db.session.execute(
                    table.update()
                    .where(table.c.id.in_([row.id for row in rows]), due)
                    .values(notes="")
                    .returning(table.c.organisation_id, table.c.federation_id)
                ).all()
        counts.update(owner_of(row.organisation_id, row.federation_id) for row in rows)
    return counts


def _purge_access_log(
    result: PurgeResult, now: datetime, log_months: int, activity_months: int
) -> None:
    """Delete the access log entries past their retention; write each log's summary."""
    cutoff = access_log_cutoff(now, log_months)
    with _transaction(result.dry_run):
        for owner, n in count_entries_before(cutoff).items():
            result.owner(owner).log_entries += n
            result.log_entries += n
        if result.dry_run:
            return
        if result.log_entries:
            delete_entries_before(cutoff)
        for owner, counts in sorted(result.by_owner.items()):
            if counts.anything:
                for line in summary_lines(counts, log_months, activity_months):
                    write_purge_line(owner, line, now)


def _count(result: PurgeResult, due: list[_Due], photos: list) -> None:
    for fact in due:
        counts = result.owner(("organisation", fact.organisation_id))
        counts.facts[fact.rule] += 1
        result.facts[fact.rule] += 1
        if fact.still_open:
            counts.open_facts += 1
            result.open_facts += 1
    for organisation_id, _uuid in photos:
        result.owner(("organisation", organisation_id)).photos += 1
        result.photos += 1
