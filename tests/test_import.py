"""Importing the patrimoine: formats, validation, idempotence, QPV, command and page."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import sqlalchemy as sa
from shapely.geometry import Point, box, shape

from orfi.auth.models import Role
from orfi.errors import ImportFileError
from orfi.extensions import db
from orfi.geo.patrimoine_columns import _ALIASES, COLUMN_ALIASES, match_columns
from orfi.geo.patrimoine_coordinates import within_france
from orfi.geo.patrimoine_io import read_patrimoine
from orfi.geo.points import distance_m
from orfi.patrimoine.importer import import_patrimoine_file
from orfi.patrimoine.models import Agence, Residence
from tests.factories import commit, make_organisation, make_residence, make_user
from tests.helpers import definitions, table_rows

QPV_LAYER = (
    Path(__file__).parent.parent / "orfi" / "data" / "qpv_occitanie_2015.geojson"
)
# Capitole, Toulouse: in no QPV.
OUTSIDE = (1.4440, 43.6045)


@pytest.fixture(scope="module")
def qpv_points() -> dict[str, tuple[float, float]]:
    """A (lon, lat) point inside each Toulouse QPV of the shipped layer."""
    layer = gpd.read_file(QPV_LAYER)
    toulouse = layer[layer["code_commune"] == "31555"]
    points = toulouse.geometry.representative_point()
    assert not layer.contains(Point(OUTSIDE)).any()
    return {
        code: (point.x, point.y)
        for code, point in zip(toulouse["code_qp"], points, strict=True)
    }


@pytest.fixture
def tmh(app):
    organisation = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    commit()
    return organisation


def residences(organisation) -> dict[str, Residence]:
    rows = db.session.scalars(
        sa.select(Residence).where(Residence.organisation_id == organisation.id)
    )
    return {r.reference: r for r in rows}


def count_residences() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Residence))


def run_import(organisation, path, **options):
    """Import through the service, as the command does, and commit."""
    options.setdefault("qpv_file", QPV_LAYER)
    options.setdefault("qpv_generation", "2015")
    result = import_patrimoine_file(organisation, path, **options)
    db.session.commit()
    return result


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def to_lambert93(lon: float, lat: float) -> tuple[float, float]:
    point = gpd.GeoSeries([Point(lon, lat)], crs=4326).to_crs(2154).iloc[0]
    return point.x, point.y


# --- Formats -----------------------------------------------------------------------


def test_csv_semicolon_latin1_with_lambert93(tmh, tmp_path, qpv_points):
    x1, y1 = to_lambert93(*qpv_points["QP031011"])
    x2, y2 = to_lambert93(*OUTSIDE)
    path = write_csv(
        tmp_path / "patrimoine.csv",
        [
            "Code groupe;Nom résidence;NUMVOIE;TYPVOIE;NOMVOIE;DEPCOM;LIBCOM;"
            "Nb logements;Agence;X;Y",
            f"G001;Cité Édouard-Herriot;12;RUE;DES IZARDS;31555;Toulouse;120;Agence "
            f"Nord;{x1:.2f};{y1:.2f}".replace(".", ","),
            f"G002;Château de l'Hers;3;BD;LAZARE CARNOT;31555;Toulouse;45;agence "
            f"nord;{x2:.2f};{y2:.2f}".replace(".", ","),
        ],
        encoding="latin-1",
    )
    result = run_import(tmh, path)

    assert (result.created, result.updated, result.rejected) == (2, 0, [])
    assert "séparateur « ; »" in result.description
    assert "Windows-1252" in result.description
    stored = residences(tmh)
    first, second = stored["G001"], stored["G002"]
    assert first.name == "Cité Édouard-Herriot"
    assert second.name == "Château de l'Hers"
    assert first.address == "12 RUE DES IZARDS"
    assert (first.commune_insee, first.commune_name, first.logements) == (
        "31555",
        "Toulouse",
        120,
    )
    assert (first.qpv_code, first.qpv_generation) == ("QP031011", "2015")
    assert (second.qpv_code, second.qpv_generation) == (None, None)
    assert distance_m(second.latitude, second.longitude, OUTSIDE[1], OUTSIDE[0]) < 1
    # One agence, whatever the case it is written in.
    agences = db.session.scalars(sa.select(Agence)).all()
    assert [a.name for a in agences] == ["Agence Nord"]
    assert first.agence_id == second.agence_id == agences[0].id


def test_csv_comma_utf8_bom_with_lat_lon(tmh, tmp_path, qpv_points):
    lon, lat = qpv_points["QP031007"]
    path = tmp_path / "patrimoine.csv"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + (
            "REFERENCE,Libellé,Adresse,Code INSEE,Commune,Logements,"
            "Latitude,Longitude\n"
            f'R-1,"Bellefontaine, bâtiment A","1 allée de Bellefontaine",31555,'
            f"Toulouse,200,{lat},{lon}\n"
            f"R-2,Pech-David,,,,,{OUTSIDE[1]},{OUTSIDE[0]}\n"
        ).encode()
    )
    result = run_import(tmh, path)

    assert (result.created, len(result.rejected)) == (2, 0)
    assert "UTF-8" in result.description and "« , »" in result.description
    stored = residences(tmh)
    assert stored["R-1"].name == "Bellefontaine, bâtiment A"
    assert stored["R-1"].qpv_code == "QP031007"
    assert (stored["R-1"].latitude, stored["R-1"].longitude) == (
        round(lat, 7),
        round(lon, 7),
    )
    assert (stored["R-2"].logements, stored["R-2"].commune_insee) == (0, "")


def test_geojson_polygon_gives_outline_and_inner_point(tmh, tmp_path, qpv_points):
    lon, lat = qpv_points["QP031009"]
    outline = box(lon - 0.0003, lat - 0.0002, lon + 0.0003, lat + 0.0002)
    frame = gpd.GeoDataFrame(
        {
            "code_residence": ["B1", "B2"],
            "nom": ["Bourbaki", "Capitole"],
            "nblog": [80, 12],
            "agence": ["Nord", ""],
        },
        geometry=[outline, Point(OUTSIDE)],
        crs=4326,
    )
    path = tmp_path / "residences.geojson"
    frame.to_file(path, driver="GeoJSON")
    result = run_import(tmh, path)

    assert (result.created, result.rejected, result.line_kind) == (2, [], "feature")
    stored = residences(tmh)
    polygon = shape(json.loads(stored["B1"].outline_geojson))
    assert polygon.geom_type == "Polygon"
    assert polygon.equals_exact(outline, 1e-7)
    assert polygon.contains(Point(stored["B1"].longitude, stored["B1"].latitude))
    assert stored["B1"].qpv_code == "QP031009"
    assert stored["B2"].outline_geojson is None
    assert stored["B2"].agence_id is None


def _write_lambert93_shapefile(folder: Path, qpv_points) -> tuple[Path, dict]:
    """A shapefile in Lambert-93, Latin-1 attributes and a .cpg, as bailleurs send."""
    expected = {
        "GM1": ("Grand Mirail - Reynerie", qpv_points["QP031007"]),
        "IZ2": ("Les Izards, entrée É", qpv_points["QP031011"]),
        "CAP": ("Hôtel-Dieu à côté", OUTSIDE),
    }
    frame = gpd.GeoDataFrame(
        {
            "REF": list(expected),
            "NOM": [name for name, _ in expected.values()],
            "NBLOG": [310, 95, 8],
        },
        geometry=[Point(lonlat) for _, lonlat in expected.values()],
        crs=4326,
    ).to_crs(2154)
    path = folder / "patrimoine_l93.shp"
    # GDAL spells Latin-1 "ISO-8859-1" ("latin-1" is not an iconv name it knows).
    frame.to_file(path, encoding="ISO-8859-1")
    return path, expected


def test_shapefile_lambert93_latin1_lands_in_the_right_qpv(tmh, tmp_path, qpv_points):
    path, expected = _write_lambert93_shapefile(tmp_path, qpv_points)
    assert path.with_suffix(".cpg").read_text().strip() == "ISO-8859-1"
    dbf = path.with_suffix(".dbf").read_bytes()
    assert "É".encode("latin-1") in dbf and "É".encode() not in dbf

    result = run_import(tmh, path)

    assert (result.created, result.rejected) == (3, [])
    assert "EPSG:2154" in result.description
    stored = residences(tmh)
    for reference, (name, (lon, lat)) in expected.items():
        residence = stored[reference]
        assert residence.name == name
        assert distance_m(residence.latitude, residence.longitude, lat, lon) < 1
    assert stored["GM1"].qpv_code == "QP031007"
    assert stored["IZ2"].qpv_code == "QP031011"
    assert stored["CAP"].qpv_code is None
    assert stored["GM1"].logements == 310


def test_gpkg_and_zipped_shapefile_are_read(tmp_path, qpv_points):
    shp, _ = _write_lambert93_shapefile(tmp_path, qpv_points)
    archive = tmp_path / "envoi.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in tmp_path.glob("patrimoine_l93.*"):
            zipped.write(part, f"export/{part.name}")
    from_zip = read_patrimoine(archive)
    assert sorted(from_zip.residences["reference"]) == ["CAP", "GM1", "IZ2"]
    assert "Les Izards, entrée É" in set(from_zip.residences["name"])

    gpkg = tmp_path / "patrimoine.gpkg"
    gpd.read_file(shp).to_file(gpkg, layer="residences", driver="GPKG")
    from_gpkg = read_patrimoine(gpkg)
    assert len(from_gpkg.residences) == 3 and "GeoPackage" in from_gpkg.description


def test_gpkg_with_several_layers_reads_the_first_or_the_named_one(tmp_path):
    gpkg = tmp_path / "sig.gpkg"
    for layer, reference in (("residences", "R1"), ("anciennes", "R0")):
        gpd.GeoDataFrame(
            {"ref": [reference], "nom": ["Une"]}, geometry=[Point(OUTSIDE)], crs=4326
        ).to_file(gpkg, layer=layer, driver="GPKG")
    first = read_patrimoine(gpkg)
    assert list(first.residences["reference"]) == ["R1"]
    assert "2 couches" in first.warnings[0]
    named = read_patrimoine(gpkg, layer="anciennes")
    assert list(named.residences["reference"]) == ["R0"] and not named.warnings
    with pytest.raises(ValueError, match="Couche « autre » introuvable"):
        read_patrimoine(gpkg, layer="autre")


def test_excel_separator_hint_line(tmp_path):
    path = write_csv(
        tmp_path / "excel.csv",
        ["sep=;", "Référence;Libellé;Latitude;Longitude", "A;Une, deux;43,6;1,44"],
        encoding="cp1252",
    )
    data = read_patrimoine(path)
    assert list(data.residences["name"]) == ["Une, deux"]
    assert list(data.residences["line"]) == [2]


def test_documented_examples_import_cleanly(tmh, tmp_path):
    doc = Path(__file__).parent.parent / "docs" / "import-patrimoine.md"
    examples = doc.read_text(encoding="utf-8").split("```csv\n")[1:]
    assert len(examples) == 2
    for number, example in enumerate(examples):
        path = tmp_path / f"exemple{number}.csv"
        path.write_text(example.split("```")[0], encoding="utf-8")
        result = run_import(tmh, path)
        assert result.rejected == [] and result.created >= 1
    stored = residences(tmh)
    assert stored["G001"].qpv_code == "QP031011"
    assert stored["G001"].address == "12 RUE DES IZARDS"
    assert stored["R-1"].qpv_code == "QP031007"


# --- Validation --------------------------------------------------------------------


def test_bad_rows_are_listed_and_good_rows_imported(tmh, tmp_path):
    lat, lon = 43.6045, 1.4440
    path = write_csv(
        tmp_path / "bad.csv",
        [
            "reference;nom;logements;code_insee;latitude;longitude",  # line 1
            f"OK1;Bonne;10;31555;{lat};{lon}",  # 2
            f";Sans référence;10;;{lat};{lon}",  # 3
            f"DUP;Première;10;;{lat};{lon}",  # 4
            f"DUP;Seconde;10;;{lat};{lon}",  # 5
            "XY1;Coordonnées texte;10;;quarante;1,44",  # 6
            "XY2;Au large;10;;0;0",  # 7
            f"XY3;Inversées;10;;{lon};{lat}",  # 8
            "XY4;Sans position;10;;;",  # 9
            f"NEG;Négatif;-4;;{lat};{lon}",  # 10
            f"TXT;Beaucoup;beaucoup;;{lat};{lon}",  # 11
            "",  # 12: a blank line is skipped, yet counted as a spreadsheet would
            f"NON;;10;;{lat};{lon}",  # 13
            f"INS;Insee;10;3155;{lat};{lon}",  # 14: 03155 (leading zero lost)
            f"IN2;Insee faux;10;ABCDE;{lat};{lon}",  # 15
            "OK2;Décimale;12,0;;43,6045;1,4440",  # 16
            f"NAN;Pas un nombre;1;;nan;{lon}",  # 17
        ],
    )
    result = run_import(tmh, path)

    reasons = {row.line: row.reason for row in result.rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17]
    assert "référence manquante" in reasons[3]
    assert "référence en double (lignes 4, 5)" in reasons[4] == reasons[5]
    assert "coordonnées invalides" in reasons[6]
    assert "hors de France" in reasons[7]
    assert "inversées" in reasons[8]
    assert "coordonnées manquantes" in reasons[9]
    assert "négatif" in reasons[10]
    assert "« beaucoup » n'est pas un nombre entier" in reasons[11]
    assert "nom manquant" in reasons[13]
    assert "code INSEE « ABCDE » invalide" in reasons[15]
    assert "non finies" in reasons[17]
    assert {row.reference for row in result.rejected if row.line == 10} == {"NEG"}

    assert (result.created, result.total) == (3, 15)
    stored = residences(tmh)
    assert sorted(stored) == ["INS", "OK1", "OK2"]
    assert stored["INS"].commune_insee == "03155"
    assert stored["OK2"].logements == 12


def test_strict_mode_writes_nothing_when_a_row_is_rejected(tmh, tmp_path):
    path = write_csv(
        tmp_path / "strict.csv",
        ["ref,nom,lat,lon", "A,Une,43.6,1.44", "B,,43.6,1.44"],
    )
    result = run_import(tmh, path, strict=True)
    assert not result.written and result.created == 0
    assert [row.line for row in result.rejected] == [3]
    assert count_residences() == 0


def test_column_names_ignore_case_accents_and_shapefile_truncation():
    mapping, unused = match_columns(
        [
            "RÉFÉRENCE",
            "Nom Résidence",
            "NB_LOGEMEN",
            "Code Commune",
            "X_L93",
            "Y_L93",
            "Couleur",
        ]
    )
    assert mapping == {
        "reference": "RÉFÉRENCE",
        "name": "Nom Résidence",
        "logements": "NB_LOGEMEN",
        "commune_insee": "Code Commune",
        "x_l93": "X_L93",
        "y_l93": "Y_L93",
    }
    assert unused == ["Couleur"]
    # "reference" beats "code" when a file has both.
    assert match_columns(["code", "reference"])[0]["reference"] == "reference"
    # No accepted name feeds two fields, not even once cut at 10 characters.
    every = [alias for aliases in COLUMN_ALIASES.values() for alias in aliases]
    assert len(every) == len(set(every))
    assert all(
        _ALIASES[alias][0] == name
        for name, aliases in COLUMN_ALIASES.items()
        for alias in aliases
    )


def test_france_bounds_include_the_dom():
    lons = [1.44, 55.45, -61.05, -52.33, 45.23, -61.53, 13.40, 2.35]
    lats = [43.60, -20.88, 14.60, 4.93, -12.78, 16.24, 52.52, 48.85]
    assert within_france(lons, lats).tolist() == [
        True,
        True,
        True,
        True,
        True,
        True,
        False,
        True,
    ]


# --- Idempotence -------------------------------------------------------------------


def test_reimport_updates_and_never_duplicates(tmh, tmp_path):
    other = make_organisation(code="PSL", name="Patrimoine SA Languedocienne")
    foreign = make_residence(other, reference="R1", name="Ailleurs")
    commit()
    header = "ref;nom;logements;agence;lat;lon"
    rows = [f"R{i};Résidence {i};{10 * i};Sud;43.60{i};1.44{i}" for i in range(1, 5)]
    path = write_csv(tmp_path / "v1.csv", [header, *rows])
    first = run_import(tmh, path)
    assert (first.created, first.updated, first.unchanged) == (4, 0, 0)
    assert first.agences_created == 1
    ids = {ref: r.id for ref, r in residences(tmh).items()}

    again = run_import(tmh, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert again.agences_created == 0

    rows[1] = "R2;Résidence Deux (rénovée);20;Sud;43.602;1.442"
    write_csv(path, [header, *rows])
    changed = run_import(tmh, path)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 3)

    stored = residences(tmh)
    assert {ref: r.id for ref, r in stored.items()} == ids
    assert stored["R2"].name == "Résidence Deux (rénovée)"
    assert count_residences() == 5
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agence)) == 1
    db.session.refresh(foreign)
    assert foreign.name == "Ailleurs" and foreign.organisation_id == other.id


def test_columns_missing_from_the_file_are_left_alone(tmh, tmp_path):
    full = write_csv(
        tmp_path / "full.csv",
        [
            "ref;nom;logements;agence;code_insee;lat;lon",
            "R1;Un;42;Nord;31555;43.6;1.44",
        ],
    )
    run_import(tmh, full)
    names_only = write_csv(
        tmp_path / "names.csv", ["ref;nom;lat;lon", "R1;Un bis;43.6;1.44"]
    )
    result = run_import(tmh, names_only)
    assert result.updated == 1
    residence = residences(tmh)["R1"]
    assert residence.name == "Un bis"
    assert (residence.logements, residence.commune_insee) == (42, "31555")
    assert residence.agence.name == "Nord"


def test_no_query_per_row(tmh, tmp_path):
    header = "ref;nom;logements;lat;lon"
    rows = [f"R{i:05d};Résidence {i};{i % 300};43.6;1.44" for i in range(3000)]
    path = write_csv(tmp_path / "big.csv", [header, *rows])
    statements = []

    def count(*_args):
        statements.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        created = run_import(tmh, path)
        write_csv(path, [header, *(r.replace("Résidence", "Rés.") for r in rows)])
        updated = run_import(tmh, path)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert created.created == 3000 and updated.updated == 3000
    assert len(statements) < 60
    assert count_residences() == 3000


# --- Unreadable files ----------------------------------------------------------------


def _shapefile_without_crs(folder: Path) -> Path:
    frame = gpd.GeoDataFrame(
        {"ref": ["A"], "nom": ["Sans projection"]},
        geometry=[Point(574000, 6279000)],
        crs=2154,
    )
    path = folder / "sans_prj.shp"
    frame.to_file(path)
    path.with_suffix(".prj").unlink()
    return path


UNREADABLE = {
    "shapefile without .prj": (_shapefile_without_crs, "système de coordonnées"),
    "garbage GeoPackage": (
        lambda d: (d / "x.gpkg").write_bytes(b"not a geopackage") and d / "x.gpkg",
        "non reconnu",
    ),
    "empty CSV": (lambda d: write_csv(d / "vide.csv", [""]), "vide"),
    "CSV without reference": (
        lambda d: write_csv(d / "r.csv", ["nom;lat;lon", "A;43.6;1.44"]),
        "référence",
    ),
    "CSV without coordinates": (
        lambda d: write_csv(d / "c.csv", ["ref;nom", "A;B"]),
        "coordonnées",
    ),
    "zip without a layer": (
        lambda d: _zip_with(d / "z.zip", "lisez-moi.txt"),
        "ne contient ni shapefile",
    ),
    "missing file": (lambda d: d / "absent.csv", "introuvable"),
}


def _zip_with(path: Path, member: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, "rien")
    return path


@pytest.mark.parametrize("build, message", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_unreadable_file_is_a_clear_error_and_stores_nothing(
    tmh, tmp_path, build, message
):
    path = build(tmp_path)
    with pytest.raises(ImportFileError, match=message):
        run_import(tmh, path)
    db.session.rollback()
    assert count_residences() == 0


# --- Command line ------------------------------------------------------------------


def invoke(runner, *args):
    return runner.invoke(args=["orfi", "import-patrimoine", *args])


def test_command_imports_and_lists_rejected_rows(runner, tmh, tmp_path, qpv_points):
    lon, lat = qpv_points["QP031010"]
    path = write_csv(
        tmp_path / "p.csv",
        ["ref;nom;logements;lat;lon", f"E1;Empalot;300;{lat};{lon}", "E2;;x;43.6;1.44"],
    )
    result = invoke(runner, str(path), "--organisation", "tmh")
    assert result.exit_code == 0, result.output
    assert "1 créée(s)" in result.output and "1 rejetée(s)" in result.output
    assert "les autres ont été importées" in result.output
    assert "ligne 3 [E2] : nom manquant ; logements" in result.output
    assert "1 résidence(s) en QPV (génération 2015)" in result.output
    db.session.expire_all()
    assert residences(tmh)["E1"].qpv_code == "QP031010"


def test_command_dry_run_stores_nothing(runner, tmh, tmp_path):
    path = write_csv(tmp_path / "p.csv", ["ref,nom,lat,lon", "A,Une,43.6,1.44"])
    result = invoke(runner, str(path), "--organisation", "TMH", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "1 créée(s)" in result.output and "rien n'a été enregistré" in result.output
    assert count_residences() == 0


def test_command_strict_exits_1(runner, tmh, tmp_path):
    path = write_csv(
        tmp_path / "p.csv", ["ref,nom,lat,lon", "A,Une,43.6,1.44", "B,Deux,0,0"]
    )
    result = invoke(runner, str(path), "--organisation", "TMH", "--strict")
    assert result.exit_code == 1
    assert "Mode strict" in result.output and "ligne 3 [B]" in result.output
    assert count_residences() == 0


def test_command_with_another_qpv_layer(runner, tmh, tmp_path):
    layer = gpd.GeoDataFrame(
        {"code_qp": ["QN03199Z"]},
        geometry=[box(1.43, 43.59, 1.46, 43.61)],
        crs=4326,
    ).to_crs(2154)
    layer.to_file(tmp_path / "qpv2024.gpkg", driver="GPKG")
    path = write_csv(tmp_path / "p.csv", ["ref,nom,lat,lon", "A,Une,43.6045,1.4440"])
    result = invoke(
        runner,
        str(path),
        "--organisation",
        "TMH",
        "--qpv",
        str(tmp_path / "qpv2024.gpkg"),
        "--qpv-generation",
        "2024",
    )
    assert result.exit_code == 0, result.output
    residence = residences(tmh)["A"]
    assert (residence.qpv_code, residence.qpv_generation) == ("QN03199Z", "2024")


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("x.gpkg", b"rubbish", "Erreur : Format de fichier non reconnu"),
        ("x.csv", b"ref;nom\nA;B\n", "coordonnées"),
    ],
)
def test_command_unreadable_file_exits_1(runner, tmh, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    result = invoke(runner, str(path), "--organisation", "TMH")
    assert result.exit_code == 1
    assert message in result.output
    assert count_residences() == 0


def test_command_missing_file_or_unknown_organisation_exits_1(runner, tmh, tmp_path):
    missing = invoke(runner, str(tmp_path / "absent.csv"), "--organisation", "TMH")
    assert missing.exit_code == 1 and "Fichier introuvable" in missing.output
    path = write_csv(tmp_path / "p.csv", ["ref,nom,lat,lon", "A,Une,43.6,1.44"])
    unknown = invoke(runner, str(path), "--organisation", "NOPE")
    assert unknown.exit_code == 1 and "Aucun bailleur" in unknown.output
    assert count_residences() == 0


# --- Web page ----------------------------------------------------------------------


@pytest.fixture
def admin(tmh):
    user = make_user(tmh, role=Role.ADMIN)
    commit()
    return user


def upload(client, content: bytes, filename: str, **fields):
    data = {"file": (io.BytesIO(content), filename), **fields}
    return client.post(
        "/patrimoine/import", data=data, content_type="multipart/form-data"
    )


def test_admin_imports_from_the_page(client, auth, admin, tmh):
    other = make_organisation(code="PSL", name="Patrimoine SA Languedocienne")
    make_residence(other, reference="A", name="Chez un autre")
    auth.login(admin.email)
    page = client.get("/patrimoine/import")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert "nb_logements" in page.text  # the accepted columns are listed

    csv_bytes = "ref;nom;logements;lat;lon\nA;Une;5;43.6;1.44\nB;Deux;-1;43.6;1.44\n"
    response = upload(client, csv_bytes.encode("cp1252"), "patrimoine.csv")
    assert response.status_code == 200
    assert "Import terminé" in response.text
    assert definitions(response.text)["Nouvelles résidences"] == "1"
    assert "les autres lignes ont été importées" in response.text
    assert ["3", "B", "logements : -1 est négatif"] in table_rows(response.text)
    assert residences(tmh)["A"].name == "Une"
    assert residences(other)["A"].name == "Chez un autre"


def test_page_reads_a_zipped_shapefile(client, auth, admin, tmh, tmp_path, qpv_points):
    _write_lambert93_shapefile(tmp_path, qpv_points)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for part in tmp_path.glob("patrimoine_l93.*"):
            zipped.write(part, part.name)
    auth.login(admin.email)
    response = upload(client, buffer.getvalue(), "Patrimoine été.zip")
    assert response.status_code == 200, response.text
    assert "Nouvelles résidences</dt><dd>3" in response.text
    assert residences(tmh)["GM1"].qpv_code == "QP031007"


def test_page_dry_run_and_unreadable_file_store_nothing(client, auth, admin):
    auth.login(admin.email)
    dry = upload(client, b"ref,nom,lat,lon\nA,Une,43.6,1.44\n", "p.csv", dry_run="y")
    assert dry.status_code == 200 and "Simulation" in dry.text
    bad = upload(client, b"rubbish", "p.gpkg")
    assert bad.status_code == 422
    assert "Format de fichier non reconnu" in bad.text
    wrong_type = upload(client, b"x", "p.xlsx")
    assert wrong_type.status_code == 422 and "Formats acceptés" in wrong_type.text
    assert count_residences() == 0


@pytest.mark.parametrize("role", [Role.GARDIEN, Role.REFERENT, Role.DIRECTION])
def test_only_an_admin_may_import(client, auth, tmh, role):
    user = make_user(tmh, role=role)
    commit()
    auth.login(user.email)
    assert client.get("/patrimoine/import").status_code == 403
    response = upload(client, b"ref,nom,lat,lon\nA,Une,43.6,1.44\n", "p.csv")
    assert response.status_code == 403
    assert count_residences() == 0
