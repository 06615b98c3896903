"""Filing, listing, isolating and qualifying facts."""

from __future__ import annotations

import html
import json
import re

import pytest
import sqlalchemy as sa

from orfi.database import utcnow
from orfi.extensions import db
from orfi.followup.models import ComplaintFiler, ComplaintKind
from orfi.followup.services import ComplaintInput, save_complaint
from orfi.reports.history import ChangeLine, describe_changes
from orfi.reports.models import (
    LocationSource,
    Report,
    ReportEvent,
    Status,
    Suite,
    Victime,
)
from orfi.timezone import to_local
from tests.factories import (
    category,
    commit,
    count_reports,
    fact_form,
    make_organisation,
    make_report,
    make_tmh_world,
)


@pytest.fixture
def world(app):
    """A bailleur with a gardien (one résidence in sector) and a référent."""
    world = make_tmh_world()
    commit()
    return world


def test_gardien_files_a_fact(client, auth, world):
    auth.login(world["gardien"].email)
    page = client.get("/signalements/nouveau")
    assert page.status_code == 200
    assert "Pas de nom" in page.text

    response = client.post("/signalements/nouveau", data=fact_form(world))
    assert response.status_code == 302
    confirmation = client.get(response.headers["Location"])
    reference = re.search(r"TMH-\d{4}-\d{6}", confirmation.text).group(0)

    report = db.session.scalar(sa.select(Report).where(Report.reference == reference))
    assert report.residence_id == world["residence"].id
    assert report.gps_accuracy_m == 14
    assert report.location_source is LocationSource.GPS
    assert report.status is Status.NOUVEAU
    assert report.events == []  # the row itself records who filed it, and when
    assert reference in client.get("/signalements/mes").text


def test_fact_without_gps_takes_the_residence_position(client, auth, world):
    auth.login(world["gardien"].email)
    form = fact_form(
        world, latitude=None, longitude=None, gps_accuracy_m=None, location_source=None
    )
    assert client.post("/signalements/nouveau", data=form).status_code == 302
    report = db.session.scalar(sa.select(Report))
    assert report.location_source is LocationSource.RESIDENCE
    assert (report.latitude, report.longitude) == (43.6409, 1.4327)
    assert report.gps_accuracy_m is None


def test_optional_fields_may_be_left_out(client, auth, world):
    auth.login(world["gardien"].email)
    form = fact_form(
        world,
        lieu=None,
        victime=None,
        suite=None,
        intervention=None,
        gravity=None,
        description=None,
    )
    assert client.post("/signalements/nouveau", data=form).status_code == 302
    report = db.session.scalar(sa.select(Report))
    assert (report.lieu, report.victime, report.suite, report.gravity) == (None,) * 4


def test_resend_with_same_uuid_stores_once(client, auth, world):
    auth.login(world["gardien"].email)
    form = fact_form(world, client_uuid="0b7f7a4e-9a53-4a53-9c0e-2f2a2d7d0c11")
    first = client.post("/signalements/nouveau", data=form)
    second = client.post("/signalements/nouveau", data=form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert count_reports() == 1


def test_references_follow_each_other(world):
    first = make_report(world["gardien"])
    second = make_report(world["gardien"])
    n1, n2 = (int(r.reference.rsplit("-", 1)[1]) for r in (first, second))
    assert n2 == n1 + 1


def test_derived_fields_are_local_time(world):
    from datetime import UTC, datetime

    # 22:30 UTC on 14 July 2026 is 00:30 on 15 July in Paris (UTC+2).
    occurred = datetime(2026, 7, 14, 22, 30, tzinfo=UTC)
    report = make_report(world["gardien"], occurred_at=occurred)
    assert (report.occurred_month, report.occurred_hour) == (202607, 0)
    assert report.occurred_weekday == 2  # Wednesday 15 July 2026


INVALID_CASES = {
    "latitude out of range": ({"latitude": "123.4"}, "latitude"),
    "longitude not finite": ({"longitude": "inf"}, "latitude"),
    "latitude NaN": ({"latitude": "nan"}, "latitude"),
    "latitude without longitude": ({"longitude": ""}, "latitude"),
    "far from the résidence": (
        {"latitude": "43.70", "longitude": "1.50"},
        "confirm_position",
    ),
    "in the future": ({"occurred_at": "2999-01-01T10:00"}, "occurred_at"),
    "too old": ({"occurred_at": "2001-01-01T10:00"}, "occurred_at"),
    "missing date": ({"occurred_at": ""}, "occurred_at"),
    "garbage date": ({"occurred_at": "hier soir"}, "occurred_at"),
    "no category": ({"category": ""}, "category"),
    "no résidence": ({"residence": ""}, "residence"),
    "description too long": ({"description": "x" * 501}, "description"),
    "gravity out of range": ({"gravity": "7"}, "gravity"),
    "negative damage": ({"damage_cost_eur": "-5"}, "damage_cost_eur"),
    "stoppage for a tenant": (
        {"victime": "locataire", "arret_travail_jours": "3"},
        "arret_travail_jours",
    ),
}


@pytest.mark.parametrize(
    "overrides, field", INVALID_CASES.values(), ids=INVALID_CASES.keys()
)
def test_invalid_input_is_refused_and_nothing_stored(
    client, auth, world, overrides, field
):
    auth.login(world["gardien"].email)
    response = client.post("/signalements/nouveau", data=fact_form(world, **overrides))
    assert response.status_code == 422
    assert f'id="{field}-errors"' in response.text
    assert count_reports() == 0


def test_far_position_is_accepted_once_confirmed(client, auth, world):
    auth.login(world["gardien"].email)
    form = fact_form(world, latitude="43.70", longitude="1.50", confirm_position="y")
    assert client.post("/signalements/nouveau", data=form).status_code == 302
    assert count_reports() == 1


def test_inactive_category_is_refused(client, auth, world):
    inactive = category(world["organisation"], "TT03")
    inactive.active = False
    commit()
    auth.login(world["gardien"].email)
    response = client.post(
        "/signalements/nouveau", data=fact_form(world, category=str(inactive.id))
    )
    assert response.status_code == 422
    assert count_reports() == 0


def test_residence_outside_the_sector_is_refused(client, auth, world):
    auth.login(world["gardien"].email)
    form = fact_form(
        world, residence=str(world["other"].id), latitude="43.58", longitude="1.41"
    )
    response = client.post("/signalements/nouveau", data=form)
    assert response.status_code == 422
    assert "secteur" in response.text, re.findall(r"<li>[^<]*</li>", response.text)
    assert count_reports() == 0


def test_category_of_another_bailleur_is_refused(client, auth, world):
    other = make_organisation()
    commit()
    auth.login(world["gardien"].email)
    response = client.post(
        "/signalements/nouveau",
        data=fact_form(world, category=str(category(other).id)),
    )
    assert response.status_code == 422
    assert count_reports() == 0


def test_referent_lists_filters_and_qualifies(client, auth, world):
    report = make_report(world["gardien"], category_code="AB02")
    make_report(world["gardien"], category_code="TT01")
    commit()
    auth.login(world["referent"].email)
    listing = client.get("/signalements/")
    assert report.reference in listing.text
    filtered = client.get(
        f"/signalements/?category={category(world['organisation'], 'TT01').id}"
    )
    assert report.reference not in filtered.text

    new_category = category(world["organisation"], "AB01")
    response = client.post(
        f"/signalements/{report.uuid}/qualifier",
        data={
            "category": str(new_category.id),
            "status": "qualifie",
            "gravity": "3",
            "comment": "Vu sur place",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert report.category_id == new_category.id
    assert report.status is Status.QUALIFIE
    event = db.session.scalar(
        sa.select(ReportEvent).where(ReportEvent.kind == "updated")
    )
    assert event.changes == {
        "category": ["AB02", "AB01"],
        "status": ["nouveau", "qualifie"],
        "gravity": [None, 3],
    }
    assert event.user_id == world["referent"].id


def test_gardien_cannot_qualify_nor_list_the_organisation(client, auth, world):
    report = make_report(world["gardien"])
    commit()
    auth.login(world["gardien"].email)
    assert client.get("/signalements/").status_code == 403
    response = client.post(
        f"/signalements/{report.uuid}/qualifier",
        data={"status": "clos", "category": "1"},
    )
    assert response.status_code == 403


def test_the_fact_page_maps_its_position_and_links_to_its_residence(
    client, auth, world, app
):
    residence = world["residence"]
    report = make_report(
        world["gardien"],
        latitude=residence.latitude + 0.0003,
        longitude=residence.longitude - 0.0002,
    )
    commit()
    residence_url = f"/patrimoine/residences/{residence.id}"

    auth.login(world["referent"].email)
    page = client.get(f"/signalements/{report.uuid}").text
    config = json.loads(
        re.search(r'id="fact-map-config">(.*?)</script>', page, re.S).group(1)
    )
    assert config["fact"] == [
        round(residence.latitude + 0.0003, 6),
        round(residence.longitude - 0.0002, 6),
    ]
    assert config["residence"] == [residence.latitude, residence.longitude]
    assert config["residenceName"] == residence.name
    # The basemap setting of every map: none by default, so nothing leaves the app.
    assert config["tileUrl"] == app.config["ORFI_TILE_URL"] == ""
    assert 'id="fact-map"' in page and "/static/js/fact-map.js" in page
    assert f'href="{residence_url}"' in page
    assert client.get(residence_url).status_code == 200
    auth.logout()

    # The gardien sees the map of their fact, not a link to a page closed to them.
    auth.login(world["gardien"].email)
    page = client.get(f"/signalements/{report.uuid}").text
    assert 'id="fact-map"' in page and residence_url not in page
    assert client.get(residence_url).status_code == 403


# ----------------------------------------------------------------- history labels


def history_text(page: str) -> str:
    """The text of the fact page's history section, tags dropped, entities decoded."""
    section = page[page.index('<section class="history">') :]
    section = section[: section.index("</section>")]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", section)).split())


def test_history_shows_french_fields_and_values(client, auth, world):
    report = make_report(
        world["gardien"],
        category_code="AB02",
        victime=Victime.PERSONNEL_BAILLEUR,
        suite=Suite.AUCUNE,
    )
    commit()
    auth.login(world["referent"].email)
    response = client.post(
        f"/signalements/{report.uuid}/qualifier",
        data={
            "category": str(category(world["organisation"], "AB01").id),
            "status": "qualifie",
            "gravity": "3",
        },
    )
    assert response.status_code == 302
    save_complaint(
        world["referent"],
        report,
        ComplaintInput(
            kind=ComplaintKind.PLAINTE,
            filed_by=ComplaintFiler.BAILLEUR,
            filed_on=to_local(utcnow()).date(),
            reference="PV 2026/123",
            mission_service_public=True,
        ),
    )
    commit()

    history = history_text(client.get(f"/signalements/{report.uuid}").text)
    assert "Catégorie : AB02 → AB01" in history
    assert "Statut : Nouveau → Qualifié" in history
    assert "Gravité : — → 3 · Orange : activité délinquante installée" in history
    assert "Suite donnée : Aucune → Plainte déposée par le bailleur" in history
    assert "Agent chargé d'une mission de service public : non → oui" in history
    for code in ("suite", "mission_service_public", "plainte_bailleur", "qualifie"):
        assert not re.search(rf"\b{code}\b", history), (code, history)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"lieu": [None, "hall"]}, ("Lieu", "—", "Hall d'entrée")),
        ({"victime": ["tiers", "locataire"]}, ("Victime", "Tiers", "Locataire")),
        ({"intervention": ["aucune", "gendarmerie"]},
         ("Intervention", "Aucune", "Gendarmerie")),
        ({"status": ["transmis", "clos"]}, ("Statut", "Transmis", "Clos")),
        ({"gravity": [1, "4"]},
         ("Gravité", "1 · Vert : acte isolé", "4 · Rouge : danger grave")),
        ({"duplicate_of": ["TMH-2026-000001", None]},
         ("Doublon de", "TMH-2026-000001", "—")),
        # A code that no longer exists, and a field without a label: shown, readable.
        ({"suite": ["ancienne_suite", ""]}, ("Suite donnée", "ancienne_suite", "—")),
        ({"arret_de_chantier": [False, True]}, ("Arret de chantier", "non", "oui")),
        # Not a [before, after] pair: the value is still shown, as the new one.
        ({"gravity": "3"},
         ("Gravité", "—", "3 · Orange : activité délinquante installée")),
    ],
)  # fmt: skip
def test_history_labels_every_recorded_field(changes, expected):
    assert describe_changes(changes) == [ChangeLine(*expected)]
