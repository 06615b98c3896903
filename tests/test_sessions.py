"""Sessions the server ends: a copy of a session cookie replayed after logout, a new
password, a deactivation or « déconnecter partout » opens nothing (issue 17)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from orfi.api.services import create_token
from orfi.auth.models import Role, User
from orfi.auth.services import set_user_password, update_user
from orfi.extensions import db
from orfi.reports.models import Report, ReportEvent, Status
from orfi.security.models import UserSession
from orfi.security.sessions import device_summary, truncated_network
from tests.factories import (
    DEFAULT_PASSWORD,
    commit,
    make_organisation,
    make_report,
    make_user,
)
from tests.helpers import csrf_token

NEW_PASSWORD = "trois-mots-au-hasard-7"
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"
)


@pytest.fixture
def world(csrf_app):
    organisation = make_organisation()
    referent = make_user(organisation, role=Role.REFERENT, email="ref@exemple.fr")
    admin = make_user(organisation, role=Role.ADMIN, email="admin@exemple.fr")
    gardien = make_user(organisation)
    report = make_report(gardien)
    commit()
    return {"referent": referent, "admin": admin, "report": report}


def login(app, email: str, *, remember: bool = False, password=DEFAULT_PASSWORD):
    """Return a new browser logged in as ``email`` (CSRF on, as in production)."""
    client = app.test_client()
    data = {
        "email": email,
        "password": password,
        "csrf_token": csrf_token(client.get("/connexion").text),
    }
    if remember:
        data["remember"] = "y"
    response = client.post("/connexion", data=data, headers={"User-Agent": PHONE})
    assert response.status_code == 302, response.text
    return client


def copy_of(app, client):
    """Return another browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def form_token(client, url: str) -> str:
    return csrf_token(client.get(url).text)


def logout(client) -> None:
    token = form_token(client, "/signalements/")
    assert client.post("/deconnexion", data={"csrf_token": token}).status_code == 302


def api_csrf(client) -> str:
    """What a thief reads from ``GET /api/v1/me`` while the session is live."""
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    return me.json["csrf_token"]


def assert_refused(client, report: Report, csrf: str) -> None:
    """The session of ``client`` reads nothing and writes nothing any more."""
    page = client.get("/signalements/")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/connexion")
    me = client.get("/api/v1/me")
    assert me.status_code == 401 and me.is_json
    patch = client.patch(
        f"/api/v1/reports/{report.uuid}",
        json={"status": "transmis", "comment": "Par un cookie volé."},
        headers={"X-CSRFToken": csrf},
    )
    assert patch.status_code == 401 and patch.is_json
    db.session.expire_all()
    assert db.session.get(Report, report.id).status is Status.NOUVEAU
    assert not db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ReportEvent)
        .where(ReportEvent.report_id == report.id)
    )


def assert_alive(client) -> None:
    assert client.get("/signalements/").status_code == 200


# ------------------------------------------------------------------- the attacks


@pytest.mark.parametrize("remember", [False, True], ids=["session", "remembered"])
def test_a_cookie_copied_before_logout_is_refused_after(csrf_app, world, remember):
    user = login(csrf_app, "ref@exemple.fr", remember=remember)
    thief = copy_of(csrf_app, user)
    csrf = api_csrf(thief)  # the copy works while the session lives
    logout(user)
    assert_refused(thief, world["report"], csrf)
    assert_refused(user, world["report"], csrf)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(csrf_app, world):
    phone = login(csrf_app, "ref@exemple.fr")
    desk = login(csrf_app, "ref@exemple.fr", remember=True)
    thief = copy_of(csrf_app, desk)
    csrf = api_csrf(thief)
    done = phone.post(
        "/compte/mot-de-passe",
        data={
            "current": DEFAULT_PASSWORD,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": form_token(phone, "/compte/mot-de-passe"),
        },
    )
    assert done.status_code == 302
    assert_refused(desk, world["report"], csrf)
    assert_refused(thief, world["report"], csrf)
    assert_alive(phone)


def test_a_deactivated_then_reactivated_account_gets_no_old_session_back(
    csrf_app, world
):
    user = login(csrf_app, "ref@exemple.fr")
    thief = copy_of(csrf_app, user)
    csrf = api_csrf(thief)
    referent, admin = world["referent"], world["admin"]
    for active in (False, True):
        update_user(
            referent,
            actor=admin,
            name=referent.name,
            role=referent.role,
            agence=None,
            sector=[],
            active=active,
        )
        commit()
    assert_refused(thief, world["report"], csrf)
    assert_refused(user, world["report"], csrf)
    assert_alive(login(csrf_app, "ref@exemple.fr"))


def test_an_administrator_logs_a_user_out_everywhere(csrf_app, world):
    phone = login(csrf_app, "ref@exemple.fr", remember=True)
    desk = login(csrf_app, "ref@exemple.fr")
    thief = copy_of(csrf_app, phone)
    csrf = api_csrf(thief)
    admin = login(csrf_app, "admin@exemple.fr")
    url = f"/admin/utilisateurs/{world['referent'].id}"
    page = admin.get(url)
    assert "2 sessions ouvertes" in page.text and "Déconnecter partout" in page.text
    done = admin.post(
        f"{url}/deconnecter-partout", data={"csrf_token": csrf_token(page.text)}
    )
    assert done.status_code == 302
    assert "2 sessions fermées" in admin.get(done.headers["Location"]).text
    for client in (phone, desk, thief):
        assert_refused(client, world["report"], csrf)
    assert_alive(admin)


def test_logout_everywhere_needs_the_csrf_token_and_stays_in_the_organisation(
    csrf_app, world
):
    user = login(csrf_app, "ref@exemple.fr")
    admin = login(csrf_app, "admin@exemple.fr")
    url = f"/admin/utilisateurs/{world['referent'].id}/deconnecter-partout"
    assert admin.post(url).status_code == 400
    stranger = make_user(make_organisation(), role=Role.ADMIN, email="x@autre.fr")
    commit()
    other = login(csrf_app, stranger.email)
    token = form_token(other, "/admin/")
    assert other.post(url, data={"csrf_token": token}).status_code == 404
    assert_alive(user)


def test_a_user_ends_another_of_their_sessions(csrf_app, world):
    phone = login(csrf_app, "ref@exemple.fr")
    desk = login(csrf_app, "ref@exemple.fr")
    csrf = api_csrf(desk)
    page = phone.get("/compte/sessions")
    assert page.status_code == 200
    assert page.text.count("Chrome · Android") == 2
    assert "Cette session" in page.text
    desk_id = db.session.scalars(
        sa.select(UserSession.id).order_by(UserSession.id.desc())
    ).first()
    ended = phone.post(
        f"/compte/sessions/{desk_id}/fin", data={"csrf_token": csrf_token(page.text)}
    )
    assert ended.status_code == 302
    assert_refused(desk, world["report"], csrf)
    assert_alive(phone)
    assert phone.get("/compte/sessions").text.count("Chrome · Android") == 1


def test_a_user_ends_all_their_other_sessions(csrf_app, world):
    phone = login(csrf_app, "ref@exemple.fr")
    others = [login(csrf_app, "ref@exemple.fr") for _ in range(2)]
    csrf = api_csrf(others[0])
    page = phone.get("/compte/sessions")
    done = phone.post(
        "/compte/sessions/fin-des-autres", data={"csrf_token": csrf_token(page.text)}
    )
    assert "2 autres sessions fermées" in phone.get(done.headers["Location"]).text
    for client in others:
        assert_refused(client, world["report"], csrf)
    assert_alive(phone)


def test_ending_ones_own_current_session_logs_out(csrf_app, world):
    user = login(csrf_app, "ref@exemple.fr")
    page = user.get("/compte/sessions")
    (own,) = db.session.scalars(sa.select(UserSession.id)).all()
    user.post(f"/compte/sessions/{own}/fin", data={"csrf_token": csrf_token(page.text)})
    assert user.get("/signalements/").status_code == 302


def test_nobody_ends_the_session_of_someone_else(csrf_app, world):
    victim = login(csrf_app, "admin@exemple.fr")
    (victim_session,) = db.session.scalars(sa.select(UserSession.id)).all()
    attacker = login(csrf_app, "ref@exemple.fr")
    token = form_token(attacker, "/compte/sessions")
    url = f"/compte/sessions/{victim_session}/fin"
    assert attacker.post(url, data={"csrf_token": token}).status_code == 404
    assert_alive(victim)


# ------------------------------------------------------------- API tokens


def test_a_password_change_revokes_the_personal_api_tokens(csrf_app, world):
    _token, secret = create_token(world["referent"], "outil")
    commit()
    client = csrf_app.test_client()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    user = login(csrf_app, "ref@exemple.fr")
    page = user.get("/compte/mot-de-passe")
    assert "jetons d'API révoqués" in page.text
    user.post(
        "/compte/mot-de-passe",
        data={
            "current": DEFAULT_PASSWORD,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_token(page.text),
        },
    )
    assert client.get("/api/v1/me", headers=bearer).status_code == 401


def test_an_administrators_reset_ends_every_session_and_token(csrf_app, world):
    user = login(csrf_app, "ref@exemple.fr")
    csrf = api_csrf(user)
    _token, secret = create_token(world["referent"], "outil")
    commit()
    set_user_password(world["referent"], NEW_PASSWORD)
    commit()
    assert_refused(user, world["report"], csrf)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert user.get("/api/v1/me", headers=bearer).status_code == 401


# ------------------------------------------------------------ what is stored


def test_the_row_holds_a_hash_of_the_key_and_little_personal_data(csrf_app, world):
    user = login(csrf_app, "ref@exemple.fr")
    with user.session_transaction() as session:
        key = session["orfi_session"]
        assert set(session) >= {"_user_id", "orfi_session", "orfi_login_at"}
    (row,) = db.session.scalars(sa.select(UserSession)).all()
    assert key not in row.key_hash and len(row.key_hash) == 64
    assert row.device == "Chrome · Android"
    assert row.network == "127.0.0.0/24"
    assert row.user_id == world["referent"].id and row.revoked_at is None


def test_a_session_without_a_key_is_ended(csrf_app, world):
    """Sessions opened before the server kept them end at their next request."""
    user = login(csrf_app, "ref@exemple.fr")
    with user.session_transaction() as session:
        del session["orfi_session"]
    assert user.get("/signalements/").status_code == 302


def test_last_activity_is_noted_at_most_once_a_minute(csrf_app, world, clock):
    user = login(csrf_app, "ref@exemple.fr")
    (row,) = db.session.scalars(sa.select(UserSession)).all()
    first = row.last_seen_at
    clock.advance(seconds=30)
    user.get("/signalements/")
    db.session.expire_all()
    assert db.session.get(UserSession, row.id).last_seen_at == first
    clock.advance(minutes=2)
    user.get("/signalements/")
    db.session.expire_all()
    assert db.session.get(UserSession, row.id).last_seen_at > first


def test_idle_and_old_sessions_are_not_listed_and_are_pruned(csrf_app, world, clock):
    old = login(csrf_app, "ref@exemple.fr")
    clock.advance(minutes=90)  # idle beyond the hour: over
    page = login(csrf_app, "ref@exemple.fr").get("/compte/sessions")
    assert page.text.count("Chrome · Android") == 1
    assert old.get("/signalements/").status_code == 302
    clock.advance(days=8)  # beyond the longest lifetime: deleted at the next login
    login(csrf_app, "ref@exemple.fr")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 1


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (PHONE, "Chrome · Android"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 "
            "Firefox/133.0",
            "Firefox · Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1"
            " (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            "Safari · iPhone",
        ),
        ("curl/8.5", "Inconnu"),
        ("", "Inconnu"),
    ],
)
def test_device_summary(agent, expected):
    assert device_summary(agent) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("203.0.113.57", "203.0.113.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("inconnue", ""),
        (None, ""),
    ],
)
def test_truncated_network(address, expected):
    assert truncated_network(address) == expected


# ---------------------------------------------------------------------- browser


@pytest.mark.browser
def test_the_sessions_page_in_a_browser(browser_session):
    """Two devices of the référente; the phone ends the desk's session."""
    email = browser_session.server.world.referent_email
    desk = browser_session.new_page(viewport={"width": 1366, "height": 768})
    browser_session.login(desk, email)
    phone = browser_session.new_page()
    browser_session.login(phone, email)
    phone.goto("/compte/sessions")
    cards = phone.locator(".token-card")
    assert cards.count() >= 2
    assert "Cette session" in cards.first.inner_text()
    browser_session.screenshot(phone, "sessions-360")
    desk.goto("/compte/sessions")
    browser_session.screenshot(desk, "sessions-1366")
    phone.get_by_role("button", name="Fermer toutes les autres sessions").click()
    phone.wait_for_url("**/compte/sessions")
    assert phone.locator(".token-card").count() == 1
    desk.goto("/signalements/")
    assert "/connexion" in desk.url
    browser_session.assert_clean()


@pytest.mark.browser
def test_logout_everywhere_in_a_browser(browser_session):
    """An administrator ends every session of the référente from her account page."""
    server = browser_session.server
    with server.app.app_context():
        referent = db.session.scalar(
            sa.select(User).where(User.email == server.world.referent_email)
        )
        make_user(referent.organisation, role=Role.ADMIN, email="admin-sessions@tmh.fr")
        commit()
        referent_id = referent.id
    phone = browser_session.new_page()
    browser_session.login(phone, server.world.referent_email)
    for name, viewport in (("360", None), ("1366", {"width": 1366, "height": 768})):
        admin = browser_session.new_page(**({"viewport": viewport} if viewport else {}))
        browser_session.login(admin, "admin-sessions@tmh.fr")
        admin.goto(f"/admin/utilisateurs/{referent_id}")
        browser_session.screenshot(admin, f"admin-logout-everywhere-{name}")
    admin.get_by_role("button", name="Déconnecter partout").click()
    admin.wait_for_url(f"**/admin/utilisateurs/{referent_id}")
    assert "déconnecté de partout" in admin.locator("main").inner_text()
    phone.goto("/signalements/")
    assert "/connexion" in phone.url
    browser_session.assert_clean()
