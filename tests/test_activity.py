"""The activity log: meetings and interventions of référents and federations."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from orfi.activity.models import Meeting, PartnerIntervention
from orfi.auth.models import Role
from orfi.extensions import db
from orfi.timezone import now_local
from tests.factories import (
    commit,
    make_federation,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)


@pytest.fixture
def world(app):
    """Two bailleurs of Occitanie, one of Bretagne, their users and a federation."""
    tmh = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    alt = make_organisation(code="ALT", name="Altéal")
    far = make_organisation(code="ARM", name="Armorique Habitat", region="Bretagne")
    izards = make_residence(tmh, name="Les Izards", qpv_code="QP031011")
    bagatelle = make_residence(alt, name="Bagatelle")
    federation = make_federation(code="USH-OCC", name="USH Occitanie")
    gardien = make_user(tmh, role=Role.GARDIEN, sector=[izards])
    referent = make_user(tmh, role=Role.REFERENT)
    world = {
        "tmh": tmh,
        "alt": alt,
        "far": far,
        "izards": izards,
        "bagatelle": bagatelle,
        "gardien": gardien,
        "referent": referent,
        "direction": make_user(tmh, role=Role.DIRECTION),
        "admin": make_user(tmh, role=Role.ADMIN),
        "alt_referent": make_user(alt, role=Role.REFERENT),
        "chargee": make_user(None, role=Role.FEDERATION, federation=federation),
        "other_federation": make_user(None, role=Role.FEDERATION),
        "report": make_report(gardien, izards, gravity=3),
        "alt_report": make_report(
            make_user(alt, role=Role.GARDIEN, sector=[bagatelle]), bagatelle
        ),
    }
    commit()
    return world


def today() -> str:
    return now_local().date().isoformat()


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def meeting_form(**overrides):
    data = {
        "held_on": today(),
        "kind": "clspd",
        "subject": "Cellule de veille des Izards",
        "partners": ["mairie", "police_municipale"],
        "notes": "Point par quartier.",
    }
    data.update(overrides)
    return data


def intervention_form(**overrides):
    data = {
        "done_on": today(),
        "partner": "police_nationale",
        "subject": "Demande de patrouilles aux abords d'un hall occupé",
    }
    data.update(overrides)
    return data


def post_meeting(client, **overrides):
    """Log a meeting (``meeting_form`` with ``overrides``) in the user's log."""
    return client.post("/activite/reunions/nouvelle", data=meeting_form(**overrides))


def post_intervention(client, **overrides):
    """Log an intervention (``intervention_form`` with ``overrides``)."""
    return client.post(
        "/activite/interventions/nouvelle", data=intervention_form(**overrides)
    )


@pytest.mark.parametrize(
    ("role", "status"),
    [("gardien", 403), ("direction", 403), ("referent", 200), ("admin", 200)],
)
def test_who_keeps_a_log(client, auth, world, role, status):
    auth.login(world[role].email)
    assert client.get("/activite/").status_code == status
    assert client.get("/activite/reunions/nouvelle").status_code == status


def test_referent_logs_a_meeting_of_their_bailleur(client, auth, world):
    auth.login(world["referent"].email)
    response = post_meeting(client, residences=[str(world["izards"].id)])
    assert response.status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.organisation_id == world["tmh"].id
    assert meeting.federation_id is None
    assert meeting.partners == ["mairie", "police_municipale"]
    assert [o.code for o in meeting.bailleurs] == ["TMH"]
    assert [r.name for r in meeting.residences] == ["Les Izards"]
    page = client.get("/activite/")
    assert "Cellule de veille des Izards" in page.text
    assert "Mairie, Police municipale" in page.text


def test_meeting_residences_are_checkboxes(client, auth, world):
    """No Ctrl-click multi-select: one checkbox per résidence, with the search box."""
    minimes = make_residence(world["tmh"], name="Les Minimes")
    commit()
    auth.login(world["referent"].email)
    page = client.get("/activite/reunions/nouvelle").text
    assert '<select id="residences"' not in page
    for residence in (world["izards"], minimes):
        assert (
            f'<input type="checkbox" name="residences" value="{residence.id}">'
        ) in page
    assert 'data-list="residences"' in page  # the search over the list
    ids = [str(world["izards"].id), str(minimes.id)]
    assert post_meeting(client, residences=ids).status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    assert sorted(r.name for r in meeting.residences) == ["Les Izards", "Les Minimes"]
    edit = client.get(f"/activite/reunions/{meeting.id}").text
    for value in ids:
        assert f'name="residences" value="{value}" checked' in edit


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"kind": ""}, "kind", "Choisissez le type de réunion."),
        ({"held_on": ""}, "held_on", "Indiquez la date de la réunion."),
        (
            {"held_on": (now_local().date() + timedelta(days=3)).isoformat()},
            "held_on",
            "pas de date future",
        ),
        ({"partners": ["inconnu"]}, "partners", "choix valide"),
        ({"subject": "x" * 201}, "subject", "limité à 200 caractères"),
    ],
)
def test_bad_meeting_is_refused(client, auth, world, overrides, field, message):
    auth.login(world["referent"].email)
    response = post_meeting(client, **overrides)
    assert response.status_code == 422
    assert message in response.text
    assert f'id="{field}-errors"' in response.text
    assert count(Meeting) == 0


def test_referent_cannot_name_another_bailleurs_residence(client, auth, world):
    auth.login(world["referent"].email)
    response = post_meeting(client, residences=[str(world["bagatelle"].id)])
    assert response.status_code == 422
    assert "n&#39;appartient à aucun de vos bailleurs" in response.text
    assert count(Meeting) == 0


def test_federation_logs_meetings_for_bailleurs_of_its_region(client, auth, world):
    auth.login(world["chargee"].email)
    page = client.get("/activite/reunions/nouvelle")
    assert "Altéal" in page.text and "Toulouse Métropole Habitat" in page.text
    assert "Armorique Habitat" not in page.text
    response = post_meeting(
        client,
        kind="securite",
        bailleurs=[str(world["alt"].id)],
        residences=[str(world["izards"].id)],
    )
    assert response.status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.federation_id == world["chargee"].federation_id
    assert meeting.organisation_id is None
    # The résidence's bailleur joins the bailleurs concerned.
    assert sorted(o.code for o in meeting.bailleurs) == ["ALT", "TMH"]

    response = post_meeting(client, bailleurs=[str(world["far"].id)])
    assert response.status_code == 422
    assert "pas dans la région de la fédération" in response.text
    assert count(Meeting) == 1


def test_referent_links_an_intervention_to_visible_facts(client, auth, world):
    report = world["report"]
    auth.login(world["referent"].email)
    response = post_intervention(
        client, reports=f"{report.reference.lower()}, ", notes=""
    )
    assert response.status_code == 302
    intervention = db.session.scalar(sa.select(PartnerIntervention))
    assert intervention.beneficiary_id == world["tmh"].id
    assert intervention.organisation_id == world["tmh"].id
    assert [r.id for r in intervention.reports] == [report.id]
    page = client.get("/activite/")
    assert report.reference in page.text


def test_referent_cannot_link_unknown_or_foreign_facts(client, auth, world):
    foreign = world["alt_report"]
    auth.login(world["referent"].email)
    response = post_intervention(client, reports=f"{foreign.reference} TMH-1999-000001")
    assert response.status_code == 422
    assert "Fait inconnu ou hors de votre périmètre" in response.text
    assert foreign.reference in response.text
    assert count(PartnerIntervention) == 0


def test_federation_logs_interventions_but_cannot_link_facts(client, auth, world):
    auth.login(world["chargee"].email)
    page = client.get("/activite/interventions/nouvelle")
    assert "Faits liés" not in page.text
    response = post_intervention(
        client, beneficiary=str(world["tmh"].id), reports=world["report"].reference
    )
    assert response.status_code == 422
    assert "ne peut pas en lier" in response.text
    assert count(PartnerIntervention) == 0

    response = post_intervention(client, beneficiary=str(world["far"].id))
    assert response.status_code == 422
    assert "pas dans la région" in response.text

    response = post_intervention(
        client, beneficiary=str(world["tmh"].id), residence=str(world["izards"].id)
    )
    assert response.status_code == 302
    intervention = db.session.scalar(sa.select(PartnerIntervention))
    assert intervention.federation_id == world["chargee"].federation_id
    assert intervention.reports == []
    page = client.get("/activite/")
    assert "Au profit de Toulouse Métropole Habitat" in page.text


def test_intervention_residence_must_belong_to_the_beneficiary(client, auth, world):
    auth.login(world["chargee"].email)
    response = post_intervention(
        client, beneficiary=str(world["alt"].id), residence=str(world["izards"].id)
    )
    assert response.status_code == 422
    assert "n&#39;appartient pas au bailleur choisi" in response.text


def test_each_log_is_its_owners_only(client, auth, world):
    auth.login(world["referent"].email)
    post_meeting(client)
    post_intervention(client)
    meeting = db.session.scalar(sa.select(Meeting))
    intervention = db.session.scalar(sa.select(PartnerIntervention))
    auth.logout()
    for intruder in ("alt_referent", "chargee"):
        auth.login(world[intruder].email)
        assert "Cellule de veille des Izards" not in client.get("/activite/").text
        assert client.get(f"/activite/reunions/{meeting.id}").status_code == 404
        assert (
            client.post(f"/activite/reunions/{meeting.id}/supprimer").status_code == 404
        )
        assert (
            client.get(f"/activite/interventions/{intervention.id}").status_code == 404
        )
        auth.logout()
    assert count(Meeting) == 1 and count(PartnerIntervention) == 1


def test_edit_and_delete_a_meeting(client, auth, world):
    auth.login(world["admin"].email)
    post_meeting(client)
    meeting = db.session.scalar(sa.select(Meeting))
    page = client.get(f"/activite/reunions/{meeting.id}")
    assert "Cellule de veille des Izards" in page.text
    response = client.post(
        f"/activite/reunions/{meeting.id}",
        data=meeting_form(kind="gpo", subject="GPO Izards"),
    )
    assert response.status_code == 302
    db.session.refresh(meeting)
    assert meeting.kind.value == "gpo" and meeting.subject == "GPO Izards"
    response = client.post(f"/activite/reunions/{meeting.id}/supprimer")
    assert response.status_code == 302
    assert count(Meeting) == 0


def test_edit_and_delete_an_intervention(client, auth, world):
    auth.login(world["referent"].email)
    post_intervention(client)
    intervention = db.session.scalar(sa.select(PartnerIntervention))
    response = client.post(
        f"/activite/interventions/{intervention.id}",
        data=intervention_form(partner="prefecture", reports=world["report"].reference),
    )
    assert response.status_code == 302
    db.session.refresh(intervention)
    assert intervention.partner.value == "prefecture"
    assert len(intervention.reports) == 1
    client.post(f"/activite/interventions/{intervention.id}/supprimer")
    assert count(PartnerIntervention) == 0


def test_period_filter(client, auth, world):
    auth.login(world["referent"].email)
    old = (now_local().date() - timedelta(days=100)).isoformat()
    post_meeting(client, held_on=old, subject="Ancienne")
    post_meeting(client, subject="Récente")
    page = client.get("/activite/")
    assert "Récente" in page.text and "Ancienne" not in page.text
    page = client.get(f"/activite/?date_from={old}&date_to={today()}")
    assert "Récente" in page.text and "Ancienne" in page.text
