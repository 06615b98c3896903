"""The map page, its folium scaffold and its data: perimeter, sizes, escaping."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import urlencode

import h3
import pytest

from orfi.auth.models import Role
from orfi.maps import services as map_services
from orfi.reports.models import Lieu
from tests.factories import (
    commit,
    insert_fact,
    make_organisation,
    make_residence,
    make_user,
)
from tests.helpers import PERIOD, build_stats_world, parse, script_tags

VIEW = {"z": "11", "bbox": "1.38,43.60,1.50,43.68"}
ALL_LAYERS = "hex,gi,heat,residences,facts"


@pytest.fixture
def world(app):
    """Two bailleurs, agences, résidences and facts (see tests/helpers.py)."""
    return build_stats_world()


def data_url(**args) -> str:
    return "/carte/donnees.json?" + urlencode(
        {**PERIOD, **VIEW, "layers": ALL_LAYERS, **args}
    )


def page_url(**args) -> str:
    return "/carte/?" + urlencode({**PERIOD, **args})


@pytest.mark.parametrize(
    ("role", "status"),
    [("referent", 200), ("direction", 200), ("admin", 200), ("chef", 200),
     ("gardien", 403), ("federation", 403)],
)  # fmt: skip
def test_who_may_open_the_map(client, auth, world, role, status):
    auth.login(world[role].email)
    assert client.get(page_url()).status_code == status
    assert client.get("/carte/carte.js").status_code == status
    assert client.get(data_url()).status_code == status


def test_the_page_embeds_the_map_without_inline_code_or_outside_host(
    client, auth, world
):
    auth.login(world["referent"].email)
    page = client.get(page_url()).text
    assert 'id="map_orfi"' in page
    for tag in script_tags(page):
        assert tag.get("src") or tag.get("type") == "application/json", tag
    document = parse(page)
    sources = [
        element.get("src") or element.get("href")
        for element in document.find_all(src=True) + document.find_all(href=True)
    ]
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]
    for needed in (
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
        "/static/vendor/leaflet.heat/leaflet-heat.js",
        "/static/vendor/h3-js/h3-js.umd.js",
        "/carte/carte.js",
        "/static/js/map-page.js",
    ):
        assert needed in sources
    config = json.loads(document.find(id="map-config").string)
    assert config["dataUrl"].startswith("/carte/donnees.json?date_from=2026-03-01")
    assert config["detailUrl"] == f"/signalements/{config['placeholder']}"
    assert config["tiles"] is False
    # Few résidences: the page carries their layer, the data requests skip it.
    rows = {row[1]: row for row in config["residences"]["rows"]}
    assert rows["Les Izards"][6] == 3 and rows["Borderouge"][6] == 1
    # The legend says in words what a hot spot is, and the test's level.
    assert "nettement plus de faits que ses logements ne le laissent attendre" in page
    assert "au plus 5 % des résidences signalées le seraient par hasard" in page
    assert "Gi*" not in page and "H3" not in page


def test_the_page_carries_what_the_place_search_needs_and_no_more(client, auth, world):
    """« Trouver une résidence » searches the rows the page carries: each gets its
    address and commune from the patrimoine; another bailleur's are not there."""
    auth.login(world["referent"].email)
    document = parse(client.get(page_url()).text)
    field = document.find(id="place-input")
    assert field["role"] == "combobox" and field["aria-controls"] == "place-options"
    assert document.find("label", attrs={"for": "place-input"}).get_text(strip=True)
    rows = json.loads(document.find(id="map-config").string)["residences"]["rows"]
    by_name = {row[1]: row for row in rows}
    assert set(by_name) == {"Les Izards", "Borderouge"}  # not Altéal's Bagatelle
    for key in ("izards", "borderouge"):
        residence = world[key]
        assert residence.address and residence.commune_name
        row = by_name[residence.name]
        assert row[2] == residence.reference
        assert row[11:] == [residence.address, residence.commune_name]


def test_the_page_ranks_hot_residences_with_their_change(client, auth, world):
    auth.login(world["referent"].email)
    page = client.get(page_url()).text
    ranking = page[page.index('id="hot-residences"') :]
    assert ranking.index("Les Izards") < ranking.index("Borderouge")
    assert "3 faits · 1,5 pour 100 logements" in ranking
    assert "+2 (+200" in ranking  # 1 fact the previous period
    assert ">4</strong> faits du 01/03/2026 au 31/03/2026 (+100" in page


def test_scaffold_is_a_cacheable_script_of_the_perimeter(client, auth, world):
    auth.login(world["referent"].email)
    response = client.get("/carte/carte.js")
    assert response.mimetype == "text/javascript"
    script = response.text
    assert 'window.orfiMaps["orfi"]' in script
    assert "QP031011" in script  # Les Izards - La Vache, around the patrimoine
    assert "http" not in script
    assert "fitBounds" in script
    etag = response.headers["ETag"]
    again = client.get("/carte/carte.js", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_data_counts_each_counted_fact_once(client, auth, world):
    auth.login(world["referent"].email)
    data = client.get(data_url()).get_json()
    assert data["resolution"] == 7
    assert sum(data["hex"]["counts"]) == 4
    assert all(
        len(cell) == 15 and h3.is_valid_cell(cell) for cell in data["hex"]["cells"]
    )
    assert len(data["hex"]["classes"]) == len(data["hex"]["cells"])
    rows = {row[1]: row for row in data["residences"]["rows"]}
    assert rows["Les Izards"][6] == 3 and rows["Les Izards"][7] == 1.5
    assert rows["Les Izards"][9] == "QP031011" and rows["Les Izards"][10] == 1
    assert rows["Borderouge"][6] == 1 and rows["Borderouge"][9] is None
    assert "Bagatelle" not in rows
    assert data["facts"]["count"] == 4
    assert len(data["facts"]["rows"]) == 4
    assert data["gi"]["fdr"] == 0.05 and data["gi"]["unit"] == "residence"
    # Les Izards and Borderouge have logements; too few to test anything.
    assert data["gi"]["tested"] == 0 and data["gi"]["rows"] == []
    assert sum(point[2] for point in data["heat"]["points"]) == 4


def test_zoom_chooses_the_resolution(client, auth, world):
    auth.login(world["referent"].email)
    for zoom, resolution in ((8, 5), (11, 7), (13, 8), (16, 9)):
        data = client.get(data_url(z=zoom, layers="hex")).get_json()
        assert data["hex"]["resolution"] == resolution


def test_facts_come_one_by_one_only_when_few(client, auth, world, monkeypatch):
    auth.login(world["referent"].email)
    facts = client.get(data_url(layers="facts")).get_json()["facts"]
    newest = facts["rows"][0]
    assert newest[2].startswith("T-") and newest[4] == "31/03/2026 23:59"
    assert newest[3].startswith("AP01 · ")
    monkeypatch.setattr(map_services, "MAX_POINTS", 3)
    crowded = client.get(data_url(layers="facts")).get_json()["facts"]
    assert crowded == {"count": 4, "limit": 3, "rows": None}
    # Zoomed on Borderouge alone: one fact, drawn.
    lat, lon = world["borderouge"].latitude, world["borderouge"].longitude
    bbox = f"{lon - 0.002},{lat - 0.001},{lon + 0.002},{lat + 0.001}"
    near = client.get(data_url(layers="facts", z=17, bbox=bbox)).get_json()["facts"]
    assert near["count"] == 1 and len(near["rows"]) == 1


def test_filters_apply_to_the_data(client, auth, world):
    auth.login(world["referent"].email)
    data = client.get(data_url(nature="AB", layers="hex,residences")).get_json()
    assert sum(data["hex"]["counts"]) == 2
    data = client.get(data_url(residence=world["borderouge"].id)).get_json()
    assert sum(data["hex"]["counts"]) == 1
    assert [row[1] for row in data["residences"]["rows"]] == ["Borderouge"]


def test_chef_d_agence_maps_their_agence_only(client, auth, world):
    auth.login(world["chef"].email)
    data = client.get(data_url()).get_json()
    assert sum(data["hex"]["counts"]) == 3
    assert [row[1] for row in data["residences"]["rows"]] == ["Les Izards"]
    page = client.get(page_url()).text
    assert "Borderouge" not in page


def test_invalid_view_or_filters_answer_400(client, auth, world):
    auth.login(world["referent"].email)
    assert client.get(data_url(bbox="1,2,3")).status_code == 400
    assert client.get(data_url(bbox="3,43,1,44")).status_code == 400
    assert client.get(data_url(z="nan")).status_code == 400
    response = client.get(data_url(nature="XX"))
    assert response.status_code == 400
    assert "nature" in response.get_json()["fields"]
    assert client.get(data_url(layers="unknown")).get_json().keys() == {
        "zoom",
        "resolution",
    }


def test_names_travel_as_json_data_and_are_escaped_in_the_page(client, auth, world):
    world["izards"].name = '<img src=x onerror="alert(1)">'
    commit()
    auth.login(world["referent"].email)
    page = client.get(page_url()).text
    assert "<img src=x" not in page
    data = client.get(data_url(layers="residences")).get_json()
    assert '<img src=x onerror="alert(1)">' in [
        r[1] for r in data["residences"]["rows"]
    ]


def test_page_and_scaffold_do_not_grow_with_the_number_of_facts(client, auth, app):
    """Ten times more facts: the same page and scaffold, data bounded by cells."""
    organisation = make_organisation(code="GRO", name="Croissance")
    residences = [
        make_residence(
            organisation, name=f"Résidence {i}", logements=100,
            latitude=43.60 + 0.004 * i, longitude=1.44 + 0.003 * i,
        )
        for i in range(5)
    ]  # fmt: skip
    referent = make_user(organisation, role=Role.REFERENT)
    commit()
    auth.login(referent.email)
    start = datetime(2026, 3, 1, 6, 0)
    sizes = []
    inserted = 0
    for target in (30, 300):
        for i in range(inserted, target):
            residence = residences[i % 5]
            insert_fact(
                referent, residence, start + timedelta(hours=2 * i),
                latitude=residence.latitude + 0.0003 * ((i * 7) % 5 - 2),
                longitude=residence.longitude + 0.0003 * ((i * 3) % 5 - 2),
            )  # fmt: skip
        inserted = target
        commit()
        page = client.get(page_url())
        script = client.get("/carte/carte.js")
        data = client.get(data_url(layers="hex,gi,residences"))
        sizes.append((len(page.data), len(script.data), len(data.data)))
    (page_small, script_small, data_small), (page_big, script_big, data_big) = sizes
    assert script_small == script_big
    assert abs(page_big - page_small) < 200  # only the figures' digits change
    assert data_big < data_small * 1.5  # same cells, bigger counts


def test_a_perimeter_without_residences_still_opens(client, auth, app):
    organisation = make_organisation(code="VIDE", name="Sans patrimoine")
    referent = make_user(organisation, role=Role.REFERENT)
    commit()
    auth.login(referent.email)
    assert client.get(page_url()).status_code == 200
    script = client.get("/carte/carte.js").text
    assert "fitBounds" not in script and "orfiMaps" in script
    data = client.get(data_url()).get_json()
    assert data["hex"]["cells"] == [] and data["gi"]["tested"] == 0
    assert data["gi"]["rows"] == []
    assert data["residences"]["rows"] == [] and data["facts"]["count"] == 0


def test_a_residence_with_40_facts_in_three_weeks_among_quiet_ones_is_a_hot_spot(
    client, auth, app
):
    """Twelve résidences of 80–300 logements, a fact or two each over the year; one
    gets 40 facts in three weeks of evenings in its hall: it alone is flagged, and its
    popup's data name its categories and link to its facts for the period."""
    organisation = make_organisation(code="CHAUD", name="Bailleur chaud")
    referent = make_user(organisation, role=Role.REFERENT)
    residences = [
        make_residence(
            organisation,
            name=f"Résidence {i}",
            latitude=43.56 + 0.004 * i,
            longitude=1.40 + 0.003 * (i % 4),
            logements=80 + 20 * i,
        )
        for i in range(12)
    ]
    start = datetime(2026, 1, 5, 12)
    for i, residence in enumerate(residences):
        for k in range(1 + i % 2):
            insert_fact(referent, residence, start + timedelta(days=29 * i + 90 * k))
    hot = residences[4]
    for k in range(40):
        code = "TT01" if k % 4 else "AB01"
        when = datetime(2026, 6, 1, 19) + timedelta(days=k % 21, minutes=7 * k)
        insert_fact(referent, hot, when, code, lieu=Lieu.HALL)
    commit()
    auth.login(referent.email)
    url = "/carte/donnees.json?" + urlencode(
        {"date_from": "2026-01-01", "date_to": "2026-12-31", "layers": "gi"}
    )
    data = client.get(url).get_json()
    assert data["gi"]["tested"] == 12
    assert data["gi"]["hot_total"] == 1 and data["gi"]["cold_total"] == 0
    (row,) = data["gi"]["rows"]
    assert row["id"] == hot.id and row["hot"] and row["count"] == 41
    assert row["logements"] == 160 and row["expected"] < 5
    assert [n for _, n in row["categories"]] == [30, 11]
    assert row["categories"][0][0].startswith("TT01 · ")
    assert row["list_url"] == (
        f"/signalements/?date_from=2026-01-01&date_to=2026-12-31&residence={hot.id}"
    )
    listed = parse(client.get(row["list_url"]).text)
    assert listed.find("p", class_="count").get_text() == "41 faits"
    # The page carries the same hot résidences (the view does not change them).
    page = parse(client.get("/carte/?date_from=2026-01-01&date_to=2026-12-31").text)
    config = json.loads(page.find(id="map-config").string)
    assert config["hotspots"] == data["gi"]


def test_a_sector_popup_names_its_categories_and_lists_its_facts(client, auth, world):
    """A density hexagon's sector: the facts the layer counted there, by category,
    and the facts list narrowed to the same sector (one range of h3_r9); the list
    shows the duplicate too (marked), which the map does not count."""
    auth.login(world["referent"].email)
    data = client.get(data_url(z=16, layers="hex")).get_json()
    izards = h3.latlng_to_cell(43.6409, 1.4327, 9)
    assert izards in data["hex"]["cells"]
    for cell, count in zip(data["hex"]["cells"], data["hex"]["counts"], strict=True):
        sector = client.get(
            "/carte/secteur.json?" + urlencode({**PERIOD, "secteur": cell})
        ).get_json()
        assert sector["count"] == count
        assert sum(n for _, n in sector["categories"]) == count
        assert all(" · " in label for label, _ in sector["categories"])
        assert f"secteur={cell}" in sector["list_url"]
        listed = parse(client.get(sector["list_url"]).text)
        shown = count + (cell == izards)
        expected = f"{shown} fait{'s' if shown > 1 else ''}"
        assert listed.find("p", class_="count").get_text() == expected
    # A coarser sector holds the finer ones.
    coarse = client.get(data_url(z=11, layers="hex")).get_json()["hex"]
    assert sum(coarse["counts"]) == 4
    for cell in coarse["cells"]:
        sector = client.get(
            "/carte/secteur.json?" + urlencode({**PERIOD, "secteur": cell})
        ).get_json()
        assert sector["count"] == coarse["counts"][coarse["cells"].index(cell)]


@pytest.mark.parametrize("bad", ["", "zz", "-5", "f" * 40, "8f39601aeffffff"])
def test_a_bad_sector_is_a_json_error_naming_the_field(client, auth, world, bad):
    auth.login(world["referent"].email)
    response = client.get("/carte/secteur.json?" + urlencode({"secteur": bad}))
    assert response.status_code == 400
    assert "secteur" in response.get_json()["fields"]
    # The facts list says it next to the filters, and still opens.
    page = client.get("/signalements/?" + urlencode({"secteur": bad or " "}))
    assert page.status_code == 200
    if bad.strip():
        assert "Secteur de la carte invalide." in page.text
