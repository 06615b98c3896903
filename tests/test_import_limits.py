"""Issue 17, point 4: patrimoine imports refuse files beyond their limits, saying so.

Each test sends the hostile file through the administrator's import page (the path a
browser takes) and checks the French message next to the field, a 422 and that
nothing was stored. The big files are built small on disk (zips of repeated bytes).
"""

from __future__ import annotations

import io
import json
import struct
import time
import zipfile

import pytest
import sqlalchemy as sa

from orfi.auth.models import Role
from orfi.extensions import db
from orfi.geo.patrimoine_limits import (
    MAX_POINTS_PER_FEATURE,
    MAX_ROWS,
    ImportLimits,
    shapefile_point_counts,
)
from orfi.limits import french
from orfi.patrimoine.models import Residence
from tests.factories import commit, make_organisation, make_user
from tests.helpers import field_errors

WGS84_PRJ = (
    'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,'
    '298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)


@pytest.fixture
def admin(app):
    organisation = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    user = make_user(organisation, role=Role.ADMIN)
    commit()
    return user


def upload(client, content: bytes, filename: str):
    return client.post(
        "/patrimoine/import",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def count_residences() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Residence))


def assert_refused(response, *words: str) -> None:
    assert response.status_code == 422, response.status_code
    message = field_errors(response.text, "file")
    for word in words:
        assert word in message, message
    assert count_residences() == 0


def big_csv(rows: int) -> bytes:
    lines = ["ref;nom;lat;lon"]
    lines += [f"R{n};Résidence {n};43.6;1.44" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_a_200k_row_csv_is_refused_while_read(client, auth, admin):
    auth.login(admin.email)
    started = time.perf_counter()
    response = upload(client, big_csv(200_000), "patrimoine.csv")
    assert_refused(response, "Fichier trop long", f"{french(MAX_ROWS)} lignes")
    assert time.perf_counter() - started < 10


def test_a_csv_at_the_limit_is_read(client, auth, admin, app):
    app.config["ORFI_IMPORT_MAX_ROWS"] = 3
    auth.login(admin.email)
    content = big_csv(3) + b"\n\n"  # blank lines do not count
    response = upload(client, content, "p.csv")
    assert response.status_code == 200, field_errors(response.text, "file")
    assert count_residences() == 3
    db.session.execute(sa.delete(Residence))
    commit()
    assert_refused(upload(client, big_csv(4), "p.csv"), "plus de 3 lignes")


def test_a_file_too_big_is_refused_before_reading(client, auth, admin, app):
    app.config["ORFI_IMPORT_MAX_FILE_BYTES"] = 1024 * 1024
    auth.login(admin.email)
    content = big_csv(10) + b"#" * (1024 * 1024)
    assert_refused(upload(client, content, "p.csv"), "Fichier trop gros", "1 Mo")


# ------------------------------------------------------------------ shapefiles


def _shp_header(shape_type: int, words: int) -> bytes:
    return (
        struct.pack(">7i", 9994, 0, 0, 0, 0, 0, words)
        + struct.pack("<2i", 1000, shape_type)
        + struct.pack("<8d", 1.44, 43.6, 1.44, 43.6, 0, 0, 0, 0)
    )


def _dbf(references: list[str]) -> bytes:
    """A dBase III file of two character columns, ``ref`` and ``nom``."""
    width = 10
    header_size = 32 + 2 * 32 + 1
    head = struct.pack(
        "<BBBBIHH20x", 3, 126, 12, 7, len(references), header_size, 2 * width + 1
    )
    fields = b"".join(
        struct.pack("<11sc4xBB14x", name, b"C", width, 0) for name in (b"ref", b"nom")
    )
    rows = b"".join(
        b" " + r.encode().ljust(width) + f"Res {r}".encode().ljust(width)
        for r in references
    )
    return head + fields + b"\r" + rows + b"\x1a"


def shapefile_zip(records: list[tuple[int, bytes]], shape_type: int) -> bytes:
    """A zipped shapefile of ``records`` (content length in bytes, content)."""
    shp = io.BytesIO()
    shx = io.BytesIO()
    total = 50 + sum(4 + len(content) // 2 for _n, content in records)
    shp.write(_shp_header(shape_type, total))
    shx.write(_shp_header(shape_type, 50 + 4 * len(records)))
    offset = 50
    for number, content in records:
        shp.write(struct.pack(">2i", number, len(content) // 2))
        shp.write(content)
        shx.write(struct.pack(">2i", offset, len(content) // 2))
        offset += 4 + len(content) // 2
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("patrimoine.shp", shp.getvalue())
        archive.writestr("patrimoine.shx", shx.getvalue())
        archive.writestr("patrimoine.dbf", _dbf([f"R{n}" for n, _ in records]))
        archive.writestr("patrimoine.prj", WGS84_PRJ)
    return buffer.getvalue()


def multipoint(points: int) -> bytes:
    return (
        struct.pack("<i4di", 8, 1.44, 43.6, 1.44, 43.6, points)
        + struct.pack("<2d", 1.44, 43.6) * points
    )


def test_a_million_point_shapefile_zip_is_refused(client, auth, admin):
    content = shapefile_zip([(1, multipoint(1_000_000))], shape_type=8)
    assert len(content) < 1024 * 1024  # small on disk, 16 MB of points inside
    auth.login(admin.email)
    assert_refused(
        upload(client, content, "patrimoine.zip"),
        "Géométrie trop détaillée",
        french(MAX_POINTS_PER_FEATURE),
    )


def test_points_of_all_features_are_counted(client, auth, admin, app):
    app.config["ORFI_IMPORT_MAX_POINTS"] = 25
    content = shapefile_zip([(n, multipoint(10)) for n in (1, 2, 3)], shape_type=8)
    auth.login(admin.email)
    assert_refused(upload(client, content, "p.zip"), "plus de 25 points")
    app.config["ORFI_IMPORT_MAX_POINTS"] = 30
    response = upload(client, content, "p.zip")
    assert response.status_code == 200, field_errors(response.text, "file")
    assert count_residences() == 3


def test_a_shapefile_of_too_many_features_is_refused(client, auth, admin, app):
    app.config["ORFI_IMPORT_MAX_ROWS"] = 2
    points = [(n, struct.pack("<i2d", 1, 1.44, 43.6)) for n in (1, 2, 3)]
    auth.login(admin.email)
    assert_refused(
        upload(client, shapefile_zip(points, shape_type=1), "p.zip"),
        "plus de 2 objets géographiques",
    )


def test_a_zip_bomb_is_refused(client, auth, admin, app):
    app.config["ORFI_IMPORT_MAX_UNCOMPRESSED_BYTES"] = 1024 * 1024
    content = shapefile_zip([(1, multipoint(100_000))], shape_type=8)
    auth.login(admin.email)
    assert_refused(upload(client, content, "p.zip"), "décompressée", "1 Mo")


def geojson(features: int, points: int) -> bytes:
    ring = [[1.44 + i * 1e-5, 43.6] for i in range(points)]
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"ref": f"R{n}", "nom": f"Résidence {n}"},
                    "geometry": {"type": "MultiPoint", "coordinates": ring},
                }
                for n in range(features)
            ],
        }
    ).encode()


def test_geojson_limits_are_counted_too(client, auth, admin, app):
    auth.login(admin.email)
    app.config["ORFI_IMPORT_MAX_ROWS"] = 4
    assert_refused(upload(client, geojson(5, 2), "p.geojson"), "plus de 4 objets")
    app.config["ORFI_IMPORT_MAX_POINTS"] = 9
    assert_refused(upload(client, geojson(2, 5), "p.geojson"), "plus de 9 points")
    app.config["ORFI_IMPORT_MAX_POINTS_PER_FEATURE"] = 4
    assert_refused(upload(client, geojson(1, 5), "p.geojson"), "plus de 4 points")


def test_shapefile_point_counts_reads_headers_only():
    content = shapefile_zip([(1, multipoint(7)), (2, multipoint(3))], shape_type=8)
    with (
        zipfile.ZipFile(io.BytesIO(content)) as archive,
        archive.open("patrimoine.shp") as stream,
    ):
        assert list(shapefile_point_counts(stream)) == [7, 3]


def test_limits_come_from_the_settings():
    limits = ImportLimits.from_config({"ORFI_IMPORT_MAX_ROWS": "10"})
    assert limits.max_rows == 10
    assert limits.max_points == ImportLimits().max_points


def test_the_command_refuses_too_with_the_settings(app, runner, admin, tmp_path):
    app.config["ORFI_IMPORT_MAX_ROWS"] = 2
    path = tmp_path / "p.csv"
    path.write_bytes(big_csv(3))
    result = runner.invoke(
        args=["orfi", "import-patrimoine", str(path), "--organisation", "TMH"]
    )
    assert result.exit_code == 1
    assert "plus de 2 lignes" in result.output
    assert count_residences() == 0
