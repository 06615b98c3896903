"""Patrol priorities on the demo (issue 14, point 5): back-test against the naive list.

The demo's world (``orfi demo``: nine Toulouse-area bailleurs, their résidences, 18
months of facts with hot résidences, bursts, evenings and weekends) is built in a
temporary SQLite database, its facts drawn by the demo's own generator (not written:
only the arrays are read). For each bailleur (one perimeter, its résidences as the
places), the rolling back-test over the last 52 complete weeks compares:

- **naive**: the résidences with the most facts in the 4 weeks before the week;
- **décroissance**: orfi's score from decayed recent facts only;
- **+ répétitions proches**: with near-repeat weighting for the categories whose Knox
  test (999 permutations, facts of the 26 weeks *before* the back-test year, so no
  look-ahead) has a significant cell;
- **+ alerte précoce**: the early-warning statuses (``unit_statuses`` on weekly counts
  per résidence; the demo's history is shorter than two years, so the CUSUM) boost
  the score — the full method, the one the sheet uses.

Printed per bailleur and list: pooled hit rate and PAI (coverage in logements), the
median over weeks, weeks won/lost against naive and the verdict; then the time to
build one week's list (usual hours included) and the whole back-test.

Usage::

    .venv/bin/python benchmarks/patrol.py                  # about a minute
    .venv/bin/python benchmarks/patrol.py --reports 3000   # orfi demo's default size
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from orfi.earlywarning.nearrepeat import NearRepeatParams, knox_by_category
from orfi.earlywarning.patrol import PatrolParams, backtest, patrol_list
from orfi.earlywarning.series import week_monday, weekly_counts
from orfi.earlywarning.status import unit_statuses

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
WEEKS = 52


def demo_facts(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo's facts (drawn, not written) and résidences, as tables."""
    from orfi import create_app
    from orfi.demo.facts import PROFILES, draw_facts
    from orfi.demo.world import build_world
    from orfi.extensions import db

    folder = tempfile.mkdtemp(prefix="orfi-patrol-")
    url = f"sqlite:///{folder}/bench.db"
    orfi = str(Path(sys.executable).parent / "orfi")
    env = {**os.environ, "ORFI_DATABASE_URL": url, "ORFI_ENV": "development"}
    subprocess.run([orfi, "init"], env=env, check=True, capture_output=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "benchmark"})
    with app.app_context():
        world = build_world(seed)
        drawn = draw_facts(world, n, seed=seed, now=NOW)
        db.session.rollback()  # nothing is kept: only the arrays are read
    code_of = {}
    for code in PROFILES:
        if code in world.category_ids:
            for category_id in world.category_ids[code].tolist():
                code_of[category_id] = code
    when = (
        pd.DatetimeIndex(drawn.occurred_s.astype("datetime64[s]"))
        .tz_localize("UTC")
        .tz_convert("Europe/Paris")
        .tz_localize(None)
    )
    facts = pd.DataFrame(
        {
            "when": when,
            "place": world.residence_ids[drawn.residence],
            "category": [code_of[c] for c in drawn.category_id.tolist()],
            "lon": drawn.longitude,
            "lat": drawn.latitude,
            "bailleur": np.asarray(world.organisation_codes)[drawn.organisation],
        }
    )
    places = pd.DataFrame(
        {
            "place": world.residence_ids,
            "logements": world.residence_logements,
            "lon": world.residence_longitude,
            "lat": world.residence_latitude,
            "bailleur": np.asarray(world.organisation_codes)[
                world.residence_organisation
            ],
        }
    )
    return facts, places


def significant_categories(facts: pd.DataFrame, before, weeks: int) -> set:
    """Categories with a significant Knox cell on the facts of the ``weeks`` weeks
    before ``before``."""
    from orfi.earlywarning.nearrepeat import project_lonlat

    start = pd.Timestamp(before) - pd.Timedelta(weeks=weeks)
    past = facts[(facts["when"] >= start) & (facts["when"] < pd.Timestamp(before))]
    x, y = project_lonlat(past["lon"], past["lat"])
    days = (past["when"] - start).dt.total_seconds().to_numpy() / 86_400
    results = knox_by_category(
        x, y, days, past["category"], NearRepeatParams(permutations=999)
    )
    return {
        category
        for category, result in results.items()
        if result.n_events >= 20 and len(result.significant())
    }


def statuses_for(facts: pd.DataFrame, places: pd.DataFrame, first, last):
    """``unit_statuses`` of every résidence for the weeks first..last."""
    counts = weekly_counts(
        facts["when"].to_numpy(),
        facts["place"].to_numpy(),
        end=last,
        all_units=places["place"].tolist(),
    )
    weeks = [w for w in counts.index if pd.Timestamp(first) <= w <= pd.Timestamp(last)]
    return unit_statuses(counts, weeks)


def line(name: str, summary: pd.Series, result) -> str:
    """One printed line of figures."""
    return (
        f"  {name:<24} hit {100 * summary['hit_rate']:5.1f} %  "
        f"couv. {100 * summary['coverage']:5.1f} %  PAI {summary['pai']:5.2f}  "
        f"médianes {100 * summary['median_hit_rate']:5.1f} % / "
        f"{summary['median_pai']:5.2f}"
        + (
            ""
            if result is None
            else f"  gagnées {result.wins:2d} perdues {result.losses:2d} "
            f"p = {result.p_value:.3f} {'BAT' if result.beats_naive else 'non'}"
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument(
        "--half-life", type=float, default=PatrolParams().half_life_weeks
    )
    args = parser.parse_args()
    started = time.perf_counter()
    facts, places = demo_facts(args.reports, args.seed)
    print(
        f"{len(facts)} demo facts, {len(places)} résidences, drawn in "
        f"{time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.2f}"
    )
    end = pd.Timestamp(week_monday([NOW.date()])[0])
    first = end - pd.Timedelta(weeks=WEEKS)
    params = PatrolParams(top=args.top, half_life_weeks=args.half_life)
    rows = []
    for bailleur, own in places.groupby("bailleur", sort=False):
        mine = facts[facts["bailleur"] == bailleur]
        wall = time.perf_counter()
        significant = significant_categories(mine, first, 26)
        knox_s = time.perf_counter() - wall
        wall = time.perf_counter()
        statuses = statuses_for(mine, own, first - pd.Timedelta(weeks=1), end)
        status_s = time.perf_counter() - wall
        print(
            f"{bailleur}: {len(own)} résidences, {len(mine)} facts; near-repeat in "
            f"{sorted(significant) or 'none'} (Knox {knox_s:.1f} s, statuses "
            f"{status_s:.1f} s)"
        )
        variants = {
            "décroissance": {},
            "+ répétitions proches": {"near_repeat": significant},
            "+ alerte précoce": {"near_repeat": significant, "statuses": statuses},
        }
        naive_printed = False
        for name, kwargs in variants.items():
            wall, cpu = time.perf_counter(), time.process_time()
            result = backtest(mine, own, end, weeks=WEEKS, params=params, **kwargs)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if not naive_printed:
                print(line("naive (4 semaines)", result.summary.loc["naive"], None))
                naive_printed = True
            print(line(name, result.summary.loc["methode"], result))
            rows.append(
                {
                    "bailleur": bailleur,
                    "variant": name,
                    "pai": result.summary.loc["methode", "pai"],
                    "naive_pai": result.summary.loc["naive", "pai"],
                    "hit": result.summary.loc["methode", "hit_rate"],
                    "naive_hit": result.summary.loc["naive", "hit_rate"],
                    "beats": result.beats_naive,
                    "backtest_s": wall,
                    "backtest_cpu": cpu,
                }
            )
        wall = time.perf_counter()
        listed = patrol_list(
            mine, own, end, near_repeat=significant, statuses=statuses, params=params
        )
        list_s = time.perf_counter() - wall
        print(f"  one week's list: {1000 * list_s:.0f} ms; first:")
        for row in listed.head(2).itertuples():
            print(f"    {row.rank}. {row.place}: {row.reason} — {row.hours}")
    table = pd.DataFrame(rows)
    print("\nMedian over bailleurs (pooled figures of each):")
    print(
        table.groupby("variant", sort=False)[
            ["hit", "naive_hit", "pai", "naive_pai", "backtest_s", "backtest_cpu"]
        ]
        .median()
        .round(3)
        .to_string()
    )
    print(table.groupby("variant", sort=False)["beats"].sum().to_string())


if __name__ == "__main__":
    main()
