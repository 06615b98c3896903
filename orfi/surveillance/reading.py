"""What the pages read of the stored statuses: a perimeter's résidences in alerte or
vigilance, one résidence's status (the latest week computed); what the patrol sheet
reads (the statuses of past weeks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import sqlalchemy as sa

from orfi.auth.models import User
from orfi.auth.perimeter import visible_residences
from orfi.earlywarning import ALERTE, VIGILANCE
from orfi.extensions import db
from orfi.nomenclature.models import Family
from orfi.patrimoine.models import Residence
from orfi.surveillance.models import ALL_FACTS, EarlyWarningStatus
from orfi.surveillance.rates import rates_sentence

#: Shown first: alerte, then vigilance.
_ORDER = {ALERTE: 0, VIGILANCE: 1}
#: Most résidences a landing band lists.
BAND_MAX = 20

STATUS_LABELS = {
    "alerte": "Alerte",
    "vigilance": "Vigilance",
    "normal": "Normal",
    "insuffisant": "Historique insuffisant",
}


@dataclass
class Line:
    """One résidence (all facts, or a family) in alerte or vigilance."""

    residence: Residence
    status: str
    phrase: str
    family: str = ""

    @property
    def label(self) -> str:
        """« Alerte » or « Vigilance »."""
        return STATUS_LABELS[self.status]


def latest_week(organisation_id: int, until: date | None = None) -> date | None:
    """Return the latest week computed for the bailleur (starting by ``until``)."""
    query = sa.select(sa.func.max(EarlyWarningStatus.week)).where(
        EarlyWarningStatus.organisation_id == organisation_id
    )
    if until is not None:
        query = query.where(EarlyWarningStatus.week <= until)
    return db.session.scalar(query)


def family_labels() -> dict[str, str]:
    """Family code → label."""
    return dict(db.session.execute(sa.select(Family.code, Family.label)).all())


def flagged(
    user: User, statuses=(ALERTE, VIGILANCE), limit: int = BAND_MAX
) -> tuple[date | None, list[Line]]:
    """Return the latest week and the résidences of ``user``'s perimeter in alerte or
    vigilance then (all facts, or a family when all facts are not), alerte first."""
    if user.organisation_id is None:
        return None, []
    residences = visible_residences(user).subquery()
    return perimeter_lines(
        user.organisation_id, sa.select(residences.c.id), statuses, limit
    )


def perimeter_lines(
    organisation_id: int,
    residence_ids: sa.Select,
    statuses=(ALERTE, VIGILANCE),
    limit: int = BAND_MAX,
    until: date | None = None,
) -> tuple[date | None, list[Line]]:
    """Return the bailleur's latest week computed (up to ``until``) and the lines of
    the résidences of ``residence_ids`` (a select of ids) in ``statuses`` then."""
    week = latest_week(organisation_id, until)
    if week is None:
        return None, []
    rows = db.session.execute(
        sa.select(EarlyWarningStatus, Residence)
        .join(Residence, Residence.id == EarlyWarningStatus.residence_id)
        .where(
            EarlyWarningStatus.organisation_id == organisation_id,
            EarlyWarningStatus.week == week,
            EarlyWarningStatus.status.in_(statuses),
            EarlyWarningStatus.residence_id.in_(residence_ids),
        )
    ).all()
    labels = family_labels()
    best: dict[int, Line] = {}
    for row, residence in sorted(
        rows,
        key=lambda pair: (_ORDER[pair[0].status], pair[0].family != ALL_FACTS),
    ):
        if residence.id in best:
            continue
        best[residence.id] = Line(
            residence,
            row.status,
            row.phrase,
            labels.get(row.family, row.family) if row.family else "",
        )
    lines = sorted(
        best.values(), key=lambda line: (_ORDER[line.status], line.residence.name)
    )
    return week, lines[:limit]


@dataclass
class ResidenceStatus:
    """A résidence's latest status: all facts, and its families out of the usual."""

    week: date
    main: EarlyWarningStatus
    families: list[tuple[str, EarlyWarningStatus]]

    @property
    def label(self) -> str:
        """The status in French."""
        return STATUS_LABELS.get(self.main.status, self.main.status)

    @property
    def reliability(self) -> str:
        """The measured error rates of the method, in words."""
        return rates_sentence(self.main.method, self.main.years)


def residence_status(residence_id: int) -> ResidenceStatus | None:
    """Return the résidence's status in the latest week computed for it."""
    week = db.session.scalar(
        sa.select(sa.func.max(EarlyWarningStatus.week)).where(
            EarlyWarningStatus.residence_id == residence_id
        )
    )
    if week is None:
        return None
    rows = list(
        db.session.scalars(
            sa.select(EarlyWarningStatus)
            .where(
                EarlyWarningStatus.residence_id == residence_id,
                EarlyWarningStatus.week == week,
            )
            .order_by(EarlyWarningStatus.family)
        )
    )
    main = next((r for r in rows if r.family == ALL_FACTS), None)
    if main is None:
        return None
    labels = family_labels()
    families = [
        (labels.get(r.family, r.family), r)
        for r in rows
        if r.family != ALL_FACTS and r.status in (ALERTE, VIGILANCE)
    ]
    return ResidenceStatus(week, main, families)


def stored_statuses(
    organisation_id: int, residence_ids: sa.Select, first: date, last: date
) -> pd.DataFrame:
    """The stored all-facts statuses of the résidences of ``residence_ids`` for the
    weeks ``first`` to ``last`` (Mondays): a table indexed by (week, résidence id)
    with ``status`` and ``computed_at``, as the patrol list reads it."""
    rows = db.session.execute(
        sa.select(
            EarlyWarningStatus.week,
            EarlyWarningStatus.residence_id,
            EarlyWarningStatus.status,
            EarlyWarningStatus.computed_at,
        ).where(
            EarlyWarningStatus.organisation_id == organisation_id,
            EarlyWarningStatus.family == ALL_FACTS,
            EarlyWarningStatus.week >= first,
            EarlyWarningStatus.week <= last,
            EarlyWarningStatus.residence_id.in_(residence_ids),
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["week", "place", "status", "computed_at"])
    frame["week"] = pd.to_datetime(frame["week"])
    return frame.set_index(["week", "place"]).sort_index()
