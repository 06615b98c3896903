"""Views of the pwa feature: the service worker and the web app manifest.

Both are served from the site's root, not from /static/: a service worker controls only
the pages under its own path, and it must control the field form (/signalements/...)
and see the logout (/deconnexion).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from flask import Blueprint, current_app, json, url_for

bp = Blueprint("pwa", __name__)

#: Files the service worker keeps so that the form opens without network.
PRECACHED_STATIC = (
    "css/orfi.css",
    "js/offline-queue.js",
    "js/logout.js",
    "js/report-form.js",
    "js/description-hints.js",
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet/leaflet.js",
    "vendor/leaflet/images/marker-icon.png",
    "vendor/leaflet/images/marker-icon-2x.png",
    "vendor/leaflet/images/marker-shadow.png",
    "img/favicon.svg",
    "img/icon-192.png",
    "img/icon-512.png",
)


@functools.cache
def _version(static_folder: str) -> str:
    """A digest of the service worker and the files it keeps: a new one on change."""
    digest = hashlib.sha256()
    for name in ("js/sw.js", "manifest.webmanifest", *PRECACHED_STATIC):
        path = Path(static_folder) / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:12]


@bp.route("/sw.js")
def service_worker():
    """The service worker, with its version and the list of files to keep."""
    static = Path(current_app.static_folder)
    settings = {
        "version": _version(str(static)),
        "precache": [
            *(url_for("static", filename=name) for name in PRECACHED_STATIC),
            url_for("pwa.manifest"),
        ],
        "formUrl": url_for("reports.new"),
        "logoutUrl": url_for("auth.logout"),
        "staticPrefix": url_for("static", filename=""),
        "apiPrefix": "/api/",
    }
    source = (static / "js" / "sw.js").read_text(encoding="utf-8")
    body = source.replace("self.ORFI_SW_SETTINGS", json.dumps(settings), 1)
    response = current_app.response_class(body, mimetype="text/javascript")
    # Browsers check for a new worker on each visit; never serve them a stale one.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.route("/manifest.webmanifest")
def manifest():
    """The web app manifest (name, icons, start URL: the field form)."""
    response = current_app.send_static_file("manifest.webmanifest")
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response
