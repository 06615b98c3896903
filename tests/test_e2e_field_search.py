"""The field form of a big patrimoine in headless Chromium (issue 17, point 4).

A bailleur of 300 résidences (all in its gardien's sector): the page carries 50 of
them; the GPS fix brings the nearest from the server (preselected « à N m »); the
search, driven by keyboard, finds any other one, also without network (among those
the page holds). At 360 px and 1366 px, with screenshots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from orfi.auth.models import Role
from orfi.extensions import db
from orfi.patrimoine.models import Organisation, Residence
from orfi.reports.models import Report
from orfi.reports.residence_choices import FORM_RESIDENCES_MAX
from tests.browser import BrowserSession, LiveServer
from tests.factories import category, make_organisation, make_residence, make_user

pytestmark = pytest.mark.browser

CODE = "GRD"
GARDIEN = "gardien@grand.exemple.fr"
COUNT = 300
# About 20 m north of a résidence, in degrees of latitude.
TWENTY_METRES = 0.00018


@dataclass(frozen=True)
class Big:
    """The big bailleur's résidences (id, name, lat, lon) by number."""

    residences: dict[int, tuple[int, str, float, float]]


def position(n: int) -> tuple[float, float]:
    return 43.56 + (n % 20) * 0.003, 1.38 + (n // 20) * 0.003


def big_bailleur(server: LiveServer) -> Big:
    """Add (once) a bailleur of COUNT résidences to the live server's database."""
    with server.app.app_context():
        organisation = db.session.scalar(
            sa.select(Organisation).where(Organisation.code == CODE)
        )
        if organisation is None:
            organisation = make_organisation(code=CODE, name="Grand bailleur")
            residences = [
                make_residence(
                    organisation,
                    reference=f"GRD-{n:03d}",
                    name=f"Cité {n:03d}",
                    address=f"{n} boulevard du Grand Ensemble",
                    latitude=position(n)[0],
                    longitude=position(n)[1],
                )
                for n in range(COUNT)
            ]
            make_user(organisation, role=Role.GARDIEN, email=GARDIEN, sector=residences)
            db.session.commit()
        rows = db.session.scalars(
            sa.select(Residence).where(Residence.organisation_id == organisation.id)
        )
        found = {
            int(r.reference[4:]): (r.id, r.name, r.latitude, r.longitude) for r in rows
        }
        assert category(organisation, "TT01") is not None
        db.session.remove()
    return Big(found)


def options(page) -> list[str]:
    return page.eval_on_selector_all(
        "#residence option", "os => os.map(o => o.value).filter(Boolean)"
    )


@pytest.mark.parametrize("width", [360, 1366])
def test_big_patrimoine_nearest_and_search(browser_session: BrowserSession, width):
    server = browser_session.server
    big = big_bailleur(server)
    near_id, near_name, lat, lon = big.residences[250]
    page = browser_session.new_page(
        viewport={"width": width, "height": 800},
        geolocation={"latitude": lat + TWENTY_METRES, "longitude": lon, "accuracy": 12},
        permissions=["geolocation"],
    )
    browser_session.login(page, GARDIEN)
    # What the server wrote (the page's own DOM may already hold the nearest ones
    # the GPS fix fetched: that raced the count on a busy machine).
    served = page.goto("/signalements/nouveau").text()
    select = re.search(r'<select id="residence".*?</select>', served, re.S).group(0)
    assert 0 < len(re.findall(r'<option value="\d+"', select)) <= FORM_RESIDENCES_MAX

    # The fix brings the nearest résidences: the closest is preselected, « à N m ».
    page.wait_for_function(
        f"document.getElementById('residence').value === '{near_id}'"
    )
    hint = page.locator("#residence-hint").inner_text().replace("\xa0", " ")
    assert re.search(r"à 2\d m", hint), hint
    assert len(options(page)) <= 2 * FORM_RESIDENCES_MAX
    browser_session.screenshot(page, f"field-form-big-{width}", full_page=False)

    # The search, by keyboard only: type, Enter, Tab to a result, Enter.
    far_id, far_name, _lat, _lon = big.residences[7]
    search = page.locator("#residence-search-input")
    search.focus()
    page.keyboard.type("cité 007")
    page.keyboard.press("Enter")
    result = page.locator("#residence-search-results button").first
    result.wait_for()
    assert far_name in result.inner_text()
    status = page.locator("#residence-search-status")
    assert "1 résidence trouvée" in status.inner_text()
    assert page.locator("#report-form").count() == 1
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('search-result')")
    browser_session.screenshot(page, f"field-form-search-{width}", full_page=False)
    page.keyboard.press("Enter")
    assert page.input_value("#residence") == str(far_id)
    assert "Résidence choisie" in status.inner_text()
    assert page.evaluate("document.activeElement.id") == "residence"
    if width == 360:
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    # Without network, the search looks among the résidences the page holds.
    page.context.set_offline(True)
    search.fill("cité 25")
    page.locator("#residence-search-button").click()
    page.wait_for_function(
        "document.getElementById('residence-search-status')"
        ".textContent.includes('Hors connexion')"
    )
    assert page.locator("#residence-search-results button").count() >= 1
    page.context.set_offline(False)

    # The fact is filed on the résidence the search found.
    with server.app.app_context():
        organisation = db.session.scalar(
            sa.select(Organisation).where(Organisation.code == CODE)
        )
        category_id = category(organisation, "TT01").id
        db.session.remove()
    page.select_option("#category", str(category_id))
    page.select_option("#residence", str(far_id))
    description = f"Recherche {width}"
    page.fill("#description", description)
    # The pin (the GPS fix) is far from that résidence: the form asks to confirm it.
    page.check("#confirm_position")
    page.get_by_role("button", name="Envoyer le signalement").click()
    page.wait_for_url(re.compile(r"/confirmation$"))
    with server.app.app_context():
        stored = db.session.scalar(
            sa.select(Report).where(Report.description == description)
        )
        assert stored is not None and stored.residence_id == far_id
        db.session.remove()
    browser_session.tolerate("status of 422")
    browser_session.assert_clean()
