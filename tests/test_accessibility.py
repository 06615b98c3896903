"""Accessibility of the main pages, checked by axe-core in headless Chromium.

Each page is opened by the role that uses it (the gardien's at phone size), axe-core
(tests/vendor/axe-core, from the npm registry) runs with the WCAG 2.0 and 2.1 A and AA
rules, and any violation of impact "serious" or "critical" fails the test with the
rule, its help text and the selectors of the offending elements. A screenshot of each
page is kept under ``test-artifacts/a11y-*.png``.

axe is injected as an inline script by Playwright: these contexts bypass the page's
Content-Security-Policy (``script-src 'self'`` would refuse it) and only them; the app
never serves axe.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from orfi.activity.models import MeetingKind
from orfi.activity.services import MeetingInput, create_meeting
from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.extensions import db
from orfi.followup.models import Partner
from orfi.reports.models import Lieu, Suite, Victime
from orfi.timezone import now_local, to_local
from tests.browser import PHONE, BrowserSession, LiveServer
from tests.factories import (
    make_action,
    make_federation,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
DESKTOP = {"width": 1280, "height": 800}
PASSWORD = "accessible-42"


@dataclass(frozen=True)
class A11yWorld:
    """What the tests know of the bailleur they add to the live server."""

    emails: dict[str, str]
    report_uuid: str
    residence_id: int
    user_id: int
    category_id: int
    yesterday: str  # ISO date of the day with the notable facts


@pytest.fixture(scope="module")
def a11y_world(live_server: LiveServer) -> A11yWorld:
    """A bailleur of its own with each role, facts (one grave and overdue, one followed
    up), a meeting and a federation of its region, so that every page has content."""
    with live_server.app.app_context():
        organisation = make_organisation(code="ACC", name="Bailleur accessible")
        residences = [
            make_residence(
                organisation, reference=f"ACC-{i}", name=name,
                latitude=43.60 + i * 0.004, longitude=1.43 + i * 0.003,
                qpv_code="QP031007" if i == 0 else None,
                qpv_generation="2015" if i == 0 else None,
            )
            for i, name in enumerate(("Les Pins", "Le Parc", "La Gare"))
        ]  # fmt: skip
        users = {
            role: make_user(
                organisation,
                role=role,
                email=f"{role.value}@acc.exemple.fr",
                name=f"{role.label} accessible",
                password=PASSWORD,
                **({"sector": residences} if role is Role.GARDIEN else {}),
            )
            for role in (Role.GARDIEN, Role.REFERENT, Role.DIRECTION, Role.ADMIN)
        }
        federation = make_federation(code="ACC-FED", name="Fédération accessible")
        users[Role.FEDERATION] = make_user(
            None,
            role=Role.FEDERATION,
            federation=federation,
            email="federation@acc.exemple.fr",
            name="Chargée de mission",
            password=PASSWORD,
        )
        gardien = users[Role.GARDIEN]
        yesterday = utcnow() - timedelta(days=1)
        followed = make_report(
            gardien, residences[0], category_code="AP01", gravity=3,
            occurred_at=yesterday, victime=Victime.PERSONNEL_BAILLEUR,
            lieu=Lieu.HALL, suite=Suite.PLAINTE_BAILLEUR,
            description="Insultes envers le gardien dans le hall.",
        )  # fmt: skip
        make_action(followed, users[Role.REFERENT], partner=Partner.POLICE_NATIONALE)
        overdue = make_report(
            gardien, residences[1], category_code="AB03", gravity=4,
            occurred_at=utcnow() - timedelta(days=6), lieu=Lieu.LOCAL_POUBELLES,
            description="Local poubelles incendié.",
        )  # fmt: skip
        overdue.created_at = utcnow() - timedelta(days=5)  # so "Suivi" lists it
        for i in range(6):
            make_report(
                gardien, residences[i % 3], category_code=("TT01", "AB02")[i % 2],
                occurred_at=yesterday - timedelta(days=i * 3, hours=i),
            )  # fmt: skip
        create_meeting(
            users[Role.REFERENT],
            MeetingInput(
                held_on=now_local().date() - timedelta(days=2),
                kind=MeetingKind.CLSPD,
                subject="CLSPD du quartier",
                partners=[Partner.MAIRIE, Partner.POLICE_MUNICIPALE],
            ),
        )
        db.session.commit()
        world = A11yWorld(
            emails={role.value: user.email for role, user in users.items()},
            report_uuid=str(followed.uuid),
            residence_id=residences[0].id,
            user_id=gardien.id,
            category_id=followed.category_id,
            yesterday=to_local(yesterday).date().isoformat(),
        )
        db.session.remove()
    return world


@dataclass(frozen=True)
class Page:
    """A page to check: who opens it, at which size, what to wait for or do first."""

    name: str
    path: Callable[[A11yWorld], str] | str
    role: str | None  # None: not logged in
    viewport: dict = field(default_factory=lambda: DESKTOP)
    ready: str | None = None  # a JS function, true once the page has drawn
    # Puts the page in the state to check.
    act: Callable[[Any, BrowserSession], None] | None = None
    # Nodes that axe must skip, each with why (third-party markup we cannot change).
    exclude: tuple[str, ...] = ()
    status: int = 200

    def url(self, world: A11yWorld) -> str:
        """Return the page's path in ``world``."""
        return self.path(world) if callable(self.path) else self.path


MAP_READY = (
    "() => { const s = document.getElementById('map-status');"
    " return s && !/Chargement/.test(s.textContent); }"
)


def open_all_details(page, session: BrowserSession) -> None:
    """Unfold every <details> (data tables, follow-up forms) so axe sees them."""
    page.evaluate(
        "document.querySelectorAll('main details').forEach(d => d.open = true)"
    )


def submit_empty(button: str) -> Callable[[Any, BrowserSession], None]:
    """Press ``button`` with the form left empty, then wait for the page with errors
    (answered 422, or 200 where a page says so in the form)."""

    def act(page, session: BrowserSession) -> None:
        session.tolerate("status of 422")
        page.get_by_role("button", name=button).click()
        page.wait_for_load_state()
        page.locator(".errors, .error-summary, .flash-error").first.wait_for()

    return act


def open_menu(page, session: BrowserSession) -> None:
    """Unfold the phone's "Menu" of the top bar."""
    page.locator("details.nav-more summary").click()
    page.locator("details.nav-more ul").wait_for()


def open_residence_popup(page, session: BrowserSession) -> None:
    """Open the pop-up of a résidence on the map."""
    page.evaluate("orfiMaps.orfi.layers.residences.getLayers()[0].openPopup()")
    page.locator(".leaflet-popup-content").wait_for()


PAGES = (
    Page("login", "/connexion", None, PHONE),
    Page("login-desktop", "/connexion", None),
    Page("login-errors", "/connexion", None, PHONE, act=submit_empty("Se connecter")),
    Page("home-gardien", "/", "gardien", PHONE),
    Page("menu-gardien", "/signalements/mes", "gardien", PHONE, act=open_menu),
    Page("field-form", "/signalements/nouveau", "gardien", PHONE),
    Page(
        "field-form-errors",
        "/signalements/nouveau",
        "gardien",
        PHONE,
        act=submit_empty("Envoyer le signalement"),
    ),
    Page(
        "field-confirmation",
        lambda w: f"/signalements/{w.report_uuid}/confirmation",
        "gardien",
        PHONE,
    ),
    Page("my-reports", "/signalements/mes", "gardien", PHONE),
    Page("api-tokens", "/compte/jetons-api/", "referent", PHONE),
    Page("facts", "/signalements/", "referent"),
    Page("facts-phone", "/signalements/", "referent", PHONE),
    Page(
        "fact-detail",
        lambda w: f"/signalements/{w.report_uuid}",
        "referent",
        act=open_all_details,
    ),
    Page(
        "fact-detail-phone",
        lambda w: f"/signalements/{w.report_uuid}",
        "referent",
        PHONE,
    ),
    Page(
        "fact-correction-phone",
        lambda w: f"/signalements/{w.report_uuid}/corriger",
        "referent",
        PHONE,
    ),
    Page(
        "fact-redaction-errors",
        lambda w: f"/signalements/{w.report_uuid}/retirer",
        "referent",
        act=submit_empty("Retirer partout"),
    ),
    Page("map", "/carte/", "referent", ready=MAP_READY, act=open_residence_popup),
    Page("map-phone", "/carte/", "referent", PHONE, ready=MAP_READY),
    Page("statistics", "/statistiques/", "referent", act=open_all_details),
    Page("statistics-phone", "/statistiques/", "referent", PHONE, act=open_all_details),
    Page("rounds", "/rondes/", "referent"),
    Page("rounds-phone", "/rondes/", "referent", PHONE),
    Page("followup-overdue", "/suivi/", "referent"),
    Page("synthesis", lambda w: f"/syntheses/?date={w.yesterday}", "referent"),
    Page(
        "synthesis-print",
        lambda w: f"/syntheses/imprimer?date={w.yesterday}",
        "referent",
    ),
    Page("bilan", "/syntheses/bilan", "referent"),
    Page("activity", "/activite/", "referent"),
    Page(
        "meeting-form-errors",
        "/activite/reunions/nouvelle",
        "referent",
        PHONE,
        act=submit_empty("Enregistrer la réunion"),
    ),
    Page("residences", "/patrimoine/residences", "referent"),
    Page(
        "residence-detail",
        lambda w: f"/patrimoine/residences/{w.residence_id}",
        "referent",
    ),
    Page("federation-export", "/federation/export", "referent"),
    Page(
        "synthesis-direction",
        lambda w: f"/syntheses/?date={w.yesterday}",
        "direction",
        PHONE,
    ),
    Page("alerts-inbox", "/alertes/", "referent", PHONE),
    Page("alerts-settings", "/alertes/reglages", "referent"),
    Page(
        "alerts-settings-errors",
        "/alertes/reglages",
        "referent",
        PHONE,
        act=submit_empty("Ajouter la règle"),
    ),
    Page("alerts-phones", "/alertes/telephones/", "referent", PHONE),
    Page("work-queue-mine", "/signalements/a-traiter", "referent", PHONE),
    Page("alerts-admin", "/alertes/admin", "admin"),
    Page(
        "alerts-admin-user",
        lambda w: f"/alertes/admin/utilisateurs/{w.user_id}",
        "admin",
    ),
    Page("patrimoine-import", "/patrimoine/import", "admin"),
    Page("admin", "/admin/", "admin"),
    Page("admin-users", "/admin/utilisateurs", "admin"),
    Page(
        "admin-user-new-errors",
        "/admin/utilisateurs/nouveau",
        "admin",
        act=submit_empty("Créer le compte"),
    ),
    Page("admin-user-edit", lambda w: f"/admin/utilisateurs/{w.user_id}", "admin"),
    Page("admin-nomenclature", "/admin/nomenclature", "admin"),
    Page(
        "admin-category-edit",
        lambda w: f"/admin/nomenclature/{w.category_id}",
        "admin",
    ),
    Page("federation", "/federation/", "federation", act=open_all_details),
    Page("federation-import", "/federation/import", "federation"),
    Page(
        "federation-synthesis",
        lambda w: f"/syntheses/?date={w.yesterday}",
        "federation",
    ),
    Page("federation-activity", "/activite/", "federation"),
    Page("error-404", "/cette-page-n-existe-pas", "referent", status=404),
    Page("error-404-phone", "/cette-page-n-existe-pas", "gardien", PHONE, status=404),
)


def run_axe(page, exclude: tuple[str, ...] = ()) -> list[dict]:
    """Run axe-core's WCAG 2.x A/AA rules on ``page``; return its violations."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """([tags, exclude]) => axe.run(
               exclude.length ? {exclude: exclude.map((s) => [s])} : document,
               {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]}
           ).then((results) => results.violations)""",
        [WCAG_TAGS, list(exclude)],
    )


def describe(violations: list[dict]) -> str:
    """One readable paragraph per violation: rule, impact, help, where."""
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        for node in violation["nodes"][:8]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {' '.join(map(str, node['target']))} — {summary[:240]}")
        if len(violation["nodes"]) > 8:
            lines.append(f"    … and {len(violation['nodes']) - 8} more")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def logged_in() -> dict[str, dict]:
    """Storage states of logged-in roles, filled by the first page of each role."""
    return {}


def open_as(
    session: BrowserSession, spec: Page, world: A11yWorld, states: dict[str, dict]
):
    """Open ``spec``'s page in a context that bypasses CSP, logged in as its role."""
    options = {"viewport": spec.viewport, "bypass_csp": True}
    if spec.role is not None and spec.role in states:
        options["storage_state"] = states[spec.role]
    page = session.new_page(**options)
    if spec.role is not None and spec.role not in states:
        session.login(page, world.emails[spec.role], PASSWORD)
        states[spec.role] = page.context.storage_state()
    response = page.goto(spec.url(world))
    assert response is not None and response.status == spec.status, page.url
    if spec.status != 200:
        session.tolerate(f"status of {spec.status}")
    return page


@pytest.mark.parametrize("spec", PAGES, ids=[p.name for p in PAGES])
def test_page_has_no_serious_accessibility_violation(
    browser_session: BrowserSession, a11y_world: A11yWorld, logged_in, spec: Page
):
    page = open_as(browser_session, spec, a11y_world, logged_in)
    if spec.ready:
        page.wait_for_function(spec.ready)
    if spec.act:
        spec.act(page, browser_session)
    violations = run_axe(page, spec.exclude)
    shot = browser_session.screenshot(page, f"a11y-{spec.name}")
    # Every violation, whatever its impact, next to the screenshot (for reading).
    shot.with_suffix(".json").write_text(
        json.dumps(violations, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, (
        f"{spec.url(a11y_world)} ({spec.role or 'anonyme'}, "
        f"{spec.viewport['width']} px):\n{describe(blocking)}"
    )
    browser_session.assert_clean()


def test_axe_reports_what_it_must_and_skips_what_it_is_told(
    browser_session: BrowserSession,
):
    page = browser_session.new_page(bypass_csp=True)
    page.goto("/connexion")
    page.evaluate(
        """() => { for (const id of ["nameless", "vendor-nameless"]) {
                     const button = document.createElement("button");
                     button.id = id;
                     document.querySelector("main").append(button);
                   } }"""
    )
    violations = run_axe(page, exclude=("#vendor-nameless",))
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert [v["id"] for v in blocking] == ["button-name"]
    text = describe(blocking)
    assert "button-name (critical)" in text and "#nameless" in text
    assert "#vendor-nameless" not in text
