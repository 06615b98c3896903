"""Issue acceptance on the demo world: a demo gardien files a fact at phone size, with
the browser's geolocation near one of their résidences, and the référent sees it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from orfi.auth.models import User
from orfi.demo.world import DEMO_LOGINS
from orfi.extensions import db
from orfi.reports.models import LocationSource, Report
from tests.browser import BrowserSession, LiveServer, World, migrated_app, served

pytestmark = pytest.mark.browser

GARDIEN, REFERENT = "gardien@tmh.demo", "referent@tmh.demo"
PASSWORDS = {login.email: login.password for login in DEMO_LOGINS}
REFERENCE = re.compile(r"TMH-\d{4}-\d{6}")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The app on a fresh database filled by ``orfi demo`` (small), served over HTTP."""
    database = tmp_path_factory.mktemp("demo-e2e") / "demo.sqlite3"
    app = migrated_app(
        database, SECRET_KEY="e2e-demo", PASSWORD_HASH_METHOD="pbkdf2:sha256:1000"
    )
    result = app.test_cli_runner().invoke(
        args=["orfi", "demo", "--reports", "200", "--no-activity"]
    )
    assert result.exit_code == 0, result.output
    with served(app, World("TMH", (), GARDIEN, REFERENT, "", 0, "")) as server:
        yield server


def login(page, email: str) -> None:
    page.goto("/connexion")
    page.fill("#email", email)
    page.fill("#password", PASSWORDS[email])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: "/connexion" not in url)


def test_demo_gardien_files_a_fact_the_referent_sees(chromium, demo_server):
    with demo_server.app.app_context():
        gardien = db.session.scalar(sa.select(User).where(User.email == GARDIEN))
        target = gardien.sector[len(gardien.sector) // 2]
        place = (target.id, target.name, target.latitude, target.longitude)
    session = BrowserSession(chromium, demo_server)
    try:
        page = session.new_page(
            geolocation={
                "latitude": place[2] + 0.00015,
                "longitude": place[3],
                "accuracy": 12,
            },
            permissions=["geolocation"],
        )
        login(page, GARDIEN)
        page.goto("/signalements/nouveau")
        page.wait_for_function("document.querySelector('#gps_accuracy_m').value !== ''")
        assert page.locator("#residence").input_value() == str(place[0])
        page.select_option("#category", label="AB02 · Tags, graffitis")
        page.get_by_role("button", name="Envoyer le signalement").click()
        page.wait_for_url(re.compile(r"/confirmation$"))
        reference = page.locator("#reference").inner_text().strip()
        assert REFERENCE.fullmatch(reference)
        session.screenshot(page, "demo-gardien-confirmation", full_page=False)

        page.goto("/signalements/mes")
        assert reference in page.content()

        referent = session.new_page()
        login(referent, REFERENT)
        referent.goto("/signalements/")
        item = referent.locator(".queue-row", has_text=reference)
        assert place[1] in item.inner_text()
        session.screenshot(referent, "demo-referent-list", full_page=False)
        session.assert_clean()
    finally:
        session.close()

    with demo_server.app.app_context():
        report = db.session.scalar(
            sa.select(Report).where(Report.reference == reference)
        )
        assert report.residence_id == place[0]
        assert report.gps_accuracy_m == pytest.approx(12)
        assert report.location_source is LocationSource.GPS
