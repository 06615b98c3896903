"""The token page: a token is shown once, listed by its prefix, revoked at once."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from orfi.api.models import ApiToken
from orfi.auth.models import Role
from orfi.extensions import db
from tests.factories import commit, make_organisation, make_user
from tests.helpers import parse


def test_user_creates_lists_and_revokes_a_token(client, auth, app):
    user = make_user(make_organisation(), role=Role.REFERENT)
    commit()
    auth.login(user.email)
    assert "Aucun jeton" in client.get("/compte/jetons-api/").text

    created = client.post("/compte/jetons-api/", data={"name": "Logiciel GMAO"})
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    secret = re.search(r">(orfi_[^<]+)<", created.text).group(1)
    assert "il ne sera plus jamais affiché" in created.text

    listing = client.get("/compte/jetons-api/").text
    assert "Logiciel GMAO" in listing and secret not in listing
    assert secret[:11] in listing  # the prefix tells tokens apart

    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    token = db.session.scalar(sa.select(ApiToken))
    response = client.post(f"/compte/jetons-api/{token.id}/revoquer")
    assert response.status_code == 302
    assert "Révoqué" in client.get("/compte/jetons-api/").text
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_token_needs_a_name(client, auth, app):
    user = make_user(make_organisation(), role=Role.DIRECTION)
    commit()
    auth.login(user.email)
    response = client.post("/compte/jetons-api/", data={"name": "   "})
    assert response.status_code == 422
    assert "Donnez un nom au jeton" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_nobody_revokes_another_users_token(client, auth, app):
    organisation = make_organisation()
    owner = make_user(organisation)
    other = make_user(organisation, role=Role.ADMIN)
    from orfi.api.services import create_token

    token, _secret = create_token(owner, "x")
    commit()
    auth.login(other.email)
    assert client.post(f"/compte/jetons-api/{token.id}/revoquer").status_code == 404
    db.session.refresh(token)
    assert token.revoked_at is None


def test_federation_accounts_have_no_token_page(client, auth, app):
    user = make_user(role=Role.FEDERATION)
    commit()
    auth.login(user.email)
    assert client.get("/compte/jetons-api/").status_code == 403


@pytest.mark.parametrize("role", list(Role))
def test_the_menu_offers_the_token_page_to_the_roles_it_accepts(
    client, auth, app, role
):
    """A gardien files from the app with their session: no « Jetons d'API » in their
    menu, and the page refuses them, like any role the menu leaves it out for."""
    organisation = None if role is Role.FEDERATION else make_organisation()
    user = make_user(organisation, role=role)
    commit()
    auth.login(user.email)
    page = client.get("/compte/jetons-api/")
    menu = parse(client.get("/compte/mot-de-passe").text).find("nav")
    offered = menu.find("a", href="/compte/jetons-api/") is not None
    assert offered == (page.status_code == 200)
    assert page.status_code in (200, 403)
    if role is Role.GARDIEN:
        assert not offered
        assert client.post("/compte/jetons-api/", data={"name": "x"}).status_code == 403
