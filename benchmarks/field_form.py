"""Benchmark of the field form (« Signaler un fait ») at 150 to 20,000 résidences.

For each size N it builds a fresh SQLite database (``db.create_all``) holding one
bailleur with N résidences (two bâtiments each) around Toulouse, a référent (whose
perimeter is the whole bailleur) and a gardien whose sector is every résidence, then
measures ``GET /signalements/nouveau`` with Flask's test client for both users: the
median server time of ``--repeat`` runs after one warm-up, and the page's bytes. It
also times the résidence search (``/signalements/nouveau/residences?q=``) and the
nearest résidences to a position, and the other pages that once listed the whole
patrimoine (issue 17, point 4): statistics, map and activity forms for the référent,
the user forms and the users' list for an administrator. Ratios are to the first size.

The claim it checks: bytes and time stay flat from 150 to 20,000 résidences.

Usage::

    .venv/bin/python benchmarks/field_form.py
    .venv/bin/python benchmarks/field_form.py --sizes 150 2000 20000 --repeat 15
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_SIZES = (150, 2_000, 20_000)
PASSWORD = "un-mot-de-passe-de-banc-42"


def build(n: int):
    """A Flask app on a fresh database of one bailleur with ``n`` résidences."""
    import sqlalchemy as sa

    from orfi import create_app
    from orfi.auth.models import Role, User, user_residence
    from orfi.extensions import db
    from orfi.nomenclature.services import load_default_nomenclature
    from orfi.patrimoine.models import (
        Batiment,
        Organisation,
        OrganisationKind,
        Residence,
    )

    folder = Path(tempfile.mkdtemp(prefix="orfi-bench-form-"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "ORFI_SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        db.create_all()
        load_default_nomenclature()
        organisation = Organisation(
            code="BENCH", name="Bailleur du banc", kind=OrganisationKind.OPH
        )
        db.session.add(organisation)
        db.session.flush()
        db.session.execute(
            sa.insert(Residence),
            [
                {
                    "organisation_id": organisation.id,
                    "reference": f"R{i:06d}",
                    "name": f"Résidence {i:06d}",
                    "address": f"{i} avenue du Banc",
                    "commune_insee": "31555",
                    "commune_name": "Toulouse",
                    "logements": 40,
                    "latitude": 43.5 + (i % 200) * 0.001,
                    "longitude": 1.3 + (i // 200) * 0.001,
                }
                for i in range(n)
            ],
        )
        ids = db.session.scalars(sa.select(Residence.id)).all()
        db.session.execute(
            sa.insert(Batiment),
            [
                {"residence_id": rid, "reference": f"B{k}", "address": ""}
                for rid in ids
                for k in (1, 2)
            ],
        )
        users = {}
        for role in (Role.REFERENT, Role.GARDIEN, Role.ADMIN):
            user = User(
                email=f"{role.value}@banc.example",
                name=role.value,
                role=role,
                organisation_id=organisation.id,
            )
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.flush()
            users[role] = (user.email, user.id)
            if role is Role.GARDIEN:
                db.session.execute(
                    sa.insert(user_residence),
                    [{"user_id": user.id, "residence_id": rid} for rid in ids],
                )
        db.session.commit()
    return app, users


def measure(client, url: str, repeat: int) -> tuple[float, int]:
    """Median milliseconds of ``repeat`` GETs of ``url`` (after a warm-up), bytes."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), len(response.data)


#: Pages that once listed every résidence, by the role that opens them ({referent}
#: is the référent's id).
OTHER_PAGES = {
    "referent": [
        ("statistics", "/statistiques/"),
        ("map", "/carte/"),
        ("meeting form", "/activite/reunions/nouvelle"),
        ("intervention form", "/activite/interventions/nouvelle"),
    ],
    "admin": [
        ("user form (new)", "/admin/utilisateurs/nouveau"),
        ("user form (edit)", "/admin/utilisateurs/{referent}"),
        ("users list", "/admin/utilisateurs"),
    ],
}


def run(n: int, repeat: int) -> dict[str, tuple[float, int]]:
    """Measures for ``n`` résidences, by name."""
    app, users = build(n)
    results = {}
    referent_id = next(
        uid for role, (_, uid) in users.items() if role.value == "referent"
    )
    for role, (email, _) in users.items():
        with app.test_client() as client:
            login = client.post(
                "/connexion", data={"email": email, "password": PASSWORD}
            )
            assert login.status_code == 302, login.status_code
            if role.value != "admin":
                results[f"form ({role.value})"] = measure(
                    client, "/signalements/nouveau", repeat
                )
                results[f"search ({role.value})"] = measure(
                    client, "/signalements/nouveau/residences?q=sidence%200001", repeat
                )
                results[f"nearest ({role.value})"] = measure(
                    client,
                    "/signalements/nouveau/residences?latitude=43.55&longitude=1.35",
                    repeat,
                )
            for name, url in OTHER_PAGES.get(role.value, []):
                results[name] = measure(
                    client, url.format(referent=referent_id), repeat
                )
    return results


def main() -> None:
    """Print the table of times and bytes for each size, with ratios to the first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES)
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    table = {n: run(n, args.repeat) for n in args.sizes}
    first = table[args.sizes[0]]
    print(f"median of {args.repeat} runs after a warm-up; ratios to {args.sizes[0]}")
    print(f"{'résidences':>10}  {'page':<20} {'ms':>8} {'×':>5} {'bytes':>9} {'×':>5}")
    for n, results in table.items():
        for name, (ms, size) in results.items():
            base_ms, base_size = first[name]
            print(
                f"{n:>10}  {name:<20} {ms:>8.1f} {ms / base_ms:>5.2f} "
                f"{size:>9} {size / base_size:>5.2f}"
            )


if __name__ == "__main__":
    main()
