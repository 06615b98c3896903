"""Which facts a user may read, and the lists and filters of the pages and the API."""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from orfi.auth.models import Role, User
from orfi.database import utcnow
from orfi.errors import NotFound
from orfi.extensions import db
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Residence
from orfi.reports.models import Report, Status
from orfi.timezone import from_local


@dataclass
class ReportFilters:
    """Filters of the facts list (all optional)."""

    date_from: date | None = None
    date_to: date | None = None
    category_id: int | None = None
    residence_id: int | None = None
    status: Status | None = None
    page: int = 1
    extra: dict = field(default_factory=dict)


def visible_reports(user: User) -> sa.Select:
    """Return a query of the facts ``user`` may read.

    A gardien reads their own facts; readers the organisation's (a chef d'agence, the
    agence's); anyone else none.
    """
    query = db.select(Report)
    if user.organisation_id is None:
        return query.where(sa.false())
    query = query.where(Report.organisation_id == user.organisation_id)
    if user.role is Role.GARDIEN:
        return query.where(Report.author_id == user.id)
    if user.agence_id is not None:
        query = query.join(Residence, Report.residence_id == Residence.id).where(
            Residence.agence_id == user.agence_id
        )
    return query


def counted_reports(query: sa.Select) -> sa.Select:
    """Restrict a query of facts to those that count in statistics (not duplicates)."""
    return query.where(Report.duplicate_of_id.is_(None))


def filtered_reports(
    user: User, filters: ReportFilters, *, mine: bool = False
) -> sa.Select:
    """Return a query of the facts ``user`` may read that match ``filters``."""
    query = visible_reports(user)
    if mine:
        query = query.where(Report.author_id == user.id)
    if filters.date_from:
        query = query.where(
            Report.occurred_at
            >= from_local(datetime.combine(filters.date_from, datetime.min.time()))
        )
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), datetime.min.time())
        query = query.where(Report.occurred_at < from_local(end))
    if filters.category_id:
        query = query.where(Report.category_id == filters.category_id)
    if filters.residence_id:
        query = query.where(Report.residence_id == filters.residence_id)
    if filters.status:
        query = query.where(Report.status == filters.status)
    return query.order_by(Report.occurred_at.desc(), Report.id.desc())


def list_reports(
    user: User,
    filters: ReportFilters,
    *,
    mine: bool = False,
    per_page: int | None = None,
):
    """Return a page (Flask-SQLAlchemy pagination) of the facts ``user`` may read."""
    query = filtered_reports(user, filters, mine=mine).options(
        sa.orm.joinedload(Report.category).joinedload(Category.family),
        sa.orm.joinedload(Report.residence),
    )
    return db.paginate(
        query,
        page=filters.page,
        per_page=per_page or current_app.config["ORFI_PAGE_SIZE"],
        error_out=False,
        count=True,
    )


def get_visible_report(user: User, report_uuid: uuid_module.UUID) -> Report:
    """Return the fact if ``user`` may read it, else raise NotFound."""
    report = db.session.scalar(visible_reports(user).where(Report.uuid == report_uuid))
    if report is None:
        raise NotFound("Signalement introuvable.")
    return report


def find_visible_report_by_reference(user: User, reference: str) -> Report | None:
    """Return the fact with this reference if ``user`` may read it."""
    reference = (reference or "").strip().upper()
    if not reference:
        return None
    return db.session.scalar(visible_reports(user).where(Report.reference == reference))


def frequent_category_ids(user: User, *, limit: int = 5, days: int = 180) -> list[int]:
    """Return the ids of the categories ``user`` filed most in the last ``days``."""
    since = utcnow() - timedelta(days=days)
    rows = db.session.execute(
        db.select(Report.category_id, sa.func.count().label("n"))
        .where(Report.author_id == user.id, Report.created_at >= since)
        .group_by(Report.category_id)
        .order_by(sa.desc("n"), Report.category_id)
        .limit(limit)
    )
    return [row.category_id for row in rows]
