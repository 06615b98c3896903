"""The patrimoine: bailleurs, their agences, résidences and bâtiments."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orfi.choices import Choice, enum_type
from orfi.database import utcnow
from orfi.extensions import db


class OrganisationKind(Choice):
    OPH = ("oph", "Office public de l'habitat (OPH)")
    ESH = ("esh", "Entreprise sociale pour l'habitat (ESH)")
    SEM = ("sem", "Société d'économie mixte (SEM)")
    COOPERATIVE = ("cooperative", "Coopérative HLM")


class Organisation(db.Model):
    """A bailleur social; facts, résidences and its users belong to one."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[OrganisationKind] = mapped_column(enum_type(OrganisationKind))
    region: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )

    agences: Mapped[list[Agence]] = relationship(
        back_populates="organisation", order_by="Agence.name"
    )

    def __repr__(self) -> str:
        return f"<Organisation {self.code}>"


class Agence(db.Model):
    """A local office of a bailleur; a chef d'agence's perimeter."""

    __tablename__ = "agence"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    name: Mapped[str] = mapped_column(sa.String(200))

    organisation: Mapped[Organisation] = relationship(back_populates="agences")


class Residence(db.Model):
    """A résidence (groupe, programme) with its position and QPV."""

    __tablename__ = "residence"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisation.id"), index=True
    )
    agence_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agence.id"), index=True
    )
    reference: Mapped[str] = mapped_column(sa.String(50))
    name: Mapped[str] = mapped_column(sa.String(200))
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    commune_insee: Mapped[str] = mapped_column(sa.String(5), default="")
    commune_name: Mapped[str] = mapped_column(sa.String(100), default="")
    logements: Mapped[int] = mapped_column(default=0)
    qpv_code: Mapped[str | None] = mapped_column(sa.String(12))
    qpv_generation: Mapped[str | None] = mapped_column(sa.String(4))
    latitude: Mapped[float] = mapped_column(sa.Float)
    longitude: Mapped[float] = mapped_column(sa.Float)
    # Optional outline as a GeoJSON geometry (WGS84), kept as text to stay portable.
    outline_geojson: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    organisation: Mapped[Organisation] = relationship()
    agence: Mapped[Agence | None] = relationship()
    batiments: Mapped[list[Batiment]] = relationship(
        back_populates="residence", order_by="Batiment.reference"
    )

    @property
    def label(self) -> str:
        """Name shown in lists: reference and name."""
        return f"{self.name} ({self.reference})"


class Batiment(db.Model):
    """A bâtiment or entrée of a résidence (optional detail)."""

    __tablename__ = "batiment"
    __table_args__ = (sa.UniqueConstraint("residence_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    residence_id: Mapped[int] = mapped_column(sa.ForeignKey("residence.id"))
    reference: Mapped[str] = mapped_column(sa.String(50))
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)

    residence: Mapped[Residence] = relationship(back_populates="batiments")


class ImportColumnMapping(db.Model):
    """The file columns a bailleur's administrator chose for each champ of an import,
    preselected at its next import (issue 12, point 8)."""

    __tablename__ = "import_column_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisation.id"), unique=True
    )
    #: {champ: column name}; an empty name: the champ is read from no column.
    columns: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
