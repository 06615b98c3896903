"""Web Push channel of the alerts: the server's key, the devices, sending (issue 11).

The push service is a local stub (tests/push_stub.py): it decrypts what it receives
with the keys a browser would hold and checks the VAPID signature, so these tests
prove that a real browser could read the message."""

from __future__ import annotations

import json
import stat
import time

import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature

from orfi.alerts.push import (
    PushDevice,
    PushTemporaryFailure,
    application_server_key,
    ensure_vapid_key,
    send_push,
)
from orfi.auth.models import Role
from orfi.extensions import db
from tests.factories import DEFAULT_PASSWORD, commit, make_organisation, make_user
from tests.helpers import parse
from tests.push_stub import PushStub

PAYLOAD = {"title": "Fait grave", "body": "TMH-2026-000001", "url": "/signalements/x"}


@pytest.fixture
def push_app(app, tmp_path):
    app.config.update(
        ORFI_VAPID_PRIVATE_KEY=str(tmp_path / "vapid.pem"),
        ORFI_PUSH_HOSTS="127.0.0.1",
        ORFI_PUSH_ALLOW_HTTP=1,
    )
    ensure_vapid_key()
    return app


@pytest.fixture
def stub():
    with PushStub() as running:
        yield running


@pytest.fixture
def referent(push_app):
    user = make_user(make_organisation(), role=Role.REFERENT)
    commit()
    return user


def _register(client, auth, user, device, **changes):
    auth.logout()
    auth.login(user.email)
    body = {**device.subscription(), **changes}
    return client.post("/alertes/telephones/", json=body)


def _devices(user_id: int) -> list[PushDevice]:
    return list(
        db.session.scalars(sa.select(PushDevice).where(PushDevice.user_id == user_id))
    )


def test_the_vapid_key_is_created_once_readable_by_its_owner_only(app, tmp_path):
    path = tmp_path / "keys" / "vapid.pem"
    app.config["ORFI_VAPID_PRIVATE_KEY"] = str(path)
    assert application_server_key() is None
    assert ensure_vapid_key() is True
    first = path.read_bytes()
    public = application_server_key()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_vapid_key() is False
    assert path.read_bytes() == first and application_server_key() == public
    # The key browsers subscribe with: an uncompressed P-256 point.
    assert len(public) == 87 and public.startswith("B")


def test_init_creates_the_key_in_the_instance(runner, app, tmp_path, monkeypatch):
    # orfi init's own call (the schema exists: init only upgrades it).
    app.instance_path = str(tmp_path / "instance")
    app.config["ORFI_VAPID_PRIVATE_KEY"] = ""
    result = runner.invoke(args=["orfi", "init"])
    assert (tmp_path / "instance" / "vapid_private.pem").exists(), result.output


def test_a_registered_device_receives_a_message_it_can_decrypt_and_verify(
    push_app, client, auth, referent, stub
):
    device = stub.device()
    response = _register(client, auth, referent, device)
    assert response.status_code == 201, response.get_json()

    assert send_push(referent.id, PAYLOAD, topic="e12u3") == 1
    [message] = stub.to(device)
    assert message.payload() == PAYLOAD
    claims = message.vapid_claims(application_server_key())
    assert claims["aud"] == stub.origin
    assert claims["exp"] > time.time()
    assert claims["sub"].startswith("mailto:")
    assert message.headers["topic"] == "e12u3"
    assert message.headers["content-encoding"] == "aes128gcm"
    assert int(message.headers["ttl"]) >= 3600
    # Another key does not verify: the check above is not a formality.
    other = PushStub().device().subscription()["keys"]["p256dh"]
    with pytest.raises((InvalidSignature, AssertionError)):
        message.vapid_claims(other)


def test_each_device_of_the_user_gets_it_and_nobody_else(
    push_app, client, auth, referent, stub
):
    phone, laptop, theirs = stub.device(), stub.device(), stub.device()
    _register(client, auth, referent, phone)
    _register(client, auth, referent, laptop)
    other = make_user(referent.organisation, role=Role.REFERENT)
    commit()
    _register(client, auth, other, theirs)

    assert send_push(referent.id, PAYLOAD, topic="t") == 2
    assert len(stub.to(phone)) == len(stub.to(laptop)) == 1
    assert stub.to(theirs) == []


def test_a_user_without_device_is_reached_on_none(push_app, referent, stub):
    assert send_push(referent.id, PAYLOAD, topic="t") == 0
    assert stub.received == []


def test_a_device_the_push_service_says_is_gone_is_removed(
    push_app, client, auth, referent, stub
):
    gone, kept = stub.device(), stub.device()
    _register(client, auth, referent, gone)
    _register(client, auth, referent, kept)
    stub.statuses[gone.endpoint.removeprefix(stub.origin)] = 410

    assert send_push(referent.id, PAYLOAD, topic="t") == 1
    commit()
    assert [d.endpoint for d in _devices(referent.id)] == [kept.endpoint]


@pytest.mark.parametrize("status", [503, 429, 403])
def test_a_push_service_that_fails_makes_the_worker_retry(
    push_app, client, auth, referent, stub, status
):
    device = stub.device()
    _register(client, auth, referent, device)
    stub.statuses[device.endpoint.removeprefix(stub.origin)] = status
    with pytest.raises(PushTemporaryFailure):
        send_push(referent.id, PAYLOAD, topic="t")
    assert len(_devices(referent.id)) == 1  # kept: it may come back


def test_a_push_service_that_does_not_answer_makes_the_worker_retry(
    push_app, client, auth, referent, stub
):
    device = stub.device()
    _register(client, auth, referent, device)
    stub.__exit__()  # the service is down: connection refused
    with pytest.raises(PushTemporaryFailure):
        send_push(referent.id, PAYLOAD, topic="t")


def test_registering_the_same_browser_again_moves_it_to_the_new_user(
    push_app, client, auth, referent, stub
):
    device = stub.device()
    _register(client, auth, referent, device)
    auth.logout()
    gardien = make_user(referent.organisation, role=Role.GARDIEN)
    commit()
    assert _register(client, auth, gardien, device).status_code == 201
    assert _devices(referent.id) == []
    assert len(_devices(gardien.id)) == 1


BAD = [
    ({"endpoint": "https://evil.example/push/1"}, "endpoint"),
    ({"endpoint": "ftp://127.0.0.1/push/1"}, "endpoint"),
    ({"endpoint": ""}, "endpoint"),
    ({"endpoint": "http://127.0.0.1/" + "x" * 1100}, "endpoint"),
    ({"endpoint": 12}, "endpoint"),
    (
        {"keys": {"p256dh": "pas de la base64 !", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}},
        "keys.p256dh",
    ),
    ({"keys": {"p256dh": "AAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "keys.p256dh"),
    ({"keys": "abc"}, "keys.p256dh"),
]


@pytest.mark.parametrize(("change", "field"), BAD)
def test_a_bad_subscription_names_its_field_and_stores_nothing(
    push_app, client, auth, referent, stub, change, field
):
    device = stub.device()
    response = _register(client, auth, referent, device, **change)
    assert response.status_code == 400
    body = response.get_json()
    assert field in body["fields"], body
    assert _devices(referent.id) == []


def test_a_body_that_is_not_json_is_refused_without_error(
    push_app, client, auth, referent
):
    auth.login(referent.email)
    response = client.post(
        "/alertes/telephones/", data="{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "endpoint" in json.loads(response.data)["fields"]


def test_http_endpoints_are_refused_unless_allowed(
    push_app, client, auth, referent, stub
):
    push_app.config["ORFI_PUSH_ALLOW_HTTP"] = 0
    response = _register(client, auth, referent, stub.device())
    assert response.status_code == 400
    assert "https" in response.get_json()["fields"]["endpoint"][0]


def test_push_off_by_default_says_so_and_accepts_no_device(app, client, auth, stub):
    user = make_user(make_organisation(), role=Role.REFERENT)
    commit()
    auth.login(user.email)
    page = client.get("/alertes/telephones/")
    assert page.status_code == 200
    assert "ORFI_PUSH_HOSTS" in page.get_data(as_text=True)
    assert parse(page.get_data(as_text=True)).select("#push-enable") == []
    response = client.post("/alertes/telephones/", json=stub.device().subscription())
    assert response.status_code == 404


def test_the_page_lists_the_devices_and_removes_one_of_the_user_only(
    push_app, client, auth, referent, stub
):
    mine, theirs = stub.device(), stub.device()
    _register(client, auth, referent, mine)
    other = make_user(referent.organisation, role=Role.REFERENT)
    commit()
    _register(client, auth, other, theirs)
    [their_device] = _devices(other.id)

    auth.logout()
    auth.login(referent.email)
    page = parse(client.get("/alertes/telephones/").get_data(as_text=True))
    box = page.select_one("#push-this-device")
    assert box["data-public-key"] == application_server_key()
    [form] = page.select("form[action$='/retirer']")
    assert (
        client.post(f"/alertes/telephones/{their_device.id}/retirer").status_code == 404
    )
    assert client.post(form["action"]).status_code == 302
    assert _devices(referent.id) == []
    assert len(_devices(other.id)) == 1


def test_a_federation_user_cannot_register(push_app, client, auth, stub):
    user = make_user(role=Role.FEDERATION)
    commit()
    assert _register(client, auth, user, stub.device()).status_code == 403


def test_the_page_script_sends_the_csrf_token_the_server_checks(
    csrf_app, tmp_path, stub
):
    csrf_app.config.update(
        ORFI_VAPID_PRIVATE_KEY=str(tmp_path / "vapid.pem"),
        ORFI_PUSH_HOSTS="127.0.0.1",
        ORFI_PUSH_ALLOW_HTTP=1,
    )
    ensure_vapid_key()
    user = make_user(make_organisation(), role=Role.REFERENT)
    commit()
    client = csrf_app.test_client()
    login = parse(client.get("/connexion").get_data(as_text=True))
    token = login.select_one("input[name=csrf_token]")["value"]
    client.post(
        "/connexion",
        data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token},
    )
    page = parse(client.get("/alertes/telephones/").get_data(as_text=True))
    box = page.select_one("#push-this-device")
    body = stub.device().subscription()
    assert client.post(box["data-register-url"], json=body).status_code == 400
    sent = client.post(
        box["data-register-url"], json=body, headers={"X-CSRFToken": box["data-csrf"]}
    )
    assert sent.status_code == 201
