"""The map and statistics pages in headless Chromium, at phone and desktop widths."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest

from orfi.auth.models import Role
from orfi.extensions import db
from orfi.reports.models import Lieu, Suite
from orfi.timezone import now_local
from tests.browser import (
    BrowserSession,
    LiveServer,
)
from tests.factories import make_organisation, make_residence, make_user
from tests.test_stats import insert_fact

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
ODD_NAME = '<b>Les "Tilleuls"</b> & <img src=x>'
# Three résidences of the Mirail (Toulouse), a few hundred metres apart.
PLACES = (
    ("CAR-REY", "Reynerie", 43.5726, 1.4013, 400, "QP031007"),
    ("CAR-BEL", "Bellefontaine", 43.5665, 1.4012, 300, "QP031007"),
    ("CAR-TIL", ODD_NAME, 43.5760, 1.4080, 120, None),
)


@dataclass(frozen=True)
class MapWorld:
    """What the tests know of the bailleur they add to the live server."""

    email: str
    facts: int
    residences: dict[str, tuple[float, float]]


@pytest.fixture(scope="module")
def map_world(live_server: LiveServer) -> MapWorld:
    """A bailleur of its own (not the field tests' TMH) with facts of recent weeks."""
    with live_server.app.app_context():
        organisation = make_organisation(code="CARTE", name="Bailleur de la carte")
        residences = [
            make_residence(
                organisation, reference=ref, name=name, latitude=lat, longitude=lon,
                logements=logements, qpv_code=qpv,
                qpv_generation="2015" if qpv else None,
            )
            for ref, name, lat, lon, logements, qpv in PLACES
        ]  # fmt: skip
        referent = make_user(
            organisation, role=Role.REFERENT, email="referent@carte.exemple.fr"
        )
        today = now_local().replace(tzinfo=None, second=0, microsecond=0)
        count = 0
        for i in range(90):
            residence = residences[0] if i % 3 else residences[i % 2 + 1]
            insert_fact(
                referent, residence, today - timedelta(days=1 + i % 60, hours=i % 7),
                "TT01" if i % 2 else "AB01",
                latitude=residence.latitude + 0.0002 * (i % 5 - 2),
                longitude=residence.longitude + 0.0002 * (i % 4 - 2),
                lieu=Lieu.HALL if i % 4 else None,
                suite=Suite.PLAINTE_BAILLEUR if i % 5 == 0 else None,
            )  # fmt: skip
            count += 1
        db.session.commit()
        world = MapWorld(
            email=referent.email,
            facts=count,
            residences={r.name: (r.latitude, r.longitude) for r in residences},
        )
        db.session.remove()
    return world


def open_page(session: BrowserSession, world: MapWorld, path: str, viewport: dict):
    page = session.new_page(viewport=viewport)
    session.login(page, world.email)
    page.goto(path)
    return page


def wait_for_map(page) -> str:
    page.wait_for_function(
        "() => { const s = document.getElementById('map-status');"
        " return s && !/Chargement/.test(s.textContent); }"
    )
    status = page.inner_text("#map-status")
    assert "pas pu être chargées" not in status, status
    return status


def layer_size(page, name: str) -> int:
    return page.evaluate(f"orfiMaps.orfi.layers['{name}'].getLayers().length")


def assert_no_horizontal_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_map_page_draws_its_layers(browser_session, map_world, viewport):
    page = open_page(browser_session, map_world, "/carte/", viewport)
    status = wait_for_map(page)
    assert "Gi*" in status
    assert layer_size(page, "hex") > 0
    assert layer_size(page, "residences") == len(PLACES)
    assert page.locator(".map-legend").is_visible()
    assert page.locator(".leaflet-control-layers").count() == 1
    assert page.locator("#hot-residences li").count() == len(PLACES)
    assert_no_horizontal_scroll(page, viewport["width"])
    name = "phone" if viewport is PHONE else "desktop"
    browser_session.screenshot(page, f"map-{name}-screen", full_page=False)
    browser_session.screenshot(page, f"map-{name}")
    browser_session.assert_clean()


def test_facts_show_one_by_one_when_zoomed_and_link_to_their_page(
    browser_session, map_world
):
    page = open_page(browser_session, map_world, "/carte/", DESKTOP)
    wait_for_map(page)
    lat, lon = map_world.residences["Reynerie"]
    page.evaluate(f"orfiMaps.orfi.map.setView([{lat}, {lon}], 17, {{animate: false}})")
    page.wait_for_function("orfiMaps.orfi.layers.facts.getLayers().length > 0")
    assert "un par un" in wait_for_map(page)
    page.evaluate(
        """() => { const c = orfiMaps.orfi.layers.facts; const m = c.getLayers()[0];
                   c.zoomToShowLayer(m, () => m.openPopup()); }"""
    )
    link = page.locator(".leaflet-popup-content a", has_text="Ouvrir le fait")
    link.wait_for()
    page.wait_for_load_state("networkidle")
    wait_for_map(page)
    link.wait_for()  # still open after the refresh that zooming triggered
    href = link.get_attribute("href")
    assert re.fullmatch(r"/signalements/[0-9a-f-]{36}", href), href
    browser_session.screenshot(page, "map-desktop-facts", full_page=False)
    link.click()
    page.wait_for_url(re.compile(r"/signalements/[0-9a-f-]{36}$"))
    assert page.locator("h1").inner_text().startswith("T-")
    browser_session.assert_clean()


def test_popups_show_names_as_text(browser_session, map_world):
    page = open_page(browser_session, map_world, "/carte/", DESKTOP)
    wait_for_map(page)
    page.evaluate(
        """(name) => { orfiMaps.orfi.layers.residences.eachLayer((layer) => {
               if (layer.getTooltip().getContent().textContent === name) {
                   layer.openPopup();
               }
           }); }""",
        ODD_NAME,
    )
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.locator("strong").first.inner_text() == ODD_NAME
    assert popup.locator("b, img").count() == 0
    browser_session.assert_clean()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_statistics_page_reads_at_a_glance(browser_session, map_world, viewport):
    page = open_page(browser_session, map_world, "/statistiques/", viewport)
    assert page.inner_text("#kpi-total") == str(map_world.facts)
    assert page.locator("svg.chart-columns").count() == 2
    assert page.locator("svg.heat-grid").count() == 1
    assert page.locator(".hbars li").count() >= 4
    assert page.locator("#ranking tbody tr").count() == len(PLACES)
    assert_no_horizontal_scroll(page, viewport["width"])
    csv_href = page.locator("a.csv-link", has_text="Classement en CSV").get_attribute(
        "href"
    )
    response = page.request.get(csv_href)
    assert response.ok and response.headers["content-type"].startswith("text/csv")
    assert "Reynerie" in response.text()
    name = "phone" if viewport is PHONE else "desktop"
    browser_session.screenshot(page, f"stats-{name}-screen", full_page=False)
    browser_session.screenshot(page, f"stats-{name}")
    browser_session.assert_clean()
