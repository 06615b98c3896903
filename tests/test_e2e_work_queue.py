"""The work queue in headless Chromium (issue 11, point 6).

A bailleur of its own on the shared live server (its facts stay out of the other
browser tests' lists): 40 facts. At 1366×900 the table shows at least 15 of them
without scrolling; at 360×740 each fact is a card and the exports are folded away.
A référent takes two facts (one grave and forgotten, one with a next step) and
« Mes faits à traiter » lists them, the late one first. Screenshots at both widths.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orfi.auth.models import Role, User
from orfi.database import utcnow
from orfi.extensions import db
from orfi.patrimoine.models import Organisation
from orfi.reports.models import Report
from orfi.timezone import now_local
from tests.browser import BrowserSession, LiveServer
from tests.factories import make_organisation, make_report, make_residence, make_user

pytestmark = pytest.mark.browser

CODE = "WQ"
REFERENT = "referent@file.exemple.fr"
FACTS = 40


@dataclass(frozen=True)
class Queue:
    """References of the bailleur's facts, and the two the test takes."""

    references: list[str]
    grave: str
    planned: str


def queue_bailleur(server: LiveServer) -> Queue:
    """Add (once) a bailleur with FACTS facts to the live server's database."""
    with server.app.app_context():
        organisation = db.session.scalar(
            sa.select(Organisation).where(Organisation.code == CODE)
        )
        if organisation is None:
            organisation = make_organisation(code=CODE, name="File d'attente")
            residences = [
                make_residence(organisation, name=f"Cité des Lilas {n}")
                for n in range(4)
            ]
            referent = make_user(
                organisation, role=Role.REFERENT, email=REFERENT, name="Alex Martin"
            )
            for n in range(FACTS):
                make_report(
                    referent,
                    residences[n % 4],
                    description=f"Fait numéro {n} de la file.",
                    gravity=1 + n % 4,
                    occurred_at=utcnow() - timedelta(hours=n + 1),
                )
            db.session.commit()
        facts = db.session.scalars(
            sa.select(Report)
            .where(Report.organisation_id == organisation.id)
            .order_by(Report.occurred_at.desc())
        ).all()
        grave, planned = facts[7], facts[2]
        grave.gravity = 4
        grave.created_at = utcnow() - timedelta(days=10)  # forgotten: late
        references = [f.reference for f in facts]
        queue = Queue(references, grave.reference, planned.reference)
        db.session.commit()
        db.session.remove()
    return queue


def visible_rows(page, height: int) -> int:
    """How many rows of the queue lie wholly within the first screen."""
    return page.eval_on_selector_all(
        "table.queue tbody tr",
        f"rows => rows.filter(r => r.getBoundingClientRect().bottom <= {height})"
        ".length",
    )


def take(page, reference: str, next_step: str = "") -> None:
    """Open the fact ``reference`` from the search and take it, with ``next_step``."""
    page.goto("/signalements/")
    page.fill("#q", reference)
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name=reference).click()
    page.select_option("#assign-assignee", label="Alex Martin")
    if next_step:
        page.fill("#assign-next_step_on", next_step)
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer la prise en charge").click()
    assert "Prise en charge enregistrée" in page.content()
    assert page.locator("dd.assignee").inner_text() == "Alex Martin"


def test_work_queue_desktop_table_phone_cards_and_my_facts(
    browser_session: BrowserSession,
):
    queue = queue_bailleur(browser_session.server)

    desktop = browser_session.new_page(viewport={"width": 1366, "height": 900})
    browser_session.login(desktop, REFERENT)
    desktop.goto("/signalements/")
    assert visible_rows(desktop, 900) >= 15
    browser_session.screenshot(desktop, "work-queue-1366", full_page=False)

    phone = browser_session.new_page(viewport={"width": 360, "height": 740})
    browser_session.login(phone, REFERENT)
    phone.goto("/signalements/")
    display = phone.eval_on_selector(
        "table.queue tbody tr", "r => getComputedStyle(r).display"
    )
    assert display == "grid"  # a card, not a table row
    assert not phone.locator(".export-formats").is_visible()
    assert phone.eval_on_selector("details.export-panel", "d => d.open") is False
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360  # no sideways scrolling
    browser_session.screenshot(phone, "work-queue-360", full_page=False)

    step = (now_local().date() + timedelta(days=3)).isoformat()
    take(desktop, queue.planned, step)
    take(desktop, queue.grave)
    desktop.goto("/signalements/a-traiter")
    shown = desktop.locator("td.ref a").all_inner_texts()
    assert shown == [queue.grave, queue.planned]  # the late one first
    late = desktop.locator("tr.is-late td.ref a").all_inner_texts()
    assert late == [queue.grave]
    browser_session.screenshot(desktop, "work-queue-mine-1366", full_page=False)
    phone.goto("/signalements/a-traiter")
    assert phone.locator("td.ref a").all_inner_texts() == shown
    browser_session.screenshot(phone, "work-queue-mine-360", full_page=False)
    browser_session.assert_clean()


def test_the_referent_of_the_queue_is_the_bailleur_s_only(
    browser_session: BrowserSession,
):
    """The bailleur's facts stay its own: the shared live server's référent of TMH
    finds none of them."""
    queue = queue_bailleur(browser_session.server)
    page = browser_session.new_page(viewport={"width": 1366, "height": 900})
    browser_session.login(page, browser_session.server.world.referent_email)
    page.goto("/signalements/?q=" + queue.grave)
    assert page.locator("td.ref a").all_inner_texts() == []
    with browser_session.server.app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == REFERENT))
        db.session.remove()
