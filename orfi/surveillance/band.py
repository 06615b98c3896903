"""The band of the facts' landing page: résidences in alerte or vigilance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from orfi.auth.access import QUALIFIERS
from orfi.auth.models import User
from orfi.surveillance.forms import RecomputeForm
from orfi.surveillance.models import EarlyWarningRun
from orfi.surveillance.reading import Line, flagged
from orfi.surveillance.runs import last_run, pending_request


@dataclass
class Band:
    """What the band shows."""

    week: date | None
    lines: list[Line] = field(default_factory=list)
    last: EarlyWarningRun | None = None
    pending: bool = False
    form: RecomputeForm | None = None

    @property
    def alerts(self) -> int:
        """How many résidences are in alerte."""
        return sum(line.status == "alerte" for line in self.lines)


def warning_band(user: User) -> Band | None:
    """Return the band for ``user`` (None when nothing was ever computed and the user
    may not ask for it)."""
    if user.organisation_id is None:
        return None
    week, lines = flagged(user)
    may_ask = user.role in QUALIFIERS
    if week is None and not may_ask:
        return None
    return Band(
        week,
        lines,
        last=last_run(user.organisation_id),
        pending=may_ask and pending_request(user.organisation_id) is not None,
        form=RecomputeForm(formdata=None) if may_ask else None,
    )
