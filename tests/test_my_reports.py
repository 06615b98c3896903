"""« Mes signalements » (issue 12, point 10): a gardien filters their own facts by
status, category and period with the facts list's filters, and sees nobody else's."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

import pytest

from orfi.database import utcnow
from orfi.reports.models import Status
from tests.factories import commit, make_organisation, make_report, make_user
from tests.helpers import parse


@pytest.fixture
def facts(app):
    """A gardien's three facts (old AB01, recent TT01, recent closed AB01) and a
    colleague's recent TT01."""
    organisation = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    gardien = make_user(organisation)
    colleague = make_user(organisation)
    old = make_report(gardien, occurred_at=utcnow() - timedelta(days=40))
    recent = make_report(gardien, category_code="TT01")
    closed = make_report(gardien)
    closed.status = Status.CLOS
    colleague.sector.append(gardien.sector[0])
    other = make_report(colleague, category_code="TT01")
    commit()
    return gardien, {"old": old, "recent": recent, "closed": closed, "other": other}


def filter_form(html: str):
    """The page's filters form (GET), or None."""
    return parse(html).find("form", attrs={"aria-label": "Filtres"})


def option_value(form, name: str, text: str) -> str:
    select = form.find("select", attrs={"name": name})
    return next(o["value"] for o in select.find_all("option") if text in o.text)


def listed(client, query: dict, references: set[str]) -> set[str]:
    """Which of ``references`` « Mes signalements » lists with the filters ``query``."""
    html = client.get("/signalements/mes?" + urlencode(query)).text
    return {reference for reference in references if reference in html}


def test_a_gardien_filters_their_facts_by_status_category_and_period(
    client, auth, facts
):
    gardien, reports = facts
    every = {r.reference for r in reports.values()}
    auth.login(gardien.email)
    page = client.get("/signalements/mes")
    form = filter_form(page.text)
    assert form is not None and form.get("method") == "get"
    names = {field["name"] for field in form.find_all(["input", "select"])}
    assert {"status", "category", "date_from", "date_to"} <= names

    mine = {reports[k].reference for k in ("old", "recent", "closed")}
    assert listed(client, {}, every) == mine
    closed = option_value(form, "status", "Clos")
    assert listed(client, {"status": closed}, every) == {reports["closed"].reference}
    tt01 = option_value(form, "category", "TT01")
    assert listed(client, {"category": tt01}, every) == {reports["recent"].reference}
    week = (date.today() - timedelta(days=7)).isoformat()
    assert listed(client, {"date_from": week}, every) == mine - {
        reports["old"].reference
    }
