"""Mutation testing of the critical modules: ``make mutation [MODULE=orfi/geo/x.py]``.

Not a test module (pytest collects only ``test_*.py``) and not in CI: too slow. Run it
before closing an issue that touches one of the modules of ``[tool.mutmut]`` in
pyproject.toml (docs/mutation-testing.md).

mutmut copies the tree into ``mutants/`` (git-ignored), changes each operator,
constant, comparison, argument and ``return`` of the modules one at a time, records
which tests reach each function, and runs only those tests against its mutants. This
script then prints, per module, the mutants, how many the tests caught, the survivors,
the equivalent ones (listed with their reason in ``tests/mutation_equivalents.toml``)
and the score without them, followed by the diff of every survivor that is not known
to be equivalent. It exits 1 when a module scores under :data:`MIN_SCORE`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = Path(__file__).with_name("mutation_equivalents.toml")
MIN_SCORE = 90.0
#: mutmut's statuses that mean a test failed on the mutant.
CAUGHT = {"killed", "timeout", "caught by type check", "segfault"}


@dataclass
class ModuleScore:
    """The mutants of one module and what became of them."""

    module: str
    status: dict[str, str] = field(default_factory=dict)  # mutant name -> status
    equivalent: dict[str, str] = field(default_factory=dict)  # name -> reason

    @property
    def caught(self) -> int:
        return sum(s in CAUGHT for s in self.status.values())

    @property
    def survivors(self) -> list[str]:
        """Mutants no test caught (equivalent ones included)."""
        return [name for name, s in self.status.items() if s not in CAUGHT]

    @property
    def equivalent_survivors(self) -> list[str]:
        return [name for name in self.survivors if name in self.equivalent]

    @property
    def score(self) -> float:
        """Caught mutants over mutants that are not equivalent, in per cent."""
        counted = len(self.status) - len(self.equivalent_survivors)
        return 100.0 * self.caught / counted if counted else 100.0

    def line(self) -> str:
        return (
            f"{self.module:28} mutants {len(self.status):4}  caught {self.caught:4}  "
            f"survivors {len(self.survivors):3}  equivalent "
            f"{len(self.equivalent_survivors):3}  score {self.score:5.1f} %"
        )


def module_name(path: str) -> str:
    """``orfi/geo/hotspots.py`` -> ``orfi.geo.hotspots``."""
    return path.removesuffix(".py").replace("/", ".")


def configured_modules() -> list[str]:
    """The modules ``[tool.mutmut] only_mutate`` of pyproject.toml lists."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["mutmut"]["only_mutate"]


def mutmut(*args: str, log=None) -> str:
    """Run the mutmut of this virtualenv in the checkout; return its output."""
    command = [str(Path(sys.executable).with_name("mutmut")), *args]
    done = subprocess.run(
        command, cwd=ROOT, stdout=log or subprocess.PIPE, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode})")
    return done.stdout or ""


def read_results(modules: list[str]) -> dict[str, ModuleScore]:
    """Parse ``mutmut results --all true`` into one score per module."""
    equivalents = tomllib.loads(EQUIVALENTS.read_text()) if EQUIVALENTS.exists() else {}
    scores = {
        m: ModuleScore(m, equivalent=equivalents.get(m, {}))
        for m in map(module_name, modules)
    }
    for line in mutmut("results", "--all", "true").splitlines():
        name, _, status = line.strip().rpartition(": ")
        module, _, mutant = name.partition(".x")
        if module in scores:
            scores[module].status["x" + mutant] = status
    return scores


def report(scores: dict[str, ModuleScore], show_diffs: bool) -> bool:
    """Print the figures and the survivors; return whether every module passes."""
    passed = True
    for score in scores.values():
        missing = set(score.equivalent) - set(score.survivors)
        for name in sorted(missing):
            where = "caught" if name in score.status else "no longer exists"
            print(f"  note: {score.module}.{name}, listed equivalent, is {where}")
        for name in score.survivors:
            if name in score.equivalent:
                continue
            status = score.status[name]
            print(f"\n== {score.module}.{name}: {status}")
            if show_diffs:
                diff = mutmut("show", f"{score.module}.{name}").splitlines()
                print("\n".join(x for x in diff if x[:1] in ("+", "-", "@")))
        passed &= score.score >= MIN_SCORE
    print("\nMutation score, equivalent mutants excluded (at least", MIN_SCORE, "%):")
    for score in scores.values():
        print("  " + score.line())
        counts = Counter(score.status.values())
        print(
            "  " + " " * 28 + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        )
    return passed


def main(argv: list[str] | None = None) -> int:
    """Mutate the modules given (default: all configured), test, print the score."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="e.g. orfi/geo/hotspots.py")
    parser.add_argument(
        "--report-only", action="store_true", help="print the last run's results"
    )
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="run again only the last run's unexplained survivors (after new tests)",
    )
    parser.add_argument("--no-diffs", action="store_true", help="names only")
    args = parser.parse_args(argv)
    configured = configured_modules()
    modules = args.modules or configured
    unknown = set(modules) - set(configured)
    if unknown:
        parser.error(f"not in [tool.mutmut] only_mutate: {', '.join(sorted(unknown))}")
    jobs = os.environ.get("MUTATION_JOBS", "2")
    if args.survivors:
        # Same mutants (the code must not have changed), new tests: mutmut finds
        # the tests added since and runs them too.
        names = [
            f"{score.module}.{name}"
            for score in read_results(modules).values()
            for name in score.survivors
            if name not in score.equivalent
        ]
        if names:
            print(f"mutmut run on {len(names)} survivors (log: mutants/again.log) ...")
            with open(ROOT / "mutants" / "again.log", "w") as log:
                mutmut("run", "--max-children", jobs, *names, log=log)
    elif not args.report_only:
        # A fresh copy each run: the figures never mix two versions of the code.
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
        (ROOT / "mutants").mkdir()
        patterns = [module_name(m) + ".*" for m in modules]
        print(f"mutmut run on {', '.join(modules)} (log: mutants/run.log) ...")
        with open(ROOT / "mutants" / "run.log", "w") as log:
            mutmut("run", "--max-children", jobs, *patterns, log=log)
    passed = report(read_results(modules), show_diffs=not args.no_diffs)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
