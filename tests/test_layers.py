"""Imports only point down: the import-linter contracts of pyproject.toml hold.

Each contract runs in its own process (the ``lint-imports`` command, as ``make lint``
runs it) so that the graph is built from the files, not from what the test session
happens to have imported; a broken contract fails with import-linter's own account of
the offending import chains.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
    "tool"
]["importlinter"]["contracts"]
#: The console script's entry point, run with this interpreter (no PATH lookup).
LINT_IMPORTS = (
    "import sys; from importlinter.cli import lint_imports_command; "
    "sys.exit(lint_imports_command())"
)


def _run_contract(contract_id: str) -> subprocess.CompletedProcess[str]:
    """Run one contract with lint-imports from the repository's root."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache", "--no-logo"]
        + ["--contract", contract_id],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_contract_has_an_id():
    assert CONTRACTS, "no [[tool.importlinter.contracts]] in pyproject.toml"
    assert all(contract.get("id") for contract in CONTRACTS)


@pytest.mark.parametrize("contract_id", [c.get("id") for c in CONTRACTS])
def test_contract_is_kept(contract_id):
    result = _run_contract(contract_id)
    if result.returncode != 0:
        report = result.stdout
        broken = report[report.find("Broken contracts") :].rstrip() if report else ""
        pytest.fail(
            f"import-linter contract {contract_id!r} is broken:\n"
            f"{broken or report}\n{result.stderr}",
            pytrace=False,
        )
