"""Statistical rows of the federation format and the small-count roll-up rule.

Pure Python, no Flask and no database: the same functions build a bailleur's export
file and the federation's view of a bailleur on a shared instance, so that both give
the same figures (see docs/exports-and-federation.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Default threshold k: no published cell located in space or time counts 1 to k-1.
DEFAULT_MIN_COUNT = 5

#: Machine description of the rule, copied into every file.
RULE_METHOD = "rollup"


def rule_description(k: int) -> str:
    """Return the French description of the roll-up rule with threshold ``k``."""
    return (
        f"Secret statistique : une case de moins de {k} faits n'est jamais publiée. "
        "Elle est regroupée avec les autres petites cases de la même famille et du "
        "même mois (catégorie non précisée), puis de la même famille sur la période "
        "(mois non précisé), puis du même secteur commune × QPV sur la période "
        f"(famille non précisée) ; ce qui reste sous {k} est publié sans commune, "
        "QPV, mois ni famille. Les totaux sont exacts."
    )


@dataclass(frozen=True, slots=True)
class Area:
    """A commune × QPV sector of a bailleur's patrimoine (commune None: unknown)."""

    commune_insee: str | None
    qpv_code: str | None = None
    qpv_generation: str | None = None


@dataclass(frozen=True, slots=True)
class Cell:
    """The finest statistical cell: sector, month (YYYYMM), family and category."""

    area: Area
    month: int
    family_code: str
    category_code: str


@dataclass(frozen=True, slots=True)
class StatRow:
    """One row of the federation format; ``None`` means "not broken down".

    - month, family and category set: a category cell of at least k facts;
    - category None: the family's small cells of that sector and month pooled;
    - month None too (family set): the family's small monthly pools of that sector
      pooled over the period;
    - family None too: the *sector row*, which carries the sector's logements and
      the pooled rest of its small cells (0 or at least k);
    - commune None: the *unlocated row*: what is left under k, and the logements of
      résidences without a commune code.

    ``logements`` is the sector's number of dwellings, repeated on the sector's fact
    rows for convenience: add it up over sector rows only.
    """

    commune_insee: str | None
    commune_name: str | None
    qpv_code: str | None
    qpv_generation: str | None
    family_code: str | None
    category_code: str | None
    month: int | None
    count: int
    logements: int

    @property
    def carries_logements(self) -> bool:
        """Whether this row is a sector row or the unlocated row (sum logements)."""
        return self.month is None and self.family_code is None

    def sort_key(self) -> tuple:
        """Key of the rows' canonical order in files (sector, month, family, cat.)."""
        return (
            self.commune_insee is None,
            self.commune_insee or "",
            self.qpv_code or "",
            self.qpv_generation or "",
            self.month or 0,
            self.family_code or "",
            self.category_code or "",
        )


def roll_up(
    cells: Mapping[Cell, int],
    logements: Mapping[Area, int],
    commune_names: Mapping[str, str],
    k: int = DEFAULT_MIN_COUNT,
) -> list[StatRow]:
    """Return the published rows of one bailleur under the small-count rule.

    ``cells`` counts facts per finest cell; ``logements`` gives every sector of the
    patrimoine (an ``Area`` with commune None gathers résidences without a commune
    code, whose facts are never located). Every fact is in exactly one row, so sums
    over rows are exact; every located row counts 0 or at least ``k`` facts, and a
    pool published at a coarser level always gathers at least two smaller cells.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    rows: list[StatRow] = []
    unlocated = 0
    family_pools: dict[tuple[Area, int, str], int] = defaultdict(int)
    for cell, count in cells.items():
        if count <= 0:
            continue
        if cell.area.commune_insee is None:
            unlocated += count
        elif count >= k:
            rows.append(_row(cell.area, commune_names, logements, cell, count))
        else:
            family_pools[(cell.area, cell.month, cell.family_code)] += count

    period_pools: dict[tuple[Area, str], int] = defaultdict(int)
    for (area, month, family_code), count in family_pools.items():
        if count >= k:
            rows.append(
                _row(area, commune_names, logements, None, count, month, family_code)
            )
        else:
            period_pools[(area, family_code)] += count

    area_pools: dict[Area, int] = defaultdict(int)
    for (area, family_code), count in period_pools.items():
        if count >= k:
            rows.append(
                _row(area, commune_names, logements, None, count, None, family_code)
            )
        else:
            area_pools[area] += count

    areas = {a for a in logements if a.commune_insee is not None}
    areas.update(c.area for c in cells if c.area.commune_insee is not None)
    for area in areas:
        count = area_pools.get(area, 0)
        if count < k:
            unlocated += count
            count = 0
        rows.append(_row(area, commune_names, logements, None, count))
    rows.extend(_unlocated_row(unlocated, logements))
    rows.sort(key=StatRow.sort_key)
    return rows


def _unlocated_row(unlocated: int, logements: Mapping[Area, int]) -> list[StatRow]:
    """Return the unlocated row, if it has facts or logements (else nothing)."""
    unlocated_logements = sum(
        n for a, n in logements.items() if a.commune_insee is None
    )
    if not (unlocated or unlocated_logements):
        return []
    return [
        StatRow(
            None, None, None, None, None, None, None, unlocated, unlocated_logements
        )
    ]


def _row(
    area: Area,
    commune_names: Mapping[str, str],
    logements: Mapping[Area, int],
    cell: Cell | None,
    count: int,
    month: int | None = None,
    family_code: str | None = None,
) -> StatRow:
    if cell is not None:
        month, family_code = cell.month, cell.family_code
    return StatRow(
        commune_insee=area.commune_insee,
        commune_name=commune_names.get(area.commune_insee or "") or None,
        qpv_code=area.qpv_code,
        qpv_generation=area.qpv_generation,
        family_code=family_code,
        category_code=cell.category_code if cell is not None else None,
        month=month,
        count=count,
        logements=logements.get(area, 0),
    )


def merge_rows(rows: Iterable[StatRow]) -> list[StatRow]:
    """Merge rows of one bailleur from several sources (files or runs of months).

    Rows with the same key add their counts, which keeps the rule (each is 0 or at
    least k); a sector's logements are the largest declared, as sources are
    snapshots of the same patrimoine.
    """
    merged: dict[tuple, StatRow] = {}
    for row in rows:
        key = row.sort_key()
        other = merged.get(key)
        if other is None:
            merged[key] = row
        else:
            merged[key] = StatRow(
                row.commune_insee,
                other.commune_name or row.commune_name,
                row.qpv_code,
                row.qpv_generation,
                row.family_code,
                row.category_code,
                row.month,
                other.count + row.count,
                max(other.logements, row.logements),
            )
    return sorted(merged.values(), key=StatRow.sort_key)


def check_rows(rows: Iterable[StatRow], k: int) -> list[str]:
    """Return the French reasons why ``rows`` break the rule with threshold ``k``."""
    problems: list[str] = []
    seen: set[tuple] = set()
    unlocated_rows = 0
    for index, row in enumerate(rows):
        where = f"rows[{index}]"
        key = row.sort_key()
        if key in seen:
            problems.append(f"{where} : ligne en double (même secteur, mois, famille).")
        seen.add(key)
        if row.commune_insee is None:
            unlocated_rows += 1
            if unlocated_rows > 1:
                problems.append(f"{where} : une seule ligne sans commune est permise.")
        elif (row.month or row.family_code) is not None and row.count < k:
            problems.append(
                f"{where} : {row.count} fait(s) dans une case localisée, "
                f"sous le seuil de {k} du secret statistique."
            )
        elif 0 < row.count < k:
            problems.append(
                f"{where} : {row.count} fait(s) sur la ligne du secteur, "
                f"sous le seuil de {k} du secret statistique."
            )
    return problems
