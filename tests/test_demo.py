"""The demo: its world, its facts and their patterns, its logins, running it twice.

The tests that only read the demo share one run (``TestOneDemo``); the others build
what they need on the ``app`` fixture, which empties the database after each test.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from shapely.geometry import Point, shape
from werkzeug.security import generate_password_hash

from orfi import ROOT, create_app
from orfi.auth.models import Federation, Role, User, user_residence
from orfi.database import utcnow
from orfi.demo.world import (
    DEMO_CODES,
    DEMO_LOGINS,
    DEMO_PASSWORDS,
    FEDERATION_CODE,
    QPV_FILE,
)
from orfi.extensions import db
from orfi.patrimoine.models import Agence, Organisation, OrganisationKind, Residence
from orfi.reports.creation import derived_fields
from orfi.reports.models import ReferenceCounter, Report, ReportEvent
from orfi.timezone import to_local
from tests.factories import category, commit, make_organisation, make_user
from tests.helpers import AuthActions, empty_tables

N = 500

BAILLEURS = {
    "TMH": ("Toulouse Métropole Habitat", OrganisationKind.OPH),
    "ALT": ("Altéal", OrganisationKind.ESH),
    "PAT": ("Patrimoine SA Languedocienne", OrganisationKind.ESH),
    "CHA": ("Les Chalets", OrganisationKind.ESH),
    "CJ": ("La Cité Jardins", OrganisationKind.ESH),
    "CDC": ("CDC Habitat", OrganisationKind.ESH),
    "PRO": ("Promologis", OrganisationKind.ESH),
    "ICF": ("ICF Atlantique", OrganisationKind.ESH),
    "MES": ("Mésolia", OrganisationKind.ESH),
}


def _fast_hashing(monkeypatch) -> None:
    """Cheap password hashes: the demo creates some thirty accounts."""
    monkeypatch.setattr(
        "orfi.auth.models.generate_password_hash",
        functools.partial(generate_password_hash, method="pbkdf2:sha256:1000"),
    )


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    _fast_hashing(monkeypatch)


def run_demo(runner, *args: str):
    return runner.invoke(args=["orfi", "demo", *args])


@pytest.fixture(scope="class")
def shared_demo(test_config, _schema):
    """One demo of N facts for a class of read-only tests, on its own app."""
    app = create_app(test_config)
    with app.app_context(), pytest.MonkeyPatch.context() as monkeypatch:
        _fast_hashing(monkeypatch)
        result = run_demo(app.test_cli_runner(), "--reports", str(N), "--no-activity")
        assert result.exit_code == 0, result.output
        db.session.commit()
        yield app, result
        db.session.rollback()
        empty_tables()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def demo(shared_demo):
    """The shared demo; whatever a test did without committing is rolled back."""
    _app, result = shared_demo
    db.session.expire_all()
    yield result
    # Also ends the read transaction, which would block TRUNCATE on PostgreSQL.
    db.session.rollback()


def count(model_or_table, *where) -> int:
    query = sa.select(sa.func.count()).select_from(model_or_table)
    return db.session.scalar(query.where(*where) if where else query)


class TestOneDemo:
    """Read-only checks of one demo run (shared by the class)."""

    def test_demo_creates_the_toulouse_bailleurs(self, demo):
        organisations = {o.code: o for o in db.session.scalars(sa.select(Organisation))}
        assert set(organisations) == set(BAILLEURS)
        for code, (name, kind) in BAILLEURS.items():
            assert organisations[code].name == name
            assert organisations[code].kind is kind
            assert organisations[code].region == "Occitanie"
            assert (
                2
                <= count(Agence, Agence.organisation_id == organisations[code].id)
                <= 4
            )
        sizes = dict(
            db.session.execute(
                sa.select(Residence.organisation_id, sa.func.count()).group_by(
                    Residence.organisation_id
                )
            ).all()
        )
        assert 100 <= sum(sizes.values()) <= 200
        assert max(sizes, key=sizes.get) == organisations["TMH"].id
        federation = db.session.scalar(
            sa.select(Federation).where(Federation.code == FEDERATION_CODE)
        )
        assert federation.name == "USH Occitanie"
        assert federation.region == "Occitanie"
        assert "Démo chargée" in demo.output

    def test_the_demo_map_shows_a_hot_hall(self, demo):
        """The point de deal's hall (evening facts for three weeks) is a hot spot on
        its bailleur's map, over the map's default period."""
        from orfi.maps.services import build_map_data
        from orfi.stats.filters import list_filter_choices, read_filters

        hot = []
        referents = db.session.scalars(
            sa.select(User).where(User.role == Role.REFERENT)
        )
        for referent in referents.all():
            choices = list_filter_choices(referent)
            filters, errors = read_filters({}, choices)
            assert not errors
            data = build_map_data(
                referent, filters, choices, layers=frozenset({"gi"}), zoom=11, bbox=None
            )
            hot += [row["id"] for row in data["gi"]["rows"] if row["hot"]]
        assert hot

        def hall_evenings(*where) -> float:
            evening = (Report.lieu == "hall") & (Report.occurred_hour >= 18)
            query = sa.select(
                sa.func.sum(sa.case((evening, 1), else_=0)), sa.func.count()
            ).where(*where)
            in_hall, total = db.session.execute(query).one()
            return in_hall / total

        overall = hall_evenings()
        assert overall < 0.15
        shares = [hall_evenings(Report.residence_id == i) for i in hot]
        assert max(shares) >= 2 * overall, (overall, shares)

    def test_residences_lie_in_the_qpv_they_name(self, demo):
        with open(QPV_FILE, encoding="utf-8") as source:
            features = json.load(source)["features"]
        qpvs = [
            (
                f["properties"]["code_qp"],
                f["properties"]["code_commune"],
                shape(f["geometry"]),
            )
            for f in features
        ]
        residences = db.session.scalars(sa.select(Residence)).all()
        in_qpv = 0
        for residence in residences:
            point = Point(residence.longitude, residence.latitude)
            containing = [
                (code, insee) for code, insee, poly in qpvs if poly.contains(point)
            ]
            if containing:
                in_qpv += 1
                assert residence.qpv_code == containing[0][0], residence.name
                assert residence.qpv_generation == "2015"
                assert residence.commune_insee == containing[0][1]
            else:
                assert residence.qpv_code is None, residence.name
                assert residence.qpv_generation is None
            assert 20 <= residence.logements <= 600
            assert re.fullmatch(r"[A-Z]{2,3}-R\d{4}", residence.reference)
            assert residence.reference.startswith(residence.organisation.code + "-")
            assert residence.agence.organisation_id == residence.organisation_id
            assert re.fullmatch(r"\d{5}", residence.commune_insee)
        # Most résidences in QPV, some outside, in Toulouse and around.
        assert len(residences) / 2 < in_qpv < len(residences)
        communes = Counter(r.commune_insee for r in residences)
        assert communes["31555"] > len(residences) / 2
        assert len(communes) >= 4

    def test_demo_files_n_facts_with_unique_references_and_one_created_event(
        self, demo
    ):
        assert count(Report) == N
        references = db.session.scalars(sa.select(Report.reference)).all()
        assert len(set(references)) == N
        assert all(re.fullmatch(r"[A-Z]{2,3}-20\d\d-\d{6}", r) for r in references)
        assert count(sa.select(Report.uuid).distinct().subquery()) == N
        # A fact's row is its own creation record: no "created" event.
        assert count(ReportEvent, ReportEvent.kind == "created") == 0
        # Nothing in the future, nothing filed before it happened, 18 months at most.
        now = utcnow()
        for occurred_at, created_at in db.session.execute(
            sa.select(Report.occurred_at, Report.created_at)
        ):
            occurred, filed = to_local(occurred_at), to_local(created_at)
            assert occurred < filed <= now
            assert occurred > now - timedelta(days=560)

    def test_derived_fields_are_those_of_the_service(self, demo):
        for report in db.session.scalars(sa.select(Report).limit(60)):
            expected = derived_fields(
                report.occurred_at, report.latitude, report.longitude
            )
            actual = {key: getattr(report, key) for key in expected}
            assert actual == expected, report.reference

    def test_facts_follow_realistic_patterns(self, demo):
        rows = db.session.execute(
            sa.select(
                Report.occurred_hour,
                Report.occurred_weekday,
                Residence.qpv_code.is_not(None),
                Report.status,
                Report.created_at,
                Report.latitude,
                Report.longitude,
                Residence.latitude,
                Residence.longitude,
                Report.description,
            ).join(Residence, Residence.id == Report.residence_id)
        ).all()
        evening = sum(1 for row in rows if row[0] >= 18) / N
        weekend = sum(1 for row in rows if row[1] >= 5) / N
        assert evening > 6 / 24 + 0.05
        assert weekend > 2 / 7 + 0.01

        logements = dict(
            db.session.execute(
                sa.select(
                    Residence.qpv_code.is_not(None), sa.func.sum(Residence.logements)
                ).group_by(Residence.qpv_code.is_not(None))
            ).all()
        )
        facts = Counter(row[2] for row in rows)
        assert facts[True] / logements[True] > 1.5 * facts[False] / logements[False]

        # Positions within about 100 m of the résidence.
        for row in rows:
            assert abs(row[5] - row[7]) < 0.0015 and abs(row[6] - row[8]) < 0.002
        # Old facts are mostly closed or passed on; nothing old stays new.
        now = utcnow()
        old = [
            row[3].value for row in rows if to_local(row[4]) < now - timedelta(days=90)
        ]
        assert Counter(old)["clos"] + Counter(old)["transmis"] > 0.8 * len(old)
        # Short neutral descriptions from a template list.
        assert all(len(row[9]) <= 120 for row in rows)
        assert len({row[9] for row in rows}) < 80

    def test_staff_victims_are_mostly_for_attacks_on_people(self, demo):
        rows = db.session.execute(
            sa.select(Report.victime, Report.category_id, Report.arret_travail_jours)
        ).all()
        codes = dict(
            db.session.execute(
                sa.text(
                    "SELECT id, code FROM category WHERE organisation_id IS NOT NULL"
                )
            ).all()
        )
        staff = [codes[c] for v, c, _ in rows if v and v.value.startswith("personnel")]
        assert staff
        assert sum(code.startswith("AP") for code in staff) > 0.6 * len(staff)
        assert all(
            v is not None and v.value.startswith("personnel")
            for v, _c, days in rows
            if days is not None
        )

    def test_gardiens_file_on_their_sector_only(self, demo):
        gardiens = db.session.scalars(
            sa.select(User).where(User.role == Role.GARDIEN)
        ).all()
        assert len(gardiens) >= 10
        filed_by_gardiens = 0
        for gardien in gardiens:
            sector = {r.id for r in gardien.sector}
            assert 3 <= len(sector) <= 8
            assert {r.organisation_id for r in gardien.sector} == {
                gardien.organisation_id
            }
            residences = set(
                db.session.scalars(
                    sa.select(Report.residence_id).where(Report.author_id == gardien.id)
                )
            )
            assert residences <= sector, gardien.email
            filed_by_gardiens += count(Report, Report.author_id == gardien.id)
        assert filed_by_gardiens > N / 2
        # A résidence belongs to one sector at most.
        assert count(user_residence) == count(
            sa.select(user_residence.c.residence_id).distinct().subquery()
        )

    def test_a_fact_filed_after_the_demo_gets_the_next_reference(self, demo):
        from orfi.reports.checks import ReportInput
        from orfi.reports.creation import create_report

        counters = db.session.execute(
            sa.select(
                Organisation.code, ReferenceCounter.year, ReferenceCounter.last
            ).join(Organisation, Organisation.id == ReferenceCounter.organisation_id)
        ).all()
        for code, year, last in counters:
            prefix = f"{code}-{year}-"
            numbers = [
                int(r.removeprefix(prefix))
                for r in db.session.scalars(
                    sa.select(Report.reference).where(
                        Report.reference.startswith(prefix)
                    )
                )
            ]
            assert max(numbers) == last == len(numbers)

        gardien = db.session.scalar(
            sa.select(User).where(User.email == "gardien@tmh.demo")
        )
        residence = gardien.sector[0]
        report, created = create_report(
            gardien,
            ReportInput(
                category_id=category(gardien.organisation, "TT04").id,
                residence_id=residence.id,
                occurred_at=utcnow() - timedelta(minutes=20),
                latitude=residence.latitude,
                longitude=residence.longitude,
                gps_accuracy_m=8.0,
            ),
        )
        assert created
        year = to_local(utcnow()).year
        last = dict((c, lst) for c, y, lst in counters if y == year).get("TMH", 0)
        assert report.reference == f"TMH-{year}-{last + 1:06d}"
        assert count(Report, Report.reference == report.reference) == 1

    def test_every_demo_login_logs_in(self, demo, shared_demo):
        client = shared_demo[0].test_client()
        auth = AuthActions(client)
        assert {login.affiliation for login in DEMO_LOGINS} >= {"TMH", "ALT"}
        for role in Role:
            assert (
                any(
                    login.role is role
                    for login in DEMO_LOGINS
                    if login.affiliation == "TMH"
                )
                or role is Role.FEDERATION
            )
        for login in DEMO_LOGINS:
            assert login.password == DEMO_PASSWORDS[login.role]
            response = auth.login(login.email, login.password)
            assert response.status_code == 302, login.email
            assert "/connexion" not in response.headers["Location"], login.email
            home = client.get("/")
            assert home.status_code in (200, 302), login.email
            assert "/connexion" not in home.headers.get("Location", ""), login.email
            auth.logout()
        chef = db.session.scalar(
            sa.select(User).where(User.email == "chef-agence@tmh.demo")
        )
        assert chef.role is Role.DIRECTION and chef.agence.name == "Agence Mirail"
        federal = db.session.scalar(
            sa.select(User).where(User.email == "federation@ush-occitanie.demo")
        )
        assert (
            federal.federation.code == FEDERATION_CODE and federal.organisation is None
        )


def test_demo_refuses_to_run_twice_unless_reset(runner):
    assert run_demo(runner, "--reports", "200", "--no-activity").exit_code == 0
    again = run_demo(runner, "--reports", "50", "--no-activity")
    assert again.exit_code == 1
    assert "déjà chargée" in again.output and "--reset" in again.output
    assert count(Report) == 200 and count(Organisation) == 9

    skipped = run_demo(runner, "--if-missing", "--no-activity")
    assert skipped.exit_code == 0 and "déjà chargée" in skipped.output
    assert count(Report) == 200

    users = count(User)
    reset = run_demo(runner, "--reports", "120", "--reset")
    assert reset.exit_code == 0, reset.output
    db.session.expire_all()
    assert count(Organisation) == 9 and count(Report) == 120
    assert count(ReportEvent, ReportEvent.kind == "created") == 0
    assert count(User) == users
    assert count(Federation) == 1


def test_demo_leaves_other_bailleurs_alone(runner):
    other = make_organisation(code="OPH81", name="Tarn Habitat")
    make_user(other, email="referent@tarn-habitat.fr", role=Role.REFERENT)
    commit()
    assert run_demo(runner, "--reports", "30", "--no-activity").exit_code == 0
    assert run_demo(runner, "--reports", "30", "--reset").exit_code == 0
    db.session.expire_all()
    assert count(Organisation) == 10
    assert count(User, User.email == "referent@tarn-habitat.fr") == 1


def test_demo_refuses_codes_of_a_real_bailleur(runner):
    tmh = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    make_user(tmh, email="referent@tmh-habitat.fr", role=Role.REFERENT)
    commit()
    for args in ((), ("--reset",)):
        result = run_demo(runner, "--reports", "10", *args)
        assert result.exit_code == 1
        assert "TMH" in result.output
    assert count(Organisation) == 1


def test_demo_refuses_a_demo_email_used_by_another_bailleur(runner):
    other = make_organisation(code="OPH81", name="Tarn Habitat")
    make_user(other, email="admin@tmh.demo", role=Role.ADMIN)
    commit()
    result = run_demo(runner, "--reports", "10")
    assert result.exit_code == 1
    assert "Un compte existe déjà avec cette adresse." in result.output
    assert count(Organisation) == 1


def test_demo_refuses_in_production(app, runner):
    app.config["ORFI_ENV"] = "production"
    result = run_demo(runner, "--reports", "10")
    assert result.exit_code == 1
    assert "production" in result.output
    assert count(Organisation) == 0


def test_demo_logins_prints_the_accounts(runner):
    empty = runner.invoke(args=["orfi", "demo-logins"])
    assert empty.exit_code == 0
    assert "Aucune donnée de démo" in empty.output

    assert run_demo(runner, "--reports", "0", "--no-activity").exit_code == 0
    listed = runner.invoke(args=["orfi", "demo-logins"])
    assert listed.exit_code == 0
    for login in DEMO_LOGINS:
        line = next(line for line in listed.output.splitlines() if login.email in line)
        assert login.password in line
        assert login.affiliation in line
    assert "autres gardiens" in listed.output
    assert set(DEMO_CODES) == set(BAILLEURS)


def test_direction_logins_are_labelled_by_their_real_perimeter(runner):
    """direction@ reads the whole bailleur, chef-agence@ one agence: the labels of
    ``orfi demo-logins`` and of the README's table say which, not both."""
    assert run_demo(runner, "--reports", "0", "--no-activity").exit_code == 0
    listed = runner.invoke(args=["orfi", "demo-logins"]).output.splitlines()
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    for code in ("tmh", "alt"):
        for email in (f"direction@{code}.demo", f"chef-agence@{code}.demo"):
            user = db.session.scalar(sa.select(User).where(User.email == email))
            line = next(line for line in listed if email in line).casefold()
            if user.agence is None:
                assert "tout le bailleur" in line and "chef d'agence" not in line
            else:
                assert user.agence.name.casefold() in line
                assert "chef d'agence" in line and "tout le bailleur" not in line
    rows = {r.split("|")[1].strip(" `"): r for r in readme if r.startswith("| `")}
    assert "Direction (tout le bailleur)" in rows["direction@tmh.demo"]
    assert "chef d'agence" not in rows["direction@tmh.demo"].casefold()


def _report_indexes() -> set[str]:
    inspector = sa.inspect(db.session.connection())
    return {
        index["name"]
        for table in ("report", "report_event")
        for index in inspector.get_indexes(table)
    }


def test_large_loads_and_deletes_build_the_indexes_at_the_end(runner, monkeypatch):
    monkeypatch.setattr("orfi.demo.bulk.BULK_MIN_ROWS", 100)
    before = _report_indexes()
    assert "ix_report_stats_time" in before
    result = run_demo(runner, "--reports", "300", "--no-activity")
    assert result.exit_code == 0, result.output
    assert "Construction des index" in result.output
    db.session.rollback()
    assert _report_indexes() == before
    assert count(Report) == 300

    reset = run_demo(runner, "--reports", "0", "--reset")
    assert reset.exit_code == 0, reset.output
    db.session.rollback()
    assert _report_indexes() == before
    assert count(Report) == 0 and count(Organisation) == 9


def test_a_failed_load_leaves_no_facts_and_every_index(runner, monkeypatch):
    from orfi.demo import facts

    monkeypatch.setattr("orfi.demo.bulk.BULK_MIN_ROWS", 100)
    monkeypatch.setattr("orfi.demo.facts.BATCH_SIZE", 100)
    rows = facts._rows
    calls = []

    def failing_rows(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disque plein")
        return rows(*args)

    monkeypatch.setattr("orfi.demo.facts._rows", failing_rows)
    before = _report_indexes()
    result = runner.invoke(
        args=["orfi", "demo", "--reports", "300", "--no-activity"],
    )
    assert isinstance(result.exception, RuntimeError)
    db.session.rollback()
    assert _report_indexes() == before
    assert count(Report) == 0 and count(ReportEvent) == 0
