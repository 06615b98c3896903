"""The bilan d'activité of a period: what the security mission's yearly report holds,
computed from the database (syntheses, meetings, interventions, fact statistics)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from openpyxl import Workbook

from orfi.activity.models import MeetingKind
from orfi.activity.services import (
    Owner,
    count_interventions_by_bailleur,
    count_interventions_by_month,
    count_interventions_by_partner,
    count_meetings_by_kind,
)
from orfi.exports.spreadsheet import add_autofilter, xlsx_value
from orfi.extensions import db
from orfi.followup.models import Partner
from orfi.nomenclature.models import Category, Family
from orfi.patrimoine.models import Residence
from orfi.reports.models import Report
from orfi.stats.secrecy import min_count, suppress
from orfi.syntheses.models import Synthesis
from orfi.syntheses.services import Perimeter, day_bounds, qpv_label, scoped_reports

MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
    "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


SHORT_MONTHS = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août",
    "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def long_date(day: date) -> str:
    """Return ``mardi 12 mars 2026``."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def month_label(yyyymm: int) -> str:
    """Return ``mars 2026`` for 202603."""
    return f"{MONTHS[yyyymm % 100 - 1]} {yyyymm // 100}"


def month_short(yyyymm: int) -> str:
    """Return ``mars 26`` for 202603 (table headers)."""
    return f"{SHORT_MONTHS[yyyymm % 100 - 1]} {yyyymm // 100 % 100:02d}"


def months_between(date_from: date, date_to: date) -> list[int]:
    """Return the YYYYMM months from ``date_from`` to ``date_to`` included."""
    months, year, month = [], date_from.year, date_from.month
    while (year, month) <= (date_to.year, date_to.month):
        months.append(year * 100 + month)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


@dataclass
class Bilan:
    """The figures of a bilan d'activité."""

    perimeter: Perimeter
    date_from: date
    date_to: date
    syntheses: int = 0
    syntheses_sent: int = 0
    meetings: list[tuple[MeetingKind, int]] = field(default_factory=list)
    interventions: list[tuple[str, int]] = field(default_factory=list)
    #: (partner, count, of which actions on facts), most first.
    interventions_by_partner: list[tuple[Partner, int, int]] = field(
        default_factory=list
    )
    #: (bailleur, {YYYYMM: count}) in the order of ``interventions``.
    interventions_by_month: list[tuple[str, dict[int, int]]] = field(
        default_factory=list
    )
    months: list[int] = field(default_factory=list)
    facts_by_family: list[tuple[str, str, int]] = field(default_factory=list)
    facts_by_month: list[tuple[int, int]] = field(default_factory=list)
    facts_by_qpv: list[tuple[str, int]] = field(default_factory=list)
    #: A federation's bilan: the small-count threshold k (else 0), and the facts of
    #: the cells it hides (count None) in each table, pooled.
    min_count: int = 0
    hidden: dict[str, int] = field(default_factory=dict)

    @property
    def meetings_total(self) -> int:
        """Number of meetings of the period."""
        return sum(n for _, n in self.meetings)

    @property
    def interventions_total(self) -> int:
        """Number of interventions of the period."""
        return sum(n for _, n in self.interventions)

    @property
    def interventions_from_facts(self) -> int:
        """How many of the interventions are actions on facts (their follow-up)."""
        return sum(n for *_, n in self.interventions_by_partner)

    @property
    def facts_total(self) -> int:
        """Number of counted facts of the period."""
        return sum(n or 0 for *_, n in self.facts_by_family) + self.hidden.get(
            "family", 0
        )

    def protect(self, k: int) -> None:
        """Hide the fact cells of 1 to k-1 (a federation's bilan): by family, month
        and quartier, each table's hidden facts pooled in a « non précisé » row."""
        self.min_count = k
        for name, attribute in (
            ("family", "facts_by_family"),
            ("month", "facts_by_month"),
            ("qpv", "facts_by_qpv"),
        ):
            rows = getattr(self, attribute)
            cells, self.hidden[name] = suppress(
                [(row[:-1], row[-1]) for row in rows], k
            )
            setattr(self, attribute, [(*key, n) for key, n in cells])


def count_syntheses(
    perimeter: Perimeter, date_from: date, date_to: date
) -> tuple[int, int]:
    """Return how many syntheses of the perimeter the period has, and how many sent."""
    row = db.session.execute(
        db.select(sa.func.count(), sa.func.count(Synthesis.sent_at)).where(
            Synthesis.perimeter_key == perimeter.key,
            Synthesis.day.between(date_from, date_to),
        )
    ).one()
    return row[0], row[1]


def count_facts_by_family(
    perimeter: Perimeter, date_from: date, date_to: date
) -> list[tuple[str, str, int]]:
    """Return (family code, label, count) of the period's counted facts."""
    start, end = day_bounds(date_from, date_to)
    n = sa.func.count().label("n")
    query = (
        scoped_reports(perimeter, Family.code, Family.label, n)
        .join(Family, Category.family_id == Family.id)
        .where(Report.occurred_at >= start, Report.occurred_at < end)
        .group_by(Family.code, Family.label, Family.position)
        .order_by(Family.position, Family.code)
    )
    return [tuple(row) for row in db.session.execute(query)]


def count_facts_by_month(
    perimeter: Perimeter, date_from: date, date_to: date
) -> list[tuple[int, int]]:
    """Return (YYYYMM, count) of the period's counted facts, every month listed."""
    start, end = day_bounds(date_from, date_to)
    query = (
        scoped_reports(perimeter, Report.occurred_month, sa.func.count())
        .where(Report.occurred_at >= start, Report.occurred_at < end)
        .group_by(Report.occurred_month)
    )
    counts = dict(db.session.execute(query).all())
    return [
        (month, counts.get(month, 0)) for month in months_between(date_from, date_to)
    ]


def count_facts_by_qpv(
    perimeter: Perimeter, date_from: date, date_to: date
) -> list[tuple[str, int]]:
    """Return (QPV label, count) of the period's counted facts, most first, facts
    outside any QPV last."""
    start, end = day_bounds(date_from, date_to)
    n = sa.func.count().label("n")
    query = (
        scoped_reports(perimeter, Residence.qpv_code, n)
        .where(Report.occurred_at >= start, Report.occurred_at < end)
        .group_by(Residence.qpv_code)
        .order_by(n.desc(), Residence.qpv_code)
    )
    rows = list(db.session.execute(query).all())
    inside = [(qpv_label(code), count) for code, count in rows if code]
    outside = [(qpv_label(None), count) for code, count in rows if not code]
    return inside + outside


def build_bilan(
    perimeter: Perimeter, owner: Owner, date_from: date, date_to: date
) -> Bilan:
    """Return the bilan of the period: the perimeter's syntheses and facts, the
    owner's meetings and interventions."""
    bilan = Bilan(perimeter, date_from, date_to)
    bilan.syntheses, bilan.syntheses_sent = count_syntheses(
        perimeter, date_from, date_to
    )
    bilan.meetings = count_meetings_by_kind(owner, date_from, date_to)
    bilan.interventions = count_interventions_by_bailleur(owner, date_from, date_to)
    bilan.interventions_by_partner = count_interventions_by_partner(
        owner, date_from, date_to
    )
    by_month: dict[str, dict[int, int]] = {}
    for name, month, count in count_interventions_by_month(owner, date_from, date_to):
        by_month.setdefault(name, {})[month] = count
    bilan.interventions_by_month = [
        (name, by_month.get(name, {})) for name, _ in bilan.interventions
    ]
    bilan.months = months_between(date_from, date_to)
    bilan.facts_by_family = count_facts_by_family(perimeter, date_from, date_to)
    bilan.facts_by_month = count_facts_by_month(perimeter, date_from, date_to)
    bilan.facts_by_qpv = count_facts_by_qpv(perimeter, date_from, date_to)
    if perimeter.aggregated:
        bilan.protect(min_count())
    return bilan


def meeting_sentence(kind: MeetingKind, count: int) -> str:
    """Return the report's phrasing: ``Participation à 38 réunions « … »``."""
    plural = "s" if count > 1 else ""
    if kind is MeetingKind.AUTRE:
        return f"Participation à {count} autre{plural} réunion{plural}"
    return f"Participation à {count} réunion{plural} « {kind.label} »"


def of_name(name: str) -> str:
    """Return ``de`` before a name, as French writes it: ``d'Altéal``, ``des
    Chalets`` (for Les Chalets), ``du Toit`` (for Le Toit), ``de La Cité Jardins``."""
    if name.startswith("Les "):
        return f"des {name[4:]}"
    if name.startswith("Le "):
        return f"du {name[3:]}"
    if name[:1].upper() in "AEIOUYÀÂÉÈÊÎÔÛH":
        return f"d'{name}"
    return f"de {name}"


def intervention_sentence(name: str, count: int) -> str:
    """Return the report's phrasing: ``86 actions menées au profit de …``."""
    if count > 1:
        return f"{count} actions menées au profit {of_name(name)}"
    return f"{count} action menée au profit {of_name(name)}"


def _append(sheet, values: list) -> None:
    """Append a row whose texts stay text (names are never read as formulas)."""
    sheet.append([xlsx_value(sheet, value) for value in values])


HIDDEN_LABEL = "Non précisé (secret statistique)"


def _hidden_row(bilan: Bilan, table: str, head: list) -> list[list]:
    """Return the row of a table's hidden facts, if it hides any."""
    return [[*head, bilan.hidden[table]]] if bilan.hidden.get(table) else []


def _table(workbook, title: str, header: list, rows: list, total=None) -> None:
    """Add a sheet: header, rows under an autofilter, then the total row (if any)
    outside the filter, so that sorting never moves it among the rows."""
    sheet = workbook.create_sheet(title)
    _append(sheet, header)
    for row in rows:
        _append(sheet, row)
    add_autofilter(sheet, len(header), len(rows) + 1)
    if total is not None:
        _append(sheet, total)


def bilan_workbook(bilan: Bilan) -> bytes:
    """Return the bilan as an XLSX workbook, one sheet per table."""
    workbook = Workbook(write_only=True)
    period = (
        f"du {bilan.date_from.strftime('%d/%m/%Y')} au "
        f"{bilan.date_to.strftime('%d/%m/%Y')}"
    )
    summary = workbook.create_sheet("Bilan")
    _append(summary, ["Bilan d'activité", bilan.perimeter.label])
    _append(summary, ["Période", period])
    _append(summary, ["Synthèses quotidiennes", bilan.syntheses])
    _append(summary, ["dont envoyées", bilan.syntheses_sent])
    _append(summary, ["Réunions", bilan.meetings_total])
    _append(summary, ["Interventions", bilan.interventions_total])
    from_facts = bilan.interventions_from_facts
    _append(summary, ["dont actions du suivi des faits", from_facts])
    _append(summary, ["Faits (hors doublons)", bilan.facts_total])

    _table(
        workbook,
        "Réunions",
        ["Code", "Type de réunion", "Nombre"],
        [[kind.value, kind.label, count] for kind, count in bilan.meetings],
        ["", "Total", bilan.meetings_total],
    )
    _table(
        workbook,
        "Interventions",
        ["Bailleur", "Actions menées"],
        [list(row) for row in bilan.interventions],
        ["Total", bilan.interventions_total],
    )
    _table(
        workbook,
        "Interventions par service",
        ["Code", "Service contacté", "Actions menées", "dont suivi des faits"],
        [
            [partner.value, partner.label, count, from_facts]
            for partner, count, from_facts in bilan.interventions_by_partner
        ],
        ["", "Total", bilan.interventions_total, bilan.interventions_from_facts],
    )
    by_month = []
    for name, counts in bilan.interventions_by_month:
        row = [counts.get(m, 0) for m in bilan.months]
        by_month.append([name, *row, sum(row)])
    _table(
        workbook,
        "Interventions par mois",
        ["Bailleur", *(month_label(m) for m in bilan.months), "Total"],
        by_month,
    )
    _table(
        workbook,
        "Faits par famille",
        ["Code", "Famille", "Faits"],
        [list(row) for row in bilan.facts_by_family]
        + _hidden_row(bilan, "family", ["", HIDDEN_LABEL]),
        ["", "Total", bilan.facts_total],
    )
    _table(
        workbook,
        "Faits par mois",
        ["Mois", "Faits"],
        [[month_label(month), count] for month, count in bilan.facts_by_month]
        + _hidden_row(bilan, "month", [HIDDEN_LABEL]),
    )
    _table(
        workbook,
        "Faits par QPV",
        ["Quartier", "Faits"],
        [list(row) for row in bilan.facts_by_qpv]
        + _hidden_row(bilan, "qpv", [HIDDEN_LABEL]),
    )

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
