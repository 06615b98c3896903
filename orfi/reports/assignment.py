"""Taking a fact in hand: « pris en charge par » and the day of its next step."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import sqlalchemy as sa

from orfi.auth.access import QUALIFIERS
from orfi.auth.models import User
from orfi.errors import AccessDenied, ValidationError
from orfi.extensions import db
from orfi.reports.models import Report, ReportEvent
from orfi.timezone import now_local

logger = logging.getLogger(__name__)

#: How far ahead a next step may be set (a typing mistake beyond).
NEXT_STEP_MAX_DAYS = 366
#: The ``ReportEvent.kind`` of an assignment.
EVENT_KIND = "updated"


def list_assignees(organisation_id: int) -> list[User]:
    """Return the active users of a bailleur who may take a fact (its référents and
    administrators), by name."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.organisation_id == organisation_id,
                User.role.in_(QUALIFIERS),
                User.active.is_(True),
            )
            .order_by(User.name, User.id)
        )
    )


def _check(
    report: Report, assignee: User | None, assignee_id, next_step_on, today: date
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if assignee_id is not None and (
        assignee is None
        or assignee.organisation_id != report.organisation_id
        or assignee.role not in QUALIFIERS
        or not assignee.active
    ):
        errors["assignee"] = ["Choisissez un référent de votre organisme."]
    if next_step_on is not None and next_step_on != report.next_step_on:
        if next_step_on < today:
            errors["next_step_on"] = ["La prochaine étape ne peut pas être passée."]
        elif next_step_on > today + timedelta(days=NEXT_STEP_MAX_DAYS):
            errors["next_step_on"] = ["La prochaine étape est à un an au plus."]
    return errors


def _day(value: date | None) -> str | None:
    return value.strftime("%d/%m/%Y") if value else None


def assign_report(
    user: User,
    report: Report,
    *,
    assignee_id: int | None,
    next_step_on: date | None,
    comment: str = "",
) -> ReportEvent | None:
    """Set who took the fact and the day of its next step; the change joins the
    fact's history. Return None when nothing changed."""
    if user.role not in QUALIFIERS or user.organisation_id != report.organisation_id:
        raise AccessDenied("Seul un référent de l'organisme prend un fait en charge.")
    assignee = db.session.get(User, assignee_id) if assignee_id is not None else None
    errors = _check(report, assignee, assignee_id, next_step_on, now_local().date())
    if errors:
        raise ValidationError(errors)
    changes: dict[str, list] = {}
    if assignee_id != report.assignee_id:
        before = report.assignee.name if report.assignee else None
        changes["assignee"] = [before, assignee.name if assignee else None]
        report.assignee_id = assignee_id
        report.assignee = assignee
    if next_step_on != report.next_step_on:
        changes["next_step_on"] = [_day(report.next_step_on), _day(next_step_on)]
        report.next_step_on = next_step_on
    if not changes:
        return None
    event = ReportEvent(
        report_id=report.id,
        user_id=user.id,
        kind=EVENT_KIND,
        changes=changes,
        comment=(comment or "").strip()[:500],
    )
    db.session.add(event)
    db.session.flush()
    logger.info("Prise en charge de %s modifiée par %s", report.reference, user.id)
    return event
