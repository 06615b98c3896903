"""Alerts that cannot silently fail (issue 11, point 4), with real worker processes:
a worker killed with SIGKILL mid-batch then restarted, and two workers at once, each
lose nothing and send nothing twice. Runs on PostgreSQL with ORFI_TEST_DATABASE_URL
(``FOR UPDATE SKIP LOCKED``) as on SQLite (``BEGIN IMMEDIATE``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from orfi.auth.models import Role
from orfi.extensions import db
from orfi.notifications.models import AlertDelivery, Channel, DeliveryStatus
from tests.factories import (
    commit,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)
from tests.smtp_sink import Sink

#: The worker's lease in these tests: a killed worker's rows come back this soon.
LEASE_SECONDS = 2


@pytest.fixture
def sink():
    server = Sink().start()
    yield server
    server.stop()


@pytest.fixture
def facts(app):
    """A référent and ``count`` grave facts filed by a gardien, committed."""

    def make(count: int) -> list[str]:
        organisation = make_organisation()
        residence = make_residence(organisation)
        gardien = make_user(organisation, role=Role.GARDIEN, sector=[residence])
        make_user(organisation, role=Role.REFERENT, email="ref@rel.fr")
        references = [
            make_report(gardien, residence, gravity=4).reference for _ in range(count)
        ]
        commit()
        return references

    return make


def worker(app, sink: Sink, *args: str) -> subprocess.Popen:
    """Start ``orfi worker`` in its own process on the test database."""
    env = {
        **os.environ,
        "ORFI_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "ORFI_SECRET_KEY": "test-secret",
        "ORFI_SMTP_HOST": "127.0.0.1",
        "ORFI_SMTP_PORT": str(sink.port),
        "ORFI_ALERT_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    command = [sys.executable, "-c", "from orfi.cli import main; main()", "worker"]
    return subprocess.Popen(
        [*command, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def email_statuses() -> Counter:
    db.session.commit()  # a fresh snapshot
    return Counter(
        db.session.scalars(
            sa.select(AlertDelivery.status).where(
                AlertDelivery.channel == Channel.EMAIL
            )
        )
    )


@pytest.mark.slow  # two worker processes start (~5 s each here)
def test_a_worker_killed_mid_batch_then_restarted_loses_and_doubles_nothing(
    app, sink, facts
):
    references = facts(6)
    sink.stall_after = 2  # the third message hangs in DATA
    process = worker(app, sink, "--batch", "10")
    try:
        deadline = time.monotonic() + 60
        while sink.stalled == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sink.stalled == 1, process.stdout.read() if process.poll() else ""
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    sink.stall.clear()  # the killed worker never got its answer: nothing kept
    time.sleep(0.5)
    assert len(sink.messages) == 2
    assert email_statuses()[DeliveryStatus.PENDING] == 4  # leased, unsent
    time.sleep(LEASE_SECONDS + 0.5)  # the dead worker's lease ends
    restarted = worker(app, sink, "--once")
    output, _ = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, output
    ids = sink.ids()
    assert len(ids) == len(set(ids)) == 6, ids
    subjects = " ".join(m["Subject"] for m in sink.messages)
    assert all(reference in subjects for reference in references)
    assert email_statuses() == Counter({DeliveryStatus.DELIVERED: 6})


@pytest.mark.slow  # two worker processes start (~5 s each here)
def test_two_workers_at_once_send_each_message_once(app, sink, facts):
    facts(40)
    # A slow server (8 s for one worker alone): the second worker, started a moment
    # later, still finds work, even on a loaded machine.
    sink.delay = 0.2
    workers = [worker(app, sink, "--once", "--batch", "5") for _ in range(2)]
    outputs = [w.communicate(timeout=180)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    ids = sink.ids()
    assert len(ids) == 40 and len(set(ids)) == 40
    assert email_statuses() == Counter({DeliveryStatus.DELIVERED: 40})
    # Both took part (otherwise the test proves nothing about concurrency).
    sent = [int(out.split("Alertes : ")[1].split()[0]) for out in outputs]
    assert sum(sent) == 40 and min(sent) > 0, outputs
