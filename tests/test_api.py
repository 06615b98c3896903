"""The JSON API: authentication, the same rights and rules as the pages, idempotence."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa

from orfi.api.models import ApiToken
from orfi.api.services import create_token, hash_token, revoke_token
from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.extensions import db
from orfi.reports.models import Report, ReportEvent, Status
from orfi.timezone import to_local
from tests.factories import (
    category,
    commit,
    count_reports,
    fact_body,
    make_agence,
    make_organisation,
    make_report,
    make_residence,
    make_tmh_world,
    make_user,
)
from tests.helpers import csrf_token


@pytest.fixture
def world(app):
    """A bailleur with a gardien (one résidence), a référent, and their tokens."""
    world = make_tmh_world()
    _, gardien_secret = create_token(world["gardien"], "Téléphone")
    _, referent_secret = create_token(world["referent"], "Script")
    commit()
    return {
        **world,
        "gardien_token": gardien_secret,
        "referent_token": referent_secret,
    }


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


# ------------------------------------------------------------------ authentication


def test_requests_without_credentials_get_401_json(client, world):
    response = client.get("/api/v1/reports")
    assert response.status_code == 401
    assert response.is_json and response.json["error"] == "authentication"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer orfi_nope", "Bearer ", "Basic dXNlcjpwYXNz", "orfi_xyz"]
)
def test_bad_tokens_are_refused(client, world, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401


def test_token_is_stored_hashed_and_revocable(client, world):
    secret = world["gardien_token"]
    stored = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.user_id == world["gardien"].id)
    )
    assert stored.token_hash == hash_token(secret)
    assert secret not in (stored.token_hash, stored.prefix)
    assert secret.startswith(stored.prefix)
    assert stored.last_used_at is None

    me = client.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200
    assert me.json["email"] == world["gardien"].email
    assert me.json["csrf_token"] is None  # a program holds no session
    db.session.refresh(stored)
    assert stored.last_used_at is not None

    revoke_token(stored)
    commit()
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_token_of_a_deactivated_user_is_refused(client, world):
    world["gardien"].active = False
    commit()
    response = client.get("/api/v1/me", headers=bearer(world["gardien_token"]))
    assert response.status_code == 401


def _refuse(world, case):
    """Make the gardien's token invalid in one of the ways a token can be."""
    if case == "revoked":
        revoke_token(
            db.session.scalar(
                sa.select(ApiToken).where(ApiToken.user_id == world["gardien"].id)
            )
        )
    elif case == "deactivated":
        world["gardien"].active = False
    commit()
    return {"unknown": "orfi_" + "x" * 43, "malformed": "nope"}.get(
        case, world["gardien_token"]
    )


@pytest.mark.parametrize("case", ["unknown", "malformed", "revoked", "deactivated"])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param("valid", id="valid-fact"),
        pytest.param({"residence_id": "x"}, id="invalid-fact"),
        pytest.param({"residence_id": 10**9}, id="unknown-residence"),
        pytest.param(b"{not json", id="not-json"),
    ],
)
def test_filing_with_a_refused_token_gets_401_whatever_the_body(
    client, world, case, body
):
    """Filing a fact reads its token with the fact's rows: a refused token still
    answers 401 first (never a validation error that would describe the fact), and
    stores nothing."""
    secret = _refuse(world, case)
    headers = bearer(secret)
    if body == "valid":
        response = client.post(
            "/api/v1/reports", json=fact_body(world), headers=headers
        )
    elif isinstance(body, bytes):
        response = client.post(
            "/api/v1/reports",
            data=body,
            headers={**headers, "Content-Type": "application/json"},
        )
    else:
        response = client.post(
            "/api/v1/reports", json={**fact_body(world), **body}, headers=headers
        )
    assert response.status_code == 401, response.json
    assert response.json["error"] == "authentication"
    assert count_reports() == 0


def test_filing_with_a_valid_token_reports_the_fact_errors(client, world):
    headers = bearer(world["gardien_token"])
    response = client.post(
        "/api/v1/reports",
        json={**fact_body(world), "residence_id": 10**9},
        headers=headers,
    )
    assert response.status_code == 422
    assert "residence_id" in response.json["fields"]
    response = client.post(
        "/api/v1/reports",
        data=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert count_reports() == 0


def test_cli_creates_a_token(runner, world):
    result = runner.invoke(
        args=["orfi", "create-token", world["referent"].email, "--name", "GMAO"]
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("orfi_")
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == hash_token(secret))
    )
    assert token.name == "GMAO" and token.user_id == world["referent"].id


def test_cli_refuses_an_unknown_user(runner, world):
    result = runner.invoke(args=["orfi", "create-token", "personne@exemple.fr"])
    assert result.exit_code == 1
    assert "Aucun compte" in result.output


def test_federation_accounts_get_no_token(world):
    from orfi.errors import ValidationError

    federation_user = make_user(role=Role.FEDERATION)
    with pytest.raises(ValidationError) as error:
        create_token(federation_user, "x")
    assert "user" in error.value.errors


# ---------------------------------------------------------------------- reading


def test_nomenclature_and_residences(client, world):
    headers = bearer(world["gardien_token"])
    nomenclature = client.get("/api/v1/nomenclature", headers=headers).json
    codes = {c["code"] for f in nomenclature["families"] for c in f["categories"]}
    assert {"AP01", "AB01", "TR02"} <= codes
    assert {"code": "hall", "label": "Hall d'entrée"} in nomenclature["lists"]["lieu"]

    residences = client.get("/api/v1/residences", headers=headers).json
    assert [r["name"] for r in residences["items"]] == ["Les Izards"]  # the sector
    referent = client.get("/api/v1/residences", headers=bearer(world["referent_token"]))
    assert referent.json["total"] == 2


# ---------------------------------------------------------------------- creation


def test_create_then_resend_returns_the_stored_fact(client, world):
    headers = bearer(world["gardien_token"])
    fact = fact_body(world)
    first = client.post("/api/v1/reports", json=fact, headers=headers)
    assert first.status_code == 201, first.json
    assert first.json["uuid"] == fact["uuid"]
    assert first.json["reference"].startswith("TMH-")
    assert first.json["status"] == "nouveau" and first.json["photos"] == []

    again = client.post("/api/v1/reports", json=fact, headers=headers)
    assert again.status_code == 200
    assert again.json["reference"] == first.json["reference"]
    assert count_reports() == 1

    read = client.get(f"/api/v1/reports/{fact['uuid']}", headers=headers)
    assert read.status_code == 200 and read.json == first.json


def test_uuid_of_another_author_is_refused_naming_uuid(client, world):
    fact = fact_body(world)
    client.post("/api/v1/reports", json=fact, headers=bearer(world["gardien_token"]))
    response = client.post(
        "/api/v1/reports",
        json=fact_body(world, uuid=fact["uuid"]),
        headers=bearer(world["referent_token"]),
    )
    assert response.status_code == 422
    assert list(response.json["fields"]) == ["uuid"]
    assert count_reports() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category_id": None}, "category_id"),
        ({"category_id": True}, "category_id"),
        ({"category_id": "12"}, "category_id"),
        ({"category_id": 2**40}, "category_id"),
        ({"residence_id": 999_999}, "residence_id"),
        ({"occurred_at": "hier"}, "occurred_at"),
        ({"occurred_at": "0001-01-01T00:00:00"}, "occurred_at"),
        ({"occurred_at": "2099-01-01T00:00:00+01:00"}, "occurred_at"),
        ({"latitude": 95.0}, "latitude"),
        ({"latitude": 43.6, "longitude": None}, "latitude"),
        ({"gps_accuracy_m": -1}, "gps_accuracy_m"),
        ({"lieu": "grenier"}, "lieu"),
        ({"gravity": 7}, "gravity"),
        ({"description": "x" * 501}, "description"),
        ({"description": "nul\x00"}, "description"),
        ({"description": 12}, "description"),
        ({"arret_travail_jours": 3}, "arret_travail_jours"),
        ({"uuid": "pas-un-uuid"}, "uuid"),
        ({"categorie": 1}, "categorie"),
        ({"confirm_position": "oui"}, "confirm_position"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(client, world, overrides, field):
    response = client.post(
        "/api/v1/reports",
        json=fact_body(world, **overrides),
        headers=bearer(world["gardien_token"]),
    )
    assert response.status_code == 422, response.json
    assert field in response.json["fields"], response.json
    assert all(isinstance(m, str) for m in response.json["fields"][field])
    assert count_reports() == 0


def test_nan_and_non_objects_are_refused(client, world):
    headers = {**bearer(world["gardien_token"]), "Content-Type": "application/json"}
    body = '{"category_id": 1, "residence_id": 1, "occurred_at": "x", "latitude": NaN}'
    response = client.post("/api/v1/reports", data=body, headers=headers)
    assert response.status_code == 422 and "latitude" in response.json["fields"]
    for body in ("[]", "null", "12", '"x"'):
        response = client.post("/api/v1/reports", data=body, headers=headers)
        assert response.status_code == 422 and "body" in response.json["fields"]
    response = client.post("/api/v1/reports", data="{", headers=headers)
    assert response.status_code == 422
    response = client.post(
        "/api/v1/reports", data="a=1", headers=bearer(world["gardien_token"])
    )
    assert response.status_code == 415 and response.is_json


def test_residence_outside_the_sector_is_refused(client, world):
    response = client.post(
        "/api/v1/reports",
        json=fact_body(world, residence_id=world["other"].id),
        headers=bearer(world["gardien_token"]),
    )
    assert response.status_code == 422
    assert "secteur" in response.json["fields"]["residence_id"][0]


def test_far_position_needs_confirmation(client, world):
    fact = fact_body(world, latitude=43.60, longitude=1.40)
    headers = bearer(world["gardien_token"])
    refused = client.post("/api/v1/reports", json=fact, headers=headers)
    assert "confirm_position" in refused.json["fields"]
    fact["confirm_position"] = True
    assert client.post("/api/v1/reports", json=fact, headers=headers).status_code == 201


def test_naive_time_is_paris_time(client, world):
    when = to_local(utcnow() - timedelta(hours=2)).replace(tzinfo=None, microsecond=0)
    fact = fact_body(world, occurred_at=when.isoformat())
    response = client.post(
        "/api/v1/reports", json=fact, headers=bearer(world["gardien_token"])
    )
    assert response.status_code == 201
    assert response.json["occurred_at"].startswith(when.isoformat())


def test_race_on_one_uuid_stores_once(app, world):
    """Two sends of one UUID at the same time: one fact, no server error."""
    fact = fact_body(world)
    headers = bearer(world["gardien_token"])
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def send():
        client = app.test_client()
        barrier.wait()
        with app.app_context():
            statuses.append(
                client.post("/api/v1/reports", json=fact, headers=headers).status_code
            )

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.commit()  # end the test's snapshot: see what the requests stored
    assert sorted(statuses) == [200, 200, 200, 201]
    assert count_reports() == 1


def test_lost_race_answers_with_the_winner(app, world, monkeypatch):
    """A send that finds its UUID free, then loses the race to insert it, answers with
    the stored fact and gives its reference number back.

    The checks are made to miss the stored fact (as when the other send commits between
    check and insert, which PostgreSQL allows), so the conditional insert meets it.
    """
    from orfi.reports import creation as services
    from orfi.reports.checks import ReportInput
    from orfi.reports.creation import create_report

    stored = make_report(world["gardien"])
    commit()
    real_find = services.find_report_by_uuid
    calls = []

    def miss_first(report_uuid):
        calls.append(report_uuid)
        return None if len(calls) == 1 else real_find(report_uuid)

    monkeypatch.setattr(services, "find_report_by_uuid", miss_first)
    # The same content as the stored fact (SQLite gives its time back naive, in UTC).
    again, created = create_report(
        world["gardien"],
        ReportInput(
            uuid=stored.uuid,
            category_id=stored.category_id,
            residence_id=stored.residence_id,
            occurred_at=stored.occurred_at.replace(tzinfo=UTC),
            latitude=stored.latitude,
            longitude=stored.longitude,
            gps_accuracy_m=stored.gps_accuracy_m,
        ),
    )
    assert not created and again.id == stored.id
    db.session.commit()
    assert count_reports() == 1
    # The reference drawn for the lost insert was given back.
    next_one = make_report(world["gardien"])
    assert int(next_one.reference[-6:]) == int(stored.reference[-6:]) + 1


# ---------------------------------------------------------------- lists and rights


def test_lists_use_the_pages_filters_and_paginate(client, world):
    gardien, referent = world["gardien"], world["referent"]
    for _ in range(3):
        make_report(gardien)
    make_report(gardien, category_code="TT01")
    make_report(referent, world["other"])
    commit()
    headers = bearer(world["referent_token"])
    page = client.get("/api/v1/reports?per_page=2", headers=headers).json
    assert (page["total"], page["pages"], len(page["items"])) == (5, 3, 2)
    last = client.get("/api/v1/reports?per_page=2&page=3", headers=headers).json
    assert len(last["items"]) == 1
    tt01 = category(world["organisation"], "TT01").id
    only = client.get(f"/api/v1/reports?category_id={tt01}", headers=headers).json
    assert only["total"] == 1 and only["items"][0]["category"]["code"] == "TT01"
    mine = client.get("/api/v1/reports?mine=true", headers=headers).json
    assert mine["total"] == 1
    residence = world["other"].id
    assert (
        client.get(f"/api/v1/reports?residence_id={residence}", headers=headers).json[
            "total"
        ]
        == 1
    )
    # The facts are an hour old: around midnight, that is yesterday in Paris.
    today = to_local(utcnow()).date()
    since = (today - timedelta(days=1)).isoformat()
    dated = client.get(
        f"/api/v1/reports?date_from={since}&date_to={today.isoformat()}&status=nouveau",
        headers=headers,
    )
    assert dated.json["total"] == 5
    # A gardien reads their own facts only, as on the pages.
    assert (
        client.get("/api/v1/reports", headers=bearer(world["gardien_token"])).json[
            "total"
        ]
        == 4
    )


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "per_page=1000",
        "page=abc",
        "date_from=21/11/2026",
        "status=perdu",
        "mine=peut-etre",
        "date_from=2026-11-21&date_to=2026-11-01",
        "colour=red",
        "page=99999999999999999999",
    ],
)
def test_bad_filters_are_refused_naming_the_parameter(client, world, query):
    response = client.get(
        f"/api/v1/reports?{query}", headers=bearer(world["referent_token"])
    )
    assert response.status_code == 422
    name = query.split("=")[0] if "date_to" not in query else "date_to"
    assert name in response.json["fields"]


def test_another_bailleur_sees_nothing(client, world):
    report = make_report(world["gardien"])
    other = make_organisation()
    stranger = make_user(other, role=Role.REFERENT)
    _, secret = create_token(stranger, "x")
    commit()
    headers = bearer(secret)
    assert (
        client.get(f"/api/v1/reports/{report.uuid}", headers=headers).status_code == 404
    )
    assert client.get("/api/v1/reports", headers=headers).json["total"] == 0
    response = client.patch(
        f"/api/v1/reports/{report.uuid}", json={"status": "clos"}, headers=headers
    )
    assert response.status_code == 404


def test_chef_d_agence_reads_their_agence_only(client, world):
    organisation = world["organisation"]
    agence = make_agence(organisation)
    world["residence"].agence = agence
    chef = make_user(organisation, role=Role.DIRECTION, agence=agence)
    inside = make_report(world["gardien"])
    outside = make_report(world["referent"], world["other"])
    _, secret = create_token(chef, "x")
    commit()
    page = client.get("/api/v1/reports", headers=bearer(secret)).json
    assert [item["uuid"] for item in page["items"]] == [str(inside.uuid)]
    response = client.get(f"/api/v1/reports/{outside.uuid}", headers=bearer(secret))
    assert response.status_code == 404


def test_referent_changes_status_and_history_keeps_it(client, world):
    report = make_report(world["gardien"])
    commit()
    response = client.patch(
        f"/api/v1/reports/{report.uuid}",
        json={"status": "transmis", "comment": "Transmis au commissariat."},
        headers=bearer(world["referent_token"]),
    )
    assert response.status_code == 200, response.json
    assert response.json["status"] == "transmis"
    db.session.refresh(report)
    assert report.status is Status.TRANSMIS
    event = report.events[-1]
    assert event.changes == {"status": ["nouveau", "transmis"]}
    assert event.user_id == world["referent"].id


def test_qualification_errors_name_api_fields(client, world):
    report = make_report(world["gardien"])
    commit()
    headers = bearer(world["referent_token"])
    url = f"/api/v1/reports/{report.uuid}"
    response = client.patch(url, json={"category_id": 999_999}, headers=headers)
    assert response.status_code == 422 and "category_id" in response.json["fields"]
    response = client.patch(url, json={"status": "perdu"}, headers=headers)
    assert "status" in response.json["fields"]
    response = client.patch(url, json={"gravity": None}, headers=headers)
    assert response.status_code == 200 and response.json["gravity"] is None


def test_gardien_may_not_change_a_status(client, world):
    report = make_report(world["gardien"])
    commit()
    response = client.patch(
        f"/api/v1/reports/{report.uuid}",
        json={"status": "clos"},
        headers=bearer(world["gardien_token"]),
    )
    assert response.status_code == 403 and response.is_json
    db.session.refresh(report)
    assert report.status is Status.NOUVEAU


def test_unknown_report_is_404_json(client, world):
    response = client.get(
        f"/api/v1/reports/{uuid.uuid4()}", headers=bearer(world["gardien_token"])
    )
    assert response.status_code == 404 and response.is_json
    response = client.get(
        "/api/v1/reports/pas-un-uuid", headers=bearer(world["gardien_token"])
    )
    assert response.status_code == 404 and response.is_json


# ------------------------------------------------------------------------ session


def login(client, email):
    client.post("/connexion", data={"email": email, "password": "motdepasse-42"})


def csrf_world(csrf_app):
    organisation = make_organisation(code="CSR")
    residence = make_residence(organisation)
    gardien = make_user(organisation, role=Role.GARDIEN, sector=[residence])
    _, secret = create_token(gardien, "x")
    commit()
    return organisation, residence, gardien, secret


def test_session_writes_need_the_csrf_header(csrf_app):
    organisation, residence, gardien, _secret = csrf_world(csrf_app)
    client = csrf_app.test_client()
    page = client.get("/connexion")
    token = csrf_token(page.text)
    client.post(
        "/connexion",
        data={"email": gardien.email, "password": "motdepasse-42", "csrf_token": token},
    )
    fact = {
        "uuid": str(uuid.uuid4()),
        "category_id": category(organisation, "AB01").id,
        "residence_id": residence.id,
        "occurred_at": to_local(utcnow()).isoformat(),
    }
    refused = client.post("/api/v1/reports", json=fact)
    assert refused.status_code == 400 and refused.is_json
    assert "CSRF" in refused.json["description"]

    me = client.get("/api/v1/me").json
    assert me["id"] == gardien.id and me["csrf_token"]
    accepted = client.post(
        "/api/v1/reports", json=fact, headers={"X-CSRFToken": me["csrf_token"]}
    )
    assert accepted.status_code == 201
    assert count_reports() == 1


def test_token_writes_need_no_csrf(csrf_app):
    organisation, residence, _gardien, secret = csrf_world(csrf_app)
    client = csrf_app.test_client()
    fact = {
        "category_id": category(organisation, "AB01").id,
        "residence_id": residence.id,
        "occurred_at": to_local(utcnow()).isoformat(),
    }
    response = client.post("/api/v1/reports", json=fact, headers=bearer(secret))
    assert response.status_code == 201


def test_session_of_another_user_than_the_page_sends_nothing(client, auth, world):
    """The PWA names the queue's owner; a session that changed hands refuses."""
    auth.login(world["gardien"].email)
    response = client.post(
        "/api/v1/reports",
        json=fact_body(world),
        headers={"X-Orfi-User": str(world["referent"].id)},
    )
    assert response.status_code == 409 and response.json["error"] == "other_user"
    assert count_reports() == 0
    response = client.post(
        "/api/v1/reports",
        json=fact_body(world),
        headers={"X-Orfi-User": str(world["gardien"].id)},
    )
    assert response.status_code == 201


def test_resends_write_nothing(client, world):
    fact = fact_body(world)
    for _ in range(3):
        client.post(
            "/api/v1/reports", json=fact, headers=bearer(world["gardien_token"])
        )
    assert count_reports() == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportEvent)) == 0


def test_sqlite_fact_is_checked_and_written_in_one_immediate_transaction(
    app, client, world
):
    """On SQLite, the token is checked, the fact checked and written in one
    transaction begun with BEGIN IMMEDIATE (a deferred one that reads, then writes,
    fails under concurrent writers)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the write lock is SQLite's")
    make_report(world["gardien"])  # this year's reference counter exists
    fact, headers = fact_body(world), bearer(world["gardien_token"])
    db.session.commit()
    db.session.remove()
    # Watch what SQLite itself is asked, on new connections (the pool's are let go).
    seen: list[str] = []

    def trace(dbapi_connection, _record):
        dbapi_connection.set_trace_callback(
            lambda statement: seen.append(" ".join(statement.split()[:3]))
        )

    db.engine.dispose()
    sa.event.listen(db.engine, "connect", trace)
    try:
        response = client.post("/api/v1/reports", json=fact, headers=headers)
    finally:
        sa.event.remove(db.engine, "connect", trace)
        db.engine.dispose()
    assert response.status_code == 201
    transactions: list[list[str]] = []
    for statement in seen:
        if statement.startswith("BEGIN"):
            transactions.append([])
        if transactions and not statement.startswith("PRAGMA"):
            transactions[-1].append(statement)
    writes = ("INSERT", "UPDATE", "DELETE")
    for transaction in transactions:
        if any(s.startswith(writes) for s in transaction):
            assert transaction[0] == "BEGIN IMMEDIATE", transactions
        else:
            assert transaction[0] == "BEGIN", transactions
    filing = transactions[-1]
    assert filing[0] == "BEGIN IMMEDIATE" and filing[-1] == "COMMIT", transactions
    assert "INSERT INTO reference_counter" in filing, transactions
    assert "INSERT INTO report" in filing, transactions
    # The token is checked by the filing transaction's first statement, which also
    # reads the fact's rows: one transaction in all.
    assert len(transactions) == 1, transactions
    assert filing[1].startswith("SELECT"), transactions


def test_driver_statements_store_values_as_the_orm_does(client, world):
    """The intake writes on the driver with the column types' own processors: its row
    is byte for byte what the ORM stores for the same values (dates, UUID, enums,
    booleans), so every query reads both alike."""
    fact = fact_body(world, description="Tags dans le hall.", gravity=2, lieu="hall")
    response = client.post(
        "/api/v1/reports", json=fact, headers=bearer(world["gardien_token"])
    )
    assert response.status_code == 201, response.json
    report = db.session.scalar(
        sa.select(Report).where(Report.uuid == uuid.UUID(fact["uuid"]))
    )
    # The same fact and event written by the ORM, under another UUID and reference.
    twin = Report(
        **{
            column.key: getattr(report, column.key)
            for column in Report.__table__.columns
            if column.key not in ("id", "uuid", "reference")
        },
        uuid=uuid.uuid4(),
        reference=report.reference + "-ORM",
    )
    db.session.add(twin)
    db.session.flush()

    def stored(table, row_id) -> dict:
        # What the database holds, as text: no type processing on the way back.
        columns = [
            sa.cast(column, sa.Text).label(column.key)
            for column in table.columns
            if column.key not in ("id", "uuid", "reference", "report_id")
        ]
        row = db.session.execute(sa.select(*columns).where(table.c.id == row_id)).one()
        return row._asdict()

    assert stored(Report.__table__, report.id) == stored(Report.__table__, twin.id)
    raw_uuid = db.session.execute(
        sa.select(sa.cast(Report.__table__.c.uuid, sa.Text)).where(
            Report.__table__.c.id == report.id
        )
    ).scalar()
    assert uuid.UUID(raw_uuid) == uuid.UUID(fact["uuid"])


def test_resend_answers_exactly_what_reading_the_fact_answers(client, world):
    """A resend is answered from the driver's rows: the same body as the read endpoint
    (ORM), with a bâtiment, a duplicate's original, optional codes and photos."""
    from orfi.reports.qualification import mark_duplicate
    from tests.factories import make_batiment, make_photo

    batiment = make_batiment(world["residence"])
    original = make_report(world["gardien"])
    commit()
    headers = bearer(world["gardien_token"])
    fact = fact_body(
        world,
        batiment_id=batiment.id,
        lieu="hall",
        victime="personnel_bailleur",
        gravity=3,
        damage_cost_eur=120,
        description="Porte forcée.",
    )
    first = client.post("/api/v1/reports", json=fact, headers=headers)
    assert first.status_code == 201, first.json
    report = db.session.scalar(
        sa.select(Report).where(Report.uuid == uuid.UUID(fact["uuid"]))
    )
    for _ in range(2):
        make_photo(report)
    mark_duplicate(world["referent"], report, original)
    commit()

    again = client.post("/api/v1/reports", json=fact, headers=headers)
    read = client.get(f"/api/v1/reports/{fact['uuid']}", headers=headers)
    assert again.status_code == 200 and read.status_code == 200
    assert len(read.json["photos"]) == 2
    assert read.json["duplicate_of"] == str(original.uuid)
    assert read.json["batiment"]["id"] == batiment.id
    assert again.json == read.json
