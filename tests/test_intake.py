"""What filing a fact by token costs the database: one statement checks the token and
reads the fact's rows, in the filing transaction itself."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orfi.api.models import ApiToken
from orfi.api.services import create_token
from orfi.database import utcnow
from orfi.extensions import db
from orfi.timezone import to_local
from tests.factories import category, commit, count_reports, make_tmh_world


@pytest.fixture
def world(app):
    """A bailleur with a gardien (one résidence) and the gardien's token."""
    world = make_tmh_world()
    token, secret = create_token(world["gardien"], "Téléphone")
    commit()
    return {**world, "token": token, "headers": {"Authorization": f"Bearer {secret}"}}


def fact(world, **overrides) -> dict:
    return {
        "uuid": str(uuid.uuid4()),
        "category_id": category(world["organisation"], "AB01").id,
        "residence_id": world["residence"].id,
        "occurred_at": to_local(utcnow() - timedelta(minutes=10)).isoformat(),
        "description": "Tags dans le hall.",
        **overrides,
    }


def last_used(token: ApiToken):
    db.session.commit()  # end the test's snapshot
    return db.session.scalar(
        sa.select(ApiToken.last_used_at).where(ApiToken.id == token.id)
    )


@pytest.fixture
def statements(app):
    """The SQL statements sent while the test runs, by their first word (no BEGIN)."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        word = statement.split(None, 1)[0].upper()
        if word not in ("BEGIN", "PRAGMA"):  # SQLite's BEGIN is a statement
            seen.append(word)

    sa.event.listen(db.engine, "before_cursor_execute", note)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", note)


def test_filing_by_token_takes_one_select_and_two_inserts(client, world, statements):
    """Token, category, résidence and stored UUID in one SELECT; then the reference
    counter and the fact. The hourly note of the token's use rides along once. Then
    the alert event (issue 11) and one SELECT of its recipients (here none: no one
    else in the bailleur, so no inbox or outbox row)."""
    bodies = [fact(world), fact(world)]
    statements.clear()
    first = client.post("/api/v1/reports", json=bodies[0], headers=world["headers"])
    assert first.status_code == 201, first.json
    alert = ["INSERT", "SELECT"]
    assert statements == ["SELECT", "UPDATE", "INSERT", "INSERT", *alert], statements
    statements.clear()
    second = client.post("/api/v1/reports", json=bodies[1], headers=world["headers"])
    assert second.status_code == 201
    assert statements == ["SELECT", "INSERT", "INSERT", *alert], statements


def test_filing_by_token_notes_its_use(client, world):
    assert last_used(world["token"]) is None
    response = client.post(
        "/api/v1/reports", json=fact(world), headers=world["headers"]
    )
    assert response.status_code == 201
    assert last_used(world["token"]) is not None


def test_a_refused_body_still_notes_the_use_of_a_good_token(client, world):
    response = client.post(
        "/api/v1/reports", json=fact(world, gravity=99), headers=world["headers"]
    )
    assert response.status_code == 422 and "gravity" in response.json["fields"]
    assert last_used(world["token"]) is not None
    assert count_reports() == 0


def test_a_refused_token_with_a_valid_fact_stores_nothing(client, world):
    headers = {"Authorization": "Bearer orfi_" + "x" * 43}
    response = client.post("/api/v1/reports", json=fact(world), headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == "authentication"
    assert count_reports() == 0
