"""Complements added to a fact by another filer, instead of filing it twice."""

from __future__ import annotations

import logging
import uuid as uuid_module

from sqlalchemy.exc import IntegrityError

from orfi.auth.models import User
from orfi.errors import AccessDenied, NotFound, ValidationError
from orfi.extensions import db
from orfi.reports.checks import MAX_COMMENT, is_storable_text, may_file_for
from orfi.reports.creation import find_report_by_uuid
from orfi.reports.models import Report, ReportEvent
from orfi.reports.queries import visible_reports

logger = logging.getLogger(__name__)


def may_add_to(user: User, report: Report) -> bool:
    """Return whether ``user`` may add a complement or photos to ``report``."""
    if user.organisation_id != report.organisation_id:
        return False
    if report.author_id == user.id:
        return True
    return db.session.scalar(
        visible_reports(user).where(Report.id == report.id)
    ) is not None or may_file_for(user, report.residence)


def get_report_for_addition(user: User, report_uuid: uuid_module.UUID) -> Report:
    """Return the fact ``user`` may add to, else raise NotFound."""
    report = find_report_by_uuid(report_uuid)
    if report is None or not may_add_to(user, report):
        raise NotFound("Signalement introuvable.")
    return report


def add_to_report(
    user: User,
    report: Report,
    *,
    comment: str = "",
    client_uuid: uuid_module.UUID | None = None,
) -> tuple[ReportEvent, bool]:
    """Add another filer's complement to a fact; return it and whether it is new.

    This is what "Déjà signalé ?" offers instead of filing the same fact twice. Like a
    fact, an addition sent again with the same ``client_uuid`` is recorded once.
    """
    if not may_add_to(user, report):
        raise AccessDenied("Vous ne pouvez pas compléter ce fait.")
    if client_uuid is not None and (
        existing := _find_event_by_client_uuid(client_uuid)
    ):
        return _resent_event(user, report, existing), False
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationError(
            {"comment": [f"Le complément est limité à {MAX_COMMENT} caractères."]}
        )
    if not is_storable_text(comment):
        raise ValidationError(
            {"comment": ["Le complément contient des caractères invalides."]}
        )
    event = ReportEvent(
        report_id=report.id,
        user_id=user.id,
        kind="addition",
        comment=comment,
        client_uuid=client_uuid or uuid_module.uuid4(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(event)
    except IntegrityError:
        existing = _find_event_by_client_uuid(client_uuid) if client_uuid else None
        if existing is None:
            raise
        return _resent_event(user, report, existing), False
    logger.info("Complément ajouté au fait %s par %s", report.reference, user.id)
    return event, True


def _find_event_by_client_uuid(client_uuid: uuid_module.UUID) -> ReportEvent | None:
    return db.session.scalar(
        db.select(ReportEvent).where(ReportEvent.client_uuid == client_uuid)
    )


def _resent_event(user: User, report: Report, event: ReportEvent) -> ReportEvent:
    if event.user_id != user.id or event.report_id != report.id:
        raise ValidationError({"uuid": ["Cet identifiant est déjà utilisé."]})
    return event
