"""Following a fact up with partners: actions, complaint details, overdue facts."""

from __future__ import annotations

import logging
import uuid as uuid_module
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import sqlalchemy as sa

from orfi import limits
from orfi.auth.access import QUALIFIERS, READERS
from orfi.auth.models import User
from orfi.database import utcnow
from orfi.errors import AccessDenied, NotFound, ValidationError
from orfi.extensions import db
from orfi.followup.models import (
    TRANSMITTING_KINDS,
    ActionKind,
    Complaint,
    ComplaintFiler,
    ComplaintKind,
    FollowupAction,
    Partner,
)
from orfi.notifications.models import EventKind
from orfi.reports.alerting import alert_changes
from orfi.reports.models import STAFF_VICTIMS, Report, ReportEvent, Status, Suite
from orfi.reports.queries import (
    OVERDUE_MIN_GRAVITY,  # noqa: F401 (the follow-up's name for it)
    counted_reports,
    overdue_condition,
    visible_reports,
)
from orfi.timezone import from_local, now_local, to_local

logger = logging.getLogger(__name__)

NOTE_MAX_LENGTH = limits.FOLLOWUP_NOTE_MAX_LENGTH
REFERENCE_MAX_LENGTH = limits.FOLLOWUP_REFERENCE_MAX_LENGTH
#: The ``ReportEvent.kind`` of the changes made by the follow-up.
EVENT_KIND = "followup"


@dataclass
class ActionInput:
    """An action the user submits, already parsed into Python types."""

    done_on: date | None
    kind: ActionKind | None
    partner: Partner | None = None
    note: str = ""
    close: bool = False


@dataclass
class ComplaintInput:
    """The complaint details the user submits, already parsed."""

    kind: ComplaintKind | None
    filed_by: ComplaintFiler | None
    filed_on: date | None = None
    reference: str = ""
    sworn_agent_pv: bool = False
    mission_service_public: bool = False


def reads_followup(user: User, report: Report) -> bool:
    """Whether ``user`` may read the follow-up of ``report`` (a fact they can see)."""
    return user.role in READERS and user.organisation_id == report.organisation_id


def edits_followup(user: User, report: Report) -> bool:
    """Whether ``user`` may add actions and complaint details to ``report``."""
    return user.role in QUALIFIERS and user.organisation_id == report.organisation_id


def list_actions(report: Report) -> list[FollowupAction]:
    """Return the fact's actions, most recent first."""
    return list(
        db.session.scalars(
            db.select(FollowupAction)
            .where(FollowupAction.report_id == report.id)
            .options(sa.orm.joinedload(FollowupAction.author))
            .order_by(FollowupAction.done_on.desc(), FollowupAction.id.desc())
        )
    )


def get_complaint(report: Report) -> Complaint | None:
    """Return the fact's complaint details, or None."""
    return db.session.get(Complaint, report.id)


def append_report_event(
    user: User, report: Report, changes: dict[str, list], comment: str
) -> ReportEvent:
    """Add a follow-up event to the fact's history (who, when, what changed)."""
    event = ReportEvent(
        report_id=report.id,
        user_id=user.id,
        kind=EVENT_KIND,
        changes=changes,
        comment=comment[:500],
    )
    db.session.add(event)
    db.session.flush()
    return event


def _check_day(day: date | None, report: Report, name: str, errors: dict) -> None:
    if day is None:
        return
    if day > now_local().date():
        errors.setdefault(name, []).append("La date ne peut pas être dans le futur.")
    elif day < to_local(report.occurred_at).date():
        errors.setdefault(name, []).append("La date précède celle du fait.")


def check_action_input(report: Report, data: ActionInput) -> dict[str, list[str]]:
    """Return the errors of an action by field (empty: valid)."""
    errors: dict[str, list[str]] = {}
    if data.done_on is None:
        errors["done_on"] = ["Indiquez la date de l'action."]
    _check_day(data.done_on, report, "done_on", errors)
    if data.kind is None:
        errors["kind"] = ["Choisissez le type d'action."]
    if data.partner is None and data.kind not in (None, ActionKind.AUTRE):
        errors["partner"] = ["Choisissez le partenaire concerné."]
    if len(data.note or "") > NOTE_MAX_LENGTH:
        errors["note"] = [f"La note est limitée à {NOTE_MAX_LENGTH} caractères."]
    if data.close and data.kind is not ActionKind.REPONSE_RECUE:
        errors["close"] = ["Seule une réponse reçue peut clore le fait."]
    return errors


def next_status(report: Report, data: ActionInput) -> Status:
    """Return the status the fact takes with this action.

    The first action that hands the fact over to a partner makes a nouveau or qualifié
    fact transmis; a response received closes it when the user says so. A closed fact
    stays closed: the action is recorded for the record.
    """
    if data.close:
        return Status.CLOS
    if report.status in (Status.NOUVEAU, Status.QUALIFIE) and (
        data.kind in TRANSMITTING_KINDS
    ):
        return Status.TRANSMIS
    return report.status


def add_action(user: User, report: Report, data: ActionInput) -> FollowupAction:
    """Record an action on the fact, move its status and write its history."""
    if not edits_followup(user, report):
        raise AccessDenied("Vous ne pouvez pas suivre ce fait.")
    errors = check_action_input(report, data)
    if errors:
        raise ValidationError(errors)
    action = FollowupAction(
        report_id=report.id,
        done_on=data.done_on,
        kind=data.kind,
        partner=data.partner,
        note=(data.note or "").strip(),
        author_id=user.id,
    )
    db.session.add(action)
    changes: dict[str, list] = {}
    status = next_status(report, data)
    if status is not report.status:
        changes["status"] = [report.status.value, status.value]
        report.status = status
    partner = f" ({data.partner.label})" if data.partner else ""
    append_report_event(user, report, changes, f"Suivi : {data.kind.label}{partner}")
    alert_changes(
        report,
        actor_id=user.id,
        status_changed="status" in changes,
        kind=EventKind.ACTION,
        detail=f"{data.kind.label}{partner}",
    )
    logger.info(
        "Action de suivi sur %s par l'utilisateur %s", report.reference, user.id
    )
    return action


def check_complaint_input(report: Report, data: ComplaintInput) -> dict[str, list[str]]:
    """Return the errors of complaint details by field (empty: valid)."""
    errors: dict[str, list[str]] = {}
    if data.kind is None:
        errors["kind"] = ["Choisissez main courante ou plainte."]
    if data.filed_by is None:
        errors["filed_by"] = ["Indiquez qui a fait la démarche."]
    _check_day(data.filed_on, report, "filed_on", errors)
    if len(data.reference or "") > REFERENCE_MAX_LENGTH:
        errors["reference"] = [
            f"La référence est limitée à {REFERENCE_MAX_LENGTH} caractères."
        ]
    if data.mission_service_public and report.victime not in STAFF_VICTIMS:
        errors["mission_service_public"] = [
            "La mission de service public concerne un membre du personnel victime."
        ]
    return errors


def _suite_of(data: ComplaintInput) -> Suite:
    if data.kind is ComplaintKind.MAIN_COURANTE:
        return Suite.MAIN_COURANTE
    if data.filed_by is ComplaintFiler.VICTIME:
        return Suite.PLAINTE_VICTIME
    return Suite.PLAINTE_BAILLEUR


def save_complaint(user: User, report: Report, data: ComplaintInput) -> Complaint:
    """Create or replace the fact's complaint details; keep the fact's suites in step.

    The fact's ``suite`` follows the complaint (main courante, plainte by the bailleur
    or by the victim) so that the complaint rate counts it; the mission de service
    public flag is the fact's own. Both changes go into the fact's history.
    """
    if not edits_followup(user, report):
        raise AccessDenied("Vous ne pouvez pas suivre ce fait.")
    errors = check_complaint_input(report, data)
    if errors:
        raise ValidationError(errors)
    complaint = get_complaint(report)
    if complaint is None:
        complaint = Complaint(report_id=report.id)
        db.session.add(complaint)
    complaint.kind = data.kind
    complaint.filed_by = data.filed_by
    complaint.filed_on = data.filed_on
    complaint.reference = (data.reference or "").strip()
    complaint.sworn_agent_pv = data.sworn_agent_pv
    complaint.updated_by_id = user.id
    complaint.updated_at = utcnow()

    changes: dict[str, list] = {}
    suite = _suite_of(data)
    if suite is not report.suite:
        changes["suite"] = [report.suite.value if report.suite else None, suite.value]
        report.suite = suite
    msp = bool(data.mission_service_public)
    if report.victime in STAFF_VICTIMS and msp != report.mission_service_public:
        changes["mission_service_public"] = [report.mission_service_public, msp]
        report.mission_service_public = msp
    comment = f"Dépôt : {data.kind.label} ({data.filed_by.label.lower()})"
    if data.sworn_agent_pv:
        comment += ", procès-verbal d'un agent assermenté"
    append_report_event(user, report, changes, comment)
    alert_changes(
        report,
        actor_id=user.id,
        status_changed=False,
        kind=EventKind.COMPLAINT,
        detail=data.kind.label,
    )
    return complaint


def overdue_reports(user: User, days: int) -> sa.Select:
    """Return a query of the facts of gravity ≥ 3 still without action after ``days``.

    Closed facts and duplicates are left out; the oldest come first.
    """
    return (
        overdue_only(counted_reports(visible_reports(user)), days)
        .options(
            sa.orm.joinedload(Report.category), sa.orm.joinedload(Report.residence)
        )
        .order_by(Report.created_at, Report.id)
    )


def overdue_only(query: sa.Select, days: int) -> sa.Select:
    """Restrict a query of facts to those left without follow-up ``days`` after
    filing (the « Suivi » page and the alerts' scan): :func:`overdue_condition`, the
    one definition the work queue's « en retard » uses too."""
    return query.where(overdue_condition(days))


def list_overdue_reports(user: User, days: int, *, page: int, per_page: int):
    """Return a page (Flask-SQLAlchemy pagination) of the overdue facts."""
    return db.paginate(
        overdue_reports(user, days),
        page=page,
        per_page=per_page,
        error_out=False,
        count=True,
    )


def days_since(moment: datetime) -> int:
    """Return the number of whole days since ``moment`` (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (utcnow() - moment).days


def find_action_report_uuid(action_id: int) -> uuid_module.UUID:
    """Return the UUID of the fact of action ``action_id``, or raise NotFound (the
    caller then checks that the user may see that fact)."""
    found = db.session.scalar(
        sa.select(Report.uuid)
        .join(FollowupAction, FollowupAction.report_id == Report.id)
        .where(FollowupAction.id == action_id)
    )
    if found is None:
        raise NotFound("Action de suivi introuvable.")
    return found


def get_action(report: Report, action_id: int) -> FollowupAction:
    """Return the action ``action_id`` of ``report``, or raise NotFound."""
    action = db.session.get(FollowupAction, action_id)
    if action is None or action.report_id != report.id:
        raise NotFound("Action de suivi introuvable.")
    return action


def may_change_action(user: User, action: FollowupAction, report: Report) -> bool:
    """Whether ``user`` may correct or delete ``action``: its author or a référent
    (or an administrator) of the fact's bailleur."""
    if user.organisation_id != report.organisation_id:
        return False
    return user.role in QUALIFIERS or (
        user.id == action.author_id and user.role in READERS
    )


def _require_action_changer(user: User, action: FollowupAction, report: Report):
    if not may_change_action(user, action, report):
        raise AccessDenied("Seuls l'auteur de l'action et un référent la modifient.")


def _action_values(action: FollowupAction) -> dict[str, object]:
    """An action's fields as its history records them (display-ready)."""
    return {
        "done_on": action.done_on.strftime("%d/%m/%Y") if action.done_on else None,
        "kind": action.kind.label if action.kind else None,
        "partner": action.partner.label if action.partner else None,
        "note": action.note or None,
    }


def _action_title(action: FollowupAction) -> str:
    partner = f" ({action.partner.label})" if action.partner else ""
    return f"{action.kind.label}{partner} du {action.done_on:%d/%m/%Y}"


def update_action(
    user: User, report: Report, action: FollowupAction, data: ActionInput
) -> FollowupAction | None:
    """Correct an action (date, kind, partner, note); the fact's history keeps each
    change. The fact's status does not move. Return None when nothing changed."""
    _require_action_changer(user, action, report)
    errors = check_action_input(report, ActionInput(**{**vars(data), "close": False}))
    if errors:
        raise ValidationError(errors)
    before = _action_values(action)
    action.done_on = data.done_on
    action.kind = data.kind
    action.partner = data.partner
    action.note = (data.note or "").strip()
    after = _action_values(action)
    changes = {
        name: [before[name], after[name]]
        for name in before
        if before[name] != after[name]
    }
    if not changes:
        return None
    append_report_event(
        user, report, changes, f"Action de suivi corrigée : {_action_title(action)}"
    )
    logger.info("Action de suivi %s corrigée par %s", action.id, user.id)
    return action


def delete_action(user: User, report: Report, action: FollowupAction) -> None:
    """Delete an action; the fact's history keeps what it was and who deleted it.
    The fact's status does not move back (a référent changes it if needed)."""
    _require_action_changer(user, action, report)
    before = _action_values(action)
    changes = {name: [value, None] for name, value in before.items() if value}
    title = _action_title(action)
    db.session.delete(action)
    append_report_event(user, report, changes, f"Action de suivi supprimée : {title}")
    logger.info("Action de suivi %s supprimée par %s", action.id, user.id)


@dataclass
class ResidenceFollowup:
    """What was done about a résidence's facts since a day: actions and complaints
    by kind, and the latest actions (no note: it may name people)."""

    actions: list[tuple[str, int]]
    complaints: list[tuple[str, int]]
    latest: list[FollowupAction]


def residence_followup(
    user: User, residence_id: int, since: date, latest: int = 5
) -> ResidenceFollowup:
    """Actions done since ``since`` and complaints filed about the facts of one
    résidence that ``user`` may read (their facts since ``since``)."""
    facts = (
        visible_reports(user)
        .where(Report.residence_id == residence_id)
        .with_only_columns(Report.id)
    )
    action_rows = db.session.execute(
        db.select(FollowupAction.kind, sa.func.count())
        .where(FollowupAction.report_id.in_(facts), FollowupAction.done_on >= since)
        .group_by(FollowupAction.kind)
    ).all()
    complaint_rows = db.session.execute(
        db.select(Complaint.kind, sa.func.count())
        .join(Report, Report.id == Complaint.report_id)
        .where(
            Complaint.report_id.in_(facts),
            Report.occurred_at >= from_local(datetime.combine(since, time.min)),
        )
        .group_by(Complaint.kind)
    ).all()
    recent = db.session.scalars(
        db.select(FollowupAction)
        .where(FollowupAction.report_id.in_(facts), FollowupAction.done_on >= since)
        .options(sa.orm.joinedload(FollowupAction.report))
        .order_by(FollowupAction.done_on.desc(), FollowupAction.id.desc())
        .limit(latest)
    )
    counts = dict(action_rows)
    filed = dict(complaint_rows)
    return ResidenceFollowup(
        actions=[(kind.label, counts[kind]) for kind in ActionKind if kind in counts],
        complaints=[
            (kind.label, filed[kind]) for kind in ComplaintKind if kind in filed
        ],
        latest=list(recent),
    )
