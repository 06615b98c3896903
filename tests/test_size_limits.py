"""Issue 17, point 4: pages do not grow with the patrimoine (field form, search).

A bailleur with thousands of résidences is built in bulk; the field form must stay
small and list at most its cap, and the résidence search must stay within the user's
perimeter and its own cap. Run on PostgreSQL too (ORFI_TEST_DATABASE_URL).
"""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from orfi.activity.models import Meeting, PartnerIntervention
from orfi.auth.models import Role, user_residence
from orfi.extensions import db
from orfi.patrimoine.models import Residence
from orfi.reports.residence_choices import (
    FILTER_RESIDENCES_MAX,
    FORM_RESIDENCES_MAX,
    SEARCH_RESULTS_MAX,
)
from tests.factories import (
    category,
    commit,
    make_batiment,
    make_organisation,
    make_residence,
    make_tmh_world,
    make_user,
)
from tests.helpers import parse

#: The field form of a 5,000-résidence bailleur stays under this weight.
FORM_MAX_BYTES = 120_000


def add_residences(organisation, count: int, *, prefix: str = "GEN") -> None:
    """Insert ``count`` résidences of ``organisation`` around Toulouse, in bulk."""
    rows = [
        {
            "organisation_id": organisation.id,
            "reference": f"{prefix}{n:06d}",
            "name": f"{prefix.title()} Résidence {n:06d}",
            "address": f"{n} avenue des Tests",
            "commune_insee": "31555",
            "commune_name": "Toulouse",
            "logements": 10,
            "latitude": 43.50 + (n % 100) * 0.002,
            "longitude": 1.35 + (n // 100) * 0.002,
        }
        for n in range(count)
    ]
    db.session.execute(sa.insert(Residence), rows)


@pytest.fixture
def big(app):
    """TMH with 5,000 more résidences, and another bailleur holding the same names."""
    world = make_tmh_world()
    category(world["organisation"], "AB01")
    add_residences(world["organisation"], 5_000)
    other = make_organisation(code="OPH", name="Autre bailleur")
    add_residences(other, 300)
    world["stranger"] = make_residence(other, name="Les Izards", reference="IZ-OPH")
    world["admin"] = make_user(world["organisation"], role=Role.ADMIN)
    commit()
    return world


def form_config(html: str) -> dict:
    return json.loads(parse(html).find(id="report-config").string)


def residence_options(html: str) -> list[str]:
    select = parse(html).find("select", id="residence")
    return [o["value"] for o in select.find_all("option") if o.get("value")]


def test_field_form_of_a_big_patrimoine_stays_small(client, auth, big):
    auth.login(big["referent"].email)
    page = client.get("/signalements/nouveau")
    assert page.status_code == 200
    assert len(page.data) < FORM_MAX_BYTES, len(page.data)
    options = residence_options(page.text)
    assert 0 < len(options) <= FORM_RESIDENCES_MAX
    config = form_config(page.text)
    assert len(config["residences"]) <= FORM_RESIDENCES_MAX
    assert config["truncated"] is True
    assert 'id="residence-search-input"' in page.text


def test_field_form_of_a_gardien_with_a_big_sector_stays_small(client, auth, big):
    organisation = big["organisation"]
    gardien = make_user(organisation, role=Role.GARDIEN)
    ids = db.session.scalars(
        sa.select(Residence.id).where(Residence.organisation_id == organisation.id)
    ).all()
    db.session.execute(
        sa.insert(user_residence),
        [{"user_id": gardien.id, "residence_id": i} for i in ids],
    )
    commit()
    auth.login(gardien.email)
    page = client.get("/signalements/nouveau")
    assert page.status_code == 200
    assert len(page.data) < FORM_MAX_BYTES
    assert len(residence_options(page.text)) <= FORM_RESIDENCES_MAX


def test_small_patrimoine_form_is_unchanged(client, auth, app):
    world = make_tmh_world()
    commit()
    auth.login(world["referent"].email)
    page = client.get("/signalements/nouveau")
    options = residence_options(page.text)
    assert sorted(options) == sorted(
        str(r.id) for r in (world["residence"], world["other"])
    )
    assert form_config(page.text)["truncated"] is False
    assert "residence-search-input" not in page.text


def search(client, **params):
    return client.get("/signalements/nouveau/residences", query_string=params)


def test_search_stays_within_the_perimeter_and_its_cap(client, auth, big):
    auth.login(big["referent"].email)
    found = search(client, q="Izards").get_json()
    ids = [item["id"] for item in found["items"]]
    assert ids == [big["residence"].id]  # never the other bailleur's « Les Izards »
    many = search(client, q="Résidence").get_json()
    assert len(many["items"]) == SEARCH_RESULTS_MAX and many["truncated"]
    assert all(i["id"] != big["stranger"].id for i in many["items"])
    assert search(client, q="IZ-OPH").get_json()["items"] == []


def test_search_of_a_gardien_stays_in_the_sector(client, auth, big):
    auth.login(big["gardien"].email)
    assert search(client, q="Résidence").get_json()["items"] == []
    assert search(client, q="Bagatelle").get_json()["items"] == []
    found = search(client, q="izards").get_json()["items"]
    assert [i["id"] for i in found] == [big["residence"].id]


def test_search_by_position_gives_the_nearest_of_the_perimeter(client, auth, big):
    batiment = make_batiment(big["residence"], reference="B1")
    commit()
    auth.login(big["referent"].email)
    found = search(client, latitude="43.6409", longitude="1.4327").get_json()
    assert found["items"][0]["id"] == big["residence"].id
    assert found["items"][0]["batiments"][0]["id"] == batiment.id
    assert len(found["items"]) == FORM_RESIDENCES_MAX
    assert all(i["id"] != big["stranger"].id for i in found["items"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "x" * 101}, "q"),
        ({"q": "a"}, "q"),
        ({}, "q"),
        ({"latitude": "NaN", "longitude": "1"}, "latitude"),
        ({"latitude": "1e400", "longitude": "1"}, "latitude"),
        ({"latitude": "43", "longitude": ""}, "latitude"),
        ({"q": "%_%", "latitude": "91", "longitude": "0"}, "latitude"),
    ],
)
def test_bad_search_is_a_400_naming_the_field(client, auth, big, params, field):
    auth.login(big["referent"].email)
    response = search(client, **params)
    assert response.status_code == 400
    assert field in response.get_json()["errors"]


def test_search_wildcards_are_literal(client, auth, big):
    auth.login(big["referent"].email)
    assert search(client, q="%%").get_json()["items"] == []
    assert search(client, q="__").get_json()["items"] == []


def test_form_sent_back_keeps_a_searched_residence(client, auth, big):
    """A résidence found by the search (not among the page's few) is kept on errors."""
    auth.login(big["referent"].email)
    far = db.session.scalar(
        sa.select(Residence).where(Residence.reference == "GEN004999")
    )
    page = client.get("/signalements/nouveau")
    assert str(far.id) not in residence_options(page.text)
    response = client.post(
        "/signalements/nouveau",
        data={"residence": str(far.id), "category": "", "occurred_at": ""},
    )
    assert response.status_code == 422
    assert str(far.id) in residence_options(response.text)
    assert len(residence_options(response.text)) <= FORM_RESIDENCES_MAX + 1


def test_residences_page_is_paged_and_searched(client, auth, big):
    auth.login(big["referent"].email)
    first = client.get("/patrimoine/residences")
    assert first.status_code == 200
    assert len(first.data) < FORM_MAX_BYTES
    rows = parse(first.text).select("tbody tr")
    assert len(rows) == 50
    assert "Suivantes" in first.text
    assert client.get("/patrimoine/residences?page=100").status_code == 200
    assert client.get(f"/patrimoine/residences?page={2**70}").status_code == 200
    found = client.get("/patrimoine/residences", query_string={"q": "izards"})
    names = [r.th.get_text() for r in parse(found.text).select("tbody tr")]
    assert names == [big["residence"].label]  # never the other bailleur's


def test_facts_filter_lists_a_bounded_few_and_keeps_the_asked_one(client, auth, big):
    auth.login(big["referent"].email)
    page = client.get("/signalements/")
    assert page.status_code == 200
    assert len(page.data) < FORM_MAX_BYTES
    select = parse(page.text).find("select", id="residence")
    assert len(select.find_all("option")) <= FILTER_RESIDENCES_MAX + 1
    assert "Liste limitée" in page.text
    far = db.session.scalar(
        sa.select(Residence).where(Residence.reference == "GEN004999")
    )
    chosen = client.get(f"/signalements/?residence={far.id}")
    selected = parse(chosen.text).select_one("#residence option[selected]")
    assert selected["value"] == str(far.id)
    stranger = client.get(f"/signalements/?residence={big['stranger'].id}")
    assert str(big["stranger"].id) not in residence_options(stranger.text)


def test_form_sent_back_with_an_absurd_residence_id_is_no_500(client, auth, big):
    auth.login(big["referent"].email)
    for value in (str(2**70), "-1", "0", str(big["stranger"].id)):
        response = client.post(
            "/signalements/nouveau",
            data={"residence": value, "category": "", "occurred_at": ""},
        )
        assert response.status_code == 422, value
        assert value not in residence_options(response.text)


# -- Pages that listed the whole patrimoine (statistics, map, activity, users) -----


def _growth(client, auth, urls, *, login=None, setup=None):
    """Bytes of each page at 200 then 5,000 résidences: {url: (small, big)}."""
    world = make_tmh_world()
    category(world["organisation"], "AB01")
    admin = make_user(world["organisation"], role=Role.ADMIN)
    add_residences(world["organisation"], 200)
    commit()
    context = setup(world) if setup else {}
    auth.login(
        (login or admin).email if login != "referent" else world["referent"].email
    )
    small = {
        url.format(**context): len(client.get(url.format(**context)).data)
        for url in urls
    }
    add_residences(world["organisation"], 4_800, prefix="MORE")
    commit()
    sizes = {}
    for url in small:
        response = client.get(url)
        assert response.status_code == 200, url
        sizes[url] = (small[url], len(response.data))
    return sizes


PAGES_BOUND = 1.2


def test_stats_and_map_filters_do_not_grow(client, auth, app):
    sizes = _growth(client, auth, ["/statistiques/", "/carte/"], login="referent")
    for url, (small, big_size) in sizes.items():
        assert big_size < small * PAGES_BOUND, (url, small, big_size)
        assert big_size < 250_000, (url, big_size)


@pytest.mark.parametrize("url", ["/statistiques/", "/carte/"])
def test_stats_and_map_filters_keep_the_chosen_residence(client, auth, big, url):
    auth.login(big["referent"].email)
    page = client.get(url)
    select = parse(page.text).find("select", id="f-residence")
    assert len(select.find_all("option")) <= FILTER_RESIDENCES_MAX + 1
    assert "Liste limitée" in page.text
    far = db.session.scalar(
        sa.select(Residence).where(Residence.reference == "GEN004999")
    )
    chosen = client.get(url, query_string={"residence": far.id})
    assert chosen.status_code == 200
    selected = parse(chosen.text).select_one("#f-residence option[selected]")
    assert selected["value"] == str(far.id)
    stranger = client.get(url, query_string={"residence": big["stranger"].id})
    options = parse(stranger.text).select("#f-residence option")
    assert str(big["stranger"].id) not in [o["value"] for o in options]
    # The résidence's page leads to its statistics and map.
    fiche = client.get(f"/patrimoine/residences/{far.id}")
    assert f"residence={far.id}" in fiche.text


def _sector_gardien(world, count: int, *, prefix: str = "MORE"):
    """A gardien whose sector is the last ``count`` résidences by name (beyond caps)."""
    organisation = world["organisation"]
    gardien = make_user(organisation, role=Role.GARDIEN)
    ids = db.session.scalars(
        sa.select(Residence.id)
        .where(Residence.organisation_id == organisation.id)
        .order_by(Residence.name.desc())
        .limit(count)
    ).all()
    db.session.execute(
        sa.insert(user_residence),
        [{"user_id": gardien.id, "residence_id": i} for i in ids],
    )
    commit()
    return gardien, set(ids)


def page_form_data(html: str, selector: str = "form.admin-form") -> dict[str, list]:
    """What a browser would send for the page's form, as it stands (no edits)."""
    form = parse(html).select_one(selector)
    data: dict[str, list[str]] = {}
    for tag in form.find_all(["input", "select", "textarea"]):
        name = tag.get("name")
        if not name or tag.has_attr("disabled"):
            continue
        if tag.name == "select":
            values = [o["value"] for o in tag.find_all("option", selected=True)]
        elif tag.get("type") in ("checkbox", "radio"):
            values = [tag.get("value", "on")] if tag.has_attr("checked") else []
        elif tag.get("type") in ("submit", "button"):
            continue
        else:
            values = [tag.get("value", "") if tag.name == "input" else tag.get_text()]
        data.setdefault(name, []).extend(values)
    return data


def test_user_forms_do_not_grow(client, auth, app):
    def setup(world):
        return {"id": world["gardien"].id}

    sizes = _growth(
        client,
        auth,
        [
            "/admin/utilisateurs/nouveau",
            "/admin/utilisateurs/{id}",
            "/admin/utilisateurs",
        ],
        setup=setup,
    )
    for url, (small, big_size) in sizes.items():
        assert big_size < small * PAGES_BOUND, (url, small, big_size)
        assert big_size < 250_000, (url, big_size)


def test_saving_a_gardien_with_a_big_sector_keeps_it_all(client, auth, big):
    gardien, sector = _sector_gardien(big, 300)
    auth.login(big["admin"].email)
    page = client.get(f"/admin/utilisateurs/{gardien.id}")
    assert page.status_code == 200
    assert "Liste limitée" in page.text
    data = page_form_data(page.text)
    assert {int(i) for i in data["sector"]} == sector
    data["name"] = ["Gaston Renommé"]
    response = client.post(f"/admin/utilisateurs/{gardien.id}", data=data)
    assert response.status_code == 302, response.text[:2000]
    db.session.expire_all()
    assert {r.id for r in db.session.get(type(gardien), gardien.id).sector} == sector


def test_a_residence_beyond_the_cap_is_added_to_a_sector(client, auth, big):
    gardien, sector = _sector_gardien(big, 3)
    auth.login(big["admin"].email)
    found = client.get("/admin/residences", query_string={"q": "GEN004998"}).json
    assert len(found["items"]) == 1
    assert "GEN004998" in found["items"][0]["label"]
    data = page_form_data(client.get(f"/admin/utilisateurs/{gardien.id}").text)
    data["sector"].append(str(found["items"][0]["id"]))
    response = client.post(f"/admin/utilisateurs/{gardien.id}", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    saved = {r.id for r in db.session.get(type(gardien), gardien.id).sector}
    assert saved == sector | {found["items"][0]["id"]}


def test_sector_search_stays_in_the_organisation_and_its_cap(client, auth, big):
    auth.login(big["admin"].email)
    found = client.get("/admin/residences", query_string={"q": "résidence"}).json
    assert len(found["items"]) == SEARCH_RESULTS_MAX
    assert found["truncated"] is True
    izards = client.get("/admin/residences", query_string={"q": "izards"}).json
    assert [i["id"] for i in izards["items"]] == [big["residence"].id]
    wildcard = client.get("/admin/residences", query_string={"q": "%_"}).json
    assert wildcard["items"] == []


@pytest.mark.parametrize("q", ["", "a", "x" * 101])
def test_bad_sector_search_is_a_400_naming_the_field(client, auth, big, q):
    auth.login(big["admin"].email)
    response = client.get("/admin/residences", query_string={"q": q})
    assert response.status_code == 400
    assert "q" in response.json["errors"]


def test_sector_search_is_for_administrators(client, auth, big):
    auth.login(big["referent"].email)
    assert client.get("/admin/residences?q=izards").status_code == 403


def test_users_page_counts_sectors_without_loading_them(client, auth, big, app):
    _sector_gardien(big, 300)
    auth.login(big["admin"].email)
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        page = client.get("/admin/utilisateurs")
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert page.status_code == 200
    assert "300 résidences" in page.text
    assert not [s for s in statements if "residence.reference" in s], statements


ACTIVITY_FORMS = ["/activite/reunions/nouvelle", "/activite/interventions/nouvelle"]


def test_activity_forms_do_not_grow(client, auth, app):
    sizes = _growth(client, auth, ACTIVITY_FORMS, login="referent")
    for url, (small, big_size) in sizes.items():
        assert big_size < small * PAGES_BOUND, (url, small, big_size)
        assert big_size < 250_000, (url, big_size)


def _far(reference: str = "GEN004999") -> Residence:
    return db.session.scalar(
        sa.select(Residence).where(Residence.reference == reference)
    )


def test_a_meeting_beyond_the_cap_is_kept_when_saved_through_the_page(
    client, auth, big
):
    auth.login(big["referent"].email)
    page = client.get("/activite/reunions/nouvelle")
    assert "Liste limitée" in page.text
    assert "data-search-url" in page.text
    boxes = parse(page.text).select("#residences input[type=checkbox]")
    assert 0 < len(boxes) <= FILTER_RESIDENCES_MAX
    far, farther = _far(), _far("GEN004998")
    data = page_form_data(page.text, "form.stack")
    data.update(
        kind=["clspd"],
        subject=["Halls occupés"],
        partners=["police_nationale"],
        residences=[str(far.id), str(farther.id)],
    )
    response = client.post("/activite/reunions/nouvelle", data=data)
    assert response.status_code == 302, response.text[:3000]
    meeting = db.session.scalar(sa.select(Meeting))
    url = f"/activite/reunions/{meeting.id}"
    edit = client.get(url)
    chosen = parse(edit.text).select("#residences input[checked]")
    assert {o["value"] for o in chosen} == {str(far.id), str(farther.id)}
    data = page_form_data(edit.text, "form.stack")
    data["subject"] = ["Halls occupés, suite"]
    assert client.post(url, data=data).status_code == 302
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert {r.id for r in meeting.residences} == {far.id, farther.id}


def test_an_intervention_beyond_the_cap_is_kept_and_a_stranger_refused(
    client, auth, big
):
    auth.login(big["referent"].email)
    far = _far()
    data = page_form_data(client.get(ACTIVITY_FORMS[1]).text, "form.stack")
    data.update(partner=["gendarmerie"], subject=["Patrouilles"])
    stranger = client.post(
        ACTIVITY_FORMS[1], data={**data, "residence": [str(big["stranger"].id)]}
    )
    assert stranger.status_code == 422
    assert str(big["stranger"].id) not in [
        o["value"] for o in parse(stranger.text).select("#residence option")
    ]
    assert db.session.scalar(sa.select(sa.func.count(PartnerIntervention.id))) == 0
    for value in (str(2**70), "-1", "abc"):
        response = client.post(ACTIVITY_FORMS[1], data={**data, "residence": [value]})
        assert response.status_code == 422, value
    response = client.post(ACTIVITY_FORMS[1], data={**data, "residence": [str(far.id)]})
    assert response.status_code == 302
    intervention = db.session.scalar(sa.select(PartnerIntervention))
    edit = client.get(f"/activite/interventions/{intervention.id}")
    selected = parse(edit.text).select_one("#residence option[selected]")
    assert selected["value"] == str(far.id)


def test_activity_search_stays_in_the_perimeter(client, auth, big):
    auth.login(big["referent"].email)
    found = client.get("/activite/residences", query_string={"q": "GEN004999"}).json
    assert [i["id"] for i in found["items"]] == [_far().id]
    assert found["items"][0]["group"] == big["organisation"].name
    izards = client.get("/activite/residences", query_string={"q": "izards"}).json
    assert [i["id"] for i in izards["items"]] == [big["residence"].id]
    many = client.get("/activite/residences", query_string={"q": "résidence"}).json
    assert len(many["items"]) == SEARCH_RESULTS_MAX and many["truncated"] is True
    bad = client.get("/activite/residences", query_string={"q": "a"})
    assert bad.status_code == 400 and "q" in bad.json["errors"]


# -- In Chromium: the sector search of the user form ------------------------------

SECTOR_CODE = "SEC"
SECTOR_ADMIN = "admin@secteur.exemple.fr"
SECTOR_GARDIEN = "gardien@secteur.exemple.fr"


def _sector_bailleur(server) -> tuple[int, set[int], int]:
    """Add (once) a bailleur of 150 résidences; its gardien holds the last three."""
    from orfi.patrimoine.models import Organisation

    with server.app.app_context():
        organisation = db.session.scalar(
            sa.select(Organisation).where(Organisation.code == SECTOR_CODE)
        )
        if organisation is None:
            organisation = make_organisation(code=SECTOR_CODE, name="Bailleur secteur")
            residences = [
                make_residence(
                    organisation, reference=f"SEC-{n:03d}", name=f"Parc {n:03d}"
                )
                for n in range(150)
            ]
            make_user(
                organisation,
                role=Role.GARDIEN,
                email=SECTOR_GARDIEN,
                sector=residences[-3:],
            )
            make_user(organisation, role=Role.ADMIN, email=SECTOR_ADMIN)
            commit()
        gardien = db.session.scalar(
            sa.select(user_residence.c.user_id)
            .join(Residence, Residence.id == user_residence.c.residence_id)
            .where(Residence.organisation_id == organisation.id)
        )
        sector = set(
            db.session.scalars(
                sa.select(user_residence.c.residence_id).where(
                    user_residence.c.user_id == gardien
                )
            )
        )
        wanted = db.session.scalar(
            sa.select(Residence.id).where(Residence.reference == "SEC-140")
        )
        db.session.remove()
    return gardien, sector, wanted


@pytest.mark.browser
@pytest.mark.parametrize("width", [360, 1366])
def test_sector_search_in_chromium_adds_a_residence_and_keeps_the_sector(
    browser_session, width
):
    server = browser_session.server
    gardien, sector, wanted = _sector_bailleur(server)
    page = browser_session.new_page(viewport={"width": width, "height": 800})
    browser_session.login(page, SECTOR_ADMIN)
    page.goto(f"/admin/utilisateurs/{gardien}")
    boxes = "#sector input[type=checkbox]"
    assert page.locator(boxes).count() <= FILTER_RESIDENCES_MAX + len(sector)
    assert page.locator(f"{boxes}:checked").count() == len(sector)
    assert page.locator(f"#sector input[value='{wanted}']").count() == 0
    # By keyboard: type, Enter (searches, never sends the form), then tick it.
    page.locator("#sector-filter").focus()
    page.keyboard.type("parc 140")
    page.keyboard.press("Enter")
    added = page.locator(f"#sector input[value='{wanted}']")
    added.wait_for()
    assert "/admin/utilisateurs/" in page.url
    added.check()
    browser_session.screenshot(page, f"user-sector-search-{width}", full_page=False)
    if width == 360:
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_role("button", name=re.compile("Enregistrer")).click()
    page.wait_for_url(re.compile(r"/admin/utilisateurs$"))
    with server.app.app_context():
        saved = set(
            db.session.scalars(
                sa.select(user_residence.c.residence_id).where(
                    user_residence.c.user_id == gardien
                )
            )
        )
        db.session.remove()
    assert saved == sector | {wanted}
    # Back to what it was, for the other width.
    with server.app.app_context():
        db.session.execute(
            sa.delete(user_residence).where(
                user_residence.c.user_id == gardien,
                user_residence.c.residence_id == wanted,
            )
        )
        db.session.commit()
        db.session.remove()
    browser_session.assert_clean()
