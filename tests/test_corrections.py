"""Issue 12: « à préciser » categories need a description (point 7); corrections of a
fact by its référent or, for a while, its author (point 3)."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.extensions import db
from orfi.geo.points import h3_cell
from orfi.nomenclature.models import Category
from orfi.nomenclature.services import update_category
from orfi.reports.models import Lieu, LocationSource, Report, ReportEvent, Victime
from orfi.timezone import to_local
from tests.factories import (
    category,
    commit,
    count_reports,
    fact_body,
    fact_form,
    make_batiment,
    make_category,
    make_organisation,
    make_report,
    make_tmh_world,
    make_token,
    make_user,
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


# ------------------------------------------------------------ point 3: corrections


def correction_form(report, **overrides) -> dict:
    """The correction form as the page fills it for ``report`` (overrides win; None
    drops a field)."""
    data = {
        "description": report.description,
        "occurred_at": to_local(report.occurred_at).strftime("%Y-%m-%dT%H:%M"),
        "residence": str(report.residence_id),
        "batiment": str(report.batiment_id or ""),
        "latitude": repr(report.latitude),
        "longitude": repr(report.longitude),
        "lieu": report.lieu.value if report.lieu else "",
        "victime": report.victime.value if report.victime else "",
        "arret_travail_jours": "",
        "comment": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _age(report, minutes: int) -> None:
    """Make ``report`` filed ``minutes`` ago."""
    report.created_at = utcnow() - timedelta(minutes=minutes)
    commit()


def _events(report, kind: str) -> list[ReportEvent]:
    return list(
        db.session.scalars(
            sa.select(ReportEvent).where(
                ReportEvent.report_id == report.id, ReportEvent.kind == kind
            )
        )
    )


def test_referent_corrects_the_fact_and_the_history_says_so(client, auth, world):
    report = make_report(
        world["gardien"],
        description="Porte forcée.",
        lieu=Lieu.HALL,
        victime=Victime.PERSONNEL_BAILLEUR,
        arret_travail_jours=2,
    )
    _age(report, 3 * 24 * 60)
    auth.login(world["referent"].email)
    assert client.get(f"/signalements/{report.uuid}/corriger").status_code == 200
    new_time = (to_local(report.occurred_at) - timedelta(hours=3)).replace(
        second=0, microsecond=0
    )
    other = world["other"]
    response = client.post(
        f"/signalements/{report.uuid}/corriger",
        data=correction_form(
            report,
            description="Porte du hall B forcée.",
            occurred_at=new_time.strftime("%Y-%m-%dT%H:%M"),
            residence=str(other.id),
            residence_position="y",
            lieu="cave",
            victime="locataire",
            comment="Appel du gardien",
        ),
    )
    assert response.status_code == 302, field_errors(response.text, "residence")
    db.session.expire_all()
    assert report.description == "Porte du hall B forcée."
    assert report.residence_id == other.id
    assert (report.latitude, report.longitude) == (other.latitude, other.longitude)
    assert report.location_source is LocationSource.RESIDENCE
    assert report.lieu is Lieu.CAVE and report.victime is Victime.LOCATAIRE
    # A tenant has no work stoppage: the staff-only field goes, and says so.
    assert report.arret_travail_jours is None
    # Derived columns follow the corrected time and place.
    assert report.occurred_hour == new_time.hour
    assert report.occurred_month == new_time.year * 100 + new_time.month
    assert report.h3_r9 == h3_cell(other.latitude, other.longitude, 9)
    [event] = _events(report, "correction")
    assert event.user_id == world["referent"].id
    assert event.comment == "Appel du gardien"
    assert event.changes["description"] == ["Porte forcée.", "Porte du hall B forcée."]
    assert event.changes["lieu"] == ["hall", "cave"]
    assert event.changes["victime"] == ["personnel_bailleur", "locataire"]
    assert event.changes["arret_travail_jours"] == [2, None]
    assert event.changes["residence"][1] == other.label
    assert event.changes["occurred_at"][1] == new_time.strftime("%d/%m/%Y %H:%M")
    page = client.get(f"/signalements/{report.uuid}").text
    assert "Porte forcée. → Porte du hall B forcée." in " ".join(
        html.unescape(page).split()
    )


def test_unchanged_form_records_nothing(client, auth, world):
    report = make_report(world["gardien"], description="Tags.")
    commit()
    auth.login(world["referent"].email)
    response = client.post(
        f"/signalements/{report.uuid}/corriger", data=correction_form(report)
    )
    assert response.status_code == 302
    assert _events(report, "correction") == []


ACCESS_CASES = {
    # who, whose fact, filed how many minutes ago, expected status of the page
    "gardien, own fact, 5 min": ("gardien", "own", 5, 200),
    "gardien, own fact, 29 min": ("gardien", "own", 29, 200),
    "gardien, own fact, 31 min": ("gardien", "own", 31, 403),
    "gardien, another's fact": ("gardien2", "other", 5, 404),
    "référent, any time": ("referent", "own", 10_000, 200),
    "admin": ("admin", "own", 10_000, 200),
    "direction, not the author": ("direction", "own", 5, 403),
    "référent of another bailleur": ("stranger", "own", 5, 404),
}


@pytest.mark.parametrize(
    "who, whose, minutes, expected", ACCESS_CASES.values(), ids=ACCESS_CASES.keys()
)
def test_who_may_correct(client, auth, world, who, whose, minutes, expected):
    users = {
        "gardien": world["gardien"],
        "gardien2": make_user(
            world["organisation"], role=Role.GARDIEN, sector=[world["residence"]]
        ),
        "referent": world["referent"],
        "admin": make_user(world["organisation"], role=Role.ADMIN),
        "direction": make_user(world["organisation"], role=Role.DIRECTION),
        "stranger": make_user(make_organisation(), role=Role.REFERENT),
    }
    report = make_report(world["gardien"], description="Vitre cassée.")
    _age(report, minutes)
    auth.login(users[who].email)
    url = f"/signalements/{report.uuid}/corriger"
    page = client.get(url)
    assert page.status_code == expected
    posted = client.post(url, data=correction_form(report, description="Autre."))
    assert posted.status_code == (302 if expected == 200 else expected)
    db.session.expire_all()
    corrected = report.description == "Autre."
    assert corrected is (expected == 200)
    assert len(_events(report, "correction")) == (1 if expected == 200 else 0)
    detail = client.get(f"/signalements/{report.uuid}")
    if detail.status_code == 200:
        assert ("/corriger" in detail.text) is (expected == 200)


def test_the_window_is_a_setting(app, client, auth, world):
    app.config["ORFI_AUTHOR_EDIT_MINUTES"] = 5
    report = make_report(world["gardien"])
    _age(report, 10)
    auth.login(world["gardien"].email)
    assert client.get(f"/signalements/{report.uuid}/corriger").status_code == 403


INVALID_CORRECTIONS = {
    "date in the future": ({"occurred_at": "2999-01-01T10:00"}, "occurred_at"),
    "no date": ({"occurred_at": ""}, "occurred_at"),
    "garbage date": ({"occurred_at": "hier"}, "occurred_at"),
    "description too long": ({"description": "x" * 501}, "description"),
    "latitude garbage": ({"latitude": "nord"}, "latitude"),
    "latitude out of range": ({"latitude": "123"}, "latitude"),
    "no longitude": ({"longitude": ""}, "latitude"),
    "far position, not confirmed": (
        {"latitude": "43.70", "longitude": "1.50"},
        "confirm_position",
    ),
    "unknown résidence": ({"residence": "999999"}, "residence"),
    "no résidence": ({"residence": ""}, "residence"),
    "bâtiment of another résidence": ({"batiment": "OTHER"}, "batiment"),
    "stoppage for a tenant": (
        {"victime": "locataire", "arret_travail_jours": "4"},
        "arret_travail_jours",
    ),
    "stoppage past the limit": (
        {"victime": "personnel_bailleur", "arret_travail_jours": "100000"},
        "arret_travail_jours",
    ),
    "unknown lieu": ({"lieu": "grenier"}, "lieu"),
}


@pytest.mark.parametrize(
    "overrides, field", INVALID_CORRECTIONS.values(), ids=INVALID_CORRECTIONS.keys()
)
def test_bad_correction_says_why_and_stores_nothing(
    client, auth, world, overrides, field
):
    report = make_report(world["gardien"], description="Tags.")
    other_batiment = make_batiment(world["other"])
    commit()
    before = (report.description, report.occurred_at, report.latitude)
    if overrides.get("batiment") == "OTHER":
        overrides = {"batiment": str(other_batiment.id)}
    auth.login(world["referent"].email)
    response = client.post(
        f"/signalements/{report.uuid}/corriger",
        data=correction_form(report, description="Tags effacés.", **overrides)
        if "description" not in overrides
        else correction_form(report, **overrides),
    )
    assert response.status_code == 422
    assert field_errors(response.text, field), response.text[:3000]
    db.session.expire_all()
    assert (report.description, report.occurred_at, report.latitude) == before
    assert _events(report, "correction") == []


def test_gardien_cannot_move_a_fact_out_of_the_sector(client, auth, world):
    report = make_report(world["gardien"])
    commit()
    auth.login(world["gardien"].email)
    response = client.post(
        f"/signalements/{report.uuid}/corriger",
        data=correction_form(
            report, residence=str(world["other"].id), residence_position="y"
        ),
    )
    assert response.status_code == 422
    assert "périmètre" in field_errors(response.text, "residence")


def test_au99_description_cannot_be_emptied(client, auth, world):
    report = make_report(
        world["gardien"], category_code="AU99", description="Boîte forcée."
    )
    commit()
    auth.login(world["referent"].email)
    response = client.post(
        f"/signalements/{report.uuid}/corriger",
        data=correction_form(report, description=""),
    )
    assert response.status_code == 422
    assert "à préciser" in field_errors(response.text, "description")


def test_confirmation_offers_the_correction_while_it_is_open(client, auth, world):
    auth.login(world["gardien"].email)
    response = client.post(
        "/signalements/nouveau",
        data=fact_form(world, description="Insultes de M. Durand au 06 12 34 56 78."),
    )
    confirmation = client.get(response.headers["Location"]).text
    report = db.session.scalar(sa.select(Report))
    assert f"/signalements/{report.uuid}/corriger" in confirmation
    _age(report, 31)
    confirmation = client.get(response.headers["Location"]).text
    assert "/corriger" not in confirmation


def test_referent_of_an_agence_keeps_facts_in_it(client, auth, world):
    from tests.factories import make_agence, make_residence

    agence, elsewhere = (
        make_agence(world["organisation"]),
        make_agence(world["organisation"]),
    )
    inside = make_residence(world["organisation"], agence_id=agence.id)
    outside = make_residence(world["organisation"], agence_id=elsewhere.id)
    referent = make_user(world["organisation"], role=Role.REFERENT, agence=agence)
    report = make_report(referent, inside)
    commit()
    auth.login(referent.email)
    response = client.post(
        f"/signalements/{report.uuid}/corriger",
        data=correction_form(report, residence=str(outside.id), residence_position="y"),
    )
    assert response.status_code == 422
    assert "périmètre" in field_errors(response.text, "residence")
    db.session.expire_all()
    assert report.residence_id == inside.id
