"""The record of each daily synthesis generated or sent (the bilan counts them)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from orfi.database import utcnow
from orfi.extensions import db


class Synthesis(db.Model):
    """One daily synthesis of a perimeter: an organisation, an agence or a federation.

    ``perimeter_key`` (``organisation:3``, ``agence:7``, ``federation:1``) makes one row
    per day and perimeter: generating the same synthesis again updates it.
    """

    __tablename__ = "synthesis"
    __table_args__ = (sa.UniqueConstraint("perimeter_key", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date)
    perimeter_key: Mapped[str] = mapped_column(sa.String(40))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id"), index=True
    )
    agence_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agence.id"))
    federation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("federation.id"), index=True
    )
    notable_count: Mapped[int] = mapped_column(default=0)
    generated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    recipients_count: Mapped[int] = mapped_column(default=0)
