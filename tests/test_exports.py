"""Exports of a bailleur's own facts: CSV, XLSX and GeoJSON with the list's filters."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.exports import services as export_services
from orfi.exports.services import HEADER, ExportQuery, iter_rows
from orfi.exports.spreadsheet import BOM, neutralise
from orfi.extensions import db
from orfi.reports.models import Report, Status
from orfi.reports.queries import ReportFilters
from orfi.timezone import to_local
from tests.factories import (
    category,
    commit,
    make_agence,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)

FORMULA = '=HYPERLINK("http://evil.example","clic")'


@pytest.fixture
def world(app):
    """A bailleur with two agences, a QPV résidence and facts of several kinds."""
    organisation = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    nord, sud = make_agence(organisation, name="Nord"), make_agence(organisation)
    izards = make_residence(
        organisation,
        name="Les Izards",
        reference="IZ01",
        agence=nord,
        commune_insee="31555",
        commune_name="Toulouse",
        qpv_code="QP031007",
        qpv_generation="2015",
        latitude=43.6409,
        longitude=1.4327,
    )
    colomiers = make_residence(
        organisation,
        name="En Jacca",
        reference="CO01",
        agence=sud,
        commune_insee="31149",
        commune_name="Colomiers",
        latitude=43.6110,
        longitude=1.3350,
    )
    referent = make_user(organisation, role=Role.REFERENT)
    chef = make_user(organisation, role=Role.DIRECTION, agence=nord)
    now = utcnow()
    facts = [
        make_report(
            referent,
            izards,
            category_code="AP01",
            description=FORMULA,
            occurred_at=now - timedelta(hours=2),
            damage_cost_eur=150,
            gravity=3,
        ),
        make_report(
            referent,
            izards,
            category_code="AB02",
            description="Tags « ACAB » dans le hall ; porte\nabîmée",
            occurred_at=now - timedelta(days=3),
        ),
        make_report(
            referent,
            colomiers,
            category_code="AB01",
            description="-2+3 vitres cassées",
            occurred_at=now - timedelta(days=10),
            latitude=43.6111,
            longitude=1.3351,
        ),
    ]
    duplicate = make_report(
        referent, colomiers, category_code="AB01", occurred_at=now - timedelta(days=10)
    )
    duplicate.duplicate_of_id = facts[2].id
    other = make_organisation(code="ALT")
    make_report(make_user(other, role=Role.REFERENT), category_code="AB01")
    commit()
    return {
        "organisation": organisation,
        "izards": izards,
        "colomiers": colomiers,
        "referent": referent,
        "chef": chef,
        "facts": facts,
    }


def read_csv(response) -> list[list[str]]:
    text = response.get_data().decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_csv_has_the_facts_of_the_list_in_french_excel_format(client, auth, world):
    auth.login(world["referent"].email)
    response = client.get("/exports/signalements.csv")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["X-Orfi-Row-Count"] == "3"
    rows = read_csv(response)
    assert tuple(rows[0]) == HEADER
    # Newest first, as on the list page; the duplicate and the other bailleur's
    # fact are left out.
    references = [r[0] for r in rows[1:]]
    assert references == [f.reference for f in world["facts"]]
    first = dict(zip(HEADER, rows[1], strict=True))
    fact = world["facts"][0]
    assert first["Date et heure (Europe/Paris)"] == to_local(fact.occurred_at).strftime(
        "%Y-%m-%d %H:%M"
    )
    assert first["Catégorie (code)"] == "AP01"
    assert first["Famille (code)"] == "AP"
    assert first["Résidence (référence)"] == "IZ01"
    assert first["Commune (code INSEE)"] == "31555"
    assert first["QPV (code)"] == "QP031007"
    assert first["QPV (génération)"] == "2015"
    assert first["Latitude (WGS84)"] == "43,6409"
    assert first["Gravité (1 à 4)"] == "3"
    assert first["Coût estimé (€)"] == "150"
    assert first["Statut"] == "Nouveau"
    # Formula injection neutralised, other text intact.
    assert first["Description"] == "'" + FORMULA
    second = dict(zip(HEADER, rows[2], strict=True))
    assert second["Description"] == "Tags « ACAB » dans le hall ; porte\nabîmée"
    third = dict(zip(HEADER, rows[3], strict=True))
    assert third["Description"] == "'-2+3 vitres cassées"
    assert third["QPV (code)"] == ""


@pytest.mark.parametrize(
    "text, expected",
    [
        ("=1+1", "'=1+1"),
        ("+33 6", "'+33 6"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Porte = cassée", "Porte = cassée"),
    ],
)
def test_neutralise_prefixes_what_a_spreadsheet_would_run(text, expected):
    assert neutralise(text) == expected


def test_export_uses_the_filters_of_the_list_page(client, auth, world):
    auth.login(world["referent"].email)
    organisation = world["organisation"]
    ab02 = category(organisation, "AB02")
    response = client.get(f"/exports/signalements.csv?category={ab02.id}&page=3")
    rows = read_csv(response)
    assert [r[0] for r in rows[1:]] == [world["facts"][1].reference]

    response = client.get(
        f"/exports/signalements.csv?residence={world['colomiers'].id}&status=nouveau"
    )
    assert [r[0] for r in read_csv(response)[1:]] == [world["facts"][2].reference]

    since = to_local(utcnow() - timedelta(days=5)).date().isoformat()
    response = client.get(f"/exports/signalements.geojson?date_from={since}")
    features = json.loads(response.get_data())["features"]
    assert {f["properties"]["reference"] for f in features} == {
        world["facts"][0].reference,
        world["facts"][1].reference,
    }


def test_invalid_filters_are_refused_in_french(client, auth, world):
    auth.login(world["referent"].email)
    response = client.get(
        "/exports/signalements.csv?date_from=2026-05-10&date_to=2026-05-01"
    )
    assert response.status_code == 400
    assert "La date de fin précède la date de début." in response.text
    assert "Retour à la liste des faits" in response.text


def test_geojson_is_a_feature_collection_in_wgs84(client, auth, world):
    auth.login(world["referent"].email)
    response = client.get("/exports/signalements.geojson")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    data = json.loads(response.get_data())
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 3
    feature = data["features"][2]
    assert feature["geometry"] == {"type": "Point", "coordinates": [1.3351, 43.6111]}
    properties = feature["properties"]
    assert properties["commune_insee"] == "31149"
    assert properties["category_code"] == "AB01"
    assert properties["description"] == "-2+3 vitres cassées"
    assert properties["occurred_at"].count(":") == 1  # YYYY-MM-DDTHH:MM


def test_xlsx_keeps_text_as_text(client, auth, world):
    auth.login(world["referent"].email)
    response = client.get("/exports/signalements.xlsx")
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    assert response.headers["Content-Disposition"].endswith('.xlsx"') or (
        ".xlsx" in response.headers["Content-Disposition"]
    )
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True)["Faits"]
    rows = list(sheet.values)
    assert rows[0] == HEADER
    assert len(rows) == 4
    first = dict(zip(HEADER, rows[1], strict=True))
    assert first["Description"] == FORMULA  # a string cell: never evaluated
    assert first["Latitude (WGS84)"] == pytest.approx(43.6409)
    assert first["Date et heure (Europe/Paris)"].year >= 2000


def test_xlsx_has_an_autofilter_over_its_table(client, auth, world):
    auth.login(world["referent"].email)
    response = client.get("/exports/signalements.xlsx")
    # Not read_only: the autofilter is read with the full worksheet.
    sheet = load_workbook(io.BytesIO(response.get_data()))["Faits"]
    rows = list(sheet.values)
    assert sheet.freeze_panes == "A2"
    last_column = sheet.cell(1, len(HEADER)).column_letter
    assert rows[0] == HEADER and rows[-1][0] is not None
    assert sheet.auto_filter.ref == f"A1:{last_column}{len(rows)}"


def test_xlsx_opens_in_libreoffice(client, auth, world, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("ORFI_REQUIRE_SOFFICE") == "1":
            pytest.fail("soffice is required (ORFI_REQUIRE_SOFFICE=1) but missing")
        pytest.skip("LibreOffice (soffice) is not installed")
    auth.login(world["referent"].email)
    source = tmp_path / "faits.xlsx"
    source.write_bytes(client.get("/exports/signalements.xlsx").get_data())
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):59,34,76",
            "--outdir",
            str(tmp_path / "out"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    converted = tmp_path / "out" / "faits.csv"
    assert result.returncode == 0, result.stderr
    assert converted.exists(), result.stdout + result.stderr
    rows = list(csv.reader(io.StringIO(converted.read_text("utf-8")), delimiter=";"))
    assert tuple(rows[0]) == HEADER
    assert [r[0] for r in rows[1:]] == [f.reference for f in world["facts"]]
    assert rows[1][-1] == FORMULA


def test_xlsx_past_one_sheet_is_refused(client, auth, world, monkeypatch):
    monkeypatch.setattr(export_services, "XLSX_MAX_FACTS", 2)
    auth.login(world["referent"].email)
    response = client.get("/exports/signalements.xlsx")
    assert response.status_code == 400
    assert "choisissez le format CSV" in response.text
    assert client.get("/exports/signalements.csv").status_code == 200


def test_keyset_batches_give_every_fact_once_in_list_order(app, world):
    referent = world["referent"]
    same_time = utcnow() - timedelta(days=1)
    for _ in range(5):
        make_report(referent, world["izards"], occurred_at=same_time)
    commit()
    query = export_services.export_query(referent, ReportFilters())
    assert query.count == 8
    rows = list(iter_rows(query, batch_size=2))
    expected = db.session.scalars(
        db.select(Report.reference)
        .where(
            Report.organisation_id == referent.organisation_id,
            Report.duplicate_of_id.is_(None),
        )
        .order_by(Report.occurred_at.desc(), Report.id.desc())
    ).all()
    assert [r[0] for r in rows] == expected
    assert isinstance(query, ExportQuery)


ROLES = [Role.GARDIEN, Role.REFERENT, Role.DIRECTION, Role.ADMIN, Role.FEDERATION]


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
def test_only_readers_of_the_organisation_export(client, auth, world, role):
    organisation = None if role is Role.FEDERATION else world["organisation"]
    user = make_user(organisation, role=role, sector=[world["izards"]])
    commit()
    auth.login(user.email)
    for fmt in ("csv", "xlsx", "geojson"):
        response = client.get(f"/exports/signalements.{fmt}")
        if role in (Role.GARDIEN, Role.FEDERATION):
            assert response.status_code == 403
            assert world["facts"][0].reference not in response.get_data(as_text=True)
        else:
            assert response.status_code == 200
            assert response.headers["X-Orfi-Row-Count"] == "3"


def test_chef_d_agence_exports_the_agence_only(client, auth, world):
    auth.login(world["chef"].email)
    rows = read_csv(client.get("/exports/signalements.csv"))
    assert [r[0] for r in rows[1:]] == [f.reference for f in world["facts"][:2]]
    features = json.loads(client.get("/exports/signalements.geojson").get_data())
    assert len(features["features"]) == 2


def test_unknown_format_is_not_found(client, auth, world):
    auth.login(world["referent"].email)
    assert client.get("/exports/signalements.pdf").status_code == 404


def test_list_page_links_to_the_exports_with_its_filters(client, auth, world):
    auth.login(world["referent"].email)
    page = client.get(f"/signalements/?status=nouveau&residence={world['izards'].id}")
    assert page.status_code == 200
    assert "/exports/signalements.csv?" in page.text
    assert "status=nouveau" in page.text
    assert "2 faits" in page.text
    assert "/federation/export" in page.text

    auth.logout()
    auth.login(world["chef"].email)
    page = client.get("/signalements/")
    assert "/exports/signalements.xlsx" in page.text
    assert "/federation/export" not in page.text  # référents and admins only


def test_the_status_filter_of_a_closed_fact(client, auth, world):
    fact = world["facts"][1]
    fact.status = Status.CLOS
    commit()
    auth.login(world["referent"].email)
    rows = read_csv(client.get("/exports/signalements.csv?status=clos"))
    assert [r[0] for r in rows[1:]] == [fact.reference]
    assert rows[1][HEADER.index("Statut")] == "Clos"
