"""The ``orfi`` commands: init, create-organisation, create-federation, create-user."""

import pytest
import sqlalchemy as sa

from orfi import create_app
from orfi.auth.models import Role, User
from orfi.extensions import db
from orfi.nomenclature.models import Category, Family
from orfi.patrimoine.models import Organisation


@pytest.fixture
def fresh_app(fresh_database_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": fresh_database_url,
        }
    )
    app.instance_path = str(tmp_path / "instance")
    yield app
    with app.app_context():
        db.engine.dispose()


def run(app, *args):
    result = app.test_cli_runner().invoke(args=["orfi", *args])
    return result


def test_init_builds_the_schema_and_loads_the_nomenclature_once(fresh_app):
    first = run(fresh_app, "init")
    assert first.exit_code == 0, first.output
    second = run(fresh_app, "init")
    assert second.exit_code == 0
    assert "0 élément" in second.output
    with fresh_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Family)) == 6
        templates = db.session.scalars(
            sa.select(Category.code).where(Category.organisation_id.is_(None))
        ).all()
        assert len(templates) == 23 and "AP04" in templates


def test_create_organisation_then_users(fresh_app):
    assert run(fresh_app, "init").exit_code == 0
    result = run(
        fresh_app,
        "create-organisation",
        "--code",
        "tmh",
        "--name",
        "Toulouse Métropole Habitat",
        "--kind",
        "oph",
        "--region",
        "Occitanie",
    )
    assert result.exit_code == 0, result.output
    duplicate = run(
        fresh_app, "create-organisation", "--code", "TMH", "--name", "Autre"
    )
    assert duplicate.exit_code == 1
    assert "déjà utilisé" in duplicate.output

    ok = run(
        fresh_app,
        "create-user",
        "ref@tmh.fr",
        "--name",
        "Référente",
        "--role",
        "referent",
        "--organisation",
        "TMH",
        "--password",
        "sûreté-tmh-2026",
    )
    assert ok.exit_code == 0, ok.output
    weak = run(
        fresh_app,
        "create-user",
        "g@tmh.fr",
        "--name",
        "G",
        "--role",
        "gardien",
        "--organisation",
        "TMH",
        "--password",
        "court",
    )
    assert weak.exit_code == 1 and "12 caractères" in weak.output
    unknown = run(
        fresh_app,
        "create-user",
        "x@y.fr",
        "--name",
        "X",
        "--role",
        "gardien",
        "--organisation",
        "NOPE",
        "--password",
        "motdepasse-42",
    )
    assert unknown.exit_code == 1 and "NOPE" in unknown.output

    assert (
        run(
            fresh_app,
            "create-federation",
            "--code",
            "USH-OCC",
            "--name",
            "USH Occitanie",
            "--region",
            "Occitanie",
        ).exit_code
        == 0
    )
    fed = run(
        fresh_app,
        "create-user",
        "fed@ush.fr",
        "--name",
        "Chargé de mission",
        "--role",
        "federation",
        "--federation",
        "USH-OCC",
        "--password",
        "federation-2026",
    )
    assert fed.exit_code == 0, fed.output

    with fresh_app.app_context():
        organisation = db.session.scalar(sa.select(Organisation))
        assert organisation.code == "TMH"
        own_categories = db.session.scalar(
            sa.select(sa.func.count()).where(
                Category.organisation_id == organisation.id
            )
        )
        assert own_categories == 23
        users = {u.email: u for u in db.session.scalars(sa.select(User))}
        assert set(users) == {"ref@tmh.fr", "fed@ush.fr"}
        assert users["ref@tmh.fr"].role is Role.REFERENT
        assert users["ref@tmh.fr"].check_password("sûreté-tmh-2026")
        assert users["fed@ush.fr"].organisation_id is None
