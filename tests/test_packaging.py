"""The package is deployable: installed away from the checkout, it serves pages.

The checkout keeps ``templates/``, ``static/`` and ``migrations/`` at its top; the
wheel must carry them inside the package (setup.py, pyproject.toml), or an install
without the source tree has no page, no style and no schema. An editable install
(``make install``) must still find them in the checkout.
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
#: After pip's command: offline, this environment's setuptools builds.
OFFLINE = ("--no-deps", "--no-build-isolation", "--no-index", "-q")

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
    "templates": app.template_folder,
    "migrations": app.extensions["migrate"].directory,
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


def _copy_sources(tmp_path: Path) -> Path:
    """Copy what a build reads (the checkout gets no build/ nor egg-info)."""
    source = tmp_path / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    return source


def _fresh_venv(tmp_path: Path) -> Path:
    """A new virtualenv whose dependencies are this environment's, through a
    ``.pth`` (installing them would take minutes and the network)."""
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = _run([venv / "bin" / "python", "-c", code], cwd=tmp_path).strip()
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    # Appended after the venv's own site-packages, so the orfi installed there comes
    # first; the .pth files over here (the checkout's editable install) are not read.
    Path(site, "_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return venv


def _install(venv: Path, *args) -> None:
    """pip-install into ``venv`` (which has no pip of its own), offline, no deps."""
    pip = [sys.executable, "-m", "pip", "--python", venv / "bin" / "python"]
    _run([*pip, "install", *OFFLINE, *args], cwd=venv.parent)


def _serve(venv: Path, tmp_path: Path) -> dict:
    """Initialise an instance with the venv's ``orfi``, then serve a page and its
    CSS; run away from the checkout, with no PYTHONPATH."""
    database = tmp_path / "orfi.sqlite3"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "ORFI_", "FLASK_"))
    }
    env.update(ORFI_DATABASE_URL=f"sqlite:///{database}", ORFI_ENV="development")
    home = tmp_path / "elsewhere"
    home.mkdir()
    _run([venv / "bin" / "orfi", "init"], cwd=home, env=env)
    with sqlite3.connect(database) as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version")
    last = sorted((ROOT / "migrations" / "versions").glob("*.py"))[-1]
    assert revision[0] == last.name.split("_")[0]
    served = json.loads(_run([venv / "bin" / "python", "-c", SERVE], home, env))
    assert served["page"] == 200
    assert served["css"] == 200, served["href"]
    assert served["type"] == "text/css"
    assert served["body"] == (ROOT / "static" / "css" / "orfi.css").read_text()
    return served


def _checkout_files(folder: str) -> set[str]:
    """Files under a top-level folder of the checkout, as the wheel names them."""
    return {
        f"orfi/{path.relative_to(ROOT).as_posix()}"
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.mark.slow
def test_installed_wheel_initialises_and_serves_a_page_with_its_css(tmp_path):
    source = _copy_sources(tmp_path)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", *OFFLINE, "-w", dist, source], tmp_path)
    (wheel,) = dist.glob("orfi-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("templates", "static", "migrations"):
        assert _checkout_files(folder) <= names, folder
    shutil.rmtree(source)  # nothing left to fall back on
    venv = _fresh_venv(tmp_path)
    _install(venv, wheel)

    served = _serve(venv, tmp_path)
    package = Path(served["orfi"]).parent
    assert package.is_relative_to(venv)
    assert Path(served["templates"]) == package / "templates"
    assert Path(served["migrations"]) == package / "migrations"


@pytest.mark.slow
def test_editable_install_serves_the_checkout_s_folders(tmp_path):
    source = _copy_sources(tmp_path)
    venv = _fresh_venv(tmp_path)
    _install(venv, "--editable", source)

    served = _serve(venv, tmp_path)
    assert Path(served["orfi"]).parent == source / "orfi"
    assert Path(served["templates"]) == source / "templates"
    assert Path(served["migrations"]) == source / "migrations"


def test_the_build_prints_no_licence_warning(tmp_path):
    """pyproject.toml uses the SPDX ``license = "…"`` form and no licence classifier:
    setuptools then prints none of its deprecation notices about them."""
    source = _copy_sources(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", *OFFLINE, "-w", tmp_path, "."],
        cwd=source,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    output = (done.stdout + done.stderr).lower()
    notices = [
        line
        for line in output.splitlines()
        if "licen" in line and ("deprecat" in line or "warning" in line)
    ]
    assert notices == []


def test_make_run_serves_on_the_port_given_in_the_environment():
    """README: ``PORT=5077 make run`` serves on 5077 (make -n only prints)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "PORT=5077 make run" in readme
    done = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", "run"],
        cwd=ROOT,
        env={**os.environ, "PORT": "5077"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    serve = next(line for line in done.stdout.splitlines() if " run " in line)
    assert "--port 5077" in serve
