"""Column mapping of a patrimoine import (issue 12, point 8): a bailleur's own export
names its columns its own way; ``--column champ=COLONNE`` on the command line, and on
the web page a mapping step (columns, first rows, guesses preselected) remembered for
the organisation's next import."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import pytest
import sqlalchemy as sa
from shapely.geometry import Point

from orfi.auth.models import Role
from orfi.extensions import db
from orfi.patrimoine.models import Residence
from tests.factories import commit, make_organisation, make_user
from tests.helpers import AuthActions, definitions, field_errors, parse

#: A patrimoine software's export: no column name orfi recognises.
OWN_HEADER = "CODE_GPE;LIBELLE_LONG;NB_LGT;LAT_GPS;LNG_GPS;SECTEUR;INSEE_COM"
OWN_ROWS = (
    "G001;Les Tilleuls;120;43,6045;1,4440;Nord;31555",
    "G002;Le Parc;80;43,5900;1,4300;Sud;31555",
)
#: The options that read it.
OWN_COLUMNS = {
    "reference": "CODE_GPE",
    "nom": "LIBELLE_LONG",
    "logements": "NB_LGT",
    "latitude": "LAT_GPS",
    "longitude": "LNG_GPS",
    "agence": "SECTEUR",
    "code_insee": "INSEE_COM",
}


def own_csv(rows=OWN_ROWS, header=OWN_HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


@pytest.fixture
def tmh(app):
    organisation = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    commit()
    return organisation


def residences() -> dict[str, Residence]:
    return {r.reference: r for r in db.session.scalars(sa.select(Residence))}


# --- Command line ------------------------------------------------------------------


def invoke(runner, path: Path, *args: str):
    return runner.invoke(
        args=["orfi", "import-patrimoine", str(path), "--organisation", "TMH", *args]
    )


def column_options(columns: dict[str, str]) -> list[str]:
    return [item for c in columns.items() for item in ("--column", "=".join(c))]


def test_command_reads_a_file_of_unknown_columns_with_column_options(
    runner, tmh, tmp_path
):
    path = tmp_path / "export.csv"
    path.write_bytes(own_csv())
    refused = invoke(runner, path)
    assert refused.exit_code == 1
    assert "introuvable" in refused.output and not residences()

    result = invoke(runner, path, *column_options(OWN_COLUMNS))
    assert result.exit_code == 0, result.output
    assert "2 créée(s)" in result.output
    assert "Colonnes ignorées" not in result.output
    db.session.expire_all()
    tilleuls = residences()["G001"]
    assert (tilleuls.name, tilleuls.logements) == ("Les Tilleuls", 120)
    assert (tilleuls.latitude, tilleuls.longitude) == (43.6045, 1.444)
    assert tilleuls.agence.name == "Nord" and tilleuls.commune_insee == "31555"


def test_a_chosen_column_wins_over_the_guess_and_an_empty_one_reads_nothing(
    runner, tmh, tmp_path
):
    path = tmp_path / "p.csv"
    path.write_bytes(
        own_csv(
            ["A;Bât A;Résidence des Acacias;31555;43.6;1.44"],
            header="ref;nom;libelle_complet;code_insee;lat;lon",
        )
    )
    result = invoke(
        runner, path, "--column", "nom=libelle_complet", "--column", "code_insee="
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    residence = residences()["A"]
    assert residence.name == "Résidence des Acacias"
    assert residence.commune_insee == ""
    # The guessed column the choice replaced, and the one left out, are reported.
    assert "Colonnes ignorées : nom, code_insee." in result.output


def test_columns_of_a_vector_file_are_mapped_too(runner, tmh, tmp_path):
    frame = gpd.GeoDataFrame(
        {"NUM_PROG": ["V1"], "DESIGNATION": ["Les Vignes"]},
        geometry=[Point(1.44, 43.6)],
        crs=4326,
    )
    frame.to_file(tmp_path / "p.geojson", driver="GeoJSON")
    result = invoke(
        runner,
        tmp_path / "p.geojson",
        "--column",
        "reference=NUM_PROG",
        "--column",
        "nom=DESIGNATION",
    )
    assert result.exit_code == 0, result.output
    assert residences()["V1"].name == "Les Vignes"


@pytest.mark.parametrize(
    "option, words",
    [
        ("surface=SURF", ["champ « surface » inconnu", "reference", "y_l93"]),
        ("nom", ["champ=COLONNE"]),
        ("nom=ABSENTE", ["Colonne « ABSENTE »", "introuvable", "CODE_GPE"]),
    ],
)
def test_a_wrong_column_option_is_one_french_line(runner, tmh, tmp_path, option, words):
    path = tmp_path / "export.csv"
    path.write_bytes(own_csv())
    result = invoke(runner, path, *column_options(OWN_COLUMNS), "--column", option)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Erreur")
    assert all(word in lines[0] for word in words), lines[0]
    assert "Traceback" not in result.output and not residences()


# --- Web page ----------------------------------------------------------------------


@pytest.fixture
def admin(app, tmh, tmp_path):
    app.instance_path = str(tmp_path / "instance")
    user = make_user(tmh, role=Role.ADMIN)
    commit()
    return user


def upload(client, content: bytes, *, button: str | None = "choose", **fields):
    data = {"file": (io.BytesIO(content), "export.csv"), **fields}
    if button:
        data[button] = "y"
    return client.post(
        "/patrimoine/import", data=data, content_type="multipart/form-data"
    )


def selected(html: str) -> dict[str, str]:
    """The column each select of the mapping step has selected ("" for none)."""
    form = parse(html).find("form", action="/patrimoine/import/colonnes")
    choice = {}
    for select in form.find_all("select"):
        option = select.find("option", selected=True)
        choice[select["name"]] = option["value"] if option else ""
    return choice


def hidden(html: str, name: str) -> str:
    return parse(html).find("input", attrs={"name": name})["value"]


def post_mapping(client, page: str, columns: dict[str, str], **fields):
    data = {"token": hidden(page, "token"), **selected(page), **columns, **fields}
    return client.post("/patrimoine/import/colonnes", data=data)


def test_the_mapping_step_shows_columns_first_rows_and_guesses(client, auth, admin):
    auth.login(admin.email)
    columns = "ref;LIBELLE_LONG;NB_LGT;lat;lon;SECTEUR;INSEE_COM"
    page = upload(client, own_csv(header=columns))
    assert page.status_code == 200
    document = parse(page.text)
    header = [th.get_text(strip=True) for th in document.select(".import-preview th")]
    assert header == columns.split(";")
    first = [td.get_text(strip=True) for td in document.select(".import-preview td")]
    assert first[:7] == OWN_ROWS[0].split(";")
    choice = selected(page.text)
    assert choice["reference"] == "ref"
    assert choice["latitude"] == "lat" and choice["longitude"] == "lon"
    assert choice["nom"] == "" and choice["logements"] == ""
    options = [o["value"] for o in document.find("select", id="nom").find_all("option")]
    assert options == ["", *header]
    assert not residences()


def test_mapped_import_is_remembered_for_the_next_file(client, auth, admin, tmh):
    auth.login(admin.email)
    page = upload(client, own_csv())
    done = post_mapping(client, page.text, OWN_COLUMNS)
    assert done.status_code == 200, done.text
    assert definitions(done.text)["Nouvelles résidences"] == "2"
    assert residences()["G002"].agence.name == "Sud"

    # Next month's export, with one more row: the chosen columns are preselected...
    rows = [*OWN_ROWS, "G003;Les Cèdres;40;43,61;1,45;Nord;31555"]
    again = upload(client, own_csv(rows))
    assert {k: v for k, v in selected(again.text).items() if v} == OWN_COLUMNS
    # ...and « Importer » at once uses them.
    direct = upload(client, own_csv(rows), button="submit")
    assert direct.status_code == 200, direct.text
    assert definitions(direct.text)["Nouvelles résidences"] == "1"
    assert residences()["G003"].name == "Les Cèdres"


def test_importing_at_once_an_unrecognised_file_leads_to_the_mapping_step(
    client, auth, admin
):
    auth.login(admin.email)
    page = upload(client, own_csv(), button="submit")
    assert page.status_code == 200
    assert "Colonnes non reconnues (référence, nom, position)" in page.text
    assert parse(page.text).find("form", action="/patrimoine/import/colonnes")
    assert not residences()


def test_a_mapping_without_reference_or_position_is_refused_next_to_the_field(
    client, auth, admin
):
    auth.login(admin.email)
    page = upload(client, own_csv())
    refused = post_mapping(
        client, page.text, {**OWN_COLUMNS, "reference": "", "latitude": ""}
    )
    assert refused.status_code == 422
    assert "référence" in field_errors(refused.text, "reference")
    assert "latitude et longitude" in field_errors(refused.text, "latitude")
    assert not residences()
    # The file is still there: the corrected choice imports it.
    done = post_mapping(client, refused.text, OWN_COLUMNS)
    assert definitions(done.text)["Nouvelles résidences"] == "2"


def test_a_dry_run_keeps_the_file_for_the_real_import(client, auth, admin):
    auth.login(admin.email)
    page = upload(client, own_csv())
    dry = post_mapping(client, page.text, OWN_COLUMNS, dry_run="y")
    assert dry.status_code == 200 and "Simulation" in dry.text
    assert not residences()
    real = post_mapping(client, dry.text, OWN_COLUMNS)
    assert definitions(real.text)["Nouvelles résidences"] == "2"
    assert not parse(real.text).find("form", action="/patrimoine/import/colonnes")
    # Imported, the file is gone: posting its token again imports nothing.
    gone = post_mapping(client, dry.text, OWN_COLUMNS)
    assert gone.status_code == 302
    assert not list((Path(admin_folder(client)) / "imports").glob("*/*"))


def admin_folder(client) -> str:
    return client.application.instance_path


def test_a_token_from_another_session_opens_nothing(app, client, auth, admin, tmh):
    auth.login(admin.email)
    page = upload(client, own_csv())
    other = make_user(tmh, role=Role.ADMIN, email="autre@tmh.example")
    commit()
    stranger = app.test_client()
    AuthActions(stranger).login(other.email)
    response = post_mapping(stranger, page.text, OWN_COLUMNS)
    assert response.status_code in (302, 403)
    assert not residences()


@pytest.mark.parametrize("role", [Role.GARDIEN, Role.REFERENT, Role.DIRECTION])
def test_only_an_admin_may_map_columns(client, auth, tmh, role):
    user = make_user(tmh, role=role)
    commit()
    auth.login(user.email)
    response = client.post("/patrimoine/import/colonnes", data={"token": "x" * 32})
    assert response.status_code == 403


def test_a_champ_remembered_without_column_keeps_the_next_file_s_guess(
    client, auth, admin, tmh
):
    """The last file had no commune column; this one has « commune »: it is read."""
    auth.login(admin.email)
    page = upload(client, own_csv())
    assert selected(page.text)["commune"] == ""
    post_mapping(client, page.text, OWN_COLUMNS)
    header = OWN_HEADER + ";commune"
    rows = [row + ";Toulouse" for row in OWN_ROWS]
    again = upload(client, own_csv(rows, header=header))
    assert selected(again.text)["commune"] == "commune"
    direct = upload(client, own_csv(rows, header=header), button="submit")
    assert definitions(direct.text)["Résidences modifiées"] == "2"
    assert residences()["G001"].commune_name == "Toulouse"
