"""The delivery worker: claims due outbox rows, sends them, records each once.

A claim is its own short transaction: the due rows (``SELECT … FOR UPDATE SKIP
LOCKED`` on PostgreSQL, under ``BEGIN IMMEDIATE`` on SQLite) get a lease
(``claimed_until``) and this worker's claim token. Each message is then sent, and
marked delivered in its own transaction (only if the claim is still this worker's).
A worker killed mid-batch leaves leased rows: they are claimed again once the lease
ends. A failure is retried with exponential backoff for ORFI_ALERT_RETRY_HOURS, then
the row is « failed » (the administrator's page lists it). docs/alerts.md states the
one window left (killed between the server's acceptance and the commit).

The clock is injectable (``clock``): tests move time instead of waiting.
"""

from __future__ import annotations

import logging
import os
import secrets
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from orfi.alerts import push
from orfi.alerts.channels import (
    Mailer,
    PermanentFailure,
    build_email,
    fact_url,
    lines_of,
    link_label,
    push_payload,
    push_topic,
    title_of,
)
from orfi.database import utcnow
from orfi.extensions import db
from orfi.followup.services import overdue_only
from orfi.notifications.models import (
    AlertDelivery,
    AlertEvent,
    Channel,
    DeliveryStatus,
    EventKind,
    Rhythm,
)
from orfi.reports.alerting import alert
from orfi.reports.models import Report
from orfi.reports.queries import counted_reports
from orfi.surveillance.runs import run_due
from orfi.transaction import unit_of_work

logger = logging.getLogger(__name__)

#: Rows claimed at once.
BATCH = 100
#: First retry delay, doubled at each failure up to BACKOFF_MAX.
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=30)


def backoff(attempts: int) -> timedelta:
    """Return the delay before the next try after ``attempts`` failures."""
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def new_claim_token() -> str:
    """Return a token naming one worker's claims (host, process, random)."""
    return f"{socket.gethostname()[:12]}-{os.getpid()}-{secrets.token_hex(4)}"[:32]


@dataclass
class Tally:
    """What one pass of the worker did."""

    delivered: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    claimed: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        """Add another pass's counts to this one."""
        for name in ("delivered", "skipped", "retried", "failed", "claimed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors


def lease() -> timedelta:
    """How long a claim holds its rows (ORFI_ALERT_LEASE_SECONDS)."""
    return timedelta(seconds=int(current_app.config["ORFI_ALERT_LEASE_SECONDS"]))


def claim_due(now: datetime, token: str, limit: int = BATCH) -> list[int]:
    """Lease up to ``limit`` due rows to ``token``; return their ids (committed)."""
    with unit_of_work():
        query = (
            sa.select(AlertDelivery.id)
            .where(
                AlertDelivery.status == DeliveryStatus.PENDING,
                AlertDelivery.due_at <= now,
                sa.or_(
                    AlertDelivery.claimed_until.is_(None),
                    AlertDelivery.claimed_until < now,
                ),
            )
            .order_by(AlertDelivery.due_at, AlertDelivery.id)
            .limit(limit)
        )
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(db.session.scalars(query))
        if ids:
            db.session.execute(
                sa.update(AlertDelivery)
                .where(AlertDelivery.id.in_(ids))
                .values(claimed_until=now + lease(), claim=token)
            )
    return ids


def _finish(ids: list[int], token: str, **values) -> int:
    """Write ``values`` on the rows still claimed by ``token``, in a transaction of
    their own; return how many rows were."""
    # On the table, not the ORM entity: the ORM's bulk UPDATE cost most of a
    # transaction here (benchmarks/alerts_delivery.py).
    table = AlertDelivery.__table__
    with unit_of_work():
        result = db.session.execute(
            table.update()
            .where(table.c.id.in_(ids), table.c.claim == token)
            .values(claim=None, claimed_until=None, **values)
        )
    return result.rowcount


@dataclass
class _Message:
    """One message to send: one row (immediate) or a digest's rows."""

    ids: list[int]
    user_id: int
    email: str
    channel: Channel
    key: str
    summaries: list[tuple[dict, bool]]
    created_at: datetime


def _load_messages(ids: list[int]) -> list[_Message]:
    """Read the claimed rows with their events; one message per immediate row, one
    per (user, channel) for the rows of a digest."""
    rows = db.session.execute(
        sa.select(AlertDelivery, AlertEvent)
        .join(AlertEvent, AlertEvent.id == AlertDelivery.event_id)
        .where(AlertDelivery.id.in_(ids))
        .options(sa.orm.joinedload(AlertDelivery.user))
        .order_by(AlertDelivery.id)
    ).all()
    messages: list[_Message] = []
    digests: dict[tuple[int, Channel], _Message] = {}
    for delivery, event in rows:
        summary = (event.summary, event.grave)
        if delivery.rhythm is Rhythm.IMMEDIATE:
            messages.append(
                _Message(
                    [delivery.id],
                    delivery.user_id,
                    delivery.user.email,
                    delivery.channel,
                    f"{event.id}-{delivery.user_id}",
                    [summary],
                    delivery.created_at,
                )
            )
            continue
        group = digests.get((delivery.user_id, delivery.channel))
        if group is None:
            group = digests[(delivery.user_id, delivery.channel)] = _Message(
                [],
                delivery.user_id,
                delivery.user.email,
                delivery.channel,
                f"digest-{delivery.id}-{delivery.user_id}",
                [],
                delivery.created_at,
            )
        group.ids.append(delivery.id)
        group.summaries.append(summary)
    db.session.rollback()  # end the read transaction before sending
    return messages + list(digests.values())


def _subject(message: _Message) -> str:
    if len(message.summaries) == 1:
        summary, grave = message.summaries[0]
        if not summary.get("reference"):  # an alarm on a résidence, of no fact
            return f"[orfi] {title_of(summary, grave)} · {summary.get('residence', '')}"
        return (
            f"[orfi] {title_of(summary, grave)} {summary.get('reference', '')} · "
            f"{summary.get('category', '')} · {summary.get('residence', '')}"
        )
    return f"[orfi] Résumé : {len(message.summaries)} alertes"


def _send(message: _Message, mailer: Mailer) -> DeliveryStatus:
    """Send one message on its channel; return DELIVERED or SKIPPED (no device)."""
    blocks = [
        (lines_of(s), fact_url(s), link_label(s)) for s, _grave in message.summaries
    ]
    if message.channel is Channel.EMAIL:
        mailer.send(build_email(message.email, _subject(message), blocks, message.key))
        return DeliveryStatus.DELIVERED
    summary, grave = message.summaries[0]
    if len(message.summaries) == 1:
        title, body, url = title_of(summary, grave), blocks[0][0][:4], blocks[0][1]
    else:
        title = f"Résumé : {len(message.summaries)} alertes"
        body = [
            s.get("reference") or s.get("residence", "")
            for s, _g in message.summaries[:5]
        ]
        url = current_app.config["ORFI_BASE_URL"] + "/alertes/"
    topic = push_topic(message.key)
    reached = push.send_push(
        message.user_id, push_payload(title, body, url, topic), topic=topic
    )
    return DeliveryStatus.DELIVERED if reached else DeliveryStatus.SKIPPED


def _record_failure(
    message: _Message, token: str, now: datetime, error: Exception, permanent: bool
) -> DeliveryStatus:
    """Put the message back for a later try (backoff), or record it failed."""
    window = timedelta(hours=int(current_app.config["ORFI_ALERT_RETRY_HOURS"]))
    text = f"{type(error).__name__}: {error}"[:300]
    with unit_of_work():
        rows = list(
            db.session.scalars(
                sa.select(AlertDelivery).where(
                    AlertDelivery.id.in_(message.ids), AlertDelivery.claim == token
                )
            )
        )
        status = DeliveryStatus.PENDING
        for row in rows:
            row.attempts += 1
            row.last_error = text
            row.claim = None
            row.claimed_until = None
            created = row.created_at
            if created.tzinfo is None:
                created = created.replace(tzinfo=now.tzinfo)
            if permanent or now - created >= window:
                row.status = status = DeliveryStatus.FAILED
            else:
                row.due_at = now + backoff(row.attempts)
    logger.warning("Alerte non remise (%s) : %s", message.channel.value, text)
    return status


def deliver_batch(
    token: str, clock: Callable[[], datetime] = utcnow, limit: int = BATCH
) -> Tally:
    """Claim and send one batch of due messages; return what happened."""
    tally = Tally()
    now = clock()
    ids = claim_due(now, token, limit)
    tally.claimed = len(ids)
    if not ids:
        return tally
    # Stop sending a little before the lease ends: the rest is claimed again.
    stop_at = now + lease() * 0.8
    mailer = Mailer()
    skipped: list[int] = []
    try:
        for message in _load_messages(ids):
            now = clock()
            if now >= stop_at:
                _finish(message.ids, token)
                continue
            try:
                status = _send(message, mailer)
            except PermanentFailure as error:
                _record_failure(message, token, now, error, permanent=True)
                tally.failed += 1
                continue
            except Exception as error:  # any failure is retried, none is lost
                if not isinstance(
                    error, (OSError, smtplib.SMTPException, push.PushTemporaryFailure)
                ):
                    logger.exception("Erreur inattendue à l'envoi d'une alerte")
                status = _record_failure(message, token, now, error, permanent=False)
                if status is DeliveryStatus.FAILED:
                    tally.failed += 1
                else:
                    tally.retried += 1
                tally.errors.append(str(error))
                continue
            if status is DeliveryStatus.SKIPPED:
                # Nothing was sent: recorded with the batch's other skips.
                skipped += message.ids
                tally.skipped += 1
                continue
            _finish(message.ids, token, status=status, delivered_at=clock())
            tally.delivered += 1
    finally:
        mailer.close()
        if skipped:
            _finish(skipped, token, status=DeliveryStatus.SKIPPED, delivered_at=clock())
    return tally


#: The overdue scan looks at facts whose deadline passed this recently: the facts
#: overdue long before the alerts existed (or the worker ran) do not flood inboxes.
OVERDUE_LOOKBACK = timedelta(days=7)


def scan_overdue(days: int | None = None, limit: int = 500) -> int:
    """Record one « overdue » event per grave fact left without follow-up past its
    deadline (the « Suivi » page's rule) within OVERDUE_LOOKBACK; return how many
    were recorded."""
    days = (
        days if days is not None else current_app.config["ORFI_FOLLOWUP_OVERDUE_DAYS"]
    )
    told = sa.exists().where(
        AlertEvent.report_id == Report.id, AlertEvent.kind == EventKind.OVERDUE
    )
    since = utcnow() - timedelta(days=days) - OVERDUE_LOOKBACK
    with unit_of_work():
        reports = list(
            db.session.scalars(
                overdue_only(counted_reports(db.select(Report)), days)
                .where(Report.created_at >= since, ~told)
                .order_by(Report.id)
                .limit(limit)
            )
        )
        for report in reports:
            alert(EventKind.OVERDUE, report, actor_id=None)
    return len(reports)


def run_once(
    token: str, clock: Callable[[], datetime] = utcnow, limit: int = BATCH
) -> Tally:
    """Scan overdue facts, compute early warning when due (the week's runs, the
    « Recalculer » requests), then send batches until nothing is due."""
    scan_overdue()
    run_due(clock)
    total = Tally()
    while True:
        tally = deliver_batch(token, clock, limit)
        total.add(tally)
        # Stop when nothing was claimed, or nothing of it got sent (all retried).
        if tally.claimed == 0 or tally.claimed == tally.retried + tally.failed:
            return total
