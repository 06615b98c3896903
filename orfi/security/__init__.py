"""Web hardening: security headers, session lifetime, login throttling, proxies."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from orfi.security import models  # noqa: F401  (the metadata must know the table)
from orfi.security.headers import register_headers
from orfi.security.sessions import configure_sessions


def register(app: Flask) -> None:
    """Install the security hooks on ``app``."""
    proxies = app.config["ORFI_PROXY_COUNT"]
    if proxies > 0:
        # Behind N reverse proxies, trust the last N X-Forwarded-For/-Proto entries
        # only: the client address is what the throttle counts.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    configure_sessions(app)
    register_headers(app)


def client_address() -> str:
    """Return the address of the client of the current request (after ProxyFix)."""
    return request.remote_addr or "inconnue"
