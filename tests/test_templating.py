"""orfi.templating: the menus every page's header shows."""

from __future__ import annotations

import re

import pytest

from orfi.auth.models import Role
from tests.factories import commit, make_organisation, make_user

PASSWORD_PAGE = "/compte/mot-de-passe"


def header_of(page: str) -> str:
    """The page's top bar (menus, account area, logout)."""
    return page[page.index('<header class="topbar">') : page.index("</header>")]


def password_links(header: str) -> list[str]:
    """The ``<a>`` tags of the header that lead to the password page."""
    return re.findall(rf'<a [^>]*href="{PASSWORD_PAGE}"[^>]*>[^<]*</a>', header)


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
    assert all(">Mon mot de passe</a>" in link for link in links)
    # The main menu itself does not grow: the entry is in the account area.
    main_menu = header[header.index('<ul class="nav-main">') :]
    main_menu = main_menu[: main_menu.index("</ul>")]
    assert PASSWORD_PAGE not in main_menu
    assert client.get(PASSWORD_PAGE).status_code == 200


def test_the_password_page_marks_its_link_as_current(client, auth, app):
    user = make_user(make_organisation(), role=Role.REFERENT)
    commit()
    auth.login(user.email)
    links = password_links(header_of(client.get(PASSWORD_PAGE).text))
    assert links and all('aria-current="page"' in link for link in links)


def test_no_account_link_before_login(client, app):
    page = client.get("/connexion").text
    assert PASSWORD_PAGE not in page
    assert "Mon mot de passe" not in page


@pytest.mark.parametrize(
    "role, first_two",
    [
        (Role.GARDIEN, ["Signaler", "Mes signalements"]),
        (Role.REFERENT, ["Faits", "Carte"]),
        (Role.DIRECTION, ["Faits", "Carte"]),
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
    header = header_of(client.get("/", follow_redirects=True).text)
    main_menu = header[header.index('<ul class="nav-main">') :]
    main_menu = main_menu[: main_menu.index("</ul>")]
    labels = re.findall(r"<a [^>]*>([^<]*)</a>", main_menu)
    assert labels[:2] == first_two
    assert len(labels) == len(set(labels))
    if role not in (Role.GARDIEN, Role.FEDERATION):
        assert {"Signaler", "Mes signalements", "Statistiques"} <= set(labels)
