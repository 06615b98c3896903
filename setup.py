"""Build script: only the package list; everything else is in pyproject.toml."""

from pathlib import Path

from setuptools import find_namespace_packages, setup

# templates/, static/ and migrations/ stay at the top of the checkout (STYLE.md) but
# ship inside the package, mapped by [tool.setuptools.package-dir] in pyproject.toml.
# Package discovery cannot see a package mapped from outside orfi/, and a static list
# in pyproject.toml would forget the next orfi sub-package or template folder.
MAPPED = {"orfi.templates": "templates", "orfi.static": "static",
          "orfi.migrations": "migrations"}  # fmt: skip


def data_packages() -> list[str]:
    """Name every importable folder under the mapped folders as a package.

    setuptools warns about data in a folder that could be a package but is not
    listed; folders named like ``leaflet.heat`` cannot be one and ship as data.
    """
    names = []
    for package, folder in MAPPED.items():
        root = Path(__file__).parent / folder
        for directory in [root, *sorted(root.rglob("*"))]:
            parts = directory.relative_to(root).parts
            if (
                directory.is_dir()
                and "__pycache__" not in parts
                and all(part.isidentifier() for part in parts)
            ):
                names.append(".".join((package, *parts)))
    return names


# Namespace discovery: data folders without __init__.py (orfi/federation/schema) too.
CODE_PACKAGES = find_namespace_packages(include=["orfi*"], exclude=["*__pycache__"])

setup(packages=CODE_PACKAGES + data_packages())
