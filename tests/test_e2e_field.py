"""The field form in headless Chromium at phone size: GPS, map, résidence, sending."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from orfi.extensions import db
from orfi.reports.models import LocationSource, Report
from tests.browser import (
    BrowserSession,
    LiveServer,
)

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"^TMH-\d{4}-\d{6}$")
# About 20 m north of a résidence, in degrees of latitude.
TWENTY_METRES = 0.00018
PHONE_WIDTH = 360


def text_of(locator) -> str:
    """The element's text with non-breaking spaces as plain spaces."""
    return locator.inner_text().replace("\xa0", " ")


def assert_fits_a_phone(page) -> None:
    """No horizontal scroll, and every visible control at least 48 px high."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    small = page.eval_on_selector_all(
        "main select, main textarea, main .chip, main .button,"
        " main input:not([type=hidden]):not([type=checkbox]):not([type=radio])",
        """controls => controls
            .filter(c => c.offsetParent !== null)
            .filter(c => c.getBoundingClientRect().height < 48)
            .map(c => c.id || c.className)""",
    )
    assert small == []


def stored_report(server: LiveServer, reference: str) -> Report:
    """Read the fact back from the live server's database."""
    with server.app.app_context():
        report = db.session.scalar(
            sa.select(Report).where(Report.reference == reference)
        )
        assert report is not None, reference
        db.session.expunge(report)
        return report


def open_form(session: BrowserSession, **context_options):
    page = session.new_page(**context_options)
    session.login(page, session.server.world.gardien_email)
    page.goto("/signalements/nouveau")
    return page


def submit(page, *, double_tap: bool = False) -> str:
    """Send the form; return the reference shown on the confirmation page."""
    button = page.get_by_role("button", name="Envoyer le signalement")
    if double_tap:
        button.dblclick()
    else:
        button.click()
    page.wait_for_url(re.compile(r"/confirmation$"))
    reference = page.locator("#reference").inner_text().strip()
    assert REFERENCE.match(reference), reference
    return reference


def test_gardien_files_a_fact_with_gps(browser_session: BrowserSession):
    server = browser_session.server
    world = server.world
    izards, trois_cocus, borderouge = world.residences
    page = open_form(
        browser_session,
        geolocation={
            "latitude": trois_cocus.lat + TWENTY_METRES,
            "longitude": trois_cocus.lon,
            "accuracy": 15,
        },
        permissions=["geolocation"],
    )

    status = page.locator("#geo-status")
    page.wait_for_function(
        "document.getElementById('geo-status').textContent.includes('±')"
    )
    assert re.search(r"Position GPS à ± 1[45] m", text_of(status))
    assert "coarse" not in status.get_attribute("class")
    # The nearest résidence is chosen, its bâtiments only are offered.
    assert page.input_value("#residence") == str(trois_cocus.id)
    enabled = page.eval_on_selector_all(
        "#batiment option:not([disabled])", "options => options.map(o => o.value)"
    )
    assert sorted(v for v in enabled if v) == sorted(
        str(b) for b, r in world.batiments.items() if r == trois_cocus.id
    )
    assert page.locator(".leaflet-marker-icon").count() == 1
    assert page.locator(".leaflet-tooltip", has_text="Borderouge").count() == 1
    assert page.input_value("#location_source") == "gps"
    assert_fits_a_phone(page)
    browser_session.screenshot(page, "field-form-gps-screen", full_page=False)
    browser_session.screenshot(page, "field-form-gps")

    # A résidence far from the pin asks for a confirmation; the right one does not.
    confirm = page.locator(".confirm-position")
    page.select_option("#residence", str(borderouge.id))
    assert confirm.is_visible()
    assert "Borderouge" in confirm.inner_text()
    page.select_option("#residence", str(trois_cocus.id))
    assert confirm.is_hidden()

    # Staff-only details follow the victim.
    staff = page.locator("#staff-details")
    assert staff.is_hidden()
    page.select_option("#victime", "personnel_bailleur")
    assert staff.is_visible()
    page.fill("#arret_travail_jours", "2")
    page.select_option("#victime", "aucune")
    assert staff.is_hidden()
    assert page.input_value("#arret_travail_jours") == ""

    page.fill("#description", "Porte du hall forcée.")
    assert page.locator("#description-counter").inner_text().startswith("21 / 500")
    page.select_option("#category", str(world.category_id))
    reference = submit(page)
    assert_fits_a_phone(page)
    browser_session.screenshot(page, "field-confirmation")

    page.get_by_role("link", name="Mes signalements").first.click()
    page.wait_for_url("**/signalements/mes")
    page.locator(".queue-row", has_text=reference).first.wait_for()
    assert page.locator(".queue-row", has_text=reference).count() == 1
    browser_session.screenshot(page, "field-mine")

    referent = browser_session.new_page()
    browser_session.login(referent, world.referent_email)
    referent.goto("/signalements/")
    item = referent.locator(".queue-row", has_text=reference)
    assert item.count() == 1
    assert "Trois Cocus" in item.inner_text()

    report = stored_report(server, reference)
    assert report.residence_id == trois_cocus.id
    assert report.location_source is LocationSource.GPS
    assert report.gps_accuracy_m == pytest.approx(15, abs=1)
    assert report.latitude == pytest.approx(trois_cocus.lat + TWENTY_METRES, abs=1e-5)
    assert report.arret_travail_jours is None
    browser_session.assert_clean()


def test_denied_position_falls_back_on_the_chosen_residence(
    browser_session: BrowserSession,
):
    world = browser_session.server.world
    borderouge = world.residences[2]
    page = open_form(browser_session)  # no geolocation permission

    status = page.locator("#geo-status")
    page.wait_for_function(
        "document.getElementById('geo-status').classList.contains('error')"
    )
    assert "Position indisponible" in text_of(status)
    assert page.input_value("#latitude") == ""
    browser_session.screenshot(page, "field-form-denied")

    page.select_option("#residence", str(borderouge.id))
    page.select_option("#category", str(world.category_id))
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    reference = submit(page, double_tap=True)
    assert len(posts) == 1, posts  # the second tap sends nothing

    report = stored_report(browser_session.server, reference)
    assert report.location_source is LocationSource.RESIDENCE
    assert report.residence_id == borderouge.id
    assert (report.latitude, report.longitude) == (borderouge.lat, borderouge.lon)
    assert report.gps_accuracy_m is None
    browser_session.assert_clean()


def test_coarse_fix_warns_and_a_tap_on_the_map_moves_the_pin(
    browser_session: BrowserSession,
):
    izards = browser_session.server.world.residences[0]
    page = open_form(
        browser_session,
        geolocation={"latitude": izards.lat, "longitude": izards.lon, "accuracy": 500},
        permissions=["geolocation"],
    )
    status = page.locator("#geo-status")
    page.wait_for_function(
        "document.getElementById('geo-status').classList.contains('coarse')"
    )
    assert "Position approximative (± 500 m)" in text_of(status)
    assert page.input_value("#residence") == str(izards.id)
    browser_session.screenshot(page, "field-form-coarse", full_page=False)

    page.locator("#report-map").click(position={"x": 60, "y": 150})
    assert page.input_value("#location_source") == "map"
    assert page.input_value("#gps_accuracy_m") == ""
    assert "carte" in text_of(status)

    page.set_viewport_size({"width": 1280, "height": 800})
    browser_session.screenshot(page, "field-form-desktop")
    browser_session.assert_clean()


@pytest.mark.parametrize("width", [360, 320])
def test_the_top_bar_of_a_gardien_is_one_line_on_a_phone(
    browser_session: BrowserSession, width: int
):
    """Brand, "Signaler", "Mes signalements" and "Menu" share one line whichever page
    is current (the current entry must not widen the bar): a second line would take
    48 px of a small screen."""
    page = browser_session.new_page(viewport={"width": width, "height": 640})
    browser_session.login(page, browser_session.server.world.gardien_email)
    for path in ("/signalements/nouveau", "/signalements/mes"):
        page.goto(path)
        tops = page.eval_on_selector_all(
            ".topbar .brand, .topbar .nav-main > li:not(.nav-extra) a,"
            " .topbar .nav-more summary",
            "items => items.map(i => Math.round(i.getBoundingClientRect().top))",
        )
        assert len(tops) == 4, (path, tops)
        assert max(tops) - min(tops) <= 8, (width, path, tops)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    browser_session.screenshot(page, f"topbar-gardien-{width}", full_page=False)
    browser_session.assert_clean()


_VISIBLE_LABEL_BOXES = """() => [...document.querySelectorAll('.residence-label')]
    .filter((node) => getComputedStyle(node).visibility !== 'hidden')
    .map((node) => { const b = node.getBoundingClientRect();
                     return [b.left, b.top, b.right, b.bottom]; })"""


def test_residence_labels_of_the_form_map_never_overlap(
    browser_session: BrowserSession,
):
    """Zoomed out, the sector's labels would pile up: the map shows those that fit
    (the chosen résidence's first) and the others again when a zoom gives room."""
    world = browser_session.server.world
    page = open_form(browser_session)  # no position: the map shows the sector
    page.wait_for_function(
        "document.getElementById('geo-status').classList.contains('error')"
    )
    page.locator(".residence-label").first.wait_for()
    everyone = len(world.residences)
    assert len(page.evaluate(_VISIBLE_LABEL_BOXES)) == everyone
    chosen = world.residences[2]
    page.select_option("#residence", str(chosen.id))
    zoom_out = page.locator(".leaflet-control-zoom-out")
    for _ in range(6):
        zoom_out.click()
        page.wait_for_timeout(350)  # Leaflet's zoom animation (250 ms)
    boxes = page.evaluate(_VISIBLE_LABEL_BOXES)
    assert 1 <= len(boxes) < everyone
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
    # The chosen résidence keeps its name in view.
    label = page.locator(".residence-label", has_text=chosen.name)
    assert label.evaluate("(node) => getComputedStyle(node).visibility") != "hidden"
    browser_session.screenshot(page, "field-form-labels", full_page=False)
    browser_session.assert_clean()
