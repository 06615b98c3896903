"""Administration of one organisation: users, passwords and nomenclature."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from orfi.admin.services import resolve_perimeter
from orfi.auth.models import Role, User
from orfi.auth.services import update_user
from orfi.errors import ValidationError
from orfi.extensions import db
from orfi.nomenclature.models import Category
from tests.factories import (
    DEFAULT_PASSWORD,
    category,
    commit,
    make_agence,
    make_organisation,
    make_residence,
    make_user,
)
from tests.helpers import csrf_token, described_by, field_errors

NEW_PASSWORD = "nouveau-mdp-2024"


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def reload(obj):
    """Forget the session's copy so that assertions read what the database holds."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def is_logged_in(client) -> bool:
    return client.get("/signalements/mes").status_code == 200


@pytest.fixture
def world(app):
    """Two bailleurs, each with an admin, a gardien (one résidence) and an agence."""
    a = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    b = make_organisation(code="PAT", name="Patrimoine SA Languedocienne")
    agence_a = make_agence(a, name="Agence Nord")
    agence_b = make_agence(b, name="Agence Sud")
    izards = make_residence(a, name="Les Izards", agence=agence_a)
    bagatelle = make_residence(a, name="Bagatelle")
    mirail = make_residence(b, name="Mirail")
    w = {
        "a": a,
        "b": b,
        "agence_a": agence_a,
        "agence_b": agence_b,
        "izards": izards,
        "bagatelle": bagatelle,
        "mirail": mirail,
        "admin": make_user(a, role=Role.ADMIN, name="Alice Admin"),
        "gardien": make_user(a, role=Role.GARDIEN, name="Gaston", sector=[izards]),
        "admin_b": make_user(b, role=Role.ADMIN, name="Bob Admin"),
        "gardien_b": make_user(b, role=Role.GARDIEN, name="Gérard", sector=[mirail]),
    }
    commit()
    return w


def paths(w) -> dict[str, str]:
    return {
        "index": "/admin/",
        "users": "/admin/utilisateurs",
        "new_user": "/admin/utilisateurs/nouveau",
        "edit_user": f"/admin/utilisateurs/{w['gardien'].id}",
        "password": f"/admin/utilisateurs/{w['gardien'].id}/mot-de-passe",
        "nomenclature": "/admin/nomenclature",
        "new_category": "/admin/nomenclature/nouvelle",
        "edit_category": f"/admin/nomenclature/{category(w['a'], 'TT03').id}",
    }


ROUTES = [
    ("GET", "index"),
    ("GET", "users"),
    ("GET", "new_user"),
    ("POST", "new_user"),
    ("GET", "edit_user"),
    ("POST", "edit_user"),
    ("GET", "password"),
    ("POST", "password"),
    ("GET", "nomenclature"),
    ("GET", "new_category"),
    ("POST", "new_category"),
    ("GET", "edit_category"),
    ("POST", "edit_category"),
]


def user_form(w, **overrides) -> dict:
    data = {
        "email": "nouveau.gardien@tmh.fr",
        "name": "Nadia Nouvelle",
        "role": "gardien",
        "agence": "",
        "sector": [str(w["izards"].id), str(w["bagatelle"].id)],
        "password": NEW_PASSWORD,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def edit_form(user: User, **overrides) -> dict:
    data = {
        "name": user.name,
        "role": user.role.value,
        "agence": str(user.agence_id or ""),
        "sector": [str(r.id) for r in user.sector],
        "active": "y" if user.active else None,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# Access -----------------------------------------------------------------------


@pytest.mark.parametrize("method, route", ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
@pytest.mark.parametrize(
    "role", [Role.GARDIEN, Role.REFERENT, Role.DIRECTION, Role.FEDERATION]
)
def test_non_admins_get_403_everywhere(client, auth, world, role, method, route):
    user = make_user(None if role is Role.FEDERATION else world["a"], role=role)
    commit()
    auth.login(user.email)
    url = paths(world)[route]
    response = client.open(url, method=method, data={"name": "x", "role": "admin"})
    assert response.status_code == 403


def test_a_gardien_cannot_promote_themselves(client, auth, world):
    gardien = world["gardien"]
    auth.login(gardien.email)
    response = client.post(
        f"/admin/utilisateurs/{gardien.id}", data=edit_form(gardien, role="admin")
    )
    assert response.status_code == 403
    assert reload(gardien).role is Role.GARDIEN


@pytest.mark.parametrize("route", ["index", "users", "nomenclature"])
def test_anonymous_is_sent_to_login(client, world, route):
    response = client.get(paths(world)[route])
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_admin_home_links_to_each_task(client, auth, app, world):
    auth.login(world["admin"].email)
    page = client.get("/admin/")
    assert page.status_code == 200
    assert 'href="/admin/utilisateurs"' in page.text
    assert 'href="/admin/nomenclature"' in page.text
    has_import = "patrimoine.import_patrimoine" in app.view_functions
    assert ("Importer le patrimoine" in page.text) is has_import


# Isolation --------------------------------------------------------------------


def test_user_list_shows_only_the_organisation(client, auth, world):
    auth.login(world["admin"].email)
    page = client.get("/admin/utilisateurs")
    assert page.status_code == 200
    assert world["gardien"].email in page.text
    assert "Gardien / agent de proximité" in page.text
    assert "1 résidence" in page.text
    assert "Jamais" in page.text  # the gardien has never logged in
    assert world["admin_b"].email not in page.text
    assert world["gardien_b"].email not in page.text


OTHER_ORGANISATION_URLS = {
    "user edit": lambda w: f"/admin/utilisateurs/{w['gardien_b'].id}",
    "password reset": lambda w: f"/admin/utilisateurs/{w['gardien_b'].id}/mot-de-passe",
    "category edit": lambda w: f"/admin/nomenclature/{category(w['b'], 'TT03').id}",
}


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "url", OTHER_ORGANISATION_URLS.values(), ids=OTHER_ORGANISATION_URLS.keys()
)
def test_admin_gets_404_on_another_organisation(client, auth, world, url, method):
    gardien_b = world["gardien_b"]
    tt03_b = category(world["b"], "TT03")
    before = (gardien_b.name, gardien_b.role, gardien_b.password_hash, gardien_b.active)
    auth.login(world["admin"].email)
    data = {
        **edit_form(gardien_b, name="Piraté", role="admin", active=None),
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        "label": "Piraté",
    }
    response = client.open(url(world), method=method, data=data)
    assert response.status_code == 404
    gardien_b = reload(gardien_b)
    after = (gardien_b.name, gardien_b.role, gardien_b.password_hash, gardien_b.active)
    assert after == before
    assert reload(tt03_b).label == "Nuisances sonores, tapage"
    assert reload(tt03_b).active


def test_unknown_ids_are_404(client, auth, world):
    auth.login(world["admin"].email)
    assert client.get("/admin/utilisateurs/999999").status_code == 404
    assert client.get("/admin/nomenclature/999999").status_code == 404


# Creating users ---------------------------------------------------------------


def test_admin_creates_a_gardien(client, auth, world):
    auth.login(world["admin"].email)
    form = client.get("/admin/utilisateurs/nouveau")
    assert form.status_code == 200
    assert "Les Izards" in form.text and "Mirail" not in form.text
    assert "Agence Nord" in form.text and "Agence Sud" not in form.text
    assert 'value="federation"' not in form.text

    response = client.post(
        "/admin/utilisateurs/nouveau",
        data=user_form(world, email="  Nadia.Nouvelle@TMH.fr "),
    )
    assert response.status_code == 302
    user = db.session.scalar(
        sa.select(User).where(User.email == "nadia.nouvelle@tmh.fr")
    )
    assert user.organisation_id == world["a"].id
    assert user.role is Role.GARDIEN
    assert {r.id for r in user.sector} == {world["izards"].id, world["bagatelle"].id}
    assert "Compte créé" in client.get(response.headers["Location"]).text

    auth.logout()
    auth.login("nadia.nouvelle@tmh.fr", NEW_PASSWORD)
    assert is_logged_in(client)


def test_admin_creates_a_chef_d_agence(client, auth, world):
    auth.login(world["admin"].email)
    data = user_form(
        world, role="direction", agence=str(world["agence_a"].id), sector=None
    )
    assert client.post("/admin/utilisateurs/nouveau", data=data).status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == data["email"]))
    assert user.role is Role.DIRECTION
    assert user.agence_id == world["agence_a"].id
    assert user.sector == []


INVALID_USERS = {
    "duplicate email": ({"email": "GASTON@exemple.fr"}, "email", "existe déjà"),
    "email without @": ({"email": "gaston"}, "email", "invalide"),
    "weak password": ({"password": "court"}, "password", "12 caractères"),
    "letters only": ({"password": "abcdefghijkl"}, "password", "chiffres"),
    "no name": ({"name": "   "}, "name", "nom"),
    "federation role": ({"role": "federation"}, "role", "rôle"),
    "sector of another bailleur": ({"sector": "MIRAIL"}, "sector", "n'appartient pas"),
    "agence of another bailleur": (
        {"agence": "AGENCE_B"},
        "agence",
        "n'appartient pas",
    ),
    "sector not a number": ({"sector": ["abc"]}, "sector", "liste"),
}


@pytest.mark.parametrize(
    "overrides, field, message", INVALID_USERS.values(), ids=INVALID_USERS.keys()
)
def test_invalid_user_is_refused_and_nothing_stored(
    client, auth, world, overrides, field, message
):
    world["gardien"].email = "gaston@exemple.fr"
    commit()
    ids = {"MIRAIL": [str(world["mirail"].id)], "AGENCE_B": str(world["agence_b"].id)}
    overrides = {
        k: ids.get(v, v) if isinstance(v, str) else v for k, v in overrides.items()
    }
    users_before = count(User)
    auth.login(world["admin"].email)
    response = client.post(
        "/admin/utilisateurs/nouveau", data=user_form(world, **overrides)
    )
    assert response.status_code == 422
    errors = field_errors(response.text, field)
    assert message.lower() in errors.lower(), errors
    assert described_by(response.text, f"{field}-errors")
    assert count(User) == users_before


def test_services_refuse_a_foreign_perimeter(world):
    """The views restrict choices; the services refuse foreign objects on their own."""
    with pytest.raises(ValidationError) as error:
        resolve_perimeter(world["a"].id, world["agence_b"].id, [world["mirail"].id])
    assert set(error.value.errors) == {"agence", "sector"}
    with pytest.raises(ValidationError) as error:
        update_user(
            world["gardien"],
            actor=world["admin"],
            name="Gaston",
            role=Role.GARDIEN,
            agence=world["agence_b"],
            sector=[world["mirail"]],
            active=True,
        )
    assert set(error.value.errors) == {"agence", "sector"}


# Editing users ----------------------------------------------------------------


def test_admin_changes_sector_and_role(client, auth, world):
    gardien = world["gardien"]
    auth.login(world["admin"].email)
    page = client.get(f"/admin/utilisateurs/{gardien.id}")
    assert page.status_code == 200
    assert gardien.email in page.text

    response = client.post(
        f"/admin/utilisateurs/{gardien.id}",
        data=edit_form(gardien, sector=[str(world["bagatelle"].id)]),
    )
    assert response.status_code == 302
    assert [r.id for r in reload(gardien).sector] == [world["bagatelle"].id]

    response = client.post(
        f"/admin/utilisateurs/{gardien.id}",
        data=edit_form(
            reload(gardien),
            name="Gaston Lagaffe",
            role="referent",
            agence=str(world["agence_a"].id),
        ),
    )
    assert response.status_code == 302
    gardien = reload(gardien)
    assert (gardien.name, gardien.role, gardien.agence_id) == (
        "Gaston Lagaffe",
        Role.REFERENT,
        world["agence_a"].id,
    )


def test_edit_with_foreign_sector_changes_nothing(client, auth, world):
    gardien = world["gardien"]
    auth.login(world["admin"].email)
    response = client.post(
        f"/admin/utilisateurs/{gardien.id}",
        data=edit_form(gardien, name="Autre", sector=[str(world["mirail"].id)]),
    )
    assert response.status_code == 422
    assert "n'appartient pas" in field_errors(response.text, "sector")
    gardien = reload(gardien)
    assert gardien.name == "Gaston"
    assert [r.id for r in gardien.sector] == [world["izards"].id]


def test_deactivation_blocks_login_and_ends_the_session(client, app, auth, world):
    gardien = world["gardien"]
    gardien_client = app.test_client()
    gardien_client.post(
        "/connexion", data={"email": gardien.email, "password": DEFAULT_PASSWORD}
    )
    assert is_logged_in(gardien_client)

    auth.login(world["admin"].email)
    response = client.post(
        f"/admin/utilisateurs/{gardien.id}", data=edit_form(gardien, active=None)
    )
    assert response.status_code == 302
    assert reload(gardien).active is False
    assert "Désactivé" in client.get("/admin/utilisateurs").text

    assert not is_logged_in(gardien_client)
    fresh = app.test_client()
    fresh.post(
        "/connexion", data={"email": gardien.email, "password": DEFAULT_PASSWORD}
    )
    assert not is_logged_in(fresh)


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"role": "referent"}, "role", "votre propre rôle d'administrateur"),
        ({"active": None}, "active", "désactiver votre propre compte"),
    ],
    ids=["demote", "deactivate"],
)
def test_admin_cannot_demote_or_deactivate_themselves(
    client, auth, world, overrides, field, message
):
    admin = world["admin"]
    auth.login(admin.email)
    response = client.post(
        f"/admin/utilisateurs/{admin.id}", data=edit_form(admin, **overrides)
    )
    assert response.status_code == 422
    assert message in field_errors(response.text, field)
    admin = reload(admin)
    assert admin.role is Role.ADMIN and admin.active
    assert is_logged_in(client)


def test_admin_may_demote_another_admin(client, auth, world):
    other = make_user(world["a"], role=Role.ADMIN)
    commit()
    auth.login(world["admin"].email)
    response = client.post(
        f"/admin/utilisateurs/{other.id}", data=edit_form(other, role="direction")
    )
    assert response.status_code == 302
    assert reload(other).role is Role.DIRECTION


def test_reset_password(client, auth, world):
    gardien = world["gardien"]
    auth.login(world["admin"].email)
    url = f"/admin/utilisateurs/{gardien.id}/mot-de-passe"
    assert client.get(url).status_code == 200

    weak = client.post(url, data={"password": "court", "confirm": "court"})
    assert weak.status_code == 422
    assert "12 caractères" in field_errors(weak.text, "password")
    mismatch = client.post(
        url, data={"password": NEW_PASSWORD, "confirm": "autre-1234"}
    )
    assert mismatch.status_code == 422
    assert "différents" in field_errors(mismatch.text, "confirm")
    assert reload(gardien).check_password(DEFAULT_PASSWORD)

    response = client.post(
        url, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    auth.logout()

    auth.login(gardien.email, DEFAULT_PASSWORD)
    assert not is_logged_in(client)
    auth.login(gardien.email, NEW_PASSWORD)
    assert is_logged_in(client)


def test_create_user_form_needs_csrf(csrf_app):
    client = csrf_app.test_client()
    organisation = make_organisation()
    admin = make_user(organisation, role=Role.ADMIN)
    commit()

    def token(url: str) -> str:
        return csrf_token(client.get(url).text)

    client.post(
        "/connexion",
        data={
            "email": admin.email,
            "password": DEFAULT_PASSWORD,
            "csrf_token": token("/connexion"),
        },
    )
    data = {
        "email": "x@exemple.fr",
        "name": "X",
        "role": "referent",
        "password": NEW_PASSWORD,
    }
    assert client.post("/admin/utilisateurs/nouveau", data=data).status_code == 400
    assert count(User) == 1
    data["csrf_token"] = token("/admin/utilisateurs/nouveau")
    assert client.post("/admin/utilisateurs/nouveau", data=data).status_code == 302
    assert count(User) == 2


# Nomenclature -----------------------------------------------------------------


def test_nomenclature_page_groups_by_family_and_explains_codes(client, auth, world):
    auth.login(world["admin"].email)
    page = client.get("/admin/nomenclature")
    assert page.status_code == 200
    assert "Atteintes aux personnes" in page.text
    assert "TT03" in page.text and "AU99" in page.text
    assert "Les codes ne changent jamais" in page.text
    assert "export" in page.text and "fédération" in page.text
    assert f"/admin/nomenclature/{category(world['a'], 'TT03').id}" in page.text
    assert f"/admin/nomenclature/{category(world['b'], 'TT03').id}" not in page.text


def test_admin_edits_a_label(client, auth, world):
    tt03 = category(world["a"], "TT03")
    auth.login(world["admin"].email)
    assert client.get(f"/admin/nomenclature/{tt03.id}").status_code == 200
    response = client.post(
        f"/admin/nomenclature/{tt03.id}",
        data={"label": "  Tapage nocturne  ", "active": "y"},
    )
    assert response.status_code == 302
    tt03 = reload(tt03)
    assert (tt03.code, tt03.label, tt03.active) == ("TT03", "Tapage nocturne", True)
    assert category(world["b"], "TT03").label == "Nuisances sonores, tapage"


def test_empty_label_is_refused(client, auth, world):
    tt03 = category(world["a"], "TT03")
    auth.login(world["admin"].email)
    response = client.post(f"/admin/nomenclature/{tt03.id}", data={"label": " "})
    assert response.status_code == 422
    assert field_errors(response.text, "label")
    assert reload(tt03).label == "Nuisances sonores, tapage"
    assert reload(tt03).active


def test_deactivated_category_leaves_the_field_form_of_that_organisation(
    client, app, auth, world
):
    shown = "TT03 · Nuisances sonores, tapage"
    auth.login(world["gardien"].email)
    assert shown in client.get("/signalements/nouveau").text
    auth.logout()

    auth.login(world["admin"].email)
    tt03 = category(world["a"], "TT03")
    response = client.post(f"/admin/nomenclature/{tt03.id}", data={"label": tt03.label})
    assert response.status_code == 302
    assert not reload(tt03).active
    assert "Non utilisée" in client.get("/admin/nomenclature").text
    auth.logout()

    auth.login(world["gardien"].email)
    assert shown not in client.get("/signalements/nouveau").text
    auth.logout()
    auth.login(world["gardien_b"].email)
    assert shown in client.get("/signalements/nouveau").text


def test_code_cannot_be_changed(client, auth, world):
    tt03 = category(world["a"], "TT03")
    auth.login(world["admin"].email)
    page = client.get(f"/admin/nomenclature/{tt03.id}")
    assert 'name="code"' not in page.text
    assert "ne peut pas être modifié" in page.text
    response = client.post(
        f"/admin/nomenclature/{tt03.id}",
        data={"code": "ZZ99", "label": "Tapage", "active": "y"},
    )
    assert response.status_code == 302
    assert reload(tt03).code == "TT03"
    assert category(world["a"], "ZZ99") is None


def test_admin_adds_a_local_category(client, auth, world):
    auth.login(world["admin"].email)
    family_tt = category(world["a"], "TT01").family
    form = client.get("/admin/nomenclature/nouvelle?famille=TT")
    assert form.status_code == 200
    assert f'<option selected value="{family_tt.id}">' in form.text

    response = client.post(
        "/admin/nomenclature/nouvelle",
        data={
            "family": str(family_tt.id),
            "code": " tt08 ",
            "label": "Feux de poubelles",
        },
    )
    assert response.status_code == 302
    tt08 = category(world["a"], "TT08")
    assert (tt08.family_id, tt08.label, tt08.active) == (
        family_tt.id,
        "Feux de poubelles",
        True,
    )
    assert category(world["b"], "TT08") is None
    assert "TT08" in client.get("/admin/nomenclature").text
    auth.logout()

    auth.login(world["gardien"].email)
    assert "TT08 · Feux de poubelles" in client.get("/signalements/nouveau").text
    auth.logout()
    auth.login(world["gardien_b"].email)
    assert "TT08" not in client.get("/signalements/nouveau").text


def test_same_local_code_in_two_organisations(client, auth, world):
    family_tt = category(world["a"], "TT01").family
    for admin in (world["admin"], world["admin_b"]):
        auth.login(admin.email)
        response = client.post(
            "/admin/nomenclature/nouvelle",
            data={"family": str(family_tt.id), "code": "TT08", "label": "Local"},
        )
        assert response.status_code == 302
        auth.logout()
    assert category(world["a"], "TT08") and category(world["b"], "TT08")


INVALID_CATEGORIES = {
    "bad code": ({"code": "T8"}, "code", "deux lettres"),
    "three digits": ({"code": "TT008"}, "code", "deux lettres"),
    "letters after": ({"code": "TTAB"}, "code", "deux lettres"),
    "duplicate code": ({"code": "TT03"}, "code", "existe déjà"),
    "wrong family prefix": ({"code": "AP08"}, "code", "commence par TT"),
    "no code": ({"code": ""}, "code", "code"),
    "no label": ({"label": ""}, "label", "libellé"),
    "no family": ({"family": ""}, "family", "famille"),
    "unknown family": ({"family": "999999"}, "family", "famille"),
}


@pytest.mark.parametrize(
    "overrides, field, message",
    INVALID_CATEGORIES.values(),
    ids=INVALID_CATEGORIES.keys(),
)
def test_invalid_category_is_refused_and_nothing_stored(
    client, auth, world, overrides, field, message
):
    family_tt = category(world["a"], "TT01").family
    before = count(Category)
    auth.login(world["admin"].email)
    data = {"family": str(family_tt.id), "code": "TT08", "label": "Feux", **overrides}
    response = client.post("/admin/nomenclature/nouvelle", data=data)
    assert response.status_code == 422
    assert message.lower() in field_errors(response.text, field).lower()
    assert count(Category) == before


def test_code_taken_concurrently_is_a_validation_error(world, monkeypatch):
    """If another request takes the code between check and insert, the unique
    constraint answers and the session stays usable."""
    from orfi.nomenclature import services

    family_tt = category(world["a"], "TT01").family
    monkeypatch.setattr(services, "_code_taken", lambda *_: False)
    with pytest.raises(ValidationError) as error:
        services.add_category(
            world["a"].id, family_id=family_tt.id, code="TT03", label="Doublon"
        )
    assert "existe déjà" in error.value.errors["code"][0]
    assert category(world["a"], "TT03").label == "Nuisances sonores, tapage"
