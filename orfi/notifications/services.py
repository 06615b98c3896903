"""Recording an event and fanning it out to its recipients' outbox, in the caller's
transaction (issue 11).

The services that change a fact (orfi.reports, orfi.followup) call :func:`record_event`
with plain values (this package sits below them): the event, one inbox message per
recipient and one outbox row per recipient and channel (e-mail, push) are flushed in
the same transaction as the change. The worker (orfi.alerts) sends the outbox rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from orfi.auth.models import Role, User
from orfi.database import utcnow
from orfi.extensions import db
from orfi.notifications.models import (
    AlertDelivery,
    AlertEvent,
    AlertSubscription,
    Channel,
    EventKind,
    InboxMessage,
    Rhythm,
)
from orfi.timezone import from_local, to_local

logger = logging.getLogger(__name__)

#: Local hour at which daily and weekly digests are due (weekly: on Mondays).
DIGEST_HOUR = 7


@dataclass(frozen=True)
class FactValues:
    """What an event needs to know of a fact, passed by value (no import of reports)."""

    organisation_id: int
    reference: str
    residence_id: int | None
    residence_name: str
    agence_id: int | None
    category_code: str
    category_label: str
    gravity: int | None
    occurred_at: datetime | None
    # The fact's author (a gardien is told of their own facts only).
    author_id: int | None = None
    report_id: int | None = None
    report_uuid: str = ""
    staff_victim: bool = False
    immediate_category: bool = False
    status: str = ""


@dataclass(frozen=True)
class Rule:
    """A subscription rule, stored (AlertSubscription) or a role's default."""

    kinds: frozenset[str]
    rhythm: Rhythm
    channels: tuple[Channel, ...]
    agence_id: int | None = None
    residence_ids: frozenset[int] = frozenset()
    families: frozenset[str] = frozenset()
    min_gravity: int | None = None


_ALL = (Channel.EMAIL, Channel.PUSH, Channel.INBOX)

#: What reaches a user who chose nothing (an administrator's reset comes back here).
DEFAULT_RULES: dict[Role, tuple[Rule, ...]] = {
    Role.REFERENT: (
        Rule(frozenset({"grave", "overdue", "early_warning"}), Rhythm.IMMEDIATE, _ALL),
    ),
    Role.DIRECTION: (
        Rule(
            frozenset({"grave", "overdue", "early_warning"}),
            Rhythm.DAILY,
            (Channel.EMAIL, Channel.INBOX),
        ),
    ),
    Role.GARDIEN: (
        Rule(frozenset({"status"}), Rhythm.IMMEDIATE, (Channel.PUSH, Channel.INBOX)),
    ),
    Role.ADMIN: (),
    Role.FEDERATION: (),
}

#: A gardien hears of these statuses of their own facts (qualifié, transmis, clos).
GARDIEN_STATUSES = frozenset({"qualifie", "transmis", "clos"})

_RHYTHM_ORDER = {Rhythm.IMMEDIATE: 0, Rhythm.DAILY: 1, Rhythm.WEEKLY: 2}


def is_grave(gravity: int | None, staff_victim: bool, immediate_category: bool) -> bool:
    """Whether a fact is grave: gravity at or above ORFI_ALERT_MIN_GRAVITY, a member of
    staff as victim, or a category marked « alerte immédiate »."""
    threshold = int(current_app.config["ORFI_ALERT_MIN_GRAVITY"])
    return (
        (gravity is not None and gravity >= threshold)
        or staff_victim
        or immediate_category
    )


def rule_of(subscription: AlertSubscription) -> Rule:
    """Return a stored subscription as a rule."""
    return Rule(
        kinds=frozenset(subscription.kinds or ()),
        rhythm=subscription.rhythm,
        channels=tuple(Channel(c) for c in subscription.channels or ()),
        agence_id=subscription.agence_id,
        residence_ids=frozenset(subscription.residence_ids or ()),
        families=frozenset(subscription.families or ()),
        min_gravity=subscription.min_gravity,
    )


def rules_for(user: User, stored: list[AlertSubscription]) -> tuple[Rule, ...]:
    """Return the rules of ``user``: their own, or their role's defaults."""
    if stored:
        return tuple(rule_of(s) for s in stored)
    return DEFAULT_RULES.get(user.role, ())


def may_hear_of(user: User, fact: FactValues) -> bool:
    """Whether ``user`` may read the fact (never more than their perimeter): the same
    bailleur; a gardien their own facts; a chef d'agence their agence's."""
    if user.organisation_id != fact.organisation_id or user.role is Role.FEDERATION:
        return False
    if user.role is Role.GARDIEN:
        return fact.author_id is not None and fact.author_id == user.id
    return user.agence_id is None or user.agence_id == fact.agence_id


def _kind_matches(rule: Rule, kind: str, grave: bool, user: User, status: str) -> bool:
    if (
        kind == EventKind.STATUS
        and user.role is Role.GARDIEN
        and status not in GARDIEN_STATUSES
    ):
        return False
    if kind in rule.kinds:
        return True
    return kind == EventKind.FILED and grave and EventKind.GRAVE in rule.kinds


def _scope_matches(rule: Rule, fact: FactValues) -> bool:
    if rule.agence_id is not None and rule.agence_id != fact.agence_id:
        return False
    if rule.residence_ids and fact.residence_id not in rule.residence_ids:
        return False
    # A category's code starts with its family's (AP04 is of AP).
    if rule.families and not any(
        fact.category_code.startswith(code) for code in rule.families
    ):
        return False
    return rule.min_gravity is None or (
        fact.gravity is not None and fact.gravity >= rule.min_gravity
    )


def channels_for(
    user: User, rules: tuple[Rule, ...], kind: str, grave: bool, fact: FactValues
) -> dict[Channel, Rhythm]:
    """Return each channel by which an event reaches ``user``, with its quickest
    rhythm among the matching rules (empty: it does not reach them)."""
    if not may_hear_of(user, fact):
        return {}
    found: dict[Channel, Rhythm] = {}
    for rule in rules:
        if not (
            _kind_matches(rule, kind, grave, user, fact.status)
            and _scope_matches(rule, fact)
        ):
            continue
        for channel in rule.channels:
            known = found.get(channel)
            if known is None or _RHYTHM_ORDER[rule.rhythm] < _RHYTHM_ORDER[known]:
                found[channel] = rule.rhythm
    return found


def digest_due(rhythm: Rhythm, now: datetime) -> datetime:
    """Return when a message of ``rhythm`` is due: now, or the next digest time
    (DIGEST_HOUR, Europe/Paris; weekly on Monday)."""
    if rhythm is Rhythm.IMMEDIATE:
        return now
    local = to_local(now)
    due = local.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if due <= local:
        due += timedelta(days=1)
    if rhythm is Rhythm.WEEKLY:
        due += timedelta(days=(7 - due.weekday()) % 7)
    return from_local(due.replace(tzinfo=None))


def summary_of(
    kind: str, fact: FactValues, at: datetime, detail: str, extra: dict | None = None
) -> dict:
    """What a message may say of an event: no description, comment nor person.
    ``extra``: what an event of no fact adds (an early-warning alarm's week)."""
    return {
        **(extra or {}),
        "kind": kind,
        "reference": fact.reference,
        "category": f"{fact.category_code} · {fact.category_label}",
        "residence": fact.residence_name,
        "gravity": fact.gravity,
        "occurred_at": fact.occurred_at.isoformat() if fact.occurred_at else None,
        "at": at.isoformat(),
        "status": fact.status,
        "detail": detail,
        "report_uuid": fact.report_uuid,
        # The link of an event of no fact (an alarm on a résidence).
        "residence_id": fact.residence_id,
    }


@dataclass
class Recorded:
    """An event and who it reached, by channel."""

    event: AlertEvent
    recipients: dict[int, dict[Channel, Rhythm]] = field(default_factory=dict)


def _recipients(
    organisation_id: int, actor_id: int | None
) -> list[tuple[User, list[AlertSubscription]]]:
    """Return the bailleur's active users (but the actor) with their rules, in one
    SELECT (filing a fact stays a handful of statements)."""
    query = (
        db.select(User, AlertSubscription)
        .outerjoin(AlertSubscription, AlertSubscription.user_id == User.id)
        .where(
            User.organisation_id == organisation_id,
            User.active.is_(True),
            User.role != Role.FEDERATION,
        )
        .order_by(User.id, AlertSubscription.id)
    )
    if actor_id is not None:
        query = query.where(User.id != actor_id)
    found: dict[int, tuple[User, list[AlertSubscription]]] = {}
    for user, subscription in db.session.execute(query):
        entry = found.setdefault(user.id, (user, []))
        if subscription is not None:
            entry[1].append(subscription)
    return list(found.values())


def record_event(
    kind: str,
    fact: FactValues,
    *,
    actor_id: int | None,
    at: datetime | None = None,
    detail: str = "",
    extra: dict | None = None,
) -> Recorded:
    """Write an event, its inbox messages and its outbox rows in the caller's
    transaction (flushed, not committed). ``at``: when it happened (the filing, not
    the fact's date). The actor is never told of their own change."""
    at = at or utcnow()
    grave = is_grave(fact.gravity, fact.staff_victim, fact.immediate_category)
    event = AlertEvent(
        kind=kind,
        at=at,
        organisation_id=fact.organisation_id,
        report_id=fact.report_id,
        residence_id=fact.residence_id,
        grave=grave,
        actor_id=actor_id,
        summary=summary_of(kind, fact, at, detail, extra),
    )
    db.session.add(event)
    db.session.flush()
    recorded = Recorded(event)
    inbox, outbox = [], []
    for user, stored in _recipients(fact.organisation_id, actor_id):
        channels = channels_for(user, rules_for(user, stored), kind, grave, fact)
        if not channels:
            continue
        recorded.recipients[user.id] = channels
        for channel, rhythm in channels.items():
            if channel is Channel.INBOX:
                inbox.append(
                    {"event_id": event.id, "user_id": user.id, "created_at": at}
                )
                continue
            outbox.append(
                {
                    "event_id": event.id,
                    "user_id": user.id,
                    "channel": channel,
                    "rhythm": rhythm,
                    "created_at": at,
                    "due_at": digest_due(rhythm, at),
                }
            )
    if inbox:
        db.session.execute(sa.insert(InboxMessage), inbox)
    if outbox:
        db.session.execute(sa.insert(AlertDelivery), outbox)
    logger.info(
        "Alerte %s (%s) : %d destinataire(s)",
        kind,
        fact.reference,
        len(recorded.recipients),
    )
    return recorded


def report_alerted_roles(report_id: int) -> set[Role]:
    """Return the roles of the users an event of this fact was put out to (outbox or
    inbox): the confirmation page only says who was really alerted."""
    delivered = (
        sa.select(AlertDelivery.user_id)
        .join(AlertEvent, AlertEvent.id == AlertDelivery.event_id)
        .where(AlertEvent.report_id == report_id)
    )
    boxed = (
        sa.select(InboxMessage.user_id)
        .join(AlertEvent, AlertEvent.id == InboxMessage.event_id)
        .where(AlertEvent.report_id == report_id)
    )
    return set(
        db.session.scalars(
            sa.select(User.role)
            .where(User.id.in_(delivered.union(boxed).scalar_subquery()))
            .distinct()
        )
    )
