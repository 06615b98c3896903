"""A bailleur's own facts on this instance, as the federation sees them.

Native rows are built on the fly by the very function that writes the export file,
so that a federation sees the same figures whichever way a bailleur reaches it.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa

from orfi.extensions import db
from orfi.federation.models import FederationImport
from orfi.federation.periods import Period
from orfi.federation.rollup import Area, Cell, StatRow, roll_up
from orfi.nomenclature.models import Category, Family
from orfi.patrimoine.models import Residence
from orfi.reports.models import Report
from orfi.reports.queries import counted_reports
from orfi.stats import secrecy

logger = logging.getLogger(__name__)

_INSEE = re.compile(r"^([0-9]{5}|2[AB][0-9]{3})$")
_QPV = re.compile(r"^Q[A-Z][0-9A-Z]{4,10}$")
_GENERATION = re.compile(r"^[0-9]{4}$")


def min_count() -> int:
    """Return the threshold k of the small-count rule on this instance."""
    return secrecy.min_count()


def _area(commune_insee, qpv_code, qpv_generation) -> Area:
    """Return a normalised sector: invalid codes become unknown (never exported)."""
    commune = (commune_insee or "").strip().upper()
    if not _INSEE.match(commune):
        return Area(None)
    qpv = (qpv_code or "").strip().upper()
    if not _QPV.match(qpv):
        return Area(commune)
    generation = (qpv_generation or "").strip()
    return Area(commune, qpv, generation if _GENERATION.match(generation) else None)


def native_rows(
    organisation_ids: list[int], period: Period, k: int
) -> dict[int, list[StatRow]]:
    """Return the published rows of each organisation for ``period`` (rule ``k``).

    One GROUP BY over the facts on integer columns only (organisation, month,
    résidence, category: the ``ix_report_federation`` covering index, no join), then
    résidences and categories are mapped to sectors and codes in Python: the facts
    never leave the database, only at most résidences × categories × months counts.
    """
    if not organisation_ids:
        return {}
    residences, logements, names = _sectors(organisation_ids)
    categories = {
        cat_id: (family, code)
        for cat_id, family, code in db.session.execute(
            sa.select(Category.id, Family.code, Category.code).join(
                Family, Category.family_id == Family.id
            )
        )
    }

    cells: dict[int, dict[Cell, int]] = defaultdict(lambda: defaultdict(int))
    query = counted_reports(
        sa.select(
            Report.organisation_id,
            Report.occurred_month,
            Report.residence_id,
            Report.category_id,
            sa.func.count(),
        )
        .where(
            Report.organisation_id.in_(organisation_ids),
            Report.occurred_month.between(period.start, period.end),
        )
        .group_by(
            Report.organisation_id,
            Report.occurred_month,
            Report.residence_id,
            Report.category_id,
        )
    )
    for org_id, month, res_id, cat_id, n in db.session.execute(query):
        family, code = categories[cat_id]
        cells[org_id][Cell(residences[res_id], month, family, code)] += n

    return {
        org_id: roll_up(cells[org_id], logements[org_id], names[org_id], k)
        for org_id in organisation_ids
    }


def _sectors(
    organisation_ids: list[int],
) -> tuple[dict[int, Area], dict[int, dict[Area, int]], dict[int, dict[str, str]]]:
    """Return the résidences' sectors, and each organisation's logements and names.

    Logements are summed by sector; a commune's name is the largest of its résidences'.
    """
    residences: dict[int, Area] = {}
    logements: dict[int, dict[Area, int]] = defaultdict(lambda: defaultdict(int))
    names: dict[int, dict[str, str]] = defaultdict(dict)
    for res_id, org_id, commune, name, qpv, generation, count in db.session.execute(
        sa.select(
            Residence.id,
            Residence.organisation_id,
            Residence.commune_insee,
            Residence.commune_name,
            Residence.qpv_code,
            Residence.qpv_generation,
            Residence.logements,
        ).where(Residence.organisation_id.in_(organisation_ids))
    ):
        area = residences[res_id] = _area(commune, qpv, generation)
        logements[org_id][area] += int(count or 0)
        name = (name or "").strip()[:100]
        # One name per commune whatever the spelling of each résidence: the largest.
        if area.commune_insee and name > names[org_id].get(area.commune_insee, ""):
            names[org_id][area.commune_insee] = name
    return residences, logements, names


def first_fact_month(organisation_id: int, since: int | None = None) -> int | None:
    """Return the month of the organisation's first fact (from ``since``), if any.

    Every fact recorded here counts, duplicates included: a duplicate leaves the
    statistics only until a référent unmarks it, and either way it shows that the
    bailleur was recording facts here that month. One seek in ix_report_federation.
    """
    query = sa.select(sa.func.min(Report.occurred_month)).where(
        Report.organisation_id == organisation_id
    )
    if since is not None:
        query = query.where(Report.occurred_month >= since)
    return db.session.scalar(query)


@dataclass
class UncountedFacts:
    """Facts recorded here in months that one imported file of the bailleur covers.

    The file counts for those months and these facts do not: ``months`` holds
    ``(YYYYMM, number of facts)`` pairs, in order, for the months with any.
    """

    source: FederationImport
    months: list[tuple[int, int]] = field(default_factory=list)

    @property
    def period(self) -> Period:
        """The months the file covers."""
        return Period(self.source.period_from, self.source.period_to)


def count_uncounted_facts(
    organisation_id: int, sources: list[FederationImport]
) -> list[UncountedFacts]:
    """Return the facts recorded here in the months ``sources`` cover, by file.

    The import refuses a file over months with facts recorded here, but facts can be
    entered afterwards with an earlier date; the file keeps counting for its months
    (nothing is counted twice), so the view must say which facts it leaves out. A
    fact recorded here means what it means for the import (``first_fact_month``):
    every fact, duplicates included. One GROUP BY on ix_report_federation.
    """
    covering = {
        month: source
        for source in sources
        for month in Period(source.period_from, source.period_to).months
    }
    query = (
        sa.select(Report.occurred_month, sa.func.count())
        .where(
            Report.organisation_id == organisation_id,
            Report.occurred_month.in_(sorted(covering)),
        )
        .group_by(Report.occurred_month)
        .order_by(Report.occurred_month)
    )
    found: dict[int, UncountedFacts] = {}
    for month, n in db.session.execute(query):
        source = covering[month]
        found.setdefault(source.id, UncountedFacts(source)).months.append((month, n))
    return sorted(found.values(), key=lambda u: u.source.period_from)
