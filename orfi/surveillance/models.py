"""Stored early-warning results and the record of each run (issue 14).

- ``early_warning_status``: one row per résidence × week × family of facts (``family``
  is ``""`` for all facts): the status of :func:`orfi.earlywarning.unit_statuses`, its
  figures and its sentence. Computing a week again updates its rows in place.
- ``early_warning_run``: one row per computation. A scheduled run carries
  ``scheduled_key`` (``weekly:ORG:WEEK``, unique), so that of several workers only
  one computes a bailleur's week; a run asked from the page (« Recalculer ») has none
  and waits, ``started_at`` empty, for the worker. It also records the categories
  where the Knox test found near-repeat (``near_repeat``), which the patrol sheet
  reads.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from orfi.database import utcnow
from orfi.extensions import db

#: ``family`` of the rows that count all facts of the résidence.
ALL_FACTS = ""


class EarlyWarningStatus(db.Model):
    """The status of one résidence (all facts, or one family) in one week."""

    __tablename__ = "early_warning_status"
    __table_args__ = (
        sa.UniqueConstraint("residence_id", "week", "family"),
        # The pages: a perimeter's latest week, its résidences in alerte/vigilance.
        sa.Index("ix_early_warning_status_org_week", "organisation_id", "week"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    residence_id: Mapped[int] = mapped_column(
        sa.ForeignKey("residence.id", ondelete="CASCADE")
    )
    #: The Monday of the ISO week (Europe/Paris).
    week: Mapped[date] = mapped_column(sa.Date)
    #: Family code (AP, AB...), or ALL_FACTS.
    family: Mapped[str] = mapped_column(sa.String(8), default=ALL_FACTS)
    #: normal, vigilance, alerte or insuffisant.
    status: Mapped[str] = mapped_column(sa.String(16))
    observed: Mapped[int] = mapped_column(default=0)
    expected: Mapped[float | None] = mapped_column(sa.Float)
    low: Mapped[float | None] = mapped_column(sa.Float)
    high: Mapped[float | None] = mapped_column(sa.Float)
    threshold: Mapped[float | None] = mapped_column(sa.Float)
    #: farrington, cusum, or None (insuffisant).
    method: Mapped[str | None] = mapped_column(sa.String(16))
    #: Past years of Farrington's baseline (None for the CUSUM).
    years: Mapped[int | None] = mapped_column(sa.SmallInteger)
    phrase: Mapped[str] = mapped_column(sa.String(200), default="")
    computed_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    #: The alarm's event (on the all-facts row): set once, never sent twice.
    event_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("alert_event.id", ondelete="SET NULL")
    )


class EarlyWarningRun(db.Model):
    """One computation of a bailleur's week: scheduled, or asked from the page."""

    __tablename__ = "early_warning_run"
    __table_args__ = (
        sa.Index("ix_early_warning_run_pending", "started_at", "organisation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE")
    )
    week: Mapped[date] = mapped_column(sa.Date)
    #: ``weekly:ORG:WEEK`` for the scheduled run (unique), None for a request.
    scheduled_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    requested_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    units: Mapped[int] = mapped_column(default=0)
    alarms: Mapped[int] = mapped_column(default=0)
    seconds: Mapped[float | None] = mapped_column(sa.Float)
    error: Mapped[str] = mapped_column(sa.String(300), default="")
    #: Category ids where the Knox test found near-repeat (a significant cell) over
    #: the 26 weeks ending with ``week``; None when not computed (docs/early-warning).
    near_repeat: Mapped[list | None] = mapped_column(sa.JSON)
