"""The daily synthesis: a day's notable facts of a perimeter against the usual level.

A perimeter is an organisation, one of its agences (a chef d'agence's) or a federation.
An organisation's or an agence's synthesis lists its notable facts; a federation's holds
counts only (by bailleur, agence and quartier), never a fact's detail.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import smtplib
import ssl
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, render_template

from orfi.auth.models import Federation, Role, User
from orfi.database import utcnow
from orfi.earlywarning import ALERTE
from orfi.errors import AccessDenied, NotFound
from orfi.extensions import db
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Agence, Organisation, Residence
from orfi.reports.models import STAFF_VICTIMS, Report
from orfi.reports.queries import counted_reports
from orfi.stats import secrecy
from orfi.surveillance.reading import Line, perimeter_lines
from orfi.syntheses.models import Synthesis
from orfi.timezone import from_local, now_local

logger = logging.getLogger(__name__)

#: A fact of this gravity or more is notable (orange, red).
NOTABLE_MIN_GRAVITY = 3
#: Categories notable whatever their gravity, with the reason shown.
NOTABLE_CATEGORIES = {
    "AB03": "Incendie",
    "AP03": "Agression physique",
    "AP04": "Agression avec arme",
}
STAFF_REASON = "Personnel victime"
GRAVITY_REASON = "Gravité 3 ou 4"
#: The usual level is the mean daily count over this many previous days.
USUAL_LEVEL_DAYS = 28
OUTSIDE_QPV = "Hors QPV"
NO_AGENCE = "Sans agence"


# --------------------------------------------------------------------------------------
# Perimeters
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Perimeter:
    """Whose facts a synthesis or a bilan covers."""

    kind: str  # "organisation", "agence" or "federation"
    id: int
    label: str
    #: The organisation's (or the federation's) code, used in file names and settings.
    code: str
    organisation_id: int | None = None
    region: str = ""

    @property
    def key(self) -> str:
        """The stable key of the perimeter (``organisation:3``)."""
        return f"{self.kind}:{self.id}"

    @property
    def aggregated(self) -> bool:
        """Whether only counts may be shown (a federation's perimeter)."""
        return self.kind == "federation"

    @property
    def slug(self) -> str:
        """A file-name friendly name: ``tmh``, ``tmh-agence-12``, ``ush-occ``."""
        base = re.sub(r"[^a-z0-9]+", "-", self.code.lower()).strip("-")
        return f"{base}-agence-{self.id}" if self.kind == "agence" else base


def organisation_perimeter(organisation: Organisation) -> Perimeter:
    """Return the perimeter of a whole organisation."""
    return Perimeter(
        "organisation",
        organisation.id,
        organisation.name,
        organisation.code,
        organisation_id=organisation.id,
    )


def agence_perimeter(agence: Agence) -> Perimeter:
    """Return the perimeter of one agence (a chef d'agence's)."""
    organisation = agence.organisation
    return Perimeter(
        "agence",
        agence.id,
        f"{organisation.name} — {agence.name}",
        organisation.code,
        organisation_id=organisation.id,
    )


def federation_perimeter(federation: Federation) -> Perimeter:
    """Return the perimeter of a federation: the bailleurs of its region."""
    return Perimeter(
        "federation",
        federation.id,
        federation.name,
        federation.code,
        region=federation.region,
    )


def perimeter_for_user(user: User) -> Perimeter:
    """Return the perimeter ``user`` reads: federation, agence or organisation."""
    if user.role is Role.FEDERATION and user.federation is not None:
        return federation_perimeter(user.federation)
    if user.reads_organisation and user.organisation is not None:
        if user.agence is not None:
            return agence_perimeter(user.agence)
        return organisation_perimeter(user.organisation)
    raise AccessDenied("Ce compte ne reçoit pas de synthèse.")


def scoped_reports(perimeter: Perimeter, *columns) -> sa.Select:
    """Return a select of ``columns`` (default: facts) over the perimeter's counted
    facts, joined to their résidence, organisation and category."""
    query = (
        db.select(*(columns or (Report,)))
        .select_from(Report)
        .join(Residence, Report.residence_id == Residence.id)
        .join(Organisation, Report.organisation_id == Organisation.id)
        .join(Category, Report.category_id == Category.id)
    )
    if perimeter.kind == "organisation":
        query = query.where(Report.organisation_id == perimeter.id)
    elif perimeter.kind == "agence":
        query = query.where(
            Report.organisation_id == perimeter.organisation_id,
            Residence.agence_id == perimeter.id,
        )
    elif perimeter.region:
        query = query.where(Organisation.region == perimeter.region)
    return counted_reports(query)


def day_bounds(first: date, last: date | None = None) -> tuple[datetime, datetime]:
    """Return the UTC instants that bound Paris days ``first`` to ``last`` included."""
    last = last or first
    return (
        from_local(datetime.combine(first, time.min)),
        from_local(datetime.combine(last + timedelta(days=1), time.min)),
    )


def notable_condition() -> sa.ColumnElement[bool]:
    """Return the condition of a notable fact (needs the category joined)."""
    return sa.or_(
        Report.gravity >= NOTABLE_MIN_GRAVITY,
        Report.victime.in_(sorted(STAFF_VICTIMS)),
        Category.code.in_(sorted(NOTABLE_CATEGORIES)),
    )


def reasons_of(gravity: int | None, victime, category_code: str) -> list[str]:
    """Return why a fact is notable (empty when it is not)."""
    reasons = []
    if gravity is not None and gravity >= NOTABLE_MIN_GRAVITY:
        reasons.append(f"Gravité {gravity}")
    if victime in STAFF_VICTIMS:
        reasons.append(STAFF_REASON)
    if category_code in NOTABLE_CATEGORIES:
        reasons.append(NOTABLE_CATEGORIES[category_code])
    return reasons


@functools.cache
def _qpv_names(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as handle:
            layer = json.load(handle)
    except (OSError, ValueError):
        logger.warning("Couche QPV illisible : %s", path)
        return {}
    return {
        f["properties"].get("code_qp"): f["properties"].get("nom_qp", "")
        for f in layer.get("features", [])
        if f.get("properties", {}).get("code_qp")
    }


def qpv_label(code: str | None) -> str:
    """Return ``Nom du quartier (QP031007)`` for a QPV code, ``Hors QPV`` for none."""
    if not code:
        return OUTSIDE_QPV
    name = _qpv_names(current_app.config["ORFI_QPV_FILE"]).get(code)
    return f"{name} ({code})" if name else code


def quartier_label(qpv_code: str | None, commune: str) -> str:
    """Return the quartier a fact is grouped in: its QPV, else the commune."""
    if qpv_code:
        return qpv_label(qpv_code)
    return f"{OUTSIDE_QPV} — {commune}" if commune else OUTSIDE_QPV


# --------------------------------------------------------------------------------------
# Building the synthesis
# --------------------------------------------------------------------------------------


@dataclass
class Group:
    """The notable facts of one bailleur, agence and quartier, against the usual."""

    bailleur: str
    agence: str
    quartier: str
    count: int
    #: Mean daily count of the 28 previous days; None when the small-count rule
    #: hides it (a federation's line whose 28 days count 1 to k-1 facts).
    usual: float | None

    @property
    def level(self) -> str:
        """``au-dessus``, ``habituel`` or ``en dessous`` of the usual level ("" when
        the usual level is hidden)."""
        return "" if self.usual is None else compare_level(self.count, self.usual)


@dataclass
class NotableFact:
    """A notable fact as the synthesis shows it (never in a federation's)."""

    report: Report
    bailleur: str
    agence: str
    quartier: str
    reasons: list[str]


@dataclass
class SynthesisData:
    """Everything a synthesis shows."""

    perimeter: Perimeter
    day: date
    total: int
    usual: float
    groups: list[Group]
    reasons: list[tuple[str, int]]
    facts: list[NotableFact] = field(default_factory=list)
    #: The small-count threshold k applied (a federation's synthesis), else 0.
    min_count: int = 0
    #: Whether reasons of 1 to k-1 facts were left out.
    reasons_hidden: bool = False
    #: Early warning: the latest week computed by the day, and the perimeter's
    #: résidences in alerte then (never in a federation's).
    warning_week: date | None = None
    warnings: list[Line] = field(default_factory=list)

    @property
    def level(self) -> str:
        """How the day compares with the usual level."""
        return compare_level(self.total, self.usual)

    @property
    def sections(self) -> list[tuple[str, list[tuple[str, list[NotableFact]]]]]:
        """The facts grouped by agence (or bailleur), then quartier."""
        result: dict[str, dict[str, list[NotableFact]]] = {}
        for fact in self.facts:
            head = (
                fact.agence
                if self.perimeter.kind != "federation"
                else f"{fact.bailleur} — {fact.agence}"
            )
            result.setdefault(head, {}).setdefault(fact.quartier, []).append(fact)
        return [
            (head, sorted(quartiers.items()))
            for head, quartiers in sorted(result.items())
        ]


def compare_level(count: int, usual: float) -> str:
    """Return how ``count`` compares with a mean daily ``usual`` count."""
    if count >= 2 * usual and count >= usual + 2:
        return "au-dessus"
    if count < usual / 2:
        return "en dessous"
    return "habituel"


def _group_counts(
    perimeter: Perimeter, start: datetime, end: datetime
) -> Counter[tuple[str, str, str]]:
    n = sa.func.count().label("n")
    agence = sa.func.coalesce(Agence.name, NO_AGENCE).label("agence")
    query = (
        scoped_reports(
            perimeter,
            Organisation.name,
            agence,
            Residence.qpv_code,
            Residence.commune_name,
            n,
        )
        .outerjoin(Agence, Residence.agence_id == Agence.id)
        .where(Report.occurred_at >= start, Report.occurred_at < end)
        .where(notable_condition())
        .group_by(
            Organisation.name,
            agence,
            Residence.qpv_code,
            Residence.commune_name,
        )
    )
    counts: Counter[tuple[str, str, str]] = Counter()
    for bailleur, agence_name, qpv, commune, count in db.session.execute(query):
        counts[(bailleur, agence_name, quartier_label(qpv, commune))] += count
    return counts


def _reason_counts(
    perimeter: Perimeter, start: datetime, end: datetime
) -> list[tuple[str, int]]:
    query = (
        scoped_reports(
            perimeter,
            Report.gravity,
            Report.victime,
            Category.code,
            sa.func.count(),
        )
        .where(Report.occurred_at >= start, Report.occurred_at < end)
        .where(notable_condition())
        .group_by(Report.gravity, Report.victime, Category.code)
    )
    counts: Counter[str] = Counter()
    for gravity, victime, code, n in db.session.execute(query):
        for reason in reasons_of(gravity, victime, code):
            counts[GRAVITY_REASON if reason.startswith("Gravité") else reason] += n
    order = [GRAVITY_REASON, STAFF_REASON, *NOTABLE_CATEGORIES.values()]
    return [(reason, counts[reason]) for reason in order if counts[reason]]


def _notable_facts(
    perimeter: Perimeter, start: datetime, end: datetime
) -> list[NotableFact]:
    query = (
        scoped_reports(perimeter)
        .where(Report.occurred_at >= start, Report.occurred_at < end)
        .where(notable_condition())
        .options(
            sa.orm.joinedload(Report.residence).joinedload(Residence.agence),
            sa.orm.joinedload(Report.category),
            sa.orm.joinedload(Report.organisation),
        )
        .order_by(Report.occurred_at, Report.id)
    )
    facts = []
    for report in db.session.scalars(query):
        residence = report.residence
        facts.append(
            NotableFact(
                report=report,
                bailleur=report.organisation.name,
                agence=residence.agence.name if residence.agence else NO_AGENCE,
                quartier=quartier_label(residence.qpv_code, residence.commune_name),
                reasons=reasons_of(
                    report.gravity, report.victime, report.category.code
                ),
            )
        )
    return facts


OTHER_QUARTIERS = "Autres quartiers"
OTHER_SECTORS = "Autres secteurs"


def build_synthesis(perimeter: Perimeter, day: date) -> SynthesisData:
    """Return the synthesis of ``day`` (Paris time) for the perimeter.

    A federation's synthesis obeys the small-count rule (:func:`protect_groups`):
    no line naming an agence or a quartier, and no reason, counts 1 to k-1 facts.
    """
    start, end = day_bounds(day)
    usual_start, _ = day_bounds(day - timedelta(days=USUAL_LEVEL_DAYS))
    today = _group_counts(perimeter, start, end)
    before = _group_counts(perimeter, usual_start, start)
    reasons = _reason_counts(perimeter, start, end)
    data = SynthesisData(
        perimeter=perimeter,
        day=day,
        total=sum(today.values()),
        usual=sum(before.values()) / USUAL_LEVEL_DAYS,
        groups=[],
        reasons=reasons,
        facts=[] if perimeter.aggregated else _notable_facts(perimeter, start, end),
    )
    if not perimeter.aggregated:
        data.warning_week, data.warnings = residences_in_alerte(perimeter, day)
    if perimeter.aggregated:
        k = data.min_count = secrecy.min_count()
        data.groups = protect_groups(today, before, k)
        data.reasons = [(label, n) for label, n in reasons if n >= k]
        data.reasons_hidden = len(data.reasons) < len(reasons)
    else:
        data.groups = [
            Group(*key, count=count, usual=before.get(key, 0) / USUAL_LEVEL_DAYS)
            for key, count in sorted(today.items())
        ]
    return data


_GroupKey = tuple[str, str, str]


def protect_groups(
    today: Counter[_GroupKey], before: Counter[_GroupKey], k: int
) -> list[Group]:
    """Return a federation's lines: (bailleur, agence, quartier) of at least k facts;
    a bailleur's smaller ones pooled by agence (« Autres quartiers ») when that
    reaches k, the rest in one line of the bailleur that names no agence nor
    quartier (« Autres secteurs », like the unlocated row of the federation files).

    A line's usual level is hidden when its 28 previous days count 1 to k-1 facts.
    """
    kept: dict[_GroupKey, list[_GroupKey]] = {}
    by_agence: dict[tuple[str, str], list[_GroupKey]] = {}
    for key, count in sorted(today.items()):
        if count >= k:
            kept[key] = [key]
        else:
            by_agence.setdefault(key[:2], []).append(key)
    rest: dict[str, list[_GroupKey]] = {}
    for (bailleur, agence), keys in by_agence.items():
        if sum(today[key] for key in keys) >= k:
            kept[(bailleur, agence, OTHER_QUARTIERS)] = keys
        else:
            rest.setdefault(bailleur, []).extend(keys)
    for bailleur, keys in rest.items():
        kept[(bailleur, "—", OTHER_SECTORS)] = keys
    groups = []
    for line, keys in sorted(kept.items()):
        previous = sum(before.get(key, 0) for key in keys)
        usual = None if secrecy.is_secret(previous, k) else previous / USUAL_LEVEL_DAYS
        groups.append(Group(*line, count=sum(today[key] for key in keys), usual=usual))
    return groups


def residences_in_alerte(perimeter: Perimeter, day: date) -> tuple[date | None, list]:
    """Return the latest early-warning week computed by ``day`` and the perimeter's
    résidences in « alerte » then."""
    ids = sa.select(Residence.id).where(
        Residence.organisation_id == perimeter.organisation_id
    )
    if perimeter.kind == "agence":
        ids = ids.where(Residence.agence_id == perimeter.id)
    return perimeter_lines(
        perimeter.organisation_id, ids, (ALERTE,), limit=100, until=day
    )


def default_day() -> date:
    """Return yesterday in Paris: the day a morning synthesis covers."""
    return now_local().date() - timedelta(days=1)


# --------------------------------------------------------------------------------------
# Recording, rendering, sending
# --------------------------------------------------------------------------------------


def record_synthesis(
    perimeter: Perimeter, day: date, *, notable_count: int, recipients: int = 0
) -> Synthesis:
    """Store (or update) the record of a generated synthesis; ``recipients`` > 0
    means it was sent now."""
    synthesis = db.session.scalar(
        db.select(Synthesis).where(
            Synthesis.perimeter_key == perimeter.key, Synthesis.day == day
        )
    )
    if synthesis is None:
        synthesis = Synthesis(
            day=day,
            perimeter_key=perimeter.key,
            organisation_id=perimeter.organisation_id,
            agence_id=perimeter.id if perimeter.kind == "agence" else None,
            federation_id=perimeter.id if perimeter.kind == "federation" else None,
        )
        db.session.add(synthesis)
    synthesis.notable_count = notable_count
    synthesis.generated_at = utcnow()
    if recipients:
        synthesis.sent_at = utcnow()
        synthesis.recipients_count = recipients
    db.session.flush()
    return synthesis


def list_synthesis_perimeters(
    organisation_codes: tuple[str, ...] = (), federation_codes: tuple[str, ...] = ()
) -> list[Perimeter]:
    """Return the perimeters to synthesise: each organisation, each agence that has a
    chef d'agence, each federation (or only the given codes)."""
    everything = not organisation_codes and not federation_codes
    perimeters: list[Perimeter] = []
    if everything or organisation_codes:
        query = db.select(Organisation).order_by(Organisation.code)
        if organisation_codes:
            query = query.where(Organisation.code.in_(organisation_codes))
        organisations = list(db.session.scalars(query))
        missing = set(organisation_codes) - {o.code for o in organisations}
        if missing:
            raise NotFound(f"Bailleur inconnu : {', '.join(sorted(missing))}.")
        for organisation in organisations:
            perimeters.append(organisation_perimeter(organisation))
            agences = db.session.scalars(
                db.select(Agence)
                .where(
                    Agence.organisation_id == organisation.id,
                    Agence.id.in_(
                        db.select(User.agence_id).where(
                            User.role == Role.DIRECTION, User.active.is_(True)
                        )
                    ),
                )
                .order_by(Agence.name)
            )
            perimeters.extend(agence_perimeter(a) for a in agences)
    if everything or federation_codes:
        query = db.select(Federation).order_by(Federation.code)
        if federation_codes:
            query = query.where(Federation.code.in_(federation_codes))
        federations = list(db.session.scalars(query))
        missing = set(federation_codes) - {f.code for f in federations}
        if missing:
            raise NotFound(f"Fédération inconnue : {', '.join(sorted(missing))}.")
        perimeters.extend(federation_perimeter(f) for f in federations)
    return perimeters


def parse_extra_recipients(setting: str) -> dict[str, list[str]]:
    """Parse ``CODE:a@x.fr,b@y.fr;CODE2:c@z.fr`` into {code: [addresses]}.

    Raises ValueError with a French message when the setting is malformed.
    """
    result: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in (setting or "").split(";"))):
        code, sep, addresses = part.partition(":")
        emails = [a.strip() for a in addresses.split(",") if a.strip()]
        if not sep or not code.strip() or not emails:
            raise ValueError(
                f"ORFI_SYNTHESE_RECIPIENTS : « {part} » n'a pas la forme "
                "CODE:adresse,adresse."
            )
        if bad := [e for e in emails if "@" not in e]:
            raise ValueError(f"ORFI_SYNTHESE_RECIPIENTS : adresse invalide {bad[0]}.")
        result.setdefault(code.strip(), []).extend(emails)
    return result


def synthesis_recipients(perimeter: Perimeter) -> list[str]:
    """Return who receives the perimeter's synthesis.

    An organisation's goes to its direction accounts (not the chefs d'agence), an
    agence's to its chefs d'agence, a federation's to its accounts; the
    ``ORFI_SYNTHESE_RECIPIENTS`` addresses of the organisation's or the federation's
    code are added to the organisation's or federation's synthesis.
    """
    query = db.select(User.email).where(User.active.is_(True))
    if perimeter.kind == "organisation":
        query = query.where(
            User.organisation_id == perimeter.id,
            User.role == Role.DIRECTION,
            User.agence_id.is_(None),
        )
    elif perimeter.kind == "agence":
        query = query.where(User.agence_id == perimeter.id, User.role == Role.DIRECTION)
    else:
        query = query.where(User.federation_id == perimeter.id)
    emails = list(db.session.scalars(query.order_by(User.email)))
    if perimeter.kind != "agence":
        extra = parse_extra_recipients(current_app.config["ORFI_SYNTHESE_RECIPIENTS"])
        emails.extend(extra.get(perimeter.code, []))
    return list(dict.fromkeys(emails))


def render_synthesis(data: SynthesisData, *, standalone: bool) -> str:
    """Return the synthesis as HTML: a self-contained document (file, e-mail) or the
    body of the web page."""
    template = "syntheses/document.html" if standalone else "syntheses/_content.html"
    return render_template(template, data=data, standalone=standalone)


def synthesis_subject(data: SynthesisData) -> str:
    """Return the e-mail subject of a synthesis."""
    # One line whatever the name holds: a line break in a header is refused.
    label = " ".join(data.perimeter.label.split())
    return (
        f"Synthèse du {data.day.strftime('%d/%m/%Y')} — {label} : "
        f"{data.total} fait{'s' if data.total != 1 else ''} marquant"
        f"{'s' if data.total != 1 else ''}"
    )


def build_message(
    data: SynthesisData, html: str, recipients: list[str]
) -> EmailMessage:
    """Return the e-mail of a synthesis: a text part and the HTML document."""
    message = EmailMessage()
    message["Subject"] = synthesis_subject(data)
    message["From"] = current_app.config["ORFI_SMTP_FROM"]
    message["To"] = ", ".join(recipients)
    message.set_content(render_template("syntheses/document.txt", data=data))
    message.add_alternative(html, subtype="html")
    return message


def send_message(message: EmailMessage) -> None:
    """Send ``message`` through the configured SMTP server."""
    config = current_app.config
    with smtplib.SMTP(
        config["ORFI_SMTP_HOST"], int(config["ORFI_SMTP_PORT"]), timeout=30
    ) as smtp:
        if int(config["ORFI_SMTP_STARTTLS"]):
            smtp.starttls(context=ssl.create_default_context())
        if config["ORFI_SMTP_USER"]:
            smtp.login(config["ORFI_SMTP_USER"], config["ORFI_SMTP_PASSWORD"])
        smtp.send_message(message)


@dataclass
class Produced:
    """What producing one synthesis did."""

    perimeter: Perimeter
    total: int
    path: Path
    recipients: int = 0
    error: str = ""


def produce_synthesis(
    perimeter: Perimeter, day: date, output_dir: Path, *, send: bool
) -> Produced:
    """Write the perimeter's synthesis of ``day`` as HTML, send it when SMTP is set,
    and record it."""
    data = build_synthesis(perimeter, day)
    html = render_synthesis(data, standalone=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"synthese-{day.isoformat()}-{perimeter.slug}.html"
    path.write_text(html, encoding="utf-8")
    result = Produced(perimeter, data.total, path)
    recipients = synthesis_recipients(perimeter) if send else []
    if send and current_app.config["ORFI_SMTP_HOST"] and recipients:
        try:
            send_message(build_message(data, html, recipients))
        except (smtplib.SMTPException, OSError) as error:
            logger.error(
                "Envoi de la synthèse %s impossible : %s", perimeter.key, error
            )
            result.error = f"envoi impossible ({error})"
        else:
            result.recipients = len(recipients)
    record_synthesis(
        perimeter, day, notable_count=data.total, recipients=result.recipients
    )
    return result
