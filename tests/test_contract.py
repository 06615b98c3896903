"""The API contract and the limits: one declaration, read by every side.

The served limits (what the pages' scripts read) must equal the bounds of the
generated OpenAPI document (what the API enforces); no script keeps a copy of its own;
every body and query is strict: a wrong type, NaN or an unknown field is refused under
its name, and nothing is stored.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import url_for

from orfi import limits
from orfi.api import contract
from orfi.api.contract import NewReport, Qualification
from orfi.api.payloads import parse
from orfi.api.services import create_token
from orfi.errors import ValidationError
from orfi.extensions import db
from orfi.reports.forms import ReportForm
from orfi.reports.models import Report, ReportEvent
from tests.factories import commit, make_report, make_tmh_world

SCRIPTS = Path(__file__).parent.parent / "static" / "js"


@pytest.fixture
def world(app):
    """A bailleur, its gardien and référent with their tokens, and one fact."""
    world = make_tmh_world()
    world["report"] = make_report(world["gardien"], gravity=2)
    _, world["gardien_token"] = create_token(world["gardien"], "Téléphone")
    _, world["referent_token"] = create_token(world["referent"], "Script")
    commit()
    return world


def _bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


class _LimitsData(HTMLParser):
    """The text of ``<script id="orfi-limits">``."""

    def __init__(self):
        super().__init__()
        self.inside = False
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.inside = tag == "script" and ("id", "orfi-limits") in attrs

    def handle_endtag(self, tag):
        self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.text += data


def _served_limits(client, app) -> dict:
    with app.test_request_context():
        login = url_for("auth.login")
    parser = _LimitsData()
    parser.feed(client.get(login).get_data(as_text=True))
    return json.loads(parser.text)


# -------------------------------------------------------------------- the limits


def test_scripts_limits_equal_the_contracts(client, app):
    """The pages' scripts read the bounds the API enforces (the OpenAPI document)."""
    app.config["ORFI_DESCRIPTION_MAX_LENGTH"] = 321  # a setting: both must follow it
    served = _served_limits(client, app)
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    fact = schemas["NewReport"]["properties"]
    assert served == {
        "gravityMin": fact["gravity"]["minimum"],
        "gravityMax": fact["gravity"]["maximum"],
        "descriptionMaxLength": fact["description"]["maxLength"],
        "commentMaxLength": schemas["Qualification"]["properties"]["comment"][
            "maxLength"
        ],
        "damageMaxEur": fact["damage_cost_eur"]["maximum"],
        "stoppageMaxDays": fact["arret_travail_jours"]["maximum"],
        "gpsAccuracyMaxM": fact["gps_accuracy_m"]["maximum"],
        "photosMax": schemas["Photo"]["properties"]["position"]["maximum"],
        # Not in the API's contract (the server resizes whatever it gets): the module's.
        "photoMaxSide": limits.PHOTO_MAX_SIDE,
    }
    assert served["descriptionMaxLength"] == 321


def test_the_forms_read_the_same_limits(app):
    with app.test_request_context():
        form = ReportForm(meta={"csrf": False})
    (stoppage,) = [v for v in form.arret_travail_jours.validators if hasattr(v, "max")]
    (damage,) = [v for v in form.damage_cost_eur.validators if hasattr(v, "max")]
    assert stoppage.max == limits.STOPPAGE_MAX_DAYS
    assert damage.max == limits.DAMAGE_MAX_EUR
    gravities = [int(value) for value, _ in form.gravity.choices]
    assert (min(gravities), max(gravities)) == (limits.GRAVITY_MIN, limits.GRAVITY_MAX)


#: Limits whose value is distinctive enough to be recognised in a script (small ones,
#: 1 to 4, are every loop's; 1000 is also a km and a second).
_DISTINCTIVE = {
    limits.COMMENT_MAX_LENGTH,
    limits.DESCRIPTION_MAX_LENGTH,
    limits.DAMAGE_MAX_EUR,
    limits.GPS_ACCURACY_MAX_M,
}


def _number_literals(source: str) -> list[float]:
    source = re.sub(r"//[^\n]*|/\*.*?\*/", "", source, flags=re.S)
    # HTTP statuses are not limits: "status >= 500" is a server error.
    source = re.sub(r"status\s*[<>=!]=*\s*\d+", "", source)
    return [
        float(n.replace("_", "")) for n in re.findall(r"\b\d[\d_]*(?:e\d+)?", source)
    ]


def test_no_script_keeps_a_copy_of_a_limit():
    scripts = sorted(SCRIPTS.glob("*.js"))
    assert scripts, "static/js has no script?"
    for script in scripts:
        copies = _DISTINCTIVE.intersection(_number_literals(script.read_text()))
        assert not copies, f"{script.name} copies {copies}: read #orfi-limits instead"
    assert "photosMax" in (SCRIPTS / "report-form.js").read_text()


# ------------------------------------------------------------------ strictness


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"gravity": "3"}, "gravity"),
        ({"gravity": 3.5}, "gravity"),
        ({"gravity": True}, "gravity"),
        ({"gravity": limits.GRAVITY_MAX + 1}, "gravity"),
        ({"status": 1}, "status"),
        ({"comment": 12}, "comment"),
        ({"comment": "x" * (limits.COMMENT_MAX_LENGTH + 1)}, "comment"),
        ({"gravite": 3}, "gravite"),
    ],
)
def test_qualification_is_strict(client, world, body, field):
    report = world["report"]
    response = client.patch(
        f"/api/v1/reports/{report.uuid}",
        json=body,
        headers=_bearer(world["referent_token"]),
    )
    assert response.status_code == 422, response.json
    assert list(response.json["fields"]) == [field]
    db.session.expire_all()
    assert db.session.get(Report, report.id).gravity == 2


def test_nan_is_refused_under_its_name(client, world):
    report = world["report"]
    response = client.patch(
        f"/api/v1/reports/{report.uuid}",
        data='{"gravity": NaN}',
        headers={
            **_bearer(world["referent_token"]),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 422
    assert response.json["fields"] == {"gravity": ["Nombre entier attendu."]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"comment": "vu aussi", "couleur": "rouge"}, "couleur"),
        ({"uuid": 12}, "uuid"),
        ({"comment": ["vu"]}, "comment"),
    ],
)
def test_additions_are_strict_and_store_nothing(client, world, body, field):
    report = world["report"]
    before = db.session.query(ReportEvent).count()
    response = client.post(
        f"/api/v1/reports/{report.uuid}/additions",
        json=body,
        headers=_bearer(world["referent_token"]),
    )
    assert response.status_code == 422
    assert list(response.json["fields"]) == [field]
    assert db.session.query(ReportEvent).count() == before


def test_duplicate_names_a_missing_original(client, world):
    response = client.put(
        f"/api/v1/reports/{world['report'].uuid}/duplicate",
        json={"comment": "même fait"},
        headers=_bearer(world["referent_token"]),
    )
    assert response.status_code == 422
    assert response.json["fields"] == {
        "original": ["Champ obligatoire (null pour retirer le doublon)."]
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("category_id=1&latitude=nan&longitude=1.4", "latitude"),
        ("category_id=1&latitude=43.6&longitude=inf", "longitude"),
        ("category_id=x&latitude=43.6&longitude=1.4", "category_id"),
        ("category_id=1&latitude=43.6", "longitude"),
        ("category_id=1&latitude=43.6&longitude=1.4&rayon=9", "rayon"),
    ],
)
def test_query_strings_are_strict(client, world, query, field):
    response = client.get(
        f"/api/v1/reports/nearby?{query}", headers=_bearer(world["gardien_token"])
    )
    assert response.status_code == 422
    assert field in response.json["fields"]


# --------------------------------------------------------------- the messages


def test_every_error_is_french_and_named():
    with pytest.raises(ValidationError) as refused:
        parse(
            NewReport,
            {
                "category_id": 0,
                "occurred_at": "hier",
                "latitude": float("inf"),
                "gps_accuracy_m": limits.GPS_ACCURACY_MAX_M + 1,
                "lieu": "grenier",
                "description": "\x00",
                "x" * 300: 1,
            },
        )
    assert refused.value.errors == {
        "category_id": [f"Nombre entre 1 et {limits.ID_MAX} attendu."],
        "residence_id": ["Champ obligatoire."],
        "occurred_at": [
            "Date et heure ISO 8601 attendues (ex. 2026-11-21T14:30:00+01:00 ; "
            "sans décalage : heure de Paris)."
        ],
        "latitude": ["Nombre fini attendu."],
        "gps_accuracy_m": [f"Nombre entre 0 et {limits.GPS_ACCURACY_MAX_M} attendu."],
        "lieu": [refused.value.errors["lieu"][0]],
        "description": ["Le texte contient des caractères invalides."],
        "x" * 100: ["Champ inconnu."],
    }
    assert refused.value.errors["lieu"][0].startswith("Valeur inconnue : ")


def test_a_null_gravity_clears_it_and_an_absent_one_keeps_it():
    assert parse(Qualification, {"gravity": None}).model_fields_set == {"gravity"}
    assert "gravity" not in parse(Qualification, {}).model_fields_set


def test_answers_have_the_fields_of_their_models(client, world):
    """The renderers and the answer models (the document) list the same fields."""
    headers = _bearer(world["referent_token"])
    fact = client.get(f"/api/v1/reports/{world['report'].uuid}", headers=headers).json
    assert set(fact) == set(contract.Report.model_fields)
    me = client.get("/api/v1/me", headers=headers).json
    assert set(me) == set(contract.Me.model_fields)
    page = client.get("/api/v1/residences", headers=headers).json
    assert set(page) == set(contract.ResidencePage.model_fields)
    assert set(page["items"][0]) == set(contract.Residence.model_fields)
    nearby = client.get(
        "/api/v1/reports/nearby",
        query_string={
            "category_id": world["report"].category_id,
            "latitude": world["report"].latitude,
            "longitude": world["report"].longitude,
        },
        headers=headers,
    ).json
    assert set(nearby) == set(contract.NearbyList.model_fields)
    assert set(nearby["items"][0]) == set(contract.NearbyFact.model_fields)
