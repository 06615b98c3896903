"""The security activity log: meetings with partners and interventions for bailleurs.

Each entry is owned by one organisation (its référent's log) or by one federation (its
chargé de mission's log); only the owner reads and edits it.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orfi.auth.models import Federation, User
from orfi.choices import Choice, enum_type
from orfi.database import utcnow
from orfi.extensions import db
from orfi.followup.models import Partner
from orfi.patrimoine.models import Organisation, Residence
from orfi.reports.models import Report


class MeetingKind(Choice):
    # In the order of the mission's yearly report.
    POLITIQUE_VILLE = ("politique_ville", "Politique de la ville")
    SECURITE = ("securite", "Sécurité en préfecture")
    CLSPD = ("clspd", "CLSPD, cellule de veille")
    GPO = ("gpo", "Groupe de partenariat opérationnel (GPO)")
    VIDEOPROTECTION = ("videoprotection", "Commission de vidéoprotection")
    SQUATS = ("squats", "Squats")
    AUTRE = ("autre", "Autre réunion")


def _one_owner() -> sa.CheckConstraint:
    return sa.CheckConstraint(
        "(organisation_id IS NULL) <> (federation_id IS NULL)", name="one_owner"
    )


meeting_organisation = sa.Table(
    "meeting_organisation",
    db.metadata,
    sa.Column(
        "meeting_id", sa.ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "organisation_id",
        sa.ForeignKey("organisation.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

meeting_residence = sa.Table(
    "meeting_residence",
    db.metadata,
    sa.Column(
        "meeting_id", sa.ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "residence_id",
        sa.ForeignKey("residence.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

intervention_report = sa.Table(
    "intervention_report",
    db.metadata,
    sa.Column(
        "intervention_id",
        sa.ForeignKey("partner_intervention.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # Indexed on its own: deleting facts checks this column for every deleted row.
    sa.Column(
        "report_id",
        sa.ForeignKey("report.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class Meeting(db.Model):
    """A meeting a référent or a chargé de mission took part in."""

    __tablename__ = "meeting"
    __table_args__ = (
        _one_owner(),
        sa.Index("ix_meeting_org_held", "organisation_id", "held_on"),
        sa.Index("ix_meeting_fed_held", "federation_id", "held_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id")
    )
    federation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("federation.id"))
    held_on: Mapped[date] = mapped_column(sa.Date)
    kind: Mapped[MeetingKind] = mapped_column(enum_type(MeetingKind))
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    # Partner codes (``Partner`` values), in the order they were chosen.
    partners: Mapped[list] = mapped_column(sa.JSON, default=list)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )

    organisation: Mapped[Organisation | None] = relationship()
    federation: Mapped[Federation | None] = relationship()
    created_by: Mapped[User] = relationship()
    bailleurs: Mapped[list[Organisation]] = relationship(
        secondary=meeting_organisation, order_by="Organisation.name"
    )
    residences: Mapped[list[Residence]] = relationship(
        secondary=meeting_residence, order_by="Residence.name"
    )

    @property
    def partner_labels(self) -> list[str]:
        """The partners' French labels."""
        return [p.label for code in self.partners if (p := Partner.parse(code))]


class PartnerIntervention(db.Model):
    """An action made for a bailleur with the police, gendarmerie or préfecture."""

    __tablename__ = "partner_intervention"
    __table_args__ = (
        _one_owner(),
        sa.Index("ix_partner_intervention_org_done", "organisation_id", "done_on"),
        sa.Index("ix_partner_intervention_fed_done", "federation_id", "done_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id")
    )
    federation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("federation.id"))
    # The bailleur the action was made for.
    beneficiary_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisation.id"), index=True
    )
    done_on: Mapped[date] = mapped_column(sa.Date)
    partner: Mapped[Partner] = mapped_column(enum_type(Partner))
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    residence_id: Mapped[int | None] = mapped_column(sa.ForeignKey("residence.id"))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )

    organisation: Mapped[Organisation | None] = relationship(
        foreign_keys=[organisation_id]
    )
    federation: Mapped[Federation | None] = relationship()
    beneficiary: Mapped[Organisation] = relationship(foreign_keys=[beneficiary_id])
    residence: Mapped[Residence | None] = relationship()
    created_by: Mapped[User] = relationship()
    reports: Mapped[list[Report]] = relationship(
        secondary=intervention_report, order_by="Report.occurred_at"
    )
