"""Every limit of the domain, named and documented once.

The API contract (``orfi.api.contract``), the forms, the services' checks and the
JavaScript (served these values as data: see :func:`public`) all read them here, so
that a bound cannot drift between the places that enforce it. Framework-free: this
module imports nothing of orfi.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# ------------------------------------------------------------------------ a fact

#: Gravity of a fact: 1 (vert, acte isolé) to 4 (rouge, danger grave).
GRAVITY_MIN = 1
GRAVITY_MAX = 4

#: Default length of a fact's description (the setting ORFI_DESCRIPTION_MAX_LENGTH
#: may lower or raise it for a bailleur).
DESCRIPTION_MAX_LENGTH = 500

#: Estimated cost of the damage, in whole euros.
DAMAGE_MAX_EUR = 10_000_000

#: Days of sick leave of a staff victim.
STOPPAGE_MAX_DAYS = 1_000

#: GPS accuracy (metres) a phone may report: beyond, the position means nothing.
GPS_ACCURACY_MAX_M = 999_999

#: Geographic coordinates (WGS84 degrees).
LATITUDE_MIN, LATITUDE_MAX = -90, 90
LONGITUDE_MIN, LONGITUDE_MAX = -180, 180

#: Photos attached to one fact.
PHOTOS_MAX = 3

#: Longest side of a stored photo, in pixels. The phone resizes to it before sending
#: (static/js/report-form.js), and the server to it before storing.
PHOTO_MAX_SIDE = 1600

# ---------------------------------------------------------------------- free text

#: A comment on a fact: qualification, duplicate mark, a colleague's addition.
COMMENT_MAX_LENGTH = 500

#: A follow-up note on a fact, and the reference of a complaint or a case.
FOLLOWUP_NOTE_MAX_LENGTH = 500
FOLLOWUP_REFERENCE_MAX_LENGTH = 60

#: An activity entry (meeting, action): its subject and its notes.
ACTIVITY_SUBJECT_MAX_LENGTH = 200
ACTIVITY_NOTES_MAX_LENGTH = 2_000

#: The name a user gives to an API token.
TOKEN_NAME_MAX_LENGTH = 100

# ------------------------------------------------------------------------ the API

#: Largest id accepted (a PostgreSQL ``integer``).
ID_MAX = 2**31 - 1

#: Pages of a list: the page number, the page size and its default.
PAGE_MAX = 100_000
PER_PAGE_MAX = 100
PER_PAGE_DEFAULT = 50


def french(number: int) -> str:
    """``number`` as a French text writes it (``10 000 000``)."""
    return f"{number:,}".replace(",", " ")


def public(config: Mapping[str, Any] | None = None) -> dict[str, int]:
    """The limits the pages' JavaScript needs, as data (``config``: the app's)."""
    description = DESCRIPTION_MAX_LENGTH
    if config is not None:
        description = config.get("ORFI_DESCRIPTION_MAX_LENGTH", description)
    return {
        "gravityMin": GRAVITY_MIN,
        "gravityMax": GRAVITY_MAX,
        "descriptionMaxLength": description,
        "commentMaxLength": COMMENT_MAX_LENGTH,
        "damageMaxEur": DAMAGE_MAX_EUR,
        "stoppageMaxDays": STOPPAGE_MAX_DAYS,
        "gpsAccuracyMaxM": GPS_ACCURACY_MAX_M,
        "photosMax": PHOTOS_MAX,
        "photoMaxSide": PHOTO_MAX_SIDE,
    }
