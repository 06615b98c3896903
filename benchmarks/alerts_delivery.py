"""Delivery latency of the alerts: from the commit of a fact to the SMTP sink.

E grave facts (default 10,000) are filed through the real filing service
(``create_report`` in a unit of work, as the form and the API do), evenly over
``--seconds`` seconds, across bailleurs holding S référents in all (default 200,
``--organisations`` bailleurs, so each fact reaches S / organisations référents by
e-mail, push and inbox). ``--workers`` real ``orfi worker`` processes send the e-mails
to a local aiosmtpd sink (push has no device registered: recorded « skipped »).

For each e-mail the latency is its arrival at the sink minus the commit of its fact;
the script prints p50, p95, p99 and the maximum, how many e-mails arrived, and
whether any (fact, recipient) arrived twice or never.

By default time is compressed: 10,000 events "in an hour" are filed in 600 s, six
times the issue's rate (a stress test: two workers then fall behind). The issue's own
rate is ``--events 1000 --seconds 360`` (10,000 an hour). Figures: docs/alerts.md.

Usage (from the repository root)::

    .venv/bin/python benchmarks/alerts_delivery.py                    # SQLite
    .venv/bin/python benchmarks/alerts_delivery.py --backend postgresql \\
        --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python benchmarks/alerts_delivery.py --events 2000 --seconds 120
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from email.header import decode_header, make_header
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_world(app, organisations: int, subscribers: int) -> list[tuple]:
    """Create the bailleurs, one résidence and one gardien each, and the référents;
    return (gardien id, résidence id, category id) per bailleur."""
    from orfi.auth.models import Role
    from orfi.auth.services import create_user
    from orfi.extensions import db
    from orfi.nomenclature.models import Category
    from orfi.nomenclature.services import load_default_nomenclature
    from orfi.patrimoine.models import OrganisationKind, Residence
    from orfi.patrimoine.services import create_organisation
    from orfi.transaction import unit_of_work

    places = []
    with app.app_context(), unit_of_work():
        db.create_all()
        load_default_nomenclature()
        for n in range(organisations):
            organisation = create_organisation(
                code=f"B{n:02d}", name=f"Bailleur {n}", kind=OrganisationKind.ESH
            )
            residence = Residence(
                organisation=organisation,
                reference=f"R{n}",
                name=f"Résidence {n}",
                address="1 rue",
                commune_insee="31555",
                commune_name="Toulouse",
                logements=100,
                latitude=43.6,
                longitude=1.44,
            )
            db.session.add(residence)
            gardien = create_user(
                email=f"gardien{n}@bench.fr",
                name=f"Gardien {n}",
                password="bench-password-2026",
                role=Role.GARDIEN,
                organisation=organisation,
            )
            gardien.sector.append(residence)
            for k in range(subscribers // organisations):
                create_user(
                    email=f"ref{n}-{k}@bench.fr",
                    name=f"Référent {n}-{k}",
                    password="bench-password-2026",
                    role=Role.REFERENT,
                    organisation=organisation,
                )
            db.session.flush()
            category = db.session.scalar(
                db.select(Category).where(
                    Category.organisation_id == organisation.id, Category.code == "AP04"
                )
            )
            places.append((gardien.id, residence.id, category.id))
    return places


def file_facts(app, places, events: int, seconds: float) -> dict[str, float]:
    """File ``events`` grave facts evenly over ``seconds``; return each fact's
    reference with the wall time of its commit."""
    from orfi.auth.models import User
    from orfi.database import utcnow
    from orfi.extensions import db
    from orfi.reports.checks import ReportInput
    from orfi.reports.creation import create_report
    from orfi.transaction import unit_of_work

    committed: dict[str, float] = {}
    start = time.time()
    with app.app_context():
        users = {g: db.session.get(User, g) for g, _r, _c in places}
        for i in range(events):
            due = start + i * seconds / events
            if (pause := due - time.time()) > 0:
                time.sleep(pause)
            gardien_id, residence_id, category_id = places[i % len(places)]
            with unit_of_work():
                report, _ = create_report(
                    users[gardien_id],
                    ReportInput(
                        uuid=uuid.uuid4(),
                        category_id=category_id,
                        residence_id=residence_id,
                        occurred_at=utcnow() - timedelta(minutes=5),
                        gravity=4,
                        description="Bench",
                    ),
                )
                reference = report.reference
            committed[reference] = time.time()
            if i % 1000 == 999:
                print(f"  {i + 1} faits déposés", flush=True)
    return committed


def start_workers(database_url: str, port: int, count: int) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "ORFI_DATABASE_URL": database_url,
        "ORFI_SECRET_KEY": "bench",
        "ORFI_SMTP_HOST": "127.0.0.1",
        "ORFI_SMTP_PORT": str(port),
    }
    command = [sys.executable, "-c", "from orfi.cli import main; main()", "worker"]
    return [
        subprocess.Popen(
            [*command, "--idle", "0.5"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(args) -> None:
    from orfi import create_app
    from tests.smtp_sink import Sink

    drop = None
    if args.backend == "postgresql":
        from benchmarks.api_load import postgres_database

        database_url, _conninfo, drop = postgres_database(args.pg_url)
    else:
        folder = tempfile.mkdtemp(prefix="orfi-alerts-bench-")
        database_url = f"sqlite:///{folder}/bench.sqlite3"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "bench",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    sink = Sink(headers_only=True).start()
    workers = []
    try:
        places = build_world(app, args.organisations, args.subscribers)
        per_fact = args.subscribers // args.organisations
        print(
            f"{args.backend}: {args.events} faits graves en {args.seconds:.0f} s, "
            f"{args.organisations} bailleurs × {per_fact} référents, "
            f"{args.workers} worker(s)",
            flush=True,
        )
        workers = start_workers(database_url, sink.port, args.workers)
        time.sleep(args.warmup)  # the workers' imports: not the alerts' latency
        committed = file_facts(app, places, args.events, args.seconds)
        expected = args.events * per_fact
        sink.wait_for(expected, timeout=args.drain)
        report(sink, committed, expected)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        sink.stop()
        with app.app_context():
            from orfi.extensions import db

            db.engine.dispose()
        if drop:
            drop()


def report(sink, committed: dict[str, float], expected: int) -> None:
    latencies, keys = [], Counter()
    for message, arrival in zip(list(sink.messages), list(sink.arrivals), strict=True):
        subject = str(make_header(decode_header(message["Subject"])))
        reference = subject.split()[3]
        latencies.append(arrival - committed[reference])
        keys[message["Message-ID"]] += 1
    doubles = sum(1 for n in keys.values() if n > 1)
    print(
        f"e-mails : {len(latencies)} reçus sur {expected} attendus ; "
        f"doublons : {doubles} ; manquants : {expected - len(keys)}"
    )
    if latencies:
        print(
            "latence commit → serveur SMTP : "
            f"p50 {statistics.median(latencies):.2f} s, "
            f"p95 {percentile(latencies, 0.95):.2f} s, "
            f"p99 {percentile(latencies, 0.99):.2f} s, "
            f"max {max(latencies):.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--organisations", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--warmup", type=float, default=10.0, help="démarrage des workers (s)"
    )
    parser.add_argument("--drain", type=float, default=300.0, help="attente finale (s)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
