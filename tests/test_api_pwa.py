"""The PWA's service worker and manifest, served from the root so that they control
the field form."""

from __future__ import annotations

import json

from orfi import ROOT


def test_service_worker_is_served_from_the_root_with_its_settings(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.text
    assert "self.ORFI_SW_SETTINGS" not in body  # replaced by the settings
    start = body.index("var SETTINGS = ") + len("var SETTINGS = ")
    settings = json.JSONDecoder().raw_decode(body[start:])[0]
    assert settings["formUrl"] == "/signalements/nouveau"
    assert settings["logoutUrl"] == "/deconnexion"
    assert "/static/js/offline-queue.js" in settings["precache"]
    assert "/manifest.webmanifest" in settings["precache"]
    for url in settings["precache"]:
        assert client.get(url).status_code == 200, url


def test_manifest_names_the_form_and_existing_icons(client):
    response = client.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = response.json
    assert manifest["start_url"] == "/signalements/nouveau"
    assert manifest["lang"] == "fr"
    for icon in manifest["icons"]:
        assert (ROOT / icon["src"].lstrip("/")).exists()


def test_form_page_links_the_manifest_and_the_offline_queue(client, auth, app):
    from orfi.auth.models import Role
    from tests.factories import commit, make_organisation, make_residence, make_user

    organisation = make_organisation()
    residence = make_residence(organisation)
    user = make_user(organisation, role=Role.GARDIEN, sector=[residence])
    commit()
    auth.login(user.email)
    page = client.get("/signalements/nouveau").text
    assert 'rel="manifest" href="/manifest.webmanifest"' in page
    assert 'id="offline-config"' in page and 'id="outbox"' in page
    assert 'enctype="multipart/form-data"' in page
    assert "<script>" not in page  # no inline code: data only, in JSON
    config = json.loads(
        page.split('<script type="application/json" id="offline-config">')[1].split(
            "</script>"
        )[0]
    )
    assert config["userId"] == user.id
    assert config["urls"]["reports"] == "/api/v1/reports"
