"""The patrol sheet (« Priorités de rondes », orfi/rounds/): who sees it, what it says.

The back-test and the list are checked against an independent loop in
tests/test_patrol.py; here, the page: offered only where the method beats the naive
list (a world of steady résidences, where it does), refused otherwise, for the
référent and the direction only, printed on one A4 page.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import numpy as np
import pytest

from orfi.auth.models import Role
from orfi.extensions import db
from orfi.rounds.services import coming_week
from orfi.surveillance.models import EarlyWarningRun, EarlyWarningStatus
from orfi.timezone import from_local, now_local
from tests.browser import World, migrated_app, served
from tests.factories import (
    DEFAULT_PASSWORD,
    category,
    commit,
    insert_fact,
    make_organisation,
    make_residence,
    make_user,
)


def plant_world(*, steady: bool = True, places: int = 20, median: float = 0.5) -> dict:
    """TMH with ``places`` résidences and 72 weeks of facts ending today.

    ``steady``: each résidence has its own steady Poisson rate (log-normal, of
    ``median`` facts a week), where a year of decayed history ranks places better
    than 4 weeks (checked with orfi.earlywarning.patrol on the same draws: at 20
    places the method wins 26 weeks and loses 6; at 50, median 0.3, it wins on every
    seed tried). Otherwise one résidence holds every fact, and both lists are that
    résidence: no week is won.
    """
    rng = np.random.default_rng(1)
    organisation = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    residences = [
        make_residence(
            organisation,
            reference=f"TMH-{i:02d}",
            name=f"Résidence {i:02d}",
            logements=int(logements),
            latitude=43.60 + 0.004 * i,
            longitude=1.43,
        )
        for i, logements in enumerate(rng.integers(20, 300, places))
    ]
    referent = make_user(organisation, role=Role.REFERENT)
    weeks = 72
    today = now_local().date()
    monday = datetime.combine(today - timedelta(days=today.weekday()), time())
    start = monday - timedelta(weeks=weeks)
    rate = rng.lognormal(np.log(median), 0.8, places)
    counts = (
        rng.poisson(rate * weeks) if steady else np.r_[[300], np.zeros(places - 1, int)]
    )
    for index, n in enumerate(counts):
        for seconds in rng.uniform(0, weeks * 7 * 86400, n):
            insert_fact(
                referent, residences[index], start + timedelta(seconds=float(seconds))
            )
    commit()
    hottest = residences[int(np.argmax(rate))] if steady else residences[0]
    return {
        "organisation": organisation,
        "residences": residences,
        "referent": referent,
        "hottest": hottest,
    }


def test_sheet_lists_places_where_the_method_beats_naive(app, client, auth):
    with app.app_context():
        world = plant_world()
        email, hottest = world["referent"].email, world["hottest"].name
    auth.login(email)
    response = client.get("/rondes/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Les 4 lieux à privilégier" in page  # a fifth of 20 résidences
    assert hottest in page
    assert page.count("Horaires habituels : ") == 4
    assert "La méthode fait mieux que la liste simple" in page
    assert "prédiction" not in page.lower()


def test_sheet_says_why_no_list_is_offered(app, client, auth):
    with app.app_context():
        world = plant_world(steady=False)
        email = world["referent"].email
    auth.login(email)
    page = client.get("/rondes/").get_data(as_text=True)
    assert "Pas de liste cette semaine" in page
    assert "la liste n&#39;est pas proposée" in page
    assert "Horaires habituels" not in page
    assert "Résidence 00" not in page


@pytest.mark.parametrize(
    ("today", "monday"),
    [("2026-12-07", "2026-12-07"), ("2026-12-08", "2026-12-14"),
     ("2026-12-13", "2026-12-14")],
)  # fmt: skip
def test_the_sheet_is_for_the_coming_week(today, monday):
    start, end = coming_week(date.fromisoformat(today))
    assert start == date.fromisoformat(monday)
    assert end - start == timedelta(days=6)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.REFERENT, 200),
        (Role.DIRECTION, 200),
        (Role.GARDIEN, 403),
        (Role.ADMIN, 403),
    ],
)
def test_only_referent_and_direction_reach_the_sheet(app, client, auth, role, status):
    with app.app_context():
        organisation = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
        make_residence(organisation)
        user = make_user(organisation, role=role)
        commit()
        email = user.email
    auth.login(email)
    assert client.get("/rondes/").status_code == status


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/rondes/")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_empty_perimeter_gives_a_sheet_without_list(app, client, auth):
    with app.app_context():
        organisation = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
        user = make_user(organisation, role=Role.REFERENT)
        commit()
        email = user.email
    auth.login(email)
    page = client.get("/rondes/").get_data(as_text=True)
    assert "Aucune résidence dans votre périmètre." in page


def test_statistics_page_links_to_the_sheet_for_referents_only(app, client, auth):
    with app.app_context():
        organisation = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
        make_residence(organisation)
        referent = make_user(organisation, role=Role.REFERENT)
        admin = make_user(organisation, role=Role.ADMIN)
        commit()
        emails = referent.email, admin.email
    auth.login(emails[0])
    assert 'href="/rondes/"' in client.get("/statistiques/").get_data(as_text=True)
    auth.logout()
    auth.login(emails[1])
    assert 'href="/rondes/"' not in client.get("/statistiques/").get_data(as_text=True)


def store_early_warning(world) -> None:
    """What early warning's weekly run would store: two near-repeat categories, and
    the hottest résidence in alerte the last complete week."""
    organisation = world["organisation"]
    today = now_local().date()
    start, _ = coming_week(today)
    week = start - timedelta(weeks=2 if start > today else 1)
    when = from_local(datetime.combine(today, time()))
    db.session.add_all(
        [
            EarlyWarningRun(
                organisation_id=organisation.id,
                week=week,
                requested_at=when,
                started_at=when,
                finished_at=when,
                near_repeat=[category(organisation, c).id for c in ("AB01", "AP01")],
            ),
            EarlyWarningStatus(
                organisation_id=organisation.id,
                residence_id=world["hottest"].id,
                week=week,
                status="alerte",
                observed=9,
            ),
        ]
    )
    commit()


@pytest.mark.browser
@pytest.mark.slow  # about 15 s: migrations, 1,300 facts and Chromium
def test_sheet_prints_on_one_a4_page(chromium, tmp_path):
    """The longest sheet (10 résidences, a fifth of 50, with the near-repeat
    categories and an early-warning boost said in words) prints on one A4 page."""
    from tests.browser import BrowserSession

    app = migrated_app(tmp_path / "rounds.sqlite3", SECRET_KEY="e2e-secret")
    with app.app_context():
        world = plant_world(places=50, median=0.3)
        email = world["referent"].email
        store_early_warning(world)
        db.session.remove()
    info = World("TMH", (), "", email, DEFAULT_PASSWORD, 0, "AB01")
    with served(app, info) as server:
        session = BrowserSession(chromium, server)
        try:
            page = session.new_page()
            session.login(page, email)
            page.goto("/rondes/")
            assert page.locator(".rounds-list li").count() == 10
            inputs = page.locator("#rounds-inputs").inner_text()
            assert "Répétitions proches (faits récents" in inputs
            assert "(alerte)" in inputs
            session.screenshot(page, "rounds-360")
            page.set_viewport_size({"width": 1366, "height": 900})
            session.screenshot(page, "rounds-1366")
            page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
            page.emulate_media(media="print")
            session.screenshot(page, "rounds-print")
            pdf = page.pdf(
                format="A4", print_background=True, prefer_css_page_size=True
            )
            assert pdf.startswith(b"%PDF")
            # Page objects of the PDF (« /Type /Page », not the « /Pages » tree).
            assert len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf)) == 1
            session.assert_clean()
        finally:
            session.close()
