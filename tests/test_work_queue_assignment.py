"""Taking a fact in hand (« pris en charge par », next step) and « Mes faits à
traiter » (issue 11, point 6)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.extensions import db
from orfi.reports.models import Report, ReportEvent, Status
from orfi.timezone import now_local
from tests.factories import (
    commit,
    make_organisation,
    make_report,
    make_tmh_world,
    make_user,
)
from tests.helpers import definitions, parse


@pytest.fixture
def world():
    w = make_tmh_world()
    w["fact"] = make_report(w["gardien"], w["residence"], description="Porte forcée.")
    w["colleague"] = make_user(w["organisation"], role=Role.REFERENT, name="Camille")
    w["direction"] = make_user(w["organisation"], role=Role.DIRECTION)
    w["outsider"] = make_user(make_organisation(), role=Role.REFERENT)
    commit()
    return w


def assign(client, report: Report, **fields):
    data = {f"assign-{name}": value for name, value in fields.items()}
    return client.post(f"/signalements/{report.uuid}/prise-en-charge", data=data)


def events_of(report: Report) -> list[ReportEvent]:
    return list(
        db.session.scalars(
            db.select(ReportEvent)
            .where(ReportEvent.report_id == report.id)
            .order_by(ReportEvent.id)
        )
    )


def test_a_referent_takes_a_fact_and_sets_its_next_step(client, auth, world):
    fact, colleague = world["fact"], world["colleague"]
    step = now_local().date() + timedelta(days=3)
    auth.login(world["referent"].email)
    response = assign(
        client, fact, assignee=colleague.id, next_step_on=step.isoformat()
    )
    assert response.status_code == 302
    db.session.refresh(fact)
    assert (fact.assignee_id, fact.next_step_on) == (colleague.id, step)
    event = events_of(fact)[-1]
    assert event.user_id == world["referent"].id
    assert event.changes == {
        "assignee": [None, colleague.name],
        "next_step_on": [None, step.strftime("%d/%m/%Y")],
    }
    page = client.get(f"/signalements/{fact.uuid}").text
    shown = definitions(page)
    assert shown["Pris en charge par"] == colleague.name
    assert shown["Prochaine étape"] == step.strftime("%d/%m/%Y")
    history = parse(page).select_one(".history").get_text(" ", strip=True)
    assert "Pris en charge par" in history and colleague.name in history


def test_the_same_values_again_write_nothing(client, auth, world):
    fact = world["fact"]
    auth.login(world["referent"].email)
    assign(client, fact, assignee=world["referent"].id)
    before = len(events_of(fact))
    assign(client, fact, assignee=world["referent"].id)
    assert len(events_of(fact)) == before


@pytest.mark.parametrize(
    "who, field, message",
    [
        ("outsider", "assignee", "référent de votre organisme"),
        ("gardien", "assignee", "référent de votre organisme"),
        ("direction", "assignee", "référent de votre organisme"),
        (None, "next_step_on", "passée"),
        ("far", "next_step_on", "un an au plus"),
    ],
)
def test_a_bad_assignment_is_refused_next_to_its_field(
    client, auth, world, who, field, message
):
    fact = world["fact"]
    today = now_local().date()
    fields = {"assignee": world["referent"].id, "next_step_on": ""}
    if field == "assignee":
        fields["assignee"] = world[who].id
    else:
        days = 400 if who == "far" else -1
        fields["next_step_on"] = (today + timedelta(days=days)).isoformat()
    auth.login(world["referent"].email)
    response = assign(client, fact, **fields)
    assert response.status_code == 422
    errors = (
        parse(response.text).select_one(f"#assign-{field}").find_next(class_="errors")
    )
    assert message in errors.get_text()
    db.session.refresh(fact)
    assert (fact.assignee_id, fact.next_step_on) == (None, None)
    assert events_of(fact) == []


@pytest.mark.parametrize(
    "who, expected", [("gardien", 403), ("direction", 403), ("outsider", 404)]
)
def test_only_the_bailleur_s_referents_take_facts(client, auth, world, who, expected):
    auth.login(world[who].email)
    response = assign(client, world["fact"], assignee=world[who].id)
    assert response.status_code == expected
    assert events_of(world["fact"]) == []


def test_my_facts_to_handle_lists_mine_late_first(client, auth, world):
    me, today = world["referent"], now_local().date()
    facts = {
        "later": dict(next_step_on=today + timedelta(days=5)),
        "soon": dict(next_step_on=today + timedelta(days=1)),
        "late": dict(next_step_on=today - timedelta(days=2)),
        "grave_forgotten": dict(gravity=4, created_at=utcnow() - timedelta(days=9)),
        "closed": dict(next_step_on=today - timedelta(days=9), status=Status.CLOS),
        "colleague_s": dict(assignee_id=world["colleague"].id),
    }
    made = {}
    for name, fields in facts.items():
        fact = make_report(me, world["other"], description=name)
        fact.assignee_id = me.id
        for key, value in fields.items():
            setattr(fact, key, value)
        made[name] = fact
    commit()
    auth.login(me.email)
    page = parse(client.get("/signalements/a-traiter").text)
    shown = [a.get_text(strip=True) for a in page.select("td.ref a")]
    names = {made[n].reference: n for n in made}
    order = [names[ref] for ref in shown]
    assert set(order) == {"later", "soon", "late", "grave_forgotten"}
    assert set(order[:2]) == {"late", "grave_forgotten"}  # late first
    assert order[2:] == ["soon", "later"]  # then by next step
    flagged = {
        names[r.select_one("td.ref a").get_text(strip=True)]
        for r in page.select("tr.is-late")
    }
    assert flagged == {"late", "grave_forgotten"}


def test_the_menu_offers_my_facts_to_referents_only(client, auth, world):
    auth.login(world["referent"].email)
    assert "Mes faits à traiter" in client.get("/signalements/").text
    auth.logout()
    auth.login(world["direction"].email)
    header = parse(client.get("/signalements/").text).select_one("header")
    assert "Mes faits à traiter" not in header.get_text()
