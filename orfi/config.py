"""Settings: defaults, overridden by ``ORFI_*`` environment variables, then by tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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
    # Maximum length of the free-text description.
    "DESCRIPTION_MAX_LENGTH": 500,
    # Base-map tiles URL template for Leaflet (e.g. a bailleur's own tile server);
    # empty means no base map: the maps show résidences and QPV outlines only.
    "TILE_URL": "",
    "TILE_ATTRIBUTION": "",
    # QPV layer used to fill each résidence's QPV at import (GeoJSON, WGS84).
    "QPV_FILE": str(Path(__file__).parent / "data" / "qpv_occitanie_2015.geojson"),
    "QPV_GENERATION": "2015",
    # Facts listed per page.
    "PAGE_SIZE": 50,
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
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = "sqlite:///" + os.path.join(
            instance_path, "orfi.sqlite3"
        )
    return settings
