"""The mapping step of a patrimoine import in Chromium, on a phone and a desktop
(issue 12, point 8): the file's columns and first rows show, the recognised columns
are preselected, the others are chosen in their select, and the import runs."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from orfi.auth.models import Role, User
from orfi.extensions import db
from orfi.patrimoine.models import ImportColumnMapping, Organisation, Residence
from tests.browser import PHONE, BrowserSession, LiveServer
from tests.factories import make_user

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}
SHOTS = Path("/tmp/shots-imports")


@pytest.fixture(scope="module")
def admin_email(live_server: LiveServer) -> str:
    """An administrator of the world's bailleur."""
    email = "admin-colonnes@tmh.exemple.fr"
    with live_server.app.app_context():
        if db.session.scalar(sa.select(User).where(User.email == email)) is None:
            organisation = db.session.scalar(
                sa.select(Organisation).where(
                    Organisation.code == live_server.world.organisation_code
                )
            )
            make_user(organisation, role=Role.ADMIN, email=email, name="Admin")
            db.session.commit()
        db.session.remove()
    return email


def stored(live_server: LiveServer, reference: str) -> tuple[str, int] | None:
    with live_server.app.app_context():
        residence = db.session.scalar(
            sa.select(Residence).where(Residence.reference == reference)
        )
        result = (residence.name, residence.logements) if residence else None
        db.session.remove()
    return result


def forget_mappings(live_server: LiveServer) -> None:
    with live_server.app.app_context():
        db.session.execute(sa.delete(ImportColumnMapping))
        db.session.commit()
        db.session.remove()


def test_mapping_step_shows_the_file_and_imports_with_the_chosen_columns(
    browser_session: BrowserSession, live_server, admin_email, tmp_path
):
    """On a phone, the columns are chosen; on a desktop, next time, they are
    preselected."""
    forget_mappings(live_server)
    map_and_import(browser_session, live_server, admin_email, tmp_path, PHONE)
    map_and_import(browser_session, live_server, admin_email, tmp_path, DESKTOP)
    browser_session.assert_clean()


def map_and_import(
    browser_session: BrowserSession, live_server, admin_email, tmp_path, viewport
):
    """Upload an export of unknown column names, check the mapping step, choose the
    columns (or find them remembered), import and check what was stored."""
    remembered = viewport is DESKTOP
    tag = uuid.uuid4().hex[:6].upper()
    source = tmp_path / "export_logiciel.csv"
    source.write_text(
        "CODE_GPE;LIBELLE_LONG;NB_LGT;latitude;longitude;SECTEUR\n"
        f"M{tag}1;Les Tilleuls {tag};120;43,6400;1,4330;Nord\n"
        f"M{tag}2;Le Parc {tag};80;43,6460;1,4400;Nord\n",
        encoding="utf-8",
    )
    page = browser_session.new_page(viewport=viewport)
    browser_session.login(page, admin_email)
    page.goto("/patrimoine/import")
    page.set_input_files("#file", str(source))
    page.get_by_role("button", name="Vérifier les colonnes").click()
    page.wait_for_url(re.compile(r"/patrimoine/import$"))

    preview = page.locator("table.import-preview")
    assert preview.locator("th").all_inner_texts()[:3] == [
        "CODE_GPE",
        "LIBELLE_LONG",
        "NB_LGT",
    ]
    assert f"Les Tilleuls {tag}" in preview.locator("tbody tr").first.inner_text()
    # Recognised names are preselected; the software's own names only once chosen.
    assert page.get_by_label("Latitude (WGS84)").input_value() == "latitude"
    assert page.get_by_label("Longitude (WGS84)").input_value() == "longitude"
    reference = page.get_by_label("Référence de la résidence").input_value()
    assert reference == ("CODE_GPE" if remembered else "")

    SHOTS.mkdir(exist_ok=True)
    width = viewport["width"]
    page.screenshot(path=str(SHOTS / f"mapping-{width}.png"), full_page=True)
    browser_session.screenshot(page, f"import-mapping-{width}")
    # Nothing sticks out sideways on a phone but the preview table, in its own scroller.
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0

    if not remembered:
        page.get_by_label("Référence de la résidence").select_option("CODE_GPE")
        page.get_by_label("Nom de la résidence").select_option("LIBELLE_LONG")
        page.get_by_label("Nombre de logements").select_option("NB_LGT")
        page.get_by_label("Agence").select_option("SECTEUR")
    page.get_by_role("button", name="Importer avec ces colonnes").click()
    result = page.locator(".import-result")
    result.wait_for()
    assert result.locator("h2").inner_text().strip() == "Import terminé"
    page.screenshot(path=str(SHOTS / f"mapping-result-{width}.png"), full_page=True)
    assert stored(live_server, f"M{tag}1") == (f"Les Tilleuls {tag}", 120)
    assert stored(live_server, f"M{tag}2") == (f"Le Parc {tag}", 80)
