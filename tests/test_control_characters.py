"""Control characters and bidi controls are refused at every boundary (issue 17).

A NUL byte used to crash PostgreSQL writes with a 500 (and was stored silently by
SQLite); a bidi control let a name show other than what it is. Each test performs the
attack: through every field of every form (found by walking the form classes), every
text field of every JSON body (found by walking the OpenAPI document), the pages that
store the texts the attack run named, the query strings and a patrimoine import. Run
them on PostgreSQL too (ORFI_TEST_DATABASE_URL).
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import pkgutil
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import PasswordField, TextAreaField

import orfi
import orfi.models  # noqa: F401  (every model, and the forms the features import)
from orfi.activity.models import Meeting, PartnerIntervention
from orfi.api.openapi import build_openapi
from orfi.api.services import create_token
from orfi.auth.models import Role, User
from orfi.characters import refusal
from orfi.extensions import db
from orfi.followup.models import Complaint, FollowupAction
from orfi.forms import BaseForm
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Residence
from orfi.privacy.models import AccessLogEntry
from orfi.reports.models import Report, ReportEvent
from orfi.timezone import now_local
from tests.factories import (
    DEFAULT_PASSWORD,
    category,
    commit,
    make_federation,
    make_report,
    make_tmh_world,
    make_user,
)
from tests.helpers import field_errors

NUL = "\x00"
#: RIGHT-TO-LEFT OVERRIDE: "Résidence <RLO>gnp.exe" shows as "Résidence exe.png".
RLO = "\u202e"
ATTACKS = {"nul": NUL, "bidi": RLO, "escape": "\x1b"}


def _code(character: str) -> str:
    return f"U+{ord(character):04X}"


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# ----------------------------------------------------------------- the rule itself


@pytest.mark.parametrize(
    ("text", "multiline", "refused"),
    [
        ("Les Izards", False, False),
        ("Rue de l'Église, bât. B", False, False),
        ("ligne 1\nligne 2\tfin\r\n", True, False),
        ("ligne 1\nligne 2", False, True),
        ("tab\tulation", False, True),
        ("nul\x00", True, True),
        ("bell\x07", True, True),
        ("unit\x1f", True, True),
        ("Résidence \u202egnp.exe\u202c", True, True),
        ("\u2066isolé\u2069", False, True),
        ("marque\u200f", False, True),
        ("arabe\u061c", False, True),
        # Letters of right-to-left scripts are text, not controls.
        ("حي النور", False, False),
        ("Zéro\u200bespace", False, False),
    ],
)
def test_what_is_refused(text, multiline, refused):
    assert (refusal(text, multiline=multiline) is not None) is refused


def test_a_password_may_hold_a_bidi_control_but_no_control_character():
    assert refusal("mot\u200fde passe", bidi=False) is None
    assert refusal("mot\x00de passe", bidi=False) is not None


# ---------------------------------------------------------------- every form, walked


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def _form_classes() -> list[type[FlaskForm]]:
    """Every FlaskForm subclass of orfi, once the models and all features imported."""
    for module in pkgutil.iter_modules(orfi.__path__):
        for part in ("forms", "routes") if module.ispkg else ():
            name = f"orfi.{module.name}.{part}"
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
    forms = [
        form
        for form in _subclasses(FlaskForm)
        if form.__module__.startswith("orfi.") and form is not BaseForm
    ]
    return sorted(forms, key=lambda form: (form.__module__, form.__qualname__))


def test_every_form_derives_from_the_base_form():
    forms = _form_classes()
    assert len(forms) >= 20, [form.__name__ for form in forms]
    strays = [form.__qualname__ for form in forms if not issubclass(form, BaseForm)]
    assert strays == []


def _fields(app, form_class) -> list[tuple[str, type]]:
    with app.test_request_context():
        form = form_class(formdata=None)
        return [
            (field.name, type(field))
            for field in form
            if not isinstance(field, FileField | MultipleFileField)
        ]


def _validated(app, form_class, data: dict):
    """Validate ``form_class`` on a POST of ``data``; return the bound form."""
    with app.test_request_context(method="POST", data=data):
        form = form_class()
        for field in form:
            # Choices the view fills from the database: none is needed here.
            if getattr(field, "choices", ()) is None:
                field.choices = []
        valid = form.validate()
    return form, valid


@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_every_field_of_every_form_refuses_the_attack(app, attack):
    character = ATTACKS[attack]
    problems, checked = [], 0
    for form_class in _form_classes():
        for name, field_type in _fields(app, form_class):
            if character == RLO and field_type is PasswordField:
                continue  # never shown: bidi controls spoof nothing (see forms.py)
            value = f"Les{character}Izards"
            form, valid = _validated(app, form_class, {name: value})
            errors = form[name].errors
            checked += 1
            if valid or not any(_code(character) in str(e) for e in errors):
                problems.append(f"{form_class.__qualname__}.{name}: {errors}")
    assert checked >= 80
    assert problems == []


def test_a_text_area_keeps_its_line_breaks_and_a_line_refuses_them(app):
    from orfi.followup.forms import ActionForm

    note = [n for n, t in _fields(app, ActionForm) if t is TextAreaField][0]
    form, _ = _validated(app, ActionForm, {note: "Ligne 1\r\nLigne 2\tfin"})
    assert form[note].errors == []
    from orfi.auth.forms import LoginForm

    form, valid = _validated(
        app, LoginForm, {"email": "a@b.fr\r\nBcc: x@y.fr", "password": "x"}
    )
    assert not valid and "U+000D" in form.email.errors[0]


# ------------------------------------------------------------------------ the pages


def test_login_with_a_nul_byte_answers_with_a_message(client):
    """Anonymous: this was a 500 on PostgreSQL (the user lookup failed)."""
    response = client.post(
        "/connexion", data={"email": f"admin{NUL}@tmh.fr", "password": "x"}
    )
    assert response.status_code == 200
    assert "U+0000" in field_errors(response.text, "email")
    response = client.post(
        "/connexion", data={"email": "admin@tmh.fr", "password": f"x{NUL}"}
    )
    assert response.status_code == 200
    assert "U+0000" in field_errors(response.text, "password")


@pytest.fixture
def world(app):
    """A bailleur, its gardien, référent and administrator, a fact and a token."""
    world = make_tmh_world()
    world["admin"] = make_user(world["organisation"], role=Role.ADMIN)
    world["report"] = make_report(world["gardien"], world["residence"], gravity=3)
    _, world["token"] = create_token(world["referent"], "Script")
    commit()
    return world


def _today() -> str:
    return now_local().date().isoformat()


def _page_attacks(world) -> list[tuple[str, str, str, str, dict, type]]:
    """(name, role, url, field, valid data, model that would store it) of each page
    that stores a text the attack run named."""
    report = world["report"]
    tt03 = category(world["organisation"], "TT03")
    return [
        ("qualification", "referent", f"/signalements/{report.uuid}/qualifier",
         "comment", {"category": str(tt03.id), "status": "qualifie", "gravity": "3"},
         ReportEvent),
        ("action", "referent", f"/suivi/{report.uuid}/actions", "note",
         {"done_on": _today(), "kind": "signalement", "partner": "police_nationale"},
         FollowupAction),
        ("complaint", "referent", f"/suivi/{report.uuid}/plainte", "reference",
         {"kind": "plainte", "filed_by": "victime", "filed_on": _today()},
         Complaint),
        ("meeting", "referent", "/activite/reunions/nouvelle", "subject",
         {"held_on": _today(), "kind": "clspd", "partners": ["mairie"]}, Meeting),
        ("intervention", "referent", "/activite/interventions/nouvelle", "notes",
         {"done_on": _today(), "partner": "police_nationale",
          "subject": "Patrouilles"}, PartnerIntervention),
        ("user name", "admin", "/admin/utilisateurs/nouveau", "name",
         {"email": "nouveau@tmh.fr", "role": "referent", "agence": "",
          "password": "Un mot de passe très long 2026"}, User),
        ("user e-mail", "admin", "/admin/utilisateurs/nouveau", "email",
         {"name": "Nadia", "role": "referent", "agence": "",
          "password": "Un mot de passe très long 2026"}, User),
        ("category", "admin", "/admin/nomenclature/nouvelle", "label",
         {"family": str(tt03.family_id), "code": "TT09"}, Category),
    ]  # fmt: skip


@pytest.mark.parametrize("attack", ["nul", "bidi"])
def test_pages_refuse_the_attack_and_store_nothing(client, auth, world, attack):
    character = ATTACKS[attack]
    problems = []
    for name, role, url, field, data, model in _page_attacks(world):
        auth.login(world[role].email)
        before = _count(model)
        response = client.post(url, data={**data, field: f"Les{character}Izards"})
        if response.status_code in (302, 500) or _count(model) != before:
            problems.append(f"{name}: HTTP {response.status_code}")
        elif _code(character) not in response.text:
            problems.append(f"{name}: no message")
        auth.logout()
    assert problems == []


def test_the_pages_attacked_store_the_same_data_without_the_attack(client, auth, world):
    """The data of the attacks above is valid: only the character was refused."""
    problems = []
    for name, role, url, field, data, model in _page_attacks(world):
        auth.login(world[role].email)
        before = _count(model)
        value = "zz09@tmh.fr" if field == "email" else "Les Izards"
        response = client.post(url, data={**data, field: value})
        if response.status_code != 302 or _count(model) <= before:
            problems.append(f"{name}: HTTP {response.status_code}")
        auth.logout()
    assert problems == []


# ---------------------------------------------------------------- every JSON body


def _json_text_fields() -> list[tuple[str, str, str]]:
    """(method, path, field) of every free text of every JSON request body."""
    document = build_openapi(description_max=500)
    base = document["servers"][0]["url"]
    schemas = document["components"]["schemas"]
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):  # the path's "parameters"
                continue
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            ref = content["application/json"]["schema"]["$ref"]
            schema = schemas[ref.rsplit("/", 1)[1]]
            for field, spec in schema["properties"].items():
                if spec.get("type") == "string" and not (
                    {"format", "enum"} & set(spec)
                ):
                    found.append((method, base + path, field))
    return found


def test_the_walk_finds_the_texts_of_the_bodies():
    fields = {(m, p.rsplit("/", 1)[-1], f) for m, p, f in _json_text_fields()}
    assert {
        ("post", "reports", "description"),
        ("patch", "{report_uuid}", "comment"),
        ("put", "duplicate", "comment"),
        ("post", "additions", "comment"),
    } <= fields


@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_every_json_text_refuses_the_attack(client, world, attack):
    character = ATTACKS[attack]
    headers = {"Authorization": f"Bearer {world['token']}"}
    problems = []
    for method, path, field in _json_text_fields():
        url = re.sub(r"\{[a-z_]+\}", str(world["report"].uuid), path)
        before = (_count(Report), _count(ReportEvent))
        response = client.open(
            url, method=method.upper(), json={field: f"Les{character}Izards"},
            headers=headers,
        )  # fmt: skip
        messages = (response.json or {}).get("fields", {}).get(field, [])
        if response.status_code != 422 or not messages:
            problems.append(f"{method} {path} {field}: HTTP {response.status_code}")
        elif (_count(Report), _count(ReportEvent)) != before:
            problems.append(f"{method} {path} {field}: stored")
    assert problems == []


def test_a_json_text_keeps_its_line_breaks(client, world):
    headers = {"Authorization": f"Bearer {world['token']}"}
    response = client.post(
        f"/api/v1/reports/{world['report'].uuid}/additions",
        json={"comment": "Vu aussi.\r\n\tDeux jeunes."},
        headers=headers,
    )
    assert response.status_code == 201
    assert response.json["comment"] == "Vu aussi.\r\n\tDeux jeunes."


# ------------------------------------------------------ the contract's other holes

NIL = "00000000-0000-0000-0000-000000000000"


def _new_fact(world, **overrides) -> dict:
    moment = now_local() - timedelta(hours=1)
    return {
        "category_id": category(world["organisation"], "TT03").id,
        "residence_id": world["residence"].id,
        "occurred_at": moment.replace(tzinfo=None).isoformat(timespec="minutes"),
        **overrides,
    }


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/reports", "fact:category_id=null", "category_id"),
        ("/reports", "fact:uuid=nil", "uuid"),
        ("/reports/{uuid}/additions", {"uuid": None, "comment": "vu"}, "uuid"),
        ("/reports/{uuid}/additions", {"uuid": NIL, "comment": "vu"}, "uuid"),
        ("/reports/{uuid}/duplicate", {"original": NIL}, "original"),
    ],
)
def test_null_and_nil_uuids_are_refused(client, world, path, body, field):
    if body == "fact:category_id=null":
        body = _new_fact(world, category_id=None)
    elif body == "fact:uuid=nil":
        body = _new_fact(world, uuid=NIL)
    method = "PUT" if path.endswith("duplicate") else "POST"
    before = (_count(Report), _count(ReportEvent))
    response = client.open(
        "/api/v1" + path.replace("{uuid}", str(world["report"].uuid)),
        method=method,
        json=body,
        headers={"Authorization": f"Bearer {world['token']}"},
    )
    assert response.status_code == 422, response.json
    assert list(response.json["fields"]) == [field]
    assert (_count(Report), _count(ReportEvent)) == before


def test_an_addition_without_uuid_is_still_accepted(client, world):
    response = client.post(
        f"/api/v1/reports/{world['report'].uuid}/additions",
        json={"comment": "vu"},
        headers={"Authorization": f"Bearer {world['token']}"},
    )
    assert response.status_code == 201


def test_the_schema_says_the_addition_uuid_is_not_null():
    schema = build_openapi(description_max=500)["components"]["schemas"]
    uuid = schema["NewAddition"]["properties"]["uuid"]
    assert uuid["format"] == "uuid" and not uuid.get("nullable")
    assert "default" not in uuid


# -------------------------------------------------------------------- query strings


@pytest.mark.parametrize("attack", ["nul", "bidi"])
def test_query_strings_refuse_the_attack(client, auth, world, attack):
    character = ATTACKS[attack]
    api = client.get(
        f"/api/v1/reports?status=nouveau{character}",
        headers={"Authorization": f"Bearer {world['token']}"},
    )
    assert api.status_code == 422
    assert _code(character) in api.json["fields"]["status"][0]

    auth.login(world["referent"].email)
    logged = _count(AccessLogEntry)
    for url, name in (
        (f"/signalements/?q=izards{character}", "q"),
        (f"/exports/signalements.csv?status=nouveau{character}", "status"),
        (f"/connexion?next=/{character}", "next"),
        (f"/signalements/?x{character}y=1", "x?y"),
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert f"Paramètre « {name} »" in response.text, url
        assert _code(character) in response.text, url
    assert _count(AccessLogEntry) == logged


def test_a_query_string_without_attack_still_works(client, auth, world):
    auth.login(world["referent"].email)
    assert client.get("/signalements/?status=nouveau").status_code == 200


# ----------------------------------------------------------------- the imports


def _patrimoine(*rows: str) -> bytes:
    header = "reference;nom;adresse;latitude;longitude"
    return "\r\n".join([header, *rows]).encode("utf-8")


def test_a_patrimoine_csv_with_a_nul_is_refused_naming_line_and_column(
    client, auth, world
):
    auth.login(world["admin"].email)
    before = _count(Residence)
    content = _patrimoine(
        "NEW1;Le Parc;1 rue Haute;43.60;1.44",
        f"NEW2;Les{NUL}Tours;2 rue Basse;43.61;1.45",
    )
    response = client.post(
        "/patrimoine/import",
        data={"file": (io.BytesIO(content), "patrimoine.csv"), "strict": "y"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    text = response.text
    assert "NEW2" in text and "colonne « nom »" in text and "U+0000" in text
    assert re.search(r"\b3\b", text)  # line 3: the header is line 1
    assert _count(Residence) == before  # strict: nothing written

    response = client.post(
        "/patrimoine/import",
        data={"file": (io.BytesIO(content), "patrimoine.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    references = set(db.session.scalars(sa.select(Residence.reference)))
    assert "NEW1" in references and "NEW2" not in references


def test_a_patrimoine_import_drops_bidi_controls(client, auth, world):
    auth.login(world["admin"].email)
    content = _patrimoine(f"NEW3;Résidence {RLO}gnp.exe;1 rue Haute;43.60;1.44")
    response = client.post(
        "/patrimoine/import",
        data={"file": (io.BytesIO(content), "patrimoine.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    residence = db.session.scalar(
        sa.select(Residence).where(Residence.reference == "NEW3")
    )
    assert residence.name == "Résidence gnp.exe"


def test_the_login_still_works(client, world):
    response = client.post(
        "/connexion",
        data={"email": world["referent"].email, "password": DEFAULT_PASSWORD},
    )
    assert response.status_code == 302


def test_a_federation_file_with_a_control_character_is_refused(client, auth, world):
    """The bailleur's name of an imported file is stored: a NUL failed on PostgreSQL.

    Its texts may hold line breaks and bidi controls: the file is another orfi's
    export, whose names were checked where they were typed.
    """
    from orfi.federation.documents import build_bailleur_document
    from orfi.federation.models import FederationImport
    from orfi.federation.periods import parse_period

    federation = make_federation(region=world["organisation"].region)
    user = make_user(None, role=Role.FEDERATION, federation=federation)
    period = parse_period(str(now_local().year))
    document = build_bailleur_document(world["organisation"], period)
    document["bailleur"] = {**document["bailleur"], "code": "EXT", "name": f"A{NUL}B"}
    commit()
    auth.login(user.email)
    response = client.post(
        "/federation/import",
        data={"file": (io.BytesIO(json.dumps(document).encode()), "bailleur.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "bailleur.name" in response.text and "U+0000" in response.text
    assert _count(FederationImport) == 0
