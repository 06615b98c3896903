"""Speed and memory of orfi's near-repeat Knox test (issue 14, point 4).

Simulated world shaped like a bailleur's facts: 10,000 facts over two years in a
12 km x 10 km city, three quarters recorded at one of 600 entrances (so many pairs are
« same place »), the others anywhere; 5 % of the facts are near-repeats (10-90 m and
1-6 days after an earlier one). Measured:

- **orfi**: the multi-band table (5 distance bands x 4 time bands, 999 permutations),
  and the single band « <= 100 m, <= 7 days » with 99 permutations;
- **baseline**: pointpats' ``Knox`` on the same events, single band, 99 permutations
  (its permutation loop is pure Python over every event's neighbours);
- the n x n matrices a naive implementation would hold, computed (not allocated).

Wall and CPU time (the machine is shared: the load average is printed), peak memory
of the call by ``tracemalloc`` (numpy reports its buffers to it) and the process's
``ru_maxrss``.

Usage::

    .venv/bin/python benchmarks/nearrepeat.py                 # about 2-3 minutes
    .venv/bin/python benchmarks/nearrepeat.py --n 2000 --skip-pointpats
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc

import numpy as np

from orfi.earlywarning.nearrepeat import NearRepeatParams, knox


def world(n: int, seed: int = 2026):
    """Facts (x, y metres; days) of the simulated city, near-repeats planted."""
    rng = np.random.default_rng(seed)
    entrances = rng.uniform((0, 0), (12_000, 10_000), (600, 2))
    points = rng.uniform((0, 0), (12_000, 10_000), (n, 2))
    at_entrance = rng.random(n) < 0.75
    points[at_entrance] = entrances[rng.integers(0, 600, at_entrance.sum())]
    t = rng.integers(0, 730, n).astype(float)
    followers = rng.choice(n, n // 20, replace=False)
    lead = rng.choice(np.setdiff1d(np.arange(n), followers), n // 20)
    angle = rng.uniform(0, 2 * np.pi, len(lead))
    radius = rng.uniform(10, 90, len(lead))
    points[followers] = points[lead] + np.column_stack(
        [radius * np.cos(angle), radius * np.sin(angle)]
    )
    t[followers] = t[lead] + rng.integers(1, 7, len(lead))
    return points[:, 0], points[:, 1], t


def measure(label: str, run):
    """Run once; print wall, CPU, peak traced memory; return the result."""
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"{label:<58} {wall:8.2f} s wall {cpu:8.2f} s CPU {peak:8.1f} MB peak")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--skip-pointpats", action="store_true")
    # pointpats' time is linear in its permutations: a few give its cost per one.
    parser.add_argument("--pointpats-permutations", type=int, default=19)
    args = parser.parse_args()
    x, y, t = world(args.n)
    print(f"{args.n} facts; load average {os.getloadavg()[0]:.2f}")

    multi = measure(
        "orfi, 5 x 4 bands, 999 permutations",
        lambda: knox(x, y, t, NearRepeatParams(permutations=999)),
    )
    print(f"  close pairs (<= 400 m): {multi.n_pairs}")
    print(multi.table.drop(columns=["q_value"]).round(3).to_string())
    print("  significant cells:")
    for sentence in multi.sentences():
        print("   ", sentence)
    for permutations in (99, 999):
        params = NearRepeatParams(
            distance_bands=(100.0,), time_bands=(7.0,), permutations=permutations
        )
        one = measure(
            f"orfi, single band <= 100 m <= 7 days, {permutations} permutations",
            lambda params=params: knox(x, y, t, params),
        )
    cell = one.table.iloc[0]
    print(f"  observed {cell.observed}, expected {cell.expected_exact:.1f}")
    if not args.skip_pointpats:
        from pointpats.spacetime import Knox

        np.random.seed(1)
        count = args.pointpats_permutations
        start = time.perf_counter()
        reference = measure(
            f"pointpats Knox, single band, {count} permutations",
            lambda: Knox(np.column_stack([x, y]), t[:, None], 100.0, 7.0, count),
        )
        per = (time.perf_counter() - start) / max(count, 1)
        print(f"  observed {reference.nst}, expected {reference.expected[0, 0]:.1f}")
        print(f"  about {per:.2f} s per permutation: 99 would take {99 * per:.0f} s")
    matrix = args.n**2 * 8 / 2**20
    print(
        f"naive n x n float64 matrix (distances, then time gaps): {matrix:.0f} MB each"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
