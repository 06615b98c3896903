"""orfi.geo indicators, QPV outlines and the folium scaffold, without Flask or a DB."""

from __future__ import annotations

import math
import re

import folium
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from orfi import ROOT
from orfi.geo import basemap, indicators
from orfi.geo.qpv import qpv_outlines

QPV_FILE = str(ROOT / "orfi" / "data" / "qpv_occitanie_2015.geojson")
TOULOUSE_BOUNDS = (1.35, 43.55, 1.50, 43.66)


def residences() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "name": ["Izards", "Trois Cocus", "Borderouge", "Sans logement"],
            "logements": [200, 400, 100, 0],
            "qpv_code": ["QP031006", "QP031006", "", ""],
        }
    )


def test_rates_per_100_logements_by_hand():
    rates = indicators.rate_per_100([3, 10, 0, 5], [200, 400, 100, 0])
    assert rates[:3].tolist() == [1.5, 2.5, 0.0]
    assert math.isnan(rates[3])


def test_residence_table_counts_rates_and_change():
    current = pd.Series({1: 3, 2: 10, 4: 5})
    previous = pd.Series({1: 6, 2: 8, 3: 0})
    table = indicators.residence_table(residences(), current, previous)
    assert table.loc[1, "count"] == 3 and table.loc[3, "count"] == 0
    assert table.loc[1, "rate"] == 1.5
    assert table.loc[2, "rate"] == 2.5
    assert math.isnan(table.loc[4, "rate"])
    assert table.loc[1, "change"] == -3 and table.loc[1, "change_pct"] == -50.0
    assert table.loc[2, "change_pct"] == 25.0
    assert math.isnan(table.loc[4, "change_pct"])  # from 0: no percentage
    assert table["in_qpv"].tolist() == [True, True, False, False]


def test_ranking_by_facts_then_rate():
    current = pd.Series({1: 10, 2: 10, 3: 4})
    table = indicators.residence_table(residences(), current)
    ranked = indicators.rank_residences(table, top=2)
    # Same count: Izards (5 per 100) before Trois Cocus (2.5 per 100).
    assert ranked["id"].tolist() == [1, 2]
    assert ranked["rank"].tolist() == [1, 2]
    assert indicators.rank_residences(table, top=10)["id"].tolist() == [1, 2, 3]


def test_qpv_versus_outside_by_hand():
    current = pd.Series({1: 3, 2: 10, 3: 7, 4: 5})
    qpv = indicators.qpv_comparison(indicators.residence_table(residences(), current))
    assert qpv.loc["qpv", "count"] == 13 and qpv.loc["hors_qpv", "count"] == 12
    assert (
        qpv.loc["qpv", "logements"] == 600 and qpv.loc["hors_qpv", "logements"] == 100
    )
    assert qpv.loc["qpv", "share"] == pytest.approx(100 * 13 / 25)
    assert qpv.loc["qpv", "logements_share"] == pytest.approx(100 * 600 / 700)
    assert qpv.loc["qpv", "rate"] == pytest.approx(100 * 13 / 600)
    assert qpv.loc["hors_qpv", "rate"] == pytest.approx(12.0)
    assert qpv.loc["total", "residences"] == 4


def test_percent_change():
    assert indicators.percent_change(15, 10) == 50.0
    assert indicators.percent_change(5, 10) == -50.0
    assert indicators.percent_change(3, 0) is None


def test_class_breaks_and_classes():
    values = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, np.nan]
    breaks = indicators.class_breaks(values, classes=5)
    assert breaks == sorted(breaks) and breaks[-1] == 10
    classes = indicators.classify(values, breaks)
    assert classes[-1] == -1
    assert classes[1] == 0 and classes[10] == len(breaks) - 1
    assert indicators.class_breaks([0, np.nan]) == []


def test_read_facts_loads_a_filtered_query_into_a_geodataframe():
    engine = sa.create_engine("sqlite://")
    metadata = sa.MetaData()
    facts = sa.Table(
        "facts",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("organisation_id", sa.Integer),
        sa.Column("latitude", sa.Float),
        sa.Column("longitude", sa.Float),
    )
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            facts.insert(),
            [
                {"organisation_id": 1, "latitude": 43.60, "longitude": 1.44},
                {"organisation_id": 1, "latitude": 43.61, "longitude": 1.45},
                {"organisation_id": 2, "latitude": 48.85, "longitude": 2.35},
            ],
        )
    with engine.connect() as connection:
        frame = indicators.read_facts(
            connection, sa.select(facts).where(facts.c.organisation_id == 1)
        )
    assert len(frame) == 2
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.iloc[0].x == 1.44 and frame.geometry.iloc[0].y == 43.60


def test_qpv_outlines_in_a_box_are_small_and_rounded():
    outlines = qpv_outlines(QPV_FILE, TOULOUSE_BOUNDS)
    codes = {f["properties"]["code"] for f in outlines["features"]}
    assert {"QP031011", "QP031010"} <= codes  # Les Izards - La Vache, Empalot
    assert all(code.startswith("QP031") for code in codes)
    coordinates = re.findall(r"\d+\.\d+", str(outlines))
    assert coordinates and max(len(c.split(".")[1]) for c in coordinates) <= 5
    assert qpv_outlines(QPV_FILE, None)["features"] == []
    assert qpv_outlines("/nonexistent.geojson", TOULOUSE_BOUNDS)["features"] == []


def _scaffold(**overrides):
    options = {
        "bounds": ((43.55, 1.35), (43.66, 1.50)),
        "qpv": qpv_outlines(QPV_FILE, TOULOUSE_BOUNDS),
        "static_url": lambda path: "/static/" + path,
    }
    options.update(overrides)
    return basemap.render_scaffold(basemap.build_map_scaffold(**options))


def test_scaffold_uses_vendored_assets_only():
    scaffold = _scaffold()
    assets = scaffold.js + scaffold.css
    assert assets and all(url.startswith("/static/vendor/") for url in assets)
    for url in assets:
        assert (ROOT / url.removeprefix("/")).is_file(), url
    assert "http" not in scaffold.script
    assert "/static/vendor/leaflet/leaflet.js" in scaffold.js
    # folium's class-level CDN lists are left alone for other code.
    assert folium.Map.default_js[0][1].startswith("https://")


def test_scaffold_registers_every_layer_and_is_stable():
    scaffold = _scaffold()
    assert scaffold.html == '<div class="folium-map" id="map_orfi"></div>'
    assert 'window.orfiMaps["orfi"]' in scaffold.script
    for key in ("hex", "gi", "heat", "residences", "qpv", "facts"):
        assert f'"{key}":' in scaffold.script
    assert "fitBounds" in scaffold.script and '"maxZoom": 19' in scaffold.script
    assert "QP031006" in scaffold.script
    assert _scaffold().script == scaffold.script  # no random names


def test_scaffold_has_no_tiles_unless_configured():
    assert "tileLayer" not in _scaffold().script
    with_tiles = _scaffold(
        tile_url="/tuiles/{z}/{x}/{y}.png", tile_attribution="Bailleur"
    )
    assert "/tuiles/{z}/{x}/{y}.png" in with_tiles.script


def test_an_element_without_local_assets_is_refused():
    m = folium.Map(tiles=None)
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(basemap.LocalAssetMissing):
        basemap.localise_assets(m, lambda path: "/static/" + path)


def test_scaffold_size_does_not_depend_on_facts():
    """It holds no fact at all: only the perimeter's view and QPV outlines."""
    assert len(_scaffold().script) < 40_000
