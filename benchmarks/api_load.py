"""Load and no-loss benchmark of the fact-filing API, against a bare Flask endpoint.

N submissions to POST /api/v1/reports from C concurrent clients (some resent with the
same UUID, some of them while the first send is still in flight), against gunicorn,
on SQLite and on PostgreSQL. Then the database is read back:

- stored == accepted: every UUID answered 201 or 200 is in the database, nothing else;
- no duplicate: one row per UUID, and a resend got the reference of the first send;
- no server error.

Throughput and p50/p95/p99 latency are printed side by side with a bare Flask endpoint
that does the same insert (the same row, through the same database driver, with the
same SQLite pragmas) and nothing else: no authentication, no validation, no ORM.

Usage (from the repository root)::

    .venv/bin/python benchmarks/api_load.py --backend sqlite --clients 32
    .venv/bin/python benchmarks/api_load.py --backend both \\
        --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

The figures are the median of ``--runs`` runs per endpoint (runs alternate).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The gunicorn of the virtualenv running this script (the project's .venv, or another).
GUNICORN = Path(sys.executable).parent / "gunicorn"
BUSY_TIMEOUT_S = 10


# ------------------------------------------------------------------- bare endpoint


def create_bare_app():
    """A Flask app with one endpoint inserting the fact's row, and nothing else.

    Configured by BARE_DATABASE (SQLite path or PostgreSQL conninfo), BARE_ORG_ID,
    BARE_AUTHOR_ID. Used as ``api_load:create_bare_app()`` by gunicorn.
    """
    from flask import Flask, jsonify, request

    app = Flask("bare")
    target = os.environ["BARE_DATABASE"]
    organisation_id = int(os.environ["BARE_ORG_ID"])
    author_id = int(os.environ["BARE_AUTHOR_ID"])
    postgres = target.startswith(("postgresql://", "host=", "dbname="))
    state: dict = {}

    def connection():
        # One connection per worker process, opened at its first request.
        if "connection" not in state:
            if postgres:
                import psycopg

                state["connection"] = psycopg.connect(target)
            else:
                connection = sqlite3.connect(target, isolation_level=None)
                connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
                connection.execute("PRAGMA foreign_keys = ON")
                connection.execute("PRAGMA temp_store = MEMORY")
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA synchronous = NORMAL")
                connection.execute(f"PRAGMA mmap_size = {1 << 30}")
                state["connection"] = connection
        return state["connection"]

    columns = (
        "uuid, reference, organisation_id, residence_id, category_id, author_id, "
        "occurred_at, created_at, occurred_month, occurred_weekday, occurred_hour, "
        "latitude, longitude, gps_accuracy_m, location_source, h3_r7, h3_r9, "
        "mission_service_public, description, status"
    )
    marks = ", ".join(["%s" if postgres else "?"] * 20)
    insert = (
        # A resend's row (same uuid, same reference) is not inserted twice.
        f"INSERT INTO report ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"
    )

    @app.post("/bare")
    def bare():
        data = request.get_json()
        fact_uuid = uuid.UUID(data["uuid"])
        now = datetime.now(UTC)
        occurred = datetime.fromisoformat(data["occurred_at"])
        if postgres:
            key, when, created = fact_uuid, occurred, now
        else:  # SQLAlchemy's storage formats on SQLite
            key = fact_uuid.hex
            when = occurred.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            created = now.strftime("%Y-%m-%d %H:%M:%S.%f")
        row = (
            key,
            "BARE-" + fact_uuid.hex[:24],
            organisation_id,
            data["residence_id"],
            data["category_id"],
            author_id,
            when,
            created,
            occurred.year * 100 + occurred.month,
            occurred.weekday(),
            occurred.hour,
            data["latitude"],
            data["longitude"],
            data.get("gps_accuracy_m"),
            "gps",
            0,
            0,
            False,
            data.get("description", ""),
            "nouveau",
        )
        db = connection()
        if postgres:
            try:
                with db.cursor() as cursor:
                    cursor.execute(insert, row)
                    created_now = cursor.rowcount == 1
                db.commit()
            except Exception:
                db.rollback()
                raise
        else:
            db.execute("BEGIN IMMEDIATE")
            try:
                created_now = db.execute(insert, row).rowcount == 1
                db.execute("COMMIT")
            except Exception:
                db.execute("ROLLBACK")
                raise
        return jsonify(uuid=str(fact_uuid)), 201 if created_now else 200

    return app


# ------------------------------------------------------------------------- world


@dataclass
class World:
    """The database prepared for a run, and what the clients need."""

    database_url: str
    token: str
    organisation_id: int
    author_id: int
    category_id: int
    residence_ids: list[int]
    positions: dict[int, tuple[float, float]]


def prepare_world(database_url: str) -> World:
    """Migrate a fresh database and create a bailleur, a gardien and their token."""
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from orfi import create_app
    from orfi.api.services import create_token
    from orfi.auth.models import Role, User
    from orfi.extensions import db
    from orfi.nomenclature.models import Category
    from orfi.nomenclature.services import load_default_nomenclature
    from orfi.patrimoine.models import OrganisationKind, Residence
    from orfi.patrimoine.services import create_organisation

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "bench",
            "TESTING": True,
        }
    )
    with app.app_context():
        import logging

        level = logging.getLogger().level
        upgrade()
        logging.getLogger().setLevel(level)
        load_default_nomenclature()
        organisation = create_organisation(
            code="BEN", name="Bailleur du banc", kind=OrganisationKind.OPH, region=""
        )
        residences = []
        for n in range(8):
            residence = Residence(
                organisation=organisation,
                reference=f"R{n}",
                name=f"Résidence {n}",
                latitude=43.60 + n * 0.01,
                longitude=1.44,
            )
            db.session.add(residence)
            residences.append(residence)
        db.session.flush()
        gardien = User(
            email="gardien@banc.fr",
            name="Gardien du banc",
            role=Role.GARDIEN,
            organisation=organisation,
            sector=residences,
        )
        gardien.password_hash = "!"
        db.session.add(gardien)
        db.session.flush()
        _, secret = create_token(gardien, "banc")
        category = db.session.scalar(
            db.select(Category).where(
                Category.organisation_id == organisation.id, Category.code == "TT01"
            )
        )
        world = World(
            database_url=database_url,
            token=secret,
            organisation_id=organisation.id,
            author_id=gardien.id,
            category_id=category.id,
            residence_ids=[r.id for r in residences],
            positions={r.id: (r.latitude, r.longitude) for r in residences},
        )
        db.session.commit()
        db.engine.dispose()
    return world


def read_back(database_url: str, bare: bool) -> tuple[int, int, set[str]]:
    """Return (rows, distinct uuids, uuids) of the facts of one endpoint."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    prefix = "BARE-%"
    condition = "reference LIKE :p" if bare else "reference NOT LIKE :p"
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(f"SELECT uuid FROM report WHERE {condition}"), {"p": prefix}
        ).all()
    engine.dispose()
    uuids = [str(uuid.UUID(str(r[0]))) for r in rows]
    return len(uuids), len(set(uuids)), set(uuids)


def empty_reports(database_url: str) -> None:
    """Delete the facts of a previous run (its events first)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM report_event"))
        connection.execute(sa.text("DELETE FROM report"))
        connection.execute(sa.text("DELETE FROM reference_counter"))
    engine.dispose()


# ------------------------------------------------------------------------ server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn serving one app on a free port."""

    def __init__(self, app_spec: str, env: dict, workers: int):
        self.port = free_port()
        command = [
            str(GUNICORN),
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--pythonpath",
            f"{ROOT},{ROOT / 'benchmarks'}",
            "--log-level",
            "warning",
            "--backlog",
            "2048",
            app_spec,
        ]
        self.process = subprocess.Popen(
            command, env={**os.environ, **env}, cwd=ROOT, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start: {command}")

    def stop(self) -> None:
        """Stop gunicorn and its workers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# ------------------------------------------------------------------------ client


@dataclass
class Result:
    """What one run measured."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    accepted: dict[str, str] = field(default_factory=dict)  # uuid -> reference
    mismatched: int = 0  # resends answered with another reference than the first
    errors: int = 0  # connections refused or reset
    elapsed: float = 0.0
    # Filled in after the run, from the database.
    rows: int = 0
    distinct: int = 0
    expected: int = 0
    lost: int = 0  # accepted, not stored
    phantom: int = 0  # stored, never accepted
    duplicated: int = 0

    @property
    def throughput(self) -> float:
        """Requests per second."""
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
        return ordered[index] * 1000


def build_payloads(world: World, count: int, resend_ratio: float, seed: int) -> list:
    """Return ``count`` request bodies; about ``resend_ratio`` of them resend a UUID."""
    rng = random.Random(seed)
    originals = max(1, round(count / (1 + resend_ratio)))
    now = datetime.now(UTC) - timedelta(minutes=5)
    bodies = []
    for n in range(originals):
        residence_id = rng.choice(world.residence_ids)
        lat, lon = world.positions[residence_id]
        bodies.append(
            {
                "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "category_id": world.category_id,
                "residence_id": residence_id,
                "occurred_at": (now - timedelta(seconds=n)).isoformat(),
                "latitude": round(lat + rng.uniform(-2e-4, 2e-4), 6),
                "longitude": round(lon + rng.uniform(-2e-4, 2e-4), 6),
                "gps_accuracy_m": round(rng.uniform(5, 40), 1),
                "location_source": "gps",
                "description": "Charge de test.",
            }
        )
    # Resends are placed right after their original (often still in flight).
    sequence = list(bodies)
    for _ in range(count - originals):
        index = rng.randrange(len(bodies))
        position = min(len(sequence), sequence.index(bodies[index]) + rng.randint(1, 8))
        sequence.insert(position, bodies[index])
    return sequence


async def _one(port: int, path: str, body: bytes, token: str | None) -> tuple:
    headers = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    request = ("\r\n".join(headers) + "\r\n\r\n").encode() + body
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    elapsed = time.perf_counter() - start
    head, _, payload = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, payload, elapsed


async def _load(port: int, path: str, bodies: list, token: str | None, clients: int):
    result = Result()
    queue: asyncio.Queue = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def client():
        while True:
            try:
                body = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                status, payload, elapsed = await _one(
                    port, path, json.dumps(body).encode(), token
                )
            except OSError:
                result.errors += 1
                continue
            result.latencies.append(elapsed)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status in (200, 201):
                reference = json.loads(payload).get("reference", body["uuid"])
                known = result.accepted.setdefault(body["uuid"], reference)
                if known != reference:
                    result.mismatched += 1

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    result.elapsed = time.perf_counter() - start
    return result


def run_load(port, path, bodies, token, clients) -> Result:
    """Send ``bodies`` with ``clients`` concurrent connections; measure each request."""
    return asyncio.run(_load(port, path, bodies, token, clients))


# ----------------------------------------------------------------------- driver


def sqlite_database(folder: str) -> tuple[str, str, callable]:
    path = Path(folder) / "bench.sqlite3"
    return f"sqlite:///{path}", str(path), lambda: None


def postgres_database(server_url: str) -> tuple[str, str, callable]:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"orfi_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    database = url.set(database=name)

    def drop():
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()

    conninfo = database.set(drivername="postgresql").render_as_string(
        hide_password=False
    )
    return database.render_as_string(hide_password=False), conninfo, drop


def bench_backend(name: str, args) -> dict:
    """Run both endpoints ``args.runs`` times on one backend; return the medians."""
    with tempfile.TemporaryDirectory() as folder:
        if name == "sqlite":
            database_url, bare_target, drop = sqlite_database(folder)
        else:
            database_url, bare_target, drop = postgres_database(args.pg_url)
        try:
            world = prepare_world(database_url)
            env_orfi = {
                "ORFI_DATABASE_URL": database_url,
                "ORFI_SECRET_KEY": "bench-secret",
                "ORFI_ENV": "production",
            }
            env_bare = {
                "BARE_DATABASE": bare_target,
                "BARE_ORG_ID": str(world.organisation_id),
                "BARE_AUTHOR_ID": str(world.author_id),
            }
            servers = {
                "orfi": Server("orfi:create_app()", env_orfi, args.workers),
                "bare": Server("api_load:create_bare_app()", env_bare, args.workers),
            }
            try:
                results: dict[str, list] = {"orfi": [], "bare": []}
                for run in range(args.runs):
                    for endpoint in ("orfi", "bare"):
                        empty_reports(database_url)
                        bodies = build_payloads(
                            world, args.requests, args.resend_ratio, seed=run
                        )
                        warmup = build_payloads(world, 200, 0.0, seed=1000 + run)
                        path = "/api/v1/reports" if endpoint == "orfi" else "/bare"
                        token = world.token if endpoint == "orfi" else None
                        port = servers[endpoint].port
                        run_load(port, path, warmup, token, args.clients)
                        empty_reports(database_url)
                        result = run_load(port, path, bodies, token, args.clients)
                        rows, distinct, stored = read_back(
                            database_url, endpoint == "bare"
                        )
                        result.rows, result.distinct = rows, distinct
                        result.lost = len(set(result.accepted) - stored)
                        result.phantom = len(stored - set(result.accepted))
                        result.duplicated = rows - distinct + result.mismatched
                        result.expected = len({b["uuid"] for b in bodies})
                        results[endpoint].append(result)
                        print(f"  {name} {endpoint} run {run + 1}: {summary(result)}")
            finally:
                for server in servers.values():
                    server.stop()
        finally:
            drop()
    return results


def summary(result: Result) -> str:
    """One line of figures for a run."""
    return (
        f"{result.throughput:7.0f} req/s  p50 {result.percentile(50):6.1f} ms  "
        f"p95 {result.percentile(95):6.1f} ms  p99 {result.percentile(99):6.1f} ms  "
        f"statuses {dict(sorted(result.statuses.items()))}  "
        f"stored {result.rows}/{result.expected}  lost {result.lost}  "
        f"duplicated {result.duplicated}  phantom {result.phantom}  "
        f"errors {result.errors}"
    )


def median_of(results: list[Result], attribute) -> float:
    return statistics.median(attribute(r) for r in results)


def report(all_results: dict, args) -> bool:
    """Print the table of medians; return whether every no-loss check held."""
    print()
    print(
        f"{args.requests} requests per run ({args.resend_ratio:.0%} resends), "
        f"{args.clients} concurrent clients, gunicorn {args.workers} sync workers, "
        f"median of {args.runs} runs"
    )
    header = (
        f"{'backend':<11}{'endpoint':<10}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}  {'lost':>5}{'dup':>5}{'5xx':>5}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for backend, results in all_results.items():
        for endpoint in ("orfi", "bare"):
            runs = results[endpoint]
            lost = sum(r.lost + r.phantom for r in runs)
            duplicated = sum(r.duplicated for r in runs)
            server_errors = sum(
                n for r in runs for s, n in r.statuses.items() if s >= 500
            ) + sum(r.errors for r in runs)
            if endpoint == "orfi":
                ok = ok and lost == duplicated == server_errors == 0
                ok = ok and all(r.rows == r.expected for r in runs)
            print(
                f"{backend:<11}{endpoint:<10}"
                f"{median_of(runs, lambda r: r.throughput):8.0f}"
                f"{median_of(runs, lambda r: r.percentile(50)):9.1f}"
                f"{median_of(runs, lambda r: r.percentile(95)):9.1f}"
                f"{median_of(runs, lambda r: r.percentile(99)):9.1f}"
                f"  {lost:>5}{duplicated:>5}{server_errors:>5}"
            )
        ratio = median_of(results["orfi"], lambda r: r.throughput) / median_of(
            results["bare"], lambda r: r.throughput
        )
        print(f"{backend:<11}orfi / bare throughput: {ratio:.0%}")
    print("no loss, no duplicate, no server error:", "yes" if ok else "NO")
    return ok


def main() -> None:
    """Parse the options, run the benchmark, exit 1 if a fact was lost or doubled."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="sqlite"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "ORFI_TEST_DATABASE_URL",
            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        ),
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--resend-ratio", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = {}
    for backend in backends:
        print(f"== {backend}")
        results[backend] = bench_backend(backend, args)
    sys.exit(0 if report(results, args) else 1)


if __name__ == "__main__":
    main()
