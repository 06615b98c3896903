"""Photos of facts: re-encoded files under the photo folder, described here."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orfi import limits
from orfi.auth.models import User
from orfi.database import utcnow
from orfi.extensions import db
from orfi.reports.models import Report

#: Photos a fact may carry; the check constraint below enforces it in the database.
MAX_PHOTOS = limits.PHOTOS_MAX


class Photo(db.Model):
    """One photo of a fact, stripped of its metadata and re-encoded as JPEG.

    ``uuid`` is chosen by the client (like a fact's), so that a photo resent after a
    lost answer is stored once. ``position`` (1 to 3, unique per fact) keeps the limit
    of three photos true even when two uploads race.
    """

    __tablename__ = "photo"
    __table_args__ = (
        sa.UniqueConstraint("report_id", "position"),
        sa.CheckConstraint(
            f"position BETWEEN 1 AND {MAX_PHOTOS}", name="position_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(sa.Uuid, unique=True, default=uuid.uuid4)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("report.id"))
    position: Mapped[int] = mapped_column(sa.SmallInteger)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    size_bytes: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )

    report: Mapped[Report] = relationship()
    uploaded_by: Mapped[User] = relationship()
