"""The password rules, and every place where a password is set applies them."""

from __future__ import annotations

import pytest

from orfi.auth.models import Role, User
from orfi.auth.services import create_user, set_user_password
from orfi.demo.world import DEMO_PASSWORDS
from orfi.errors import ValidationError
from orfi.extensions import db
from orfi.security.passwords import MIN_LENGTH, password_problems
from tests.factories import DEFAULT_PASSWORD, commit, make_organisation, make_user

EMAIL = "gardien@tmh.fr"


@pytest.mark.parametrize(
    "password, reason",
    [
        ("court-1", "Au moins 12 caractères."),
        ("abcdefghijklmn", "Mélangez lettres et chiffres ou symboles."),
        ("12345678901234", "Mélangez lettres et chiffres ou symboles."),
        ("x" * 125 + "-1234", "Au plus 128 caractères."),
        ("gardien@tmh.fr", "ne doit pas reprendre l'adresse e-mail"),
        ("Gardien@TMH.fr", "ne doit pas reprendre l'adresse e-mail"),
        ("motdepasse123", "parmi les plus courants"),
        ("Mot de passe 2026 !", "parmi les plus courants"),
        ("azertyuiop-1234", "parmi les plus courants"),
        ("Toulouse2025!", "parmi les plus courants"),
        ("1qaz2wsx3edc", "parmi les plus courants"),
        ("aaaaaaaaaaa1", "Trop de caractères répétés."),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password, reason):
    problems = password_problems(password, email=EMAIL)
    assert any(reason in problem for problem in problems), problems


@pytest.mark.parametrize(
    "password",
    [
        *sorted(set(DEMO_PASSWORDS.values())),
        DEFAULT_PASSWORD,
        "trois mots au hasard",
        "Cave-B3-porte-forcée",
        "x" * 120 + "-123456",
    ],
)
def test_good_passwords_are_accepted(password):
    assert password_problems(password, email=EMAIL) == []


def test_the_minimum_is_twelve_characters():
    assert MIN_LENGTH == 12
    assert password_problems("abcdefghij-1") == []
    assert password_problems("abcdefghi-1") == ["Au moins 12 caractères."]


def test_create_user_applies_the_rules_with_the_email(app):
    organisation = make_organisation()
    with pytest.raises(ValidationError) as error:
        create_user(
            email="Agent.Dupont@tmh.fr",
            name="Agent",
            password="agent.dupont",
            role=Role.GARDIEN,
            organisation=organisation,
        )
    assert "adresse e-mail" in " ".join(error.value.errors["password"])
    assert db.session.scalar(db.select(User.id)) is None


def test_an_admin_reset_applies_the_rules_with_the_email(app):
    user = make_user(make_organisation(), email="chef.equipe@tmh.fr")
    commit()
    for weak in ("chef.equipe", "bienvenue2026"):
        with pytest.raises(ValidationError):
            set_user_password(user, weak)
    assert user.check_password(DEFAULT_PASSWORD)


def test_the_admin_form_shows_the_rule(client, auth, app):
    organisation = make_organisation()
    admin = make_user(organisation, role=Role.ADMIN)
    gardien = make_user(organisation, role=Role.GARDIEN, email="gilles@tmh.fr")
    commit()
    auth.login(admin.email)
    url = f"/admin/utilisateurs/{gardien.id}/mot-de-passe"
    response = client.post(url, data={"password": "Gilles", "confirm": "Gilles"})
    assert response.status_code == 422 and "12 caractères" in response.text
    response = client.post(
        url, data={"password": "gilles@tmh.fr", "confirm": "gilles@tmh.fr"}
    )
    assert response.status_code == 422
    assert "adresse e-mail" in response.text
    assert gardien.check_password(DEFAULT_PASSWORD)


def test_the_cli_refuses_a_common_password(runner):
    organisation = make_organisation(code="TMH")
    commit()
    result = runner.invoke(
        args=[
            "orfi",
            "create-user",
            "nouveau@tmh.fr",
            "--name",
            "Nouveau",
            "--role",
            "gardien",
            "--organisation",
            organisation.code,
            "--password",
            "motdepasse2026",
        ]
    )
    assert result.exit_code == 1
    assert "parmi les plus courants" in result.output
    assert db.session.scalar(db.select(User.id)) is None
