"""Alerts end to end (issue 11): a gardien files a gravité-4 fact through the real
form on a phone; the worker sends; the référent of that bailleur gets exactly one
e-mail (a local aiosmtpd sink), one push on their phone (a local push service stub,
which decrypts it with the phone's keys) and one inbox message, without the
description; a référent of another bailleur gets nothing. The same for a fact
back-dated 20 days. The pages are photographed at 360 and 1366 px (test-artifacts/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orfi.alerts.push import ensure_vapid_key, register_device
from orfi.alerts.worker import run_once
from orfi.auth.models import Role, User
from orfi.database import utcnow
from orfi.extensions import db
from orfi.notifications.models import InboxMessage
from orfi.patrimoine.models import OrganisationKind
from orfi.patrimoine.services import get_organisation_by_code
from orfi.timezone import to_local
from tests.browser import (
    BrowserSession,
    LiveServer,
    build_world,
    migrated_app,
    served,
)
from tests.factories import make_organisation, make_residence, make_user
from tests.push_stub import Device, PushStub
from tests.smtp_sink import Sink

pytestmark = pytest.mark.browser

DESCRIPTION = "Agent frappé avec une barre de fer devant le hall"
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    server = Sink().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushStub]:
    with PushStub() as stub:
        yield stub


@pytest.fixture(scope="module")
def phones(push_service) -> dict[str, Device]:
    """The phones of TMH's référent and of the other bailleur's."""
    return {
        "ours": push_service.device("ours"),
        "theirs": push_service.device("theirs"),
    }


def _register_phone(user, phone: Device) -> None:
    subscription = phone.subscription()
    register_device(
        user.id,
        subscription["endpoint"],
        subscription["keys"]["p256dh"],
        subscription["keys"]["auth"],
    )


@pytest.fixture(scope="module")
def alerts_server(tmp_path_factory, sink, phones) -> Iterator[LiveServer]:
    """The app on its own migrated database, sending to the sink and the push stub;
    TMH (a gardien, a référent, an administrator) and another bailleur with its
    référent, each référent with a phone registered."""
    folder = tmp_path_factory.mktemp("e2e-alerts")
    app = migrated_app(
        folder / "orfi.sqlite3",
        SECRET_KEY="e2e-secret",
        ORFI_SMTP_HOST="127.0.0.1",
        ORFI_SMTP_PORT=sink.port,
        ORFI_PUSH_HOSTS="127.0.0.1",
        ORFI_PUSH_ALLOW_HTTP=1,
        ORFI_VAPID_PRIVATE_KEY=str(folder / "vapid.pem"),
    )
    with app.app_context():
        ensure_vapid_key()
        world = build_world()
        other = make_organisation(code="OTH", kind=OrganisationKind.ESH)
        make_residence(other)
        their_referent = make_user(
            other, role=Role.REFERENT, email="referent@autre.exemple.fr"
        )
        _register_phone(their_referent, phones["theirs"])
        _register_phone(
            db.session.scalar(
                sa.select(User).where(User.email == world.referent_email)
            ),
            phones["ours"],
        )
        make_user(
            get_organisation_by_code(world.organisation_code),
            role=Role.ADMIN,
            email="admin@tmh.exemple.fr",
        )
        db.session.commit()
        db.session.remove()
    with served(app, world) as server:
        yield server


@pytest.fixture
def session(chromium, alerts_server) -> Iterator[BrowserSession]:
    browser = BrowserSession(chromium, alerts_server)
    try:
        yield browser
    finally:
        browser.close()


def file_grave_fact(session: BrowserSession, *, days_ago: int = 0) -> str:
    """File a gravité-4 fact with the phone form; return its reference."""
    world = session.server.world
    page = session.new_page()
    session.login(page, world.gardien_email)
    page.goto("/signalements/nouveau")
    page.select_option("#residence", str(world.residences[0].id))
    page.select_option("#category", str(world.category_id))
    if days_ago:
        when = to_local(utcnow() - timedelta(days=days_ago))
        page.fill("#occurred_at", when.strftime("%Y-%m-%dT%H:%M"))
    page.locator("label.chip.gravity-4").click()
    page.fill("#description", DESCRIPTION)
    page.get_by_role("button", name="Envoyer le signalement").click()
    page.wait_for_url(re.compile(r"/confirmation$"))
    reference = page.locator("#reference").inner_text().strip()
    assert "Le référent sûreté a été alerté" in page.inner_text("#emergency")
    assert page.locator("#emergency a[href='tel:17']").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    session.screenshot(page, f"alerts-confirmation-360-{days_ago}")
    page.set_viewport_size(DESKTOP)
    session.screenshot(page, f"alerts-confirmation-1366-{days_ago}")
    return reference


def send_and_check(
    server: LiveServer, sink: Sink, push: PushStub, phones, reference: str
) -> None:
    """Run the worker; the référent has one e-mail, one push and one inbox message of
    the fact, the other bailleur's référent nothing."""
    with server.app.app_context():
        run_once("e2e")
        inbox = db.session.scalars(sa.select(InboxMessage)).all()
        ours = [m for m in inbox if m.event.summary["reference"] == reference]
        referent = db.session.scalar(
            sa.select(User).where(User.email == server.world.referent_email)
        )
        assert [m.user_id for m in ours] == [referent.id]
        db.session.remove()
    mails = [
        m for m in sink.to(server.world.referent_email) if reference in m["Subject"]
    ]
    assert len(mails) == 1
    assert DESCRIPTION not in mails[0].as_string()
    assert "barre de fer" not in mails[0].get_content()
    assert sink.to("referent@autre.exemple.fr") == []
    pushed = [m.payload() for m in push.to(phones["ours"])]
    ours = [p for p in pushed if reference in p["title"] + p["body"]]
    assert len(ours) == 1, pushed
    assert "barre de fer" not in str(ours[0])
    assert "/signalements/" in ours[0]["url"]  # the fact's page, behind login
    assert push.to(phones["theirs"]) == []


def test_a_grave_fact_reaches_its_referent_once_and_no_one_else(
    session, sink, push_service, phones
):
    reference = file_grave_fact(session)
    send_and_check(session.server, sink, push_service, phones, reference)
    session.assert_clean()


def test_a_fact_back_dated_by_twenty_days_alerts_too(
    session, sink, push_service, phones
):
    reference = file_grave_fact(session, days_ago=20)
    send_and_check(session.server, sink, push_service, phones, reference)
    session.assert_clean()


@pytest.mark.parametrize("viewport", [None, DESKTOP], ids=["360", "1366"])
def test_the_alert_pages_fit_and_are_photographed(session, viewport):
    size = "1366" if viewport else "360"
    options = {"viewport": viewport} if viewport else {}
    page = session.new_page(**options)
    session.login(page, session.server.world.referent_email)
    page.goto("/alertes/")
    assert page.locator(".bell").count() == 1
    session.screenshot(page, f"alerts-inbox-{size}")
    page.goto("/alertes/reglages")
    session.screenshot(page, f"alerts-settings-{size}")
    if not viewport:
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    admin = session.new_page(**options)
    session.login(admin, "admin@tmh.exemple.fr")
    admin.goto("/alertes/admin")
    session.screenshot(admin, f"alerts-deliveries-{size}")
    session.assert_clean()
