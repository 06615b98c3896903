"""Alert events, their outbox rows (one per recipient and channel), the in-app inbox
and the users' subscriptions (issue 11)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orfi.auth.models import User
from orfi.choices import Choice, enum_type
from orfi.database import utcnow
from orfi.extensions import db


class EventKind(Choice):
    """What happened. Stored as a plain string: later issues add kinds (an alarm on a
    résidence, with no fact) without a migration."""

    FILED = ("filed", "Fait signalé")
    GRAVE = ("grave", "Fait grave")
    STATUS = ("status", "Changement de statut")
    ACTION = ("action", "Action de suivi")
    COMPLAINT = ("complaint", "Plainte ou main courante")
    OVERDUE = ("overdue", "Fait grave sans suite dans le délai")
    # An alarm on a résidence, of no fact (orfi.surveillance, issue 14).
    EARLY_WARNING = ("early_warning", "Alerte précoce sur une résidence")


class Channel(Choice):
    EMAIL = ("email", "E-mail")
    PUSH = ("push", "Notification sur le téléphone")
    INBOX = ("inbox", "Messagerie d'orfi")


class Rhythm(Choice):
    IMMEDIATE = ("immediate", "Immédiat")
    DAILY = ("daily", "Résumé quotidien")
    WEEKLY = ("weekly", "Résumé hebdomadaire")


class DeliveryStatus(Choice):
    PENDING = ("pending", "En attente")
    DELIVERED = ("delivered", "Remis")
    SKIPPED = ("skipped", "Sans objet (aucun appareil)")
    FAILED = ("failed", "Échec définitif")


class AlertEvent(db.Model):
    """Something that happened, with what a message may name of it (never the
    description, comments, victims or people)."""

    __tablename__ = "alert_event"
    __table_args__ = (sa.Index("ix_alert_event_kind_report", "kind", "report_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    # Null for events of no fact (the early-warning alarms of a later issue).
    report_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("report.id", ondelete="CASCADE")
    )
    residence_id: Mapped[int | None] = mapped_column(sa.ForeignKey("residence.id"))
    grave: Mapped[bool] = mapped_column(default=False)
    # Who made the change (never told of it); null for the worker's scans.
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # What a message may say: reference, category, résidence, gravity, time, status,
    # the fact's UUID for its link.
    summary: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class AlertDelivery(db.Model):
    """One message of an event to one user on one channel: the outbox row the worker
    claims (``claimed_until``, a lease), sends, then marks delivered."""

    __tablename__ = "alert_delivery"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "user_id", "channel"),
        # The worker's claim: due rows of a status, soonest first.
        sa.Index("ix_alert_delivery_due", "status", "due_at"),
        sa.Index("ix_alert_delivery_user", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("alert_event.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE")
    )
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    rhythm: Mapped[Rhythm] = mapped_column(enum_type(Rhythm))
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_type(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    # Not before: the digest's time, or the next try after a failure.
    due_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    claim: Mapped[str | None] = mapped_column(sa.String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.String(300), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    event: Mapped[AlertEvent] = relationship()
    user: Mapped[User] = relationship()


class InboxMessage(db.Model):
    """An event in a user's in-app inbox, written with the event (exactly once)."""

    __tablename__ = "inbox_message"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "user_id"),
        # The bell's COUNT of unread messages.
        sa.Index("ix_inbox_message_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("alert_event.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    read_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    event: Mapped[AlertEvent] = relationship()


class AlertSubscription(db.Model):
    """One rule of what reaches a user and how. A user without rules gets their role's
    defaults (:data:`orfi.notifications.services.DEFAULT_RULES`); an administrator's
    reset deletes the rules. The scope is always cut to what the user may read."""

    __tablename__ = "alert_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    # Event kinds (EventKind codes); "grave" also matches a grave fact when filed.
    kinds: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Empty: the user's whole perimeter.
    agence_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agence.id", ondelete="CASCADE")
    )
    residence_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Family codes (AP, AB...) and category codes (AP04...); empty: all.
    families: Mapped[list] = mapped_column(sa.JSON, default=list)
    min_gravity: Mapped[int | None] = mapped_column(sa.SmallInteger)
    rhythm: Mapped[Rhythm] = mapped_column(enum_type(Rhythm))
    channels: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
