"""« Déjà signalé ? », additions to a fact, and duplicates leaving the statistics."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orfi.api.services import create_token
from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.errors import AccessDenied, ValidationError
from orfi.extensions import db
from orfi.reports.models import Report, ReportEvent
from orfi.reports.nearby import nearby_reports
from orfi.reports.qualification import mark_duplicate, unmark_duplicate
from orfi.reports.queries import counted_reports, visible_reports
from tests.factories import (
    category,
    commit,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)

IZARDS = (43.6409, 1.4327)
# About 30 m and 80 m north, in degrees of latitude.
THIRTY_M = 0.00027
EIGHTY_M = 0.00072


@pytest.fixture
def world(app):
    organisation = make_organisation(code="DUP")
    residence = make_residence(organisation, latitude=IZARDS[0], longitude=IZARDS[1])
    elsewhere = make_residence(organisation, latitude=43.58, longitude=1.41)
    gardien = make_user(organisation, role=Role.GARDIEN, sector=[residence])
    colleague = make_user(organisation, role=Role.GARDIEN, sector=[residence])
    outsider = make_user(organisation, role=Role.GARDIEN, sector=[elsewhere])
    referent = make_user(organisation, role=Role.REFERENT)
    commit()
    return {
        "organisation": organisation,
        "residence": residence,
        "elsewhere": elsewhere,
        "gardien": gardien,
        "colleague": colleague,
        "outsider": outsider,
        "referent": referent,
    }


def tag(author, *, lat=IZARDS[0], hours_ago=1, code="AB02", residence=None):
    return make_report(
        author,
        residence,
        category_code=code,
        latitude=lat,
        longitude=IZARDS[1],
        occurred_at=utcnow() - timedelta(hours=hours_ago),
    )


def bearer(user) -> dict:
    _, secret = create_token(user, "t")
    commit()
    return {"Authorization": f"Bearer {secret}"}


# ------------------------------------------------------------------ nearby facts


def test_nearby_means_same_category_50_m_24_h(world):
    close = tag(world["gardien"], lat=IZARDS[0] + THIRTY_M)
    tag(world["gardien"], lat=IZARDS[0] + EIGHTY_M)  # too far
    tag(world["gardien"], hours_ago=30)  # too old
    tag(world["gardien"], code="AB01")  # another category
    found = nearby_reports(
        world["colleague"],
        category_id=category(world["organisation"], "AB02").id,
        latitude=IZARDS[0],
        longitude=IZARDS[1],
    )
    assert [f.report.id for f in found] == [close.id]
    assert 25 < found[0].distance_m < 35


def test_nearby_shows_the_sector_only_and_not_duplicates(world):
    first = tag(world["gardien"])
    second = tag(world["gardien"])
    mark_duplicate(world["referent"], second, first)
    code = category(world["organisation"], "AB02").id
    seen = nearby_reports(
        world["colleague"], category_id=code, latitude=IZARDS[0], longitude=IZARDS[1]
    )
    assert [f.report.id for f in seen] == [first.id]
    # A gardien of another sector sees nothing of this résidence.
    assert (
        nearby_reports(
            world["outsider"], category_id=code, latitude=IZARDS[0], longitude=IZARDS[1]
        )
        == []
    )


def test_nearby_api_gives_no_description_nor_author(client, world):
    tag(world["gardien"])
    commit()
    code = category(world["organisation"], "AB02").id
    response = client.get(
        f"/api/v1/reports/nearby?category_id={code}&latitude={IZARDS[0]}"
        f"&longitude={IZARDS[1]}",
        headers=bearer(world["colleague"]),
    )
    assert response.status_code == 200
    body = response.json
    assert (body["radius_m"], body["hours"]) == (50, 24)
    [item] = body["items"]
    assert item["mine"] is False and item["distance_m"] < 1
    assert "description" not in item and "author" not in item
    bad = client.get(
        "/api/v1/reports/nearby?category_id=x&latitude=200",
        headers=bearer(world["colleague"]),
    )
    assert bad.status_code == 422
    assert {"category_id", "latitude", "longitude"} <= set(bad.json["fields"])


# --------------------------------------------------------------------- additions


def test_colleague_adds_to_the_existing_fact_once(client, world):
    report = tag(world["gardien"])
    commit()
    headers = bearer(world["colleague"])
    addition = {"uuid": str(uuid.uuid4()), "comment": "Toujours là à 18 h."}
    url = f"/api/v1/reports/{report.uuid}/additions"
    first = client.post(url, json=addition, headers=headers)
    assert first.status_code == 201, first.json
    assert first.json["report"]["reference"] == report.reference
    again = client.post(url, json=addition, headers=headers)
    assert again.status_code == 200
    events = db.session.scalars(
        sa.select(ReportEvent).where(ReportEvent.kind == "addition")
    ).all()
    assert len(events) == 1 and events[0].comment == "Toujours là à 18 h."
    # Nothing was filed twice.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 1


def test_outsider_cannot_add_to_a_fact_they_cannot_file_for(client, world):
    report = tag(world["gardien"])
    commit()
    response = client.post(
        f"/api/v1/reports/{report.uuid}/additions",
        json={"comment": "x"},
        headers=bearer(world["outsider"]),
    )
    assert response.status_code == 404


def test_author_sees_additions_in_the_history(client, auth, world):
    report = tag(world["gardien"])
    commit()
    client.post(
        f"/api/v1/reports/{report.uuid}/additions",
        json={"comment": "Vu aussi."},
        headers=bearer(world["colleague"]),
    )
    auth.login(world["gardien"].email)
    page = client.get(f"/signalements/{report.uuid}")
    assert "complément" in page.text and "Vu aussi." in page.text


# -------------------------------------------------------------------- duplicates


def test_duplicate_leaves_the_statistics(world):
    original = tag(world["gardien"])
    copy = tag(world["colleague"])
    event = mark_duplicate(world["referent"], copy, original, comment="Même tag.")
    assert copy.duplicate_of_id == original.id
    assert event.changes == {"duplicate_of": [None, original.reference]}
    counted = db.session.scalars(
        counted_reports(visible_reports(world["referent"]))
    ).all()
    assert [r.id for r in counted] == [original.id]
    unmark_duplicate(world["referent"], copy)
    assert copy.duplicate_of_id is None
    counted = db.session.scalars(
        counted_reports(visible_reports(world["referent"]))
    ).all()
    assert len(counted) == 2


def test_chains_stay_one_level_deep(world):
    a, b, c = tag(world["gardien"]), tag(world["gardien"]), tag(world["gardien"])
    mark_duplicate(world["referent"], c, b)
    # b is then found to duplicate a: c follows it to a.
    mark_duplicate(world["referent"], b, a)
    assert (b.duplicate_of_id, c.duplicate_of_id) == (a.id, a.id)
    # Marking a as a duplicate of c would make a loop: c leads back to a.
    with pytest.raises(ValidationError) as error:
        mark_duplicate(world["referent"], a, c)
    assert "original" in error.value.errors


def test_only_referents_mark_duplicates(world):
    a, b = tag(world["gardien"]), tag(world["gardien"])
    with pytest.raises(AccessDenied):
        mark_duplicate(world["gardien"], b, a)


def test_referent_marks_a_duplicate_from_the_detail_page(client, auth, world):
    original = tag(world["gardien"])
    copy = tag(world["colleague"], lat=IZARDS[0] + THIRTY_M)
    commit()
    auth.login(world["referent"].email)
    page = client.get(f"/signalements/{copy.uuid}")
    assert "Doublon" in page.text
    assert f"Doublon de {original.reference}" in page.text  # the nearby candidate

    refused = client.post(
        f"/signalements/{copy.uuid}/doublon", data={"original": "DUP-1999-000001"}
    )
    assert refused.status_code == 422
    assert "Aucun fait de votre périmètre" in refused.text

    done = client.post(
        f"/signalements/{copy.uuid}/doublon", data={"original": original.reference}
    )
    assert done.status_code == 302
    page = client.get(f"/signalements/{copy.uuid}")
    assert "ne compte pas dans les statistiques" in page.text
    assert "Ce n&#39;est pas un doublon" in page.text
    assert copy.reference in client.get(f"/signalements/{original.uuid}").text

    client.post(f"/signalements/{copy.uuid}/doublon/retirer")
    db.session.refresh(copy)
    assert copy.duplicate_of_id is None


def test_gardien_gets_no_duplicate_form(client, auth, world):
    report = tag(world["gardien"])
    commit()
    auth.login(world["gardien"].email)
    assert (
        "Marquer comme doublon" not in client.get(f"/signalements/{report.uuid}").text
    )
    response = client.post(
        f"/signalements/{report.uuid}/doublon", data={"original": report.reference}
    )
    assert response.status_code == 403


def test_api_marks_and_unmarks_a_duplicate(client, world):
    original, copy = tag(world["gardien"]), tag(world["gardien"])
    commit()
    headers = bearer(world["referent"])
    url = f"/api/v1/reports/{copy.uuid}/duplicate"
    response = client.put(url, json={"original": str(original.uuid)}, headers=headers)
    assert response.status_code == 200
    assert response.json["duplicate_of"] == str(original.uuid)
    response = client.put(url, json={"original": str(uuid.uuid4())}, headers=headers)
    assert response.status_code == 422 and "original" in response.json["fields"]
    response = client.put(url, json={"original": None}, headers=headers)
    assert response.json["duplicate_of"] is None
    response = client.put(url, json={}, headers=headers)
    assert response.status_code == 422
    gardien = client.put(
        url, json={"original": str(original.uuid)}, headers=bearer(world["gardien"])
    )
    assert gardien.status_code == 403
