"""Commands of the alerts: ``orfi worker``, the delivery worker."""

from __future__ import annotations

import logging
import signal
import time

import click
import sqlalchemy as sa

from orfi.alerts.worker import (
    BATCH,
    deliver_batch,
    new_claim_token,
    run_once,
    scan_overdue,
)
from orfi.commands import cli
from orfi.surveillance.runs import run_requests, run_scheduled
from orfi.transaction import rollback

logger = logging.getLogger(__name__)

#: Seconds between two scans for facts left without follow-up.
SCAN_EVERY = 300
#: Seconds between two looks for a « Recalculer » of early warning.
REQUESTS_EVERY = 10
#: Seconds to wait after a database error before trying again.
ERROR_PAUSE = 5


@cli.command("worker")
@click.option(
    "--once",
    is_flag=True,
    help="Envoyer ce qui est dû, puis s'arrêter (tests, tâche planifiée).",
)
@click.option(
    "--idle",
    type=click.FloatRange(0.1, 60),
    default=1.0,
    show_default=True,
    help="Secondes d'attente quand rien n'est dû.",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 1000),
    default=BATCH,
    show_default=True,
    help="Messages réservés à la fois.",
)
def worker_command(once, idle, batch):
    """Send the alerts (e-mail, push) of the outbox; retry failures with backoff;
    compute early warning each week (Monday from 06:00) and when asked.
    Runs until stopped (SIGTERM, Ctrl-C), or once with --once. Several workers may
    run at once: each message is sent by one of them."""
    token = new_claim_token()
    if once:
        tally = run_once(token, limit=batch)
        click.echo(
            f"Alertes : {tally.delivered} remise(s), {tally.skipped} sans appareil, "
            f"{tally.retried} à réessayer, {tally.failed} en échec."
        )
        return
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    click.echo(f"Envoi des alertes (worker {token}) ; Ctrl-C pour arrêter.")
    last_scan = last_requests = 0.0
    try:
        while not stopping:
            try:
                if time.monotonic() - last_scan >= SCAN_EVERY:
                    scan_overdue()
                    run_scheduled()
                    last_scan = time.monotonic()
                if time.monotonic() - last_requests >= REQUESTS_EVERY:
                    run_requests()
                    last_requests = time.monotonic()
                tally = deliver_batch(token, limit=batch)
            except sa.exc.SQLAlchemyError:
                # The database away (restart, network): wait, then go on; the
                # rows claimed meanwhile come back when their lease ends.
                logger.exception("Base de données indisponible pour les alertes")
                rollback()
                time.sleep(ERROR_PAUSE)
                continue
            if tally.claimed == 0 or tally.claimed == tally.retried + tally.failed:
                time.sleep(idle)
    except KeyboardInterrupt:
        pass
    click.echo("Worker arrêté.")
