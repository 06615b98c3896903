"""Every hostile string of tests/payloads.py is shown as text, never run.

Each payload goes into every free text a user or an import can set (description,
résidence, bâtiment, agence and organisation names, user names, category labels,
follow-up notes, complaint references, meetings, interventions, token names, names in
federation files...). Then every page, JSON answer and export where those texts appear
is fetched, and:

- HTML: the page, parsed, has exactly the elements and attributes of the same page
  built with harmless text (no injected tag, no ``on*`` handler, no ``javascript:``
  URL) and each text the place shows is found, whole, as text or attribute value;
- JSON and GeoJSON: the text comes back unchanged;
- CSV: a text a spreadsheet would read as a formula is prefixed with a quote;
  XLSX (read back with openpyxl): no cell is a formula, texts are kept as strings;
- the daily synthesis e-mail: same checks on its HTML part, its subject is one line.

One test per payload; a failure lists every place (and field) that went wrong.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from openpyxl import Workbook, load_workbook

from orfi import create_app
from orfi.activity.models import MeetingKind
from orfi.activity.services import (
    InterventionInput,
    MeetingInput,
    create_intervention,
    create_meeting,
)
from orfi.api.services import create_token
from orfi.auth.models import Federation, Role
from orfi.characters import refusal
from orfi.database import utcnow
from orfi.extensions import db
from orfi.federation.documents import build_bailleur_document
from orfi.federation.periods import parse_period
from orfi.followup.models import ActionKind, ComplaintFiler, ComplaintKind, Partner
from orfi.followup.services import (
    ActionInput,
    ComplaintInput,
    add_action,
    save_complaint,
)
from orfi.nomenclature.services import load_default_nomenclature, update_category
from orfi.patrimoine.models import (
    Batiment,
    Organisation,
    OrganisationKind,
    Residence,
)
from orfi.reports.additions import add_to_report
from orfi.reports.checks import ReportInput
from orfi.reports.creation import create_report
from orfi.reports.models import Report, Status, Victime
from orfi.reports.qualification import qualify_report
from orfi.syntheses.services import (
    build_message,
    build_synthesis,
    federation_perimeter,
    organisation_perimeter,
    render_synthesis,
)
from orfi.timezone import from_local, now_local
from tests.factories import (
    DEFAULT_PASSWORD,
    category,
    make_federation,
    make_organisation,
    make_user,
)
from tests.helpers import IsolatedRequestClient, empty_tables
from tests.payloads import IDS, PAYLOADS, Payload, starts_like_formula

BENIGN = Payload("témoin", "Texte témoin")
LATITUDE, LONGITUDE = 43.6409, 1.4327  # Les Izards, Toulouse
INSEE = "31555"
# A number as a spreadsheet shows it (French decimal comma); not a formula.
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href"})


# ------------------------------------------------------------------------- world


def fit(text: str, length: int) -> str:
    """Cut ``text`` to what a column of ``length`` characters holds."""
    return text[:length]


@dataclass
class World:
    """One bailleur (and its federation) whose every free text holds the same string.

    ``texts`` maps a field name ("residence.name", "description"...) to the text
    stored, as read back from the database: what each place must show.
    """

    code: str
    region: str
    day: date
    texts: dict[str, str] = field(default_factory=dict)
    ids: dict[str, object] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    token: str = ""
    import_page: bytes = b""


def _patrimoine_csv(text: str, *, code: str) -> bytes:
    """A patrimoine file: one résidence named ``text``, one row rejected."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    unknown = fit(text, 40) or "x"
    writer.writerow(
        ["reference", "nom", "adresse", "commune", "code_insee", "agence",
         "latitude", "longitude", "logements", unknown]
    )  # fmt: skip
    writer.writerow(
        [fit(text, 50), fit(text, 200), fit(text, 300), fit(text, 100), INSEE,
         fit(text, 200), LATITUDE, LONGITUDE, 120, ""]
    )  # fmt: skip
    # Rejected (no position): its reference is listed on the import page.
    writer.writerow([fit("R" + text, 50), "Sans position", "", "", INSEE, "", "", ""])
    return buffer.getvalue().encode("utf-8")


def build_world(text: str, *, code: str, region: str, clients: Clients) -> World:
    """Create a bailleur, its users, résidence, facts, follow-up, activity, tokens and
    a federation, with ``text`` in every free-text field; commit."""
    day = now_local().date() - timedelta(days=1)
    world = World(code=code, region=region, day=day)
    organisation = make_organisation(
        code=code,
        name=fit(text, 200),
        kind=OrganisationKind.OPH,
        region=region,
    )
    users = {
        role.value: make_user(
            organisation,
            role=role,
            email=f"{role.value}@{code.lower()}.exemple.fr",
            name=fit(text, 200),
        )
        for role in (Role.GARDIEN, Role.REFERENT, Role.ADMIN)
    }
    federation = make_federation(code=f"F{code}", name=fit(text, 200), region=region)
    users["federation"] = make_user(
        None,
        role=Role.FEDERATION,
        federation=federation,
        email=f"federation@{code.lower()}.exemple.fr",
        name=fit(text, 200),
    )
    world.emails = {key: user.email for key, user in users.items()}
    db.session.commit()

    # The résidence comes from a patrimoine import, through the administrator's page.
    admin = clients.login(users["admin"].email)
    response = admin.post(
        "/patrimoine/import",
        data={"file": (io.BytesIO(_patrimoine_csv(text, code=code)), "patrimoine.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.text
    world.import_page = response.data
    residence = db.session.scalar(
        db.select(Residence).where(Residence.organisation_id == organisation.id)
    )
    assert residence is not None, "the import created no résidence"
    batiment = Batiment(
        residence=residence, reference=fit(text, 50), address=fit(text, 300)
    )
    db.session.add(batiment)
    users["gardien"].sector.append(residence)
    chosen = category(organisation, "AB01")
    update_category(chosen, label=fit(text, 200), active=True)
    db.session.flush()

    gardien, referent = users["gardien"], users["referent"]

    def file(moment: datetime, gravity: int, *, with_batiment: bool = True) -> Report:
        report, _ = create_report(
            gardien,
            ReportInput(
                category_id=chosen.id,
                residence_id=residence.id,
                batiment_id=batiment.id if with_batiment else None,
                occurred_at=moment,
                latitude=LATITUDE,
                longitude=LONGITUDE,
                gps_accuracy_m=10.0,
                victime=Victime.PERSONNEL_BAILLEUR,
                gravity=gravity,
                description=fit(text, 500),
            ),
        )
        return report

    # Yesterday's notable fact (synthesis), five more for the federation's threshold,
    # an old grave fact without follow-up (overdue list), a fresh one (nearby).
    def at(hour: int) -> datetime:
        return from_local(datetime.combine(day, datetime.min.time()).replace(hour=hour))

    notable = file(at(10), 3)
    for hour in range(11, 16):
        file(at(hour), 1)
    overdue = file(utcnow() - timedelta(days=4), 4, with_batiment=False)
    overdue.created_at = utcnow() - timedelta(days=4)
    fresh = file(utcnow() - timedelta(minutes=30), 2)
    qualify_report(
        referent,
        notable,
        category_id=chosen.id,
        status=Status.QUALIFIE,
        gravity=3,
        comment=fit(text, 500),
    )
    add_to_report(referent, notable, comment=fit(text, 500))
    add_action(
        referent,
        notable,
        ActionInput(
            done_on=day, kind=ActionKind.SIGNALEMENT, partner=Partner.POLICE_NATIONALE,
            note=fit(text, 500),
        ),
    )  # fmt: skip
    save_complaint(
        referent,
        notable,
        ComplaintInput(
            kind=ComplaintKind.PLAINTE,
            filed_by=ComplaintFiler.BAILLEUR,
            filed_on=day,
            reference=fit(text, 60),
        ),
    )
    meeting = create_meeting(
        referent,
        MeetingInput(
            held_on=day, kind=MeetingKind.CLSPD, subject=fit(text, 200),
            partners=[Partner.POLICE_NATIONALE], residence_ids=[residence.id],
            notes=fit(text, 2000),
        ),
    )  # fmt: skip
    intervention = create_intervention(
        referent,
        InterventionInput(
            done_on=day, beneficiary_id=None, partner=Partner.POLICE_NATIONALE,
            subject=fit(text, 200), notes=fit(text, 2000), residence_id=residence.id,
            report_references=[notable.reference],
        ),
    )  # fmt: skip
    federation_meeting = create_meeting(
        users["federation"],
        MeetingInput(
            held_on=day, kind=MeetingKind.SECURITE, subject=fit(text, 200),
            bailleur_ids=[organisation.id], notes=fit(text, 2000),
        ),
    )  # fmt: skip
    create_intervention(
        users["federation"],
        InterventionInput(
            done_on=day, beneficiary_id=organisation.id,
            partner=Partner.PREFECTURE, subject=fit(text, 200),
            notes=fit(text, 2000),
        ),
    )  # fmt: skip
    token, world.token = create_token(gardien, fit(text, 100))
    # The token page is the référent's (a gardien has none): the same name there.
    create_token(referent, fit(text, 100))
    db.session.commit()

    agence = residence.agence
    world.ids = {
        "organisation": organisation.id,
        "residence": residence.id,
        "category": chosen.id,
        "notable": notable.uuid,
        "overdue": overdue.uuid,
        "fresh": fresh.uuid,
        "meeting": meeting.id,
        "intervention": intervention.id,
        "federation_meeting": federation_meeting.id,
        "admin": users["admin"].id,
    }
    world.texts = {
        "organisation": organisation.name,
        "federation": federation.name,
        "user": gardien.name,
        "agence": agence.name if agence else "",
        "residence.reference": residence.reference,
        "residence.name": residence.name,
        "residence.address": residence.address,
        "residence.commune": residence.commune_name,
        "batiment.reference": batiment.reference,
        "batiment.address": batiment.address,
        "category": chosen.label,
        "description": notable.description,
        "comment": notable.events[0].comment,
        "action.note": fit(text, 500).strip(),
        "complaint.reference": fit(text, 60).strip(),
        "meeting.subject": meeting.subject,
        "meeting.notes": meeting.notes,
        "intervention.subject": intervention.subject,
        "intervention.notes": intervention.notes,
        "token": token.name,
        "payload": text,
        # The import's report: an unknown column, a rejected row's reference.
        "import.column": normalise(fit(text, 40)),
        "import.reference": normalise(fit("R" + text, 50)),
    }
    db.session.commit()
    return world


# ------------------------------------------------------------------------ clients


class Clients:
    """One logged-in test client per e-mail, created on first use."""

    def __init__(self, app):
        self.app = app
        self._clients: dict[str, IsolatedRequestClient] = {}

    def login(self, email: str) -> IsolatedRequestClient:
        """Return a client logged in as ``email``."""
        if email not in self._clients:
            client = self.app.test_client()
            response = client.post(
                "/connexion", data={"email": email, "password": DEFAULT_PASSWORD}
            )
            assert response.status_code == 302, f"login of {email} failed"
            self._clients[email] = client
        return self._clients[email]


# ------------------------------------------------------------------------- places


@dataclass(frozen=True)
class Fetched:
    """What a place gave: its kind (html, json, csv, xlsx, text) and its body."""

    kind: str
    body: bytes


@dataclass(frozen=True)
class Place:
    """Somewhere a free text shows: a page, a JSON answer, a file, an e-mail part.

    ``shows`` names the fields (keys of :attr:`World.texts`) whose text must be found
    there, whole.
    """

    name: str
    fetch: Callable[[Clients, World], Fetched]
    shows: tuple[str, ...]


def _get(role: str, path: str | Callable[[World], str], kind: str = "html"):
    """A place read with GET by the user of ``role``."""

    def fetch(clients: Clients, world: World) -> Fetched:
        url = path(world) if callable(path) else path
        response = clients.login(world.emails[role]).get(url)
        assert response.status_code == 200, f"{url}: HTTP {response.status_code}"
        return Fetched(kind, response.data)

    return fetch


def _api(path: Callable[[World], str]):
    """A place of the JSON API, read with the gardien's token."""

    def fetch(clients: Clients, world: World) -> Fetched:
        url = path(world)
        response = clients.app.test_client().get(
            url, headers={"Authorization": f"Bearer {world.token}"}
        )
        assert response.status_code == 200, f"{url}: HTTP {response.status_code}"
        assert response.mimetype == "application/json", response.mimetype
        return Fetched("json", response.data)

    return fetch


def _form_with_errors(clients: Clients, world: World) -> Fetched:
    """The field form sent back with an error: the description comes back as typed."""
    response = clients.login(world.emails["gardien"]).post(
        "/signalements/nouveau",
        data={
            "residence": world.ids["residence"],
            "occurred_at": now_local().strftime("%Y-%m-%dT%H:%M"),
            "description": world.texts["description"],
        },
    )
    assert response.status_code == 422, response.status_code
    return Fetched("html", response.data)


def _import_result(clients: Clients, world: World) -> Fetched:
    return Fetched("html", world.import_page)


def _federation_import(clients: Clients, world: World) -> Fetched:
    """A bailleur with its own instance sends its file; the federation page lists it."""
    period = parse_period(str(world.day.year))
    organisation = db.session.get(Organisation, world.ids["organisation"])
    document = build_bailleur_document(organisation, period)
    document["bailleur"] = {**document["bailleur"], "code": f"X{world.code}"}
    client = clients.login(world.emails["federation"])
    response = client.post(
        "/federation/import",
        data={"file": (io.BytesIO(json.dumps(document).encode()), "bailleur.json")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code == 200, response.text
    return Fetched("html", response.data)


def _federation_import_refused(clients: Clients, world: World) -> Fetched:
    """A file with an unknown field named like the payload: the error names it."""
    period = parse_period(str(world.day.year))
    organisation = db.session.get(Organisation, world.ids["organisation"])
    document = build_bailleur_document(organisation, period)
    document["bailleur"] = {**document["bailleur"], "code": f"Y{world.code}"}
    document["rows"][0] = {**document["rows"][0], world.texts["payload"]: 1}
    response = clients.login(world.emails["federation"]).post(
        "/federation/import",
        data={"file": (io.BytesIO(json.dumps(document).encode()), "bailleur.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422, response.status_code
    return Fetched("html", response.data)


def _mail_part(part: str):
    """The synthesis e-mail of the bailleur: its HTML or text part, or its subject."""

    def fetch(clients: Clients, world: World) -> Fetched:
        organisation = db.session.get(Organisation, world.ids["organisation"])
        data = build_synthesis(organisation_perimeter(organisation), world.day)
        html = render_synthesis(data, standalone=True)
        message = build_message(data, html, ["direction@exemple.fr"])
        if part == "subject":
            return Fetched("subject", str(message["Subject"]).encode())
        body = message.get_body(("html",) if part == "html" else ("plain",))
        return Fetched(part if part == "html" else "text", body.get_content().encode())

    return fetch


def _federation_synthesis(clients: Clients, world: World) -> Fetched:
    federation = db.session.scalar(
        db.select(Federation).where(Federation.code == f"F{world.code}")
    )
    data = build_synthesis(federation_perimeter(federation), world.day)
    return Fetched("html", render_synthesis(data, standalone=True).encode())


def _day(world: World) -> str:
    return world.day.isoformat()


def _fact(key: str) -> Callable[[World], str]:
    return lambda world: f"/signalements/{world.ids[key]}"


def _map_data(world: World) -> str:
    bbox = f"{LONGITUDE - 0.01},{LATITUDE - 0.01},{LONGITUDE + 0.01},{LATITUDE + 0.01}"
    return f"/carte/donnees.json?z=17&bbox={bbox}&layers=residences,facts,hex,gi"


RESIDENCE = ("residence.name",)
FACT = ("category", "residence.name")
PLACES: tuple[Place, ...] = (
    # The gardien.
    Place("formulaire de signalement", _get("gardien", "/signalements/nouveau"),
          ("residence.name", "residence.reference", "batiment.reference",
           "batiment.address", "category")),
    Place("formulaire renvoyé avec erreurs", _form_with_errors,
          ("description", "residence.name")),
    Place("mes signalements", _get("gardien", "/signalements/mes"), FACT),
    Place("confirmation", _get(
        "gardien", lambda w: f"/signalements/{w.ids['fresh']}/confirmation"),
        (*FACT, "batiment.reference")),
    Place("fiche du fait (gardien)", _get("gardien", _fact("notable")),
          (*FACT, "description", "batiment.reference", "user", "comment")),
    Place("jetons d'API", _get("referent", "/compte/jetons-api/"), ("token",)),
    Place("API me", _api(lambda w: "/api/v1/me"), ("user", "organisation")),
    Place("API résidences", _api(lambda w: "/api/v1/residences"),
          ("residence.name", "residence.reference", "batiment.reference")),
    Place("API nomenclature", _api(lambda w: "/api/v1/nomenclature"), ("category",)),
    Place("API liste des faits", _api(lambda w: "/api/v1/reports"), ("description",)),
    Place("API fait", _api(lambda w: f"/api/v1/reports/{w.ids['notable']}"),
          ("description",)),
    Place("API déjà signalé ?", _api(
        lambda w: f"/api/v1/reports/nearby?category_id={w.ids['category']}"
        f"&latitude={LATITUDE}&longitude={LONGITUDE}"), ("residence.name",)),
    # The référent.
    Place("liste des faits", _get("referent", "/signalements/"), FACT),
    Place("fiche du fait (référent)", _get("referent", _fact("notable")),
          (*FACT, "description", "user", "comment", "action.note",
           "complaint.reference")),
    Place("correction du fait", _get(
        "referent", lambda w: f"/signalements/{w.ids['notable']}/corriger"),
        ("category", "description", "residence.name", "batiment.reference")),
    Place("retrait d'un détail", _get(
        "referent", lambda w: f"/signalements/{w.ids['notable']}/retirer"),
        ("description", "comment", "action.note")),
    Place("carte", _get("referent", "/carte/"), ("organisation", "residence.name")),
    Place("données de la carte", _get("referent", _map_data, "json"),
          ("residence.name", "residence.reference", "category")),
    Place("statistiques", _get("referent", "/statistiques/"),
          ("organisation", "residence.name", "category")),
    Place("statistiques CSV (résidences)", _get(
        "referent", "/statistiques/residences.csv", "csv"), RESIDENCE),
    Place("statistiques CSV (catégories)", _get(
        "referent", "/statistiques/categories.csv", "csv"), ("category",)),
    Place("suivi", _get("referent", "/suivi/"), FACT),
    Place("synthèse", _get("referent", lambda w: f"/syntheses/?date={_day(w)}"),
          ("organisation", "residence.name", "category", "agence")),
    Place("synthèse imprimable", _get(
        "referent", lambda w: f"/syntheses/imprimer?date={_day(w)}"),
        ("organisation", "residence.name", "category")),
    Place("bilan", _get("referent", lambda w: f"/syntheses/bilan?date_from={_day(w)}"
                        f"&date_to={_day(w)}"), ("organisation",)),
    Place("bilan XLSX", _get("referent", lambda w: f"/syntheses/bilan.xlsx?date_from="
                             f"{_day(w)}&date_to={_day(w)}", "xlsx"),
          ("organisation",)),
    Place("journal d'activité", _get(
        "referent", lambda w: f"/activite/?date_from={_day(w)}&date_to={_day(w)}"),
        ("meeting.subject", "meeting.notes", "intervention.subject",
         "intervention.notes", "residence.name")),
    Place("réunion (modification)", _get(
        "referent", lambda w: f"/activite/reunions/{w.ids['meeting']}"),
        ("meeting.subject", "meeting.notes", "residence.name")),
    Place("intervention (modification)", _get(
        "referent", lambda w: f"/activite/interventions/{w.ids['intervention']}"),
        ("intervention.subject", "intervention.notes", "residence.name")),
    Place("résidences", _get("referent", "/patrimoine/residences"), RESIDENCE),
    Place("fiche de la résidence", _get(
        "referent", lambda w: f"/patrimoine/residences/{w.ids['residence']}"),
        ("residence.name", "residence.reference", "residence.address",
         "residence.commune")),
    Place("export CSV", _get("referent", "/exports/signalements.csv", "csv"),
          ("description", "category", "residence.name", "residence.reference",
           "residence.commune", "batiment.reference")),
    Place("export XLSX", _get("referent", "/exports/signalements.xlsx", "xlsx"),
          ("description", "category", "residence.name", "residence.reference",
           "residence.commune", "batiment.reference")),
    Place("export GeoJSON", _get("referent", "/exports/signalements.geojson", "json"),
          ("description", "category", "residence.name", "residence.reference",
           "residence.commune", "batiment.reference")),
    Place("export fédération (aperçu)", _get(
        "referent", lambda w: f"/federation/export?period={w.day.year}"), ()),
    Place("fichier fédération JSON", _get(
        "referent", lambda w: f"/federation/export.json?period={w.day.year}", "json"),
        ("organisation", "residence.commune")),
    Place("fichier fédération CSV", _get(
        "referent", lambda w: f"/federation/export.csv?period={w.day.year}", "csv"),
        ("organisation", "residence.commune")),
    Place("fichier fédération XLSX", _get(
        "referent", lambda w: f"/federation/export.xlsx?period={w.day.year}", "xlsx"),
        ("organisation", "residence.commune")),
    Place("e-mail de synthèse (HTML)", _mail_part("html"),
          ("organisation", "residence.name", "category", "agence")),
    Place("e-mail de synthèse (texte)", _mail_part("text"),
          ("organisation", "residence.name", "category")),
    Place("e-mail de synthèse (objet)", _mail_part("subject"), ("organisation",)),
    # The administrator.
    Place("import du patrimoine (compte rendu)", _import_result,
          ("import.column", "import.reference")),
    Place("administration", _get("admin", "/admin/"), ()),
    Place("utilisateurs", _get("admin", "/admin/utilisateurs"), ("user",)),
    Place("fiche utilisateur", _get(
        "admin", lambda w: f"/admin/utilisateurs/{w.ids['admin']}"),
        ("user", "residence.name")),
    Place("nouvel utilisateur", _get("admin", "/admin/utilisateurs/nouveau"),
          ("residence.name", "agence")),
    Place("nomenclature", _get("admin", "/admin/nomenclature"), ("category",)),
    Place("catégorie (modification)", _get(
        "admin", lambda w: f"/admin/nomenclature/{w.ids['category']}"), ("category",)),
    # The federation.
    # Communes show by their official name (the résidence's INSEE code is known).
    Place("fédération", _get(
        "federation", lambda w: f"/federation/?period={w.day.year}"),
        ("organisation", "federation")),
    Place("fédération (fichier importé)", _federation_import, ("organisation",)),
    Place("fédération (fichier refusé)", _federation_import_refused, ("payload",)),
    Place("consolidation JSON", _get(
        "federation", lambda w: f"/federation/consolidation.json?period={w.day.year}",
        "json"), ("organisation", "federation", "residence.commune")),
    Place("consolidation CSV", _get(
        "federation", lambda w: f"/federation/consolidation.csv?period={w.day.year}",
        "csv"), ("organisation", "residence.commune")),
    Place("consolidation XLSX", _get(
        "federation", lambda w: f"/federation/consolidation.xlsx?period={w.day.year}",
        "xlsx"), ("organisation", "federation", "residence.commune")),
    Place("synthèse (fédération)", _get(
        "federation", lambda w: f"/syntheses/?date={_day(w)}"),
        ("organisation", "federation")),
    Place("synthèse fédération (fichier)", _federation_synthesis, ("organisation",)),
    Place("journal d'activité (fédération)", _get(
        "federation", lambda w: f"/activite/?date_from={_day(w)}&date_to={_day(w)}"),
        ("meeting.subject", "meeting.notes", "organisation")),
    Place("bilan (fédération)", _get(
        "federation", lambda w: f"/syntheses/bilan?date_from={_day(w)}"
        f"&date_to={_day(w)}"), ("organisation",)),
    Place("bilan XLSX (fédération)", _get(
        "federation", lambda w: f"/syntheses/bilan.xlsx?date_from={_day(w)}"
        f"&date_to={_day(w)}", "xlsx"), ("organisation",)),
)  # fmt: skip


# ------------------------------------------------------------------- inspections


def normalise(text: str) -> str:
    """Collapse white space as HTML does (and as imports do)."""
    return " ".join(text.split())


class PageInspector(HTMLParser):
    """Parse a page; keep its elements, attributes, texts and what could run."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.attributes: Counter[tuple[str, str]] = Counter()
        self.runnable: list[str] = []
        self.texts: list[str] = []
        self.values: list[str] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        attributes = dict(attrs)
        for name, value in attrs:
            self.attributes[(tag, name)] += 1
            if name.startswith("on"):
                self.runnable.append(f"<{tag} {name}=…>")
            if value is not None:
                self.values.append(value)
                if name in _URL_ATTRIBUTES and re.match(
                    r"\s*(javascript|data|vbscript):", value, re.IGNORECASE
                ):
                    self.runnable.append(f"<{tag} {name}={value[:30]!r}>")
        if tag == "script":
            self._script = attributes

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            kind = self._script.get("type", "")
            if "src" not in self._script and kind != "application/json":
                self.runnable.append(f"inline <script>{data[:30]!r}")
            return
        self.texts.append(data)

    @property
    def structure(self) -> tuple[Counter, Counter]:
        """Elements and attributes, counted: what an injection would change."""
        return self.tags, self.attributes

    def shows(self, text: str) -> bool:
        """Whether ``text`` is shown whole, as text or as an attribute value."""
        wanted = normalise(text)
        return wanted in normalise("".join(self.texts)) or any(
            wanted in normalise(value) for value in self.values
        )


def inspect_html(body: bytes) -> PageInspector:
    """Parse a page."""
    inspector = PageInspector()
    inspector.feed(body.decode("utf-8"))
    inspector.close()
    return inspector


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def csv_cells(body: bytes) -> list[str]:
    """Every cell of a French CSV (``;``, UTF-8 with BOM)."""
    text = body.decode("utf-8-sig")
    return [
        cell for row in csv.reader(io.StringIO(text), delimiter=";") for cell in row
    ]


def check_csv(body: bytes, texts: dict[str, str]) -> list[str]:
    """Problems of a CSV: a cell that would run as a formula, a text not found."""
    problems = []
    cells = csv_cells(body)
    for cell in cells:
        if starts_like_formula(cell) and not _NUMBER.fullmatch(cell):
            problems.append(f"cell {cell[:40]!r} would run as a formula")
    for name, text in texts.items():
        expected = "'" + text if starts_like_formula(text) else text
        if not any(cell == expected or (text and text in cell) for cell in cells):
            problems.append(f"{name} not found as a cell ({expected[:40]!r})")
    return problems


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_xlsx(body: bytes, texts: dict[str, str]) -> list[str]:
    """Problems of an XLSX: a formula cell, a text not kept as a string."""
    problems = []
    workbook = load_workbook(io.BytesIO(body))
    strings = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    problems.append(
                        f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"
                    )
                elif isinstance(cell.value, str):
                    strings.append(cell.value)
    for name, text in texts.items():
        # XML reads a line break back as "\n", and cannot hold control characters.
        kept = _lines(_XLSX_ILLEGAL.sub("", text))
        if not any(kept in _lines(value) for value in strings):
            problems.append(f"{name} not found as a text cell ({kept[:40]!r})")
    return problems


def check_json(body: bytes, texts: dict[str, str]) -> list[str]:
    """Problems of a JSON answer: a text not given back unchanged."""
    strings = list(_strings(json.loads(body)))
    return [
        f"{name} not found unchanged ({text[:40]!r})"
        for name, text in texts.items()
        if not any(text in value for value in strings)
    ]


def check_text(body: bytes, texts: dict[str, str]) -> list[str]:
    """Problems of a plain text (e-mail part): a text not found."""
    shown = normalise(body.decode("utf-8"))
    return [
        f"{name} not found ({text[:40]!r})"
        for name, text in texts.items()
        if normalise(text) not in shown
    ]


def check_subject(body: bytes, texts: dict[str, str]) -> list[str]:
    """Problems of an e-mail subject: several lines (header injection)."""
    subject = body.decode("utf-8")
    problems = [] if "\n" not in subject and "\r" not in subject else ["several lines"]
    return problems + check_text(body, texts)


def check_html(
    body: bytes, texts: dict[str, str], baseline: tuple[Counter, Counter] | None
) -> list[str]:
    """Problems of a page: injected elements or attributes, runnable code, a text
    not shown whole."""
    page = inspect_html(body)
    problems = list(page.runnable)
    if baseline is not None:
        tags, attributes = page.structure
        extra_tags = (tags - baseline[0]) + (baseline[0] - tags)
        extra_attributes = (attributes - baseline[1]) + (baseline[1] - attributes)
        if extra_tags or extra_attributes:
            problems.append(
                "structure differs from the same page with harmless text: "
                f"elements {dict(extra_tags)}, attributes {dict(extra_attributes)}"
            )
    problems.extend(
        f"{name} not shown as text ({text[:40]!r})"
        for name, text in texts.items()
        if not page.shows(text)
    )
    return problems


def check(fetched: Fetched, texts: dict[str, str], baseline) -> list[str]:
    """Check what a place gave for ``texts`` (the fields it shows)."""
    checkers = {
        "csv": check_csv,
        "xlsx": check_xlsx,
        "json": check_json,
        "text": check_text,
        "subject": check_subject,
    }
    if fetched.kind == "html":
        return check_html(fetched.body, texts, baseline)
    return checkers[fetched.kind](fetched.body, texts)


# ----------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def escaping_app(test_config, _schema):
    """One app for the module: its templates are compiled once for every payload."""
    app = create_app(test_config)
    app.test_client_class = IsolatedRequestClient
    yield app
    with app.app_context():
        db.engine.dispose()


@contextmanager
def _context(app) -> Iterator[None]:
    """An app context whose data are deleted at the end, whatever happened."""
    with app.app_context():
        try:
            load_default_nomenclature()
            yield
        finally:
            db.session.rollback()
            empty_tables()
            db.session.remove()


@pytest.fixture(scope="module")
def baselines(escaping_app) -> dict[str, tuple[Counter, Counter]]:
    """The structure of every HTML place built with harmless text (then cleaned up)."""
    structures = {}
    with _context(escaping_app):
        clients = Clients(escaping_app)
        world = build_world(BENIGN.text, code="HOS", region="Occitanie",
                            clients=clients)  # fmt: skip
        for place in PLACES:
            fetched = place.fetch(clients, world)
            if fetched.kind == "html":
                page = inspect_html(fetched.body)
                assert not page.runnable, (place.name, page.runnable)
                structures[place.name] = page.structure
    return structures


# -------------------------------------------------------------------------- tests


def test_the_payloads_cover_what_the_issue_lists():
    texts = [p.text for p in PAYLOADS]
    assert any("<script>" in t for t in texts)
    assert any("onerror" in t for t in texts)
    assert any(t.startswith("javascript:") for t in texts)
    assert any("{{7*7}}" in t for t in texts)
    assert any("</script>" in t for t in texts)
    assert any("onload" in t and "<svg" in t for t in texts)
    assert {t[0] for t in texts if starts_like_formula(t)} >= {"=", "+", "-", "@", "\t"}
    assert any(t[0] == "\r" for t in texts)
    assert any("\u202e" in t for t in texts)
    assert any(len(t) > 500 for t in texts)
    assert len(set(IDS)) == len(IDS)


MARKUP = [p for p in PAYLOADS if any(c in p.text for c in "<>\"'&")]


@pytest.mark.parametrize("payload", MARKUP, ids=[p.id for p in MARKUP])
def test_the_page_check_sees_a_payload_left_unescaped(payload):
    page = "<main><p title=\"{0}\" data-x='{0}'>{1}</p><ul><li>{1}</li></ul></main>"
    baseline = inspect_html(page.format("x", "x").encode()).structure
    text = payload.text
    escaped = page.format(html.escape(text), html.escape(text)).encode()
    assert check_html(escaped, {"field": text}, baseline) == []
    raw = page.format(text, text).encode()
    assert check_html(raw, {"field": text}, baseline) != []


def test_the_file_checks_see_a_formula():
    formula = '=HYPERLINK("http://intrus.invalid";"x")'

    def csv_file(*cells) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=";").writerows([["nom", "faits"], cells])
        return buffer.getvalue().encode("utf-8-sig")

    assert check_csv(csv_file(formula, 1), {"f": formula})
    assert check_csv(csv_file("'" + formula, 1), {"f": formula}) == []
    assert check_csv(csv_file("x", -2), {}) == []  # a negative number is no formula
    workbook = Workbook()
    workbook.active.append([formula])
    body = io.BytesIO()
    workbook.save(body)
    assert check_xlsx(body.getvalue(), {}) != []


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_payload_is_shown_as_text_everywhere(escaping_app, baselines, payload):
    with _context(escaping_app):
        check_everywhere(escaping_app, baselines, payload)


def check_everywhere(app, baselines: dict, payload: Payload) -> None:
    """Put ``payload`` in every free text, then check every place where it shows."""
    clients = Clients(app)
    world = build_world(payload.text, code="HOS", region="Occitanie", clients=clients)
    # The payload reached every field (whole, or cut to the column's length).
    for name, text in world.texts.items():
        assert normalise(text), f"{name} is empty"
    problems = []
    for place in PLACES:
        fetched = place.fetch(clients, world)
        texts = {name: world.texts[name] for name in place.shows}
        baseline = baselines.get(place.name)
        if place.fetch is _form_with_errors and refusal(payload.text, multiline=True):
            baseline = None  # the form refuses the text: its error list is expected
        for problem in check(fetched, texts, baseline):
            problems.append(f"{payload.id} @ {place.name}: {problem}")
    assert not problems, "\n".join(problems)
