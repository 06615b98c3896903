"""Aggregates shown on landing pages."""

from __future__ import annotations

import sqlalchemy as sa

from orfi.auth.models import Federation
from orfi.extensions import db
from orfi.nomenclature.models import Category, Family
from orfi.patrimoine.models import Organisation
from orfi.reports.models import Report


def count_reports_by_organisation_and_family(federation: Federation) -> list[sa.Row]:
    """Return (organisation, family code, count) rows for the federation's region.

    Counts only: no fact detail ever leaves the bailleur through this function.
    """
    query = (
        db.select(
            Organisation.name, Family.code.label("family"), sa.func.count().label("n")
        )
        .select_from(Report)
        .join(Organisation, Report.organisation_id == Organisation.id)
        .join(Category, Report.category_id == Category.id)
        .join(Family, Category.family_id == Family.id)
        .group_by(Organisation.name, Family.code)
        .order_by(Organisation.name, Family.code)
    )
    if federation.region:
        query = query.where(Organisation.region == federation.region)
    return list(db.session.execute(query))
