"""The service worker shows an alert pushed to the phone, and opens the fact on a tap
(issue 11, Web Push). Chromium's DevTools protocol hands the worker a push message as
the push service would, so nothing leaves the machine."""

from __future__ import annotations

import json

import pytest

from orfi.alerts.push import ensure_vapid_key
from tests.browser import BrowserSession

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def push_on(live_server, tmp_path):
    app = live_server.app
    saved = {k: app.config[k] for k in ("ORFI_VAPID_PRIVATE_KEY", "ORFI_PUSH_HOSTS")}
    app.config.update(
        ORFI_VAPID_PRIVATE_KEY=str(tmp_path / "vapid.pem"), ORFI_PUSH_HOSTS="127.0.0.1"
    )
    with app.app_context():
        ensure_vapid_key()
    yield
    app.config.update(saved)


def _registration_id(cdp, page, worker_url: str) -> str:
    found: dict[str, str] = {}

    def on_update(event):
        for registration in event["registrations"]:
            if not registration.get("isDeleted"):
                found["id"] = registration["registrationId"]

    cdp.on("ServiceWorker.workerRegistrationUpdated", on_update)
    cdp.send("ServiceWorker.enable")
    page.evaluate(
        """async (url) => {
            await navigator.serviceWorker.register(url, {scope: "/"});
            await navigator.serviceWorker.ready;
        }""",
        worker_url,
    )
    page.wait_for_timeout(200)
    assert "id" in found, "no service worker registration reported"
    return found["id"]


def test_a_pushed_alert_is_shown_and_names_the_fact_only(
    browser_session: BrowserSession, push_on
):
    server = browser_session.server
    page = browser_session.new_page(permissions=["notifications"])
    browser_session.login(page, server.world.referent_email)
    page.goto("/alertes/telephones/")
    assert page.locator("#push-enable").is_visible()
    browser_session.screenshot(page, "push-devices-360")

    cdp = page.context.new_cdp_session(page)
    registration = _registration_id(cdp, page, "/sw.js")
    payload = {
        "title": "Fait grave · TMH-2026-000042",
        "body": "Agression d'un salarié · Les Izards · gravité 4 · 14:05",
        "url": "/signalements/0b6f2e0e-5d7d-4a43-9d1c-000000000042",
        "tag": "fact-42",
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": server.base_url,
            "registrationId": registration,
            "data": json.dumps(payload),
        },
    )
    page.wait_for_function(
        """async () => (await (await navigator.serviceWorker.ready)
                         .getNotifications()).length > 0""",
        timeout=10_000,
    )
    shown = page.evaluate(
        """async () => (await (await navigator.serviceWorker.ready).getNotifications())
            .map(n => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url}))"""
    )
    assert shown == [
        {
            "title": payload["title"],
            "body": payload["body"],
            "tag": payload["tag"],
            "url": payload["url"],
        }
    ]
    wide = browser_session.new_page(viewport=DESKTOP)
    browser_session.login(wide, server.world.referent_email)
    wide.goto("/alertes/telephones/")
    browser_session.screenshot(wide, "push-devices-1366")
    browser_session.assert_clean()
