"""The wheel is deployable: built, installed away from the checkout, it serves pages.

The checkout keeps ``templates/``, ``static/`` and ``migrations/`` at its top; the
wheel must carry them inside the package (setup.py, pyproject.toml), or an install
without the source tree has no page, no style and no schema.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from orfi import ROOT

#: What a build needs from the checkout (tests, instance data and caches stay out).
SOURCES = ("pyproject.toml", "setup.py", "README.md", "orfi", "templates", "static",
           "migrations")  # fmt: skip

#: Run by the installed interpreter: serve the login page, then the stylesheet it
#: links to, through Flask's test client.
SERVE = """
import json, orfi
from bs4 import BeautifulSoup
app = orfi.create_app()
client = app.test_client()
page = client.get("/connexion")
link = BeautifulSoup(page.text, "html.parser").find("link", rel="stylesheet")
css = client.get(link["href"])
print(json.dumps({
    "orfi": orfi.__file__,
    "page": page.status_code,
    "href": link["href"],
    "css": css.status_code,
    "type": css.mimetype,
    "body": css.get_data(as_text=True),
}))
"""


def _run(args: list, cwd: Path, env: dict | None = None) -> str:
    """Run a command; on failure, show its output in the assertion."""
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _build_wheel(tmp_path: Path) -> Path:
    """Build the wheel from a copy of the sources (the checkout gets no build/)."""
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=ignore)
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    dist = tmp_path / "dist"
    # No build isolation: the build uses this environment's setuptools, offline.
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            dist,
            source,
        ],
        cwd=tmp_path,
    )
    (wheel,) = dist.glob("orfi-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    """A new virtualenv with the wheel installed; the dependencies are this
    environment's, reached through a ``.pth`` (installing them would take minutes
    and the network)."""
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    site = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        cwd=tmp_path,
    ).strip()
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    # Appended after the venv's own site-packages: the installed orfi comes first;
    # the .pth files over there (this checkout's editable install) are not read.
    Path(site, "_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            wheel,
        ],
        cwd=tmp_path,
    )
    return venv


def _shipped(folder: str) -> set[str]:
    """Files under a top-level folder of the checkout, as the wheel names them."""
    return {
        f"orfi/{path.relative_to(ROOT).as_posix()}"
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.mark.slow
def test_installed_wheel_initialises_and_serves_a_page_with_its_css(tmp_path):
    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("templates", "static", "migrations"):
        assert _shipped(folder) <= names, folder
    venv = _fresh_venv(tmp_path, wheel)
    database = tmp_path / "orfi.sqlite3"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "ORFI_", "FLASK_"))
    }
    env.update(ORFI_DATABASE_URL=f"sqlite:///{database}", ORFI_ENV="development")
    home = tmp_path / "elsewhere"  # no checkout on the path: not the cwd either
    home.mkdir()

    _run([venv / "bin" / "orfi", "init"], cwd=home, env=env)
    with sqlite3.connect(database) as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version")
    heads = sorted((ROOT / "migrations" / "versions").glob("*.py"))
    assert revision[0] == heads[-1].name.split("_")[0]

    served = json.loads(_run([venv / "bin" / "python", "-c", SERVE], home, env))
    assert Path(served["orfi"]).is_relative_to(venv)
    assert served["page"] == 200
    assert served["css"] == 200, served["href"]
    assert served["type"] == "text/css"
    assert served["body"] == (ROOT / "static" / "css" / "orfi.css").read_text()
