"""The federation file format: a bailleur's document, its rows, what it publishes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from orfi.database import utcnow
from orfi.federation.native import min_count, native_rows
from orfi.federation.periods import Period, month_text, parse_month
from orfi.federation.rollup import RULE_METHOD, StatRow, rule_description
from orfi.patrimoine.models import Organisation

logger = logging.getLogger(__name__)

FORMAT_VERSION = "1.0"


def row_to_json(row: StatRow) -> dict:
    """Return a row as in the JSON format (month as ``YYYY-MM``)."""
    return {
        "commune_insee": row.commune_insee,
        "commune_name": row.commune_name,
        "qpv_code": row.qpv_code,
        "qpv_generation": row.qpv_generation,
        "family_code": row.family_code,
        "category_code": row.category_code,
        "month": month_text(row.month) if row.month is not None else None,
        "count": row.count,
        "logements": row.logements,
    }


def row_from_json(data: dict) -> StatRow:
    """Return the row of a validated JSON row."""
    month = data["month"]
    return StatRow(
        commune_insee=data["commune_insee"],
        commune_name=data["commune_name"],
        qpv_code=data["qpv_code"],
        qpv_generation=data["qpv_generation"],
        family_code=data["family_code"],
        category_code=data["category_code"],
        month=parse_month(month) if month is not None else None,
        count=data["count"],
        logements=data["logements"],
    )


def document_for(
    bailleur: dict,
    period: Period,
    rows: list[StatRow],
    k: int,
    generated_at: datetime | None = None,
) -> dict:
    """Return a bailleur document of the format (a dict ready for JSON)."""
    generated_at = (generated_at or utcnow()).astimezone(UTC).replace(microsecond=0)
    return {
        "format_version": FORMAT_VERSION,
        "generated_at": generated_at.isoformat().replace("+00:00", "Z"),
        "bailleur": bailleur,
        "period": {"from": month_text(period.start), "to": month_text(period.end)},
        "suppression_rule": {
            "method": RULE_METHOD,
            "k": k,
            "description": rule_description(k),
        },
        "rows": [row_to_json(row) for row in rows],
    }


def organisation_identity(organisation: Organisation) -> dict:
    """Return the ``bailleur`` object of the format for an organisation."""
    return {
        "code": organisation.code,
        "name": organisation.name,
        "kind": organisation.kind.value,
        "region": organisation.region or "",
    }


def build_bailleur_document(organisation: Organisation, period: Period) -> dict:
    """Return the federation document of one bailleur of this instance."""
    k = min_count()
    rows = native_rows([organisation.id], period, k)[organisation.id]
    return document_for(organisation_identity(organisation), period, rows, k)


def export_preview(document: dict) -> dict:
    """Return what a bailleur document publishes, by level of detail (for the page)."""
    levels = {"category": 0, "family": 0, "period": 0, "sector": 0, "unlocated": 0}
    for row in document["rows"]:
        if row["commune_insee"] is None:
            levels["unlocated"] += row["count"]
        elif row["family_code"] is None:
            levels["sector"] += row["count"]
        elif row["month"] is None:
            levels["period"] += row["count"]
        elif row["category_code"] is None:
            levels["family"] += row["count"]
        else:
            levels["category"] += row["count"]
    facts = sum(levels.values())
    sectors = [
        r for r in document["rows"] if r["month"] is None and r["family_code"] is None
    ]
    return {
        "facts": facts,
        "rows": len(document["rows"]),
        "levels": levels,
        "sectors": sum(1 for r in sectors if r["commune_insee"]),
        "logements": sum(r["logements"] for r in sectors),
        "share_detailed": levels["category"] / facts if facts else None,
    }
