"""Helpers shared by test modules: databases, clients, pages, a statistics world.

Test modules import from here (or from :mod:`tests.factories`), never from one
another nor from ``conftest.py``: a helper has one home whatever test uses it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from bs4 import BeautifulSoup, Tag
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url
from werkzeug.routing import Rule

from orfi.auth.models import Role
from orfi.extensions import db
from orfi.reports.models import Lieu, Suite, Victime
from tests.factories import (
    DEFAULT_PASSWORD,
    commit,
    insert_fact,
    make_agence,
    make_organisation,
    make_residence,
    make_user,
)

#: Set to a PostgreSQL server URL, the suite runs there instead of SQLite.
PG_ENV = "ORFI_TEST_DATABASE_URL"


# --------------------------------------------------------------------------------------
# Apps: the suite builds a fresh app per test
# --------------------------------------------------------------------------------------


def cache_url_builders() -> None:
    """Reuse Werkzeug's compiled URL builders from one app to the next (tests only).

    Each ``create_app`` binds ~100 rules, and Werkzeug compiles two Python functions per
    rule (an AST turned into code): about 0.1 s an app, paid by every test since each
    gets a fresh app. The generated code depends only on the rule's parts and on
    ``append_unknown`` (converters are looked up at call time on the bound rule), so
    it is compiled once per distinct rule and rebound to each new ``Rule``. Rules with
    defaults (resolved to constants at compile time) are compiled as before.
    """
    original = Rule._compile_builder
    if getattr(original, "_orfi_cached", False):
        return
    builders: dict = {}

    def compile_builder(self, append_unknown: bool = True):
        if self.defaults:
            return original(self, append_unknown)
        key = (self.rule, tuple(self._trace), append_unknown)
        builder = builders.get(key)
        if builder is None:
            builder = builders[key] = original(self, append_unknown)
        return builder

    compile_builder._orfi_cached = True
    Rule._compile_builder = compile_builder


# --------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------


def create_pg_database(server_url: str, prefix: str) -> str:
    """Create a fresh database on the server of ``server_url``; return its URL."""
    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_pg_database(server_url: str, database_url: str) -> None:
    """Drop the database of ``database_url``, even with connections left open."""
    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = make_url(database_url).database
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def empty_tables() -> None:
    """Delete every row of every table (the shared database between tests), and on
    PostgreSQL restart every id sequence at 1, as ``TRUNCATE … RESTART IDENTITY`` would.

    Why not ``TRUNCATE``: on PostgreSQL it replaces each table's files, about 1 s for
    the ~35 tables, after every test; deleting the few rows a test leaves costs a few
    milliseconds.
    """
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            sa.text("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'")
        )
    db.session.commit()


# --------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------


class IsolatedRequestClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    Without this, requests would reuse the test's app context, so ``g`` (Flask-Login's
    cached user) and the database session would leak from one request to the next. The
    test's objects are committed before each request (so the request sees them) and
    expired after it (so the test sees what the request changed).
    """

    def open(self, *args, **kwargs):
        """Send the request in an app context of its own (see the class)."""
        db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response


class AuthActions:
    """Log a test client in and out (flaskr's helper)."""

    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = DEFAULT_PASSWORD):
        """Post the login form; return the response (a redirect when it succeeds)."""
        return self._client.post(
            "/connexion",
            data={"email": email, "password": password},
            follow_redirects=False,
        )

    def logout(self):
        """Post the logout form."""
        return self._client.post("/deconnexion")


# --------------------------------------------------------------------------------------
# Pages, read as HTML (attributes in any order, entities decoded)
# --------------------------------------------------------------------------------------


def parse(html: str) -> BeautifulSoup:
    """Parse a page (or a fragment of one)."""
    return BeautifulSoup(html, "html.parser")


def csrf_token(html: str) -> str:
    """Return the value of the page's first ``csrf_token`` hidden field."""
    return parse(html).find("input", attrs={"name": "csrf_token"})["value"]


def field_errors(html: str, field: str) -> str:
    """Return the text of a form field's error list (empty if none)."""
    errors = parse(html).find(id=f"{field}-errors")
    return errors.get_text(" ", strip=True) if errors else ""


def described_by(html: str, element_id: str) -> list[Tag]:
    """Return the elements whose ``aria-describedby`` names ``element_id``."""
    return parse(html).find_all(
        attrs={"aria-describedby": lambda ids: ids and element_id in ids.split()}
    )


def table_rows(html: str) -> list[list[str]]:
    """Return the text of every body row's cells, across the page's tables."""
    return [
        [cell.get_text(" ", strip=True) for cell in row.find_all(["td", "th"])]
        for row in parse(html).select("tbody tr")
    ]


def definitions(html: str) -> dict[str, str]:
    """Return the page's ``<dt>`` terms and their ``<dd>`` texts."""
    return {
        term.get_text(" ", strip=True): term.find_next_sibling("dd").get_text(
            " ", strip=True
        )
        for term in parse(html).find_all("dt")
    }


def script_tags(html: str) -> list[Tag]:
    """Return the page's ``<script>`` elements."""
    return parse(html).find_all("script")


def links_to(html: str, href: str) -> list[Tag]:
    """Return the ``<a>`` elements that lead to ``href``."""
    return parse(html).find_all("a", href=href)


# --------------------------------------------------------------------------------------
# The statistics world (statistics, maps)
# --------------------------------------------------------------------------------------

# The period under test: March 2026 (31 days, with the spring DST change on the 29th).
PERIOD = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


def build_stats_world() -> dict:
    """Bailleur A (agences Nord and Sud, one résidence each) and bailleur B.

    March 2026 holds four counted facts of A: three at Izards (Nord, QPV, 200
    logements), one at Borderouge (Sud, 100 logements); the previous 31 days two,
    March 2025 one; plus a duplicate, a fact of B and facts just outside the periods.
    """
    a = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    nord, sud = make_agence(a, name="Agence Nord"), make_agence(a, name="Agence Sud")
    izards = make_residence(
        a, name="Les Izards", agence=nord, logements=200, qpv_code="QP031011",
        qpv_generation="2015", latitude=43.6409, longitude=1.4327,
    )  # fmt: skip
    borderouge = make_residence(
        a, name="Borderouge", agence=sud, logements=100, latitude=43.6405,
        longitude=1.4520,
    )  # fmt: skip
    b = make_organisation(code="ALT", name="Altéal")
    bagatelle = make_residence(b, name="Bagatelle", latitude=43.58, longitude=1.41)
    author = make_user(a, role=Role.REFERENT, email="referent@a.fr")
    author_b = make_user(b, role=Role.REFERENT, email="referent@b.fr")

    first = insert_fact(
        author, izards, datetime(2026, 3, 2, 8, 30), "AB01",
        lieu=Lieu.HALL, suite=Suite.PLAINTE_BAILLEUR,
    )  # fmt: skip
    insert_fact(
        author, izards, datetime(2026, 3, 29, 23, 30), "TT01",
        lieu=Lieu.HALL, victime=Victime.LOCATAIRE,
    )  # fmt: skip
    insert_fact(
        author, izards, datetime(2026, 3, 31, 23, 59), "AP01",
        victime=Victime.PERSONNEL_BAILLEUR, suite=Suite.PLAINTE_VICTIME,
    )  # fmt: skip
    insert_fact(author, borderouge, datetime(2026, 3, 15, 12, 0), "AB02")
    # Outside March 2026.
    insert_fact(author, izards, datetime(2026, 4, 1, 0, 0), "AB01")
    # Previous period (29 January – 28 February 2026) and just before it.
    insert_fact(author, borderouge, datetime(2026, 2, 28, 22, 0), "AB01")
    insert_fact(author, izards, datetime(2026, 2, 1, 10, 0), "AB01")
    insert_fact(author, izards, datetime(2026, 1, 28, 10, 0), "AB01")
    # The same period a year before.
    insert_fact(author, borderouge, datetime(2025, 3, 10, 10, 0), "AB01")
    # A duplicate and another bailleur's fact never count.
    insert_fact(
        author, izards, datetime(2026, 3, 3, 9, 0), "AB01", duplicate_of_id=first.id
    )
    insert_fact(author_b, bagatelle, datetime(2026, 3, 5, 9, 0), "AB01")

    users = {
        "referent": author,
        "direction": make_user(a, role=Role.DIRECTION, email="direction@a.fr"),
        "admin": make_user(a, role=Role.ADMIN, email="admin@a.fr"),
        "chef": make_user(a, role=Role.DIRECTION, agence=nord, email="chef@a.fr"),
        "gardien": make_user(
            a, role=Role.GARDIEN, sector=[izards], email="gardien@a.fr"
        ),
        "federation": make_user(None, role=Role.FEDERATION, email="fede@x.fr"),
    }
    commit()
    return {
        "a": a, "b": b, "nord": nord, "sud": sud, "izards": izards,
        "borderouge": borderouge, "bagatelle": bagatelle, **users,
    }  # fmt: skip
