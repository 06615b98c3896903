"""Peak memory of a streamed CSV export of 1,000,000 facts, against baselines.

Usage (from the repository root)::

    .venv/bin/python benchmarks/export_csv.py                 # 1e6 facts, SQLite
    .venv/bin/python benchmarks/export_csv.py --facts 100000 --db sqlite:////tmp/b.db
    .venv/bin/python benchmarks/export_csv.py --xlsx           # also time the XLSX

The database is built once (Core bulk inserts, 10,000 rows per statement) and reused
when it already holds the requested number of facts. Each measurement then runs in
a fresh process, so that its peak resident set size (``ru_maxrss``) is its own:

- ``idle``: the app loaded and a référent logged in (the floor);
- ``streamed``: ``GET /exports/signalements.csv`` through the WSGI app, chunks read
  and dropped as a client would;
- ``body``: the same response read whole into memory (a view that builds the CSV
  as one string before answering);
- ``naive``: the textbook view: every fact as an ORM object in a list, then the CSV
  written to one string;
- ``xlsx`` (with ``--xlsx``): ``GET /exports/signalements.xlsx``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DB = "sqlite:////tmp/orfi-bench-export.sqlite3"
EMAIL = "referent@bench.example"
PASSWORD = "bench-password-42"
LIMIT_MB = 300


def _app(db_url: str):
    from orfi import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": db_url,
            "SECRET_KEY": "bench",
            "ORFI_SECRET_KEY": "bench",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            # The login is a means, not the measure: no CSRF token to fetch first.
            "WTF_CSRF_ENABLED": False,
        }
    )


def build(db_url: str, n_facts: int) -> None:
    """Create the schema and ``n_facts`` facts of one bailleur, unless present."""
    import sqlalchemy as sa

    from orfi.auth.models import Role, User
    from orfi.extensions import db
    from orfi.geo.points import h3_cell
    from orfi.nomenclature.models import Category
    from orfi.nomenclature.services import load_default_nomenclature
    from orfi.patrimoine.models import Organisation, OrganisationKind, Residence
    from orfi.patrimoine.services import create_organisation
    from orfi.reports.models import LocationSource, Report, Status
    from orfi.timezone import to_local

    app = _app(db_url)
    with app.app_context():
        db.create_all()
        existing = db.session.scalar(sa.select(sa.func.count(Report.id)))
        if existing == n_facts:
            print(f"Base existante : {existing:,} faits.".replace(",", " "))
            return
        if existing:
            sys.exit(
                f"La base contient {existing} faits, pas {n_facts} : supprimez-la "
                "ou choisissez --db."
            )
        load_default_nomenclature()
        organisation = db.session.scalar(
            sa.select(Organisation).where(Organisation.code == "BENCH")
        ) or create_organisation(
            code="BENCH", name="Bailleur de mesure", kind=OrganisationKind.OPH
        )
        rng = random.Random(7)
        residences = []
        for i in range(200):
            lat = 43.55 + rng.random() * 0.1
            lon = 1.38 + rng.random() * 0.12
            residence = Residence(
                organisation_id=organisation.id,
                reference=f"R{i:04d}",
                name=f"Résidence {i}",
                address=f"{i} rue de la Mesure",
                commune_insee="31555",
                commune_name="Toulouse",
                logements=rng.randint(20, 400),
                qpv_code="QP031007" if i % 4 == 0 else None,
                qpv_generation="2015" if i % 4 == 0 else None,
                latitude=lat,
                longitude=lon,
            )
            db.session.add(residence)
            residences.append(residence)
        user = User(
            email=EMAIL,
            name="Référent de mesure",
            role=Role.REFERENT,
            organisation_id=organisation.id,
        )
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.flush()
        categories = list(
            db.session.scalars(
                sa.select(Category.id).where(
                    Category.organisation_id == organisation.id
                )
            )
        )
        cells = {
            r.id: (r.latitude, r.longitude, h3_cell(r.latitude, r.longitude, 7),
                   h3_cell(r.latitude, r.longitude, 9))
            for r in residences
        }  # fmt: skip
        user_id, org_id = user.id, organisation.id
        db.session.commit()

        words = ("porte", "hall", "forcée", "tags", "cave", "ascenseur", "vitre",
                 "boîtes", "éclairage", "attroupement", "dépôt", "bruit")  # fmt: skip
        now = datetime.now(UTC)
        started = time.perf_counter()
        batch = []
        for i in range(n_facts):
            residence_id = rng.choice(residences).id
            lat, lon, h7, h9 = cells[residence_id]
            at = now - timedelta(seconds=rng.randint(3600, 360 * 86400))
            local = to_local(at)
            batch.append(
                {
                    "uuid": uuid.UUID(int=rng.getrandbits(128)),
                    "reference": f"BENCH-{local.year}-{i:07d}",
                    "organisation_id": org_id,
                    "residence_id": residence_id,
                    "category_id": rng.choice(categories),
                    "author_id": user_id,
                    "occurred_at": at,
                    "created_at": at,
                    "occurred_month": local.year * 100 + local.month,
                    "occurred_weekday": local.weekday(),
                    "occurred_hour": local.hour,
                    "latitude": lat,
                    "longitude": lon,
                    "gps_accuracy_m": 12.0,
                    "location_source": LocationSource.GPS,
                    "h3_r7": h7,
                    "h3_r9": h9,
                    "gravity": rng.randint(1, 4),
                    "damage_cost_eur": rng.choice((None, 80, 250, 1200)),
                    "description": " ".join(rng.choices(words, k=8)).capitalize(),
                    "status": Status.NOUVEAU,
                    "mission_service_public": False,
                }
            )
            if len(batch) == 10_000:
                db.session.execute(sa.insert(Report), batch)
                db.session.commit()
                batch.clear()
                if (i + 1) % 100_000 == 0:
                    print(f"  {i + 1:>9,} faits".replace(",", " "), flush=True)
        if batch:
            db.session.execute(sa.insert(Report), batch)
            db.session.commit()
        elapsed = time.perf_counter() - started
        print(f"{n_facts:,} faits insérés en {elapsed:.0f} s.".replace(",", " "))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(db_url: str, mode: str) -> dict:
    """Run one measurement in this process; return its figures."""
    app = _app(db_url)
    client = app.test_client()
    with app.app_context():
        response = client.post(
            "/connexion", data={"email": EMAIL, "password": PASSWORD}
        )
        assert response.status_code == 302, "login failed"
    started = time.perf_counter()
    size = rows = 0
    if mode in ("streamed", "xlsx"):
        fmt = "csv" if mode == "streamed" else "xlsx"
        response = client.get(f"/exports/signalements.{fmt}", buffered=False)
        assert response.status_code == 200, response.status_code
        for chunk in response.response:
            size += len(chunk)
            rows += chunk.count(b"\r\n")
        response.close()
    elif mode == "body":
        response = client.get("/exports/signalements.csv")
        body = response.get_data()
        size, rows = len(body), body.count(b"\r\n")
    elif mode == "naive":
        size, rows = _naive_csv(app)
    return {
        "mode": mode,
        "peak_rss_mb": round(_peak_mb(), 1),
        "seconds": round(time.perf_counter() - started, 1),
        "bytes": size,
        "rows": rows,
    }


def _naive_csv(app) -> tuple[int, int]:
    """Every fact as an ORM object in a list, then one CSV string (the anti-pattern)."""
    import sqlalchemy as sa

    from orfi.extensions import db
    from orfi.nomenclature.models import Category
    from orfi.reports.models import Report

    with app.app_context():
        reports = db.session.scalars(
            sa.select(Report).options(
                sa.orm.joinedload(Report.category).joinedload(Category.family),
                sa.orm.joinedload(Report.residence),
            )
        ).all()
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";")
        for r in reports:
            writer.writerow(
                [r.reference, r.occurred_at, r.category.code, r.category.label,
                 r.category.family.code, r.residence.name, r.residence.commune_insee,
                 r.latitude, r.longitude, r.description]
            )  # fmt: skip
        body = ("\ufeff" + buffer.getvalue()).encode("utf-8")
        return len(body), len(reports)


def _child(db_url: str, mode: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--db", db_url, "--measure", mode],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _n(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f")


def main() -> None:
    """Build the database if needed, run each measurement, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=1_000_000)
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--xlsx", action="store_true", help="also measure the XLSX")
    parser.add_argument(
        "--skip-naive", action="store_true", help="skip the ORM-list baseline"
    )
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.db, args.measure)))
        return

    build(args.db, args.facts)
    modes = ["idle", "streamed", "body"]
    if not args.skip_naive:
        modes.append("naive")
    if args.xlsx:
        modes.append("xlsx")
    results = {mode: _child(args.db, mode) for mode in modes}
    print()
    print(f"{'mesure':<10} {'pic RSS':>10} {'durée':>8} {'octets':>14} {'lignes':>10}")
    for r in results.values():
        print(
            f"{r['mode']:<10} {r['peak_rss_mb']:>7.1f} Mo {r['seconds']:>6.1f} s "
            f"{r['bytes']:>14,} {r['rows']:>10,}".replace(",", " ")
        )
    streamed, body = results["streamed"], results["body"]
    idle = results["idle"]["peak_rss_mb"]
    print()
    facts = streamed["rows"] - 1
    speed = facts / max(streamed["seconds"], 0.1)
    print(
        f"Export en flux : pic {streamed['peak_rss_mb']:.0f} Mo "
        f"(+{streamed['peak_rss_mb'] - idle:.0f} Mo au-dessus de l'application au "
        f"repos), {_n(facts)} faits à {_n(speed)} faits/s."
    )
    print(
        f"Réponse construite en mémoire : pic {body['peak_rss_mb']:.0f} Mo, "
        f"soit {body['peak_rss_mb'] / streamed['peak_rss_mb']:.1f} × le flux."
    )
    if "naive" in results:
        naive = results["naive"]
        print(
            f"Liste d'objets ORM puis CSV : pic {naive['peak_rss_mb']:.0f} Mo, "
            f"soit {naive['peak_rss_mb'] / streamed['peak_rss_mb']:.1f} × le flux."
        )
    verdict = "OK" if streamed["peak_rss_mb"] < LIMIT_MB else "DÉPASSÉ"
    print(f"Objectif < {LIMIT_MB} Mo pour le flux : {verdict}.")
    if streamed["peak_rss_mb"] >= LIMIT_MB:
        sys.exit(1)


if __name__ == "__main__":
    main()
