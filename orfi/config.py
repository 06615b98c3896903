"""Settings: defaults, overridden by ``ORFI_*`` environment variables, then by tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from orfi import limits

#: Every setting the application reads, with its default. The README documents each one.
DEFAULTS: dict[str, Any] = {
    # "development" or "production"; production refuses to start without a secret key.
    "ENV": "development",
    "SECRET_KEY": None,
    # SQLAlchemy URL; empty means SQLite ``instance/orfi.sqlite3``.
    "DATABASE_URL": "",
    # Seconds a SQLite connection waits for a lock before giving up.
    "SQLITE_BUSY_TIMEOUT": 10,
    # A fact may not be dated earlier than this many days ago.
    "MAX_FACT_AGE_DAYS": 365,
    # Beyond this distance (m) from the chosen résidence, a position needs confirming.
    "MAX_DISTANCE_FROM_RESIDENCE_M": 300,
    # GPS accuracy (metres) above which the form warns that the position is coarse.
    "COARSE_ACCURACY_M": 100,
    # A fact's author (a gardien) may correct it this many minutes after filing; its
    # référent may at any time (docs/privacy.md, « Corrections »).
    "AUTHOR_EDIT_MINUTES": 30,
    # Maximum length of the free-text description.
    "DESCRIPTION_MAX_LENGTH": limits.DESCRIPTION_MAX_LENGTH,
    # Base-map tiles URL template for Leaflet (e.g. a bailleur's own tile server);
    # empty means no base map: the maps show résidences and QPV outlines only.
    "TILE_URL": "",
    "TILE_ATTRIBUTION": "",
    # QPV layer used to fill each résidence's QPV at import (GeoJSON, WGS84).
    "QPV_FILE": str(Path(__file__).parent / "data" / "qpv_occitanie_2015.geojson"),
    "QPV_GENERATION": "2015",
    # Facts listed per page.
    "PAGE_SIZE": 50,
    # Federation statistics: a cell counting fewer facts than this is never published;
    # it is merged upward (see docs/exports-and-federation.md).
    "FEDERATION_MIN_COUNT": 5,
    # Folder of the re-encoded photos of facts; empty means ``instance/photos``.
    "PHOTO_DIR": "",
    # Largest photo accepted before re-encoding, in bytes (10 MB).
    "PHOTO_MAX_BYTES": 10 * 1024 * 1024,
    # A fact of gravity 3 or 4 without any follow-up action after this many days is
    # listed as overdue.
    "FOLLOWUP_OVERDUE_DAYS": 2,
    # Alerts (docs/alerts.md): a fact of this gravity or more is grave; the worker
    # retries a failed message for this many hours, then records it as failed.
    "ALERT_MIN_GRAVITY": 3,
    "ALERT_RETRY_HOURS": 24,
    # Seconds a worker holds the messages it claimed: one killed mid-batch leaves
    # them to another (or to itself restarted) after this lease.
    "ALERT_LEASE_SECONDS": 300,
    # Public address of orfi, for the links of e-mails and push (e.g.
    # https://orfi.bailleur.fr); empty: links relative to the site.
    "BASE_URL": "",
    # Daily synthesis e-mail: no SMTP host means the synthesis is only written as HTML.
    "SMTP_HOST": "",
    "SMTP_PORT": 25,
    "SMTP_FROM": "orfi@localhost",
    "SMTP_USER": "",
    "SMTP_PASSWORD": "",
    # 1: upgrade the SMTP connection with STARTTLS before logging in.
    "SMTP_STARTTLS": 0,
    # Extra recipients of the synthesis by perimeter code, besides the perimeter's
    # direction accounts: "TMH:a@tmh.fr,b@tmh.fr;USH-OCC:mission@ush-occitanie.fr".
    "SYNTHESE_RECIPIENTS": "",
    # Retention (``orfi purge``, docs/privacy.md), in months from a fact's date or its
    # last follow-up: a closed fact without suite; a fact that may ground a lease
    # action; otherwise the limitation period of its offence class.
    "RETENTION_MONTHS_NO_SUITE": 12,
    "RETENTION_MONTHS_LEASE": 36,
    "RETENTION_MONTHS_CONTRAVENTION": 12,
    "RETENTION_MONTHS_DELIT": 72,
    "RETENTION_MONTHS_CRIME": 240,
    # Notes of the activity log (meetings, interventions) are emptied this many months
    # after the day of the meeting or intervention: the year's bilan and the two
    # before it, the span of the lease actions they may help support (3 years).
    "RETENTION_MONTHS_ACTIVITY": 36,
    # Entries of the access log (who viewed or exported what) are kept this long.
    "ACCESS_LOG_RETENTION_MONTHS": 12,
    # Backups (``orfi backup``, docs/backup.md): folder of the archives, empty means
    # ``instance/backups``; folder of pg_dump, pg_restore and psql, empty: the PATH.
    "BACKUP_DIR": "",
    "PG_BIN_DIR": "",
    # Web hardening (docs/security.md). A session ends after this many idle minutes,
    # and this many hours after the login; "Rester connecté" (a remembered device)
    # lasts this many days instead (0: the box is hidden).
    "SESSION_IDLE_MINUTES": 60,
    "SESSION_MAX_HOURS": 12,
    "SESSION_REMEMBER_DAYS": 7,
    # Login throttling: failures of one e-mail (24 h) or one address (1 h) before a
    # lock of 1 minute, doubled at each further failure up to the maximum (0: off).
    "LOGIN_ACCOUNT_LIMIT": 5,
    "LOGIN_ADDRESS_LIMIT": 20,
    "LOGIN_LOCK_MAX_MINUTES": 60,
    # Web Push (docs/web-push.md): the push services' host names the server may post to,
    # comma-separated; empty = push off (it reaches another host, so it is opt-in).
    "PUSH_HOSTS": "",
    # 1: also accept http:// endpoints (a local push stub in tests; not in production).
    "PUSH_ALLOW_HTTP": 0,
    # The VAPID private key (PEM); default instance/vapid_private.pem (orfi init).
    "VAPID_PRIVATE_KEY": "",
    # Whom the push services may contact about this server; default mailto:SMTP_FROM.
    "VAPID_SUBJECT": "",
    # Reverse proxies in front of the app that set X-Forwarded-For/-Proto (0: none).
    "PROXY_COUNT": 0,
}

_INT_SETTINGS = {
    key
    for key, value in DEFAULTS.items()
    if isinstance(value, int) and value is not None
}


def load_settings(
    instance_path: str, environ: dict[str, str] | None = None
) -> dict[str, Any]:
    """Return the defaults overridden by ``ORFI_<NAME>`` environment variables."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for key in DEFAULTS:
        raw = environ.get(f"ORFI_{key}")
        if raw is None or raw == "":
            continue
        settings[key] = int(raw) if key in _INT_SETTINGS else raw
    if not settings["PHOTO_DIR"]:
        settings["PHOTO_DIR"] = os.path.join(instance_path, "photos")
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = "sqlite:///" + os.path.join(
            instance_path, "orfi.sqlite3"
        )
    return settings
