"""The isolation walk: every route of the URL map, aimed at objects out of reach.

Bailleur A's users of every role, two federations, anonymous visitors and API tokens
walk every endpoint of ``app.url_map`` with the identifiers of bailleur B's objects
(facts, résidences, bâtiments, users, photos, follow-up, activity log, API tokens,
categories). Object routes answer 403 or 404 (anonymous visitors: the login page, or
401 under /api/); lists, pages and exports answer what they like but never show B's
data, whatever filter points at B's ids; writes change nothing of B. Then A's gardien
of sector 1 and A's chef d'agence of agence 1 walk the same routes with the facts of
sector/agence 2, and so do both federations: a federation never reaches a fact.

``ROUTES`` says how to fill each endpoint's URL with the target's objects; ``PUBLIC``
names the endpoints public on purpose. An endpoint in neither fails
:func:`test_every_route_is_walked`. Each object route is also walked by B's own user
(its "owner"), who must get through: a 404 of the walk is then the perimeter's, not a
wrong URL's. List routes whose owner sees B's data prove that the markers searched
for are readable in that format (CSV, XLSX, JSON…).

The world is built once for the module (requests only read it; a write that got
through is reported with the endpoint that made it), then the database is emptied as
after any test.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from orfi import create_app
from orfi.alerts.models import PushDevice
from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.extensions import db
from orfi.federation.documents import document_for, organisation_identity
from orfi.federation.imports import import_documents
from orfi.federation.models import FederationImport
from orfi.federation.native import min_count
from orfi.federation.periods import Period
from orfi.notifications.models import AlertSubscription, InboxMessage, Rhythm
from orfi.reports.additions import add_to_report
from orfi.reports.qualification import mark_duplicate
from orfi.security.models import UserSession
from orfi.stats.services import TABLE_SLUGS
from orfi.timezone import from_local, now_local
from tests.factories import (
    DEFAULT_PASSWORD,
    TOULOUSE,
    category,
    jpeg_bytes,
    make_action,
    make_agence,
    make_batiment,
    make_category,
    make_complaint,
    make_federation,
    make_intervention,
    make_meeting,
    make_organisation,
    make_photo,
    make_report,
    make_residence,
    make_token,
    make_user,
)
from tests.helpers import IsolatedRequestClient, empty_tables

OBJECT, LIST = "object", "list"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Columns that a login or an API call rewrites on the caller's own row.
VOLATILE_COLUMNS = frozenset(
    {("user_account", "last_login_at"), ("api_token", "last_used_at")}
)
#: URL arguments that name a fact (or its photo): a federation never reaches them.
FACT_ARGUMENTS = frozenset({"report_uuid", "photo_uuid"})

# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class Side:
    """The objects a walk aims at (B's, or A's other sector), as plain identifiers."""

    name: str
    organisation: SimpleNamespace
    agence: SimpleNamespace
    residence: SimpleNamespace
    batiment: SimpleNamespace
    category: SimpleNamespace  # its AB01
    local_category: SimpleNamespace  # a category it added
    fact: SimpleNamespace  # with a photo and an intervention
    fact2: SimpleNamespace  # with a follow-up action and a complaint
    duplicate: SimpleNamespace  # a duplicate of ``fact``
    addition: SimpleNamespace  # a complement added to ``fact`` ("Déjà signalé ?")
    photo: SimpleNamespace
    user: SimpleNamespace
    meeting: SimpleNamespace
    intervention: SimpleNamespace
    token: SimpleNamespace
    federation_import: SimpleNamespace  # a file of its region's federation
    # The walkers' own AB01 and résidence (bailleur A's, sector and agence 1).
    own_category: SimpleNamespace
    own_residence: SimpleNamespace
    # Strings that must not show, by class: "fact" (facts, people, free text) for
    # everyone; "patrimoine" (names of bailleur, résidences…) except for a federation
    # whose region holds the bailleur (its activity log names them, its view counts).
    markers: dict[str, tuple[str, ...]]
    # Rows whose dependants (by foreign key, recursively) must not change.
    roots: tuple[tuple[str, int], ...]
    login: SimpleNamespace | None = None  # a session of its owner (b_referent)
    action: SimpleNamespace | None = None  # the follow-up action of ``fact2``
    device: SimpleNamespace | None = None  # a browser receiving its user's alerts
    message: SimpleNamespace | None = None  # an alert in a user's inbox (issue 11)
    rule: SimpleNamespace | None = None  # a user's alert rule (« Mes alertes »)


def make_device(user) -> PushDevice:
    """A browser that receives ``user``'s alerts by Web Push."""
    device = PushDevice(
        user_id=user.id,
        endpoint=f"https://push.example/{uuid.uuid4().hex}",
        p256dh="B" + "A" * 86,
        auth="A" * 22,
        label="Zorglub",
    )
    db.session.add(device)
    db.session.flush()
    return device


def first_message(user) -> InboxMessage:
    """The first alert in ``user``'s inbox."""
    return db.session.scalars(
        sa.select(InboxMessage)
        .where(InboxMessage.user_id == user.id)
        .order_by(InboxMessage.id)
    ).first()


def make_rule(user) -> AlertSubscription:
    """An alert rule of ``user`` (grave facts, immediately, in the inbox)."""
    rule = AlertSubscription(
        user_id=user.id, kinds=["grave"], rhythm=Rhythm.IMMEDIATE, channels=["inbox"]
    )
    db.session.add(rule)
    db.session.flush()
    return rule


def make_login(user) -> UserSession:
    """A session of ``user``, as a login on another device leaves it."""
    login = UserSession(key_hash=uuid.uuid4().hex * 2, user_id=user.id)
    db.session.add(login)
    db.session.flush()
    return login


def ref(row) -> SimpleNamespace:
    """The identifiers of a row, read once: the walk never reloads the world."""
    names = ("id", "uuid", "reference", "code", "email", "family_id", "client_uuid")
    names += ("latitude", "longitude")  # a résidence's sector of the map
    return SimpleNamespace(**{n: getattr(row, n) for n in names if hasattr(row, n)})


@dataclass(frozen=True)
class Actor:
    """Who sends a request: a session user, an API token, or nobody."""

    key: str
    email: str | None = None
    token: str | None = None
    # "all" routes, "api" routes only (tokens), or "pages" only (a token sent to a
    # page must not open it).
    scope: str = "all"
    sees_patrimoine: bool = False

    @property
    def anonymous(self) -> bool:
        """Whether the routes it walks must take it for an anonymous visitor."""
        return self.email is None and (self.token is None or self.scope == "pages")


def _yesterday_noon() -> datetime:
    return from_local(
        datetime.combine(now_local().date() - timedelta(days=1), time(12))
    )


def _overdue(report) -> None:
    """Make a fact filed five days ago (grave and without action: "overdue")."""
    report.created_at = utcnow() - timedelta(days=5)


def import_history(organisation, year: int) -> FederationImport:
    """The file of a bailleur's ``year`` (no fact here then), imported as the
    federation of its region does: an import that federation may remove."""
    identity = organisation_identity(organisation)
    import_documents([document_for(identity, Period.year(year), [], min_count())], b"")
    return db.session.scalar(
        sa.select(FederationImport).where(
            FederationImport.bailleur_code == organisation.code,
            FederationImport.period_from == year * 100 + 1,
        )
    )


def build_world() -> SimpleNamespace:
    """Bailleur A (every role, two agences and sectors), bailleur B, federations."""
    a = make_organisation(code="WALKA", name="Alpha Logis", region="Occitanie")
    agence_1, agence_2 = make_agence(a, name="Agence Nord"), make_agence(a, name="Sud")
    res_1 = make_residence(a, agence=agence_1, name="Residence Marmotte")
    res_2 = make_residence(a, agence=agence_2, name="Residence Okapi", reference="OK1")
    bat_2 = make_batiment(res_2, reference="OKB-1")
    make_batiment(res_1)
    gardien = make_user(a, role=Role.GARDIEN, sector=[res_1], email="g1@alpha.example")
    gardien_2 = make_user(
        a, role=Role.GARDIEN, sector=[res_2], email="g2@alpha.example"
    )
    referent = make_user(a, role=Role.REFERENT, email="referent@alpha.example")
    users_a = {
        "gardien": gardien,
        "referent": referent,
        "direction": make_user(a, role=Role.DIRECTION, email="dir@alpha.example"),
        "chef_agence": make_user(
            a, role=Role.DIRECTION, agence=agence_1, email="chef@alpha.example"
        ),
        "admin": make_user(a, role=Role.ADMIN, email="admin@alpha.example"),
    }
    a_local = make_category(a, code="AU43", label="Categorie Alpha")
    a_1 = make_report(gardien, res_1, description="Fait Marmotte", gravity=4)
    a_2 = make_report(gardien_2, res_2, description="Fait Pangolin", gravity=4)
    a_2b = make_report(
        gardien_2,
        res_2,
        description="Autre Pangolin",
        gravity=4,
        occurred_at=_yesterday_noon(),
    )
    a_2dup = make_report(gardien_2, res_2, description="Doublon Pangolin")
    mark_duplicate(referent, a_2dup, a_2)
    _overdue(a_2)
    a_2photo = make_photo(a_2)
    a_2addition, _ = add_to_report(referent, a_2, comment="Complement Pangolin")
    a_1photo = make_photo(a_1)
    a_2action = make_action(a_2b, referent, note="Suivi Pangolin")
    a_meeting = make_meeting(referent, subject="Reunion Alpha")
    a_intervention = make_intervention(referent, subject="Intervention Alpha")
    a_2token, _ = make_token(gardien_2, "Jeton Pangolin")
    secrets = {
        key: make_token(user, f"Jeton {key}")[1] for key, user in users_a.items()
    }

    b = make_organisation(code="ZBRV", name="Zephyr Habitat", region="Occitanie")
    b_agence = make_agence(b, name="Agence Quetzal")
    b_res = make_residence(
        b,
        agence=b_agence,
        name="Residence Quetzal",
        reference="QRES-01",
        commune_name="Quetzalville",
    )
    b_bat = make_batiment(b_res, reference="QBAT-07")
    b_gardien = make_user(
        b, role=Role.GARDIEN, sector=[b_res], email="gardien@zbrv.example",
        name="Gardien Zorglub",
    )  # fmt: skip
    b_referent = make_user(
        b, role=Role.REFERENT, email="referent@zbrv.example", name="Referent Zorglub"
    )
    b_admin = make_user(
        b, role=Role.ADMIN, email="admin@zbrv.example", name="Admin Zorglub"
    )
    b_local = make_category(b, code="AU42", label="Categorie Quetzal")
    b_1 = make_report(
        b_gardien, b_res, description="Fait Zorglub", gravity=4, batiment_id=b_bat.id
    )
    b_2 = make_report(
        b_gardien,
        b_res,
        category_code="AU42",
        description="Autre Zorglub",
        gravity=4,
        occurred_at=_yesterday_noon(),
    )
    b_dup = make_report(b_referent, b_res, description="Doublon Zorglub")
    b_probe_dup = make_report(b_referent, b_res, description="Sonde Zorglub")
    for duplicate in (b_dup, b_probe_dup):
        mark_duplicate(b_referent, duplicate, b_1)
    _overdue(b_1)
    b_photo, b_probe_photo = make_photo(b_1), make_photo(b_1)
    b_addition, _ = add_to_report(b_referent, b_1, comment="Complement Zorglub")
    b_action = make_action(b_2, b_referent, note="Suivi Zorglub")
    b_probe_action = make_action(b_2, b_referent, note="Sonde Zorglub")
    make_complaint(b_2, b_referent, reference="PV Zorglub 77")
    b_meetings = [
        make_meeting(b_referent, subject="Reunion Zorglub", residence_ids=[b_res.id])
        for _ in range(2)
    ]
    b_interventions = [
        make_intervention(
            b_referent,
            subject="Intervention Zorglub",
            residence_id=b_res.id,
            report_references=[b_1.reference],
        )
        for _ in range(2)
    ]
    b_tokens = [make_token(b_referent, "Jeton Zorglub")[0] for _ in range(2)]
    b_logins = [make_login(b_referent) for _ in range(2)]
    b_devices = [make_device(b_referent) for _ in range(2)]
    b_probe_user = make_user(b, email="sonde@zbrv.example", name="Sonde Zorglub")
    # Alerts (issue 11): inbox messages of the grave facts above, and rules.
    b_message, a_2message = first_message(b_referent), first_message(referent)
    b_rules = [make_rule(b_referent) for _ in range(2)]
    a_2rule = make_rule(gardien_2)

    occitanie = make_federation(code="FEDOCC", name="USH Occitanie", region="Occitanie")
    bretagne = make_federation(code="FEDBZH", name="AR Bretagne", region="Bretagne")
    make_user(role=Role.FEDERATION, federation=occitanie, email="fed@occ.example")
    make_user(role=Role.FEDERATION, federation=bretagne, email="fed@bzh.example")
    # Files of A's and B's history, imported for the Occitanie federation.
    a_import, b_import, b_probe_import = (
        import_history(a, 2019), import_history(b, 2019), import_history(b, 2018)
    )  # fmt: skip

    b_facts = (b_1, b_2, b_dup, b_probe_dup)
    side_b = Side(
        name="B",
        organisation=ref(b),
        agence=ref(b_agence),
        residence=ref(b_res),
        batiment=ref(b_bat),
        category=ref(category(b)),
        local_category=ref(b_local),
        fact=ref(b_1),
        fact2=ref(b_2),
        duplicate=ref(b_dup),
        addition=ref(b_addition),
        photo=ref(b_photo),
        user=ref(b_gardien),
        meeting=ref(b_meetings[0]),
        intervention=ref(b_interventions[0]),
        token=ref(b_tokens[0]),
        federation_import=ref(b_import),
        own_category=ref(category(a)),
        own_residence=ref(res_1),
        markers={
            "fact": (
                *(r.reference for r in b_facts),
                *(str(r.uuid) for r in b_facts),
                str(b_photo.uuid),
                str(b_probe_photo.uuid),
                "Zorglub",
                "zbrv.example",
            ),
            "patrimoine": ("ZBRV", "Zephyr", "Quetzal", "QRES-01", "QBAT-07"),
        },
        roots=(("organisation", b.id), ("federation_import", b_import.id)),
        login=ref(b_logins[0]),
        action=ref(b_action),
        device=ref(b_devices[0]),
        message=ref(b_message),
        rule=ref(b_rules[0]),
    )
    a_2facts = (a_2, a_2b, a_2dup)
    side_a2 = Side(
        name="A2",
        organisation=ref(a),
        agence=ref(agence_2),
        residence=ref(res_2),
        batiment=ref(bat_2),
        category=ref(category(a)),
        local_category=ref(a_local),
        fact=ref(a_2),
        fact2=ref(a_2b),
        duplicate=ref(a_2dup),
        addition=ref(a_2addition),
        photo=ref(a_2photo),
        user=ref(gardien_2),
        meeting=ref(a_meeting),
        intervention=ref(a_intervention),
        token=ref(a_2token),
        federation_import=ref(a_import),
        own_category=ref(category(a)),
        own_residence=ref(res_1),
        markers={
            "fact": (
                *(r.reference for r in a_2facts),
                *(str(r.uuid) for r in a_2facts),
                str(a_2photo.uuid),
                "Pangolin",
            ),
            "patrimoine": ("Okapi", "OKB-1"),
        },
        roots=(
            ("residence", res_2.id),
            ("agence", agence_2.id),
            ("user_account", gardien_2.id),
            ("federation_import", a_import.id),
        ),
        action=ref(a_2action),
        message=ref(a_2message),
        rule=ref(a_2rule),
    )
    # B's objects that its owner's controls may delete or change.
    probe_b = replace(
        side_b,
        duplicate=ref(b_probe_dup),
        photo=ref(b_probe_photo),
        meeting=ref(b_meetings[1]),
        intervention=ref(b_interventions[1]),
        token=ref(b_tokens[1]),
        federation_import=ref(b_probe_import),
        login=ref(b_logins[1]),
        user=ref(b_probe_user),
        action=ref(b_probe_action),
        device=ref(b_devices[1]),
        rule=ref(b_rules[1]),
    )

    session = [Actor(key, user.email) for key, user in users_a.items()]
    tokens = [
        Actor(f"{key}/jeton", token=secret, scope="api")
        for key, secret in secrets.items()
    ]
    federations = [
        Actor("federation_region", "fed@occ.example", sees_patrimoine=True),
        Actor("federation_autre", "fed@bzh.example"),
    ]
    strangers = [
        Actor("anonyme"),
        Actor("jeton_sur_page", token=secrets["admin"], scope="pages"),
    ]
    walkers_1 = ("gardien", "chef_agence")
    return SimpleNamespace(
        b=side_b,
        a2=side_a2,
        probe_b=probe_b,
        ghost=ghost_of(side_b),
        a_1=ref(a_1),
        # A's own objects, that A's walkers reach (sector and agence 1).
        mine=SimpleNamespace(
            fact=ref(a_1),
            photo=ref(a_1photo),
            residence=ref(res_1),
            user=ref(gardien),
            category=ref(a_local),
            meeting=ref(a_meeting),
            intervention=ref(a_intervention),
        ),
        actors_b=[*session, *federations, *tokens, *strangers],
        actors_a2=[
            *(a for a in session if a.key in walkers_1),
            *(a for a in tokens if a.key.split("/")[0] in walkers_1),
            *federations,
        ],
        owners={
            "b_gardien": Actor("b_gardien", b_gardien.email),
            "b_referent": Actor("b_referent", b_referent.email),
            "b_admin": Actor("b_admin", b_admin.email),
            # B is in its region: its view counts B's facts (names, no fact).
            "federation_region": federations[0],
        },
        own={key: Actor(key, user.email) for key, user in users_a.items()},
        own_tokens=tokens,
    )


def ghost_of(side: Side) -> Side:
    """``side`` with identifiers that name no row: what "not found" answers."""
    ghost = SimpleNamespace(
        id=2**31 - 1, uuid=uuid.uuid4(), reference="GHOST-2000-000001",
        code="GHOST", email="nobody@ghost.example", family_id=2**31 - 1,
        client_uuid=uuid.uuid4(),
    )  # fmt: skip
    objects = ("agence", "residence", "batiment", "category", "local_category", "fact",
               "fact2", "duplicate", "addition", "photo", "user", "meeting",
               "intervention", "token", "federation_import", "action")  # fmt: skip
    return replace(side, name="ghost", **dict.fromkeys(objects, ghost))


# ------------------------------------------------------------------- URL, bodies


def today() -> str:
    return now_local().date().isoformat()


def an_hour_ago() -> str:
    return (now_local() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")


def b_filters(s: Side) -> dict:
    """The map and statistics filters, pointed at the target's ids."""
    return {
        "residence": s.residence.id,
        "agence": s.agence.id,
        "nature": s.local_category.code,
    }


def b_sector(s: Side) -> str:
    """The map sector (H3 cell, street block) of the target's résidence (the ghost's
    résidence has no position: a sector in the ocean)."""
    import h3

    place = s.residence
    return h3.latlng_to_cell(
        getattr(place, "latitude", 0.0), getattr(place, "longitude", 0.0), 9
    )


def list_filters(s: Side) -> dict:
    """The facts list's filters (pages and exports), pointed at the target's ids."""
    return {"residence": s.residence.id, "category": s.category.id}


def queue_filters(s: Side) -> dict:
    """The work queue's search and filters (issue 11), pointed at the target."""
    return {
        "q": s.fact.reference,
        "agence": s.agence.id,
        "author": s.user.id,
        "sort": "residence",
    }


def report_form(s: Side, **overrides) -> dict:
    """A fact filed on the target's résidence and category."""
    values = {
        "client_uuid": str(uuid.uuid4()),
        "category": s.category.id,
        "residence": s.residence.id,
        "batiment": s.batiment.id,
        "occurred_at": an_hour_ago(),
        "latitude": TOULOUSE[0],
        "longitude": TOULOUSE[1],
        "gps_accuracy_m": 10,
        "location_source": "gps",
        "description": "Intrusion",
    }
    return {**values, **overrides}


def report_json(s: Side, **overrides) -> dict:
    """The API's new fact, on the target's résidence and category."""
    values = {
        "uuid": str(uuid.uuid4()),
        "category_id": s.category.id,
        "residence_id": s.residence.id,
        "occurred_at": now_local().isoformat(timespec="minutes"),
        "latitude": TOULOUSE[0],
        "longitude": TOULOUSE[1],
    }
    return {**values, **overrides}


def meeting_form(s: Side) -> dict:
    return {
        "held_on": today(),
        "kind": "clspd",
        "subject": "Intrusion",
        "partners": ["police_nationale"],
        "bailleurs": [s.organisation.id],
        "residences": [s.residence.id],
    }


def intervention_form(s: Side) -> dict:
    return {
        "done_on": today(),
        "beneficiary": s.organisation.id,
        "partner": "gendarmerie",
        "subject": "Intrusion",
        "residence": s.residence.id,
        "reports": s.fact.reference,
    }


def a_photo(name: str) -> dict:
    return {name: (io.BytesIO(jpeg_bytes()), "photo.jpg")}


# ------------------------------------------------------------------- the tables


@dataclass(frozen=True)
class Route:
    """How to walk one endpoint: its URL values, query strings and bodies."""

    kind: str
    # Each returns one dict or a list of variants.
    values: Callable[[Side], dict | list[dict]] = lambda s: {}
    queries: Callable[[Side], dict | list[dict]] = lambda s: {}
    # The body of the write methods (one dict or variants); JSON for the API.
    body: Callable[[Side], dict | list[dict] | None] = lambda s: None
    json: bool = False
    # B's user who does reach the route, and the harmless body they send to a write
    # method (their request must get past the perimeter check: not 401/403/404).
    owner: str = "b_referent"
    control: Callable[[Side], dict | None] | None = None
    # The owner's control deletes or changes its object: it runs on B's probes.
    destructive: bool = False
    # Whether B's data shows to its owner on this list (for every URL variant, or
    # for those the function accepts): proves the markers are readable there.
    owner_sees: bool | Callable[[dict], bool] = False
    # A's own object of the same kind (URL values), and the body naming B's ids
    # that a write to it sends: refused or ignored, B unchanged, none of B shown.
    own: Callable[[SimpleNamespace], dict] | None = None
    own_body: Callable[[Side], dict | None] | None = None
    # Log in anew for each request (the route ends the session).
    fresh_session: bool = False
    # "actor-key METHOD": why that request is legitimate and not walked.
    skip: dict[str, str] = field(default_factory=dict)


def obj(values, **options) -> Route:
    """A route that names one object of the target: 403 or 404 for every walker."""
    return Route(OBJECT, values=values, **options)


def page(**options) -> Route:
    """A route that names no object: any answer, but none of the target's data."""
    return Route(LIST, **options)


def fact(s: Side) -> dict:
    return {"report_uuid": s.fact.uuid}


def photo(s: Side) -> dict:
    return {"photo_uuid": s.photo.uuid}


#: Every layer of the map, zoomed in on Toulouse (facts one by one).
MAP_VIEW = {
    "layers": "hex,gi,heat,residences,facts",
    "z": "17",
    "bbox": "1.40,43.58,1.49,43.63",
}
#: The statistics tables that name résidences, categories or QPV.
NAMING_TABLES = ("categories", "residences", "residences_toutes", "qpv", "comparaison")

FEDERATION_REGION_LOGS = (
    "B is in the federation's region: logging a meeting for its bailleurs is the "
    "chargé de mission's work (it names them, never their facts)"
)

ROUTES: dict[str, Route] = {
    # ------------------------------------------------------------- activity log
    "activity.index": page(
        queries=lambda s: [{}, {"date_from": "2020-01-01", "date_to": today()}],
        owner_sees=True,
    ),
    "activity.residence_search": page(queries=lambda s: [{"q": s.residence.reference}]),
    "activity.new_meeting": page(
        body=meeting_form,
        skip={"federation_region POST": FEDERATION_REGION_LOGS},
    ),
    "activity.edit_meeting": obj(
        lambda s: {"meeting_id": s.meeting.id},
        body=meeting_form,
        control=lambda s: {"held_on": ""},
        own=lambda a: {"meeting_id": a.meeting.id},
        own_body=meeting_form,
    ),
    "activity.remove_meeting": obj(
        lambda s: {"meeting_id": s.meeting.id}, destructive=True
    ),
    "activity.new_intervention": page(body=intervention_form),
    "activity.edit_intervention": obj(
        lambda s: {"intervention_id": s.intervention.id},
        body=intervention_form,
        control=lambda s: {"done_on": ""},
        own=lambda a: {"intervention_id": a.intervention.id},
        own_body=intervention_form,
    ),
    "activity.remove_intervention": obj(
        lambda s: {"intervention_id": s.intervention.id}, destructive=True
    ),
    # ------------------------------------------------------------ administration
    "admin.index": page(),
    # ------------------------------------------------------------ early warning
    # Asks the worker to recompute the caller's own bailleur: never B's.
    "surveillance.recompute": page(body=lambda s: {}),
    # ------------------------------------------------------------------- alerts
    "alerts.inbox": page(owner_sees=True),
    "alerts.read": obj(
        lambda s: {"message_id": s.message.id}, body=lambda s: {}, control=lambda s: {}
    ),
    "alerts.read_all": page(
        body=lambda s: {},
        skip={
            f"{key} POST": "marks the caller's own alerts read: facts of agence 2 "
            "they may read, not B's"
            for key in ("referent", "direction")
        },
    ),
    "alerts.settings": page(
        body=lambda s: [
            {
                "kinds": ["grave"],
                "rhythm": "immediate",
                "channels": ["inbox"],
                "agence": s.agence.id,
            },
            {
                "kinds": ["grave"],
                "rhythm": "immediate",
                "channels": ["inbox"],
                "residences": s.residence.reference,
            },
        ]
    ),  # fmt: skip
    "alerts.delete": obj(
        lambda s: {"rule_id": s.rule.id}, body=lambda s: {}, destructive=True
    ),
    "alerts.deliveries": page(owner="b_admin", owner_sees=True),
    "alerts.test_message": page(
        values=lambda s: [{"channel": c} for c in ("email", "push", "inbox")],
        body=lambda s: {},
    ),
    "alerts.user_rules": obj(lambda s: {"user_id": s.user.id}, owner="b_admin"),
    "alerts.reset": obj(
        lambda s: {"user_id": s.user.id},
        body=lambda s: {},
        owner="b_admin",
        control=lambda s: {},
    ),
    "admin.users": page(owner="b_admin", owner_sees=True),
    "admin.new_user": page(
        body=lambda s: {
            "email": f"{uuid.uuid4().hex[:8]}@walk.example",
            "name": "Intrus",
            "role": "gardien",
            "password": "un-mot-de-passe-assez-long-42",
            "agence": s.agence.id,
            "sector": [s.residence.id],
        }
    ),
    "admin.edit_user": obj(
        lambda s: {"user_id": s.user.id},
        body=lambda s: {"name": "Intrus", "role": "admin", "active": "y"},
        owner="b_admin",
        control=lambda s: {"name": ""},
        own=lambda a: {"user_id": a.user.id},
        # A's gardien stays what he is, with B's agence and résidence as perimeter.
        own_body=lambda s: {
            "name": "Gardien",
            "role": "gardien",
            "active": "y",
            "agence": s.agence.id,
            "sector": [s.residence.id],
        },
    ),
    "admin.residence_search": page(
        queries=lambda s: [{"q": s.residence.reference}],
        owner="b_admin",
        owner_sees=True,
    ),
    "admin.reset_password": obj(
        lambda s: {"user_id": s.user.id},
        body=lambda s: {
            "password": "un-autre-mot-de-passe-42",
            "confirm": "un-autre-mot-de-passe-42",
        },
        owner="b_admin",
        control=lambda s: {"password": "", "confirm": ""},
        own=lambda a: {"user_id": a.user.id},
    ),
    "admin.nomenclature": page(owner="b_admin", owner_sees=True),
    "admin.new_category": page(
        # A category of A's own: nothing of B can be named here.
        body=lambda s: {
            "family": s.local_category.family_id,
            "code": "AU77",
            "label": "Categorie walk",
        },
    ),
    "admin.edit_category": obj(
        lambda s: {"category_id": s.local_category.id},
        body=lambda s: {"label": "Intrusion", "active": ""},
        owner="b_admin",
        control=lambda s: {"label": ""},
        own=lambda a: {"category_id": a.category.id},
    ),
    # ------------------------------------------------------------------ JSON API
    "api.me": page(),
    "api.nomenclature": page(owner_sees=True),
    "api.residences": page(owner_sees=True),
    "api.list_reports": page(
        queries=lambda s: [
            {},
            {"residence_id": s.residence.id, "category_id": s.category.id},
            {"mine": "true"},
        ],
        owner_sees=True,
    ),
    "api.nearby": page(
        queries=lambda s: [
            {"category_id": c.id, "latitude": TOULOUSE[0], "longitude": TOULOUSE[1]}
            for c in (s.category, s.own_category)
        ],
        owner_sees=True,
    ),
    "api.create": page(
        body=lambda s: [
            report_json(s),
            # A's own résidence, but the client UUID of B's fact: never B's fact back.
            report_json(
                s,
                uuid=str(s.fact.uuid),
                residence_id=s.own_residence.id,
                category_id=s.own_category.id,
            ),
        ],
        json=True,
    ),
    "api.read": obj(fact, own=lambda a: {"report_uuid": a.fact.uuid}),
    "api.qualify": obj(
        fact,
        body=lambda s: {"status": "clos", "gravity": 1, "comment": "Intrusion"},
        json=True,
        control=lambda s: {"status": "inconnu"},
        own=lambda a: {"report_uuid": a.fact.uuid},
        own_body=lambda s: {"category_id": s.category.id},
    ),
    "api.duplicate": obj(
        lambda s: {"report_uuid": s.duplicate.uuid},
        body=lambda s: [{"original": None}, {"original": str(s.fact2.uuid)}],
        json=True,
        control=lambda s: {},
        own=lambda a: {"report_uuid": a.fact.uuid},
        own_body=lambda s: {"original": str(s.fact.uuid)},
    ),
    "api.additions": obj(
        fact,
        body=lambda s: {"uuid": str(uuid.uuid4()), "comment": "Intrusion"},
        json=True,
        control=lambda s: {"comment": "x" * 501},
        own=lambda a: {"report_uuid": a.fact.uuid},
        # The client UUID of B's complement, sent again on A's fact.
        own_body=lambda s: {"uuid": str(s.addition.client_uuid), "comment": "Ajout"},
    ),
    "api.photos": obj(fact, own=lambda a: {"report_uuid": a.fact.uuid}),
    "api.upload_photo": obj(
        fact,
        body=lambda s: {**a_photo("photo"), "uuid": str(uuid.uuid4())},
        control=lambda s: None,  # no multipart body: 415 once the fact is found
        own=lambda a: {"report_uuid": a.fact.uuid},
        # The UUID of B's photo, sent again on A's fact.
        own_body=lambda s: {**a_photo("photo"), "uuid": str(s.photo.uuid)},
    ),
    "api.photo_image": obj(
        photo,
        queries=lambda s: [{}, {"size": "thumbnail"}],
        own=lambda a: {"photo_uuid": a.photo.uuid},
    ),
    "api_tokens.tokens": page(body=lambda s: {"name": "Jeton du walk"}),
    "api_tokens.revoke": obj(lambda s: {"token_id": s.token.id}, destructive=True),
    # ----------------------------------------------------------------- sessions
    "auth.logout": page(fresh_session=True),
    "auth.sessions": page(),
    "auth.end_session": obj(
        lambda s: {"session_id": s.login.id if s.login else 0}, destructive=True
    ),
    # ------------------------------------------------------- alerts by Web Push
    "push.devices": page(),
    # Push is off in the walk's app: every caller gets 404 (and nothing is stored).
    "push.register": page(
        body=lambda s: {"endpoint": "https://push.example/x", "keys": {}}, json=True
    ),
    "push.remove": obj(
        lambda s: {"device_id": s.device.id if s.device else 0}, destructive=True
    ),
    # The caller's own other sessions (the walk's fresh logins, at most).
    "auth.end_other_sessions": page(),
    "admin.logout_everywhere": obj(
        lambda s: {"user_id": s.user.id}, owner="b_admin", destructive=True
    ),
    "auth.change_password": page(
        # The caller's own account only. The form is refused before any password
        # check: a wrong password would count against the login throttle.
        body=lambda s: {"current": "", "password": "x", "confirm": "y"},
    ),
    # --------------------------------------------------------------- exports
    "exports.reports": page(
        values=lambda s: [{"fmt": f} for f in ("csv", "xlsx", "geojson")],
        queries=lambda s: [{}, list_filters(s)],
        owner_sees=True,
    ),
    # ------------------------------------------------------------ federation
    "federation.index": page(
        queries=lambda s: [{}, {"period": "2020..2030"}],
        owner="federation_region",
        owner_sees=True,
    ),
    "federation.consolidation_file": page(
        values=lambda s: [{"fmt": f} for f in ("json", "csv", "xlsx")],
        owner="federation_region",
        owner_sees=True,
    ),
    "federation.import_file": page(
        body=lambda s: {"file": (io.BytesIO(b"{}"), "bailleur.json")}
    ),
    "federation.remove_import": obj(
        lambda s: {"import_id": s.federation_import.id},
        body=lambda s: {},
        owner="federation_region",
        destructive=True,
        skip={
            f"federation_region {method}": (
                "the file is of the federation's region: removing it is its job "
                "(its control removes B's probe file)"
            )
            for method in ("GET", "POST")
        },
    ),
    "federation.export": page(owner_sees=True),
    "federation.export_file": page(
        values=lambda s: [{"fmt": f} for f in ("json", "csv", "xlsx")],
        owner_sees=True,
    ),
    # ---------------------------------------------------------------- follow-up
    "followup.overdue": page(owner_sees=True),
    "followup.add": obj(
        fact,
        body=lambda s: {
            "done_on": today(),
            "kind": "signalement",
            "partner": "police_nationale",
            "note": "Intrusion",
            "close": "y",
        },
        control=lambda s: {},
    ),
    "followup.edit_action": obj(
        lambda s: {"action_id": s.action.id},
        body=lambda s: {"done_on": today(), "kind": "autre", "note": "Intrusion"},
        control=lambda s: {"kind": ""},
    ),
    "followup.remove_action": obj(
        lambda s: {"action_id": s.action.id},
        body=lambda s: {},
        destructive=True,
    ),
    "followup.complaint": obj(
        fact,
        body=lambda s: {
            "kind": "plainte",
            "filed_by": "bailleur",
            "reference": "PV intrusion",
        },
        control=lambda s: {},
    ),
    # -------------------------------------------------------------------- pages
    "main.home": page(),
    "maps.index": page(queries=lambda s: [{}, b_filters(s)], owner_sees=True),
    "maps.scaffold": page(),
    "maps.data": page(
        queries=lambda s: [MAP_VIEW, {**MAP_VIEW, **b_filters(s)}],
        owner_sees=True,
    ),
    "maps.sector": page(
        queries=lambda s: [
            {"secteur": b_sector(s)},
            {"secteur": b_sector(s), **b_filters(s)},
        ],
    ),
    "patrimoine.residences": page(owner_sees=True),
    "patrimoine.residence": obj(
        lambda s: {"residence_id": s.residence.id},
        own=lambda a: {"residence_id": a.residence.id},
    ),
    "patrimoine.import_patrimoine": page(
        # A dry run naming B's résidence reference: never B's row.
        body=lambda s: {
            "file": (
                io.BytesIO(
                    b"reference;nom;adresse;commune;latitude;longitude;logements\n"
                    b"QRES-01;Intrusion;1 rue;31555;43.6;1.44;10\n"
                ),
                "residences.csv",
            ),
            "dry_run": "y",
        }
    ),
    # The mapping step of an import: a token the walker's session never received
    # (a file kept for another session) opens nothing.
    "patrimoine.map_patrimoine_columns": page(
        body=lambda s: {
            "token": "A" * 32,
            "reference": "reference",
            "nom": "nom",
            "dry_run": "y",
        }
    ),
    # ------------------------------------------------------------------ privacy
    "privacy.access_log": page(
        queries=lambda s: [{}, {"user": s.user.id, "date_from": "2020-01-01"}],
        owner="b_admin",
        owner_sees=True,
    ),
    # ------------------------------------------------------------------- photos
    "photos.image": obj(
        photo,
        queries=lambda s: [{}, {"taille": "miniature"}],
        own=lambda a: {"photo_uuid": a.photo.uuid},
    ),
    "photos.upload": obj(fact, body=lambda s: a_photo("photos"), control=lambda s: {}),
    "photos.delete": obj(photo, destructive=True),
    # ------------------------------------------------------------------ facts
    "reports.index": page(
        queries=lambda s: [{}, list_filters(s), queue_filters(s)],
        owner_sees=lambda query: "q" not in query,
    ),
    "reports.todo": page(),
    "reports.assign": obj(
        fact,
        body=lambda s: {"assign-assignee": s.user.id, "assign-comment": "Intrusion"},
        control=lambda s: {"assign-assignee": "inconnu"},
        own=lambda a: {"report_uuid": a.fact.uuid},
        own_body=lambda s: {"assign-assignee": s.user.id},
    ),
    "reports.mine": page(
        queries=lambda s: [{}, list_filters(s)], owner="b_gardien", owner_sees=True
    ),
    "reports.residence_search": page(
        queries=lambda s: [
            {"q": s.residence.reference},
            {"latitude": TOULOUSE[0], "longitude": TOULOUSE[1]},
        ],
        owner_sees=True,
    ),
    "reports.new": page(
        body=lambda s: [
            report_form(s),
            # A's own résidence, but the client UUID of B's fact.
            report_form(
                s,
                client_uuid=str(s.fact.uuid),
                residence=s.own_residence.id,
                category=s.own_category.id,
                batiment="",
            ),
        ]
    ),
    # A's own fact page lists its possible duplicates: B's facts of the same
    # category, place and hour must not be among them.
    "reports.detail": obj(fact, own=lambda a: {"report_uuid": a.fact.uuid}),
    "reports.confirmation": obj(
        fact, owner="b_gardien", own=lambda a: {"report_uuid": a.fact.uuid}
    ),
    "reports.qualify": obj(
        fact,
        body=lambda s: {
            "category": s.category.id,
            "status": "clos",
            "gravity": "1",
            "comment": "Intrusion",
        },
        control=lambda s: {"status": "inconnu"},
        own=lambda a: {"report_uuid": a.fact.uuid},
        own_body=lambda s: {"category": s.category.id, "status": "nouveau"},
    ),
    "reports.mark_as_duplicate": obj(
        fact,
        body=lambda s: {"original": s.fact2.reference},
        control=lambda s: {"original": ""},
        own=lambda a: {"report_uuid": a.fact.uuid},
        own_body=lambda s: {"original": s.fact.reference},
    ),
    "reports.correct": obj(
        fact,
        body=lambda s: {
            "description": "Intrusion",
            "occurred_at": an_hour_ago(),
            "residence": s.residence.id,
            "batiment": s.batiment.id,
            "residence_position": "y",
        },
        control=lambda s: {"occurred_at": ""},
        own=lambda a: {"report_uuid": a.fact.uuid},
        own_body=lambda s: {
            "description": "Fait Marmotte",
            "occurred_at": an_hour_ago(),
            "residence": s.residence.id,
            "batiment": s.batiment.id,
            "residence_position": "y",
        },
    ),
    "reports.redact": obj(
        fact,
        body=lambda s: {"text": "Fait"},
        control=lambda s: {"text": ""},
        own=lambda a: {"report_uuid": a.fact.uuid},
    ),
    "reports.unmark_as_duplicate": obj(
        lambda s: {"report_uuid": s.duplicate.uuid}, destructive=True
    ),
    # ------------------------------------------------------------------ rounds
    "rounds.index": page(),
    # ------------------------------------------------------------- statistics
    "stats.index": page(queries=lambda s: [{}, b_filters(s)], owner_sees=True),
    "stats.table_csv": page(
        # The tables that name things (the others count by month, week, hour,
        # family, lieu, victim: nothing of B could show in them but numbers). Every
        # slug answers 400 to filters outside the perimeter before any table.
        values=lambda s: [{"slug": slug} for slug in NAMING_TABLES],
        queries=lambda s: [{}, b_filters(s)],
        owner_sees=lambda values: values["slug"] in ("residences", "residences_toutes"),
    ),
    # -------------------------------------------------------------- syntheses
    "syntheses.daily": page(owner_sees=True),
    "syntheses.printable": page(owner_sees=True),
    "syntheses.bilan": page(owner_sees=True),
    "syntheses.bilan_xlsx": page(owner_sees=True),
}

#: Endpoints that anyone may open, and why that is safe.
PUBLIC: dict[str, str] = {
    "static": "CSS, scripts and images shipped with the code: no data",
    "auth.login": "the login form itself",
    "api.openapi": "the API's OpenAPI document: its schema, no data",
    "pwa.manifest": "the web app manifest (name, icons): no data",
    "pwa.service_worker": "the service worker script: URLs and a version, no data",
}


# ------------------------------------------------------------------ the walker


def variants(value) -> list:
    return value if isinstance(value, list) else [value]


def readable(data: bytes) -> str:
    """The text of a response, XLSX and other zip files unpacked."""
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return "\n".join(
                    archive.read(name).decode("utf-8", "replace")
                    for name in archive.namelist()
                )
        except zipfile.BadZipFile:
            pass
    return data.decode("utf-8", "replace")


def strings_of(*parts) -> set[str]:
    """Every text a request carries (echoes of it in the answer are no leak)."""
    found: set[str] = set()
    for part in parts:
        if part is None:
            continue
        if isinstance(part, dict):
            found |= strings_of(*part.values())
        elif (
            isinstance(part, list | tuple) and part and isinstance(part[0], io.BytesIO)
        ):
            text = part[0].getvalue().decode("utf-8", "replace")
            found |= {cell for cell in re.split(r"[;,\n]", text) if cell}
        elif isinstance(part, list | tuple):
            found |= strings_of(*part)
        elif not isinstance(part, bool | int | float):
            found.add(str(part))
    return {s for s in found if len(s) > 3}


def snapshot(roots: Iterable[tuple[str, int]]) -> dict[str, list[str]]:
    """Every row that depends (by foreign key, recursively) on ``roots``, as text."""
    tables = db.metadata.sorted_tables
    rows = {
        t.name: [dict(r._mapping) for r in db.session.execute(sa.select(t))]
        for t in tables
    }
    owned: dict[str, set[int]] = {t.name: set() for t in tables}
    for name, ident in roots:
        owned[name] |= {i for i, row in enumerate(rows[name]) if row["id"] == ident}
    changed = True
    while changed:
        changed = False
        for table in tables:
            for fk in table.foreign_keys:
                target = fk.column.table.name
                keys = {rows[target][i][fk.column.name] for i in owned[target]}
                if not keys:
                    continue
                for i, row in enumerate(rows[table.name]):
                    if i not in owned[table.name] and row[fk.parent.name] in keys:
                        owned[table.name].add(i)
                        changed = True
    return {
        name: sorted(
            repr(
                sorted(
                    (column, repr(value))
                    for column, value in rows[name][i].items()
                    if (name, column) not in VOLATILE_COLUMNS
                )
            )
            for i in indexes
        )
        for name, indexes in owned.items()
        if indexes
    }


def differences(before: dict, after: dict) -> list[str]:
    """Rows added or removed, table by table."""
    lines = []
    for name in sorted(before.keys() | after.keys()):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        for row in sorted(old - new)[:3]:
            lines.append(f"  {name}: changed or deleted {row[:300]}")
        for row in sorted(new - old)[:3]:
            lines.append(f"  {name}: added or changed {row[:300]}")
    return lines


class Walker:
    """Sends the walk's requests and checks the answers."""

    def __init__(self, app, world: SimpleNamespace):
        self.app = app
        self.world = world
        self.adapter = app.url_map.bind("localhost")
        self._clients: dict[str, object] = {}
        for actor in [*world.actors_b, *world.owners.values(), *world.own.values()]:
            self.client(actor)
        self.baseline = {
            side.name: snapshot(side.roots) for side in (world.b, world.a2)
        }

    # -- clients

    def _logged_in(self, actor: Actor):
        client = self.app.test_client()
        if actor.email is not None:
            response = client.post(
                "/connexion", data={"email": actor.email, "password": DEFAULT_PASSWORD}
            )
            assert response.status_code == 302, f"login of {actor.key} failed"
        return client

    def client(self, actor: Actor):
        if actor.key not in self._clients:
            self._clients[actor.key] = self._logged_in(actor)
        return self._clients[actor.key]

    def send(self, actor: Actor, method: str, url: str, body, route: Route):
        client = self._logged_in(actor) if route.fresh_session else self.client(actor)
        headers = {"Authorization": f"Bearer {actor.token}"} if actor.token else {}
        if body is not None and route.json:
            return client.open(url, method=method, headers=headers, json=body)
        return client.open(url, method=method, headers=headers, data=body)

    # -- URLs

    def rule(self, endpoint: str):
        return next(self.app.url_map.iter_rules(endpoint))

    def urls(
        self, endpoint: str, side: Side, *, own: bool = False
    ) -> list[tuple[str, dict, dict]]:
        """Every URL variant of the endpoint for ``side`` (or A's own object of the
        kind): (url, values, query)."""
        route, rule = ROUTES[endpoint], self.rule(endpoint)
        found = []
        chosen = [route.own(self.world.mine)] if own else variants(route.values(side))
        for values in chosen:
            assert set(values) == set(rule.arguments), (
                f"ROUTES[{endpoint!r}] fills {sorted(values)}, the rule takes "
                f"{sorted(rule.arguments)}"
            )
            for query in variants(route.queries(side)):
                url = self.adapter.build(endpoint, {**values, **query})
                found.append((url, values, query))
        return found

    @staticmethod
    def methods(rule) -> list[str]:
        return sorted(rule.methods - {"HEAD", "OPTIONS"})

    # -- the walk

    def run(
        self,
        endpoint: str,
        side: Side,
        actors: list[Actor],
        *,
        own: bool = False,
        ghost: bool = False,
        methods: Iterable[str] | None = None,
    ) -> list[str]:
        """Walk ``endpoint`` aimed at ``side`` as each actor; return the failures.

        With ``own``, the URL names A's own object and the writes send B's ids. With
        ``ghost``, each object route's answer is compared with the answer for ids
        that name nothing: they must not differ.
        """
        route, rule = ROUTES[endpoint], self.rule(endpoint)
        api = rule.rule.startswith("/api/")
        make_bodies = route.own_body if own else route.body
        failures = []
        for method in self.methods(rule):
            if methods is not None and method not in methods:
                continue
            opened = False
            if method in SAFE_METHODS:
                make = lambda s: None  # noqa: E731
            elif make_bodies is None:
                continue  # no id of B to send to A's own object
            else:
                make = make_bodies
            count = len(variants(make(side)))
            urls = self.urls(endpoint, side, own=own)
            ghost_url = self.urls(endpoint, self.world.ghost)[0][0] if ghost else None
            for n, (url, values, query) in enumerate(urls):
                for index in range(count):
                    for actor in actors:
                        if (actor.scope == "api" and not api) or (
                            actor.scope == "pages" and api
                        ):
                            continue
                        if f"{actor.key} {method}" in route.skip:
                            continue
                        # Bodies are built anew for each request: files are read.
                        body = variants(make(side))[index]
                        response = self.send(actor, method, url, body, route)
                        opened = opened or response.status_code == 200
                        failures += self.check(
                            actor, route, api, method, url, response, side,
                            echoes=strings_of(values, query),
                            body_echoes=strings_of(variants(make(side))[index]),
                            own=own,
                        )  # fmt: skip
                        if route.kind == OBJECT and ghost_url and n == 0:
                            body = variants(make(self.world.ghost))[index]
                            other = self.send(actor, method, ghost_url, body, route)
                            if other.status_code != response.status_code:
                                failures.append(
                                    f"{actor.key} {method} {url} -> "
                                    f"{response.status_code} but {other.status_code} "
                                    "for an object that does not exist: the answer "
                                    "tells that this one does"
                                )
            if own and method == "GET" and not opened:
                failures.append(
                    f"no walker opens A's own object at {urls[0][0]}: the walk of "
                    "A's own objects proves nothing there"
                )
        return failures

    def check(
        self,
        actor,
        route,
        api,
        method,
        url,
        response,
        side,
        *,
        echoes,
        body_echoes,
        own=False,
    ) -> list[str]:
        """The failures of one answer: its status, and the target's data it shows."""
        status = response.status_code
        where = f"{actor.key} {method} {url} -> {status}"
        location = response.headers.get("Location", "")
        failures = []
        if actor.anonymous:
            if api:
                ok = status == 401
            else:
                ok = status == 302 and urlsplit(location).path == "/connexion"
            if not ok:
                failures.append(f"{where}: expected the login page (401 for the API)")
        elif route.kind == OBJECT and not own and status not in (403, 404):
            failures.append(f"{where}: expected 403 or 404")
        elif status >= 500 or status == 401:
            failures.append(f"{where}: unexpected answer")
        classes = ("fact", "patrimoine") if not actor.sees_patrimoine else ("fact",)
        markers = [m for c in classes for m in side.markers[c]]
        text = readable(response.get_data())
        for echo in echoes | body_echoes:
            text = text.replace(echo, "")
        # A redirect may repeat the URL (?next=), never a body's identifier.
        for echo in echoes:
            location = location.replace(echo, "")
        headers = location + response.headers.get("Content-Disposition", "")
        shown = [m for m in markers if m in text or m in headers]
        if shown:
            failures.append(f"{where}: shows {side.name}'s data {shown[:5]}")
        return failures

    def changes(self, side: Side, endpoint: str) -> list[str]:
        """What the walk changed among the rows of ``side``."""
        now = snapshot(side.roots)
        lines = differences(self.baseline[side.name], now)
        self.baseline[side.name] = now
        if lines:
            return [f"{endpoint} changed {side.name}'s rows:", *lines]
        return []

    def control(self, endpoint: str) -> list[str]:
        """B's owner reaches the object routes, and sees its data on the lists."""
        route, rule = ROUTES[endpoint], self.rule(endpoint)
        owner = self.world.owners[route.owner]
        failures = []
        for method in self.methods(rule):
            if route.kind == LIST:
                if method != "GET" or not route.owner_sees:
                    continue
                for url, values, query in self.urls(endpoint, self.world.b):
                    if query != variants(route.queries(self.world.b))[0]:
                        continue
                    if callable(route.owner_sees) and not route.owner_sees(values):
                        continue
                    response = self.send(owner, method, url, None, route)
                    text = readable(response.get_data())
                    markers = [m for c in self.world.b.markers.values() for m in c]
                    if not any(m in text for m in markers):
                        failures.append(
                            f"control: {owner.key} GET {url} -> "
                            f"{response.status_code} shows none of B's data: the "
                            "walk could not see a leak there"
                        )
                continue
            side = self.world.probe_b if route.destructive else self.world.b
            url = self.urls(endpoint, side)[0][0]
            if method in SAFE_METHODS:
                body = None
            elif route.destructive:
                body = variants(route.body(side))[0]
            else:
                assert route.control is not None, (
                    f"ROUTES[{endpoint!r}]: give the owner's harmless body (control) "
                    "or mark it destructive"
                )
                body = route.control(side)
            response = self.send(owner, method, url, body, route)
            status = response.status_code
            if (
                status in (401, 403, 404)
                or status >= 500
                or (method == "GET" and status != 200)
            ):
                failures.append(
                    f"control: {owner.key} {method} {url} -> {status}: B's own user "
                    "does not reach it, so the walk's 403/404 prove nothing"
                )
        return failures


@pytest.fixture(scope="module")
def walk(test_config, _schema, tmp_path_factory):
    """The world, built once, and the walker with every actor logged in."""
    # CSRF is off here (WTF_CSRF_ENABLED False, from test_config): a refused write is
    # refused by the access check, never by a missing token.
    config = {
        **test_config,
        "ORFI_PHOTO_DIR": str(tmp_path_factory.mktemp("walk-photos")),
    }
    assert config["WTF_CSRF_ENABLED"] is False
    app = create_app(config)
    app.test_client_class = IsolatedRequestClient
    with app.app_context():
        try:
            world = build_world()
            db.session.commit()
            yield Walker(app, world)
        finally:
            db.session.rollback()
            empty_tables()
            db.session.remove()
            db.engine.dispose()


# ------------------------------------------------------------------------ tests


def test_every_route_is_walked(test_config):
    app = create_app(test_config)
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - ROUTES.keys() - PUBLIC.keys())
    assert not missing, "\n".join(
        f"route {e} not covered by the isolation walk: add it to ROUTES"
        for e in missing
    )
    stale = sorted((ROUTES.keys() | PUBLIC.keys()) - endpoints)
    assert not stale, f"ROUTES or PUBLIC name endpoints that no longer exist: {stale}"
    assert not ROUTES.keys() & PUBLIC.keys()
    assert set(NAMING_TABLES) <= set(TABLE_SLUGS)


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_bailleur_b_is_out_of_reach(walk, endpoint):
    world = walk.world
    failures = walk.run(endpoint, world.b, world.actors_b, ghost=True)
    failures += walk.changes(world.b, endpoint)
    failures += walk.control(endpoint)
    walk.changes(world.b, endpoint)  # the owner's controls may change B's probes
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_another_sector_is_out_of_reach(walk, endpoint):
    """A's gardien of sector 1, chef d'agence of agence 1 and both federations never
    reach the facts of sector 2 (agence 2), nor see them in any list."""
    world = walk.world
    failures = walk.run(endpoint, world.a2, world.actors_a2)
    failures += walk.changes(world.a2, endpoint)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "endpoint", sorted(e for e, route in ROUTES.items() if route.own is not None)
)
def test_own_objects_show_nothing_of_b(walk, endpoint):
    """A's own objects, read or written with B's ids in the body (B's category, fact
    reference, client UUIDs of B's complement or photo, B's résidence…): refused or
    ignored, B unchanged and never shown (e.g. among a fact's possible duplicates)."""
    world = walk.world
    actors = [*world.own.values(), *world.own_tokens]
    failures = walk.run(endpoint, world.b, actors, own=True)
    failures += walk.changes(world.b, endpoint)
    assert not failures, "\n".join(failures)


def test_the_walkers_reach_their_own_facts(walk):
    """The walk's 404 are the perimeter's: the same routes open on one's own facts."""
    own, a_1, a_2 = walk.world.own, walk.world.a_1, walk.world.a2.fact
    opened = {
        ("gardien", f"/signalements/{a_1.uuid}"),
        ("gardien", f"/api/v1/reports/{a_1.uuid}"),
        ("chef_agence", f"/signalements/{a_1.uuid}"),
        ("referent", f"/signalements/{a_2.uuid}"),
        ("direction", f"/api/v1/reports/{a_2.uuid}"),
    }
    for key, url in sorted(opened):
        response = walk.client(own[key]).get(url)
        assert response.status_code == 200, (key, url)
    mine = walk.client(own["gardien"]).get("/signalements/mes").text
    assert a_1.reference in mine


def test_federations_never_reach_any_fact(walk):
    """Every page or API read of a fact or a photo refuses both federations, for
    facts of bailleurs of their region (A and B are in Occitanie) and of others.

    (The walks above send them every other method of these routes too.)
    """
    fact_endpoints = sorted(
        e for e in ROUTES if FACT_ARGUMENTS & set(walk.rule(e).arguments)
    )
    assert len(fact_endpoints) >= 15
    federations = [a for a in walk.world.actors_b if a.key.startswith("federation")]
    failures = []
    for side in (walk.world.b, walk.world.a2):
        for endpoint in fact_endpoints:
            failures += walk.run(endpoint, side, federations, methods={"GET"})
    assert not failures, "\n".join(failures)
