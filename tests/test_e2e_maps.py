"""The map and statistics pages in headless Chromium, at phone and desktop widths."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import h3
import pytest
import sqlalchemy as sa

from orfi.auth.models import Role
from orfi.extensions import db
from orfi.patrimoine.models import Residence
from orfi.reports.models import Lieu, Report, Suite
from orfi.timezone import now_local
from tests.browser import (
    BrowserSession,
    LiveServer,
)
from tests.factories import insert_fact, make_organisation, make_residence, make_user

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
    assert "point chaud" in status and "résidences testées" in status
    assert layer_size(page, "hex") > 0
    assert layer_size(page, "residences") == len(PLACES)
    assert page.locator(".map-legend").is_visible()
    # The legend lies under the map, never over the data; folded on phones.
    legend = page.locator(".map-legend").bounding_box()
    frame = page.locator("#map_orfi").bounding_box()
    assert legend["y"] >= frame["y"] + frame["height"]
    is_open = page.eval_on_selector(".map-legend details", "d => d.open")
    assert is_open == (viewport is DESKTOP)
    if viewport is PHONE:
        page.locator(".map-legend summary").click()
    # The density classes list whole counts, each after the previous one: "1 – 2",
    # "3", "4 – 9"… (never "4 – 3").
    classes = page.eval_on_selector_all(
        "#legend-hex li:not([hidden]) .legend-text",
        "items => items.map(i => i.textContent)",
    )
    assert classes, "no density class in the legend"
    expected_low = 1
    for text in classes:
        match = re.fullmatch(r"(\d+)(?: – (\d+))?", text.replace("\u202f", ""))
        assert match, text
        low, high = int(match[1]), int(match[2] or match[1])
        assert low == expected_low and high >= low, classes
        expected_low = high + 1
    # Fractional bounds (quantiles): a class holding no whole count is left out.
    page.evaluate("orfiMaps.orfi.fillHexLegend([2.4, 3.2, 3.6, 9, 20])")
    assert page.eval_on_selector_all(
        "#legend-hex li:not([hidden]) .legend-text",
        "items => items.map(i => i.textContent)",
    ) == ["1 – 2", "3", "4 – 9", "10 – 20"]
    assert page.locator(".leaflet-control-layers").count() == 1
    assert page.locator("#hot-residences li").count() == len(PLACES)
    # Nothing on the page leads off the site (Leaflet is credited as text).
    origin = browser_session.server.base_url
    assert [
        href
        for href in page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)")
        if not href.startswith(origin)
    ] == []
    assert_no_horizontal_scroll(page, viewport["width"])
    name = "phone" if viewport is PHONE else "desktop"
    browser_session.screenshot(page, f"map-{name}-screen", full_page=False)
    browser_session.screenshot(page, f"map-{name}")
    browser_session.assert_clean()


def set_view(page, lat: float, lon: float, zoom: str) -> str:
    """Move the map (``zoom``: a JavaScript expression) and wait until the data of
    that view is drawn; return the status line."""
    with page.expect_response(lambda r: "/carte/donnees.json" in r.url):
        page.evaluate(
            f"orfiMaps.orfi.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})"
        )
    return wait_for_map(page)


def open_a_fact_of_one_spot(page, lat: float, lon: float):
    """At the deepest zoom, click the cluster nearest (lat, lon) as a user would (it
    fans out: its facts sit at one spot), open the popup of one of its facts; return
    the popup's link to the fact."""
    set_view(page, lat, lon, "orfiMaps.orfi.map.getMaxZoom()")
    page.evaluate(
        """() => {
            const map = orfiMaps.orfi.map, group = orfiMaps.orfi.layers.facts;
            const parents = group.getLayers().map((m) => group.getVisibleParent(m));
            const clusters = new Set(parents.filter(
                (parent) => parent && parent.getChildCount && parent._icon));
            const nearest = [...clusters].sort((a, b) =>
                map.distance(a.getLatLng(), map.getCenter()) -
                map.distance(b.getLatLng(), map.getCenter()))[0];
            nearest._icon.setAttribute("data-test", "cluster");
            group.once("spiderfied", (event) => { window.spider = event.markers; });
        }"""
    )
    page.locator("[data-test=cluster]").click()
    page.wait_for_function("window.spider && window.spider.length > 1")
    page.evaluate("window.spider[0].openPopup()")
    link = page.locator(".leaflet-popup-content a", has_text="Ouvrir le fait")
    link.wait_for()
    return link


def test_facts_show_one_by_one_when_zoomed_and_link_to_their_page(
    browser_session, map_world
):
    page = open_page(browser_session, map_world, "/carte/", DESKTOP)
    wait_for_map(page)
    lat, lon = map_world.residences["Reynerie"]
    assert "un par un" in set_view(page, lat, lon, "17")
    link = open_a_fact_of_one_spot(page, lat, lon)
    href = link.get_attribute("href")
    assert re.fullmatch(r"/signalements/[0-9a-f-]{36}", href), href
    browser_session.screenshot(page, "map-desktop-facts", full_page=False)
    link.click()
    page.wait_for_url(re.compile(r"/signalements/[0-9a-f-]{36}$"))
    assert page.locator("h1").inner_text().startswith("T-")
    browser_session.assert_clean()


def test_a_fact_of_a_spiderfied_cluster_keeps_its_popup_through_refreshes(
    browser_session, map_world
):
    """Facts at one spot (all those filed without GPS sit on their résidence) open as
    a spider at the deepest zoom; the popup of one of them stays open while the map
    refreshes its data, as a pan or the popup's own scrolling would (MarkerCluster
    folds a spider, closing its popup, whenever layers are added or removed)."""
    page = open_page(browser_session, map_world, "/carte/", DESKTOP)
    wait_for_map(page)
    link = open_a_fact_of_one_spot(page, *map_world.residences["Reynerie"])
    for _ in range(2):
        with page.expect_response(lambda r: "/carte/donnees.json" in r.url):
            page.evaluate("orfiMaps.orfi.map.fire('moveend')")
        wait_for_map(page)
        assert link.is_visible()
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


# ------------------------------------------------------- clicks through the layers

# A grid of 5 × 5 résidences about 450 m apart (east of the Mirail, Toulouse), one
# fact at each, and 70 more spread around the middle one: a hot spot.
GRID_ORIGIN = (43.6000, 1.4000)
GRID_STEP = (0.004, 0.005)
HOT_INDEX = 12


@dataclass(frozen=True)
class HotspotWorld:
    """The bailleur whose map has hexagons, hot spots and résidences in one view."""

    email: str
    residences: dict[str, tuple[float, float]]


@pytest.fixture(scope="module")
def hotspot_world(live_server: LiveServer) -> HotspotWorld:
    """A bailleur of its own whose map opens on hot spots among its résidences."""
    with live_server.app.app_context():
        organisation = make_organisation(code="CHAUD", name="Bailleur chaud")
        residences = [
            make_residence(
                organisation, reference=f"CHA-{i}{j}", name=f"Résidence chaude {i}{j}",
                latitude=GRID_ORIGIN[0] + GRID_STEP[0] * i,
                longitude=GRID_ORIGIN[1] + GRID_STEP[1] * j, logements=100,
            )
            for i in range(5) for j in range(5)
        ]  # fmt: skip
        referent = make_user(
            organisation, role=Role.REFERENT, email="referent@chaud.exemple.fr"
        )
        today = now_local().replace(tzinfo=None, second=0, microsecond=0)
        for index, residence in enumerate(residences):
            spread = 70 if index == HOT_INDEX else 1
            for m in range(spread):
                offset = (m % 5 - 2, m // 5 % 5 - 2) if spread > 1 else (0, 0)
                insert_fact(
                    referent, residence, today - timedelta(days=1 + m % 20),
                    "AB01",
                    latitude=residence.latitude + 0.0015 * offset[0],
                    longitude=residence.longitude + 0.0018 * offset[1],
                )  # fmt: skip
        db.session.commit()
        world = HotspotWorld(
            email=referent.email,
            residences={r.name: (r.latitude, r.longitude) for r in residences},
        )
        db.session.remove()
    return world


# The page position of a map position, when nothing but the vector layers lies
# there: not a fact's pin or cluster, a control or a pop-up, and (unless asked) no
# résidence circle within ``margin`` pixels; null otherwise.
CLEAR_POINT = """([lat, lon, margin]) => {
    const {map, layers} = orfiMaps.orfi;
    const p = map.latLngToContainerPoint([lat, lon]);
    const size = map.getSize();
    if (p.x < 40 || p.y < 40 || p.x > size.x - 40 || p.y > size.y - 40) return null;
    let onResidence = false;
    if (margin !== null && map.hasLayer(layers.residences)) {
        layers.residences.eachLayer((circle) => {
            const centre = map.latLngToContainerPoint(circle.getLatLng());
            onResidence ||= centre.distanceTo(p) < circle.getRadius() + margin;
        });
    }
    if (onResidence) return null;
    const box = map.getContainer().getBoundingClientRect();
    const x = box.left + p.x, y = box.top + p.y;
    const hit = document.elementFromPoint(x, y);
    if (!hit || !map.getContainer().contains(hit)
        || hit.closest(".leaflet-marker-pane, .leaflet-control-container, "
                       + ".leaflet-popup-pane, .leaflet-tooltip-pane, "
                       + ".leaflet-orfi-gi-pane")) return null;
    return [x, y];
}"""

# A page point on the ring of the hot spot around a résidence, clear of pins.
RING_POINT = """([lat, lon]) => {
    const map = orfiMaps.orfi.map;
    const c = map.latLngToContainerPoint([lat, lon]);
    const box = map.getContainer().getBoundingClientRect();
    for (let a = 0; a < 360; a += 15) {
        const r = 27, t = a * Math.PI / 180;
        const x = box.left + c.x + r * Math.cos(t), y = box.top + c.y + r * Math.sin(t);
        const hit = document.elementFromPoint(x, y);
        if (hit && hit.closest(".leaflet-orfi-gi-pane")) return [x, y];
    }
    return null;
}"""


# Where the keyboard focus is: the map pane of a path, or the tag; and its name.
FOCUSED = """() => { const e = document.activeElement;
    const pane = e.closest(".leaflet-orfi-gi-pane") ? "gi"
        : e.closest(".leaflet-orfi-residences-pane") ? "residences" : e.tagName;
    return [pane, e.getAttribute("aria-label")]; }"""


def last_map_data(page, responses: list) -> dict:
    """The data of the map's latest request, once the map has drawn it."""
    wait_for_map(page)
    return responses[-1].json()


def click_first_clear(page, places, margin: float | None = 6) -> tuple[float, float]:
    """Click (a real mouse click) the first of ``places`` (lat, lon) left clear."""
    for lat, lon in places:
        point = page.evaluate(CLEAR_POINT, [lat, lon, margin])
        if point:
            page.mouse.click(*point)
            return lat, lon
    raise AssertionError("no clear place to click in the view")


def popup_text(page) -> str:
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    return " ".join(popup.inner_text().replace("\u00a0", " ").split())


def close_popup(page) -> None:
    """Close the pop-up with its button, and let the map settle (auto-pan, refresh)."""
    page.locator(".leaflet-popup-close-button").click()
    page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 0")
    page.wait_for_timeout(400)  # the map refetches 200 ms after a move
    wait_for_map(page)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_clicks_reach_hexagons_hot_spots_and_residences_whatever_layers_are_on(
    browser_session, hotspot_world, viewport
):
    page = browser_session.new_page(viewport=viewport)
    browser_session.login(page, hotspot_world.email)
    responses: list = []
    page.on(
        "response",
        lambda r: responses.append(r) if "/carte/donnees.json" in r.url else None,
    )
    page.goto("/carte/")
    wait_for_map(page)
    # Every layer on, the heat map too (off when the page opens).
    page.evaluate("orfiMaps.orfi.map.addLayer(orfiMaps.orfi.layers.heat)")
    page.wait_for_timeout(400)
    data = last_map_data(page, responses)
    # The hot résidences do not depend on the view: the page carries them.
    assert set(data) >= {"hex", "heat", "facts"}
    assert not [r for r in responses if "gi" in r.json()]
    gi = page.evaluate(
        "JSON.parse(document.getElementById('map-config').textContent).hotspots"
    )
    assert page.evaluate(
        "(({map, layers}) => Object.values(layers).every((l) => map.hasLayer(l)))"
        "(orfiMaps.orfi)"
    )
    assert layer_size(page, "residences") == len(hotspot_world.residences)
    assert gi["hot_total"] == 1
    (hot,) = gi["rows"]
    page.locator("#map_orfi").scroll_into_view_if_needed()

    # A hexagon of the density layer, outside every hot spot and résidence circle.
    counts = dict(zip(data["hex"]["cells"], data["hex"]["counts"], strict=True))
    lat, lon = click_first_clear(page, [h3.cell_to_latlng(cell) for cell in counts])
    cell = h3.latlng_to_cell(lat, lon, data["hex"]["resolution"])
    count = counts[cell]
    text = popup_text(page)
    assert text.startswith(f"{count} fait{'s' if count > 1 else ''} dans ce secteur")
    page.locator(".leaflet-popup-content .popup-link").wait_for()
    text = popup_text(page)
    assert "AB01 · " in text and "Voir la liste de ces faits" in text
    assert "H3" not in text
    name = "phone" if viewport is PHONE else "desktop"
    browser_session.screenshot(page, f"map-{name}-hexagon-popup", full_page=False)
    close_popup(page)

    # The hot spot: the ring around the hot résidence.
    point = page.evaluate(RING_POINT, [hot["latitude"], hot["longitude"]])
    assert point, "the hot spot's ring is covered"
    page.mouse.click(*point)
    text = popup_text(page)
    assert text.startswith(f"Point chaud : {hot['name']}")
    assert f"{hot['count']} faits dans cette résidence" in text
    assert "AB01 · " in text
    assert "au plus 5 % des résidences signalées le seraient par hasard" in text
    browser_session.screenshot(page, f"map-{name}-hot-spot-popup", full_page=False)
    close_popup(page)

    # A résidence: its circle, over the hexagons and the hot spots; the part of it
    # that no fact's pin covers (a pin stands above its position).
    circles = page.evaluate(
        """() => { const out = [];
            const map = orfiMaps.orfi.map;
            orfiMaps.orfi.layers.residences.eachLayer((circle) => {
                const c = map.latLngToContainerPoint(circle.getLatLng());
                const r = circle.getRadius() * 0.6;
                for (const [dx, dy] of [[0, 0], [0, r], [-r, 0], [r, 0]]) {
                    const at = map.containerPointToLatLng([c.x + dx, c.y + dy]);
                    out.push([circle.getTooltip().getContent().textContent,
                              at.lat, at.lng]);
                }
            });
            return out; }"""
    )
    lat, lon = click_first_clear(page, [(a, b) for _, a, b in circles], margin=None)
    clicked = next(n for n, a, b in circles if (a, b) == (lat, lon))
    text = popup_text(page)
    assert text.startswith(clicked), (clicked, text)
    assert "Logements : 100" in text
    page.wait_for_timeout(400)  # the pop-up's auto-pan
    wait_for_map(page)
    browser_session.screenshot(page, f"map-{name}-residence-popup", full_page=False)
    close_popup(page)

    # The keyboard: backwards from the zoom button, Tab goes through the résidences
    # in view, then the hot spots; each names itself and opens with Enter.
    page.locator(".leaflet-control-zoom-in").focus()
    stops = []
    while not stops or stops[-1][0] == "residences":
        assert len(stops) <= len(hotspot_world.residences)
        page.keyboard.press("Shift+Tab")
        stops.append(page.evaluate(FOCUSED))
    residence_stops = [label for pane, label in stops if pane == "residences"]
    in_view = page.evaluate(
        """() => { const {map, layers} = orfiMaps.orfi; let n = 0;
            layers.residences.eachLayer(
                (c) => { n += map.getBounds().contains(c.getLatLng()); });
            return n; }"""
    )
    assert len(residence_stops) == in_view > 0
    names = set(hotspot_world.residences)
    assert all(label.split(" : ")[0] in names for label in residence_stops), stops
    pane, label = stops[-1]
    assert pane == "gi" and label.startswith("Point chaud : "), stops
    page.keyboard.press("Enter")
    text = popup_text(page)
    assert text.startswith("Point chaud")
    count = int(label.split(":")[1].split()[0])
    assert f"{count} faits dans cette résidence" in text
    browser_session.screenshot(page, f"map-{name}-hot-spot-keyboard", full_page=False)
    page.keyboard.press("Escape")
    page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 0")
    page.keyboard.press("Tab")
    pane, label = page.evaluate(FOCUSED)
    assert pane == "residences"
    page.keyboard.press("Enter")
    assert popup_text(page).startswith(label.split(" : ")[0])
    browser_session.assert_clean()


# --------------------------------------------------------------------------------------
# « Trouver une résidence » (issue 13, item 5): the search runs in the browser over the
# résidences the page carries; typed without accents, or by reference, chosen with the
# keyboard, it flies the map there and opens the popup. Another bailleur's résidence is
# never offered.
# --------------------------------------------------------------------------------------

WIDE = {"width": 1366, "height": 800}
# Résidences of one bailleur, a few kilometres apart around Toulouse.
SEARCH_PLACES = (
    ("LOC-ECL", "Les Écureuils", "12 allée des Érables", "Colomiers", 43.6110, 1.3350),
    ("LOC-PRE", "Le Pré Vert", "3 rue Émile Zola", "Blagnac", 43.6370, 1.3900),
    ("LOC-GAR", "La Garonne", "8 quai de Tounis", "Toulouse", 43.5960, 1.4400),
)
# Another bailleur's résidence, whose name also matches « ecureuil ».
STRANGER = ("AUT-ECU", "Écureuils du Lauragais", "1 place du Marché", "Villefranche")


@pytest.fixture(scope="module")
def search_world(live_server: LiveServer) -> MapWorld:
    """A bailleur whose résidences have addresses, and another with a near name."""
    with live_server.app.app_context():
        organisation = make_organisation(code="LOCAL", name="Bailleur du lieu")
        for ref, name, address, commune, lat, lon in SEARCH_PLACES:
            make_residence(
                organisation, reference=ref, name=name, address=address,
                commune_name=commune, latitude=lat, longitude=lon,
            )  # fmt: skip
        other = make_organisation(code="AUTRE", name="Autre bailleur")
        ref, name, address, commune = STRANGER
        make_residence(
            other, reference=ref, name=name, address=address, commune_name=commune,
            latitude=43.6120, longitude=1.3360,
        )  # fmt: skip
        user = make_user(organisation, role=Role.REFERENT, email="referent@lieu.fr")
        db.session.commit()
        world = MapWorld(
            email=user.email,
            facts=0,
            residences={p[1]: (p[4], p[5]) for p in SEARCH_PLACES},
        )
        db.session.remove()
    return world


def place_options(page) -> list[str]:
    return page.locator("#place-options [role=option]").all_inner_texts()


def choose_with_keyboard(page, typed: str, wanted: str) -> None:
    """Type ``typed``, arrow down to the option naming ``wanted``, press Enter."""
    field = page.get_by_role("combobox", name="Trouver une résidence")
    field.fill("")
    field.press_sequentially(typed, delay=20)
    page.wait_for_selector("#place-options:not([hidden]) [role=option]")
    texts = place_options(page)
    index = next(i for i, text in enumerate(texts) if wanted in text)
    for _ in range(index + 1):
        field.press("ArrowDown")
    assert field.get_attribute("aria-expanded") == "true"
    assert field.get_attribute("aria-activedescendant") == f"place-option-{index}"
    field.press("Enter")
    assert field.get_attribute("aria-expanded") == "false"


def assert_map_at_residence(page, name: str, lat: float, lon: float) -> None:
    # The popup opens once the flight has ended (its moveend).
    page.locator(".leaflet-popup-content", has_text=name).wait_for()
    page.wait_for_function(
        "([lat, lon]) => { const c = orfiMaps.orfi.map.getCenter();"
        " return Math.abs(c.lat - lat) < 1e-3 && Math.abs(c.lng - lon) < 1e-3; }",
        arg=[lat, lon],
    )
    assert page.evaluate("orfiMaps.orfi.map.getZoom()") >= 15
    assert page.locator(".leaflet-popup").count() == 1


@pytest.mark.parametrize("viewport", [PHONE, WIDE], ids=["phone", "desktop"])
def test_find_a_residence_by_name_without_accents_and_by_reference(
    browser_session, search_world, viewport
):
    page = open_page(browser_session, search_world, "/carte/", viewport)
    wait_for_map(page)
    name = "phone" if viewport is PHONE else "desktop"

    # Without accents, in lower case: « ecureuil » finds « Les Écureuils », and only
    # this bailleur's: the other bailleur's « Écureuils du Lauragais » is not offered.
    field = page.get_by_role("combobox", name="Trouver une résidence")
    field.press_sequentially("ecureuil", delay=20)
    page.wait_for_selector("#place-options:not([hidden]) [role=option]")
    texts = place_options(page)
    assert any("Les Écureuils" in t for t in texts), texts
    assert not any("Lauragais" in t or "AUT-ECU" in t for t in texts), texts
    for box in page.locator("#place-options [role=option]").all():
        assert box.bounding_box()["height"] >= 48
    browser_session.screenshot(page, f"place-search-{name}-options", full_page=False)
    # Escape closes the list without choosing.
    field.press("Escape")
    assert page.locator("#place-options").is_hidden()

    choose_with_keyboard(page, "ecureuil", "Les Écureuils")
    assert_map_at_residence(
        page, "Les Écureuils", *search_world.residences["Les Écureuils"]
    )

    # By reference, then by address (accents ignored): the map moves on.
    choose_with_keyboard(page, "loc-gar", "La Garonne")
    assert_map_at_residence(page, "La Garonne", *search_world.residences["La Garonne"])
    choose_with_keyboard(page, "emile zola", "Le Pré Vert")
    assert_map_at_residence(
        page, "Le Pré Vert", *search_world.residences["Le Pré Vert"]
    )
    browser_session.screenshot(page, f"place-search-{name}-chosen", full_page=False)

    # Nothing matches: said in words, nothing to choose.
    field.fill("")
    field.press_sequentially("lauragais", delay=20)
    page.wait_for_selector("#place-options:not([hidden])")
    assert place_options(page) == ["Aucune résidence ne correspond."]
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    browser_session.assert_clean()


# --------------------------------------------------------------------------------------
# The fact page's small map (issue 13, item 4's « the fact page shows its position on a
# map and links to the résidence »).
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [PHONE, WIDE], ids=["phone", "desktop"])
def test_the_fact_page_shows_its_position_and_links_to_its_residence(
    browser_session, map_world, live_server, viewport
):
    with live_server.app.app_context():
        report = db.session.scalars(
            sa.select(Report)
            .join(Residence, Report.residence_id == Residence.id)
            .where(Residence.reference == "CAR-REY")
            .limit(1)
        ).one()
        uuid = report.uuid
        residence_id = report.residence_id
        db.session.remove()
    page = open_page(browser_session, map_world, f"/signalements/{uuid}", viewport)
    page.wait_for_selector("#fact-map[data-ready=true]")
    # Two circles, the fact and its résidence, on no basemap: no tile requested.
    assert page.locator("#fact-map path.leaflet-interactive").count() == 2
    assert page.locator("#fact-map .leaflet-tile").count() == 0
    size = page.evaluate(
        "(() => { const box = document.getElementById('fact-map')"
        ".getBoundingClientRect(); return [box.width, box.height]; })()"
    )
    assert size[0] > 200 and size[1] >= 200
    link = page.get_by_role("link", name="Voir la résidence Reynerie")
    assert link.get_attribute("href") == f"/patrimoine/residences/{residence_id}"
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    name = "phone" if viewport is PHONE else "desktop"
    page.locator("#fact-map").scroll_into_view_if_needed()
    browser_session.screenshot(page, f"fact-map-{name}", full_page=False)
    link.click()
    page.wait_for_url(f"**/patrimoine/residences/{residence_id}")
    browser_session.assert_clean()
