"""Isolation: no one reaches another organisation's data.

A chef d'agence sees their agence; a gardien sees their own facts.
"""

import pytest

from orfi.auth.models import Role
from orfi.extensions import db
from tests.factories import (
    category,
    make_agence,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)

ROLES_OF_A = [Role.GARDIEN, Role.REFERENT, Role.DIRECTION, Role.ADMIN, Role.FEDERATION]


@pytest.fixture
def two_bailleurs(app):
    a, b = make_organisation(code="AAA"), make_organisation(code="BBB")
    res_a, res_b = make_residence(a), make_residence(b)
    users_a = {
        role: make_user(a, role=role, sector=[res_a] if role is Role.GARDIEN else [])
        for role in ROLES_OF_A
        if role is not Role.FEDERATION
    }
    users_a[Role.FEDERATION] = make_user(role=Role.FEDERATION)
    gardien_b = make_user(b, role=Role.GARDIEN, sector=[res_b])
    report_b = make_report(gardien_b, res_b, description="Fait du bailleur B")
    report_a = make_report(users_a[Role.GARDIEN], res_a)
    db.session.commit()
    return {
        "a": a,
        "b": b,
        "res_b": res_b,
        "users_a": users_a,
        "report_b": report_b,
        "report_a": report_a,
    }


@pytest.mark.parametrize("role", ROLES_OF_A, ids=[r.value for r in ROLES_OF_A])
def test_no_page_of_bailleur_b_opens_for_bailleur_a(client, auth, two_bailleurs, role):
    world = two_bailleurs
    auth.login(world["users_a"][role].email)
    report_b, res_b = world["report_b"], world["res_b"]
    for path in (
        f"/signalements/{report_b.uuid}",
        f"/signalements/{report_b.uuid}/confirmation",
        f"/patrimoine/residences/{res_b.id}",
    ):
        assert client.get(path).status_code in (403, 404), path
    response = client.post(
        f"/signalements/{report_b.uuid}/qualifier",
        data={"category": str(category(world["b"]).id), "status": "clos"},
    )
    assert response.status_code in (403, 404)
    assert report_b.status.value == "nouveau"
    for path in (
        "/signalements/",
        "/signalements/mes",
        f"/signalements/?residence={res_b.id}",
        "/patrimoine/residences",
    ):
        page = client.get(path)
        assert report_b.reference not in page.text, path
        assert res_b.name not in page.text, path


def test_gardien_sees_only_own_facts(client, auth, app):
    organisation = make_organisation()
    residence = make_residence(organisation)
    first = make_user(organisation, role=Role.GARDIEN, sector=[residence])
    second = make_user(organisation, role=Role.GARDIEN, sector=[residence])
    theirs = make_report(second, residence)
    mine = make_report(first, residence)
    db.session.commit()
    auth.login(first.email)
    assert mine.reference in client.get("/signalements/mes").text
    assert theirs.reference not in client.get("/signalements/mes").text
    assert client.get(f"/signalements/{theirs.uuid}").status_code == 404
    assert client.get(f"/signalements/{mine.uuid}").status_code == 200


def test_chef_d_agence_sees_only_their_agence(client, auth, app):
    organisation = make_organisation()
    north, south = make_agence(organisation), make_agence(organisation)
    res_north = make_residence(organisation, agence=north)
    res_south = make_residence(organisation, agence=south)
    gardien = make_user(organisation, role=Role.GARDIEN, sector=[res_north, res_south])
    in_north = make_report(gardien, res_north)
    in_south = make_report(gardien, res_south)
    chef = make_user(organisation, role=Role.DIRECTION, agence=north)
    db.session.commit()
    auth.login(chef.email)
    listing = client.get("/signalements/").text
    assert in_north.reference in listing
    assert in_south.reference not in listing
    assert client.get(f"/signalements/{in_south.uuid}").status_code == 404
    assert client.get(f"/patrimoine/residences/{res_south.id}").status_code == 404
    assert client.get(f"/patrimoine/residences/{res_north.id}").status_code == 200
