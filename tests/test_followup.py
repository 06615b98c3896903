"""Follow-up of a fact: actions, status, complaint details, TADPR, overdue facts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.extensions import db
from orfi.followup.models import Complaint, FollowupAction
from orfi.reports.models import Report, ReportEvent, Status, Suite, Victime
from orfi.timezone import now_local
from tests.factories import (
    DEFAULT_PASSWORD,
    commit,
    make_agence,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)
from tests.helpers import csrf_token


@pytest.fixture
def world(app):
    """A bailleur with a user of each role and a fact of gravity 3; another bailleur."""
    organisation = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    agence = make_agence(organisation, name="Agence Mirail")
    residence = make_residence(organisation, name="Les Izards", agence_id=agence.id)
    gardien = make_user(organisation, role=Role.GARDIEN, sector=[residence])
    referent = make_user(organisation, role=Role.REFERENT)
    users = {
        "gardien": gardien,
        "referent": referent,
        "direction": make_user(organisation, role=Role.DIRECTION),
        "admin": make_user(organisation, role=Role.ADMIN),
        "federation": make_user(None, role=Role.FEDERATION),
    }
    report = make_report(gardien, residence, gravity=3)
    other = make_organisation(code="ALT", name="Altéal")
    users["other_referent"] = make_user(other, role=Role.REFERENT)
    commit()
    return {"organisation": organisation, "report": report, **users}


def action_form(**overrides) -> dict:
    data = {
        "done_on": now_local().date().isoformat(),
        "kind": "signalement",
        "partner": "police_nationale",
        "note": "Signalé au commissariat de secteur.",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_action(client, report: Report, **overrides):
    """Post an action (``action_form`` with ``overrides``) to ``report``'s follow-up."""
    return client.post(f"/suivi/{report.uuid}/actions", data=action_form(**overrides))


def page_after_an_action(client, auth, world, who: str):
    """The référent adds an action to the fact, then ``who`` opens the fact's page."""
    auth.login(world["referent"].email)
    post_action(client, world["report"])
    auth.logout()
    auth.login(world[who].email)
    return client.get(detail_url(world["report"]))


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def detail_url(report: Report) -> str:
    return f"/signalements/{report.uuid}"


def test_referent_adds_an_action_and_the_fact_becomes_transmis(client, auth, world):
    report = world["report"]
    auth.login(world["referent"].email)
    page = client.get(detail_url(report))
    assert page.status_code == 200
    assert "Suivi avec les partenaires" in page.text
    assert "Ajouter une action" in page.text

    response = post_action(client, report)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{detail_url(report)}#suivi")
    action = db.session.scalar(sa.select(FollowupAction))
    assert action.kind.value == "signalement"
    assert action.partner.value == "police_nationale"
    assert action.author_id == world["referent"].id
    db.session.refresh(report)
    assert report.status is Status.TRANSMIS
    event = report.events[-1]
    assert event.kind == "followup"
    assert event.changes == {"status": ["nouveau", "transmis"]}
    assert "Signalement aux forces de l'ordre (Police nationale)" in event.comment

    page = client.get(detail_url(report))
    assert "Signalé au commissariat de secteur." in page.text


def test_a_second_action_keeps_the_status_and_a_response_may_close(client, auth, world):
    report = world["report"]
    auth.login(world["referent"].email)
    post_action(client, report)
    post_action(
        client, report, kind="demande_intervention", partner="police_municipale"
    )
    db.session.refresh(report)
    assert report.status is Status.TRANSMIS
    assert report.events[-1].changes == {}

    post_action(client, report, kind="reponse_recue", partner="parquet", close="y")
    db.session.refresh(report)
    assert report.status is Status.CLOS
    assert report.events[-1].changes == {"status": ["transmis", "clos"]}
    assert count(FollowupAction) == 3


def test_an_other_action_does_not_transmit(client, auth, world):
    report = world["report"]
    auth.login(world["admin"].email)
    response = post_action(client, report, kind="autre", partner="")
    assert response.status_code == 302
    db.session.refresh(report)
    assert report.status is Status.NOUVEAU


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"kind": ""}, "kind", "Choisissez le type d&#39;action."),
        ({"partner": ""}, "partner", "Choisissez le partenaire concerné."),
        ({"done_on": ""}, "done_on", "Indiquez la date de l&#39;action."),
        (
            {"done_on": (now_local().date() + timedelta(days=2)).isoformat()},
            "done_on",
            "La date ne peut pas être dans le futur.",
        ),
        (
            {"done_on": (now_local().date() - timedelta(days=30)).isoformat()},
            "done_on",
            "La date précède celle du fait.",
        ),
        ({"close": "y"}, "close", "Seule une réponse reçue peut clore le fait."),
        ({"note": "x" * 501}, "note", "La note est limitée à 500 caractères."),
    ],
)
def test_bad_action_is_refused_next_to_its_field(
    client, auth, world, overrides, field, message
):
    report = world["report"]
    auth.login(world["referent"].email)
    response = post_action(client, report, **overrides)
    assert response.status_code == 422
    assert message in response.text
    assert f'id="{field}-errors"' in response.text
    assert count(FollowupAction) == 0
    db.session.refresh(report)
    assert report.status is Status.NOUVEAU
    assert report.events == []  # nothing written


def test_direction_reads_the_follow_up_without_forms(client, auth, world):
    report = world["report"]
    page = page_after_an_action(client, auth, world, "direction")
    assert "Suivi avec les partenaires" in page.text
    assert "Signalé au commissariat de secteur." in page.text
    assert "Ajouter une action" not in page.text
    response = post_action(client, report)
    assert response.status_code == 403
    assert count(FollowupAction) == 1


def test_gardien_cannot_see_the_follow_up(client, auth, world):
    report = world["report"]
    page = page_after_an_action(client, auth, world, "gardien")
    assert page.status_code == 200  # the gardien's own fact
    assert "Suivi avec les partenaires" not in page.text
    assert "Signalé au commissariat de secteur." not in page.text
    assert client.get("/suivi/").status_code == 403
    assert post_action(client, report).status_code == 403
    assert (
        client.post(
            f"/suivi/{report.uuid}/plainte",
            data={"kind": "plainte", "filed_by": "bailleur"},
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("who", "fact", "overdue"),
    [("federation", 403, 403), ("other_referent", 404, 200)],
)
def test_outsiders_see_no_fact_nor_follow_up(client, auth, world, who, fact, overdue):
    """A federation sees no fact at all (403); another bailleur's référent is told
    this one does not exist (404), and sees only its own overdue list."""
    report = world["report"]
    auth.login(world[who].email)
    assert client.get(detail_url(report)).status_code == fact
    assert client.get("/suivi/").status_code == overdue
    assert post_action(client, report).status_code == fact
    assert count(FollowupAction) == 0


def test_complaint_details_update_the_fact_suites(client, auth, world):
    report = world["report"]
    auth.login(world["referent"].email)
    response = client.post(
        f"/suivi/{report.uuid}/plainte",
        data={
            "kind": "plainte",
            "filed_by": "victime",
            "filed_on": now_local().date().isoformat(),
            "reference": "PV 2026/00123",
            "sworn_agent_pv": "y",
        },
    )
    assert response.status_code == 302
    complaint = db.session.get(Complaint, report.id)
    assert complaint.kind.value == "plainte"
    assert complaint.filed_by.value == "victime"
    assert complaint.reference == "PV 2026/00123"
    assert complaint.sworn_agent_pv is True
    db.session.refresh(report)
    assert report.suite is Suite.PLAINTE_VICTIME
    assert report.events[-1].changes == {"suite": [None, "plainte_victime"]}

    # Correcting replaces the details (one row per fact).
    client.post(
        f"/suivi/{report.uuid}/plainte",
        data={"kind": "main_courante", "filed_by": "bailleur"},
    )
    assert count(Complaint) == 1
    db.session.refresh(report)
    assert report.suite is Suite.MAIN_COURANTE
    page = client.get(detail_url(report))
    assert "Main courante, déposée par le bailleur" in page.text


def test_mission_service_public_needs_a_staff_victim(client, auth, world):
    report = world["report"]  # no victim recorded
    auth.login(world["referent"].email)
    response = client.post(
        f"/suivi/{report.uuid}/plainte",
        data={"kind": "plainte", "filed_by": "bailleur", "mission_service_public": "y"},
    )
    assert response.status_code == 422
    assert "concerne un membre du personnel victime" in response.text
    assert count(Complaint) == 0


def test_outrage_to_agent_on_public_service_mission_is_tadpr_eligible(
    client, auth, world
):
    report = make_report(
        world["gardien"],
        category_code="AP01",
        victime=Victime.PERSONNEL_BAILLEUR,
        gravity=2,
    )
    commit()
    auth.login(world["referent"].email)
    page = client.get(detail_url(report))
    assert "Éligible au traitement accéléré" not in page.text
    assert "devient éligible au traitement accéléré (TADPR)" in page.text

    response = client.post(
        f"/suivi/{report.uuid}/plainte",
        data={"kind": "plainte", "filed_by": "bailleur", "mission_service_public": "y"},
    )
    assert response.status_code == 302
    db.session.refresh(report)
    assert report.mission_service_public is True
    changes = report.events[-1].changes
    assert changes["mission_service_public"] == [False, True]
    page = client.get(detail_url(report))
    assert "Éligible au traitement accéléré par délégué du procureur (TADPR)" in (
        page.text
    )


def test_overdue_lists_grave_facts_without_action_after_n_days(
    app, client, auth, world
):
    gardien = world["gardien"]
    old = utcnow() - timedelta(days=3)

    def aged(**overrides):
        report = make_report(gardien, **overrides)
        report.created_at = old
        return report

    waiting = aged(gravity=4)
    followed = aged(gravity=3)
    minor = aged(gravity=2)
    closed = aged(gravity=3)
    closed.status = Status.CLOS
    duplicate = aged(gravity=3)
    duplicate.duplicate_of_id = waiting.id
    fresh = make_report(gardien, gravity=4)  # filed an hour ago
    commit()

    auth.login(world["referent"].email)
    post_action(client, followed)
    page = client.get("/suivi/")
    assert page.status_code == 200
    assert waiting.reference in page.text
    assert "en attente depuis 3 jours" in page.text
    for report in (followed, minor, closed, duplicate, fresh):
        assert report.reference not in page.text
    assert "1 fait en attente" in page.text

    app.config["ORFI_FOLLOWUP_OVERDUE_DAYS"] = 5
    page = client.get("/suivi/")
    assert waiting.reference not in page.text


def test_overdue_is_limited_to_the_user_perimeter(client, auth, world):
    other_org = world["other_referent"].organisation
    stranger = make_user(other_org, role=Role.GARDIEN)
    foreign = make_report(stranger, gravity=4)
    foreign.created_at = utcnow() - timedelta(days=10)
    commit()
    auth.login(world["referent"].email)
    assert foreign.reference not in client.get("/suivi/").text


def test_action_form_needs_csrf(csrf_app, world):
    client = csrf_app.test_client()
    login_page = client.get("/connexion").text
    token = csrf_token(login_page)
    client.post(
        "/connexion",
        data={
            "email": world["referent"].email,
            "password": DEFAULT_PASSWORD,
            "csrf_token": token,
        },
    )
    assert "Suivi avec les partenaires" in client.get(detail_url(world["report"])).text
    report = world["report"]
    response = post_action(client, report)
    assert response.status_code == 400
    assert count(FollowupAction) == 0
    events = db.session.scalar(
        sa.select(sa.func.count()).where(ReportEvent.report_id == report.id)
    )
    assert events == 0


# ------------------------------------------- correcting and deleting an action (12.3)


def _action_of(world, author_key: str = "referent") -> FollowupAction:
    from tests.factories import make_action

    action = make_action(
        world["report"], world[author_key], note="Signalé au commissariat."
    )
    commit()
    return action


def _action_events(report) -> list[ReportEvent]:
    return list(
        db.session.scalars(
            sa.select(ReportEvent)
            .where(ReportEvent.report_id == report.id)
            .order_by(ReportEvent.id)
        )
    )


def test_referent_corrects_an_action_with_history(client, auth, world):
    action = _action_of(world, "admin")
    report = world["report"]
    auth.login(world["referent"].email)
    url = f"/suivi/actions/{action.id}/corriger"
    assert client.get(url).status_code == 200
    today = now_local().date()
    response = client.post(
        url,
        data=action_form(
            done_on=today.isoformat(),
            kind="demande_intervention",
            partner="police_municipale",
            note="Patrouille demandée.",
        ),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert action.partner.value == "police_municipale"
    assert action.note == "Patrouille demandée."
    event = _action_events(report)[-1]
    assert event.user_id == world["referent"].id
    assert event.changes == {
        "kind": ["Signalement aux forces de l'ordre", "Demande d'intervention"],
        "partner": ["Police nationale", "Police municipale"],
        "note": ["Signalé au commissariat.", "Patrouille demandée."],
    }
    assert "corrigée" in event.comment
    history = client.get(f"/signalements/{report.uuid}").text
    assert "Patrouille demandée." in history


def test_author_deletes_an_action_and_the_history_keeps_it(client, auth, world):
    action = _action_of(world, "admin")
    report = world["report"]
    status, action_id = report.status, action.id
    auth.login(world["admin"].email)
    response = client.post(f"/suivi/actions/{action_id}/supprimer")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(FollowupAction, action_id) is None
    assert report.status is status  # the status does not move back by itself
    event = _action_events(report)[-1]
    assert event.user_id == world["admin"].id
    assert event.changes["kind"] == ["Signalement aux forces de l'ordre", None]
    assert event.changes["note"] == ["Signalé au commissariat.", None]
    assert "supprimée" in event.comment


ACTION_ACCESS = {
    "référent": ("referent", 200),
    "admin": ("admin", 200),
    "direction": ("direction", 403),
    "gardien": ("gardien", 403),
    "federation": ("federation", 403),
    "référent of another bailleur": ("other_referent", 404),
}


@pytest.mark.parametrize("who, expected", ACTION_ACCESS.values(), ids=ACTION_ACCESS)
def test_who_may_change_an_action(client, auth, world, who, expected):
    action = _action_of(world)
    report = world["report"]
    before, action_id = len(_action_events(report)), action.id
    auth.login(world[who].email)
    edit = f"/suivi/actions/{action_id}/corriger"
    assert client.get(edit).status_code == expected
    posted = client.post(edit, data=action_form(note="Changée."))
    assert posted.status_code == (302 if expected == 200 else expected)
    deleted = client.post(f"/suivi/actions/{action_id}/supprimer")
    assert deleted.status_code == (302 if expected == 200 else expected)
    db.session.expire_all()
    gone = db.session.get(FollowupAction, action_id) is None
    assert gone is (expected == 200)
    assert len(_action_events(report)) == before + (2 if expected == 200 else 0)


def test_direction_author_may_change_their_own_action(client, auth, world):
    action = _action_of(world)
    action.author_id = world["direction"].id  # a référent since moved to direction
    commit()
    auth.login(world["direction"].email)
    url = f"/suivi/actions/{action.id}/corriger"
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"done_on": "2999-01-01"}, "done_on"),
        ({"done_on": ""}, "done_on"),
        ({"kind": ""}, "kind"),
        ({"kind": "signalement", "partner": ""}, "partner"),
        ({"note": "x" * 501}, "note"),
    ],
)
def test_bad_action_correction_is_refused_next_to_the_field(
    client, auth, world, overrides, field
):
    action = _action_of(world)
    before = len(_action_events(world["report"]))
    auth.login(world["referent"].email)
    response = client.post(
        f"/suivi/actions/{action.id}/corriger",
        data=action_form(**overrides),
    )
    assert response.status_code == 422
    assert f'id="{field}-errors"' in response.text
    db.session.expire_all()
    assert action.note == "Signalé au commissariat."
    assert len(_action_events(world["report"])) == before


def test_unknown_action_is_not_found(client, auth, world):
    auth.login(world["referent"].email)
    assert client.get("/suivi/actions/999999/corriger").status_code == 404
    assert client.post("/suivi/actions/999999/supprimer").status_code == 404
