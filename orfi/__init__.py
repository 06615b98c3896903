"""orfi: recueil, cartographie et suivi des faits d'incivilité des bailleurs sociaux."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from orfi import characters, transaction
from orfi.config import load_settings
from orfi.database import configure_engine, declare_write_intent, reset_write_intent
from orfi.extensions import csrf, db, login_manager, migrate

PACKAGE = Path(__file__).resolve().parent
#: The checkout (source tree); in an installed wheel, site-packages.
ROOT = PACKAGE.parent
logger = logging.getLogger(__name__)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class _Flask(Flask):
    """Flask, with the check "is this view or hook a coroutine?" made once per
    function instead of on every call (Flask inspects each hook of each request: a
    tenth of the Python calls of filing a fact through the API)."""

    def ensure_sync(self, func):
        """Return ``func``, or its synchronous wrapper if it is a coroutine."""
        cache = self.__dict__.setdefault("_orfi_sync", {})
        try:
            return cache[func]
        except KeyError:
            if len(cache) >= 1000:  # functions made per call: never grow without end
                cache.clear()
            synchronous = cache[func] = super().ensure_sync(func)
            return synchronous
        except TypeError:  # an unhashable callable: no cache
            return super().ensure_sync(func)


class _RowId(IntegerConverter):
    """``<int:…>`` in every URL: a row id, 1 to 2³¹ − 1 (an ``integer`` column).

    A larger number names no row; PostgreSQL would refuse to compare it with the
    column (integer out of range, a 500) rather than find nothing: it is a 404 at
    routing instead.
    """

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``ORFI_*`` environment, then ``test_config``."""
    app = _Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(resource_folder("templates")),
        static_folder=str(resource_folder("static")),
    )
    app.url_map.converters["int"] = _RowId
    settings = load_settings(app.instance_path)
    for key, value in settings.items():
        app.config[f"ORFI_{key}"] = value
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings["DATABASE_URL"],
        SECRET_KEY=settings["SECRET_KEY"] or _instance_secret(app.instance_path),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
    )
    if test_config:
        app.config.update(test_config)
    _check_production(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(app.instance_path, mode=0o700, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(resource_folder("migrations")))
    csrf.init_app(app)
    login_manager.init_app(app)
    with app.app_context():
        configure_engine(db.engine, app.config["ORFI_SQLITE_BUSY_TIMEOUT"])

    _register_write_intent(app)
    transaction.register(app)
    characters.register(app)
    _register_blueprints(app)
    from orfi import security

    security.register(app)
    from orfi import templating
    from orfi.errors import register_error_handlers

    templating.register(app)
    register_error_handlers(app)
    from orfi.cli import cli

    app.cli.add_command(cli)
    return app


def resource_folder(name: str) -> Path:
    """Return the ``templates``, ``static`` or ``migrations`` folder.

    A wheel ships them inside the package (``orfi/templates``…, see setup.py); a
    checkout, editable install included, keeps them at its top (STYLE.md).
    """
    installed = PACKAGE / name
    return installed if installed.is_dir() else ROOT / name


def _instance_secret(instance_path: str) -> str | None:
    """Read the development secret that ``orfi init`` writes in the instance folder."""
    path = Path(instance_path) / "secret_key"
    return path.read_text().strip() if path.exists() else None


def _check_production(app: Flask) -> None:
    if app.config["ORFI_ENV"] == "production":
        if not app.config["ORFI_SECRET_KEY"] and not app.config.get("TESTING"):
            raise RuntimeError(
                "ORFI_SECRET_KEY est obligatoire en production (ORFI_ENV=production)."
            )
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    elif not app.config["SECRET_KEY"]:
        # Development without `orfi init`: sessions last as long as the process.
        logger.warning(
            "Aucune clé secrète : clé aléatoire pour ce processus seulement."
        )
        app.config["SECRET_KEY"] = secrets.token_hex(32)


def _register_write_intent(app: Flask) -> None:
    """Open write requests' transactions with BEGIN IMMEDIATE (see orfi.database)."""

    @app.before_request
    def _declare():
        if request.method not in _SAFE_METHODS:
            request.environ["orfi.write_token"] = declare_write_intent()

    @app.teardown_request
    def _reset(_exc):
        token = request.environ.pop("orfi.write_token", None)
        if token is not None:
            reset_write_intent(token)


def _register_blueprints(app: Flask) -> None:
    import importlib

    for feature in (
        "main", "auth", "facts", "residences", "admin", "maps", "stats", "api",
        "photos", "followup", "activity", "syntheses", "exports", "federation",
        "pwa", "privacy", "alerts", "rounds", "surveillance",
    ):  # fmt: skip
        app.register_blueprint(importlib.import_module(f"orfi.{feature}.routes").bp)
    # Views of a feature kept apart from its routes module.
    app.register_blueprint(importlib.import_module("orfi.alerts.push_routes").bp)
