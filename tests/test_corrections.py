"""Issue 12: « à préciser » categories need a description (point 7); corrections of a
fact by its référent or, for a while, its author (point 3)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from orfi.extensions import db
from orfi.nomenclature.models import Category
from orfi.nomenclature.services import update_category
from orfi.reports.models import ReportEvent
from tests.factories import (
    category,
    commit,
    count_reports,
    fact_body,
    fact_form,
    make_category,
    make_report,
    make_tmh_world,
    make_token,
)
from tests.helpers import field_errors


@pytest.fixture
def world(app):
    """A bailleur with a gardien (one résidence in sector) and a référent."""
    world = make_tmh_world()
    commit()
    return world


# ------------------------------------------------- point 7: « à préciser » categories


def test_default_nomenclature_marks_au99_and_only_it(world):
    required = db.session.scalars(
        sa.select(Category.code).where(
            Category.organisation_id == world["organisation"].id,
            Category.description_required,
        )
    ).all()
    assert required == ["AU99"]


def test_admin_labels_decide_the_flag(world):
    local = make_category(world["organisation"], "TT", label="Autre trouble")
    assert not local.description_required
    update_category(local, label="Autre trouble (À préciser)", active=True)
    assert local.description_required
    specified = make_category(world["organisation"], "AB", label="Divers, à préciser")
    assert specified.description_required


@pytest.mark.parametrize("description", ["", "   \n "])
def test_form_refuses_au99_without_description(client, auth, world, description):
    auth.login(world["gardien"].email)
    au99 = category(world["organisation"], "AU99")
    response = client.post(
        "/signalements/nouveau",
        data=fact_form(world, category=str(au99.id), description=description),
    )
    assert response.status_code == 422
    assert "à préciser" in field_errors(response.text, "description")
    assert count_reports() == 0


def test_form_accepts_au99_with_a_description(client, auth, world):
    auth.login(world["gardien"].email)
    au99 = category(world["organisation"], "AU99")
    response = client.post(
        "/signalements/nouveau",
        data=fact_form(world, category=str(au99.id), description="Boîte forcée."),
    )
    assert response.status_code == 302
    assert count_reports() == 1


def test_other_categories_need_no_description(client, auth, world):
    auth.login(world["gardien"].email)
    form = fact_form(world, description="")
    response = client.post("/signalements/nouveau", data=form)
    assert response.status_code == 302


def test_api_refuses_au99_without_description_naming_the_field(client, world):
    _, secret = make_token(world["gardien"])
    commit()
    au99 = category(world["organisation"], "AU99")
    response = client.post(
        "/api/v1/reports",
        json=fact_body(world, category_id=au99.id, description=""),
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 422, response.json
    assert list(response.json["fields"]) == ["description"]
    assert "à préciser" in response.json["fields"]["description"][0]
    assert count_reports() == 0
    nomenclature = client.get(
        "/api/v1/nomenclature", headers={"Authorization": f"Bearer {secret}"}
    ).json
    flags = {
        c["code"]: c["description_required"]
        for family in nomenclature["families"]
        for c in family["categories"]
    }
    assert flags["AU99"] is True and flags["AB01"] is False


def test_qualifying_into_au99_needs_a_description_first(client, auth, world):
    report = make_report(world["gardien"], description="")
    commit()
    auth.login(world["referent"].email)
    au99 = category(world["organisation"], "AU99")
    response = client.post(
        f"/signalements/{report.uuid}/qualifier",
        data={"category": str(au99.id), "status": "nouveau", "gravity": ""},
    )
    assert response.status_code == 422
    assert "description" in field_errors(response.text, "category")
    db.session.expire_all()
    assert report.category.code == "AB01"
    assert db.session.scalar(sa.select(sa.func.count(ReportEvent.id))) == 0


def test_migration_0012_flags_existing_a_preciser_categories(fresh_database_url):
    from flask_migrate import upgrade

    from orfi import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": fresh_database_url,
        }
    )
    with app.app_context():
        upgrade(revision="0011")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO family (id, code, label, position) "
                    "VALUES (1, 'AU', 'Autres', 0)"
                )
            )
            for id_, code, label in [
                (1, "AU99", "Autre fait (à préciser)"),
                (2, "AU98", "Divers (À PRÉCISER)"),
                (3, "AB01", "Dégradation"),
            ]:
                connection.execute(
                    sa.text(
                        "INSERT INTO category (id, family_id, code, label, active, "
                        "position) VALUES (:id, 1, :code, :label, true, 0)"
                    ),
                    {"id": id_, "code": code, "label": label},
                )
        upgrade()
        with db.engine.connect() as connection:
            flags = dict(
                connection.execute(
                    sa.text("SELECT code, description_required FROM category")
                ).all()
            )
        db.engine.dispose()
    assert {code: bool(flag) for code, flag in flags.items()} == {
        "AU99": True,
        "AU98": True,
        "AB01": False,
    }
