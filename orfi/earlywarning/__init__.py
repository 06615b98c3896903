"""Early warning per unit (résidence, entrée): weekly counts, expected levels, alarms.

Pure computation (numpy, pandas, scipy): no Flask, no SQLAlchemy. Counts come in as
arrays, statuses go out as data frames; the pages and the alert pipeline read them.
Method, parameters and error rates: docs/early-warning.md.
"""

from orfi.earlywarning.fallback import CusumParams, cusum, seasonal_profile
from orfi.earlywarning.farrington import (
    FarringtonParams,
    check_week,
    check_weeks,
    first_checkable_week,
)
from orfi.earlywarning.series import week_monday, weekly_counts
from orfi.earlywarning.status import (
    ALERTE,
    INSUFFISANT,
    NORMAL,
    VIGILANCE,
    describe,
    unit_statuses,
)

__all__ = [
    "ALERTE",
    "INSUFFISANT",
    "NORMAL",
    "VIGILANCE",
    "CusumParams",
    "FarringtonParams",
    "check_week",
    "check_weeks",
    "cusum",
    "describe",
    "first_checkable_week",
    "seasonal_profile",
    "unit_statuses",
    "week_monday",
    "weekly_counts",
]
