"""Early warning end to end (issue 14): on a bailleur whose first résidence's facts
triple in its last two weeks, the référent's home lists that résidence in « alerte »
with its sentence, and the link opens the résidence page with its status in words.
Photographed at 360 and 1366 px (test-artifacts/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orfi.auth.models import User
from orfi.extensions import db
from orfi.patrimoine.models import Residence
from orfi.surveillance.models import ALL_FACTS, EarlyWarningStatus
from orfi.surveillance.services import compute_and_store
from orfi.transaction import unit_of_work
from tests.browser import BrowserSession, LiveServer, build_world, migrated_app, served
from tests.test_surveillance import LAST, ONSET, insert_facts, planted_counts

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture(scope="module")
def warning_server(tmp_path_factory) -> Iterator[LiveServer]:
    """TMH's three résidences with two and a half years of facts, the first tripled
    in the last two weeks, computed for those two weeks."""
    folder = tmp_path_factory.mktemp("e2e-early-warning")
    app = migrated_app(folder / "orfi.sqlite3", SECRET_KEY="e2e-secret")
    with app.app_context():
        world = build_world()
        residences = list(
            db.session.scalars(sa.select(Residence).order_by(Residence.id))
        )
        gardien = db.session.scalar(
            sa.select(User).where(User.email == world.gardien_email)
        )
        insert_facts(planted_counts()[:, :3], residences, gardien, ["AB01", "AP01"])
        db.session.commit()
        for week in (ONSET, LAST):
            with unit_of_work():
                compute_and_store(residences[0].organisation_id, week)
        db.session.remove()
    with served(app, world) as server:
        yield server


@pytest.fixture
def session(chromium, warning_server) -> Iterator[BrowserSession]:
    browser = BrowserSession(chromium, warning_server)
    try:
        yield browser
    finally:
        browser.close()


def _alarm(server: LiveServer) -> EarlyWarningStatus:
    with server.app.app_context():
        row = db.session.scalar(
            sa.select(EarlyWarningStatus).where(
                EarlyWarningStatus.week == LAST,
                EarlyWarningStatus.family == ALL_FACTS,
                EarlyWarningStatus.residence_id == server.world.residences[0].id,
            )
        )
        db.session.expunge(row)
        db.session.remove()
    return row


@pytest.mark.parametrize("viewport", [None, DESKTOP], ids=["360", "1366"])
def test_home_lists_the_residence_in_alerte_and_its_page_says_why(session, viewport):
    size = "1366" if viewport else "360"
    row = _alarm(session.server)
    assert row.status == "alerte"
    residence = session.server.world.residences[0]
    page = session.new_page(**({"viewport": viewport} if viewport else {}))
    session.login(page, session.server.world.referent_email)
    page.goto("/signalements/")
    band = page.get_by_role("region", name=re.compile("Alerte précoce"))
    item = band.locator("li.ew-alerte")
    assert item.count() == 1
    assert residence.name in item.inner_text()
    assert row.phrase in item.inner_text()
    assert band.get_by_role("button", name="Recalculer").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= (
        1366 if viewport else 360
    )
    session.screenshot(page, f"early-warning-home-{size}")
    item.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/patrimoine/residences/{residence.id}$"))
    status = page.get_by_role("region", name="Alerte précoce")
    text = status.inner_text()
    assert "Alerte" in text and row.phrase in text
    assert "fausse alerte pour 100 semaines" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= (
        1366 if viewport else 360
    )
    session.screenshot(page, f"early-warning-residence-{size}")
    session.assert_clean()


@pytest.mark.parametrize("viewport", [None, DESKTOP], ids=["360", "1366"])
def test_daily_synthesis_lists_the_residence_in_alerte(session, viewport):
    size = "1366" if viewport else "360"
    residence = session.server.world.residences[0]
    page = session.new_page(**({"viewport": viewport} if viewport else {}))
    session.login(page, session.server.world.referent_email)
    page.goto(f"/syntheses/?date={(LAST + timedelta(days=7)).isoformat()}")
    section = page.get_by_role("region", name=re.compile("Alerte précoce"))
    assert residence.name in section.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= (
        1366 if viewport else 360
    )
    section.scroll_into_view_if_needed()
    session.screenshot(page, f"early-warning-synthesis-{size}", full_page=False)
    session.assert_clean()
