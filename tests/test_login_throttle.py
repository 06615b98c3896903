"""Login throttling: per account and per address, in the database, without telling
who has an account."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from orfi.auth.models import Role
from orfi.auth.routes import LOGIN_REFUSED
from orfi.auth.services import set_user_password
from orfi.extensions import db
from orfi.security.models import LoginFailure
from orfi.security.throttle import lock_delay, record_login_failure
from tests.factories import DEFAULT_PASSWORD, commit, make_organisation, make_user

REFUSED = LOGIN_REFUSED.replace("'", "&#39;")
KNOWN = "ref@exemple.fr"
UNKNOWN = "personne@exemple.fr"


@pytest.fixture
def referent(app):
    user = make_user(make_organisation(), role=Role.REFERENT, email=KNOWN)
    commit()
    return user


def attempt(client, email, password, address="192.0.2.10"):
    return client.post(
        "/connexion",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def logged_in(response) -> bool:
    return response.status_code == 302


def failures() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure))


def page_without_email(response, email: str) -> str:
    return response.text.replace(email, "EMAIL")


def test_ten_wrong_passwords_get_the_same_answers_for_known_and_unknown_accounts(
    app, referent, clock
):
    answers = {}
    for email in (KNOWN, UNKNOWN):
        client = app.test_client()
        answers[email] = [
            (r.status_code, page_without_email(r, email))
            for r in (attempt(client, email, f"mauvais-{i}-essai") for i in range(10))
        ]
    assert answers[KNOWN] == answers[UNKNOWN]
    assert all(status == 200 for status, _ in answers[KNOWN])
    assert all(REFUSED in page for _, page in answers[KNOWN])
    # Five were checked and counted for each; the other five were refused unchecked.
    assert failures() == 10


def test_the_sixth_attempt_is_refused_even_with_the_right_password(
    client, referent, clock
):
    for i in range(5):
        assert not logged_in(attempt(client, KNOWN, f"mauvais-{i}"))
    for _ in range(5):
        refused = attempt(client, KNOWN, DEFAULT_PASSWORD)
        assert refused.status_code == 200 and REFUSED in refused.text
        clock.advance(seconds=10)
    clock.advance(seconds=10)  # one minute after the fifth failure
    assert logged_in(attempt(client, KNOWN, DEFAULT_PASSWORD))


def test_the_lock_grows_with_each_failure_after_the_limit(client, referent, clock):
    for i in range(5):
        attempt(client, KNOWN, f"mauvais-{i}")
    clock.advance(minutes=1)
    attempt(client, KNOWN, "encore-mauvais")  # the sixth failure: two minutes
    clock.advance(minutes=1, seconds=59)
    assert not logged_in(attempt(client, KNOWN, DEFAULT_PASSWORD))
    clock.advance(seconds=1)
    assert logged_in(attempt(client, KNOWN, DEFAULT_PASSWORD))


@pytest.mark.parametrize(
    "failures, expected",
    [(4, None), (5, 1), (6, 2), (7, 4), (10, 32), (11, 60), (500, 60)],
)
def test_lock_delay(failures, expected):
    delay = lock_delay(failures, 5, timedelta(minutes=60))
    assert delay == (None if expected is None else timedelta(minutes=expected))
    assert lock_delay(failures, 0, timedelta(minutes=60)) is None


def test_an_unknown_account_is_locked_like_a_known_one(app, referent, clock):
    for email in (KNOWN, UNKNOWN):
        client = app.test_client()
        for i in range(5):
            attempt(client, email, f"mauvais-{i}")
    counted = failures()
    clock.advance(seconds=30)
    for email in (KNOWN, UNKNOWN):
        attempt(app.test_client(), email, "pendant-le-blocage-1")
    assert failures() == counted  # both locked: refused without being counted
    clock.advance(seconds=30)
    for email in (KNOWN, UNKNOWN):
        attempt(app.test_client(), email, "apres-le-blocage-1")
    assert failures() == counted + 2  # both free again at the same moment


def test_the_same_email_in_another_case_is_the_same_account(client, referent, clock):
    for i, email in enumerate(["REF@exemple.fr", " ref@EXEMPLE.fr", KNOWN] * 2):
        attempt(client, email, f"mauvais-{i}")
    assert not logged_in(attempt(client, KNOWN, DEFAULT_PASSWORD))


def test_a_successful_login_resets_the_account_counter(app, referent, clock):
    client = app.test_client()
    for i in range(4):
        attempt(client, KNOWN, f"mauvais-{i}")
    assert logged_in(attempt(client, KNOWN, DEFAULT_PASSWORD))
    client = app.test_client()
    for i in range(4):
        attempt(client, KNOWN, f"mauvais-{i}")
    assert logged_in(attempt(client, KNOWN, DEFAULT_PASSWORD))


def test_an_address_trying_many_accounts_is_locked(app, referent, clock):
    client = app.test_client()
    for i in range(20):
        attempt(client, f"cible{i}@exemple.fr", "azerty-123-x", address="198.51.100.7")
    # The right password of an account never tried is refused from that address...
    refused = attempt(client, KNOWN, DEFAULT_PASSWORD, address="198.51.100.7")
    assert refused.status_code == 200 and REFUSED in refused.text
    # ...and accepted from another one.
    assert logged_in(attempt(app.test_client(), KNOWN, DEFAULT_PASSWORD, "192.0.2.99"))
    clock.advance(minutes=1)
    assert logged_in(attempt(client, KNOWN, DEFAULT_PASSWORD, address="198.51.100.7"))


def test_an_address_forgets_its_failures_after_an_hour(app, referent, clock):
    client = app.test_client()
    for i in range(19):
        attempt(client, f"cible{i}@exemple.fr", "azerty-123-x", address="198.51.100.7")
    clock.advance(minutes=61)
    attempt(client, "cible-19@exemple.fr", "azerty-123-x", address="198.51.100.7")
    assert logged_in(attempt(client, KNOWN, DEFAULT_PASSWORD, address="198.51.100.7"))


def test_an_account_remembers_its_failures_for_a_day(client, referent, clock):
    for i in range(4):
        attempt(client, KNOWN, f"mauvais-{i}")
        clock.advance(hours=5)
    attempt(client, KNOWN, "mauvais-4")  # five failures within 20 hours
    assert not logged_in(attempt(client, KNOWN, DEFAULT_PASSWORD))
    clock.advance(hours=4, minutes=1)  # the first one is now more than a day old
    assert logged_in(attempt(client, KNOWN, DEFAULT_PASSWORD))


def test_limits_come_from_the_settings(app, client, referent, clock):
    app.config["ORFI_LOGIN_ACCOUNT_LIMIT"] = 2
    app.config["ORFI_LOGIN_LOCK_MAX_MINUTES"] = 1
    for i in range(6):
        attempt(client, KNOWN, f"mauvais-{i}")
        clock.advance(minutes=1)
    assert logged_in(attempt(client, KNOWN, DEFAULT_PASSWORD))


def test_old_failures_are_pruned(app, referent, clock):
    record_login_failure("ancien@exemple.fr", "192.0.2.1")
    clock.advance(hours=24, seconds=1)
    record_login_failure("nouveau@exemple.fr", "192.0.2.1")
    commit()
    assert failures() == 1


def test_failures_store_no_email_or_address_in_clear(client, referent):
    attempt(client, "secret-tape-ici@exemple.fr", "x-y-z-1", address="203.0.113.5")
    row = db.session.scalar(sa.select(LoginFailure))
    assert re.fullmatch(r"[0-9a-f]{64}", row.account_key)
    assert re.fullmatch(r"[0-9a-f]{64}", row.address_key)
    assert "exemple" not in row.account_key and "203" not in row.address_key


def count_password_hashes(monkeypatch) -> list:
    """Return the list that each password check of a login will be appended to."""
    import orfi.auth.services as services

    calls = []
    real = services.check_password_hash
    monkeypatch.setattr(
        services,
        "check_password_hash",
        lambda *args: calls.append(args) or real(*args),
    )
    return calls


def test_an_unknown_account_costs_a_password_hash_too(client, referent, monkeypatch):
    calls = count_password_hashes(monkeypatch)
    attempt(client, UNKNOWN, "un-mot-de-passe-1")
    assert len(calls) == 1


@pytest.mark.parametrize("email", [KNOWN, UNKNOWN])
def test_a_locked_login_costs_a_password_hash_too(
    client, referent, clock, monkeypatch, email
):
    """A locked login answered without hashing took 7 ms instead of ~100 ms: the
    timing told an attacker the lock was on (issue 17)."""
    for i in range(5):
        attempt(client, email, f"mauvais-{i}")
    calls = count_password_hashes(monkeypatch)
    refused = attempt(client, email, DEFAULT_PASSWORD)
    assert refused.status_code == 200 and REFUSED in refused.text
    assert len(calls) == 1


def test_an_admin_password_reset_lifts_the_lock(client, referent, clock):
    for i in range(5):
        attempt(client, KNOWN, f"mauvais-{i}")
    set_user_password(referent, "remis-a-neuf-2026")
    commit()
    assert logged_in(attempt(client, KNOWN, "remis-a-neuf-2026"))


def test_the_login_page_explains_the_lock_to_everyone_refused(client, referent):
    assert "suspendue" not in client.get("/connexion").text
    assert "suspendue" in attempt(client, UNKNOWN, "mauvais-1-essai").text


def test_parallel_attempts_cannot_try_more_passwords_than_the_limit(app, referent):
    """Eight simultaneous wrong passwords: five are checked, the others refused."""
    # Plain clients: each request pushes its own context, as under gunicorn.
    start = threading.Barrier(8)
    results = []

    def run(n: int) -> None:
        client = FlaskClient(app, use_cookies=True)
        start.wait()
        results.append(attempt(client, KNOWN, f"mauvais-{n}").status_code)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [200] * 8
    db.session.expire_all()
    assert failures() == 5


@pytest.mark.parametrize("proxies", [0, 1])
def test_behind_a_proxy_the_client_address_comes_from_x_forwarded_for(
    test_config, referent, proxies
):
    from orfi import create_app

    proxied = create_app({**test_config, "ORFI_PROXY_COUNT": proxies})
    client = proxied.test_client()

    def attempt_from(forwarded: str, email: str, password: str):
        return client.post(
            "/connexion",
            data={"email": email, "password": password},
            headers={"X-Forwarded-For": forwarded},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},  # the proxy
        )

    for i in range(20):
        attempt_from("198.51.100.7", f"cible{i}@exemple.fr", "azerty-123-x")
    other_client = attempt_from("192.0.2.99", KNOWN, DEFAULT_PASSWORD)
    # One proxy: the two clients are told apart. None declared: a forged header is
    # ignored, and every request comes from the proxy's address.
    assert logged_in(other_client) is (proxies == 1)
