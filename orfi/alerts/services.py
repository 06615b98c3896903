"""The alerts' pages: inbox, « Mes alertes » rules, the administrator's deliveries
page and test messages."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa

from orfi import limits
from orfi.auth.models import Role, User
from orfi.auth.perimeter import visible_residences
from orfi.database import utcnow
from orfi.errors import NotFound, ValidationError
from orfi.extensions import db
from orfi.nomenclature.models import Family
from orfi.notifications.models import (
    AlertDelivery,
    AlertEvent,
    AlertSubscription,
    Channel,
    DeliveryStatus,
    EventKind,
    InboxMessage,
    Rhythm,
)
from orfi.notifications.services import DEFAULT_RULES, Rule, rule_of
from orfi.patrimoine.models import Agence, Residence

logger = logging.getLogger(__name__)

#: Event kinds a user may choose, with their label in the settings.
CHOSEN_KINDS = (
    (EventKind.GRAVE.value, "Faits graves (à leur signalement ou dès qu'ils le sont)"),
    (EventKind.FILED.value, "Tout fait signalé"),
    (EventKind.STATUS.value, "Changements de statut"),
    (EventKind.ACTION.value, "Actions de suivi"),
    (EventKind.COMPLAINT.value, "Plaintes et mains courantes"),
    (EventKind.OVERDUE.value, "Faits graves sans action dans le délai"),
    (
        EventKind.EARLY_WARNING.value,
        "Alertes précoces (résidence où les faits sortent de l'habituel)",
    ),
)
#: Most rules a user may keep.
MAX_RULES = 20
#: Most résidences a rule may name.
MAX_RESIDENCES = 50


def unread_count(user: User) -> int:
    """Return how many inbox messages ``user`` has not read (one COUNT)."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(InboxMessage)
        .where(InboxMessage.user_id == user.id, InboxMessage.read_at.is_(None))
    )


def list_inbox(user: User, page: int, per_page: int = 30):
    """Return a page of ``user``'s inbox, newest first, with the events."""
    return db.paginate(
        sa.select(InboxMessage)
        .where(InboxMessage.user_id == user.id)
        .options(sa.orm.joinedload(InboxMessage.event))
        .order_by(InboxMessage.id.desc()),
        page=page,
        per_page=per_page,
        error_out=False,
        count=True,
    )


def mark_read(user: User, message_id: int | None = None) -> int:
    """Mark one of ``user``'s messages (or all, with None) as read; return how many.
    Another user's message (or none) raises NotFound."""
    if message_id is not None:
        message = db.session.get(InboxMessage, message_id)
        if message is None or message.user_id != user.id:
            raise NotFound("Message introuvable.")
    query = sa.update(InboxMessage).where(
        InboxMessage.user_id == user.id, InboxMessage.read_at.is_(None)
    )
    if message_id is not None:
        query = query.where(InboxMessage.id == message_id)
    return db.session.execute(query.values(read_at=utcnow())).rowcount


def list_subscriptions(user: User) -> list[AlertSubscription]:
    """Return ``user``'s own rules, oldest first (empty: the role's defaults)."""
    return list(
        db.session.scalars(
            sa.select(AlertSubscription)
            .where(AlertSubscription.user_id == user.id)
            .order_by(AlertSubscription.id)
        )
    )


def effective_rules(user: User) -> tuple[list[tuple[int | None, Rule]], bool]:
    """Return the rules in force for ``user`` (with their ids; None for defaults)
    and whether they are the role's defaults."""
    stored = list_subscriptions(user)
    if stored:
        return [(s.id, rule_of(s)) for s in stored], False
    return [(None, rule) for rule in DEFAULT_RULES.get(user.role, ())], True


@dataclass
class RuleInput:
    """A rule as submitted, parsed."""

    kinds: list[str] = field(default_factory=list)
    agence_id: int | None = None
    residences: str = ""
    families: list[str] = field(default_factory=list)
    min_gravity: int | None = None
    rhythm: str = ""
    channels: list[str] = field(default_factory=list)


def _residence_ids(user: User, text: str, errors: dict) -> list[int]:
    references = [part.strip() for part in text.replace(";", ",").split(",")]
    references = [r for r in references if r]
    if len(references) > MAX_RESIDENCES:
        errors["residences"] = [f"{MAX_RESIDENCES} résidences au plus."]
        return []
    if not references:
        return []
    found = dict(
        db.session.execute(
            visible_residences(user)
            .with_only_columns(Residence.reference, Residence.id)
            .where(Residence.reference.in_(references))
        ).all()
    )
    unknown = [r for r in references if r not in found]
    if unknown:
        errors["residences"] = [
            "Résidence inconnue ou hors de votre périmètre : " + ", ".join(unknown[:5])
        ]
    return sorted(set(found.values()))


def _check_agence(user: User, agence_id: int | None, errors: dict) -> None:
    if agence_id is None:
        return
    if user.role is Role.GARDIEN:
        errors["agence"] = ["Un gardien reçoit les alertes de ses propres faits."]
        return
    agence = db.session.get(Agence, agence_id)
    if (
        agence is None
        or agence.organisation_id != user.organisation_id
        or (user.agence_id is not None and user.agence_id != agence_id)
    ):
        errors["agence"] = ["Choisissez une agence de votre périmètre."]


def check_rule(user: User, data: RuleInput) -> tuple[dict, list[int]]:
    """Return the errors of a rule by field, and its résidences' ids."""
    errors: dict[str, list[str]] = {}
    allowed_kinds = {code for code, _label in CHOSEN_KINDS}
    if not data.kinds or not set(data.kinds) <= allowed_kinds:
        errors["kinds"] = ["Choisissez au moins un type d'événement."]
    if not data.channels or not {c for c in data.channels} <= set(Channel):
        errors["channels"] = ["Choisissez au moins un moyen de réception."]
    if Rhythm.parse(data.rhythm) is None:
        errors["rhythm"] = [
            "Choisissez le rythme : immédiat, quotidien ou hebdomadaire."
        ]
    if data.min_gravity is not None and not (
        limits.GRAVITY_MIN <= data.min_gravity <= limits.GRAVITY_MAX
    ):
        errors["min_gravity"] = ["La gravité va de 1 à 4."]
    known = set(db.session.scalars(sa.select(Family.code)))
    if not set(data.families) <= known:
        errors["families"] = ["Famille inconnue."]
    _check_agence(user, data.agence_id, errors)
    residence_ids = _residence_ids(user, data.residences, errors)
    return errors, residence_ids


def add_rule(user: User, data: RuleInput) -> AlertSubscription:
    """Add a rule to ``user``'s alerts (their first rule replaces the defaults)."""
    if user.role is Role.FEDERATION or user.organisation_id is None:
        raise ValidationError(
            {"kinds": ["Les fédérations ne reçoivent pas d'alertes."]}
        )
    errors, residence_ids = check_rule(user, data)
    if len(list_subscriptions(user)) >= MAX_RULES:
        errors.setdefault("kinds", []).append(f"{MAX_RULES} règles au plus.")
    if errors:
        raise ValidationError(errors)
    rule = AlertSubscription(
        user_id=user.id,
        kinds=sorted(set(data.kinds)),
        agence_id=data.agence_id,
        residence_ids=residence_ids,
        families=sorted(set(data.families)),
        min_gravity=data.min_gravity,
        rhythm=Rhythm(data.rhythm),
        channels=[c.value for c in Channel if c.value in set(data.channels)],
    )
    db.session.add(rule)
    db.session.flush()
    return rule


def rule_choices(user: User) -> tuple[list[tuple[int, str]], list[tuple[str, str]]]:
    """Return the agences (of the user's perimeter) and families a rule may name."""
    agences = db.session.scalars(
        sa.select(Agence)
        .where(Agence.organisation_id == user.organisation_id)
        .order_by(Agence.name)
    )
    families = db.session.scalars(sa.select(Family).order_by(Family.position))
    if user.role is Role.GARDIEN:
        agences = []  # a gardien's scope is their own facts
    return (
        [(a.id, a.name) for a in agences if user.agence_id in (None, a.id)],
        [(f.code, f"{f.code} · {f.label}") for f in families],
    )


def delete_rule(user: User, rule_id: int) -> None:
    """Delete one of ``user``'s rules (the last one gone: the defaults again)."""
    rule = db.session.get(AlertSubscription, rule_id)
    if rule is None or rule.user_id != user.id:
        raise NotFound("Règle introuvable.")
    db.session.delete(rule)
    db.session.flush()


def get_managed_user(admin: User, user_id: int) -> User:
    """Return a user of the administrator's bailleur, or raise NotFound."""
    user = db.session.get(User, user_id)
    if user is None or user.organisation_id != admin.organisation_id:
        raise NotFound("Utilisateur introuvable.")
    return user


def reset_rules(admin: User, user_id: int) -> User:
    """Delete a user's rules: their role's defaults apply again."""
    user = get_managed_user(admin, user_id)
    db.session.execute(
        sa.delete(AlertSubscription).where(AlertSubscription.user_id == user.id)
    )
    logger.info("Alertes de %s remises par défaut par %s", user.id, admin.id)
    return user


def rule_labels(rules: list[tuple[int | None, Rule]]) -> list[dict]:
    """Return rules as display values (kinds, scope, channels, rhythm)."""
    kind_labels = dict(CHOSEN_KINDS)
    agences = {
        a.id: a.name
        for a in db.session.scalars(
            sa.select(Agence).where(
                Agence.id.in_({r.agence_id for _i, r in rules if r.agence_id})
            )
        )
    }
    shown = []
    for rule_id, rule in rules:
        scope = "tout votre périmètre"
        if rule.agence_id:
            scope = f"agence {agences.get(rule.agence_id, '?')}"
        if rule.residence_ids:
            scope += f", {len(rule.residence_ids)} résidence(s)"
        shown.append(
            {
                "id": rule_id,
                "kinds": [kind_labels.get(k, k) for k in sorted(rule.kinds)],
                "scope": scope,
                "families": ", ".join(sorted(rule.families)) or "toutes",
                "min_gravity": rule.min_gravity,
                "rhythm": rule.rhythm.label,
                "channels": [c.label for c in rule.channels],
            }
        )
    return shown


def delivery_counts(organisation_id: int) -> dict[str, int]:
    """Return the number of the bailleur's outbox rows by status."""
    rows = db.session.execute(
        sa.select(AlertDelivery.status, sa.func.count())
        .join(AlertEvent, AlertEvent.id == AlertDelivery.event_id)
        .where(AlertEvent.organisation_id == organisation_id)
        .group_by(AlertDelivery.status)
    )
    return {status.value: count for status, count in rows}


def list_deliveries(organisation_id: int, status: DeliveryStatus | None, page: int):
    """Return a page of the bailleur's outbox rows (failures and pending first when
    asked), newest first."""
    query = (
        sa.select(AlertDelivery)
        .join(AlertEvent, AlertEvent.id == AlertDelivery.event_id)
        .where(AlertEvent.organisation_id == organisation_id)
        .options(
            sa.orm.contains_eager(AlertDelivery.event),
            sa.orm.joinedload(AlertDelivery.user),
        )
        .order_by(AlertDelivery.id.desc())
    )
    if status is not None:
        query = query.where(AlertDelivery.status == status)
    return db.paginate(query, page=page, per_page=50, error_out=False, count=True)


def send_test(user: User, channel: Channel) -> AlertEvent:
    """Put a test message to ``user`` on ``channel`` in the outbox (the inbox at
    once); the worker sends it like any alert."""
    now = utcnow()
    event = AlertEvent(
        kind="test",
        at=now,
        organisation_id=user.organisation_id,
        grave=False,
        actor_id=user.id,
        summary={
            "kind": "test",
            "reference": "TEST",
            "category": "message de test",
            "residence": "—",
            "gravity": None,
            "occurred_at": now.isoformat(),
            "at": now.isoformat(),
            "status": "",
            "detail": f"Canal : {channel.label}",
            "report_uuid": "",
        },
    )
    db.session.add(event)
    db.session.flush()
    if channel is Channel.INBOX:
        db.session.add(InboxMessage(event_id=event.id, user_id=user.id, created_at=now))
    else:
        db.session.add(
            AlertDelivery(
                event_id=event.id,
                user_id=user.id,
                channel=channel,
                rhythm=Rhythm.IMMEDIATE,
                created_at=now,
                due_at=now,
            )
        )
    db.session.flush()
    return event
