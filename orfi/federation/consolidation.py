"""A region's consolidated figures: native and imported bailleurs counted once."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from orfi.database import utcnow
from orfi.extensions import db
from orfi.federation.documents import FORMAT_VERSION, document_for
from orfi.federation.imports import list_imports
from orfi.federation.models import FederationImport, FederationRow
from orfi.federation.native import (
    UncountedFacts,
    count_uncounted_facts,
    first_fact_month,
    min_count,
    native_rows,
)
from orfi.federation.periods import Period, consecutive_runs, current_year, month_text
from orfi.federation.rollup import StatRow, merge_rows
from orfi.patrimoine.models import Organisation
from orfi.reports.models import Report

logger = logging.getLogger(__name__)


@dataclass
class BailleurStats:
    """One bailleur's published rows for the consolidated period."""

    code: str
    name: str
    kind: str
    region: str
    rows: list[StatRow]
    k: int
    native: bool = False
    imports: list[FederationImport] = field(default_factory=list)
    # Facts recorded here that its files keep out of the figures, and the month
    # of its first fact recorded here (a new file must stop before it).
    uncounted: list[UncountedFacts] = field(default_factory=list)
    first_fact_month: int | None = None

    @property
    def source(self) -> str:
        """Where the figures come from, in French."""
        if self.native and self.imports:
            return "instance et fichiers importés"
        return "fichier importé" if self.imports else "cette instance"

    @property
    def facts(self) -> int:
        """Number of facts."""
        return sum(r.count for r in self.rows)

    @property
    def logements(self) -> int:
        """Number of logements of the patrimoine."""
        return sum(r.logements for r in self.rows if r.carries_logements)

    @property
    def uncounted_facts(self) -> int:
        """Number of facts recorded here that its files keep out of the figures."""
        return sum(n for u in self.uncounted for _month, n in u.months)

    @property
    def imported_at(self) -> datetime | None:
        """When the last of its files was imported."""
        return max((i.imported_at for i in self.imports), default=None)


@dataclass
class Consolidation:
    """The bailleurs of a region for a period, and the imports left out."""

    period: Period
    region: str
    bailleurs: list[BailleurStats]
    left_out: list[FederationImport] = field(default_factory=list)


def _stat_row(row: FederationRow) -> StatRow:
    return StatRow(
        row.commune_insee,
        row.commune_name,
        row.qpv_code,
        row.qpv_generation,
        row.family_code,
        row.category_code,
        row.month,
        row.count,
        row.logements,
    )


def consolidate(region: str, period: Period) -> Consolidation:
    """Return the rows of every bailleur of ``region`` ("" = all) for ``period``.

    Native bailleurs' rows are built on the fly with this instance's rule; imported
    ones come from their files whose period lies within ``period`` (files straddling
    its bounds are listed apart: their sector rows cannot be split by month). A
    bailleur both native and imported counts once: files win over the months they
    cover, its native facts count for the other months; facts recorded here in
    months its files cover are counted apart (``uncounted``), never in the figures.
    """
    k = min_count()
    imports = list_imports(region)
    kept = [i for i in imports if period.contains(Period(i.period_from, i.period_to))]
    left_out = [
        i
        for i in imports
        if i not in kept and period.overlaps(Period(i.period_from, i.period_to))
    ]
    covered: dict[str, set[int]] = defaultdict(set)
    for source in kept:
        covered[source.bailleur_code].update(
            Period(source.period_from, source.period_to).months
        )

    query = sa.select(Organisation).order_by(Organisation.code)
    if region:
        query = query.where(
            sa.func.lower(Organisation.region) == region.strip().lower()
        )
    organisations = list(db.session.scalars(query))
    entries = _native_entries(organisations, covered, period, k)
    _add_imported(entries, kept)
    for organisation in organisations:
        entry = entries[organisation.code]
        if entry.imports:
            entry.uncounted = count_uncounted_facts(organisation.id, entry.imports)
        if entry.uncounted:
            entry.first_fact_month = first_fact_month(organisation.id)
    bailleurs = sorted(entries.values(), key=lambda b: b.name.casefold())
    return Consolidation(period, region, bailleurs, left_out)


def _native_entries(
    organisations: list[Organisation],
    covered: dict[str, set[int]],
    period: Period,
    k: int,
) -> dict[str, BailleurStats]:
    """Return the native bailleurs' rows, for the months no file of theirs covers."""
    rows = native_rows(
        [o.id for o in organisations if o.code not in covered], period, k
    )
    entries: dict[str, BailleurStats] = {}
    for organisation in organisations:
        own = rows.get(organisation.id)
        if own is None:  # partly covered by files: its other months only
            rest = [m for m in period.months if m not in covered[organisation.code]]
            own = merge_rows(
                r
                for run in consecutive_runs(rest)
                for r in native_rows([organisation.id], run, k)[organisation.id]
            )
        entries[organisation.code] = BailleurStats(
            code=organisation.code,
            name=organisation.name,
            kind=organisation.kind.value,
            region=organisation.region or "",
            rows=own,
            k=k,
            native=True,
        )
    return entries


def _add_imported(
    entries: dict[str, BailleurStats], kept: list[FederationImport]
) -> None:
    """Add the rows of the ``kept`` files to their bailleurs' entries (new or not)."""
    imported: dict[int, list[StatRow]] = defaultdict(list)
    if kept:
        for row in db.session.scalars(
            sa.select(FederationRow).where(
                FederationRow.import_id.in_([s.id for s in kept])
            )
        ):
            imported[row.import_id].append(_stat_row(row))
    for source in sorted(kept, key=lambda s: (s.bailleur_code, s.period_from)):
        entry = entries.get(source.bailleur_code)
        if entry is None:
            entry = entries[source.bailleur_code] = BailleurStats(
                code=source.bailleur_code,
                name=source.bailleur_name,
                kind=source.bailleur_kind.value,
                region=source.bailleur_region,
                rows=[],
                k=source.min_count,
            )
        elif not entry.native:  # a later file names the bailleur
            entry.name, entry.region = source.bailleur_name, source.bailleur_region
        entry.imports.append(source)
        entry.k = min(entry.k, source.min_count)
        entry.rows = merge_rows([*entry.rows, *imported[source.id]])


def bailleur_period(bailleur: BailleurStats, period: Period) -> Period:
    """Return the months a bailleur's figures cover within a consolidated period."""
    if bailleur.native or not bailleur.imports:
        return period
    return Period(
        min(i.period_from for i in bailleur.imports),
        max(i.period_to for i in bailleur.imports),
    )


def consolidated_document(identity: dict, consolidation: Consolidation) -> dict:
    """Return the consolidated JSON document (``identity``: code, name, region)."""
    period = consolidation.period
    documents = [
        document_for(
            {
                "code": b.code,
                "name": b.name,
                "kind": b.kind,
                "region": b.region,
            },
            bailleur_period(b, period),
            b.rows,
            b.k,
        )
        for b in consolidation.bailleurs
    ]
    generated_at = utcnow().replace(microsecond=0).isoformat()
    return {
        "format_version": FORMAT_VERSION,
        "generated_at": generated_at.replace("+00:00", "Z"),
        "federation": {
            "code": identity["code"],
            "name": identity["name"],
            "region": identity.get("region") or "",
        },
        "period": {"from": month_text(period.start), "to": month_text(period.end)},
        "documents": documents,
    }


def available_years(region: str, organisation_id: int | None = None) -> list[int]:
    """Return the years a page may offer, most recent first (current year included).

    Years of the native facts (of one organisation, or of the region's) and of the
    imported files; each bound is one index seek per organisation.
    """
    if organisation_id is not None:
        ids = [organisation_id]
    else:
        query = sa.select(Organisation.id)
        if region:
            query = query.where(
                sa.func.lower(Organisation.region) == region.strip().lower()
            )
        ids = list(db.session.scalars(query))
    years = {current_year()}
    for org_id in ids:
        # Two single-aggregate queries: SQLite answers each with one seek in
        # ix_report_federation, but not min and max together.
        for aggregate in (sa.func.min, sa.func.max):
            month = db.session.scalar(
                sa.select(aggregate(Report.occurred_month)).where(
                    Report.organisation_id == org_id
                )
            )
            if month is not None:
                years.add(month // 100)
    if organisation_id is None:
        for source in list_imports(region):
            years.update(range(source.period_from // 100, source.period_to // 100 + 1))
    return sorted(range(min(years), max(years) + 1), reverse=True)
