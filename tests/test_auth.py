"""Login, logout and the roles that open each page."""

import pytest

from orfi.auth.models import Role
from orfi.extensions import db
from tests.factories import make_organisation, make_user

WRONG = "Adresse e-mail ou mot de passe incorrect."


@pytest.fixture
def user(app):
    user = make_user(make_organisation(), role=Role.REFERENT, email="ref@exemple.fr")
    db.session.commit()
    return user


def test_login_opens_a_session_and_logout_closes_it(client, auth, user):
    response = auth.login("  REF@exemple.fr ")
    assert response.status_code == 302
    assert client.get("/signalements/").status_code == 200
    assert user.last_login_at is not None
    auth.logout()
    assert client.get("/signalements/").status_code == 302


@pytest.mark.parametrize(
    "email, password",
    [
        ("ref@exemple.fr", "mauvais-mot-de-passe"),
        ("inconnu@exemple.fr", "motdepasse-42"),
    ],
    ids=["wrong password", "unknown account"],
)
def test_failed_login_says_the_same_for_known_and_unknown_accounts(
    client, auth, user, email, password
):
    response = auth.login(email, password)
    assert response.status_code == 200
    assert WRONG.replace("'", "&#39;") in response.text
    assert client.get("/signalements/").status_code == 302


def test_inactive_account_cannot_log_in(client, auth, user):
    user.active = False
    db.session.commit()
    response = auth.login(user.email)
    assert WRONG.replace("'", "&#39;") in response.text


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/signalements/mes", "/signalements/mes"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
    ],
)
def test_login_redirects_only_within_the_site(client, user, target, expected):
    response = client.post(
        f"/connexion?next={target}",
        data={"email": user.email, "password": "motdepasse-42"},
    )
    assert response.headers["Location"] == expected


def test_pages_require_login(client):
    response = client.get("/signalements/nouveau")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


def test_logout_is_post_only(client, auth, user):
    auth.login(user.email)
    assert client.get("/deconnexion").status_code == 405


READER_ONLY = ["/signalements/", "/patrimoine/residences"]


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_only_its_pages(client, auth, role):
    user = make_user(make_organisation(), role=role)
    db.session.commit()
    auth.login(user.email)
    can_read = role in (Role.REFERENT, Role.DIRECTION, Role.ADMIN)
    for path in READER_ONLY:
        assert client.get(path).status_code == (200 if can_read else 403), path
    can_file = role is not Role.FEDERATION
    assert client.get("/signalements/nouveau").status_code == (200 if can_file else 403)
    assert client.get("/admin/").status_code == (200 if role is Role.ADMIN else 403)


def test_home_sends_each_role_to_its_start(client, auth):
    organisation = make_organisation()
    gardien = make_user(organisation, role=Role.GARDIEN)
    referent = make_user(organisation, role=Role.REFERENT)
    direction = make_user(organisation, role=Role.DIRECTION)
    federation = make_user(role=Role.FEDERATION)
    db.session.commit()
    auth.login(gardien.email)
    assert client.get("/").headers["Location"] == "/signalements/nouveau"
    auth.logout()
    auth.login(referent.email)
    assert client.get("/").headers["Location"] == "/signalements/"
    auth.logout()
    auth.login(direction.email)  # the indicators (issue 11)
    assert client.get("/").headers["Location"] == "/statistiques/"
    auth.logout()
    auth.login(federation.email)
    assert client.get("/").headers["Location"] == "/federation/"


def test_login_form_is_csrf_protected(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/connexion", data={"email": "a@b.fr", "password": "x"})
    assert response.status_code == 400
