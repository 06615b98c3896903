"""Offline-first field form in headless Chromium: nothing lost, nothing twice.

The network is cut with Playwright's ``context.set_offline`` (it cuts the service
worker's fetches too, so a page reopened offline really comes from its cache).

Each scenario drives its own Chromium from a thread of its own: Playwright's sync API
allows one instance per thread, and tests/browser.py's session-scoped ``chromium`` is
registered per test module, so two browser modules in one run would otherwise clash.
"""

from __future__ import annotations

import io
import os
import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from orfi.api.services import create_token
from orfi.auth.models import User
from orfi.database import utcnow
from orfi.extensions import db
from orfi.photos.models import Photo
from orfi.reports.checks import ReportInput
from orfi.reports.creation import create_report
from orfi.reports.models import Report, ReportEvent
from tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    REQUIRE_BROWSER_ENV,
    BrowserSession,
    LiveServer,
)
from tests.factories import category

pytestmark = pytest.mark.browser

SEND = "Envoyer le signalement"


@pytest.fixture
def in_browser(live_server: LiveServer):
    """Run ``scenario(session)`` with a BrowserSession on Chromium in its own thread."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get(REQUIRE_BROWSER_ENV) == "1":
            pytest.fail(f"{CHROMIUM} is missing (and {REQUIRE_BROWSER_ENV}=1)")
        pytest.skip(f"{CHROMIUM} is missing")
    sync_api = pytest.importorskip("playwright.sync_api")

    def run(scenario) -> None:
        failure: list[BaseException] = []

        def target() -> None:
            try:
                with sync_api.sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
                    )
                    session = BrowserSession(browser, live_server)
                    try:
                        scenario(session)
                    finally:
                        session.close()
                        browser.close()
            except BaseException as error:  # re-raised in the test's thread
                failure.append(error)

        thread = threading.Thread(target=target, name="orfi-e2e-offline")
        thread.start()
        thread.join()
        if failure:
            raise failure[0]

    return run


@pytest.fixture
def photo_dir(live_server: LiveServer, tmp_path) -> Path:
    """Photos of this test under tmp_path, not under the instance folder."""
    app = live_server.app
    previous = app.config["ORFI_PHOTO_DIR"]
    app.config["ORFI_PHOTO_DIR"] = str(tmp_path / "photos")
    yield tmp_path / "photos"
    app.config["ORFI_PHOTO_DIR"] = previous


def phone_jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (800, 600), (120, 60, 30))
    exif = Image.Exif()
    exif[0x0110] = "Gardien Phone 12"
    exif.get_ifd(0x8825)[1] = "N"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


#: EXIF orientation 6: the camera was turned a quarter; show the pixels turned 90°
#: clockwise (its raw top-left corner is then top-right).
TURNED_A_QUARTER = 6


def phone_photo_4000x3000() -> bytes:
    """A 4000 × 3000 JPEG of about 8 MB, like a phone's: gradients and grain, a red
    block in the raw top-left corner, and an EXIF orientation tag."""
    width, height = 4000, 3000
    ramp = Image.linear_gradient("L").resize((width, height))
    grain = Image.effect_noise((width, height), 40)
    image = Image.merge(
        "RGB", (ramp, grain, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    image.paste((255, 0, 0), (0, 0, 800, 800))
    exif = Image.Exif()
    exif[0x0112] = TURNED_A_QUARTER
    exif[0x0110] = "Gardien Phone 12"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def is_red(pixel: tuple[int, int, int]) -> bool:
    red, green, blue = pixel
    return red > 200 and green < 60 and blue < 60


def photo_posts(page) -> list:
    """Collect the finished photo uploads of ``page`` (their request objects)."""
    posts: list = []
    page.on(
        "requestfinished",
        lambda request: (
            posts.append(request)
            if request.method == "POST" and re.search(r"/photos$", request.url)
            else None
        ),
    )
    return posts


def reports_with(server: LiveServer, marker: str) -> list[Report]:
    with server.app.app_context():
        rows = db.session.scalars(
            sa.select(Report)
            .where(Report.description.like(f"{marker}%"))
            .order_by(Report.description)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def wait_for_outbox(page, pending: int, timeout: int = 15_000) -> None:
    page.wait_for_function(
        "n => (document.getElementById('outbox') || {getAttribute: () => null})"
        ".getAttribute('data-pending') === String(n)",
        arg=pending,
        timeout=timeout,
    )


def open_form(session: BrowserSession, email: str | None = None, **context_options):
    page = session.new_page(**context_options)
    session.login(page, email or session.server.world.gardien_email)
    page.goto("/signalements/nouveau")
    # The service worker controls the page and keeps a copy of the form.
    # (Generous waits: installing the worker fetches a dozen files; CI boxes are busy.)
    page.wait_for_function(
        "navigator.serviceWorker.controller !== null", timeout=30_000
    )
    page.wait_for_function(
        "caches.open('orfi-pages')"
        ".then(c => c.match('/signalements/nouveau')).then(r => Boolean(r))",
        timeout=30_000,
    )
    return page


def queue_one_fact_offline(page, server: LiveServer, residence_index: int, text: str):
    """Cut the network, file one fact and wait until it waits in the outbox."""
    page.context.set_offline(True)
    fill_fact(page, server, residence_index, text)
    page.get_by_role("button", name=SEND).click()
    wait_for_outbox(page, 1)


def log_out(page) -> None:
    """Press "Déconnexion" (in the "Menu" at phone width when the menu is long)."""
    more = page.locator("details.nav-more")
    if more.count() and more.is_visible():
        more.locator("summary").click()
        more.get_by_role("button", name="Déconnexion").click()
    else:
        page.locator("#logout-form").get_by_role("button", name="Déconnexion").click()


def fill_fact(page, server: LiveServer, residence_index: int, description: str):
    world = server.world
    page.select_option("#category", str(world.category_id))
    page.select_option("#residence", str(world.residences[residence_index].id))
    page.fill("#description", description)


def test_three_facts_filed_offline_are_stored_once_each(in_browser, photo_dir: Path):
    def scenario(browser_session: BrowserSession) -> None:
        server = browser_session.server
        page = open_form(browser_session)
        context = page.context
        context.set_offline(True)
        assert page.evaluate("navigator.onLine") is False

        for index in range(3):
            fill_fact(page, server, index, f"Hors ligne {index}")
            if index == 0:  # a photo goes into the queue with its fact
                page.set_input_files(
                    "#photos",
                    files=[
                        {
                            "name": "hall.jpg",
                            "mimeType": "image/jpeg",
                            "buffer": phone_jpeg_with_gps(),
                        }
                    ],
                )
            page.get_by_role("button", name=SEND).click()
            wait_for_outbox(page, index + 1)
            assert "gardé sur ce téléphone" in page.inner_text("#form-notice")
        # Nothing reached the server; the counter says what waits.
        assert reports_with(server, "Hors ligne") == []
        assert page.inner_text("#outbox-count") == "3"
        assert "Hors connexion" in page.inner_text("#outbox-status")
        browser_session.screenshot(page, "offline-outbox-screen", full_page=False)
        browser_session.screenshot(page, "offline-outbox")
        # Each fact got its own UUID, kept in IndexedDB.
        uuids = page.evaluate(
            "orfiOffline.list().then(items => items.map(i => i.uuid))"
        )
        assert len(set(uuids)) == 3

        page.close()  # the tab is closed with the network still cut
        page = context.new_page()
        page.set_viewport_size(PHONE)
        page.goto("/signalements/nouveau")  # served by the service worker's copy
        assert page.title().startswith("Signaler un fait")
        wait_for_outbox(page, 3)
        assert reports_with(server, "Hors ligne") == []

        context.set_offline(False)  # the network comes back: the queue empties itself
        wait_for_outbox(page, 0, timeout=30_000)
        stored = reports_with(server, "Hors ligne")
        assert [r.description for r in stored] == [f"Hors ligne {i}" for i in range(3)]
        assert sorted(str(r.uuid) for r in stored) == sorted(uuids)
        assert len({r.reference for r in stored}) == 3
        # The photo went with its fact, without its GPS position.
        with server.app.app_context():
            photos = db.session.scalars(
                sa.select(Photo).where(Photo.report_id == stored[0].id)
            ).all()
            assert len(photos) == 1
        files = list(photo_dir.rglob("*.jpg"))
        assert files and all(b"Gardien Phone" not in f.read_bytes() for f in files)
        assert Image.open(files[0]).getexif() == {}

        # Sending again (a second tab, a retry) changes nothing.
        page.evaluate("orfiOffline.sync()")
        assert len(reports_with(server, "Hors ligne")) == 3

    in_browser(scenario)


def at_residence(place) -> dict:
    """Context options of a phone whose GPS stands on ``place`` (±8 m)."""
    return {
        "geolocation": {"latitude": place.lat, "longitude": place.lon, "accuracy": 8},
        "permissions": ["geolocation"],
    }


def open_form_at(session: BrowserSession, place):
    """The form on a phone standing on ``place``, once it has preselected it."""
    page = open_form(session, **at_residence(place))
    page.wait_for_function(
        "document.getElementById('residence-hint').textContent"
        ".includes('Présélectionnée')"
    )
    return page


def test_facts_filed_in_a_row_offline_keep_the_preselected_residence(in_browser):
    """Issue 12.1: after a queued fact the résidence select fell back on its
    placeholder while the hint still said « Présélectionnée », and the next fact was
    refused « Choisissez une résidence »."""

    def scenario(browser_session: BrowserSession) -> None:
        server = browser_session.server
        izards = server.world.residences[0]
        page = open_form_at(browser_session, izards)
        page.context.set_offline(True)
        for index in range(3):  # the gardien never touches the résidence select
            page.select_option("#category", str(server.world.category_id))
            page.fill("#description", f"À la suite {index}")
            page.get_by_role("button", name=SEND).click()
            wait_for_outbox(page, index + 1)
            assert page.locator(".error-summary").count() == 0
            # Ready for the next one: same place, the rest afresh.
            assert page.input_value("#residence") == str(izards.id)
            assert "Présélectionnée" in page.inner_text("#residence-hint")
            assert page.input_value("#description") == ""
            assert page.input_value("#category") == ""
        page.context.set_offline(False)
        wait_for_outbox(page, 0, timeout=30_000)
        stored = reports_with(server, "À la suite")
        assert [r.residence_id for r in stored] == [izards.id] * 3

    in_browser(scenario)


def test_three_facts_with_big_photos_filed_offline_leave_resized(
    in_browser, photo_dir: Path
):
    """Issue 12.1 and 12.2: three facts in a row offline, each with a 4000 × 3000
    phone photo; back online, three facts and three photos, each photo under 1 MB on
    the wire, upright and at most 1600 px on its longest side."""
    original = phone_photo_4000x3000()
    assert len(original) > 5 * 1024 * 1024  # a phone's photo, not a thumbnail

    def scenario(browser_session: BrowserSession) -> None:
        server = browser_session.server
        izards = server.world.residences[0]
        page = open_form_at(browser_session, izards)
        posts = photo_posts(page)
        page.context.set_offline(True)
        for index in range(3):
            page.select_option("#category", str(server.world.category_id))
            page.fill("#description", f"Grande photo {index}")
            page.set_input_files(
                "#photos",
                files=[
                    {
                        "name": f"IMG_{index}.JPG",
                        "mimeType": "image/jpeg",
                        "buffer": original,
                    }
                ],
            )
            # Resized on the phone, and the gardien is told so.
            page.wait_for_function(
                "document.getElementById('photos-chosen').textContent"
                ".includes('au lieu de')"
            )
            assert "1200" in page.inner_text("#photos-chosen")
            if index == 0:
                page.evaluate(
                    "document.getElementById('photos-chosen')"
                    ".scrollIntoView({block: 'center'})"
                )
                browser_session.screenshot(
                    page, "offline-photo-resized-360", full_page=False
                )
            page.get_by_role("button", name=SEND).click()
            wait_for_outbox(page, index + 1)
            assert page.locator(".error-summary").count() == 0
        kept = page.evaluate(
            "orfiOffline.list().then(items => items.map(i => i.photos[0].size))"
        )
        assert len(kept) == 3 and max(kept) < 1_000_000  # the phone keeps them small
        page.evaluate("window.scrollTo(0, 0)")
        browser_session.screenshot(page, "offline-queued-360", full_page=False)
        page.set_viewport_size({"width": 1366, "height": 900})
        browser_session.screenshot(page, "offline-queued-1366", full_page=False)
        page.set_viewport_size(PHONE)

        page.context.set_offline(False)
        wait_for_outbox(page, 0, timeout=60_000)
        stored = reports_with(server, "Grande photo")
        assert len(stored) == 3
        assert {r.residence_id for r in stored} == {izards.id}
        with server.app.app_context():
            photos = db.session.scalars(
                sa.select(Photo).where(Photo.report_id.in_([r.id for r in stored]))
            ).all()
            assert sorted(p.report_id for p in photos) == sorted(r.id for r in stored)
            # Turned upright (portrait) and no longer than 1600 px.
            assert {(p.width, p.height) for p in photos} == {(1200, 1600)}
        # What left the phone, measured on the wire (Chromium gives no body size for
        # a FormData of Blobs in request.sizes(): the Content-Length it sent says it).
        sizes = [int(request.all_headers()["content-length"]) for request in posts]
        assert len(sizes) == 3
        assert all(0 < size < 1_000_000 for size in sizes), sizes
        files = [f for f in photo_dir.rglob("*.jpg") if not f.stem.endswith("-mini")]
        assert len(files) == 3
        for file in files:
            with Image.open(file) as image:
                assert image.size == (1200, 1600)
                rgb = image.convert("RGB")
                # The raw top-left red block now stands top-right: turned once.
                assert is_red(rgb.getpixel((1150, 50)))
                assert not is_red(rgb.getpixel((50, 50)))
            assert b"Gardien Phone" not in file.read_bytes()

    in_browser(scenario)


def test_the_fact_in_flight_is_never_offered_as_its_own_duplicate(
    in_browser, photo_dir: Path
):
    """Issue 12.2: while its photo was on its way, « Déjà signalé ? » offered the
    fact just sent as a duplicate of itself. The fact leaves first; the photo follows
    with a progress bar."""

    def scenario(browser_session: BrowserSession) -> None:
        server = browser_session.server
        izards = server.world.residences[0]
        page = open_form_at(browser_session, izards)
        held: list = []  # the photo's upload, held as on a slow network
        page.route("**/api/v1/reports/*/photos", lambda route: held.append(route))
        page.select_option("#category", str(server.world.category_id))
        page.fill("#description", "En vol")
        page.set_input_files(
            "#photos",
            files=[
                {"name": "hall.jpg", "mimeType": "image/jpeg", "buffer": original}
                for original in [phone_jpeg_with_gps()]
            ],
        )
        page.wait_for_function(
            "document.getElementById('photos-chosen').textContent.includes('pixels')"
        )
        page.get_by_role("button", name=SEND).click()

        # The fact is stored before its photo; the photo's progress is shown.
        progress = page.locator("#send-progress")
        progress.wait_for(state="visible")
        page.wait_for_function("document.querySelector('#send-progress progress')")
        [report] = reports_with(server, "En vol")
        assert report.reference in progress.inner_text()
        assert "photo 1 sur 1" in progress.inner_text()
        assert page.locator("#send-progress-text").get_attribute("aria-live")
        browser_session.screenshot(page, "field-photo-progress-360", full_page=False)
        page.set_viewport_size({"width": 1366, "height": 900})
        browser_session.screenshot(page, "field-photo-progress-1366", full_page=False)
        page.set_viewport_size(PHONE)

        # Meanwhile the gardien taps the résidence again: the nearby check runs, and
        # the server does know this fact, within 50 m, of the same category...
        with page.expect_response(re.compile(r"/api/v1/reports/nearby")) as answer:
            page.select_option("#residence", str(izards.id))
        found = answer.value.json()["items"]
        assert str(report.uuid) in [fact["uuid"] for fact in found]
        page.wait_for_timeout(500)
        # ...but it is not offered as a duplicate of itself.
        nearby = page.locator("#nearby")
        assert nearby.is_hidden() or report.reference not in nearby.inner_text()

        [upload] = held
        upload.continue_()
        page.wait_for_url(re.compile(r"/confirmation$"), timeout=30_000)
        with server.app.app_context():
            count = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Photo)
                .where(Photo.report_id == report.id)
            )
        assert count == 1

    in_browser(scenario)


def test_an_existing_fact_nearby_is_offered_instead_of_a_new_one(in_browser):
    def scenario(browser_session: BrowserSession) -> None:
        server = browser_session.server
        world = server.world
        izards = world.residences[0]
        with server.app.app_context():
            referent = db.session.scalar(
                sa.select(User).where(User.email == world.referent_email)
            )
            code = category(referent.organisation, "TR02")
            existing, _ = create_report(
                referent,
                ReportInput(
                    category_id=code.id,
                    residence_id=izards.id,
                    occurred_at=utcnow() - timedelta(minutes=30),
                    latitude=izards.lat + 0.0001,  # about 11 m away
                    longitude=izards.lon,
                    description="Guetteurs devant le hall.",
                ),
            )
            db.session.commit()
            reference, category_id = existing.reference, code.id

        page = open_form(browser_session)
        page.select_option("#category", str(category_id))
        page.select_option("#residence", str(izards.id))
        nearby = page.locator("#nearby")
        nearby.wait_for(state="visible")
        assert "Déjà signalé ?" in nearby.inner_text()
        assert reference in nearby.inner_text()
        assert "Guetteurs" not in nearby.inner_text()  # no description of others' facts
        browser_session.screenshot(page, "offline-deja-signale-screen", full_page=False)

        page.get_by_role("button", name="C'est le même : le compléter").click()
        assert page.locator("#addition-banner").is_visible()
        assert reference in page.inner_text("#addition-banner")
        page.fill("#description", "Toujours présents à 19 h.")
        browser_session.screenshot(page, "offline-addition")
        page.get_by_role("button", name="Compléter ce fait").click()
        page.wait_for_function(
            "document.getElementById('form-notice')"
            ".textContent.includes('Complément ajouté')"
        )
        with server.app.app_context():
            report = db.session.scalar(
                sa.select(Report).where(Report.reference == reference)
            )
            additions = db.session.scalars(
                sa.select(ReportEvent).where(
                    ReportEvent.report_id == report.id, ReportEvent.kind == "addition"
                )
            ).all()
            assert [a.comment for a in additions] == ["Toujours présents à 19 h."]
            assert (
                db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Report)
                    .where(Report.category_id == category_id)
                )
                == 1
            )
        browser_session.assert_clean()

    in_browser(scenario)


def test_logout_locks_the_queue_away_from_the_next_user(in_browser):
    def scenario(browser_session: BrowserSession) -> None:
        server = browser_session.server
        world = server.world
        page = open_form(browser_session)
        context = page.context
        queue_one_fact_offline(page, server, 1, "Verrouillé 1")

        # The network is back but the API still fails (a weak network): at logout, the
        # fact cannot leave, and the gardien chooses to keep it for their next login.
        # (The route first: the network coming back starts a sending round at once.)
        page.route(
            "**/api/v1/reports", lambda route: route.abort("internetdisconnected")
        )
        context.set_offline(False)
        log_out(page)
        dialog = page.locator("dialog.logout-dialog")
        dialog.wait_for(state="visible")
        assert "1 signalement n'est pas envoyé" in dialog.inner_text()
        browser_session.screenshot(page, "offline-logout-dialog", full_page=False)
        dialog.get_by_role("button", name="Les garder et me déconnecter").click()
        page.wait_for_url(re.compile(r"/connexion"))
        # The cached copy of the form (the gardien's sector) is gone.
        assert page.evaluate(
            "caches.open('orfi-pages').then(c => c.match('/signalements/nouveau'))"
            ".then(r => !r)"
        )
        page.unroute("**/api/v1/reports")

        # Another user of the same phone neither sees nor sends it.
        browser_session.login(page, world.referent_email)
        page.goto("/signalements/nouveau")
        page.wait_for_function("window.orfiOffline !== undefined")
        page.evaluate("orfiOffline.sync()")
        assert page.evaluate("orfiOffline.list().then(items => items.length)") == 0
        assert page.locator("#outbox").is_hidden()
        assert reports_with(server, "Verrouillé") == []
        log_out(page)
        page.wait_for_url(re.compile(r"/connexion"))

        # Back as the gardien: it leaves, once.
        browser_session.login(page, world.gardien_email)
        page.goto("/signalements/nouveau")
        wait_for_outbox(page, 0, timeout=30_000)
        stored = reports_with(server, "Verrouillé")
        assert len(stored) == 1 and stored[0].residence_id == world.residences[1].id

    in_browser(scenario)


def test_token_and_detail_pages_at_phone_size(in_browser, photo_dir: Path):
    def scenario(browser_session: BrowserSession) -> None:
        server = browser_session.server
        world = server.world
        with server.app.app_context():
            referent = db.session.scalar(
                sa.select(User).where(User.email == world.referent_email)
            )
            _, secret = create_token(referent, "Script de test")
            db.session.commit()

        page = open_form(browser_session)
        fill_fact(page, server, 2, "Avec photos")
        page.set_input_files(
            "#photos",
            files=[
                {
                    "name": f"p{i}.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": phone_jpeg_with_gps(),
                }
                for i in range(2)
            ],
        )
        page.get_by_role("button", name=SEND).click()
        page.wait_for_url(re.compile(r"/confirmation$"))
        [report] = reports_with(server, "Avec photos")
        page.goto(f"/signalements/{report.uuid}")
        page.locator(".photo-item img").first.wait_for()
        assert page.locator(".photo-item").count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        browser_session.screenshot(page, "detail-photos")

        log_out(page)
        page.wait_for_url(re.compile(r"/connexion"))
        browser_session.login(page, world.referent_email)
        page.goto("/compte/jetons-api/")
        page.fill("#name", "Application terrain")
        page.get_by_role("button", name="Créer un jeton").click()
        secret_shown = page.input_value("#token-secret-value").strip()
        assert secret_shown.startswith("orfi_") and secret_shown != secret
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        browser_session.screenshot(page, "api-tokens")
        page.goto(f"/signalements/{report.uuid}")
        browser_session.screenshot(page, "detail-referent")
        browser_session.assert_clean()

    in_browser(scenario)


def test_logging_out_offline_says_why_and_keeps_everything(in_browser):
    """Issue 12.10: « Se déconnecter » without network gave no feedback."""

    def scenario(browser_session: BrowserSession) -> None:
        server = browser_session.server
        page = open_form(browser_session)
        context = page.context
        queue_one_fact_offline(page, server, 0, "Avant déconnexion")

        log_out(page)
        message = page.locator("#logout-offline")
        message.wait_for(state="visible")
        assert message.get_attribute("role") == "alert"
        page.wait_for_function(
            "document.getElementById('logout-offline').textContent"
            ".includes('toujours connecté')"
        )
        assert "Hors connexion" in message.inner_text()
        assert message.is_visible()  # the menu, if open, no longer hides it
        assert page.url.endswith("/signalements/nouveau")
        # Nothing is lost: the fact waits, the offline copy of the form is kept.
        assert page.evaluate("orfiOffline.list().then(items => items.length)") == 1
        assert page.evaluate(
            "caches.open('orfi-pages').then(c => c.match('/signalements/nouveau'))"
            ".then(r => Boolean(r))"
        )
        browser_session.screenshot(page, "offline-logout-refused", full_page=False)

        # On a page without the queue too; and the message follows the network.
        context.set_offline(False)
        wait_for_outbox(page, 0, timeout=30_000)
        page.goto("/signalements/mes")
        context.set_offline(True)
        log_out(page)
        page.locator("#logout-offline").wait_for(state="visible")
        page.wait_for_function(
            "document.getElementById('logout-offline').textContent"
            ".includes('Hors connexion')"
        )
        assert page.url.endswith("/signalements/mes")
        context.set_offline(False)
        page.wait_for_function(
            "document.getElementById('logout-offline').textContent"
            ".includes('réseau est revenu')"
        )
        log_out(page)
        page.wait_for_url(re.compile(r"/connexion"))
        assert len(reports_with(server, "Avant déconnexion")) == 1

    in_browser(scenario)


def test_a_refused_fact_comes_back_into_the_form_with_its_photo(in_browser):
    """« Corriger » puts the kept (already resized) photo back into the file input."""

    def scenario(browser_session: BrowserSession) -> None:
        server = browser_session.server
        page = open_form(browser_session)
        page.evaluate(
            """async ([residence, category]) => {
                const canvas = document.createElement("canvas");
                canvas.width = 1600;
                canvas.height = 1200;
                const blob = await new Promise(r => canvas.toBlob(r, "image/jpeg"));
                window.orfiReportForm.load({
                    uuid: orfiOffline.newUuid(), kind: "report",
                    payload: {residence_id: residence, category_id: category,
                              description: "À corriger"},
                    photos: [{uuid: orfiOffline.newUuid(), blob: blob,
                              name: "hall.jpg", type: "image/jpeg"}],
                    errors: {category_id: ["Catégorie désactivée."]},
                });
            }""",
            [server.world.residences[0].id, server.world.category_id],
        )
        page.wait_for_function(
            "document.getElementById('photos-chosen').textContent"
            ".replace(/\\u00a0/g, ' ').includes('1600 × 1200 pixels')"
        )
        assert page.evaluate("document.getElementById('photos').files.length") == 1
        assert "Catégorie désactivée." in page.inner_text("#report-form")
        assert page.input_value("#description") == "À corriger"

    in_browser(scenario)


def test_photo_progress_moves_on_a_slow_uplink(in_browser, photo_dir: Path):
    """The photo follows its fact with a progress that moves, in words and in a bar."""

    def scenario(browser_session: BrowserSession) -> None:
        server = browser_session.server
        page = open_form(browser_session)
        fill_fact(page, server, 1, "Liaison lente")
        page.set_input_files(
            "#photos",
            files=[
                {
                    "name": "IMG_0001.JPG",
                    "mimeType": "image/jpeg",
                    "buffer": phone_photo_4000x3000(),
                }
            ],
        )
        page.wait_for_function(
            "document.getElementById('photos-chosen').textContent.includes('pixels')"
        )
        # About 100 kB/s up: a few seconds for the resized photo.
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": 20,
                "downloadThroughput": -1,
                "uploadThroughput": 100_000,
            },
        )
        page.get_by_role("button", name=SEND).click()
        page.wait_for_function(
            "document.querySelector('#send-progress progress').value >= 25"
        )
        text = page.inner_text("#send-progress-text")
        assert "enregistré" in text and "photo 1 sur 1" in text
        assert re.search(r"(25|50|75|100)\s%", text), text
        browser_session.screenshot(
            page, "field-photo-progress-moving-360", full_page=False
        )
        page.set_viewport_size({"width": 1366, "height": 900})
        browser_session.screenshot(
            page, "field-photo-progress-moving-1366", full_page=False
        )
        page.wait_for_url(re.compile(r"/confirmation$"), timeout=60_000)
        [report] = reports_with(server, "Liaison lente")
        with server.app.app_context():
            [photo] = db.session.scalars(
                sa.select(Photo).where(Photo.report_id == report.id)
            ).all()
            assert (photo.width, photo.height) == (1200, 1600)

    in_browser(scenario)
