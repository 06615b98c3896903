"""Facts (signalements) and their history."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orfi.auth.models import User
from orfi.choices import Choice, enum_type
from orfi.database import utcnow
from orfi.extensions import db
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Batiment, Organisation, Residence
from orfi.reports import search_index


class Status(Choice):
    NOUVEAU = ("nouveau", "Nouveau")
    QUALIFIE = ("qualifie", "Qualifié")
    TRANSMIS = ("transmis", "Transmis")
    CLOS = ("clos", "Clos")


#: The conditions of the partial indexes of the facts that may be late (the queries
#: state them with the same constants: orfi.reports.queries).
OPEN_GRAVE = "gravity >= 3 AND status != 'clos'"
HAS_NEXT_STEP = "next_step_on IS NOT NULL"
#: Every column the test of an open grave fact reads: the index alone answers it.
OPEN_GRAVE_COLUMNS = (
    "organisation_id",
    "created_at",
    "next_step_on",
    "duplicate_of_id",
    "gravity",
    "status",
)


class LocationSource(Choice):
    GPS = ("gps", "Position GPS du téléphone")
    MAP = ("map", "Épingle placée sur la carte")
    RESIDENCE = ("residence", "Position de la résidence choisie")


class Lieu(Choice):
    HALL = ("hall", "Hall d'entrée")
    ESCALIER = ("escalier", "Cage d'escalier, palier")
    ASCENSEUR = ("ascenseur", "Ascenseur")
    CAVE = ("cave", "Cave, sous-sol")
    PARKING_SOUTERRAIN = ("parking_souterrain", "Parking souterrain")
    PARKING_AERIEN = ("parking_aerien", "Parking aérien")
    LOCAL_POUBELLES = ("local_poubelles", "Local poubelles")
    LOCAL_VELOS = ("local_velos", "Local vélos")
    TOITURE = ("toiture", "Toiture, terrasse")
    ABORDS = ("abords", "Espaces extérieurs, abords")
    LOGE = ("loge", "Loge ou bureau du gardien")
    AGENCE = ("agence", "Agence")
    LOGEMENT = ("logement", "Logement")


class Victime(Choice):
    AUCUNE = ("aucune", "Aucune (bien seulement)")
    PERSONNEL_BAILLEUR = ("personnel_bailleur", "Personnel du bailleur")
    PERSONNEL_PRESTATAIRE = ("personnel_prestataire", "Personnel d'un prestataire")
    LOCATAIRE = ("locataire", "Locataire")
    TIERS = ("tiers", "Tiers")


STAFF_VICTIMS = frozenset({Victime.PERSONNEL_BAILLEUR, Victime.PERSONNEL_PRESTATAIRE})


class Suite(Choice):
    AUCUNE = ("aucune", "Aucune")
    MAIN_COURANTE = ("main_courante", "Main courante")
    PLAINTE_BAILLEUR = ("plainte_bailleur", "Plainte déposée par le bailleur")
    PLAINTE_VICTIME = ("plainte_victime", "Plainte déposée par la victime")
    PROCES_VERBAL = ("proces_verbal", "Procès-verbal d'un agent assermenté")
    SIGNALEMENT_PROCUREUR = ("signalement_procureur", "Signalement au procureur")


class Intervention(Choice):
    AUCUNE = ("aucune", "Aucune")
    POLICE_NATIONALE = ("police_nationale", "Police nationale")
    GENDARMERIE = ("gendarmerie", "Gendarmerie")
    POLICE_MUNICIPALE = ("police_municipale", "Police municipale")


GRAVITY_LABELS = {
    1: "1 · Vert : acte isolé",
    2: "2 · Jaune : récurrent",
    3: "3 · Orange : activité délinquante installée",
    4: "4 · Rouge : danger grave",
}


_STATS_FILTERS = (
    "duplicate_of_id", "category_id", "residence_id", "lieu", "occurred_hour", "status",
)  # fmt: skip


class Report(db.Model):
    """A fact of incivility or insecurity, filed by a user on a résidence.

    ``occurred_at`` is stored in UTC; the Europe/Paris calendar parts (month, weekday,
    hour) and the H3 cells are derived once at write time so that statistics can group
    in the database instead of loading every fact into Python.
    """

    __tablename__ = "report"
    __table_args__ = (
        sa.CheckConstraint("gravity BETWEEN 1 AND 4", name="gravity_range"),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        sa.Index("ix_report_author_created", "author_id", "created_at"),
        # Covering indexes of the map and statistics queries: the organisation, then
        # the grouped columns, then every filter column (migration 0003 explains why).
        sa.Index(
            "ix_report_stats_time", "organisation_id", "occurred_at", *_STATS_FILTERS
        ),
        sa.Index(
            "ix_report_stats_h3",
            "organisation_id",
            "h3_r9",
            "occurred_at",
            *_STATS_FILTERS,
        ),
        sa.Index(
            "ix_report_stats_nature",
            "organisation_id",
            "category_id",
            "lieu",
            "victime",
            "suite",
            "occurred_at",
            "duplicate_of_id",
            "residence_id",
            "occurred_hour",
            "status",
        ),  # fmt: skip
        sa.Index(
            "ix_report_stats_residence",
            "organisation_id",
            "residence_id",
            "category_id",
            "occurred_at",
            "duplicate_of_id",
            "lieu",
            "occurred_hour",
            "status",
        ),  # fmt: skip
        # The work queue (docs/work-queue.md): « Mes faits à traiter », then its sorts.
        sa.Index("ix_report_assignee", "assignee_id", "next_step_on"),
        sa.Index(
            "ix_report_queue_gravity", "organisation_id", "gravity", "occurred_at"
        ),
        sa.Index("ix_report_queue_status", "organisation_id", "status", "occurred_at"),
        # A résidence's facts by date: the list sorted by résidence, read one
        # résidence at a time (and the foreign key's index).
        sa.Index("ix_report_residence_date", "residence_id", "occurred_at"),
        # Partial: the facts that can be late or overdue (« en retard », « Suivi »,
        # the alerts' scan: orfi.reports.queries late_ids), a few per cent of them.
        sa.Index(
            "ix_report_open_grave",
            *OPEN_GRAVE_COLUMNS,
            sqlite_where=sa.text(OPEN_GRAVE),
            postgresql_where=sa.text(OPEN_GRAVE),
            postgresql_include=["id"],  # SQLite's indexes hold the rowid already
        ),
        sa.Index(
            "ix_report_next_step",
            "organisation_id",
            "next_step_on",
            sqlite_where=sa.text(HAS_NEXT_STEP),
            postgresql_where=sa.text(HAS_NEXT_STEP),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(sa.Uuid, unique=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    residence_id: Mapped[int] = mapped_column(sa.ForeignKey("residence.id"))
    batiment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batiment.id"))
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("category.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))

    occurred_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    # Europe/Paris calendar parts of occurred_at: YYYYMM, 0 = Monday, 0–23.
    occurred_month: Mapped[int] = mapped_column(sa.Integer)
    occurred_weekday: Mapped[int] = mapped_column(sa.SmallInteger)
    occurred_hour: Mapped[int] = mapped_column(sa.SmallInteger)

    latitude: Mapped[float] = mapped_column(sa.Float)
    longitude: Mapped[float] = mapped_column(sa.Float)
    gps_accuracy_m: Mapped[float | None] = mapped_column(sa.Float)
    location_source: Mapped[LocationSource] = mapped_column(enum_type(LocationSource))
    # H3 cells (as 64-bit integers) at a district and a street-block resolution.
    h3_r7: Mapped[int] = mapped_column(sa.BigInteger)
    h3_r9: Mapped[int] = mapped_column(sa.BigInteger)

    lieu: Mapped[Lieu | None] = mapped_column(enum_type(Lieu))
    victime: Mapped[Victime | None] = mapped_column(enum_type(Victime))
    # For staff victims only.
    arret_travail_jours: Mapped[int | None] = mapped_column(sa.Integer)
    mission_service_public: Mapped[bool] = mapped_column(default=False)
    suite: Mapped[Suite | None] = mapped_column(enum_type(Suite))
    intervention: Mapped[Intervention | None] = mapped_column(enum_type(Intervention))
    damage_cost_eur: Mapped[int | None] = mapped_column(sa.Integer)
    gravity: Mapped[int | None] = mapped_column(sa.SmallInteger)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[Status] = mapped_column(enum_type(Status), default=Status.NOUVEAU)
    # Set when a référent marks this fact as a duplicate of another: it then leaves the
    # statistics, maps and exports (see ``counted_reports``).
    duplicate_of_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("report.id"), index=True
    )
    # The work queue: the référent who took the fact (« pris en charge par », of the
    # fact's bailleur) and the day of its next step (Europe/Paris), both optional.
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    next_step_on: Mapped[date | None] = mapped_column(sa.Date)

    organisation: Mapped[Organisation] = relationship()
    residence: Mapped[Residence] = relationship()
    batiment: Mapped[Batiment | None] = relationship()
    category: Mapped[Category] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    duplicate_of: Mapped[Report | None] = relationship(remote_side="Report.id")
    events: Mapped[list[ReportEvent]] = relationship(
        back_populates="report", order_by="ReportEvent.id"
    )


class ReportEvent(db.Model):
    """One change to a fact: who, when, and the fields before and after."""

    __tablename__ = "report_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("report.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    # "updated" or "addition" (another filer's complement, "Déjà signalé ?"); the
    # creation is the fact's own row (author, created_at). Before migration 0010, also
    # "created".
    kind: Mapped[str] = mapped_column(sa.String(16))
    # {field: [before, after]} as display-ready codes.
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    comment: Mapped[str] = mapped_column(sa.String(500), default="")
    # Client-chosen id of an addition, so that an addition resent after a lost answer
    # is recorded once (like a fact's ``uuid``).
    client_uuid: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, unique=True)

    report: Mapped[Report] = relationship(back_populates="events")
    user: Mapped[User] = relationship()


class ReferenceCounter(db.Model):
    """Last fact number of an organisation in a year (``TMH-2026-000123``)."""

    __tablename__ = "reference_counter"

    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisation.id"), primary_key=True
    )
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


# The full-text index follows create_all and drop_all (tests; migrations create it).
search_index.install(db.metadata)
