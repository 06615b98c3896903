"""Federation statistics: build a bailleur's file, import files, consolidate a region.

A bailleur on this instance ("native") and a bailleur running its own instance
("imported") go through the same rows: native rows are built on the fly by the very
function that writes the export file, so that a federation sees the same figures
whichever way a bailleur reaches it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app

from orfi.auth.models import User
from orfi.database import utcnow
from orfi.errors import NotFound, ValidationError
from orfi.extensions import db
from orfi.federation.models import FederationImport, FederationRow
from orfi.federation.rollup import (
    DEFAULT_MIN_COUNT,
    RULE_METHOD,
    Area,
    Cell,
    StatRow,
    check_rows,
    merge_rows,
    roll_up,
    rule_description,
)
from orfi.nomenclature.models import Category, Family
from orfi.patrimoine.models import Organisation, OrganisationKind, Residence
from orfi.reports.models import Report
from orfi.reports.queries import counted_reports
from orfi.timezone import now_local

logger = logging.getLogger(__name__)

FORMAT_VERSION = "1.0"
_INSEE = re.compile(r"^([0-9]{5}|2[AB][0-9]{3})$")
_QPV = re.compile(r"^Q[A-Z][0-9A-Z]{4,10}$")
_GENERATION = re.compile(r"^[0-9]{4}$")
_PERIOD = re.compile(
    r"^\s*(?P<y1>\d{4})(?:-(?P<m1>\d{2}))?\s*(?:(?:\.\.|/)\s*(?P<y2>\d{4})-(?P<m2>\d{2}))?\s*$"
)


def min_count() -> int:
    """Return the threshold k of the small-count rule on this instance."""
    configured = (
        current_app.config.get("ORFI_FEDERATION_MIN_COUNT") or DEFAULT_MIN_COUNT
    )
    return min(100, max(2, int(configured)))


# ------------------------------------------------------------------------- periods


@dataclass(frozen=True, order=True)
class Period:
    """Whole months from ``start`` to ``end`` inclusive, as YYYYMM integers."""

    start: int
    end: int

    @classmethod
    def year(cls, year: int) -> Period:
        """Return the calendar year ``year``."""
        return cls(year * 100 + 1, year * 100 + 12)

    @property
    def months(self) -> list[int]:
        """Return every month of the period, in order."""
        months, month = [], self.start
        while month <= self.end:
            months.append(month)
            month = _next_month(month)
        return months

    @property
    def label(self) -> str:
        """Return the period as people write it: ``2026``, ``2026-03``, ``a..b``."""
        if self.start % 100 == 1 and self.end == self.start + 11:
            return str(self.start // 100)
        if self.start == self.end:
            return month_text(self.start)
        return f"{month_text(self.start)}..{month_text(self.end)}"

    @property
    def french(self) -> str:
        """Return the period in words (``année 2026``, ``de 01/2026 à 06/2026``)."""
        if self.start % 100 == 1 and self.end == self.start + 11:
            return f"année {self.start // 100}"
        if self.start == self.end:
            return f"{self.start % 100:02d}/{self.start // 100}"
        return (
            f"de {self.start % 100:02d}/{self.start // 100} "
            f"à {self.end % 100:02d}/{self.end // 100}"
        )

    def contains(self, other: Period) -> bool:
        """Whether ``other`` lies within this period."""
        return self.start <= other.start and other.end <= self.end

    def overlaps(self, other: Period) -> bool:
        """Whether the two periods share a month."""
        return self.start <= other.end and other.start <= self.end


def month_text(month: int) -> str:
    """Return ``YYYY-MM`` for a YYYYMM integer."""
    return f"{month // 100:04d}-{month % 100:02d}"


def parse_month(text: str) -> int:
    """Return the YYYYMM integer of ``YYYY-MM`` (ValueError if invalid)."""
    year, month = text.split("-")
    if len(year) != 4 or len(month) != 2 or not 1 <= int(month) <= 12:
        raise ValueError(text)
    return int(year) * 100 + int(month)


def parse_period(text: str | None) -> Period:
    """Parse ``2026``, ``2026-03`` or ``2026-01..2026-06``; French error otherwise."""
    match = _PERIOD.match(text or "")
    message = (
        "Période invalide : indiquez une année (2026), un mois (2026-03) ou deux mois "
        "(2026-01..2026-06)."
    )
    if not match:
        raise ValidationError({"period": [message]})
    y1, m1, y2, m2 = (match.group(n) for n in ("y1", "m1", "y2", "m2"))
    if y2 and not m1:
        raise ValidationError({"period": [message]})
    try:
        if not m1:
            period = Period.year(int(y1))
        else:
            start = parse_month(f"{y1}-{m1}")
            end = parse_month(f"{y2}-{m2}") if y2 else start
            period = Period(start, end)
    except ValueError:
        raise ValidationError({"period": [message]}) from None
    if period.start > period.end:
        raise ValidationError(
            {"period": ["Période invalide : le mois de fin précède celui de début."]}
        )
    if not 2000 <= period.start // 100 <= 2100:
        raise ValidationError({"period": ["Période invalide : année hors limites."]})
    return period


def current_year() -> int:
    """Return the current year in Europe/Paris."""
    return now_local().year


# ------------------------------------------------------------ a bailleur's own rows


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


# ------------------------------------------------------------------------ imports


@dataclass
class ImportResult:
    """What importing one bailleur document did."""

    bailleur_code: str
    bailleur_name: str
    period: Period
    rows: int
    facts: int
    replaced: bool
    native: bool = False

    @property
    def message(self) -> str:
        """A French summary line."""
        text = (
            f"{self.bailleur_code} ({self.bailleur_name}), {self.period.french} : "
            f"{self.facts} fait(s) en {self.rows} ligne(s)"
            + (", import précédent remplacé" if self.replaced else "")
            + "."
        )
        if self.native:
            text += (
                " Ce bailleur utilise aussi cette instance, sans aucun fait saisi ici "
                "pour ces mois : le fichier les représente, et un fait de ces mois "
                "saisi ici plus tard ne serait pas compté tant que ce fichier reste "
                "importé (la vue consolidée le signalerait)."
            )
        return text


def import_documents(
    documents: list[dict],
    raw: bytes,
    *,
    user: User | None = None,
    region: str | None = None,
) -> list[ImportResult]:
    """Store validated bailleur documents, replacing each bailleur's same period.

    ``region`` (a regional federation importing from the web) refuses bailleurs of
    another region. A bailleur of this instance ("native") is accepted only for months
    where it has no fact recorded here: its history from before it moved onto this
    instance, never a replacement of its live facts. Raises ValidationError, storing
    nothing, on any refusal.
    """
    k_min = min_count()
    natives = {
        code: (org_id, name)
        for org_id, code, name in db.session.execute(
            sa.select(Organisation.id, Organisation.code, Organisation.name).where(
                Organisation.code.in_({d["bailleur"]["code"] for d in documents})
            )
        )
    }
    errors: list[str] = []
    seen: set[tuple[str, Period]] = set()
    plans = []
    for index, document in enumerate(documents):
        where = f"documents[{index}]" if len(documents) > 1 else "fichier"
        bailleur = document["bailleur"]
        code = bailleur["code"]
        period = Period(
            parse_month(document["period"]["from"]),
            parse_month(document["period"]["to"]),
        )
        if period.start > period.end:
            errors.append(f"{where} : le mois de fin précède celui de début.")
            continue
        k = document["suppression_rule"]["k"]
        if k < k_min:
            errors.append(
                f"{where} : seuil du secret statistique {k}, inférieur au seuil "
                f"{k_min} de cette instance ; le bailleur doit produire le fichier "
                f"avec k ≥ {k_min}."
            )
        rows = [row_from_json(r) for r in document["rows"]]
        errors.extend(f"{where} : {p}" for p in check_rows(rows, k)[:5])
        outside = [
            r.month
            for r in rows
            if r.month is not None and not (period.start <= r.month <= period.end)
        ]
        if outside:
            errors.append(
                f"{where} : le mois {month_text(outside[0])} est hors de la période "
                f"{period.label}."
            )
        if (
            region is not None
            and region
            and not _same_region(bailleur["region"], region)
        ):
            errors.append(
                f"{where} : le bailleur {code} est rattaché à la région "
                f"« {bailleur['region'] or 'non précisée'} », hors de votre périmètre "
                f"({region})."
            )
        if any(c == code and p.overlaps(period) for c, p in seen):
            errors.append(
                f"{where} : {code} figure deux fois pour des périodes qui se "
                "chevauchent."
            )
        seen.add((code, period))
        if code in natives:
            org_id, name = natives[code]
            live = _first_fact_month(org_id, since=period.start)
            if live is not None and live <= period.end:
                errors.append(
                    f"{where} : {code} ({name}) utilise cette instance et y a des "
                    f"faits saisis en {month_text(live)}, mois couvert par le "
                    "fichier ; un fichier ne remplace pas ses faits saisis ici. "
                    "Importez seulement les mois antérieurs à "
                    f"{month_text(_first_fact_month(org_id))}, mois de son premier "
                    "fait saisi ici."
                )
        for other in _imports_of(code):
            other_period = Period(other.period_from, other.period_to)
            if other_period != period and other_period.overlaps(period):
                errors.append(
                    f"{where} : la période {period.label} chevauche l'import "
                    f"{other_period.label} déjà chargé pour {code} ; réimportez "
                    "exactement la même période pour la remplacer."
                )
        plans.append((document, bailleur, period, k, rows))
    if errors:
        raise ValidationError({"file": errors[:10]})

    digest = hashlib.sha256(raw).hexdigest()
    results = []
    for document, bailleur, period, k, rows in plans:
        previous = db.session.scalar(
            sa.select(FederationImport).where(
                FederationImport.bailleur_code == bailleur["code"],
                FederationImport.period_from == period.start,
                FederationImport.period_to == period.end,
            )
        )
        if previous is not None:
            db.session.delete(previous)
            db.session.flush()
        source = FederationImport(
            bailleur_code=bailleur["code"],
            bailleur_name=bailleur["name"],
            bailleur_kind=OrganisationKind(bailleur["kind"]),
            bailleur_region=bailleur["region"],
            period_from=period.start,
            period_to=period.end,
            format_version=document["format_version"],
            min_count=k,
            generated_at=_parse_instant(document["generated_at"]),
            imported_by_id=user.id if user is not None else None,
            fact_count=sum(r.count for r in rows),
            sha256=digest,
        )
        db.session.add(source)
        db.session.flush()
        if rows:
            db.session.execute(
                sa.insert(FederationRow),
                [
                    {
                        "import_id": source.id,
                        "commune_insee": r.commune_insee,
                        "commune_name": r.commune_name,
                        "qpv_code": r.qpv_code,
                        "qpv_generation": r.qpv_generation,
                        "family_code": r.family_code,
                        "category_code": r.category_code,
                        "month": r.month,
                        "count": r.count,
                        "logements": r.logements,
                    }
                    for r in rows
                ],
            )
        results.append(
            ImportResult(
                bailleur_code=bailleur["code"],
                bailleur_name=bailleur["name"],
                period=period,
                rows=len(rows),
                facts=source.fact_count,
                replaced=previous is not None,
                native=bailleur["code"] in natives,
            )
        )
        logger.info(
            "Import fédération %s %s : %d lignes",
            bailleur["code"],
            period.label,
            len(rows),
        )
    return results


def _first_fact_month(organisation_id: int, since: int | None = None) -> int | None:
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


def _parse_instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _same_region(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _imports_of(code: str) -> list[FederationImport]:
    return list(
        db.session.scalars(
            sa.select(FederationImport).where(FederationImport.bailleur_code == code)
        )
    )


def list_imports(region: str = "") -> list[FederationImport]:
    """Return the imports of a region (all for a national federation)."""
    query = sa.select(FederationImport).order_by(
        FederationImport.bailleur_code, FederationImport.period_from.desc()
    )
    if region:
        query = query.where(
            sa.func.lower(FederationImport.bailleur_region) == region.strip().lower()
        )
    return list(db.session.scalars(query))


def get_import(import_id: int, *, region: str) -> FederationImport:
    """Return an import within the caller's perimeter, else raise NotFound.

    The perimeter is the import's (``_same_region``; a national federation, empty
    ``region``, reaches all): another region's import answers as one that does not
    exist, so that its id tells nothing.
    """
    # An id beyond the INTEGER column names no row (URLs never carry one: see
    # orfi._RowId); PostgreSQL would refuse to compare it rather than find nothing.
    in_range = 0 < import_id < 2**31
    source = db.session.get(FederationImport, import_id) if in_range else None
    if source is None or (region and not _same_region(source.bailleur_region, region)):
        raise NotFound("Aucun fichier importé avec cet identifiant dans votre région.")
    return source


def find_import(code: str, period: Period) -> FederationImport:
    """Return the import of bailleur ``code`` for exactly ``period``, else NotFound.

    The message lists the periods imported for that bailleur: the command line has
    no page to look them up.
    """
    code = code.strip().upper()
    imports = sorted(_imports_of(code), key=lambda i: i.period_from)
    for source in imports:
        if (source.period_from, source.period_to) == (period.start, period.end):
            return source
    wanted = f"{month_text(period.start)} à {month_text(period.end)}"
    if not imports:
        raise NotFound(f"Aucun fichier importé pour le bailleur {code}.")
    known = ", ".join(
        f"{month_text(i.period_from)} à {month_text(i.period_to)}" for i in imports
    )
    raise NotFound(
        f"Aucun fichier importé de {code} pour {wanted} ; périodes importées : {known}."
    )


@dataclass
class ImportRemoval:
    """What removing one imported file takes away and gives back, in French."""

    code: str
    name: str
    period: Period
    facts: int
    generated_at: datetime
    imported_at: datetime
    # Whether the bailleur uses this instance too: its facts recorded here in the
    # file's months (``live_facts``) then count again.
    native: bool = False
    live_facts: int = 0
    # Its first fact recorded here: a new history file must stop before it.
    first_fact_month: int | None = None

    @property
    def months(self) -> str:
        """The file's months as the import page writes them."""
        return f"{month_text(self.period.start)} à {month_text(self.period.end)}"

    @property
    def message(self) -> str:
        """The French summary shown once the file is removed."""
        text = (
            f"Import retiré : {self.code} ({self.name}), {self.months}, "
            f"{self.facts} fait(s)."
        )
        if not self.native:
            return (
                text + " Ses chiffres de ces mois ne sont plus comptés ; réimportez "
                "son fichier pour les y remettre."
            )
        text += (
            f" {self.code} utilise aussi cette instance : les faits saisis ici pour "
            "ces mois sont de nouveau comptés "
            f"({self.live_facts if self.live_facts else 'aucun'} à ce jour)."
        )
        if self.live_facts and self.first_fact_month is not None:
            text += (
                " Pour remettre son historique, importez un fichier des seuls mois "
                f"antérieurs à {month_text(self.first_fact_month)}, mois de son "
                "premier fait saisi ici."
            )
        return text


def preview_removal(import_id: int, *, region: str) -> ImportRemoval:
    """Return what removing an import of the caller's perimeter would do."""
    return _removal(get_import(import_id, region=region))


def _removal(source: FederationImport) -> ImportRemoval:
    removal = ImportRemoval(
        code=source.bailleur_code,
        name=source.bailleur_name,
        period=Period(source.period_from, source.period_to),
        facts=source.fact_count,
        generated_at=source.generated_at,
        imported_at=source.imported_at,
    )
    organisation_id = db.session.scalar(
        sa.select(Organisation.id).where(Organisation.code == source.bailleur_code)
    )
    if organisation_id is not None:
        removal.native = True
        removal.live_facts = sum(
            n
            for uncounted in count_uncounted_facts(organisation_id, [source])
            for _month, n in uncounted.months
        )
        removal.first_fact_month = _first_fact_month(organisation_id)
    return removal


def remove_import(
    import_id: int, *, region: str, user: User | None = None
) -> ImportRemoval:
    """Delete an import of the caller's perimeter and its rows; say what went.

    Its rows go with it (``ON DELETE CASCADE``). A native bailleur's facts recorded
    here in the file's months count again from then on, and a file of other months
    may be imported: nothing else holds on to the import.
    """
    source = get_import(import_id, region=region)
    removal = _removal(source)
    db.session.delete(source)
    db.session.flush()
    logger.info(
        "Import fédération retiré : %s %s (%d faits), par %s",
        removal.code,
        removal.period.label,
        removal.facts,
        f"l'utilisateur {user.id}" if user is not None else "la ligne de commande",
    )
    return removal


# ---------------------------------------------------------------- consolidation


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


def _runs(months: list[int]) -> list[Period]:
    """Group sorted months into periods of consecutive months."""
    runs: list[Period] = []
    for month in months:
        if runs and _next_month(runs[-1].end) == month:
            runs[-1] = Period(runs[-1].start, month)
        else:
            runs.append(Period(month, month))
    return runs


def _next_month(month: int) -> int:
    return month + 1 if month % 100 < 12 else (month // 100 + 1) * 100 + 1


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


def count_uncounted_facts(
    organisation_id: int, sources: list[FederationImport]
) -> list[UncountedFacts]:
    """Return the facts recorded here in the months ``sources`` cover, by file.

    The import refuses a file over months with facts recorded here, but facts can be
    entered afterwards with an earlier date; the file keeps counting for its months
    (nothing is counted twice), so the view must say which facts it leaves out. A
    fact recorded here means what it means for the import (``_first_fact_month``):
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
                for run in _runs(rest)
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
    for organisation in organisations:
        entry = entries[organisation.code]
        if entry.imports:
            entry.uncounted = count_uncounted_facts(organisation.id, entry.imports)
        if entry.uncounted:
            entry.first_fact_month = _first_fact_month(organisation.id)
    bailleurs = sorted(entries.values(), key=lambda b: b.name.casefold())
    return Consolidation(period, region, bailleurs, left_out)


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


# ------------------------------------------------------------------- page helpers


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
