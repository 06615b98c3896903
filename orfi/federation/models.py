"""Statistics files imported from bailleurs that run their own instance of orfi."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orfi.choices import enum_type
from orfi.database import utcnow
from orfi.extensions import db
from orfi.patrimoine.models import OrganisationKind
from orfi.reports.models import Report

#: Covering index of the federation's counts (``native_rows``): the GROUP BY on
#: organisation, month, résidence and category reads it alone, in order, with no
#: table access and no sort (1e6 facts on SQLite: from 15 s to well under a second).
#: Declared here, on the report table, because the federation feature owns it.
REPORT_FEDERATION_INDEX = sa.Index(
    "ix_report_federation",
    Report.organisation_id,
    Report.occurred_month,
    Report.residence_id,
    Report.category_id,
    Report.duplicate_of_id,
)


class FederationImport(db.Model):
    """One bailleur's federation file for one period (months ``YYYYMM``, inclusive).

    A bailleur has at most one import per period: importing the same bailleur and
    period again replaces it; periods of one bailleur never overlap.
    """

    __tablename__ = "federation_import"
    __table_args__ = (
        sa.UniqueConstraint("bailleur_code", "period_from", "period_to"),
        sa.CheckConstraint("period_from <= period_to", name="period_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bailleur_code: Mapped[str] = mapped_column(sa.String(12), index=True)
    bailleur_name: Mapped[str] = mapped_column(sa.String(200))
    bailleur_kind: Mapped[OrganisationKind] = mapped_column(enum_type(OrganisationKind))
    bailleur_region: Mapped[str] = mapped_column(sa.String(100), default="")
    period_from: Mapped[int] = mapped_column(sa.Integer)
    period_to: Mapped[int] = mapped_column(sa.Integer)
    format_version: Mapped[str] = mapped_column(sa.String(10))
    min_count: Mapped[int] = mapped_column(sa.Integer)
    generated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    imported_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    # Who imported it from the web; empty for the command line.
    imported_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    fact_count: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))

    rows: Mapped[list[FederationRow]] = relationship(
        back_populates="source", cascade="all, delete-orphan", passive_deletes=True
    )


class FederationRow(db.Model):
    """One row of an imported file (see orfi.federation.rollup.StatRow)."""

    __tablename__ = "federation_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(
        sa.ForeignKey("federation_import.id", ondelete="CASCADE"), index=True
    )
    commune_insee: Mapped[str | None] = mapped_column(sa.String(5))
    commune_name: Mapped[str | None] = mapped_column(sa.String(100))
    qpv_code: Mapped[str | None] = mapped_column(sa.String(12))
    qpv_generation: Mapped[str | None] = mapped_column(sa.String(4))
    family_code: Mapped[str | None] = mapped_column(sa.String(4))
    category_code: Mapped[str | None] = mapped_column(sa.String(8))
    # YYYYMM; None on sector rows and on the unlocated row.
    month: Mapped[int | None] = mapped_column(sa.Integer)
    count: Mapped[int] = mapped_column(sa.Integer)
    logements: Mapped[int] = mapped_column(sa.Integer)

    source: Mapped[FederationImport] = relationship(back_populates="rows")
