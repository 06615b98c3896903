"""Shared fixtures.

One database per run (SQLite, or PostgreSQL when ``ORFI_TEST_DATABASE_URL`` is set),
emptied after each test; an app context pushed for each test; a test client whose
requests get their own context; a CLI runner; a login helper.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from orfi import create_app
from orfi.database import utcnow
from orfi.extensions import db
from tests.helpers import (
    PG_ENV,
    AuthActions,
    IsolatedRequestClient,
    cache_url_builders,
    create_pg_database,
    drop_pg_database,
    empty_tables,
)

# Browser fixtures (live_server, chromium, browser_session) are registered once for the
# whole run: one Playwright instance, however many browser modules run.
pytest_plugins = ["tests.browser"]

cache_url_builders()


def pytest_collection_modifyitems(items):
    """Retry browser tests up to twice: on a loaded 2-core machine a page can miss a
    timeout; a real fault fails all three runs. ``ORFI_BROWSER_RERUNS=0`` shows the
    first failure as it is."""
    reruns = int(os.environ.get("ORFI_BROWSER_RERUNS", "2"))
    if reruns <= 0:
        return
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.flaky(reruns=reruns))


def _new_database_url(prefix: str, sqlite_file: Path) -> Iterator[str]:
    """Yield the URL of a new empty database of the backend under test, for a fixture.

    On PostgreSQL a database named after ``prefix``, dropped when the fixture ends;
    on SQLite ``sqlite_file``, left to pytest's temporary directories.
    """
    server = os.environ.get(PG_ENV)
    if server:
        url = create_pg_database(server, prefix)
        yield url
        drop_pg_database(server, url)
    else:
        yield "sqlite:///" + str(sqlite_file)


@pytest.fixture(scope="session")
def empty_database_url(tmp_path_factory) -> Iterator[str]:
    """A database of the backend under test with nothing in it (for migration tests)."""
    yield from _new_database_url(
        "orfi_mig", tmp_path_factory.mktemp("mig") / "empty.sqlite3"
    )


@pytest.fixture
def fresh_database_url(tmp_path) -> Iterator[str]:
    """A new empty database of the backend under test, for one test only."""
    yield from _new_database_url("orfi_fresh", tmp_path / "fresh.sqlite3")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """The database every test shares, created once per run and dropped at the end."""
    yield from _new_database_url(
        "orfi_test", tmp_path_factory.mktemp("db") / "orfi.sqlite3"
    )


@pytest.fixture(scope="session")
def test_config(database_url, tmp_path_factory) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "ORFI_SECRET_KEY": "test-secret",
        # scrypt costs ~0.3 s a hash on these machines; tests need many.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # A commit made during a request outside unit_of_work fails the test.
        "ORFI_TRANSACTION_GUARD": True,
    }


@pytest.fixture(scope="session")
def _schema(test_config):
    app = create_app(test_config)
    with app.app_context():
        db.create_all()
    yield
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


def _make_app(config: dict):
    app = create_app(config)
    app.test_client_class = IsolatedRequestClient
    return app


def _app_for_one_test(config: dict) -> Iterator[Flask]:
    """Yield a fresh app with its context pushed, for a fixture; when the test ends,
    empty the shared database so that no test sees another's data."""
    app = _make_app(config)
    with app.app_context():
        yield app
        db.session.rollback()
        empty_tables()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(test_config, _schema):
    """A fresh app on the shared database, with an app context pushed for the test."""
    yield from _app_for_one_test(test_config)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def csrf_app(test_config, _schema):
    """Like ``app`` but with CSRF protection on, as in production."""
    yield from _app_for_one_test({**test_config, "WTF_CSRF_ENABLED": True})


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


class Clock:
    """A settable stand-in for ``utcnow`` in the security modules (sessions, login
    throttling): tests move time forward instead of sleeping."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **delta) -> None:
        """Move the clock forward (``timedelta`` arguments)."""
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The security modules' clock, under the test's control."""
    clock = Clock()
    monkeypatch.setattr("orfi.security.sessions.utcnow", clock)
    monkeypatch.setattr("orfi.security.throttle.utcnow", clock)
    return clock
