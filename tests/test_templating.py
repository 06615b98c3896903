"""orfi.templating: the menus every page's header shows."""

from __future__ import annotations

import pytest
from bs4 import Tag

from orfi.auth.models import Role
from tests.factories import commit, make_organisation, make_user
from tests.helpers import parse

PASSWORD_PAGE = "/compte/mot-de-passe"


def header_of(page: str) -> Tag:
    """The page's top bar (menus, account area, logout)."""
    return parse(page).find("header", class_="topbar")


def password_links(header: Tag) -> list[Tag]:
    """The links of the header that lead to the password page."""
    return header.find_all("a", href=PASSWORD_PAGE)


def main_menu_labels(header: Tag) -> list[str]:
    """The labels of the main menu's links, in order."""
    menu = header.find("ul", class_="nav-main")
    return [link.get_text(strip=True) for link in menu.find_all("a")]


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_every_logged_in_role_finds_its_password_page(client, auth, app, role):
    organisation = make_organisation()
    user = make_user(None if role is Role.FEDERATION else organisation, role=role)
    commit()
    auth.login(user.email)
    header = header_of(client.get("/", follow_redirects=True).text)
    links = password_links(header)
    # Beside the logout button (wide screens) and in the "Menu" (phones).
    assert len(links) == 2, header
    assert all(link.get_text(strip=True) == "Mon mot de passe" for link in links)
    # The main menu itself does not grow: the entry is in the account area.
    assert not header.find("ul", class_="nav-main").find_all("a", href=PASSWORD_PAGE)
    assert client.get(PASSWORD_PAGE).status_code == 200


def test_the_password_page_marks_its_link_as_current(client, auth, app):
    user = make_user(make_organisation(), role=Role.REFERENT)
    commit()
    auth.login(user.email)
    links = password_links(header_of(client.get(PASSWORD_PAGE).text))
    assert links and all(link.get("aria-current") == "page" for link in links)


def test_no_account_link_before_login(client, app):
    page = client.get("/connexion").text
    assert PASSWORD_PAGE not in page
    assert "Mon mot de passe" not in page


@pytest.mark.parametrize(
    "role, first_two",
    [
        (Role.GARDIEN, ["Signaler", "Mes signalements"]),
        (Role.REFERENT, ["Faits", "Carte"]),
        (Role.DIRECTION, ["Statistiques", "Faits"]),
        (Role.ADMIN, ["Faits", "Carte"]),
        (Role.FEDERATION, ["Fédération", "Synthèse"]),
    ],
)
def test_a_phone_top_bar_shows_the_role_s_main_tasks(
    client, auth, app, role, first_two
):
    """A phone shows the first two entries of the main menu (the rest under "Menu"):
    they are what the role does most; every other entry stays, once."""
    organisation = None if role is Role.FEDERATION else make_organisation()
    user = make_user(organisation, role=role)
    commit()
    auth.login(user.email)
    labels = main_menu_labels(header_of(client.get("/", follow_redirects=True).text))
    assert labels[:2] == first_two
    assert len(labels) == len(set(labels))
    if role not in (Role.GARDIEN, Role.FEDERATION):
        assert {"Signaler", "Mes signalements", "Statistiques"} <= set(labels)
