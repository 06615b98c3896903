"""Figures of the federation's consolidated view, from published rows only.

Everything here is computed from the rows of the federation format (see
orfi.federation.rollup), never from facts: what the federation sees is exactly what
files would give it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa

from orfi.extensions import db
from orfi.federation.consolidation import BailleurStats, Consolidation
from orfi.federation.periods import month_text
from orfi.federation.rollup import StatRow
from orfi.nomenclature.models import Category, Family

DATA = Path(__file__).resolve().parent.parent / "data"
COMMUNES_FILE = DATA / "communes_occitanie_qpv.geojson"
QPV_FILE = DATA / "qpv_occitanie_2015.geojson"
_MONTHS_FR = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août",
              "sept.", "oct.", "nov.", "déc.")  # fmt: skip


@dataclass
class Line:
    """A row of a table: facts and logements of a group, and its rate."""

    key: str
    label: str
    facts: int = 0
    logements: int = 0
    detail: str = ""

    def add(self, row: StatRow) -> None:
        """Count a published row: its facts, and its logements if it carries them."""
        self.facts += row.count
        if row.carries_logements:
            self.logements += row.logements

    @property
    def rate(self) -> float | None:
        """Facts per 1,000 logements over the period (None without logements)."""
        return self.facts * 1000 / self.logements if self.logements else None

    @property
    def area_rate(self) -> float | None:
        """The rate of a commune or QPV: None when no fact is published there.

        A sector's published count is 0 or at least k: 0 may hide up to k-1 facts
        per bailleur (sent to the unlocated row), so it is shown as unknown, not 0.
        """
        return self.rate if self.facts else None


@dataclass
class Dashboard:
    """What the consolidated view shows."""

    consolidation: Consolidation
    total: Line
    months: list[Line]
    month_unspecified: int
    families: list[Line]
    family_unspecified: int
    bailleurs: list[tuple[Line, BailleurStats]]
    qpv_split: list[Line]
    communes: list[Line]
    qpvs: list[Line]
    map_data: dict = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        """Whether any bailleur has rows."""
        return any(b.rows for b in self.consolidation.bailleurs)


def month_label(month: int) -> str:
    """Return ``mars 2026`` for 202603."""
    return f"{_MONTHS_FR[month % 100 - 1]} {month // 100}"


def family_labels() -> dict[str, str]:
    """Return the labels of the families by code."""
    return dict(db.session.execute(sa.select(Family.code, Family.label)).all())


def category_labels() -> dict[str, str]:
    """Return the default nomenclature's labels of the categories by code."""
    rows = db.session.execute(
        sa.select(Category.code, Category.label).where(
            Category.organisation_id.is_(None)
        )
    )
    return dict(rows.all())


def nomenclature_labels() -> dict[str, str]:
    """Return family and category labels by code (for readable files)."""
    return {**family_labels(), **category_labels()}


@lru_cache(maxsize=2)
def _outlines(path: Path, code_key: str) -> dict[str, dict]:
    with path.open(encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    return {f["properties"][code_key]: f for f in features}


def build_dashboard(consolidation: Consolidation) -> Dashboard:
    """Return the figures of a consolidated period."""
    total = Line("total", "Total")
    months = {
        m: Line(month_text(m), month_label(m)) for m in consolidation.period.months
    }
    month_unspecified = 0
    family_names = family_labels()
    families: dict[str, Line] = {}
    family_unspecified = 0
    split = {
        "qpv": Line("qpv", "En QPV"),
        "hors": Line("hors", "Hors QPV"),
        "unlocated": Line("unlocated", "Non localisé"),
    }
    communes: dict[str, Line] = {}
    qpvs: dict[str, Line] = {}
    bailleurs = []
    qpv_outlines = _outlines(QPV_FILE, "code_qp")
    commune_outlines = _outlines(COMMUNES_FILE, "code_commune")

    for bailleur in consolidation.bailleurs:
        line = Line(bailleur.code, bailleur.name)
        for row in bailleur.rows:
            line.add(row)
            if row.month is None:
                month_unspecified += row.count
            elif row.month in months:
                months[row.month].facts += row.count
            if row.family_code is None:
                family_unspecified += row.count
            else:
                family = families.setdefault(
                    row.family_code,
                    Line(row.family_code, family_names.get(row.family_code, "")),
                )
                family.facts += row.count
            _count_place(row, split, communes, qpvs, commune_outlines, qpv_outlines)
        total.facts += line.facts
        total.logements += line.logements
        bailleurs.append((line, bailleur))

    for family in families.values():
        family.logements = total.logements
    ordered_families = sorted(families.values(), key=lambda f: f.key)
    return Dashboard(
        consolidation=consolidation,
        total=total,
        months=list(months.values()),
        month_unspecified=month_unspecified,
        families=ordered_families,
        family_unspecified=family_unspecified,
        bailleurs=bailleurs,
        qpv_split=[s for s in split.values() if s.facts or s.logements],
        communes=sorted(communes.values(), key=lambda c: (-c.facts, c.label)),
        qpvs=sorted(qpvs.values(), key=lambda q: (-q.facts, q.label)),
        map_data=_map_data(communes, qpvs, commune_outlines, qpv_outlines),
    )


def _count_place(
    row: StatRow,
    split: dict[str, Line],
    communes: dict[str, Line],
    qpvs: dict[str, Line],
    commune_outlines: dict[str, dict],
    qpv_outlines: dict[str, dict],
) -> None:
    """Count a row in the QPV split, and in its commune's and QPV's lines."""
    if row.commune_insee is None:
        split["unlocated"].add(row)
        return
    split["qpv" if row.qpv_code else "hors"].add(row)
    commune = communes.setdefault(
        row.commune_insee,
        Line(row.commune_insee, _commune_name(row, commune_outlines)),
    )
    commune.add(row)
    if row.qpv_code:
        qpvs.setdefault(
            row.qpv_code,
            Line(
                row.qpv_code,
                _qpv_name(row.qpv_code, qpv_outlines),
                detail=commune.label,
            ),
        ).add(row)


def _commune_name(row, outlines: dict[str, dict]) -> str:
    feature = outlines.get(row.commune_insee)
    if feature is not None:
        return feature["properties"]["nom_commune"]
    return row.commune_name or row.commune_insee


def _qpv_name(code: str, outlines: dict[str, dict]) -> str:
    feature = outlines.get(code)
    return feature["properties"]["nom_qp"] if feature is not None else code


def rate_breaks(rates: list[float], classes: int = 5) -> list[float]:
    """Return up to ``classes - 1`` increasing thresholds splitting ``rates`` evenly."""
    values = sorted(r for r in rates if r is not None)
    if len(values) < 2:
        return []
    breaks = []
    for i in range(1, classes):
        value = values[min(len(values) - 1, round(i * len(values) / classes))]
        value = round(value, 1)
        if not breaks or value > breaks[-1]:
            breaks.append(value)
    return breaks


def _map_data(
    communes: dict[str, Line],
    qpvs: dict[str, Line],
    commune_outlines: dict[str, dict],
    qpv_outlines: dict[str, dict],
) -> dict:
    """Return the map's aggregated layers: outlines of areas with data, and figures."""

    def layer(lines: dict[str, Line], outlines: dict[str, dict]) -> dict:
        features = []
        for code, line in sorted(lines.items()):
            outline = outlines.get(code)
            if outline is None:
                continue
            features.append(
                {
                    "type": "Feature",
                    "geometry": outline["geometry"],
                    "properties": {
                        "code": code,
                        "name": line.label,
                        "facts": line.facts,
                        "logements": line.logements,
                        "rate": (
                            round(line.area_rate, 1)
                            if line.area_rate is not None
                            else None
                        ),
                    },
                }
            )
        return {"type": "FeatureCollection", "features": features}

    rates = [line.area_rate for line in [*communes.values(), *qpvs.values()]]
    return {
        "communes": layer(communes, commune_outlines),
        "qpv": layer(qpvs, qpv_outlines),
        "breaks": rate_breaks(rates),
        "missing": sorted(
            line.label
            for line in communes.values()
            if line.key not in commune_outlines and line.facts
        ),
    }
