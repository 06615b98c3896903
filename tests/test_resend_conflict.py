"""A known UUID sent again: the same content is the same fact, other content a 409.

Issue 17, point 6: a resend with the same UUID and a different body was silently
answered with the stored fact, losing the web form's edits and added photos.
"""

from __future__ import annotations

import io
import threading
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from orfi.api.services import create_token
from orfi.extensions import db
from orfi.photos.models import Photo
from orfi.reports.models import Report, ReportEvent, Status
from orfi.reports.qualification import qualify_report
from tests.factories import (
    FACT_DESCRIPTION,
    category,
    commit,
    count_reports,
    fact_body,
    fact_form,
    jpeg_bytes,
    make_complaint,
    make_tmh_world,
)
from tests.helpers import parse

DESCRIPTION = FACT_DESCRIPTION


@pytest.fixture
def world(app, tmp_path):
    """A bailleur with a gardien (one résidence), a référent, and a token."""
    app.config["ORFI_PHOTO_DIR"] = str(tmp_path / "photos")
    world = make_tmh_world()
    _, secret = create_token(world["gardien"], "Téléphone")
    commit()
    return {**world, "headers": {"Authorization": f"Bearer {secret}"}}


def stored_fact(report_uuid: str) -> Report:
    db.session.commit()  # end the test's snapshot: see what the requests stored
    return db.session.scalar(
        sa.select(Report).where(Report.uuid == uuid.UUID(report_uuid))
    )


def count_photos() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Photo))


# ----------------------------------------------------------------------------- API


def test_resend_of_the_same_body_is_the_same_fact(client, world):
    fact = fact_body(world)
    first = client.post("/api/v1/reports", json=fact, headers=world["headers"])
    again = client.post("/api/v1/reports", json=fact, headers=world["headers"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert count_reports() == 1


def test_same_content_written_differently_is_the_same_fact(client, world):
    """What is compared is the content as stored: a description's surrounding spaces,
    the same instant in UTC, a victim's staff-only fields."""
    fact = fact_body(world)
    client.post("/api/v1/reports", json=fact, headers=world["headers"])
    utc = datetime.fromisoformat(fact["occurred_at"]).astimezone(UTC)
    same = {
        **fact,
        "description": f"  {DESCRIPTION}  ",
        "occurred_at": utc.isoformat(),
        "arret_travail_jours": 3,  # not kept: no staff victim
    }
    again = client.post("/api/v1/reports", json=same, headers=world["headers"])
    assert again.status_code == 200, again.json


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"description": "Porte du hall forcée, vitre cassée."}, "description"),
        ({"gravity": 3}, "gravity"),
        ({"lieu": "cave"}, "lieu"),
        ({"latitude": 43.6411}, "latitude"),
        ({"damage_cost_eur": 150}, "damage_cost_eur"),
    ],
)
def test_resend_with_an_edited_field_is_a_409_naming_it(client, world, change, field):
    fact = fact_body(world)
    first = client.post("/api/v1/reports", json=fact, headers=world["headers"])
    assert first.status_code == 201
    edited = client.post(
        "/api/v1/reports", json={**fact, **change}, headers=world["headers"]
    )
    assert edited.status_code == 409, edited.json
    assert edited.json["error"] == "conflict"
    assert list(edited.json["fields"]) == [field]
    assert first.json["reference"] in edited.json["fields"][field][0]
    assert edited.json["report"] == {
        "uuid": fact["uuid"],
        "reference": first.json["reference"],
    }
    assert "UUID" in edited.json["description"]
    report = stored_fact(fact["uuid"])
    assert report.description == DESCRIPTION and report.gravity == 2
    assert report.lieu.value == "hall" and report.damage_cost_eur is None
    assert count_reports() == 1
    # Nothing was written: no event, and the next reference follows the first.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportEvent)) == 0
    other = client.post(
        "/api/v1/reports", json=fact_body(world), headers=world["headers"]
    )
    assert int(other.json["reference"][-6:]) == int(first.json["reference"][-6:]) + 1


def test_resend_after_a_qualification_is_still_the_same_fact(client, world):
    """The offline queue resends its own body: a référent's change of category or
    gravity in between must not turn it into a conflict."""
    fact = fact_body(world)
    client.post("/api/v1/reports", json=fact, headers=world["headers"])
    report = stored_fact(fact["uuid"])
    qualify_report(
        world["referent"],
        report,
        category_id=category(world["organisation"], "TR02").id,
        status=Status.QUALIFIE,
        gravity=4,
        comment="",
    )
    commit()
    again = client.post("/api/v1/reports", json=fact, headers=world["headers"])
    assert again.status_code == 200, again.json
    assert again.json["gravity"] == 4


def test_resend_after_a_complaint_changed_the_suite_is_still_the_same_fact(
    client, world
):
    """The complaint's follow-up moves the fact's suite (and the mission de service
    public flag of a staff victim): the filer's resend stays the same fact."""
    fact = fact_body(world, suite="aucune", victime="personnel_bailleur")
    client.post("/api/v1/reports", json=fact, headers=world["headers"])
    make_complaint(
        stored_fact(fact["uuid"]), world["referent"], mission_service_public=True
    )
    commit()
    report = stored_fact(fact["uuid"])
    assert report.suite.value == "plainte_bailleur" and report.mission_service_public
    again = client.post("/api/v1/reports", json=fact, headers=world["headers"])
    assert again.status_code == 200, again.json
    other = {**fact, "suite": "main_courante"}  # neither filed nor stored
    conflict = client.post("/api/v1/reports", json=other, headers=world["headers"])
    assert conflict.status_code == 409 and list(conflict.json["fields"]) == ["suite"]


def test_concurrent_resends_with_different_bodies_make_one_fact_and_one_409(app, world):
    fact = fact_body(world)
    bodies = [fact, {**fact, "description": "Autre chose."}]
    statuses: list[int] = []
    barrier = threading.Barrier(len(bodies))

    def send(body):
        client = app.test_client()
        barrier.wait()
        with app.app_context():
            response = client.post(
                "/api/v1/reports", json=body, headers=world["headers"]
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409]
    assert stored_fact(fact["uuid"]) is not None
    assert count_reports() == 1


def test_openapi_documents_the_409_of_a_conflicting_resend(client, world):
    document = client.get("/api/v1/openapi.json").json
    answer = document["paths"]["/reports"]["post"]["responses"]["409"]
    assert "UUID" in answer["description"]


# ------------------------------------------------------------------- field form


def form_of(world, **overrides) -> dict:
    """A valid field form with its client UUID, as the page sends it."""
    return fact_form(world, client_uuid=str(uuid.uuid4()), **overrides)


def post_form(client, form: dict, *photos: bytes):
    data = dict(form)
    if photos:
        data["photos"] = [
            (io.BytesIO(p), f"photo{i}.jpg") for i, p in enumerate(photos)
        ]
    return client.post(
        "/signalements/nouveau", data=data, content_type="multipart/form-data"
    )


def test_form_resent_after_edits_and_a_photo_says_so_and_keeps_the_photo(
    client, auth, world
):
    auth.login(world["gardien"].email)
    form = form_of(world)
    first = post_form(client, form)
    assert first.status_code == 302
    report = stored_fact(form["client_uuid"])
    reference = report.reference

    edited = {**form, "description": "Porte forcée et boîtes aux lettres."}
    again = post_form(client, edited, jpeg_bytes(64, 48))
    assert again.status_code == 409
    page = parse(again.get_data(as_text=True))
    message = " ".join(p.get_text(" ") for p in page.select(".flash"))
    assert reference in message and "Description" in message
    assert "photo(s) ajoutée(s)" in message
    assert page.select_one(f'.flash a[href$="/signalements/{report.uuid}"]')
    # The edits stay on the form, the stored fact is unchanged, the photo was added.
    assert "boîtes aux lettres" in page.select_one("#description").get_text()
    report = stored_fact(form["client_uuid"])
    assert report.description == DESCRIPTION
    assert count_reports() == 1 and count_photos() == 1


def test_form_resent_unchanged_adds_only_the_photos_it_lacks(client, auth, world):
    auth.login(world["gardien"].email)
    form = form_of(world)
    photo = jpeg_bytes(64, 48)
    assert post_form(client, form, photo).status_code == 302
    assert count_photos() == 1
    # A double submit: the same photo is not stored twice.
    assert post_form(client, form, photo).status_code == 302
    assert count_photos() == 1
    # A photo added before resending is added to the fact.
    resent = post_form(client, form, photo, jpeg_bytes(40, 30))
    assert resent.status_code == 302
    assert count_photos() == 2 and count_reports() == 1
    followed = client.get(resent.headers["Location"]).get_data(as_text=True)
    assert "1 photo(s) ajoutée(s)" in followed
