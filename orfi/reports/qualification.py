"""Qualifying facts: status, category and gravity, and marking duplicates."""

from __future__ import annotations

import logging

from orfi import limits
from orfi.auth.models import Role, User
from orfi.errors import AccessDenied, ValidationError
from orfi.extensions import db
from orfi.nomenclature.services import get_category
from orfi.reports.alerting import alert_changes, is_grave_fact
from orfi.reports.checks import (
    GRAVITY_RANGE,
    MAX_COMMENT,
    check_description_required,
    is_storable_text,
)
from orfi.reports.models import Report, ReportEvent, Status
from orfi.reports.nearby import NEARBY_WINDOW, NearbyFact, nearby_reports

logger = logging.getLogger(__name__)


def qualify_report(
    user: User,
    report: Report,
    *,
    category_id: int,
    status: Status,
    gravity: int | None,
    comment: str = "",
) -> ReportEvent | None:
    """Change a fact's category, status and gravity, keeping the change in its history.

    Returns the history event, or None when nothing changed.
    """
    errors: dict[str, list[str]] = {}
    category = get_category(report.organisation_id, category_id)
    if category is None:
        errors["category"] = ["Choisissez une catégorie de votre nomenclature."]
    elif not category.active and category.id != report.category_id:
        errors["category"] = ["Cette catégorie n'est plus utilisée."]
    elif category.id != report.category_id:
        check_description_required(
            category,
            report.description,
            lambda _name, message: errors.setdefault("category", []).append(
                f"{message} Corrigez d'abord la description du fait."
            ),
        )
    if gravity is not None and not limits.GRAVITY_MIN <= gravity <= limits.GRAVITY_MAX:
        errors["gravity"] = [GRAVITY_RANGE]
    if len(comment) > MAX_COMMENT:
        errors["comment"] = [f"Le commentaire est limité à {MAX_COMMENT} caractères."]
    if errors:
        raise ValidationError(errors)

    changes: dict[str, list] = {}
    was_grave = is_grave_fact(report)
    if category.id != report.category_id:
        changes["category"] = [report.category.code, category.code]
        report.category = category
    if status is not report.status:
        changes["status"] = [report.status.value, status.value]
        report.status = status
    if gravity != report.gravity:
        changes["gravity"] = [report.gravity, gravity]
        report.gravity = gravity
    if not changes and not comment:
        return None
    event = ReportEvent(
        report_id=report.id,
        user_id=user.id,
        kind="updated",
        changes=changes,
        comment=comment,
    )
    db.session.add(event)
    db.session.flush()
    alert_changes(
        report,
        actor_id=user.id,
        status_changed="status" in changes,
        was_grave=was_grave,
    )
    return event


def list_duplicates(report: Report) -> list[Report]:
    """Return the facts marked as duplicates of ``report``, oldest first."""
    return list(
        db.session.scalars(
            db.select(Report)
            .where(Report.duplicate_of_id == report.id)
            .order_by(Report.occurred_at, Report.id)
        )
    )


def duplicate_candidates(user: User, report: Report) -> list[NearbyFact]:
    """Return the facts that may be the same as ``report``: same category, close in
    space (50 m) and in time (24 h before or after)."""
    return nearby_reports(
        user,
        category_id=report.category_id,
        latitude=report.latitude,
        longitude=report.longitude,
        since=report.occurred_at - NEARBY_WINDOW,
        until=report.occurred_at + NEARBY_WINDOW,
        exclude_id=report.id,
    )


def _require_qualifier(user: User) -> None:
    if user.role not in (Role.REFERENT, Role.ADMIN):
        raise AccessDenied("Seul un référent sûreté marque les doublons.")


def mark_duplicate(
    user: User, report: Report, original: Report | None, *, comment: str = ""
) -> ReportEvent:
    """Mark ``report`` as a duplicate of ``original``; it leaves the statistics.

    If ``original`` is itself a duplicate, ``report`` points to the fact it duplicates,
    and facts that duplicated ``report`` follow it, so that every chain has one level.
    """
    _require_qualifier(user)
    if original is None:
        raise ValidationError(
            {"original": ["Indiquez la référence du fait d'origine."]}
        )
    if original.organisation_id != report.organisation_id:
        raise ValidationError(
            {"original": ["Ce fait n'appartient pas au même bailleur."]}
        )
    while original.duplicate_of_id is not None:
        original = db.session.get(Report, original.duplicate_of_id)
    if original.id == report.id:
        raise ValidationError(
            {"original": ["Un fait ne peut pas être son propre doublon."]}
        )
    if len(comment) > MAX_COMMENT or not is_storable_text(comment):
        raise ValidationError(
            {"comment": [f"Commentaire invalide ({MAX_COMMENT} caractères au plus)."]}
        )
    before = report.duplicate_of.reference if report.duplicate_of_id else None
    report.duplicate_of = original
    event = ReportEvent(
        report_id=report.id,
        user_id=user.id,
        kind="updated",
        changes={"duplicate_of": [before, original.reference]},
        comment=comment.strip(),
    )
    db.session.add(event)
    for child in list_duplicates(report):
        child.duplicate_of = original
        db.session.add(
            ReportEvent(
                report_id=child.id,
                user_id=user.id,
                kind="updated",
                changes={"duplicate_of": [report.reference, original.reference]},
            )
        )
    db.session.flush()
    logger.info(
        "Fait %s marqué doublon de %s par %s",
        report.reference,
        original.reference,
        user.id,
    )
    return event


def unmark_duplicate(
    user: User, report: Report, *, comment: str = ""
) -> ReportEvent | None:
    """Make ``report`` count again (it is not a duplicate); None if it was not one."""
    _require_qualifier(user)
    if report.duplicate_of_id is None:
        return None
    if len(comment) > MAX_COMMENT or not is_storable_text(comment):
        raise ValidationError(
            {"comment": [f"Commentaire invalide ({MAX_COMMENT} caractères au plus)."]}
        )
    before = report.duplicate_of.reference
    report.duplicate_of = None
    event = ReportEvent(
        report_id=report.id,
        user_id=user.id,
        kind="updated",
        changes={"duplicate_of": [before, None]},
        comment=comment.strip(),
    )
    db.session.add(event)
    db.session.flush()
    return event
