"""orfi.geo.hexagons: zoom → resolution, vectorised parents, counts, outlines."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from orfi.geo import hexagons as hx

TOULOUSE = (43.6045, 1.4440)


def _cells(n: int, resolution: int = 9, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(43.45, 43.75, n)
    lon = rng.uniform(1.25, 1.60, n)
    return np.array(
        [
            h3.str_to_int(h3.latlng_to_cell(a, b, resolution))
            for a, b in zip(lat, lon, strict=True)
        ],
        dtype=np.int64,
    )


def test_resolution_follows_the_zoom_within_the_stored_range():
    resolutions = [hx.resolution_for_zoom(z) for z in range(0, 21)]
    assert resolutions == sorted(resolutions)
    assert resolutions[0] == hx.COARSEST_RESOLUTION
    assert resolutions[-1] == hx.FINEST_RESOLUTION
    assert hx.resolution_for_zoom(11) == 7
    assert hx.resolution_for_zoom(15) == 9


@pytest.mark.parametrize("resolution", range(0, 10))
def test_vectorised_parents_match_h3(resolution):
    cells = _cells(500)
    expected = [
        h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), resolution))
        for c in cells
    ]
    assert hx.cell_parents(cells, resolution).tolist() == expected
    assert set(hx.cell_resolutions(hx.cell_parents(cells, resolution))) == {resolution}


def test_parent_of_a_coarser_cell_is_refused():
    with pytest.raises(ValueError):
        hx.cell_parents(_cells(3, resolution=7), 8)
    with pytest.raises(ValueError):
        hx.cell_parents(_cells(3), 16)


def test_aggregate_sums_counts_into_parents():
    cells = _cells(300)
    counts = np.arange(1, 301)
    parents, sums = hx.aggregate_cells(cells, counts, 7)
    assert sums.sum() == counts.sum()
    assert list(parents) == sorted(set(parents))
    by_hand: dict[int, int] = {}
    for cell, count in zip(cells, counts, strict=True):
        parent = h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(cell)), 7))
        by_hand[parent] = by_hand.get(parent, 0) + int(count)
    assert dict(zip(parents.tolist(), sums.tolist(), strict=True)) == by_hand
    empty_cells, empty_counts = hx.aggregate_cells(np.array([]), np.array([]), 7)
    assert empty_cells.size == empty_counts.size == 0


def test_bbox_keeps_cells_whose_centre_is_inside_with_a_margin():
    inside = h3.str_to_int(h3.latlng_to_cell(*TOULOUSE, 9))
    outside = h3.str_to_int(h3.latlng_to_cell(48.8566, 2.3522, 9))  # Paris
    cells = np.array([inside, outside], dtype=np.int64)
    bbox = (1.40, 43.58, 1.48, 43.62)
    assert hx.cells_in_bbox(cells, bbox).tolist() == [True, False]
    assert hx.cells_in_bbox(cells, None).tolist() == [True, True]
    # Just east of the box: kept thanks to the margin, not without it.
    east = h3.str_to_int(h3.latlng_to_cell(43.60, 1.49, 9))
    assert hx.cells_in_bbox(np.array([east]), bbox).tolist() == [True]
    assert hx.cells_in_bbox(np.array([east]), bbox, margin=0, pad=0).tolist() == [False]


def test_a_view_smaller_than_a_cell_keeps_the_cell_under_it():
    # 50 m × 50 m at street zoom, off the centre of its r9 cell (~350 m across).
    lat, lon = 43.6045, 1.4440
    cell = h3.latlng_to_cell(lat, lon, 9)
    c_lat, c_lon = h3.cell_to_latlng(cell)
    corner = h3.cell_to_boundary(cell)[0]
    v_lat, v_lon = (c_lat + 3 * corner[0]) / 4, (c_lon + 3 * corner[1]) / 4
    bbox = (v_lon - 0.0003, v_lat - 0.0002, v_lon + 0.0003, v_lat + 0.0002)
    cells = np.array([h3.str_to_int(cell)], dtype=np.int64)
    assert hx.cells_in_bbox(cells, bbox, margin=0).tolist() == [True]
    for resolution in range(4, 10):
        # The bound covers every corner of a cell around Toulouse.
        cell = h3.latlng_to_cell(lat, lon, resolution)
        c_lat, c_lon = h3.cell_to_latlng(cell)
        farthest = max(
            max(abs(a - c_lat), abs(b - c_lon)) for a, b in h3.cell_to_boundary(cell)
        )
        assert farthest < hx.cell_radius_degrees(resolution)


def test_cell_ids_are_h3_strings():
    cell = h3.latlng_to_cell(*TOULOUSE, 9)
    assert hx.cell_ids(np.array([h3.str_to_int(cell)])) == [cell]


def test_cells_frame_is_a_geodataframe_of_hexagons_in_wgs84():
    cells = np.unique(_cells(20, resolution=8))
    frame = hx.cells_frame(cells, count=np.ones(cells.size))
    assert frame.crs.to_epsg() == 4326
    assert len(frame) == cells.size
    assert frame.geometry.geom_type.unique().tolist() == ["Polygon"]
    first = frame.geometry.iloc[0]
    assert len(first.exterior.coords) == 7  # six corners, closed
    lat, lon = h3.cell_to_latlng(h3.int_to_str(int(cells[0])))
    assert first.contains(__import__("shapely").Point(lon, lat))  # (lon, lat) order


def test_grid_disk_cells_adds_rings():
    centre = h3.str_to_int(h3.latlng_to_cell(*TOULOUSE, 9))
    assert hx.grid_disk_cells([centre], 0).tolist() == [centre]
    assert hx.grid_disk_cells([centre], 1).size == 7
    assert hx.grid_disk_cells([centre, centre], 2).size == 19


def test_finest_range_holds_exactly_the_cells_descendants():
    """Checked against h3's own parent of every r9 cell around the sector."""
    import h3.api.basic_int as h3i

    from orfi.geo.hexagons import finest_range

    for resolution in (5, 7, 8, 9):
        cell = h3i.latlng_to_cell(43.6045, 1.4440, resolution)
        low, high = finest_range(cell)
        around = h3i.grid_disk(h3i.latlng_to_cell(43.6045, 1.4440, 9), 12)
        inside = {c for c in around if low <= c <= high}
        by_parent = {c for c in around if h3i.cell_to_parent(c, resolution) == cell}
        assert inside == by_parent and by_parent
        assert set(h3i.cell_to_children(cell, 9)) == {
            c for c in h3i.cell_to_children(cell, 9) if low <= c <= high
        }
    pentagon = h3i.get_pentagons(7)[0]
    low, high = finest_range(pentagon)
    assert all(low <= c <= high for c in h3i.cell_to_children(pentagon, 9))
    for bad in (0, -5, 2**70, h3i.latlng_to_cell(43.6, 1.44, 10)):
        with pytest.raises((ValueError, OverflowError)):
            finest_range(bad)
