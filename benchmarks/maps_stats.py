"""Benchmark of the map and statistics pages at 10,000 to 1,000,000 facts.

For each size N it builds a fresh database with ``orfi init`` and ``orfi demo --reports
N``, then, in a new Python process (so that its peak memory is that of one server
worker), logs in as the largest bailleur's référent and measures with Flask's test
client:

- the map page as a browser first loads it: the page (which carries the résidences
  layer), the folium scaffold (``/carte/carte.js``) and the first data request
  (``/carte/donnees.json`` for the whole perimeter at zoom 11, layers hex and facts,
  as map-page.js asks: the page carries the hot résidences): server time (sum of
  the three) and bytes (sum of the three bodies);
- a street-level data request (zoom 16 on the résidence with most facts, all
  layers, facts one by one when few);
- the statistics page: server time and bytes;
- the peak resident memory of that process (``ru_maxrss``).

Times are medians of ``--repeat`` runs after one warm-up run (the first request of a
process also pays imports and caches: reported apart as "cold"). At N = 10,000 the
naive baseline, the same facts (same user, same 12 months) drawn as one folium
``Marker`` per fact with a popup, directly on the map and in a ``MarkerCluster``, is
measured in a process of its own, and the ratios printed.

Usage::

    .venv/bin/python benchmarks/maps_stats.py                 # 1e4, 1e5, 1e6 on SQLite
    .venv/bin/python benchmarks/maps_stats.py --sizes 10000 --repeat 3
    .venv/bin/python benchmarks/maps_stats.py --backend postgresql \\
        --server-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Databases go to ``--workdir`` (default /tmp/orfi-bench) and are kept with ``--reuse``.
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

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
BASELINE_SIZE = 10_000


# --------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------


def database_url(backend: str, workdir: Path, n: int, server_url: str | None) -> str:
    """The URL of the benchmark database for ``n`` facts."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'orfi-bench-{n}.sqlite3'}"
    from sqlalchemy.engine import make_url

    return (
        make_url(server_url)
        .set(database=f"orfi_bench_{n}")
        .render_as_string(hide_password=False)
    )


def _database_exists(backend: str, url: str) -> bool:
    """Whether the benchmark database already holds facts (for --reuse)."""
    if backend == "sqlite":
        return Path(url.removeprefix("sqlite:///")).exists()
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            count = connection.exec_driver_sql("SELECT count(*) FROM report").scalar()
            return bool(count)
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def build_database(backend: str, url: str, n: int, server_url: str | None) -> float:
    """Create a fresh database of ``n`` demo facts; return the seconds it took."""
    if backend == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
    env = {**os.environ, "ORFI_DATABASE_URL": url, "ORFI_ENV": "development"}
    orfi = str(Path(PYTHON).parent / "orfi")
    started = time.perf_counter()
    subprocess.run([orfi, "init"], env=env, check=True, capture_output=True)
    subprocess.run(
        [orfi, "demo", "--reports", str(n)], env=env, check=True, capture_output=True
    )
    if backend == "postgresql":
        # Index-only scans need the visibility map a VACUUM writes after a bulk load,
        # and every table its statistics (autovacuum's work on a live server): with
        # none on the follow-up actions, PostgreSQL hashed all 550,000 of them to find
        # the facts without one (« en retard », 0.9 s instead of 0.2 s).
        import sqlalchemy as sa

        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        engine.dispose()
    return time.perf_counter() - started


# --------------------------------------------------------------------------------------
# Measures (each in a process of its own)
# --------------------------------------------------------------------------------------


def _login():
    """A logged-in test client of the largest bailleur's référent, and the app."""
    from orfi import create_app
    from orfi.auth.models import Role
    from orfi.demo.world import DEMO_LOGINS

    login = next(
        item
        for item in DEMO_LOGINS
        if item.role is Role.REFERENT and item.affiliation == "TMH"
    )
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": os.environ["BENCH_DATABASE_URL"],
            "SECRET_KEY": "benchmark",
            "WTF_CSRF_ENABLED": False,
            "ORFI_TILE_URL": "",
        }
    )
    client = app.test_client()
    response = client.post(
        "/connexion", data={"email": login.email, "password": login.password}
    )
    assert response.status_code == 302, response.status_code
    return app, client, login.email


def _timed(client, url: str) -> tuple[float, float, int]:
    """Wall time, CPU time of this process (the server's work on SQLite: unlike wall
    time, it does not grow when other programs share the CPUs), body size."""
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(url)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, cpu, len(response.data)


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_pages(repeat: int) -> dict:
    """Measure the map and statistics pages (run in a fresh process)."""
    app, client, email = _login()
    with app.app_context():
        from orfi.auth.models import User
        from orfi.extensions import db
        from orfi.maps.services import perimeter_bounds
        from orfi.stats.filters import list_filter_choices, read_filters
        from orfi.stats.services import count_reports_by_residence, residence_frame

        user = db.session.scalar(db.select(User).where(User.email == email))
        choices = list_filter_choices(user)
        filters, _ = read_filters({}, choices)
        (south, west), (north, east) = perimeter_bounds(residence_frame(choices))
        counts = count_reports_by_residence(user, filters, {"current": filters.period})
        top = counts.groupby("residence_id")["current"].sum().idxmax()
        residence = next(r for r in choices.residences if r.id == top)
        lat, lon = residence.latitude, residence.longitude
        facts_in_period = int(counts["current"].sum())
        db.session.remove()
    query = "&".join(f"{k}={v}" for k, v in filters.query_args().items())
    first_view = (
        f"/carte/donnees.json?{query}&z=11&bbox={west},{south},{east},{north}"
        "&layers=hex,facts"
    )
    street = (
        f"/carte/donnees.json?{query}&z=16"
        f"&bbox={lon - 0.006},{lat - 0.003},{lon + 0.006},{lat + 0.003}"
        "&layers=hex,gi,heat,facts"
    )
    urls = {
        "map_page": "/carte/",
        "map_script": "/carte/carte.js",
        "map_data": first_view,
        "street_data": street,
        "stats_page": "/statistiques/",
    }
    cold = {name: _timed(client, url)[0] for name, url in urls.items()}
    runs: dict[str, list[float]] = {name: [] for name in urls}
    cpu_runs: dict[str, list[float]] = {name: [] for name in urls}
    sizes: dict[str, int] = {}
    for _ in range(repeat):
        for name, url in urls.items():
            elapsed, cpu, size = _timed(client, url)
            runs[name].append(elapsed)
            cpu_runs[name].append(cpu)
            sizes[name] = size
    median = {name: statistics.median(values) for name, values in runs.items()}
    cpu = {name: statistics.median(values) for name, values in cpu_runs.items()}
    return {
        "map_cpu_s": cpu["map_page"] + cpu["map_script"] + cpu["map_data"],
        "stats_cpu_s": cpu["stats_page"],
        "facts_in_period": facts_in_period,
        "map_s": median["map_page"] + median["map_script"] + median["map_data"],
        "map_bytes": sizes["map_page"] + sizes["map_script"] + sizes["map_data"],
        "map_parts_s": {k: median[k] for k in ("map_page", "map_script", "map_data")},
        "map_parts_bytes": {
            k: sizes[k] for k in ("map_page", "map_script", "map_data")
        },
        "street_s": median["street_data"],
        "street_bytes": sizes["street_data"],
        "stats_s": median["stats_page"],
        "stats_bytes": sizes["stats_page"],
        "cold_s": cold,
        "peak_mb": _peak_mb(),
        "load_average": os.getloadavg()[0],
    }


def naive_map(user, filters, *, cluster: bool) -> str:
    """The peers' map: every fact of the period as a folium Marker with a popup."""
    import folium
    from folium.plugins import MarkerCluster
    from markupsafe import escape
    from sqlalchemy.orm import joinedload

    from orfi.extensions import db
    from orfi.reports.models import Report
    from orfi.reports.queries import counted_reports, visible_reports
    from orfi.timezone import to_local

    lo, hi = filters.period.bounds()
    reports = db.session.scalars(
        counted_reports(visible_reports(user))
        .where(Report.occurred_at >= lo, Report.occurred_at < hi)
        .options(joinedload(Report.category), joinedload(Report.residence))
    ).all()
    m = folium.Map(location=[43.60, 1.44], zoom_start=12)
    target = MarkerCluster().add_to(m) if cluster else m
    for report in reports:
        popup = (
            f"<b>{escape(report.reference)}</b><br>{escape(report.category.display)}"
            f"<br>{to_local(report.occurred_at):%d/%m/%Y %H:%M} · "
            f"{escape(report.residence.name)}"
            f'<br><a href="/signalements/{report.uuid}">Ouvrir le fait</a>'
        )
        folium.Marker(
            [report.latitude, report.longitude], popup=folium.Popup(popup)
        ).add_to(target)
    return m.get_root().render()


def measure_naive(repeat: int) -> dict:
    """Measure the naive baselines (run in a fresh process)."""
    app, _client, email = _login()
    results = {}
    with app.app_context():
        from orfi.auth.models import User
        from orfi.extensions import db
        from orfi.stats.filters import list_filter_choices, read_filters

        user = db.session.scalar(db.select(User).where(User.email == email))
        filters, _ = read_filters({}, list_filter_choices(user))
        for name, cluster in (("markers", False), ("cluster", True)):
            naive_map(user, filters, cluster=cluster)  # warm-up
            times, size = [], 0
            for _ in range(repeat):
                started = time.perf_counter()
                html = naive_map(user, filters, cluster=cluster)
                times.append(time.perf_counter() - started)
                size = len(html.encode())
                db.session.expire_all()
            results[name] = {"s": statistics.median(times), "bytes": size}
    results["peak_mb"] = _peak_mb()
    return results


def _run_measure(kind: str, url: str, repeat: int) -> dict:
    env = {**os.environ, "BENCH_DATABASE_URL": url, "ORFI_ENV": "development"}
    output = subprocess.run(
        [PYTHON, __file__, f"--measure-{kind}", "--repeat", str(repeat)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def _n(value: float, decimals: int = 0) -> str:
    return f"{value:,.{decimals}f}".replace(",", "\u202f")


def _ms(seconds: float) -> str:
    return f"{_n(seconds * 1000)} ms"


def _kb(size: int) -> str:
    return f"{_n(size / 1024, 1)} KB"


def report(results: dict, baseline: dict | None, backend: str) -> str:
    """The Markdown table of the results."""
    lines = [
        f"Backend: {backend}, {os.cpu_count()} CPUs. Medians of wall time (server "
        "process CPU time in brackets; on PostgreSQL the database's work is in its "
        "own processes); map = page + carte.js + first donnees.json; load = 1-min "
        "load average after measuring.",
        "",
        "| N facts | in period (user) | map page | map bytes | street data | "
        "statistics page | stats bytes | peak memory | cold map / stats | load |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, r in results.items():
        cold_map = sum(r["cold_s"][k] for k in ("map_page", "map_script", "map_data"))
        lines.append(
            f"| {_n(n)} | {_n(r['facts_in_period'])} | {_ms(r['map_s'])} "
            f"({_ms(r['map_cpu_s'])} CPU) | "
            f"{_kb(r['map_bytes'])} | "
            f"{_ms(r['street_s'])} ({_kb(r['street_bytes'])}) | "
            f"{_ms(r['stats_s'])} ({_ms(r['stats_cpu_s'])} CPU) | "
            f"{_kb(r['stats_bytes'])} | "
            f"{_n(r['peak_mb'])} MB | {_ms(cold_map)} / "
            f"{_ms(r['cold_s']['stats_page'])} | {r.get('load_average', 0):.1f} |"
        )
    if baseline:
        ours = results[BASELINE_SIZE]
        lines += [
            "",
            f"Naive baseline at N = {_n(BASELINE_SIZE)} (same user, same 12 months, "
            "one folium Marker with a popup per fact):",
            "",
            "| map | build time | bytes | orfi faster by | orfi smaller by |",
            "|---|---:|---:|---:|---:|",
            f"| orfi (page + carte.js + data) | {_ms(ours['map_s'])} | "
            f"{_kb(ours['map_bytes'])} | — | — |",
        ]
        for name, label in (
            ("markers", "one Marker per fact"),
            ("cluster", "MarkerCluster"),
        ):
            b = baseline[name]
            lines.append(
                f"| {label} | {_ms(b['s'])} | {_kb(b['bytes'])} | "
                f"{_n(b['s'] / ours['map_s'])}× | "
                f"{_n(b['bytes'] / ours['map_bytes'])}× |"
            )
        lines.append(f"\nBaseline peak memory: {_n(baseline['peak_mb'])} MB.")
    return "\n".join(lines)


def main() -> None:
    """Build the databases, measure, print the table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/orfi-bench"))
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--server-url", help="PostgreSQL server (--backend postgresql)")
    parser.add_argument("--reuse", action="store_true", help="keep existing databases")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--measure-pages", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure-naive", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure_pages or args.measure_naive:
        sys.path.insert(0, str(ROOT))
        measure = measure_pages if args.measure_pages else measure_naive
        print(json.dumps(measure(args.repeat)))
        return

    if args.backend == "postgresql" and not args.server_url:
        parser.error("--server-url is required with --backend postgresql")
    args.workdir.mkdir(parents=True, exist_ok=True)
    results, baseline = {}, None
    for n in args.sizes:
        url = database_url(args.backend, args.workdir, n, args.server_url)
        exists = _database_exists(args.backend, url)
        if not (args.reuse and exists):
            print(f"Building {_n(n)} facts…", file=sys.stderr, flush=True)
            seconds = build_database(args.backend, url, n, args.server_url)
            print(f"  built in {seconds:.0f} s", file=sys.stderr, flush=True)
        print(f"Measuring {_n(n)}…", file=sys.stderr, flush=True)
        results[n] = _run_measure("pages", url, args.repeat)
        if n == BASELINE_SIZE:
            print("Measuring the naive baseline…", file=sys.stderr, flush=True)
            baseline = _run_measure("naive", url, max(1, min(args.repeat, 3)))
    table = report(results, baseline, args.backend)
    print(table)
    if args.json:
        args.json.write_text(
            json.dumps({"results": results, "baseline": baseline}, indent=2)
        )


if __name__ == "__main__":
    main()
