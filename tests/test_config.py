"""Configuration: defaults, environment, production guard, SQLite connection set-up."""

import pytest
import sqlalchemy as sa

from orfi import create_app
from orfi.config import DEFAULTS, load_settings
from orfi.extensions import db
from tests.factories import make_organisation, make_user


def test_defaults_to_sqlite_in_instance_folder(tmp_path):
    settings = load_settings(str(tmp_path), environ={})
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path}/orfi.sqlite3"


def test_environment_overrides_defaults(tmp_path):
    settings = load_settings(
        str(tmp_path),
        environ={
            "ORFI_DATABASE_URL": "postgresql+psycopg://u@h/db",
            "ORFI_MAX_FACT_AGE_DAYS": "30",
            "ORFI_TILE_URL": "https://tuiles.exemple.fr/{z}/{x}/{y}.png",
        },
    )
    assert settings["DATABASE_URL"] == "postgresql+psycopg://u@h/db"
    assert settings["MAX_FACT_AGE_DAYS"] == 30
    assert settings["TILE_URL"].startswith("https://tuiles.")


def test_every_setting_is_documented_in_the_readme():
    from orfi import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [key for key in DEFAULTS if f"ORFI_{key}" not in readme]
    assert missing == []


def test_production_refuses_to_start_without_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("ORFI_ENV", "production")
    monkeypatch.delenv("ORFI_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="ORFI_SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})


def test_production_with_secret_uses_secure_cookies(monkeypatch, tmp_path):
    monkeypatch.setenv("ORFI_ENV", "production")
    monkeypatch.setenv("ORFI_SECRET_KEY", "s" * 64)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})
    assert app.config["SECRET_KEY"] == "s" * 64
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(tmp_path):
    app = create_app(
        {
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.sqlite3",
        }
    )
    with app.app_context(), db.engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() == 10_000
        assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
    with app.app_context():
        db.engine.dispose()


def _begin_statements(app, client_call) -> list[str]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if statement.startswith("BEGIN"):
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        client_call()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return seen


def test_write_requests_begin_immediate_and_reads_do_not(app, client, auth):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("BEGIN IMMEDIATE is SQLite's")
    user = make_user(make_organisation())
    db.session.commit()
    email = user.email
    db.session.remove()  # each request must open its own transaction
    writes = _begin_statements(app, lambda: auth.login(email))
    db.session.remove()
    reads = _begin_statements(app, lambda: client.get("/signalements/mes"))
    assert reads and set(reads) == {"BEGIN"}
    assert writes and set(writes) == {"BEGIN IMMEDIATE"}


def test_hooks_are_inspected_once_and_the_cache_stays_bounded(app):
    """orfi's app remembers that a function is synchronous (Flask would inspect every
    hook on every request) without keeping functions made per call forever."""
    calls = []

    def hook():
        calls.append(1)

    assert app.ensure_sync(hook) is hook
    assert app.ensure_sync(hook) is hook
    for _ in range(2500):
        app.ensure_sync(lambda: None)
    assert len(app.__dict__["_orfi_sync"]) <= 1000

    async def coroutine():
        return None

    # Coroutines still get Flask's own treatment (a wrapper, or an error without
    # asgiref): never returned as they are.
    try:
        wrapped = app.ensure_sync(coroutine)
    except RuntimeError:
        pass
    else:
        assert wrapped is not coroutine
