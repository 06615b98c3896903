"""Imported federation files: storing, listing, finding and removing them."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from orfi.auth.models import User
from orfi.errors import NotFound, ValidationError
from orfi.extensions import db
from orfi.federation.documents import row_from_json
from orfi.federation.models import FederationImport, FederationRow
from orfi.federation.native import count_uncounted_facts, first_fact_month, min_count
from orfi.federation.periods import Period, month_text, parse_month
from orfi.federation.rollup import StatRow, check_rows
from orfi.patrimoine.models import Organisation, OrganisationKind
from orfi.stats.secrecy import is_secret

logger = logging.getLogger(__name__)


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
        code = document["bailleur"]["code"]
        period = Period(
            parse_month(document["period"]["from"]),
            parse_month(document["period"]["to"]),
        )
        if period.start > period.end:
            errors.append(f"{where} : le mois de fin précède celui de début.")
            continue
        rows = [row_from_json(r) for r in document["rows"]]
        problems = _document_problems(document, period, rows, k_min, region)
        if any(c == code and p.overlaps(period) for c, p in seen):
            problems.append(
                f"{code} figure deux fois pour des périodes qui se chevauchent."
            )
        if code in natives:
            problems.extend(_native_problems(code, *natives[code], period))
        problems.extend(_overlapped_imports(code, period))
        errors.extend(f"{where} : {problem}" for problem in problems)
        seen.add((code, period))
        plans.append((document, period, rows))
    if errors:
        raise ValidationError({"file": errors[:10]})

    digest = hashlib.sha256(raw).hexdigest()
    return [
        _store(
            document,
            period,
            rows,
            digest,
            user,
            native=document["bailleur"]["code"] in natives,
        )
        for document, period, rows in plans
    ]


def _document_problems(
    document: dict, period: Period, rows: list[StatRow], k_min: int, region: str | None
) -> list[str]:
    """Return what refuses a document on its own: its rule, rows, months, region."""
    problems = []
    bailleur = document["bailleur"]
    k = document["suppression_rule"]["k"]
    if k < k_min:
        problems.append(
            f"seuil du secret statistique {k}, inférieur au seuil "
            f"{k_min} de cette instance ; le bailleur doit produire le fichier "
            f"avec k ≥ {k_min}."
        )
    problems.extend(check_rows(rows, k)[:5])
    outside = [
        r.month
        for r in rows
        if r.month is not None and not (period.start <= r.month <= period.end)
    ]
    if outside:
        problems.append(
            f"le mois {month_text(outside[0])} est hors de la période {period.label}."
        )
    if region and not _same_region(bailleur["region"], region):
        problems.append(
            f"le bailleur {bailleur['code']} est rattaché à la région "
            f"« {bailleur['region'] or 'non précisée'} », hors de votre périmètre "
            f"({region})."
        )
    return problems


def _overlapped_imports(code: str, period: Period) -> list[str]:
    """Refuse a period that overlaps, without being equal to, an imported one."""
    problems = []
    for other in _imports_of(code):
        other_period = Period(other.period_from, other.period_to)
        if other_period != period and other_period.overlaps(period):
            problems.append(
                f"la période {period.label} chevauche l'import "
                f"{other_period.label} déjà chargé pour {code} ; réimportez "
                "exactement la même période pour la remplacer."
            )
    return problems


def _native_problems(code: str, org_id: int, name: str, period: Period) -> list[str]:
    """Refuse a native bailleur's file over months with facts recorded here."""
    live = first_fact_month(org_id, since=period.start)
    if live is None or live > period.end:
        return []
    return [
        f"{code} ({name}) utilise cette instance et y a des "
        f"faits saisis en {month_text(live)}, mois couvert par le "
        "fichier ; un fichier ne remplace pas ses faits saisis ici. "
        "Importez seulement les mois antérieurs à "
        f"{month_text(first_fact_month(org_id))}, mois de son premier "
        "fait saisi ici."
    ]


def _store(
    document: dict,
    period: Period,
    rows: list[StatRow],
    digest: str,
    user: User | None,
    *,
    native: bool,
) -> ImportResult:
    """Store one checked document in place of its bailleur's same period; flush."""
    bailleur = document["bailleur"]
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
        min_count=document["suppression_rule"]["k"],
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
            # A StatRow's fields are the names of FederationRow's columns.
            [{"import_id": source.id, **asdict(r)} for r in rows],
        )
    logger.info(
        "Import fédération %s %s : %d lignes", bailleur["code"], period.label, len(rows)
    )
    return ImportResult(
        bailleur_code=bailleur["code"],
        bailleur_name=bailleur["name"],
        period=period,
        rows=len(rows),
        facts=source.fact_count,
        replaced=previous is not None,
        native=native,
    )


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
    # The small-count threshold: live facts are a count of the bailleur's months.
    k: int = 0

    @property
    def live_facts_text(self) -> str:
        """The live facts as a federation may read them: ``aucun``, a number of at
        least k, or ``moins de k`` (secret statistique)."""
        if not self.live_facts:
            return "aucun"
        if is_secret(self.live_facts, self.k):
            return f"moins de {self.k}"
        return str(self.live_facts)

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
            f"({self.live_facts_text} à ce jour)."
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
        k=min_count(),
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
        removal.first_fact_month = first_fact_month(organisation_id)
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
