"""Security headers on every response: CSP, nosniff, framing, referrer, permissions.

orfi serves no inline script and no inline style: every script is a file (the folium
map's set-up too, at /carte/carte.js), JSON for the pages travels in
``<script type="application/json">`` blocks (data, not code: CSP does not run them),
and Leaflet positions its elements through the CSSOM (``element.style``), which
``style-src 'self'`` allows. So one policy fits every page.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import Flask

#: Features a page may use: the position (field form) and the camera (photos).
PERMISSIONS_POLICY = (
    "geolocation=(self), camera=(self), microphone=(), payment=(), usb=(), "
    "display-capture=()"
)
#: Nothing of a URL leaves the site: report pages carry UUIDs and filters in their
#: paths and queries. The only other host a page may call is the tile server.
REFERRER_POLICY = "same-origin"
HSTS = "max-age=31536000"


def tile_source(tile_url: str) -> str | None:
    """Return the CSP source of a Leaflet tile URL template, or None if same-site.

    ``https://{s}.tile.example.org/{z}/{x}/{y}.png`` gives
    ``https://*.tile.example.org``: a placeholder in the host becomes a wildcard on
    its leftmost labels, which is all CSP allows.
    """
    if not tile_url:
        return None
    parts = urlsplit(tile_url)
    if not parts.netloc:
        return None  # a path on this site: 'self' covers it
    host, colon, port = parts.netloc.rpartition("@")[2].partition(":")
    labels = host.split(".")
    templated = [i for i, label in enumerate(labels) if "{" in label or "}" in label]
    if templated:
        labels = ["*", *labels[templated[-1] + 1 :]]
    source = ".".join(labels) + (colon + port if port and "{" not in port else "")
    return f"{parts.scheme}://{source}" if parts.scheme else source


@functools.lru_cache(maxsize=8)
def content_security_policy(tile_url: str = "") -> str:
    """Return the Content-Security-Policy of every page for this tile server."""
    images = ["'self'", "data:", "blob:"]
    if tiles := tile_source(tile_url):
        images.append(tiles)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": images,
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(
        f"{name} {' '.join(values)}" for name, values in directives.items()
    )


@functools.lru_cache(maxsize=8)
def security_headers(tile_url: str, env: str) -> tuple[tuple[str, str], ...]:
    """Return the security headers of every response, for this tile server and
    environment (built once: every response carries them)."""
    headers = [
        ("Content-Security-Policy", content_security_policy(tile_url)),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", REFERRER_POLICY),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if env == "production":
        # Ignored by browsers over plain HTTP; over HTTPS, no downgrade for a year.
        headers.append(("Strict-Transport-Security", HSTS))
    return tuple(headers)


class SecurityHeaders:
    """WSGI middleware setting the security headers on every response of ``app``
    (static files, errors and redirects too); a header a view set itself is kept.

    At the WSGI level, the headers are constant tuples appended to the response's
    list: cheaper than Werkzeug's header object, which checks each value again on
    every response (the API's intake answers many small requests).
    """

    def __init__(self, app: Flask):
        self.app = app
        self.wsgi_app = app.wsgi_app

    def __call__(self, environ, start_response):
        config = self.app.config
        ours = _lowered(security_headers(config["ORFI_TILE_URL"], config["ORFI_ENV"]))

        def start_with_headers(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers.extend(header for lower, header in ours if lower not in present)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_headers)


@functools.lru_cache(maxsize=8)
def _lowered(headers: tuple) -> tuple:
    return tuple((name.lower(), (name, value)) for name, value in headers)


def register_headers(app: Flask) -> None:
    """Add the security headers to every response of ``app``."""
    app.wsgi_app = SecurityHeaders(app)
