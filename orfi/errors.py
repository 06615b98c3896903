"""Errors raised by services, mapped in one place to HTML pages and JSON responses."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from orfi.transaction import rollback

logger = logging.getLogger(__name__)


class OrfiError(Exception):
    """Base class of the errors services raise on purpose."""

    status_code = 400


class ValidationError(OrfiError):
    """Raised when input breaks a domain rule; ``errors`` maps fields to messages."""

    status_code = 422

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class AccessDenied(OrfiError):
    """Raised when the user may not act on an object they can see."""

    status_code = 403


class NotFound(OrfiError):
    """Raised when an object does not exist or lies outside the user's perimeter."""

    status_code = 404


class ImportFileError(OrfiError):
    """Raised when an import file cannot be read (format, encoding, columns, CRS)."""


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    """Render errors as French pages, or as JSON under ``/api/``."""

    @app.errorhandler(ValidationError)
    def _validation(error: ValidationError):
        if _wants_json():
            return jsonify(error="validation", fields=error.errors), error.status_code
        return render_template("errors/400.html", error=error), 400

    @app.errorhandler(OrfiError)
    def _orfi(error: OrfiError):
        if _wants_json():
            return jsonify(error=str(error) or type(error).__name__), error.status_code
        template = {403: "errors/403.html", 404: "errors/404.html"}.get(
            error.status_code, "errors/400.html"
        )
        return render_template(template, error=error), error.status_code

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if _wants_json():
            headers = [h for h in error.get_headers() if h[0] != "Content-Type"]
            response = jsonify(error=error.name, description=error.description)
            return response, error.code, headers
        if error.code in (403, 404):
            return render_template(f"errors/{error.code}.html", error=error), error.code
        return error

    @app.errorhandler(500)
    def _server_error(error):
        logger.exception(
            "Erreur serveur", exc_info=getattr(error, "original_exception", None)
        )
        # The failed work may have left the session mid-transaction (or broken, after
        # a database error): the page's own queries need it clean.
        rollback()
        if _wants_json():
            return jsonify(error="Erreur interne du serveur"), 500
        return render_template("errors/500.html"), 500
