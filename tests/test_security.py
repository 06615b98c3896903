"""Web hardening: security headers, cookies, CSRF on every write, sessions that end."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from werkzeug.http import parse_cookie
from werkzeug.routing import IntegerConverter, UUIDConverter

from orfi import create_app
from orfi.auth.models import Role
from orfi.auth.routes import SESSION_ENDED
from orfi.auth.services import set_user_password
from orfi.database import utcnow
from orfi.security.headers import content_security_policy, tile_source
from tests.factories import DEFAULT_PASSWORD, commit, make_organisation, make_user
from tests.helpers import csrf_token

HTML_ENDED = SESSION_ENDED.replace("'", "&#39;")


@pytest.fixture
def referent(app):
    user = make_user(make_organisation(), role=Role.REFERENT, email="ref@exemple.fr")
    commit()
    return user


def login(client, email: str, *, remember: bool = False, password=DEFAULT_PASSWORD):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post("/connexion", data=data)


def logged_in(client) -> bool:
    return client.get("/signalements/").status_code == 200


def directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in parts}


# ------------------------------------------------------------------------- headers


def _responses(client, referent):
    login(client, referent.email)
    return {
        "html page": client.get("/signalements/"),
        "login page": client.get("/connexion"),
        "json": client.get("/api/v1/me"),
        "static file": client.get("/static/css/orfi.css"),
        "service worker": client.get("/sw.js"),
        "404 page": client.get("/pas-une-page"),
        "json error": client.get(f"/api/v1/reports/{uuid.uuid4()}"),
        "redirect": client.get("/connexion"),
    }


def test_every_kind_of_response_has_the_security_headers(client, referent):
    responses = _responses(client, referent)
    assert responses["404 page"].status_code == 404
    assert responses["json error"].status_code == 404
    assert responses["redirect"].status_code == 302
    for kind, response in responses.items():
        headers = response.headers
        assert headers["Content-Security-Policy"] == content_security_policy(""), kind
        assert headers["X-Content-Type-Options"] == "nosniff", kind
        assert headers["X-Frame-Options"] == "DENY", kind
        assert headers["Referrer-Policy"] == "same-origin", kind
        assert "geolocation=(self)" in headers["Permissions-Policy"], kind
        assert "camera=(self)" in headers["Permissions-Policy"], kind
        assert "microphone=()" in headers["Permissions-Policy"], kind
        assert "Strict-Transport-Security" not in headers, kind


def test_a_server_error_page_has_the_security_headers(test_config, _schema):
    app = create_app({**test_config, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/boum")
    def boum():
        raise RuntimeError("boum")

    response = app.test_client().get("/boum")
    assert response.status_code == 500
    assert response.headers["Content-Security-Policy"] == content_security_policy("")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_policy_allows_no_inline_code_and_no_framing():
    policy = directives(content_security_policy(""))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["worker-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert "unsafe" not in content_security_policy("https://{s}.tiles.fr/{z}/{x}/{y}")


@pytest.mark.parametrize(
    "template, source",
    [
        ("", None),
        ("/tuiles/{z}/{x}/{y}.png", None),
        ("https://tiles.tmh.fr/{z}/{x}/{y}.png", "https://tiles.tmh.fr"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("https://a-{s}.cdn.example.org/{z}/{x}/{y}", "https://*.cdn.example.org"),
        ("http://carto.local:8080/{z}/{x}/{y}.png", "http://carto.local:8080"),
        ("//tiles.tmh.fr/{z}/{x}/{y}.png", "tiles.tmh.fr"),
    ],
)
def test_tile_server_is_the_only_other_image_source(template, source):
    assert tile_source(template) == source
    images = directives(content_security_policy(template))["img-src"]
    assert images == ["'self'", "data:", "blob:", *([source] if source else [])]


def test_the_configured_tile_server_is_in_the_policy(app, client):
    app.config["ORFI_TILE_URL"] = "https://{s}.tuiles.tmh.fr/{z}/{x}/{y}.png"
    policy = directives(client.get("/connexion").headers["Content-Security-Policy"])
    assert policy["img-src"][-1] == "https://*.tuiles.tmh.fr"
    assert policy["connect-src"] == ["'self'"]


def test_no_template_holds_inline_script_style_or_handler(app):
    """The policy forbids them: a template that used one would break in browsers."""
    loader = app.jinja_env.loader
    inline = re.compile(
        r"<script(?![^>]*(\bsrc=|type=\"application/json\"))[^>]*>"
        r"|\sstyle=|\son[a-z]+=|javascript:",
        re.IGNORECASE,
    )
    offenders = []
    for name in app.jinja_env.list_templates():
        # The daily synthesis document is a file for e-mail, never served by orfi.
        if name == "syntheses/document.html" or not name.endswith(".html"):
            continue
        source = loader.get_source(app.jinja_env, name)[0]
        offenders += [f"{name}: {m.group(0)}" for m in inline.finditer(source)]
    assert offenders == []


def test_production_adds_hsts(test_config, _schema):
    app = create_app({**test_config, "ORFI_ENV": "production"})
    response = app.test_client().get("/connexion")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


# ------------------------------------------------------------------------- cookies


def _session_cookie(response) -> str:
    cookies = [
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")
    ]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def test_session_cookie_is_httponly_and_samesite(client, referent):
    cookie = _session_cookie(login(client, referent.email))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development serves plain HTTP
    # Without "Rester connecté", the cookie ends with the browser.
    assert "Expires" not in cookie


def test_production_cookies_are_secure(test_config, referent):
    production = create_app({**test_config, "ORFI_ENV": "production"})
    assert production.config["SESSION_COOKIE_SECURE"] is True
    cookie = _session_cookie(
        login(production.test_client(), referent.email, remember=True)
    )
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_remembered_login_is_a_bounded_session_cookie(client, referent):
    response = login(client, referent.email, remember=True)
    cookie = _session_cookie(response)
    expires = re.search(r"Expires=([^;]+)", cookie).group(1)
    from email.utils import parsedate_to_datetime

    lifetime = parsedate_to_datetime(expires) - utcnow()
    assert timedelta(days=6, hours=23) < lifetime <= timedelta(days=7)
    # Flask-Login's remember cookie (whose value never expires) is never set.
    assert not any(
        c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie")
    )


def test_a_foreign_remember_cookie_logs_nobody_in_and_is_deleted(app, referent):
    from flask_login.utils import encode_cookie

    client = app.test_client()
    with app.test_request_context():
        value = encode_cookie(str(referent.id))
    client.set_cookie("remember_token", value)
    response = client.get("/signalements/")
    assert response.status_code == 302
    deleted = [
        c
        for c in response.headers.getlist("Set-Cookie")
        if c.startswith("remember_token=")
    ]
    assert deleted and "Expires=Thu, 01 Jan 1970" in deleted[0]


# ---------------------------------------------------------------------------- CSRF


def _sample_url(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            values[name] = 1
        elif isinstance(converter, UUIDConverter):
            values[name] = uuid.UUID(int=1)
        else:
            values[name] = "x"
    return rule.build(values, append_unknown=False)[1]


def test_every_write_route_refuses_a_session_request_without_csrf_token(csrf_app):
    user = make_user(make_organisation(), role=Role.ADMIN)
    commit()
    client = csrf_app.test_client()
    page = client.get("/connexion").text
    token = csrf_token(page)
    response = client.post(
        "/connexion",
        data={
            "email": user.email,
            "password": DEFAULT_PASSWORD,
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    checked = []
    for rule in csrf_app.url_map.iter_rules():
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            url = _sample_url(rule)
            answer = client.open(url, method=method, data={"x": "1"})
            assert answer.status_code == 400, (method, url, answer.status_code)
            assert "CSRF" in answer.get_data(as_text=True) or "jeton" in answer.text, (
                url
            )
            checked.append(url)
    assert logged_in(client)
    assert len(checked) >= 20  # forms of every feature, and the API's writes


def test_api_token_requests_need_no_csrf_token(csrf_app):
    from orfi.api.services import create_token

    user = make_user(make_organisation(), role=Role.REFERENT)
    _token, secret = create_token(user, "outil")
    commit()
    response = csrf_app.test_client().post(
        "/api/v1/reports", json={}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code in (400, 422)
    assert "CSRF" not in response.get_data(as_text=True)


# ------------------------------------------------------------------------ sessions


def test_an_idle_session_ends(client, referent, clock):
    login(client, referent.email)
    clock.advance(minutes=59)
    assert logged_in(client)
    clock.advance(minutes=61)  # 61 minutes after the last request
    response = client.get("/signalements/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")
    assert HTML_ENDED in client.get(response.headers["Location"]).text
    assert not logged_in(client)


def test_an_active_session_ends_after_its_lifetime(client, referent, clock):
    login(client, referent.email)
    for _ in range(23):  # a request every 30 minutes for 11 h 30
        clock.advance(minutes=30)
        assert logged_in(client)
    clock.advance(minutes=31)
    assert not logged_in(client)


def test_a_remembered_session_survives_idleness_but_not_its_days(
    client, referent, clock
):
    login(client, referent.email, remember=True)
    clock.advance(days=3)
    assert logged_in(client)
    clock.advance(days=4, minutes=-1)
    assert logged_in(client)
    clock.advance(minutes=2)
    assert not logged_in(client)


def test_remember_zero_hides_the_box_and_keeps_the_idle_limit(
    app, client, referent, clock
):
    app.config["ORFI_SESSION_REMEMBER_DAYS"] = 0
    assert 'name="remember"' not in client.get("/connexion").text
    cookie = _session_cookie(login(client, referent.email, remember=True))
    assert "Expires" not in cookie
    clock.advance(minutes=61)
    assert not logged_in(client)


def test_the_api_answers_401_to_an_ended_session(csrf_app, clock):
    """The PWA keeps its unsent facts on a 401 (not on a CSRF 400 or a redirect)."""
    user = make_user(make_organisation(), role=Role.GARDIEN)
    commit()
    client = csrf_app.test_client()
    token = csrf_token(client.get("/connexion").text)
    client.post(
        "/connexion",
        data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token},
    )
    csrf = client.get("/api/v1/me").json["csrf_token"]
    clock.advance(hours=2)
    me = client.get("/api/v1/me")
    assert me.status_code == 401 and me.is_json
    sent = client.post("/api/v1/reports", json={}, headers={"X-CSRFToken": csrf})
    assert sent.status_code == 401 and sent.is_json


def test_a_session_from_before_the_limits_is_ended(client, referent):
    login(client, referent.email)
    with client.session_transaction() as session:
        del session["orfi_login_at"]
    assert not logged_in(client)


def test_a_new_password_ends_the_other_sessions(app, referent):
    phone, desk = app.test_client(), app.test_client()
    login(phone, referent.email)
    login(desk, referent.email)
    set_user_password(referent, "un-nouveau-secret-2026")
    commit()
    assert not logged_in(phone) and not logged_in(desk)
    assert (
        login(phone, referent.email, password="un-nouveau-secret-2026").status_code
        == 302
    )
    assert logged_in(phone)


def test_a_deactivated_account_loses_its_session(client, referent):
    login(client, referent.email)
    assert logged_in(client)
    referent.active = False
    commit()
    assert not logged_in(client)


def test_logout_ends_the_session(client, referent):
    login(client, referent.email)
    response = client.post("/deconnexion")
    assert response.status_code == 302
    assert not logged_in(client)


def test_login_starts_a_new_session(client, referent):
    with client.session_transaction() as session:
        session["planted"] = "par un tiers"
    login(client, referent.email)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["orfi_login_at"] == session["orfi_seen_at"]


def test_the_session_cookie_is_not_rewritten_at_every_request(client, referent, clock):
    login(client, referent.email)
    client.get("/signalements/")  # the first page puts a CSRF token in the session
    clock.advance(seconds=10)
    quiet = client.get("/signalements/")
    assert not any(
        c.startswith("session=") for c in quiet.headers.getlist("Set-Cookie")
    )
    clock.advance(minutes=2)
    seen = client.get("/signalements/")
    cookie = _session_cookie(seen)
    assert parse_cookie(cookie)["session"]


# ------------------------------------------------------------ one's own password


def test_change_own_password(app, referent):
    client, other = app.test_client(), app.test_client()
    login(client, referent.email)
    login(other, referent.email)
    page = client.get("/compte/mot-de-passe")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.text

    wrong = client.post(
        "/compte/mot-de-passe",
        data={"current": "pas-le-bon-1", "password": "x", "confirm": "x"},
    )
    assert wrong.status_code == 422
    weak = client.post(
        "/compte/mot-de-passe",
        data={
            "current": DEFAULT_PASSWORD,
            "password": "ref@exemple.fr",
            "confirm": "ref@exemple.fr",
        },
    )
    assert weak.status_code == 422 and "adresse e-mail" in weak.text
    new = "trois-mots-au-hasard-7"
    done = client.post(
        "/compte/mot-de-passe",
        data={"current": DEFAULT_PASSWORD, "password": new, "confirm": new},
    )
    assert done.status_code == 302
    assert logged_in(client)  # this session goes on
    assert not logged_in(other)  # the others end
    assert referent.check_password(new)


def test_a_wrong_current_password_counts_as_a_failed_login(app, client, referent):
    app.config["ORFI_LOGIN_ACCOUNT_LIMIT"] = 2
    login(client, referent.email)
    for _ in range(2):
        client.post(
            "/compte/mot-de-passe",
            data={
                "current": "pas-le-bon-1",
                "password": "a-b-c-d-e-f-1",
                "confirm": "a-b-c-d-e-f-1",
            },
        )
    # Locked now: even the right current password is refused.
    locked = client.post(
        "/compte/mot-de-passe",
        data={
            "current": DEFAULT_PASSWORD,
            "password": "a-b-c-d-e-f-1",
            "confirm": "a-b-c-d-e-f-1",
        },
    )
    assert locked.status_code == 422
    assert referent.check_password(DEFAULT_PASSWORD)


@pytest.mark.browser
def test_the_browser_enforces_the_policy(browser_session):
    """The header reaches the browser: an injected inline script does not run."""
    page = browser_session.new_page()
    page.goto("/connexion")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = true'; document.body.append(s); }"
    )
    assert page.evaluate("() => window.injected") is None
    refused = [p for p in browser_session.problems if "Content Security Policy" in p]
    assert refused, browser_session.problems
    browser_session.problems.clear()
    browser_session.assert_clean()
