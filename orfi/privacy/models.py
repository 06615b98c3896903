"""Privacy: the access log and the record of facts anonymised by ``orfi purge``."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orfi.auth.models import User
from orfi.choices import Choice, enum_type
from orfi.database import utcnow
from orfi.extensions import db


class AccessAction(Choice):
    VIEW = ("view", "Consultation")
    DOWNLOAD_PHOTO = ("download-photo", "Photo téléchargée")
    EXPORT = ("export", "Export")
    API_READ = ("api-read", "Lecture par l'API")
    PURGE = ("purge", "Purge (durées de conservation)")


class RetentionRule(Choice):
    """The rule that set how long a fact kept its free text (docs/privacy.md)."""

    SANS_SUITE = ("sans_suite", "Clos sans suite")
    BAIL = ("bail", "Action liée au bail")
    CONTRAVENTION = ("contravention", "Contravention")
    DELIT = ("delit", "Délit")
    CRIME = ("crime", "Crime")


class AccessLogEntry(db.Model):
    """Who read or exported what, when (and from which address).

    Each entry belongs to one log: the organisation's of the user (a bailleur's
    administrators read it) or the federation's (read with ``orfi access-log``).
    ``user_id`` is empty for the lines ``orfi purge`` writes about its own work.
    """

    __tablename__ = "access_log"
    __table_args__ = (
        sa.CheckConstraint(
            "(organisation_id IS NULL) <> (federation_id IS NULL)", name="one_owner"
        ),
        sa.Index("ix_access_log_org_at", "organisation_id", "at"),
        sa.Index("ix_access_log_fed_at", "federation_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, index=True
    )
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id")
    )
    federation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("federation.id"))
    action: Mapped[AccessAction] = mapped_column(enum_type(AccessAction))
    # What was read: "report", "photo", "reports", "statistics", "federation"...
    object_type: Mapped[str] = mapped_column(sa.String(20))
    # A fact's reference (TMH-2026-000123), never its content.
    object_ref: Mapped[str] = mapped_column(sa.String(64), default="")
    # Format, filters and row count of an export; the counts of a purge.
    detail: Mapped[str] = mapped_column(sa.String(300), default="")
    ip: Mapped[str | None] = mapped_column(sa.String(45))

    user: Mapped[User | None] = relationship()


class ReportAnonymisation(db.Model):
    """A fact whose description, photos, notes and precise position were erased."""

    __tablename__ = "report_anonymisation"

    report_id: Mapped[int] = mapped_column(
        sa.ForeignKey("report.id", ondelete="CASCADE"), primary_key=True
    )
    anonymised_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    rule: Mapped[RetentionRule] = mapped_column(enum_type(RetentionRule))
