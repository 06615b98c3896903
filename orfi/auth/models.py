"""People: user accounts, their roles and perimeters, and federations."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from orfi.choices import Choice, enum_type
from orfi.database import utcnow
from orfi.extensions import db
from orfi.patrimoine.models import Agence, Organisation, Residence


class Role(Choice):
    GARDIEN = ("gardien", "Gardien / agent de proximité")
    REFERENT = ("referent", "Référent sûreté")
    DIRECTION = ("direction", "Direction / chef d'agence")
    ADMIN = ("admin", "Administrateur")
    FEDERATION = ("federation", "Fédération")


#: Roles that read the whole organisation's facts (a direction user with an agence is
#: limited to it: that is a chef d'agence).
READERS = frozenset({Role.REFERENT, Role.DIRECTION, Role.ADMIN})


class Federation(db.Model):
    """The USH or one of its regional associations; sees aggregated data only."""

    __tablename__ = "federation"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # The region it covers; empty for the national federation.
    region: Mapped[str] = mapped_column(sa.String(100), default="")


user_residence = sa.Table(
    "user_residence",
    db.metadata,
    sa.Column(
        "user_id",
        sa.ForeignKey("user_account.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "residence_id",
        sa.ForeignKey("residence.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)


class User(UserMixin, db.Model):
    """A person who logs in. One role; one organisation, or one federation."""

    __tablename__ = "user_account"
    __table_args__ = (
        sa.CheckConstraint(
            "(organisation_id IS NULL) <> (federation_id IS NULL)",
            name="one_affiliation",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id"), index=True
    )
    federation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("federation.id"))
    # A chef d'agence: a direction user whose perimeter is one agence.
    agence_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agence.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    last_login_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    organisation: Mapped[Organisation | None] = relationship()
    federation: Mapped[Federation | None] = relationship()
    agence: Mapped[Agence | None] = relationship()
    # A gardien's sector: the résidences they file facts for.
    sector: Mapped[list[Residence]] = relationship(
        secondary=user_residence, order_by="Residence.name"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def set_password(self, password: str) -> None:
        """Store a salted hash of ``password`` (scrypt unless configured otherwise)."""
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        """Return whether ``password`` matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    @property
    def reads_organisation(self) -> bool:
        """Whether the user reads the organisation's (or agence's) facts."""
        return self.role in READERS
