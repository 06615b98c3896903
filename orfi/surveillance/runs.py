"""When early warning runs: each week for every bailleur (Monday from 06:00, Europe/
Paris), and when a référent asks (« Recalculer »); by the worker (``orfi worker``)
or the command ``orfi early-warning``.

Each computation is one :class:`EarlyWarningRun`. A scheduled run is claimed by
inserting its row, whose ``scheduled_key`` is unique: of several workers one gets it,
the others skip. A run whose worker died (started an hour ago, never finished) is
taken over. The claim, the computation and the record of its end are three short
transactions.
"""

from __future__ import annotations

import logging
import time as clock_time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from orfi.auth.models import User
from orfi.database import utcnow
from orfi.extensions import db
from orfi.patrimoine.models import Organisation, Residence
from orfi.surveillance.models import EarlyWarningRun
from orfi.surveillance.services import (
    compute_and_store,
    near_repeat_categories,
    week_to_compute,
)
from orfi.transaction import unit_of_work

logger = logging.getLogger(__name__)

#: A run started this long ago and never finished is taken over (its worker died).
STALE_AFTER = timedelta(hours=1)


def scheduled_key(organisation_id: int, week: date) -> str:
    """Return the unique key of a bailleur's scheduled run for ``week``."""
    return f"weekly:{organisation_id}:{week.isoformat()}"


@dataclass
class RunTally:
    """What one pass did: runs made, alarms and events, failures."""

    runs: int = 0
    alarms: int = 0
    events: int = 0
    errors: list[str] = field(default_factory=list)


def _organisations_with_residences() -> list[int]:
    return list(
        db.session.scalars(
            sa.select(Organisation.id)
            .where(sa.exists().where(Residence.organisation_id == Organisation.id))
            .order_by(Organisation.id)
        )
    )


def _claim_scheduled(organisation_id: int, week: date, now: datetime) -> int | None:
    """Insert the scheduled run (or take over a dead worker's); return its id, None
    when it is done or another worker has it."""
    table = EarlyWarningRun.__table__
    key = scheduled_key(organisation_id, week)
    known = db.session.execute(
        sa.select(table.c.id, table.c.finished_at, table.c.started_at).where(
            table.c.scheduled_key == key
        )
    ).first()
    db.session.rollback()  # end the read: the claim is a transaction of its own
    if known is None:
        try:
            with unit_of_work():
                run = EarlyWarningRun(
                    organisation_id=organisation_id,
                    week=week,
                    scheduled_key=key,
                    requested_at=now,
                    started_at=now,
                )
                db.session.add(run)
                db.session.flush()
                return run.id
        except sa.exc.IntegrityError:
            return None  # another worker inserted it first
    if known.finished_at is not None:
        return None
    with unit_of_work():
        taken = db.session.execute(
            table.update()
            .where(
                table.c.id == known.id,
                table.c.finished_at.is_(None),
                table.c.started_at < now - STALE_AFTER,
            )
            .values(started_at=now)
        ).rowcount
    return known.id if taken else None


def _claim_request(now: datetime) -> EarlyWarningRun | None:
    """Take the oldest run asked from the page, if any (one worker gets it)."""
    table = EarlyWarningRun.__table__
    with unit_of_work():
        run_id = db.session.scalar(
            sa.select(table.c.id)
            .where(table.c.started_at.is_(None))
            .order_by(table.c.requested_at, table.c.id)
            .limit(1)
        )
        if run_id is None:
            return None
        taken = db.session.execute(
            table.update()
            .where(table.c.id == run_id, table.c.started_at.is_(None))
            .values(started_at=now)
        ).rowcount
    return db.session.get(EarlyWarningRun, run_id) if taken else None


def execute(run_id: int, tally: RunTally, clock: Callable[[], datetime]) -> None:
    """Compute and store the run's week, then record its end (or its error)."""
    run = db.session.get(EarlyWarningRun, run_id)
    organisation_id, week = run.organisation_id, run.week
    began = clock_time.perf_counter()
    error = ""
    units = alarms = 0
    near_repeat = None
    try:
        with unit_of_work():
            stored = compute_and_store(organisation_id, week)
        units, alarms = stored.units, stored.alarms
        tally.runs += 1
        tally.alarms += stored.alarms
        tally.events += stored.events
        # After the statuses' commit, reading only: the Knox tests take seconds to
        # minutes, and no write transaction (SQLite's lock) may wait on them.
        near_repeat = near_repeat_categories(organisation_id, week)
        db.session.rollback()
    except Exception as failure:
        # Recorded on the run: one bailleur's failure stops neither the others'
        # nor the deliveries.
        logger.exception(
            "Alerte précoce : calcul impossible (bailleur %s)", organisation_id
        )
        error = f"{type(failure).__name__}: {failure}"[:300]
        tally.errors.append(error)
    with unit_of_work():
        db.session.execute(
            EarlyWarningRun.__table__.update()
            .where(EarlyWarningRun.__table__.c.id == run_id)
            .values(
                finished_at=clock(),
                units=units,
                alarms=alarms,
                error=error,
                near_repeat=near_repeat,
                seconds=round(clock_time.perf_counter() - began, 3),
            )
        )


def run_scheduled(
    clock: Callable[[], datetime] = utcnow, organisation_ids: list[int] | None = None
) -> RunTally:
    """Compute each bailleur's last complete week once (the week's run record makes
    it once across workers and passes)."""
    tally = RunTally()
    now = clock()
    week = week_to_compute(now)
    for organisation_id in organisation_ids or _organisations_with_residences():
        run_id = _claim_scheduled(organisation_id, week, now)
        if run_id is not None:
            execute(run_id, tally, clock)
    return tally


def run_requests(clock: Callable[[], datetime] = utcnow, limit: int = 20) -> RunTally:
    """Compute the weeks asked from the page (« Recalculer »), oldest first."""
    tally = RunTally()
    for _ in range(limit):
        run = _claim_request(clock())
        if run is None:
            break
        execute(run.id, tally, clock)
    return tally


def run_due(clock: Callable[[], datetime] = utcnow) -> RunTally:
    """The worker's pass: the week's scheduled runs, then the requests."""
    tally = run_scheduled(clock)
    asked = run_requests(clock)
    tally.runs += asked.runs
    tally.alarms += asked.alarms
    tally.events += asked.events
    tally.errors += asked.errors
    return tally


def run_now(
    organisation_id: int, week: date, clock: Callable[[], datetime] = utcnow
) -> RunTally:
    """Compute one bailleur's week at once (the command), recorded as a run."""
    tally = RunTally()
    with unit_of_work():
        run = EarlyWarningRun(
            organisation_id=organisation_id,
            week=week,
            requested_at=clock(),
            started_at=clock(),
        )
        db.session.add(run)
        db.session.flush()
        run_id = run.id
    execute(run_id, tally, clock)
    return tally


def pending_request(organisation_id: int) -> EarlyWarningRun | None:
    """Return the bailleur's run asked and not finished yet, if any."""
    return db.session.scalar(
        sa.select(EarlyWarningRun)
        .where(
            EarlyWarningRun.organisation_id == organisation_id,
            EarlyWarningRun.scheduled_key.is_(None),
            EarlyWarningRun.finished_at.is_(None),
        )
        .order_by(EarlyWarningRun.id.desc())
        .limit(1)
    )


def request_run(user: User, now: datetime | None = None) -> bool:
    """Ask the worker to compute the user's bailleur's last complete week again;
    return False when a request is already waiting (nothing added). Flushed."""
    if pending_request(user.organisation_id) is not None:
        return False
    now = now or utcnow()
    db.session.add(
        EarlyWarningRun(
            organisation_id=user.organisation_id,
            week=week_to_compute(now),
            requested_by_id=user.id,
            requested_at=now,
        )
    )
    db.session.flush()
    return True


def last_run(
    organisation_id: int, *, near_repeat: bool = False
) -> EarlyWarningRun | None:
    """Return the bailleur's last finished run (``near_repeat``: the last one that
    found the near-repeat categories, read by the patrol sheet)."""
    query = sa.select(EarlyWarningRun).where(
        EarlyWarningRun.organisation_id == organisation_id,
        EarlyWarningRun.finished_at.is_not(None),
    )
    if near_repeat:
        query = query.where(EarlyWarningRun.near_repeat.is_not(None))
    return db.session.scalar(
        query.order_by(
            EarlyWarningRun.finished_at.desc(), EarlyWarningRun.id.desc()
        ).limit(1)
    )
