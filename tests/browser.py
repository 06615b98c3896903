"""End-to-end support: the app on a migrated SQLite database, and headless Chromium.

``tests/conftest.py`` loads this module as a plugin, so each fixture exists once per
run (one Playwright instance) and only the tests that ask for one pay for it.

- ``live_server`` (session): a fresh SQLite database built by the migrations, the
  default nomenclature, a small world (:class:`World`), the app on a free local port.
- ``chromium`` (session): Debian's Chromium driven by Playwright; skipped when
  ``/usr/bin/chromium`` is missing, unless ``ORFI_REQUIRE_BROWSER=1``.
- ``browser_session``: opens contexts and pages that record console errors, page errors
  and any request leaving the app's host; end with :meth:`BrowserSession.assert_clean`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import make_server

from orfi import create_app
from orfi.auth.models import Role
from orfi.extensions import db
from orfi.nomenclature.services import load_default_nomenclature
from orfi.patrimoine.models import Batiment, OrganisationKind
from tests.factories import (
    DEFAULT_PASSWORD,
    category,
    make_organisation,
    make_residence,
    make_user,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--lang=fr-FR",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
REQUIRE_BROWSER_ENV = "ORFI_REQUIRE_BROWSER"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE = {"width": 360, "height": 740}

# Three résidences of north Toulouse (approximate real positions), 0.8 to 1.6 km apart.
RESIDENCES = (
    ("TMH-IZA", "Les Izards", 43.6409, 1.4327),
    ("TMH-TCO", "Trois Cocus", 43.6466, 1.4399),
    ("TMH-BDR", "Borderouge", 43.6405, 1.4520),
)


@dataclass(frozen=True)
class Place:
    """A résidence of the world, by id, name and position."""

    id: int
    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class World:
    """What the browser tests know of the data behind the live server."""

    organisation_code: str
    residences: tuple[Place, ...]
    gardien_email: str
    referent_email: str
    password: str
    category_id: int
    category_code: str
    # bâtiment id -> résidence id
    batiments: dict[int, int] = field(default_factory=dict)


@dataclass
class LiveServer:
    """The app served over HTTP in a background thread."""

    app: Flask
    base_url: str
    world: World

    def url(self, path: str) -> str:
        """Return the absolute URL of ``path`` on this server."""
        return self.base_url + path


@contextlib.contextmanager
def _logging_kept() -> Iterator[None]:
    """Undo what Alembic's ``fileConfig`` does to logging (it disables loggers)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    disabled = {
        name: logger.disabled
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, logger in logging.Logger.manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.disabled = disabled.get(name, False)


def build_world() -> World:
    """Create the organisation TMH, three résidences, a gardien and a référent."""
    load_default_nomenclature()
    organisation = make_organisation(
        code="TMH", name="Toulouse Métropole Habitat", kind=OrganisationKind.OPH
    )
    residences = [
        make_residence(
            organisation,
            reference=reference,
            name=name,
            latitude=lat,
            longitude=lon,
            address=f"Résidence {name}, Toulouse",
        )
        for reference, name, lat, lon in RESIDENCES
    ]
    batiments = [
        Batiment(
            residence=residences[0], reference="IZA-1", address="1 rue des Izards"
        ),
        Batiment(residence=residences[1], reference="TCO-A", address="Bât. A"),
        Batiment(residence=residences[1], reference="TCO-B", address="Bât. B"),
    ]
    db.session.add_all(batiments)
    gardien = make_user(
        organisation,
        role=Role.GARDIEN,
        email="gardien@tmh.exemple.fr",
        name="Gardien Nord",
        sector=residences,
    )
    referent = make_user(
        organisation,
        role=Role.REFERENT,
        email="referent@tmh.exemple.fr",
        name="Référente sûreté",
    )
    chosen = category(organisation, "TT01")
    db.session.flush()
    world = World(
        organisation_code=organisation.code,
        residences=tuple(
            Place(r.id, r.name, r.latitude, r.longitude) for r in residences
        ),
        gardien_email=gardien.email,
        referent_email=referent.email,
        password=DEFAULT_PASSWORD,
        category_id=chosen.id,
        category_code=chosen.code,
        batiments={b.id: b.residence_id for b in batiments},
    )
    db.session.commit()
    return world


def migrated_app(database: Path, **config: Any) -> Flask:
    """The app on a fresh SQLite file built by the migrations, with a closed network
    (no base map, so no request may leave the app's host); ``config`` adds to it."""
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "ORFI_TILE_URL": "",
            **config,
        }
    )
    with app.app_context():
        with _logging_kept():
            upgrade()
        db.session.remove()
    return app


@contextlib.contextmanager
def served(app: Flask, world: World) -> Iterator[LiveServer]:
    """Serve ``app`` on 127.0.0.1:<free port> in a background thread, for the block."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, name="orfi-live-server", daemon=True
    )
    thread.start()
    try:
        yield LiveServer(
            app=app, base_url=f"http://127.0.0.1:{server.server_port}", world=world
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session", name="live_server")
def live_server_fixture(tmp_path_factory) -> Iterator[LiveServer]:
    """The app on a fresh migrated SQLite database, served on 127.0.0.1:<free port>."""
    database = tmp_path_factory.mktemp("e2e") / "orfi-e2e.sqlite3"
    app = migrated_app(database, SECRET_KEY="e2e-secret", ORFI_TILE_ATTRIBUTION="")
    with app.app_context():
        world = build_world()
        db.session.remove()
    with served(app, world) as server:
        yield server


def _browser_unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_BROWSER_ENV) == "1":
        pytest.fail(f"{reason} (and {REQUIRE_BROWSER_ENV}=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", name="chromium")
def chromium_fixture() -> Iterator[Any]:
    """Debian's headless Chromium, driven by Playwright (never a downloaded browser)."""
    if not os.path.exists(CHROMIUM):
        _browser_unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_unavailable("Playwright for Python is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


#: The start of a JS function's source: ``function``, ``x =>``, ``(a, [b]) =>``
#: (``async`` or not); ``(() => x)()`` or ``a.some(m => m)`` are plain expressions.
_FUNCTION_SOURCE = re.compile(r"\s*(async\s*)?(function\b|[\w$]+\s*=>|\([^()]*\)\s*=>)")


def wait_for_service_worker(page, timeout: int = 30_000) -> None:
    """On a page that registers orfi's service worker (the field form: a gardien's
    home page), wait until the worker controls it; elsewhere return at once.

    Why: a navigation that starts while the worker is still installing is never
    controlled (``clients.claim()`` runs before the new document exists), so a test
    that logs a gardien in and at once opens the form again could wait in vain for
    the worker or for the offline copy of the form. That race was the cause of the
    offline tests' occasional 30-second timeouts.
    """
    page.wait_for_function(
        """() => !document.getElementById("offline-config")
                 || !("serviceWorker" in navigator) || !window.isSecureContext
                 || navigator.serviceWorker.controller !== null""",
        timeout=timeout,
    )


class BrowserSession:
    """Contexts and pages of one test, recording what would mean a broken page."""

    def __init__(self, browser, server: LiveServer):
        self._browser = browser
        self.server = server
        self.contexts: list[Any] = []
        self.problems: list[str] = []
        self._tolerated: list[str] = []

    def new_page(self, **context_options):
        """Open a page in a new context (phone-sized, French, Paris time by default)."""
        options = {
            "viewport": PHONE,
            "locale": "fr-FR",
            "timezone_id": "Europe/Paris",
            "base_url": self.server.base_url,
            **context_options,
        }
        context = self._browser.new_context(**options)
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        self._watch(page)
        return page

    def _watch(self, page) -> None:
        base = self.server.base_url + "/"

        def on_console(message):
            if message.type == "error":
                self.problems.append(
                    f"console error on {page.url}: {message.text} {message.location}"
                )

        def on_page_error(error):
            self.problems.append(f"page error on {page.url}: {error}")

        def on_request(request):
            url = request.url
            if not (url.startswith(base) or url.startswith("data:")):
                self.problems.append(f"request outside the app: {url}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.on("request", on_request)
        # orfi's CSP forbids eval: Playwright evals a plain-expression predicate again
        # at each poll (refused), but a function predicate only once. Make it one.
        wait = page.wait_for_function
        page.wait_for_function = lambda expression, *args, **kwargs: wait(
            expression
            if _FUNCTION_SOURCE.match(expression)
            else f"() => ({expression})",
            *args,
            **kwargs,
        )

    def login(self, page, email: str, password: str | None = None) -> None:
        """Log in through the login form; return once the landing page has settled."""
        page.goto("/connexion")
        page.fill("#email", email)
        page.fill("#password", password or self.server.world.password)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(lambda url: "/connexion" not in url)
        wait_for_service_worker(page)

    def screenshot(self, page, name: str, *, full_page: bool = True) -> Path:
        """Save a screenshot under ``test-artifacts/`` (the whole page, or the first
        screen as the user sees it); return its path."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        # Finished transitions (Leaflet's pop-up fade, for one), not a frame of them.
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    def tolerate(self, fragment: str) -> None:
        """Let :meth:`assert_clean` ignore problems that contain ``fragment`` (e.g.
        ``"status of 422"``: Chromium logs a page's own error status as an error)."""
        self._tolerated.append(fragment)

    def assert_clean(self) -> None:
        """Fail if any page logged an error or asked another host for anything."""
        problems = [
            p for p in self.problems if not any(f in p for f in self._tolerated)
        ]
        assert not problems, "\n".join(problems)

    def close(self) -> None:
        """Close every context this session opened."""
        for context in self.contexts:
            context.close()


@pytest.fixture(name="browser_session")
def browser_session_fixture(chromium, live_server) -> Iterator[BrowserSession]:
    """A :class:`BrowserSession` on the live server, closed after the test."""
    session = BrowserSession(chromium, live_server)
    try:
        yield session
    finally:
        session.close()
