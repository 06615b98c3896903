"""Benchmark of the work queue's search, sorts and filters over 1,000,000 facts.

It builds a database with ``orfi init`` and ``orfi demo --reports N`` (the same bulk
load as benchmarks/maps_stats.py, whose helpers it uses: batched inserts with the
secondary indexes dropped and built again once; the full-text index's triggers fill
the index on the way), writes a rare word into a few facts' descriptions, then, in a
new Python process, logs in as the largest bailleur's référent (TMH) and asks the facts
list (``/signalements/``, the whole page: search, count, first page of 50, template)
with Flask's test client, for each kind of search:

- **reference**: full (``TMH-2026-000123``), number only (``123``), lower case
  without zeros (``tmh-2026-123``), for 10 facts drawn at random;
- **word, rare**: a word held by 12 facts; **word, common**: words of the demo's
  description templates (each in tens of thousands of facts);
- **résidence**: a résidence's name;
- **sort + filters**: each sort (date, gravity, status, résidence, both orders) with a
  filter (gravity 3, « non pris en charge », « en retard »), and a word with a sort.

Each kind: the median and the 95th percentile of every request (after one warm-up
request per URL); the target is under 200 ms. The ratio is against the named
baseline: the plain first page of the list with no search and no filter (what the
list cost before the work queue), and, for words, ``description LIKE '%word%'`` over
the same perimeter (the query a search without a full-text index would run).

Usage::

    .venv/bin/python benchmarks/search.py                    # 1e6 facts on SQLite
    .venv/bin/python benchmarks/search.py --reuse --repeat 5
    .venv/bin/python benchmarks/search.py --backend postgresql \\
        --server-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from maps_stats import (  # noqa: E402  (a sibling script, not a package)
    _database_exists,
    _login,
    build_database,
    database_url,
)

PYTHON = sys.executable
RARE_WORD = "zébrure"
RARE_FACTS = 12
COMMON_WORDS = ("hall", "entrée", "parking", "suspecté")


def seed_rare_word(url: str) -> None:
    """Append RARE_WORD to the description of RARE_FACTS facts of TMH (the triggers
    index it as any correction would)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as connection:
        ids = connection.exec_driver_sql(
            "SELECT r.id FROM report r JOIN organisation o"
            " ON o.id = r.organisation_id WHERE o.code = 'TMH'"
            f" ORDER BY r.id LIMIT {RARE_FACTS} OFFSET 1000"
        ).scalars()
        for report_id in list(ids):
            connection.execute(
                sa.text(
                    "UPDATE report SET description = description || :w WHERE id = :i"
                ),
                {"w": f" {RARE_WORD}", "i": report_id},
            )
    engine.dispose()


def _urls(app, email: str) -> dict[str, list[str]]:
    """The URLs of each kind of search, drawn from the database."""
    import random

    import sqlalchemy as sa

    from orfi.auth.models import User
    from orfi.extensions import db
    from orfi.patrimoine.models import Residence
    from orfi.reports.models import Report

    rng = random.Random(11)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        mine = sa.select(Report.id).where(
            Report.organisation_id == user.organisation_id
        )
        ids = db.session.scalars(mine).all()
        references = db.session.scalars(
            sa.select(Report.reference).where(Report.id.in_(rng.sample(ids, 10)))
        ).all()
        residences = db.session.scalars(
            sa.select(Residence.name)
            .where(Residence.organisation_id == user.organisation_id)
            .order_by(Residence.id)
            .limit(5)
        ).all()
        db.session.remove()

    def page(**query) -> str:
        return "/signalements/?" + urlencode(query)

    sorts = ("date", "gravite", "statut", "residence")
    refs = []
    for reference in references:
        prefix, year, number = reference.split("-")
        refs += [
            page(q=reference),
            page(q=str(int(number))),
            page(q=f"{prefix.lower()}-{year}-{int(number)}"),
        ]
    return {
        "baseline: first page, no search": [page()],
        "reference": refs,
        "word, rare": [page(q=RARE_WORD), page(q=RARE_WORD.upper())],
        "word, common": [page(q=w) for w in COMMON_WORDS],
        "résidence": [page(q=name) for name in residences],
        "sort + filter": [
            page(sort=s, order=o, **f)
            for s in sorts
            for o in ("asc", "desc")
            for f in ({"gravity": "3"}, {"unassigned": "y"}, {"late": "y"})
        ],
        "word + sort": [page(q=w, sort=s) for w in COMMON_WORDS[:2] for s in sorts],
    }


def _queries(app, email: str, repeat: int) -> dict[str, list[float]]:
    """Times of the database work alone (count + first page of 50) for the common
    words: through the full-text index, and with ``description LIKE '%word%'``."""
    import sqlalchemy as sa

    from orfi.auth.models import User
    from orfi.extensions import db
    from orfi.reports.models import Report
    from orfi.reports.queries import ReportFilters, filtered_reports, visible_reports

    def count_and_page(query) -> None:
        db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
        db.session.scalars(query.limit(50)).all()

    times: dict[str, list[float]] = {"query: full-text": [], "query: LIKE": []}
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        for word in COMMON_WORDS:
            like = visible_reports(user).where(Report.description.like(f"%{word}%"))
            queries = {
                "query: full-text": filtered_reports(user, ReportFilters(q=word)),
                "query: LIKE": like.order_by(Report.occurred_at.desc()),
            }
            for name, query in queries.items():
                count_and_page(query)  # warm-up
                for _ in range(repeat):
                    started = time.perf_counter()
                    count_and_page(query)
                    times[name].append(time.perf_counter() - started)
        db.session.remove()
    return times


def measure(repeat: int) -> dict:
    """Measure every kind (run in a fresh process)."""
    app, client, email = _login()
    results, cpu_times = {}, {}
    for kind, urls in _urls(app, email).items():
        times, cpu = [], []
        for url in urls:
            assert client.get(url).status_code == 200, url  # warm-up
            for _ in range(repeat):
                started, cpu_started = time.perf_counter(), time.process_time()
                response = client.get(url)
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
                assert response.status_code == 200, url
        results[kind], cpu_times[kind] = times, cpu
    results.update(_queries(app, email, repeat))
    return {"wall": results, "cpu": cpu_times}


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def report(measured: dict, backend: str, n: int) -> str:
    """The results as a Markdown table (wall time; CPU time of the server process,
    which on SQLite holds the database's work too and does not grow when other
    programs share the machine)."""
    results, cpu = measured["wall"], measured["cpu"]
    base = statistics.median(results["baseline: first page, no search"])
    lines = [
        f"{backend}, {n:,} facts, load average {os.getloadavg()[0]:.1f}",
        "",
        "| kind | requests | median | p95 | CPU median | CPU p95 | median / first page"
        " | p95 < 200 ms |",
        "|---|---:|---:|---:|---:|---:|---:|:-:|",
    ]
    for kind, times in results.items():
        median, p95 = statistics.median(times), _p95(times)
        own = cpu.get(kind)
        cpu_median = f"{statistics.median(own) * 1000:.0f} ms" if own else "—"
        cpu_p95 = f"{_p95(own) * 1000:.0f} ms" if own else "—"
        lines.append(
            f"| {kind} | {len(times)} | {median * 1000:.0f} ms | {p95 * 1000:.0f} ms"
            f" | {cpu_median} | {cpu_p95} | {median / base:.2f}"
            f" | {'yes' if p95 < 0.2 else 'no'} |"
        )
    like = statistics.median(results["query: LIKE"])
    words = statistics.median(results["query: full-text"])
    lines += [
        "",
        "query = the database work alone (count + first page) for the common words;",
        f"the full-text index against LIKE '%word%': {like / words:.1f}× as fast",
    ]
    return "\n".join(lines)


def main() -> None:
    """Build the database, measure in a fresh process, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/orfi-bench-search"))
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--server-url", help="PostgreSQL server (--backend postgresql)")
    parser.add_argument("--reuse", action="store_true", help="keep the database")
    parser.add_argument("--json", type=Path, help="also write the raw times here")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.repeat)))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    url = database_url(args.backend, args.workdir, args.size, args.server_url)
    if args.backend == "postgresql":  # not the maps benchmark's database
        url = url.replace("orfi_bench_", "orfi_bench_search_")
    if not (args.reuse and _database_exists(args.backend, url)):
        seconds = build_database(args.backend, url, args.size, args.server_url)
        seed_rare_word(url)
        print(f"built {args.size:,} facts in {seconds:.0f} s", flush=True)
    output = subprocess.run(
        [PYTHON, __file__, "--measure", "--repeat", str(args.repeat)],
        env={**os.environ, "BENCH_DATABASE_URL": url},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    results = json.loads(output.strip().splitlines()[-1])
    print(report(results, args.backend, args.size))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
