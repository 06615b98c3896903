"""The access log: who viewed or exported what, one entry per successful read, read by
the administrators of the same bailleur only."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from orfi.api.services import create_token
from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.extensions import db
from orfi.photos.services import add_photo, clean_image
from orfi.privacy.models import AccessAction, AccessLogEntry
from orfi.privacy.purge import purge
from orfi.privacy.services import LOGGED_ENDPOINTS
from orfi.timezone import to_local
from tests.factories import (
    commit,
    make_federation,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 90, 120)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def world(app, tmp_path):
    """Two bailleurs with an admin, a référent and a gardien each; a fact with a photo
    in the first; a federation user."""
    app.config["ORFI_PHOTO_DIR"] = str(tmp_path / "photos")
    found = {}
    for code in ("AAA", "BBB"):
        organisation = make_organisation(code=code)
        residence = make_residence(organisation)
        found[code] = {
            "organisation": organisation,
            "admin": make_user(
                organisation, role=Role.ADMIN, email=f"admin@{code.lower()}.fr"
            ),
            "referent": make_user(
                organisation, role=Role.REFERENT, email=f"referent@{code.lower()}.fr"
            ),
            "gardien": make_user(
                organisation,
                role=Role.GARDIEN,
                sector=[residence],
                email=f"gardien@{code.lower()}.fr",
            ),
        }
    a = found["AAA"]
    a["report"] = make_report(a["gardien"], description="Porte forcée.")
    a["photo"], _ = add_photo(a["gardien"], a["report"], clean_image(jpeg(), "p.jpg"))
    _, a["token"] = create_token(a["referent"], "Script")
    federation = make_federation(code="USH-OCC", region="Occitanie")
    found["federation"] = make_user(
        role=Role.FEDERATION, federation=federation, email="mission@ush.fr"
    )
    commit()
    return found


def entries() -> list[AccessLogEntry]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(AccessLogEntry).order_by(AccessLogEntry.id))
    )


def login(auth, user) -> None:
    response = auth.login(user.email)
    assert response.status_code == 302


# ------------------------------------------------------------------ what is recorded


def test_viewing_a_fact_records_one_entry(client, auth, world):
    a = world["AAA"]
    login(auth, a["referent"])

    assert client.get(f"/signalements/{a['report'].uuid}").status_code == 200

    [entry] = entries()
    assert entry.action is AccessAction.VIEW
    assert (entry.object_type, entry.object_ref) == ("report", a["report"].reference)
    assert entry.user_id == a["referent"].id
    assert entry.organisation_id == a["organisation"].id
    assert entry.federation_id is None
    assert entry.ip == "127.0.0.1"
    assert "Porte forcée" not in entry.detail  # never the content


def test_downloading_a_photo_records_one_entry_but_thumbnails_none(client, auth, world):
    a = world["AAA"]
    login(auth, a["referent"])

    assert client.get(f"/photos/{a['photo'].uuid}?taille=miniature").status_code == 200
    assert entries() == []
    assert client.get(f"/photos/{a['photo'].uuid}").status_code == 200

    [entry] = entries()
    assert entry.action is AccessAction.DOWNLOAD_PHOTO
    assert entry.object_ref == f"{a['report'].reference}, photo 1"
    assert entry.user_id == a["referent"].id


def test_a_csv_export_records_its_filters_and_row_count(client, auth, world):
    a = world["AAA"]
    login(auth, a["referent"])
    # The fact's own local day: an hour before now is yesterday in Paris from midnight
    # to 1 a.m. (when the test read today's date, it failed then).
    day = to_local(a["report"].occurred_at).date().isoformat()

    response = client.get(f"/exports/signalements.csv?date_from={day}&status=")
    assert response.status_code == 200
    response.get_data()  # the stream is read

    [entry] = entries()
    assert entry.action is AccessAction.EXPORT
    assert entry.object_type == "reports"
    assert entry.detail == f"CSV, 1 fait(s) ; filtres : date_from={day}"
    assert entry.user_id == a["referent"].id


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson"])
def test_a_head_on_an_export_is_recorded_like_a_get(client, auth, world, fmt):
    """HEAD answers the row count a GET would: it is an export read, logged as one."""
    a = world["AAA"]
    login(auth, a["referent"])

    response = client.head(f"/exports/signalements.{fmt}")
    assert response.status_code == 200
    assert response.headers["X-Orfi-Row-Count"] == "1"

    [entry] = entries()
    assert entry.action is AccessAction.EXPORT
    assert entry.object_type == "reports"
    assert entry.detail.startswith(f"{fmt.upper()}, 1 fait(s)")
    assert entry.user_id == a["referent"].id


def test_api_reads_record_one_entry_each(client, world):
    a = world["AAA"]
    headers = {"Authorization": f"Bearer {a['token']}"}

    assert client.get(f"/api/v1/reports/{a['report'].uuid}", headers=headers).json
    assert client.get("/api/v1/reports?per_page=5", headers=headers).json["items"]

    read, listed = entries()
    assert (read.action, read.object_ref) == (
        AccessAction.API_READ,
        a["report"].reference,
    )
    assert (listed.action, listed.object_type) == (AccessAction.API_READ, "reports")
    assert listed.detail == "API ; filtres : per_page=5"
    assert {read.user_id, listed.user_id} == {a["referent"].id}
    assert {read.organisation_id, listed.organisation_id} == {a["organisation"].id}


def test_an_api_read_through_the_session_is_recorded_too(client, auth, world):
    a = world["AAA"]
    login(auth, a["gardien"])

    assert client.get(f"/api/v1/reports/{a['report'].uuid}").status_code == 200

    [entry] = entries()
    assert (entry.user_id, entry.action) == (a["gardien"].id, AccessAction.API_READ)


def test_filing_and_other_pages_record_nothing(client, auth, world):
    a = world["AAA"]
    headers = {"Authorization": f"Bearer {a['token']}"}
    client.get("/api/v1/me", headers=headers)
    client.get("/api/v1/nomenclature", headers=headers)
    login(auth, a["referent"])
    client.get("/signalements/")
    client.get("/statistiques/")
    assert entries() == []


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("BBB.referent", "/signalements/{report}", 404),  # another bailleur's fact
        ("BBB.referent", "/photos/{photo}", 404),
        ("AAA.referent", "/signalements/00000000-0000-4000-8000-000000000000", 404),
        ("AAA.gardien", "/exports/signalements.csv", 403),
        ("federation", "/signalements/{report}", 403),
        ("AAA.referent", "/exports/signalements.pdf", 404),
        ("AAA.referent", "/exports/signalements.csv?date_from=hier", 400),
    ],
)
def test_refused_reads_record_nothing(client, auth, world, who, path, status):
    user = world["federation"] if who == "federation" else None
    if user is None:
        code, role = who.split(".")
        user = world[code][role]
    login(auth, user)
    path = path.format(
        report=world["AAA"]["report"].uuid, photo=world["AAA"]["photo"].uuid
    )

    assert client.get(path).status_code == status
    assert entries() == []


def test_anonymous_and_bad_token_reads_record_nothing(client, world):
    report = world["AAA"]["report"]
    assert client.get(f"/signalements/{report.uuid}").status_code == 302
    bad = {"Authorization": "Bearer orfi_nope"}
    assert client.get(f"/api/v1/reports/{report.uuid}", headers=bad).status_code == 401
    assert entries() == []


def test_federation_downloads_go_to_the_federation_log(client, auth, world, runner):
    user = world["federation"]
    login(auth, user)

    response = client.get("/federation/consolidation.csv?period=2026")
    assert response.status_code == 200

    [entry] = entries()
    assert entry.federation_id == user.federation_id
    assert entry.organisation_id is None
    assert entry.detail == "consolidation CSV ; filtres : period=2026"
    listing = runner.invoke(args=["orfi", "access-log", "--federation", "USH-OCC"])
    assert listing.exit_code == 0, listing.output
    assert "mission@ush.fr" in listing.output and "consolidation CSV" in listing.output
    bailleur = runner.invoke(args=["orfi", "access-log", "--organisation", "AAA"])
    assert "Aucune entrée." in bailleur.output


def test_every_file_download_endpoint_is_logged(app):
    downloads = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "<fmt>" in rule.rule or rule.rule.endswith((".csv", ".xlsx"))
    }
    assert downloads  # exports, statistics, federation, bilan
    assert downloads <= LOGGED_ENDPOINTS
    assert set(app.view_functions) >= LOGGED_ENDPOINTS


# --------------------------------------------------------------- when it cannot log


def test_an_export_that_cannot_be_logged_is_refused(client, auth, world, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("disque plein")

    monkeypatch.setattr("orfi.privacy.routes.record_access", broken)
    a = world["AAA"]
    login(auth, a["referent"])

    export = client.get("/exports/signalements.csv")
    assert export.status_code == 503
    assert "ne peut pas être tracé" in export.get_data(as_text=True)
    assert a["report"].reference not in export.get_data(as_text=True)
    photo = client.get(f"/api/v1/photos/{a['photo'].uuid}")
    assert photo.status_code == 503 and photo.json["error"] == "access_log_unavailable"
    # Reading on screen goes on (the failure is in the application's error log).
    assert client.get(f"/signalements/{a['report'].uuid}").status_code == 200


# ------------------------------------------------------------------- the page


def add_entry(organisation, user, *, days: int = 0, ref: str = "X-1") -> None:
    db.session.add(
        AccessLogEntry(
            at=utcnow() - timedelta(days=days),
            organisation_id=organisation.id,
            user_id=user.id if user else None,
            action=AccessAction.VIEW,
            object_type="report",
            object_ref=ref,
        )
    )


def test_admins_read_their_own_bailleur_log_only(client, auth, world):
    a, b = world["AAA"], world["BBB"]
    add_entry(a["organisation"], a["referent"], ref="AAA-2026-000001")
    add_entry(b["organisation"], b["referent"], ref="BBB-2026-000001")
    commit()

    login(auth, a["admin"])
    page = client.get("/admin/journal-des-acces")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "AAA-2026-000001" in html and "referent@aaa.fr" in html
    assert "BBB-2026-000001" not in html and "referent@bbb.fr" not in html
    assert "Journal des accès" in client.get("/admin/").get_data(as_text=True)

    auth.logout()
    login(auth, b["admin"])
    html = client.get("/admin/journal-des-acces").get_data(as_text=True)
    assert "BBB-2026-000001" in html and "AAA-2026-000001" not in html


@pytest.mark.parametrize("role", ["referent", "gardien", "federation"])
def test_non_admins_get_403(client, auth, world, role):
    user = world["federation"] if role == "federation" else world["AAA"][role]
    login(auth, user)
    assert client.get("/admin/journal-des-acces").status_code == 403


def test_the_page_filters_by_user_and_date_newest_first(client, auth, world):
    a = world["AAA"]
    add_entry(a["organisation"], a["referent"], days=10, ref="AAA-OLD")
    add_entry(a["organisation"], a["referent"], days=1, ref="AAA-NEW")
    add_entry(a["organisation"], a["gardien"], days=1, ref="AAA-GARDIEN")
    add_entry(a["organisation"], None, days=2, ref="AAA-PURGE")
    commit()
    login(auth, a["admin"])

    html = client.get("/admin/journal-des-acces").get_data(as_text=True)
    assert html.index("AAA-NEW") < html.index("AAA-PURGE") < html.index("AAA-OLD")

    by_user = client.get(f"/admin/journal-des-acces?user={a['referent'].id}").get_data(
        as_text=True
    )
    assert "AAA-NEW" in by_user and "AAA-OLD" in by_user
    assert "AAA-GARDIEN" not in by_user and "AAA-PURGE" not in by_user

    since = (to_local(utcnow()).date() - timedelta(days=3)).isoformat()
    recent = client.get(f"/admin/journal-des-acces?date_from={since}").get_data(
        as_text=True
    )
    assert "AAA-NEW" in recent and "AAA-GARDIEN" in recent
    assert "AAA-OLD" not in recent

    purges = client.get("/admin/journal-des-acces?user=orfi").get_data(as_text=True)
    assert "AAA-PURGE" in purges and "AAA-NEW" not in purges


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date_from=2026-05-10&date_to=2026-05-01", "La date de fin précède"),
        ("user=999999", "Choisissez un utilisateur de la liste."),
        ("date_from=demain", "date"),
        ("page=abc", None),
    ],
)
def test_bad_filters_are_explained_not_crashed_on(client, auth, world, query, message):
    a, b = world["AAA"], world["BBB"]
    add_entry(a["organisation"], a["referent"], ref="AAA-2026-000009")
    commit()
    login(auth, a["admin"])
    response = client.get(f"/admin/journal-des-acces?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    if message:
        assert message in html
    assert "AAA-2026-000009" in html
    # Another bailleur's user id is not a choice either.
    other = client.get(f"/admin/journal-des-acces?user={b['referent'].id}")
    assert "Choisissez un utilisateur de la liste." in other.get_data(as_text=True)


def test_the_page_is_paginated(app, client, auth, world):
    app.config["ORFI_PAGE_SIZE"] = 2
    a = world["AAA"]
    for n in range(5):
        add_entry(a["organisation"], a["referent"], days=n, ref=f"AAA-P{n}")
    commit()
    login(auth, a["admin"])
    first = client.get("/admin/journal-des-acces").get_data(as_text=True)
    assert "AAA-P0" in first and "AAA-P2" not in first
    assert "Page 1 sur" in first
    third = client.get("/admin/journal-des-acces?page=3").get_data(as_text=True)
    assert "AAA-P4" in third and "AAA-P0" not in third


def test_reading_the_log_is_logged(client, auth, world):
    a = world["AAA"]
    login(auth, a["admin"])
    client.get("/admin/journal-des-acces?date_from=2026-01-01")
    [entry] = entries()
    assert (entry.object_type, entry.user_id) == ("access_log", a["admin"].id)
    assert entry.detail == "filtres : date_from=2026-01-01"


def test_old_entries_are_purged(world):
    a = world["AAA"]
    add_entry(a["organisation"], a["referent"], days=400, ref="AAA-OLD")
    add_entry(a["organisation"], a["referent"], days=300, ref="AAA-KEPT")
    commit()

    result = purge()

    assert result.log_entries == 1
    refs = [e.object_ref for e in entries() if e.action is AccessAction.VIEW]
    assert refs == ["AAA-KEPT"]
