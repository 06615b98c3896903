"""The activity log: meetings and interventions of a référent or a chargé de mission.

An organisation's entries belong to its référents and administrators; a federation's
to its chargés de mission. A federation works for the bailleurs of its region (every
bailleur for a national federation) and never sees a fact's detail, so it cannot link
facts to an intervention.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

import sqlalchemy as sa

from orfi import limits
from orfi.activity.models import (
    Meeting,
    MeetingKind,
    PartnerIntervention,
    intervention_report,
)
from orfi.auth.access import QUALIFIERS
from orfi.auth.models import Federation, Role, User
from orfi.errors import AccessDenied, NotFound, ValidationError
from orfi.extensions import db
from orfi.followup.models import ActionKind, FollowupAction, Partner
from orfi.patrimoine.models import Organisation, Residence
from orfi.reports.models import Report
from orfi.reports.queries import visible_reports
from orfi.timezone import now_local

logger = logging.getLogger(__name__)

SUBJECT_MAX_LENGTH = limits.ACTIVITY_SUBJECT_MAX_LENGTH
NOTES_MAX_LENGTH = limits.ACTIVITY_NOTES_MAX_LENGTH
#: How many facts one intervention may be linked to.
MAX_LINKED_REPORTS = 50


@dataclass(frozen=True)
class Owner:
    """Whose log an entry belongs to: an organisation or a federation."""

    organisation_id: int | None = None
    federation_id: int | None = None

    def filter(self, model) -> sa.ColumnElement[bool]:
        """Return the condition selecting this owner's rows of ``model``."""
        if self.organisation_id is not None:
            return model.organisation_id == self.organisation_id
        return model.federation_id == self.federation_id


def logs_activity(user: User) -> bool:
    """Whether ``user`` keeps an activity log (référent, admin, federation)."""
    return user.role in QUALIFIERS or user.role is Role.FEDERATION


def owner_of(user: User) -> Owner:
    """Return the log ``user`` reads: their organisation's or their federation's."""
    if user.role is Role.FEDERATION and user.federation_id is not None:
        return Owner(federation_id=user.federation_id)
    if user.organisation_id is not None:
        return Owner(organisation_id=user.organisation_id)
    raise AccessDenied("Ce compte n'a pas de journal d'activité.")


def region_organisations(federation: Federation) -> sa.Select:
    """Return a query of the bailleurs a federation works for (its region's)."""
    query = db.select(Organisation)
    if federation.region:
        query = query.where(Organisation.region == federation.region)
    return query


def activity_bailleurs(user: User) -> list[Organisation]:
    """Return the bailleurs ``user`` may log meetings and interventions for."""
    if user.role is Role.FEDERATION:
        if user.federation is None:
            return []
        return list(
            db.session.scalars(
                region_organisations(user.federation).order_by(Organisation.name)
            )
        )
    return [user.organisation] if user.organisation is not None else []


def activity_residence_query(user: User) -> sa.Select:
    """Return a query of the résidences ``user`` may name in a meeting or intervention.

    A query, not a list: a federation's region may hold tens of thousands of them,
    which the forms cap and the services check by id.
    """
    ids = [o.id for o in activity_bailleurs(user)]
    return (
        db.select(Residence)
        .where(Residence.organisation_id.in_(ids))
        .options(sa.orm.joinedload(Residence.organisation))
    )


#: A Meeting or a PartnerIntervention: both are entries of one owner's log.
_Entry = TypeVar("_Entry", Meeting, PartnerIntervention)
#: What the user submitted for such an entry (a MeetingInput, an InterventionInput).
_Input = TypeVar("_Input")


def _create_entry(
    user: User,
    model: type[_Entry],
    apply: Callable[[User, _Entry, _Input], object],
    data: _Input,
) -> _Entry:
    """Add a ``model`` entry to ``user``'s log, filled in from ``data`` by ``apply``.

    The entry joins the session only once ``apply`` has accepted ``data``, so that a
    ValidationError leaves nothing behind.
    """
    if not logs_activity(user):
        raise AccessDenied("Vous ne tenez pas de journal d'activité.")
    owner = owner_of(user)
    entry = model(
        organisation_id=owner.organisation_id,
        federation_id=owner.federation_id,
        created_by_id=user.id,
    )
    apply(user, entry, data)
    db.session.add(entry)
    db.session.flush()
    return entry


def _get_entry(user: User, model: type[_Entry], entry_id: int, missing: str) -> _Entry:
    """Return the entry of ``model`` with this id in ``user``'s log.

    An entry of another log is as unknown as a missing one: NotFound(``missing``).
    """
    entry = db.session.scalar(
        db.select(model).where(model.id == entry_id, owner_of(user).filter(model))
    )
    if entry is None:
        raise NotFound(missing)
    return entry


# --------------------------------------------------------------------------------------
# Meetings
# --------------------------------------------------------------------------------------


@dataclass
class MeetingInput:
    """A meeting as the user submits it, parsed."""

    held_on: date | None
    kind: MeetingKind | None
    subject: str = ""
    partners: list[Partner] = field(default_factory=list)
    bailleur_ids: list[int] = field(default_factory=list)
    residence_ids: list[int] = field(default_factory=list)
    notes: str = ""


def _check_common(
    data: MeetingInput | InterventionInput,
    day: date | None,
    *,
    date_field: str,
    missing: str,
) -> tuple[dict[str, list[str]], str, str]:
    """Check what a meeting and an intervention share: return the errors found so
    far, and the subject and notes stripped."""
    errors: dict[str, list[str]] = {}
    subject, notes = (data.subject or "").strip(), (data.notes or "").strip()
    if day is None:
        errors[date_field] = [missing]
    elif day > now_local().date():
        errors[date_field] = [
            "Le journal enregistre ce qui a eu lieu : pas de date future."
        ]
    if len(subject) > SUBJECT_MAX_LENGTH:
        errors["subject"] = [f"L'objet est limité à {SUBJECT_MAX_LENGTH} caractères."]
    if len(notes) > NOTES_MAX_LENGTH:
        errors["notes"] = [f"Les notes sont limitées à {NOTES_MAX_LENGTH} caractères."]
    return errors, subject, notes


def _pick_bailleurs(user: User, ids: Sequence[int], errors: dict) -> list[Organisation]:
    allowed = {o.id: o for o in activity_bailleurs(user)}
    if user.role is not Role.FEDERATION:
        return list(allowed.values())  # an organisation's log concerns itself
    unknown = [i for i in ids if i not in allowed]
    if unknown:
        errors["bailleurs"] = ["Ce bailleur n'est pas dans la région de la fédération."]
    return [allowed[i] for i in ids if i in allowed]


def _pick_residences(
    user: User, ids: Sequence[int], errors: dict, name: str
) -> list[Residence]:
    if not ids:
        return []
    wanted = {i for i in ids if 0 < i <= limits.ID_MAX}
    allowed = {
        r.id: r
        for r in db.session.scalars(
            activity_residence_query(user).where(Residence.id.in_(wanted))
        )
    }
    if any(i not in allowed for i in ids):
        errors[name] = ["Cette résidence n'appartient à aucun de vos bailleurs."]
    return [allowed[i] for i in ids if i in allowed]


def _apply_meeting(user: User, meeting: Meeting, data: MeetingInput) -> Meeting:
    errors, subject, notes = _check_common(
        data,
        data.held_on,
        date_field="held_on",
        missing="Indiquez la date de la réunion.",
    )
    if data.kind is None:
        errors["kind"] = ["Choisissez le type de réunion."]
    bailleurs = _pick_bailleurs(user, data.bailleur_ids, errors)
    residences = _pick_residences(user, data.residence_ids, errors, "residences")
    if errors:
        raise ValidationError(errors)
    # A résidence concerns its bailleur: add it when the user did not tick it.
    for residence in residences:
        if all(b.id != residence.organisation_id for b in bailleurs):
            bailleurs.append(residence.organisation)
    meeting.held_on = data.held_on
    meeting.kind = data.kind
    meeting.subject = subject
    meeting.partners = [p.value for p in dict.fromkeys(data.partners)]
    meeting.notes = notes
    meeting.bailleurs = bailleurs
    meeting.residences = residences
    db.session.flush()
    return meeting


def create_meeting(user: User, data: MeetingInput) -> Meeting:
    """Log a meeting in ``user``'s activity log."""
    meeting = _create_entry(user, Meeting, _apply_meeting, data)
    logger.info("Réunion %s enregistrée par l'utilisateur %s", meeting.id, user.id)
    return meeting


def update_meeting(user: User, meeting: Meeting, data: MeetingInput) -> Meeting:
    """Change a meeting of ``user``'s log."""
    return _apply_meeting(user, meeting, data)


def get_meeting(user: User, meeting_id: int) -> Meeting:
    """Return a meeting of ``user``'s log, else raise NotFound."""
    return _get_entry(user, Meeting, meeting_id, "Réunion introuvable.")


def delete_meeting(user: User, meeting: Meeting) -> None:
    """Remove a meeting from ``user``'s log."""
    db.session.delete(meeting)
    db.session.flush()
    logger.info("Réunion %s supprimée par l'utilisateur %s", meeting.id, user.id)


def list_meetings(user: User, date_from: date, date_to: date) -> list[Meeting]:
    """Return the meetings of ``user``'s log held in the period, latest first."""
    loads = (
        sa.orm.selectinload(Meeting.bailleurs),
        sa.orm.selectinload(Meeting.residences),
    )
    return _log_entries(user, Meeting.held_on, date_from, date_to, loads)


def _log_entries(user: User, day, date_from: date, date_to: date, loads: tuple):
    """Return the entries of ``user``'s log whose ``day`` (a column of the entry's
    model) is in the period, latest first, with ``loads`` loaded."""
    model = day.class_
    return list(
        db.session.scalars(
            db.select(model)
            .where(owner_of(user).filter(model), day.between(date_from, date_to))
            .options(*loads)
            .order_by(day.desc(), model.id.desc())
        )
    )


# --------------------------------------------------------------------------------------
# Interventions
# --------------------------------------------------------------------------------------


@dataclass
class InterventionInput:
    """An intervention as the user submits it, parsed."""

    done_on: date | None
    beneficiary_id: int | None
    partner: Partner | None
    subject: str = ""
    notes: str = ""
    residence_id: int | None = None
    report_references: list[str] = field(default_factory=list)


_REFERENCE_SPLIT = re.compile(r"[\s,;]+")


def parse_references(text: str) -> list[str]:
    """Split a list of fact references typed by the user (commas, spaces, lines)."""
    return [
        part.upper()
        for part in dict.fromkeys(_REFERENCE_SPLIT.split(text or ""))
        if part
    ]


def find_linkable_reports(
    user: User, references: Sequence[str], beneficiary_id: int | None
) -> tuple[list[Report], list[str]]:
    """Return the facts ``user`` may link among ``references``, and the refused ones.

    A fact is linkable when the user can read it and it belongs to the beneficiary.
    """
    if not references:
        return [], []
    found = {
        r.reference: r
        for r in db.session.scalars(
            visible_reports(user).where(Report.reference.in_(list(references)))
        )
        if r.organisation_id == beneficiary_id
    }
    return (
        [found[ref] for ref in references if ref in found],
        [ref for ref in references if ref not in found],
    )


def _apply_intervention(
    user: User, intervention: PartnerIntervention, data: InterventionInput
) -> PartnerIntervention:
    errors, subject, notes = _check_common(
        data,
        data.done_on,
        date_field="done_on",
        missing="Indiquez la date de l'intervention.",
    )
    allowed = {o.id: o for o in activity_bailleurs(user)}
    beneficiary_id = data.beneficiary_id
    if user.role is not Role.FEDERATION:
        beneficiary_id = user.organisation_id
    if beneficiary_id is None:
        errors["beneficiary"] = ["Choisissez le bailleur concerné."]
    elif beneficiary_id not in allowed:
        errors["beneficiary"] = [
            "Ce bailleur n'est pas dans la région de la fédération."
        ]
    if data.partner is None:
        errors["partner"] = ["Choisissez le service contacté."]
    residence = None
    if data.residence_id is not None:
        picked = _pick_residences(user, [data.residence_id], errors, "residence")
        residence = picked[0] if picked else None
        if residence is not None and residence.organisation_id != beneficiary_id:
            errors["residence"] = [
                "Cette résidence n'appartient pas au bailleur choisi."
            ]
    reports = _linked_reports(user, data.report_references, beneficiary_id, errors)
    if errors:
        raise ValidationError(errors)
    intervention.done_on = data.done_on
    intervention.beneficiary_id = beneficiary_id
    intervention.partner = data.partner
    intervention.subject = subject
    intervention.notes = notes
    intervention.residence = residence
    intervention.reports = reports
    db.session.flush()
    return intervention


def _linked_reports(
    user: User,
    references: list[str],
    beneficiary_id: int | None,
    errors: dict[str, list[str]],
) -> list[Report]:
    """Return the facts an intervention links to; refuse those the user may not link."""
    if not references:
        return []
    if user.role is Role.FEDERATION:
        errors["reports"] = [
            "Un compte fédération ne voit pas le détail des faits : il ne peut pas "
            "en lier."
        ]
        return []
    if len(references) > MAX_LINKED_REPORTS:
        errors["reports"] = [f"Au plus {MAX_LINKED_REPORTS} faits par intervention."]
        return []
    reports, refused = find_linkable_reports(user, references, beneficiary_id)
    if refused:
        errors["reports"] = [
            "Fait inconnu ou hors de votre périmètre : " + ", ".join(refused)
        ]
    return reports


def create_intervention(user: User, data: InterventionInput) -> PartnerIntervention:
    """Log an intervention made for a bailleur in ``user``'s activity log."""
    intervention = _create_entry(user, PartnerIntervention, _apply_intervention, data)
    logger.info(
        "Intervention %s enregistrée par l'utilisateur %s", intervention.id, user.id
    )
    return intervention


def update_intervention(
    user: User, intervention: PartnerIntervention, data: InterventionInput
) -> PartnerIntervention:
    """Change an intervention of ``user``'s log."""
    return _apply_intervention(user, intervention, data)


def get_intervention(user: User, intervention_id: int) -> PartnerIntervention:
    """Return an intervention of ``user``'s log, else raise NotFound."""
    return _get_entry(
        user, PartnerIntervention, intervention_id, "Intervention introuvable."
    )


def delete_intervention(user: User, intervention: PartnerIntervention) -> None:
    """Remove an intervention from ``user``'s log."""
    db.session.delete(intervention)
    db.session.flush()
    logger.info(
        "Intervention %s supprimée par l'utilisateur %s", intervention.id, user.id
    )


def list_interventions(
    user: User, date_from: date, date_to: date
) -> list[PartnerIntervention]:
    """Return the interventions of ``user``'s log in the period, latest first."""
    loads = (
        sa.orm.joinedload(PartnerIntervention.beneficiary),
        sa.orm.joinedload(PartnerIntervention.residence),
        sa.orm.selectinload(PartnerIntervention.reports),
    )
    return _log_entries(user, PartnerIntervention.done_on, date_from, date_to, loads)


# --------------------------------------------------------------------------------------
# Counts for the bilan
# --------------------------------------------------------------------------------------


def count_meetings_by_kind(
    owner: Owner, date_from: date, date_to: date
) -> list[tuple[MeetingKind, int]]:
    """Return every meeting kind with its count in the period (seed report's order)."""
    rows = db.session.execute(
        db.select(Meeting.kind, sa.func.count())
        .where(owner.filter(Meeting), Meeting.held_on.between(date_from, date_to))
        .group_by(Meeting.kind)
    )
    counts = dict(rows.all())
    return [(kind, counts.get(kind, 0)) for kind in MeetingKind]


#: Actions on a fact that count as interventions in the bilan: every step taken with
#: a partner, but not « Réponse reçue », the partner's answer to a step already counted.
FACT_ACTION_KINDS = tuple(k for k in ActionKind if k is not ActionKind.REPONSE_RECUE)
LOGGED, ON_FACTS = "journal", "suivi"


def _intervention_rows(owner: Owner, date_from: date, date_to: date) -> sa.Subquery:
    """Return the period's interventions of ``owner``: those logged by hand and, for
    an organisation, the actions with a partner on its facts, each contact once.

    A fact's action is left out when the owner's log holds an intervention linked to
    that fact, with the same partner, on the same day: the référent logged the same
    contact twice. A federation acts on no fact: its log is all it counts.
    Columns: ``beneficiary_id``, ``done_on``, ``partner`` and ``source`` (LOGGED or
    ON_FACTS).
    """
    logged = db.select(
        PartnerIntervention.beneficiary_id.label("beneficiary_id"),
        PartnerIntervention.done_on.label("done_on"),
        PartnerIntervention.partner.label("partner"),
        sa.literal(LOGGED).label("source"),
    ).where(
        owner.filter(PartnerIntervention),
        PartnerIntervention.done_on.between(date_from, date_to),
    )
    if owner.organisation_id is None:
        return logged.subquery()
    same_contact = (
        db.select(intervention_report.c.report_id)
        .join(
            PartnerIntervention,
            PartnerIntervention.id == intervention_report.c.intervention_id,
        )
        .where(
            owner.filter(PartnerIntervention),
            intervention_report.c.report_id == FollowupAction.report_id,
            PartnerIntervention.partner == FollowupAction.partner,
            PartnerIntervention.done_on == FollowupAction.done_on,
        )
    )
    on_facts = (
        db.select(
            Report.organisation_id,
            FollowupAction.done_on,
            FollowupAction.partner,
            sa.literal(ON_FACTS),
        )
        .join(Report, FollowupAction.report_id == Report.id)
        .where(
            Report.organisation_id == owner.organisation_id,
            FollowupAction.partner.is_not(None),
            FollowupAction.kind.in_(FACT_ACTION_KINDS),
            FollowupAction.done_on.between(date_from, date_to),
            ~same_contact.exists(),
        )
    )
    return sa.union_all(logged, on_facts).subquery()


def count_interventions_by_bailleur(
    owner: Owner, date_from: date, date_to: date
) -> list[tuple[str, int]]:
    """Return (bailleur name, count) of the period's interventions, most first."""
    rows = _intervention_rows(owner, date_from, date_to)
    n = sa.func.count().label("n")
    result = db.session.execute(
        db.select(Organisation.name, n)
        .join(rows, rows.c.beneficiary_id == Organisation.id)
        .group_by(Organisation.name)
        .order_by(n.desc(), Organisation.name)
    )
    return [(name, count) for name, count in result.all()]


def count_interventions_by_partner(
    owner: Owner, date_from: date, date_to: date
) -> list[tuple[Partner, int, int]]:
    """Return (partner, count, of which from facts' follow-up) of the period's
    interventions, most first."""
    rows = _intervention_rows(owner, date_from, date_to)
    n = sa.func.count().label("n")
    from_facts = sa.func.sum(sa.case((rows.c.source == ON_FACTS, 1), else_=0))
    result = db.session.execute(
        db.select(rows.c.partner, n, from_facts).group_by(rows.c.partner)
    )
    counts = [(Partner(partner), n, int(facts or 0)) for partner, n, facts in result]
    order = list(Partner)
    return sorted(counts, key=lambda row: (-row[1], order.index(row[0])))


def count_interventions_by_month(
    owner: Owner, date_from: date, date_to: date
) -> list[tuple[str, int, int]]:
    """Return (bailleur name, YYYYMM, count) of the period's interventions."""
    rows = _intervention_rows(owner, date_from, date_to)
    result = db.session.execute(
        db.select(Organisation.name, rows.c.done_on).join(
            rows, rows.c.beneficiary_id == Organisation.id
        )
    )
    # Grouping by month in Python keeps the query portable (SQLite and PostgreSQL);
    # a year's log holds a few hundred rows.
    counts: dict[tuple[str, int], int] = {}
    for name, day in result.all():
        key = (name, day.year * 100 + day.month)
        counts[key] = counts.get(key, 0) + 1
    return [(name, month, n) for (name, month), n in sorted(counts.items())]
