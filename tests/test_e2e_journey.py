"""One journey across the roles, in headless Chromium.

A gardien at phone size files a fact with the phone's position; a référent, at desktop
size, finds it on the map, in the statistics (one more than before) and in the CSV
export downloaded from the facts list; an administrator imports a patrimoine file
through the web page and finds the new résidence in the list. Screenshots of each step
go to ``test-artifacts/journey-*.png``.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import h3
import pytest
import sqlalchemy as sa

from orfi.auth.models import Role, User
from orfi.extensions import db
from orfi.patrimoine.models import Organisation, Residence
from orfi.reports.models import Report
from tests.browser import PHONE, BrowserSession, LiveServer
from tests.factories import category, make_user

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
# About 20 m north of the résidence, in degrees of latitude.
TWENTY_METRES = 0.00018
CATEGORY = "AB02"  # Tags, graffitis


@dataclass(frozen=True)
class Journey:
    """What the journey knows beyond the live server's world."""

    admin_email: str
    category_id: int


@pytest.fixture(scope="module")
def journey(live_server: LiveServer) -> Journey:
    """An administrator for the world's bailleur, and the category the gardien picks."""
    world = live_server.world
    with live_server.app.app_context():
        organisation = db.session.scalar(
            sa.select(Organisation).where(Organisation.code == world.organisation_code)
        )
        email = "admin@tmh.exemple.fr"
        if db.session.scalar(sa.select(User).where(User.email == email)) is None:
            make_user(organisation, role=Role.ADMIN, email=email, name="Admin TMH")
        chosen = category(organisation, CATEGORY)
        db.session.commit()
        result = Journey(admin_email=email, category_id=chosen.id)
        db.session.remove()
    return result


def wait_for_map(page) -> None:
    page.wait_for_function(
        "() => { const s = document.getElementById('map-status');"
        " return s && !/Chargement/.test(s.textContent); }"
    )
    status = page.inner_text("#map-status")
    assert "pas pu être chargées" not in status, status


def statistics_count(page, residence_id: int) -> int:
    """Filter the statistics page on the category and the résidence; return the
    number of facts it shows."""
    page.goto("/statistiques/")
    page.select_option("#f-nature", CATEGORY)
    page.select_option("#f-residence", str(residence_id))
    page.get_by_role("button", name="Appliquer").click()
    page.wait_for_url(re.compile(rf"nature={CATEGORY}.*residence={residence_id}"))
    return int(page.inner_text("#kpi-total").replace("\u202f", "").replace(" ", ""))


def file_a_fact(session: BrowserSession, journey: Journey, residence, text: str):
    """As the gardien, on a phone with its position 20 m from ``residence``, file a
    fact; return its reference and the position sent."""
    position = (residence.lat + TWENTY_METRES, residence.lon)
    page = session.new_page(
        viewport=PHONE,
        geolocation={"latitude": position[0], "longitude": position[1], "accuracy": 9},
        permissions=["geolocation"],
    )
    session.login(page, session.server.world.gardien_email)
    page.goto("/signalements/nouveau")
    page.wait_for_function("document.querySelector('#gps_accuracy_m').value !== ''")
    assert page.input_value("#residence") == str(residence.id)
    assert page.input_value("#location_source") == "gps"
    page.select_option("#category", str(journey.category_id))
    page.fill("#description", text)
    page.evaluate("window.scrollTo(0, 0)")
    session.screenshot(page, "journey-1-gardien-form", full_page=False)
    page.get_by_role("button", name="Envoyer le signalement").click()
    page.wait_for_url(re.compile(r"/confirmation$"))
    reference = page.locator("#reference").inner_text().strip()
    assert re.fullmatch(r"TMH-\d{4}-\d{6}", reference), reference
    session.screenshot(page, "journey-2-gardien-confirmation", full_page=False)
    return reference, position


def shows_within(page, locator, seconds: float) -> bool:
    """Whether ``locator`` becomes visible within ``seconds`` (no exception)."""
    for _ in range(int(seconds * 5)):
        if locator.is_visible():
            return True
        page.wait_for_timeout(200)
    return locator.is_visible()


def find_on_map(session: BrowserSession, page, reference: str, position) -> None:
    """Check the hexagon of the fact's position counts it, then open its pop-up."""
    responses = []
    page.on(
        "response",
        lambda r: responses.append(r) if "/carte/donnees.json" in r.url else None,
    )
    page.goto("/carte/")
    wait_for_map(page)
    hexes = [r.json()["hex"] for r in responses if "hex" in r.json()]
    assert hexes, [r.url for r in responses]
    layer = hexes[-1]
    cell = h3.latlng_to_cell(*position, layer["resolution"])
    assert cell in layer["cells"], (cell, layer["cells"])
    assert layer["counts"][layer["cells"].index(cell)] >= 1

    # Zoomed in, the facts come one by one: the map's data lists this one, and its
    # marker's pop-up names it.
    page.evaluate(
        "([lat, lon]) => orfiMaps.orfi.map.setView([lat, lon], 18, {animate: false})",
        list(position),
    )
    page.wait_for_function(
        "ref => orfiMaps.orfi.layers.facts.getLayers()"
        ".some(m => m.options.alt === ref)",
        arg=reference,
    )
    rows = [
        row
        for r in responses
        for row in (r.json().get("facts") or {}).get("rows") or []
    ]
    assert reference in [row[2] for row in rows]
    page.wait_for_load_state("networkidle")
    wait_for_map(page)
    popup = page.locator(".leaflet-popup-content", has_text=reference)
    for _attempt in range(3):
        # Clustered with a neighbour, the marker shows once its cluster spreads out;
        # a refresh of the layers may close the pop-up: open it again then.
        page.evaluate(
            """ref => { const c = orfiMaps.orfi.layers.facts;
                        const m = c.getLayers().find(m => m.options.alt === ref);
                        c.zoomToShowLayer(m, () => m.openPopup()); }""",
            reference,
        )
        if shows_within(page, popup, seconds=5):
            break
        wait_for_map(page)
    assert popup.is_visible()
    session.screenshot(page, "journey-3-referent-map", full_page=False)


def export_csv(session: BrowserSession, page, residence, tmp_path: Path) -> list[dict]:
    """Filter the facts list on the résidence, download its CSV export by its link;
    return the rows."""
    page.goto("/signalements/")
    page.locator(".filters-panel summary").click()
    page.select_option("#residence", str(residence.id))
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(rf"residence={residence.id}"))
    session.screenshot(page, "journey-5-referent-facts", full_page=False)
    page.locator(".export-panel summary").click()  # folded away, as on a phone
    with page.expect_download() as download_info:
        page.locator(".export-formats").get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def import_patrimoine(session: BrowserSession, email: str, tmp_path: Path) -> str:
    """As the administrator, import a one-résidence CSV through the web page; return
    the new résidence's name once the list shows it."""
    tag = uuid.uuid4().hex[:6].upper()
    name = f"Résidence du Parcours {tag}"
    source = tmp_path / "patrimoine.csv"
    source.write_text(
        "code_residence;nom_residence;adresse;code_insee;commune;nb_logements;"
        "latitude;longitude\n"
        f"E2E-{tag};{name};5 rue du Parcours;31555;Toulouse;42;43,6580;1,4650\n",
        encoding="utf-8",
    )
    page = session.new_page(viewport=DESKTOP)
    session.login(page, email)
    page.goto("/admin/")
    page.get_by_role("link", name="Importer le patrimoine").click()
    page.wait_for_url(re.compile(r"/patrimoine/import$"))
    page.set_input_files("#file", str(source))
    page.get_by_role("button", name="Importer").click()
    report = page.locator(".import-result")
    report.wait_for()
    assert report.locator("h2").inner_text().strip() == "Import terminé"
    counts = dict(
        zip(
            report.locator("dt").all_inner_texts(),
            report.locator("dd").all_inner_texts(),
            strict=True,
        )
    )
    assert counts["Lignes lues"] == "1"
    assert counts["Nouvelles résidences"] == "1"
    assert counts["Lignes rejetées"] == "0"
    session.screenshot(page, "journey-6-admin-import-report")
    report.get_by_role("link", name="Voir les résidences").click()
    page.wait_for_url(re.compile(r"/patrimoine/residences$"))
    row = page.locator("tbody tr", has_text=name)
    assert row.count() == 1
    assert "Toulouse" in row.inner_text()
    row.scroll_into_view_if_needed()
    session.screenshot(page, "journey-7-admin-residences", full_page=False)
    return name


def test_fact_travels_from_gardien_to_referent_and_admin_imports_patrimoine(
    browser_session: BrowserSession, journey: Journey, tmp_path: Path
):
    server = browser_session.server
    world = server.world
    residence = world.residences[2]  # Borderouge
    text = f"Parcours de bout en bout {uuid.uuid4().hex[:8]} : tags dans le hall."

    referent = browser_session.new_page(viewport=DESKTOP)
    browser_session.login(referent, world.referent_email)
    before = statistics_count(referent, residence.id)

    reference, position = file_a_fact(browser_session, journey, residence, text)

    find_on_map(browser_session, referent, reference, position)

    assert statistics_count(referent, residence.id) == before + 1
    ranking = referent.locator("#ranking tbody tr", has_text=residence.name)
    assert ranking.count() == 1
    browser_session.screenshot(
        referent, "journey-4-referent-statistics", full_page=False
    )

    rows = export_csv(browser_session, referent, residence, tmp_path)
    mine = [row for row in rows if row["Référence"] == reference]
    assert len(mine) == 1, [row.get("Référence") for row in rows]
    assert text in mine[0].values()
    assert {row["Résidence (référence)"] for row in rows} == {"TMH-BDR"}

    name = import_patrimoine(browser_session, journey.admin_email, tmp_path)

    with server.app.app_context():
        stored = db.session.scalar(
            sa.select(Report).where(Report.reference == reference)
        )
        assert stored.description == text
        assert stored.residence_id == residence.id
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Residence)
                .where(Residence.name == name)
            )
            == 1
        )
        db.session.remove()
    browser_session.assert_clean()
