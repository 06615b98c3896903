"""Hostile strings in headless Chromium: shown as text, never run.

A bailleur of its own on the live server ("XSS", its own region: the other browser
tests never see it) has one résidence, one category and one fact per payload of
tests/payloads.py: the payload is the résidence's name, the category's label and the
fact's description. Every page where they show (facts list and pages, map popups and
tooltips, statistics charts, administration, the field form and its map) is opened
with a dialog watcher: no ``alert`` may fire, no element, handler or inline script
may be injected, and each payload must read back, whole, as text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest

from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.extensions import db
from orfi.nomenclature.models import Family
from orfi.nomenclature.services import add_category
from orfi.patrimoine.models import OrganisationKind
from orfi.reports.checks import ReportInput
from orfi.reports.creation import create_report
from tests.browser import BrowserSession, LiveServer
from tests.factories import make_organisation, make_residence, make_user
from tests.payloads import PAYLOADS

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
# South-east Toulouse, away from the other tests' bailleurs (not that they would meet).
ORIGIN = (43.5600, 1.4700)
STEP = 0.0025  # about 250 m between two résidences


def normalise(text: str) -> str:
    """Collapse white space as a browser shows text."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Hostile:
    """One payload as stored: its résidence, category and fact."""

    id: str
    residence_id: int
    name: str  # the résidence's name
    lat: float
    lon: float
    category_id: int
    label: str  # the category's display: "AU01 · <payload>"
    fact: uuid.UUID
    description: str


@dataclass(frozen=True)
class HostileWorld:
    referent_email: str
    gardien_email: str
    admin_email: str
    items: tuple[Hostile, ...]


@pytest.fixture(scope="module")
def hostile_world(live_server: LiveServer) -> HostileWorld:
    """Add the bailleur XSS and its payload-laden résidences, categories and facts."""
    with live_server.app.app_context():
        organisation = make_organisation(
            code="XSS",
            name="Bailleur des textes hostiles",
            kind=OrganisationKind.ESH,
            region="Région des tests d'échappement",
        )
        family = db.session.scalar(db.select(Family).where(Family.code == "AU"))
        residences, categories = [], []
        for index, payload in enumerate(PAYLOADS):
            lat = ORIGIN[0] + STEP * (index // 6)
            lon = ORIGIN[1] + STEP * (index % 6)
            residences.append(
                make_residence(
                    organisation,
                    reference=f"XSS-{index:02d}",
                    name=payload.text[:200],
                    latitude=lat,
                    longitude=lon,
                )
            )
            categories.append(
                add_category(
                    organisation.id,
                    family_id=family.id,
                    code=f"AU{index + 1:02d}",
                    label=payload.text[:200],
                )
            )
        gardien = make_user(
            organisation,
            role=Role.GARDIEN,
            email="gardien@xss.exemple.fr",
            sector=residences[:],
        )
        referent = make_user(
            organisation, role=Role.REFERENT, email="referent@xss.exemple.fr"
        )
        admin = make_user(organisation, role=Role.ADMIN, email="admin@xss.exemple.fr")
        items = []
        for index, (payload, residence, chosen) in enumerate(
            zip(PAYLOADS, residences, categories, strict=True)
        ):
            report, _ = create_report(
                gardien,
                ReportInput(
                    category_id=chosen.id,
                    residence_id=residence.id,
                    occurred_at=utcnow() - timedelta(days=1, minutes=index),
                    latitude=residence.latitude,
                    longitude=residence.longitude,
                    gps_accuracy_m=8.0,
                    gravity=2,
                    description=payload.text[:500],
                ),
            )
            items.append(
                Hostile(
                    id=payload.id,
                    residence_id=residence.id,
                    name=residence.name,
                    lat=residence.latitude,
                    lon=residence.longitude,
                    category_id=chosen.id,
                    label=chosen.display,
                    fact=report.uuid,
                    description=report.description,
                )
            )
        db.session.commit()
        world = HostileWorld(
            referent_email=referent.email,
            gardien_email=gardien.email,
            admin_email=admin.email,
            items=tuple(items),
        )
        db.session.remove()
    return world


# ---------------------------------------------------------------------- helpers


def referent_at(session: BrowserSession, world, path: str):
    """Open ``path`` as the référent on a desktop, watched: the watcher and page."""
    watched = Watched(session, world.referent_email, viewport=DESKTOP)
    watched.goto(path)
    return watched, watched.page


class Watched:
    """A page whose dialogs are recorded (and dismissed)."""

    def __init__(self, session: BrowserSession, email: str, **options):
        self.page = session.new_page(**options)
        self.dialogs: list[str] = []
        self.page.on("dialog", self._on_dialog)
        session.login(self.page, email)

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type} « {dialog.message} » on {self.page.url}")
        dialog.dismiss()

    def goto(self, path: str) -> None:
        self.page.goto(path)
        self.check()

    def check(self) -> None:
        """Fail if a dialog fired, or if the page holds injected code or elements."""
        # An injected <img onerror> fires after the load: give it the time to.
        self.page.wait_for_timeout(150)
        assert not self.dialogs, self.dialogs
        injected = self.page.evaluate(INJECTED)
        assert not injected, (self.page.url, injected)


#: What a payload would leave in the page if it became markup.
INJECTED = """() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    for (const { name, value } of el.attributes) {
      if (/^on/i.test(name)) found.push(`<${el.localName} ${name}>`);
      if (/^(href|src|action|formaction|srcdoc)$/i.test(name)
          && /^\\s*(javascript|data|vbscript):/i.test(value)) {
        found.push(`<${el.localName} ${name}=${value.slice(0, 30)}>`);
      }
    }
  }
  for (const script of document.querySelectorAll("script")) {
    if (!script.src && script.type !== "application/json") {
      found.push("inline <script>");
    }
  }
  for (const el of document.querySelectorAll(
      "iframe, object, embed, img[src='x'], main b, main i, details[ontoggle]")) {
    found.push(el.outerHTML.slice(0, 60));
  }
  return found;
}"""


def texts_of(page, selector: str) -> list[str]:
    """The normalised text of every element matching ``selector``."""
    return [normalise(t) for t in page.locator(selector).all_inner_texts()]


def assert_all_shown(expected: list[str], shown: list[str], where: str) -> None:
    """Each expected text is one of (or inside one of) the texts shown."""
    missing = [
        text
        for text in (normalise(e) for e in expected)
        if not any(text == s or text in s for s in shown)
    ]
    assert not missing, f"{where}: not shown as text: {missing}"


def wait_for_map(page) -> None:
    page.wait_for_function(
        "() => { const s = document.getElementById('map-status');"
        " return s && !/Chargement/.test(s.textContent); }"
    )
    assert "pas pu être chargées" not in page.inner_text("#map-status")


def click_at(page, lat: float, lon: float) -> None:
    """Click the map (a real mouse click) at a position."""
    point = page.evaluate(
        """([lat, lon]) => {
            const map = orfiMaps.orfi.map;
            const p = map.latLngToContainerPoint([lat, lon]);
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""",
        [lat, lon],
    )
    page.mouse.click(*point)


# ------------------------------------------------------------------------ tests


def test_facts_list_and_pages_show_payloads_as_text(browser_session, hostile_world):
    watched, page = referent_at(browser_session, hostile_world, "/signalements/")
    items = hostile_world.items
    assert_all_shown([i.label for i in items], texts_of(page, ".queue td.cat"),
                     "liste des faits (catégories)")  # fmt: skip
    assert_all_shown([i.name for i in items], texts_of(page, ".queue td.res"),
                     "liste des faits (résidences)")  # fmt: skip
    for item in items:
        watched.goto(f"/signalements/{item.fact}")
        facts = page.locator("dl.facts").first.inner_text()
        assert normalise(page.inner_text("dd.description")) == normalise(
            item.description
        ), item.id
        assert normalise(item.label) in normalise(facts), item.id
        assert normalise(item.name) in normalise(facts), item.id
    browser_session.screenshot(page, "escaping-fact-detail", full_page=False)
    browser_session.assert_clean()


def test_map_popups_and_tooltips_show_payloads_as_text(browser_session, hostile_world):
    watched, page = referent_at(browser_session, hostile_world, "/carte/")
    wait_for_map(page)
    items = hostile_world.items
    hot = texts_of(page, "#hot-residences a")
    assert hot
    assert_all_shown(hot, [normalise(i.name) for i in items],
                     "carte (résidences les plus touchées)")  # fmt: skip

    # A real click on a résidence opens its popup (the facts' pins, drawn over the
    # résidences, are put aside for it).
    page.evaluate("orfiMaps.orfi.map.removeLayer(orfiMaps.orfi.layers.facts)")
    first = items[0]
    click_at(page, first.lat, first.lon)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert normalise(popup.locator("strong").first.inner_text()) == normalise(
        first.name
    )
    watched.check()
    # Every résidence: popup title and tooltip, as text.
    shown = page.evaluate(
        """() => {
            const out = [];
            orfiMaps.orfi.layers.residences.eachLayer((layer) => {
                layer.openPopup();
                const box = layer.getPopup().getElement();
                out.push([box.querySelector(".leaflet-popup-content strong").innerText,
                          layer.getTooltip().getContent().textContent]);
                layer.closePopup();
            });
            return out;
        }"""
    )
    names = sorted(normalise(i.name) for i in items)
    titles = sorted(normalise(title) for title, _ in shown)
    assert titles == names, (set(titles) ^ set(names), len(titles), len(names))
    assert sorted(normalise(tooltip) for _, tooltip in shown) == names
    watched.check()

    # A hexagon: hide the layers drawn over it, then click it.
    center = page.evaluate(
        """() => {
            const layers = orfiMaps.orfi.layers;
            const map = orfiMaps.orfi.map;
            for (const name of ["residences", "facts", "gi", "heat"]) {
                if (layers[name] && map.hasLayer(layers[name])) {
                    map.removeLayer(layers[name]);
                }
            }
            const hex = layers.hex.getLayers()[0];
            const c = hex.getCenter();
            map.setView(c, map.getZoom(), {animate: false});
            return [c.lat, c.lng];
        }"""
    )
    wait_for_map(page)
    page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 0")
    click_at(page, *center)
    page.locator(".leaflet-popup-content", has_text="dans ce secteur").wait_for()
    page.locator(".leaflet-popup-content .popup-link").wait_for()
    watched.check()

    # The facts, one by one: a real click on a cluster, then every fact's popup.
    page.evaluate(
        """([lat, lon]) => {
            const o = orfiMaps.orfi;
            o.map.closePopup();
            o.map.addLayer(o.layers.facts);
            o.map.setView([lat, lon], 15, {animate: false});
        }""",
        [ORIGIN[0] + 2 * STEP, ORIGIN[1] + 2.5 * STEP],
    )
    page.wait_for_function("orfiMaps.orfi.layers.facts.getLayers().length > 0")
    cluster = page.locator(".marker-cluster").first
    if cluster.count():
        cluster.click()
        page.wait_for_timeout(400)
    watched.check()
    labels = page.evaluate(
        """() => {
            const out = [];
            orfiMaps.orfi.layers.facts.eachLayer((marker) => {
                const content = marker.getPopup()._content;
                const box = typeof content === "function" ? content(marker) : content;
                out.push(box.querySelectorAll("p")[0].innerText || box.textContent);
            });
            return out;
        }"""
    )
    assert_all_shown([i.label for i in items], [normalise(t) for t in labels],
                     "carte (fenêtres des faits)")  # fmt: skip
    # And one fact's popup, opened for real.
    page.evaluate(
        """() => { const c = orfiMaps.orfi.layers.facts; const m = c.getLayers()[0];
                   c.zoomToShowLayer(m, () => m.openPopup()); }"""
    )
    page.locator(".leaflet-popup-content a", has_text="Ouvrir le fait").wait_for()
    watched.check()
    browser_session.screenshot(page, "escaping-map", full_page=False)
    browser_session.assert_clean()


def test_statistics_show_payloads_as_text(browser_session, hostile_world):
    watched, page = referent_at(browser_session, hostile_world, "/statistiques/")
    items = hostile_world.items
    assert_all_shown([i.label for i in items], texts_of(page, ".hbar-label"),
                     "statistiques (graphique des catégories)")  # fmt: skip
    ranking = texts_of(page, "#ranking tbody th > a:first-child")
    assert len(ranking) == 15
    assert_all_shown(ranking, [normalise(i.name) for i in items],
                     "statistiques (classement)")  # fmt: skip
    # The filters offer every résidence and category by name.
    options = texts_of(page, "#filters-panel label, #filters-panel option")
    assert_all_shown([i.name for i in items], options, "statistiques (filtres)")
    browser_session.screenshot(page, "escaping-stats", full_page=False)
    browser_session.assert_clean()


def test_administration_shows_payloads_as_text(browser_session, hostile_world):
    watched = Watched(browser_session, hostile_world.admin_email, viewport=DESKTOP)
    page = watched.page
    items = hostile_world.items
    watched.goto("/admin/nomenclature")
    assert_all_shown([i.label.split(" · ", 1)[1] for i in items],
                     texts_of(page, "main td, main th, main li"),
                     "nomenclature")  # fmt: skip
    watched.goto(f"/admin/nomenclature/{items[0].category_id}")
    assert page.input_value("#label") == items[0].label.split(" · ", 1)[1]
    watched.goto("/admin/utilisateurs/nouveau")
    assert_all_shown([i.name for i in items], texts_of(page, "main label"),
                     "nouvel utilisateur (secteur)")  # fmt: skip
    watched.goto("/patrimoine/residences")
    assert_all_shown([i.name for i in items], texts_of(page, "main th, main td"),
                     "résidences")  # fmt: skip
    browser_session.assert_clean()


def test_field_form_shows_payloads_as_text(browser_session, hostile_world):
    watched = Watched(browser_session, hostile_world.gardien_email)
    page = watched.page
    watched.goto("/signalements/nouveau")
    items = hostile_world.items
    assert_all_shown([i.name for i in items], texts_of(page, "#residence option"),
                     "formulaire (résidences)")  # fmt: skip
    assert_all_shown([i.label for i in items], texts_of(page, "#category option"),
                     "formulaire (catégories)")  # fmt: skip
    # The map's résidence labels (Leaflet tooltips, shown on hover past twelve
    # résidences) are text, not markup.
    page.locator("#report-map.leaflet-container").wait_for()
    circles = page.locator("#report-map path.leaflet-interactive")
    assert circles.count() == len(items)
    tooltips = []
    for index in range(circles.count()):
        circles.nth(index).hover(force=True)
        tooltip = page.locator(".leaflet-tooltip").last
        tooltip.wait_for()
        tooltips.append(normalise(tooltip.inner_text()))
        watched.check()
    assert sorted(tooltips) == sorted(normalise(i.name) for i in items)
    watched.check()
    browser_session.screenshot(page, "escaping-field-form", full_page=False)
    browser_session.assert_clean()
