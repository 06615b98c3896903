"""Follow-up of a fact: actions with partners and the complaint details."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orfi.auth.models import User
from orfi.choices import Choice, enum_type
from orfi.database import utcnow
from orfi.extensions import db
from orfi.reports.models import STAFF_VICTIMS, Report


class ActionKind(Choice):
    SIGNALEMENT = ("signalement", "Signalement aux forces de l'ordre")
    DEMANDE_INTERVENTION = ("demande_intervention", "Demande d'intervention")
    PLAINTE_ACCOMPAGNEE = ("plainte_accompagnee", "Plainte accompagnée")
    REPONSE_RECUE = ("reponse_recue", "Réponse reçue")
    INSTANCE = ("instance", "Passage en GPO, CLSPD ou cellule de veille")
    AUTRE = ("autre", "Autre action")


#: Kinds that hand the fact over to a partner: a nouveau or qualifié fact becomes
#: transmis with the first of them.
TRANSMITTING_KINDS = frozenset(
    {
        ActionKind.SIGNALEMENT,
        ActionKind.DEMANDE_INTERVENTION,
        ActionKind.PLAINTE_ACCOMPAGNEE,
        ActionKind.INSTANCE,
    }
)


class Partner(Choice):
    POLICE_NATIONALE = ("police_nationale", "Police nationale")
    GENDARMERIE = ("gendarmerie", "Gendarmerie")
    POLICE_MUNICIPALE = ("police_municipale", "Police municipale")
    PREFECTURE = ("prefecture", "Préfecture")
    PARQUET = ("parquet", "Parquet ou magistrat référent")
    MAIRIE = ("mairie", "Mairie")
    AUTRE_BAILLEUR = ("autre_bailleur", "Autre bailleur")


class ComplaintKind(Choice):
    MAIN_COURANTE = ("main_courante", "Main courante")
    PLAINTE = ("plainte", "Plainte")


class ComplaintFiler(Choice):
    BAILLEUR = ("bailleur", "Le bailleur")
    VICTIME = ("victime", "La victime")


#: The category of outrages, the offences the TADPR fast track is meant for.
OUTRAGE_CATEGORY = "AP01"


class FollowupAction(db.Model):
    """One step of a fact's follow-up with a partner (police, parquet, mairie…)."""

    __tablename__ = "followup_action"
    __table_args__ = (
        sa.Index("ix_followup_action_report_done", "report_id", "done_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("report.id"))
    done_on: Mapped[date] = mapped_column(sa.Date)
    kind: Mapped[ActionKind] = mapped_column(enum_type(ActionKind))
    partner: Mapped[Partner | None] = mapped_column(enum_type(Partner))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )

    report: Mapped[Report] = relationship()
    author: Mapped[User] = relationship()


class Complaint(db.Model):
    """What was filed about a fact: main courante or plainte, by whom, its reference."""

    __tablename__ = "report_complaint"

    report_id: Mapped[int] = mapped_column(sa.ForeignKey("report.id"), primary_key=True)
    kind: Mapped[ComplaintKind] = mapped_column(enum_type(ComplaintKind))
    filed_by: Mapped[ComplaintFiler] = mapped_column(enum_type(ComplaintFiler))
    filed_on: Mapped[date | None] = mapped_column(sa.Date)
    # Procès-verbal or récépissé number given by the police, the gendarmerie or the
    # parquet; never a person's name.
    reference: Mapped[str] = mapped_column(sa.String(60), default="")
    # A sworn agent of the bailleur (agent assermenté) also wrote a procès-verbal.
    sworn_agent_pv: Mapped[bool] = mapped_column(default=False)
    updated_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    report: Mapped[Report] = relationship()


def tadpr_eligible(report: Report) -> bool:
    """Whether a fact may go to the fast track by a délégué du procureur (TADPR).

    It is meant for outrages to staff on a public-service mission: a staff victim, the
    mission de service public flag and the outrage category.
    """
    return bool(
        report.victime in STAFF_VICTIMS
        and report.mission_service_public
        and report.category.code == OUTRAGE_CATEGORY
    )
