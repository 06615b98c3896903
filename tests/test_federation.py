"""Federation statistics: the format, its small-count rule, import and the view."""

from __future__ import annotations

import io
import json
import random
import re
import uuid
import zipfile
from datetime import datetime, timedelta
from html import unescape

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator
from openpyxl import load_workbook

from orfi import create_app
from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.errors import NotFound, ValidationError
from orfi.extensions import db
from orfi.federation.consolidation import consolidate, consolidated_document
from orfi.federation.dashboard import build_dashboard
from orfi.federation.documents import (
    build_bailleur_document,
    document_for,
    organisation_identity,
    row_from_json,
)
from orfi.federation.formats import (
    CSV_COLUMNS,
    read_documents,
    schema,
    validation_problems,
)
from orfi.federation.imports import import_documents, remove_import
from orfi.federation.models import FederationImport, FederationRow
from orfi.federation.periods import Period, month_text, parse_month, parse_period
from orfi.federation.rollup import Area, Cell, check_rows, roll_up
from orfi.nomenclature.services import load_default_nomenclature
from orfi.patrimoine.models import Residence
from orfi.reports.creation import derived_fields
from orfi.reports.models import Report
from orfi.reports.qualification import mark_duplicate
from orfi.timezone import from_local, to_local
from tests.factories import (
    DEFAULT_PASSWORD,
    commit,
    make_federation,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)
from tests.helpers import csrf_token

SECRETS = ("Jean Dupont", "Résidence secrète", "12 rue du Secret", "Agent Martin")


def this_month() -> int:
    now = to_local(utcnow())
    return now.year * 100 + now.month


def recent_period() -> Period:
    """The last twelve months up to now: every fact of the tests falls in it."""
    start = to_local(utcnow() - timedelta(days=330))
    return Period(start.year * 100 + start.month, this_month())


def add_facts(author, residence, n: int, code: str = "AB01", days_ago: int = 1):
    """File ``n`` facts of one category on one résidence, ``days_ago`` days ago.

    The first goes through the real service; the others copy it in one insert
    (new uuid, reference and time), which keeps the fixtures fast.
    """
    moment = utcnow() - timedelta(days=days_ago)
    first = make_report(
        author,
        residence,
        category_code=code,
        occurred_at=moment,
        description=f"{SECRETS[0]} a vu la scène",
    )
    columns = [c.key for c in Report.__table__.columns if c.key != "id"]
    template = {key: getattr(first, key) for key in columns}
    copies = []
    for i in range(1, n):
        at = moment - timedelta(minutes=i)
        copies.append(
            {
                **template,
                "uuid": uuid.uuid4(),
                "reference": f"{first.reference}-{i}",
                "occurred_at": at,
                **derived_fields(at, first.latitude, first.longitude),
            }
        )
    if copies:
        db.session.execute(sa.insert(Report), copies)


def populate(organisation, seed: int) -> None:
    """Give a bailleur a patrimoine in and out of QPVs and facts of every size."""
    rng = random.Random(seed)
    author = make_user(organisation, role=Role.REFERENT, name=SECRETS[3])
    residences = [
        make_residence(
            organisation,
            name=SECRETS[1],
            address=SECRETS[2],
            commune_insee="31555",
            commune_name="Toulouse",
            qpv_code="QP031007",
            qpv_generation="2015",
            logements=300,
            latitude=43.571234,
            longitude=1.392187,
        ),
        make_residence(
            organisation,
            commune_insee="31555",
            commune_name="Toulouse",
            logements=150,
        ),
        make_residence(
            organisation,
            commune_insee="31149",
            commune_name="Colomiers",
            logements=90,
            latitude=43.611,
            longitude=1.335,
        ),
        make_residence(organisation, commune_insee="", logements=40),
    ]
    for residence in residences:
        for code in ("AB01", "AP01", "TT01", "AB02"):
            for days in (2, 40):
                n = rng.choice((0, 1, 2, 3, 6, 7))
                if n:
                    add_facts(author, residence, n, code, days)


@pytest.fixture
def two_bailleurs(app):
    """Two bailleurs of Occitanie with facts, and a federation of the region."""
    return make_two_bailleurs()


def make_two_bailleurs() -> dict:
    """Build the world of ``two_bailleurs`` (also under ``csrf_app``)."""
    a = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    b = make_organisation(code="PSAL", name="Patrimoine SA Languedocienne")
    populate(a, 1)
    populate(b, 2)
    federation = make_federation(code="USH-OCC", name="USH Occitanie")
    user = make_user(role=Role.FEDERATION, federation=federation)
    commit()
    return {"a": a, "b": b, "federation": federation, "user": user}


# ------------------------------------------------------------------- the rule


def random_cells(rng: random.Random) -> tuple[dict, dict]:
    areas = [
        Area("31555", "QP031007", "2015"),
        Area("31555"),
        Area("31149"),
        Area(None),
    ]
    cells = {}
    for _ in range(rng.randint(0, 60)):
        cell = Cell(
            rng.choice(areas),
            rng.choice((202601, 202602, 202603)),
            *rng.choice(
                (("AB", "AB01"), ("AB", "AB02"), ("AP", "AP01"), ("TT", "TT01"))
            ),
        )
        cells[cell] = cells.get(cell, 0) + rng.choice((1, 1, 2, 3, 4, 5, 9))
    return cells, {a: 100 for a in areas}


@pytest.mark.parametrize("seed", range(40))
def test_roll_up_keeps_totals_and_hides_small_cells(seed):
    rng = random.Random(seed)
    k = rng.choice((3, 5, 10))
    cells, logements = random_cells(rng)
    rows = roll_up(cells, logements, {"31555": "Toulouse"}, k)
    assert sum(r.count for r in rows) == sum(cells.values())
    assert check_rows(rows, k) == []
    for row in rows:
        if row.commune_insee is not None:
            assert row.count == 0 or row.count >= k
        if row.commune_insee is not None and row.category_code is None and row.count:
            # A pooled row gathers at least two small cells.
            contributors = [
                c
                for c, n in cells.items()
                if n < k
                and c.area == Area(row.commune_insee, row.qpv_code, row.qpv_generation)
                and (row.month is None or c.month == row.month)
                and (row.family_code is None or c.family_code == row.family_code)
            ]
            assert len(contributors) >= 2
    # Every sector of the patrimoine has its row, which carries its logements.
    sectors = [r for r in rows if r.carries_logements and r.commune_insee]
    assert len(sectors) == 3
    assert sum(r.logements for r in rows if r.carries_logements) == 400
    # Located totals by sector are exact except what falls to the unlocated row.
    unlocated = sum(r.count for r in rows if r.commune_insee is None)
    assert unlocated >= sum(n for c, n in cells.items() if c.area.commune_insee is None)


def test_roll_up_publishes_big_cells_and_pools_small_ones():
    area = Area("31555", "QP031007", "2015")
    cells = {
        Cell(area, 202603, "AB", "AB01"): 7,
        Cell(area, 202603, "AB", "AB02"): 3,
        Cell(area, 202603, "AB", "AB05"): 2,
        Cell(area, 202603, "AP", "AP01"): 1,
        Cell(area, 202604, "AP", "AP02"): 2,
        Cell(area, 202605, "AP", "AP01"): 3,
        Cell(area, 202603, "TT", "TT01"): 4,
        Cell(area, 202604, "OC", "OC01"): 1,
    }
    rows = roll_up(cells, {area: 300}, {"31555": "Toulouse"}, 5)
    located = {
        (r.month, r.family_code, r.category_code): r.count
        for r in rows
        if r.commune_insee
    }
    assert located == {
        (202603, "AB", "AB01"): 7,  # big enough: as is
        (202603, "AB", None): 5,  # AB02 + AB05 pooled within family and month
        (None, "AP", None): 6,  # AP of three months pooled over the period
        (None, None, None): 5,  # sector row: TT01 4 + OC01 1, family not told
    }
    assert all(r.commune_name == "Toulouse" for r in rows)
    assert [r.logements for r in rows if r.carries_logements] == [300]
    assert not [r for r in rows if r.commune_insee is None]


def test_small_leftovers_lose_their_place():
    area = Area("31555", "QP031007", "2015")
    cells = {
        Cell(area, 202603, "AB", "AB01"): 7,
        Cell(area, 202603, "AP", "AP01"): 1,
        Cell(area, 202604, "TT", "TT01"): 2,
    }
    rows = roll_up(cells, {area: 300}, {}, 5)
    assert sum(r.count for r in rows) == 10
    unlocated = [r for r in rows if r.commune_insee is None]
    assert len(unlocated) == 1 and unlocated[0].count == 3
    assert unlocated[0].month is None and unlocated[0].family_code is None
    sector = [r for r in rows if r.commune_insee and r.family_code is None]
    assert [(r.count, r.logements) for r in sector] == [(0, 300)]


def test_check_rows_flags_a_small_located_cell():
    rows = roll_up({Cell(Area("31555"), 202603, "AB", "AB01"): 7}, {}, {}, 5)
    assert check_rows(rows, 5) == []
    assert check_rows(rows, 10)  # 7 < 10


# ------------------------------------------------------------------ the format


def test_periods_parse_in_french():
    assert parse_period("2026") == Period(202601, 202612)
    assert parse_period("2026-03") == Period(202603, 202603)
    assert parse_period("2025-07..2026-06") == Period(202507, 202606)
    assert Period(202507, 202606).months[5:7] == [202512, 202601]
    for bad in ("", "26", "2026-13", "2026-06..2026-01", "2026..2027", "hier"):
        with pytest.raises(ValidationError) as error:
            parse_period(bad)
        assert "Période invalide" in error.value.errors["period"][0]


def test_the_schema_is_a_valid_json_schema_and_shipped_in_docs():
    Draft202012Validator.check_schema(schema())
    from orfi import ROOT

    copy = ROOT / "docs" / "federation-export-1.0.schema.json"
    assert json.loads(copy.read_text("utf-8")) == schema()


def test_export_validates_and_holds_no_free_text_name_or_position(
    app, runner, two_bailleurs, tmp_path
):
    a = two_bailleurs["a"]
    period = recent_period()
    document = build_bailleur_document(a, period)
    assert validation_problems(document) == []
    assert document["format_version"] == "1.0"
    assert document["bailleur"] == {
        "code": "TMH",
        "name": "Toulouse Métropole Habitat",
        "kind": "esh",
        "region": "Occitanie",
    }
    assert document["suppression_rule"]["k"] == 5
    facts = db.session.scalar(
        db.select(db.func.count(Report.id)).where(Report.organisation_id == a.id)
    )
    assert sum(r["count"] for r in document["rows"]) == facts
    assert check_rows([row_from_json(r) for r in document["rows"]], 5) == []

    for suffix in ("json", "csv", "xlsx"):
        out = tmp_path / f"tmh.{suffix}"
        result = runner.invoke(
            args=[
                "orfi", "export-federation", "--period", period.label,
                "--organisation", "TMH", "--out", str(out),
            ]
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "écrit" in result.output
        raw = out.read_bytes()
        if suffix == "xlsx":
            workbook = load_workbook(io.BytesIO(raw), read_only=True)
            text = "\n".join(
                str(v)
                for sheet in workbook.worksheets
                for row in sheet.values
                for v in row
                if v is not None
            )
            assert workbook.sheetnames == ["Lisez-moi", "Faits", "Logements"]
        else:
            text = raw.decode("utf-8")
        for secret in SECRETS:
            assert secret not in text, (suffix, secret)
        for marker in ("TMH-20", "43.571234", "43,571234", "1.392187", "latitude"):
            assert marker not in text, (suffix, marker)
        if suffix != "xlsx":
            documents = read_documents(raw, out.name)
            assert len(documents) == 1
            assert documents[0]["rows"] == document["rows"]


def test_csv_columns_are_documented(app, two_bailleurs):
    from orfi import ROOT

    doc = (ROOT / "docs" / "exports-and-federation.md").read_text("utf-8")
    for column in CSV_COLUMNS:
        assert f"`{column}`" in doc


def test_invalid_files_are_refused_in_french_and_nothing_is_stored(app, two_bailleurs):
    document = build_bailleur_document(two_bailleurs["a"], recent_period())
    broken = json.loads(json.dumps(document))
    broken["rows"][0]["count"] = -1
    broken["rows"][0]["latitude"] = 43.6
    broken["bailleur"]["kind"] = "sci"
    del broken["period"]
    raw = json.dumps(broken).encode()
    with pytest.raises(ValidationError) as error:
        read_documents(raw, "tmh.json")
    messages = " ".join(error.value.errors["file"])
    assert "period" in messages and "champ obligatoire manquant" in messages
    assert "rows[0].count : doit valoir au moins 0" in messages
    assert "champ inconnu (latitude)" in messages
    assert "bailleur.kind" in messages
    stale = json.loads(json.dumps(document))
    stale["generated_at"] = "hier"
    with pytest.raises(ValidationError) as error:
        read_documents(json.dumps(stale).encode(), "tmh.json")
    assert "generated_at : date et heure invalides" in error.value.errors["file"][0]
    for raw, name, expected in (
        (b"\xff\xfe", "x.json", "UTF-8"),
        (b"{nope", "x.json", "JSON illisible"),
        (b"PK\x03\x04", "x.xlsx", "copie de lecture"),
        (b"a;b\n1;2\n", "x.csv", "colonnes manquantes"),
    ):
        with pytest.raises(ValidationError) as error:
            read_documents(raw, name)
        assert expected in error.value.errors["file"][0]

    # A small located count breaks the rule: refused whole.
    small = json.loads(json.dumps(document))
    fact_row = next(r for r in small["rows"] if r["month"])
    fact_row["count"] = 2
    with pytest.raises(ValidationError) as error:
        import_documents(read_documents(json.dumps(small).encode()), b"x")
    assert "secret statistique" in error.value.errors["file"][0]
    # A threshold below this instance's is refused too.
    lax = json.loads(json.dumps(document))
    lax["suppression_rule"]["k"] = 3
    with pytest.raises(ValidationError) as error:
        import_documents(read_documents(json.dumps(lax).encode()), b"x")
    assert "inférieur au seuil 5" in error.value.errors["file"][0]
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(FederationImport.id))) == 0
    assert db.session.scalar(db.select(db.func.count(FederationRow.id))) == 0


def test_import_is_idempotent_per_bailleur_and_period(
    app, runner, two_bailleurs, tmp_path
):
    period = recent_period()
    path = tmp_path / "tmh.json"
    result = runner.invoke(
        args=["orfi", "export-federation", "--period", period.label,
              "--organisation", "TMH", "--out", str(path)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    csv_path = tmp_path / "tmh.csv"
    runner.invoke(
        args=["orfi", "export-federation", "--period", period.label,
              "--organisation", "TMH", "--out", str(csv_path)]
    )  # fmt: skip
    # As on a federation's instance, where TMH is not a bailleur of its own: a file
    # never replaces the facts of a bailleur of this instance (tested below).
    two_bailleurs["a"].code = "TMHX"
    commit()
    for source in (path, path, csv_path):
        result = runner.invoke(args=["orfi", "import-federation", str(source)])
        assert result.exit_code == 0, result.output
    assert "import précédent remplacé" in result.output
    assert "utilise aussi cette instance" not in result.output
    imports = db.session.scalars(db.select(FederationImport)).all()
    assert len(imports) == 1
    rows = db.session.scalar(db.select(db.func.count(FederationRow.id)))
    assert rows == len(json.loads(path.read_text("utf-8"))["rows"])

    # An overlapping, different period is refused: it would count facts twice.
    other = json.loads(path.read_text("utf-8"))
    other["period"]["to"] = month_text(period.start)
    other["rows"] = [r for r in other["rows"] if r["month"] is None]
    overlap = tmp_path / "overlap.json"
    overlap.write_text(json.dumps(other), "utf-8")
    result = runner.invoke(args=["orfi", "import-federation", str(overlap)])
    assert result.exit_code == 1
    assert "chevauche" in result.output
    assert "rien n'a été importé" in result.output


# -------------------------------------------------------- two bailleurs, two ways


def _view(region: str, period: Period) -> dict:
    dashboard = build_dashboard(consolidate(region, period))
    return {
        "total": (dashboard.total.facts, dashboard.total.logements),
        "months": [(m.key, m.facts) for m in dashboard.months],
        "month_unspecified": dashboard.month_unspecified,
        "families": [(f.key, f.facts) for f in dashboard.families],
        "family_unspecified": dashboard.family_unspecified,
        "bailleurs": sorted((b.code, line.facts, line.logements)
                            for line, b in dashboard.bailleurs),
        "split": [(s.key, s.facts, s.logements) for s in dashboard.qpv_split],
        "communes": [(c.key, c.facts, c.logements) for c in dashboard.communes],
        "qpvs": [(q.key, q.facts, q.logements) for q in dashboard.qpvs],
        "map": dashboard.map_data,
    }  # fmt: skip


def test_importing_two_bailleurs_gives_the_shared_instance_totals(
    app, two_bailleurs, fresh_database_url, test_config
):
    period = recent_period()
    shared = _view("Occitanie", period)
    assert shared["total"][0] > 0
    files = [
        json.dumps(build_bailleur_document(two_bailleurs[x], period)).encode()
        for x in ("a", "b")
    ]

    # The federation's own instance: no native bailleur, the two files imported.
    other = create_app({**test_config, "SQLALCHEMY_DATABASE_URI": fresh_database_url})
    with other.app_context():
        db.create_all()
        load_default_nomenclature()
        for raw in files:
            import_documents(read_documents(raw), raw)
        db.session.commit()
        imported = _view("Occitanie", period)
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    assert imported == shared
    # Exact totals: every fact of both bailleurs, once.
    facts = db.session.scalar(db.select(db.func.count(Report.id)))
    assert shared["total"][0] == facts


def year_earlier(document: dict) -> dict:
    """The same document one year earlier: period and months shifted by 12 months."""
    shifted = json.loads(json.dumps(document))
    for bound in ("from", "to"):
        shifted["period"][bound] = month_text(
            parse_month(document["period"][bound]) - 100
        )
    for row in shifted["rows"]:
        if row["month"] is not None:
            row["month"] = month_text(parse_month(row["month"]) - 100)
    return shifted


def test_a_native_bailleur_brings_its_history_counted_once(app, two_bailleurs):
    """A bailleur that moved here imports the months before its first fact here."""
    live = recent_period()
    # The file of its former instance: the year before its facts on this one.
    history = year_earlier(build_bailleur_document(two_bailleurs["a"], live))
    raw = json.dumps(history).encode()
    before = _view("Occitanie", live)
    results = import_documents(read_documents(raw), raw)
    assert results[0].native
    assert "sans aucun fait saisi ici pour ces mois" in results[0].message
    db.session.commit()
    assert _view("Occitanie", live) == before

    # Over both years, each month comes from one source: the file, then the facts.
    both = Period(live.start - 100, live.end)
    consolidation = consolidate("Occitanie", both)
    tmh = next(b for b in consolidation.bailleurs if b.code == "TMH")
    assert tmh.native and tmh.imports
    assert tmh.source == "instance et fichiers importés"
    native = db.session.scalar(
        db.select(db.func.count(Report.id)).where(
            Report.organisation_id == two_bailleurs["a"].id
        )
    )
    file_facts = sum(r["count"] for r in history["rows"])
    assert file_facts == native > 0
    assert tmh.facts == native + file_facts
    months = {r.month for r in tmh.rows if r.month is not None}
    assert months & set(Period(live.start - 100, live.end - 100).months)
    assert months & set(live.months)
    total = _view("Occitanie", both)["total"][0]
    assert total == db.session.scalar(db.select(db.func.count(Report.id))) + file_facts


def _first_month(organisation) -> int:
    return db.session.scalar(
        db.select(db.func.min(Report.occurred_month)).where(
            Report.organisation_id == organisation.id
        )
    )


def _stored() -> tuple[int, int]:
    return (
        db.session.scalar(db.select(db.func.count(FederationImport.id))),
        db.session.scalar(db.select(db.func.count(FederationRow.id))),
    )


def _post_import(client, raw: bytes, filename: str):
    """Send a statistics file through the federation's import page."""
    return client.post(
        "/federation/import",
        data={"file": (io.BytesIO(raw), filename)},
        content_type="multipart/form-data",
    )


def test_a_file_never_replaces_the_facts_of_a_native_bailleur(
    app, runner, client, auth, two_bailleurs, tmp_path
):
    period = recent_period()
    raw = json.dumps(build_bailleur_document(two_bailleurs["a"], period)).encode()
    first = month_text(_first_month(two_bailleurs["a"]))
    with pytest.raises(ValidationError) as error:
        import_documents(read_documents(raw), raw)
    (message,) = error.value.errors["file"]
    assert message.startswith(
        "fichier : TMH (Toulouse Métropole Habitat) utilise cette instance"
    )
    assert f"faits saisis en {first}, mois couvert par le fichier" in message
    assert f"Importez seulement les mois antérieurs à {first}" in message
    db.session.rollback()
    assert _stored() == (0, 0)

    # The same refusal, whole, from the command line and from the import page.
    path = tmp_path / "tmh.json"
    path.write_bytes(raw)
    result = runner.invoke(args=["orfi", "import-federation", str(path)])
    assert result.exit_code == 1
    assert "rien n'a été importé" in result.output
    assert message in result.output
    auth.login(two_bailleurs["user"].email)
    response = _post_import(client, raw, "tmh.json")
    assert response.status_code == 422
    assert message in response.text
    assert _stored() == (0, 0)


def test_duplicates_are_facts_recorded_here(app, two_bailleurs):
    """A month whose only fact is a duplicate is still live here: it may come back."""
    tmh = two_bailleurs["a"]
    referent = make_user(tmh, role=Role.REFERENT)
    original = make_report(referent, occurred_at=utcnow() - timedelta(days=40))
    copy = make_report(referent, occurred_at=utcnow() - timedelta(days=100))
    mark_duplicate(referent, copy, original)
    commit()
    month = copy.occurred_month
    assert month < _first_month(two_bailleurs["b"]) and month == _first_month(tmh)
    # Its own export counts no fact that month (the duplicate is left out)...
    document = build_bailleur_document(tmh, Period(month, month))
    assert sum(r["count"] for r in document["rows"]) == 0
    raw = json.dumps(document).encode()
    with pytest.raises(ValidationError) as error:
        import_documents(read_documents(raw), raw)
    # ...yet a file may not take that month over.
    assert f"faits saisis en {month_text(month)}" in error.value.errors["file"][0]

    # The first month of the period with facts, then the month to stop before.
    later = Period(Period(month, this_month()).months[1], this_month())
    raw = json.dumps(build_bailleur_document(tmh, later)).encode()
    with pytest.raises(ValidationError) as error:
        import_documents(read_documents(raw), raw)
    (message,) = error.value.errors["file"]
    live = db.session.scalar(
        db.select(db.func.min(Report.occurred_month)).where(
            Report.organisation_id == tmh.id, Report.occurred_month >= later.start
        )
    )
    assert live != month
    assert f"faits saisis en {month_text(live)}" in message
    assert f"mois antérieurs à {month_text(month)}, mois de son premier" in message
    db.session.rollback()
    assert _stored() == (0, 0)


def _fact_at(author, residence, local: datetime) -> Report:
    """A fact at a Europe/Paris wall-clock time, however long ago."""
    report = make_report(author, residence)
    moment = from_local(local)
    report.occurred_at = moment
    for key, value in derived_fields(moment, report.latitude, report.longitude).items():
        setattr(report, key, value)
    commit()
    return report


UNCOUNTED_TITLE = "Faits saisis ici mais non comptés"


def _uncounted_notice(html: str) -> str:
    """The text of the page's notice of uncounted facts ("" when there is none)."""
    if UNCOUNTED_TITLE not in html:
        return ""
    section = html.split(UNCOUNTED_TITLE)[1].split("</section>")[0]
    text = unescape(re.sub(r"<[^>]+>", "", section))
    return " ".join(text.split())


def test_the_first_native_month_bounds_the_history(app, client, auth, two_bailleurs):
    organisation = make_organisation(code="NEUF", name="Nouveau Logis")
    author = make_user(organisation, role=Role.REFERENT)
    residence = make_residence(organisation)
    # 0:30 on 1 July in Paris is still 30 June in UTC: the local month counts.
    _fact_at(author, residence, datetime(2025, 7, 1, 0, 30))
    history = Period(202501, 202506)
    document = document_for(organisation_identity(organisation), history, [], 5)
    raw = json.dumps(document).encode()
    (result,) = import_documents(read_documents(raw), raw)
    assert result.native
    commit()
    stored = db.session.scalar(db.select(FederationImport))
    assert (stored.bailleur_code, stored.period_to) == ("NEUF", 202506)

    # A fact of the last month of the period, entered later: the same file is now
    # refused, and the accepted import stays as it was.
    _fact_at(author, residence, datetime(2025, 6, 30, 23, 30))
    with pytest.raises(ValidationError) as error:
        import_documents(read_documents(raw), raw)
    (message,) = error.value.errors["file"]
    assert "NEUF (Nouveau Logis)" in message
    assert "faits saisis en 2025-06" in message
    assert "Importez seulement les mois antérieurs à 2025-06" in message
    db.session.rollback()
    assert db.session.scalars(db.select(FederationImport.id)).all() == [stored.id]

    # The consolidated view keeps the file for June and says what it leaves out.
    (neuf,) = (b for b in consolidate("Occitanie", Period.year(2025)).bailleurs
               if b.code == "NEUF")  # fmt: skip
    assert [(u.source.id, u.months) for u in neuf.uncounted] == [
        (stored.id, [(202506, 1)])
    ]
    assert neuf.facts == 1  # July's fact only
    auth.login(two_bailleurs["user"].email)
    notice = _uncounted_notice(client.get("/federation/?period=2025").text)
    # One fact: a count under k, never written (secret statistique).
    assert (
        "NEUF (Nouveau Logis) : moins de 5 faits saisis ici en 2025-06, mois couvert "
        "par"
    ) in notice
    assert "(2025-01 à 2025-06). Ils ne sont pas comptés : pour ce mois," in notice
    assert "seuls mois antérieurs à 2025-06, mois de son premier fait" in notice


def test_facts_entered_under_an_imported_file_are_shown_not_counted(
    client, auth, two_bailleurs
):
    """Facts dated afterwards in months a file covers: named, counted, never added."""
    tmh = two_bailleurs["a"]
    live = recent_period()
    history = year_earlier(build_bailleur_document(tmh, live))
    raw = json.dumps(history).encode()
    import_documents(read_documents(raw), raw)
    commit()
    source = db.session.scalar(db.select(FederationImport))
    both = Period(live.start - 100, live.end)
    before = _view("Occitanie", both)
    auth.login(two_bailleurs["user"].email)
    page = client.get(f"/federation/?period={both.label}")
    assert page.status_code == 200 and _uncounted_notice(page.text) == ""
    assert "#uncounted-" not in page.text

    # Entered here afterwards, dated in two months the file covers; the first at
    # 0:30 local time on the 1st (still the previous month in UTC); one duplicate.
    first, second = (Period(history_start(history), live.end).months[i]
                     for i in (2, 4))  # fmt: skip
    author = make_user(tmh, role=Role.REFERENT)
    residence = db.session.scalars(
        db.select(Residence).where(Residence.organisation_id == tmh.id).limit(1)
    ).one()  # a new résidence would change the logements
    facts = [
        _fact_at(author, residence, datetime(first // 100, first % 100, day, 0, 30))
        for day in (1, 10, 20)
    ]
    mark_duplicate(author, facts[2], facts[1])
    for day in range(1, 7):
        _fact_at(author, residence, datetime(second // 100, second % 100, day, 12))
    commit()

    consolidation = consolidate("Occitanie", both)
    tmh_stats = next(b for b in consolidation.bailleurs if b.code == "TMH")
    assert [(u.source.id, u.months) for u in tmh_stats.uncounted] == [
        (source.id, [(first, 3), (second, 6)])
    ]
    assert tmh_stats.first_fact_month == first
    assert all(not b.uncounted for b in consolidation.bailleurs if b.code != "TMH")
    assert _view("Occitanie", both) == before  # the file still counts, alone

    page = client.get(f"/federation/?period={both.label}")
    notice = _uncounted_notice(page.text)
    assert (
        f"TMH (Toulouse Métropole Habitat) : moins de 5 faits saisis ici en "
        f"{month_text(first)} et 6 en {month_text(second)}, mois couverts par son "
        "fichier importé le"
    ) in notice
    assert (
        f"({history['period']['from']} à {history['period']['to']}). "
        "Ils ne sont pas comptés : pour ces mois, le fichier fait foi"
    ) in notice
    assert f"seuls mois antérieurs à {month_text(first)}" in notice
    # It points to the removal of that very file, named in the link.
    assert (
        "Pour les compter, retirez cet import (retirer l'import TMH "
        f"{history['period']['from']} à {history['period']['to']})"
    ) in notice
    assert f'href="/federation/imports/{source.id}/retirer"' in page.text
    assert "PSAL" not in notice
    assert 'href="#uncounted-TMH"' in page.text and 'id="uncounted-TMH"' in page.text
    # Aggregates only: no reference of any of these facts.
    assert not any(f.reference in page.text for f in facts)

    # A period the file does not cover: its figures are the facts, no notice.
    page = client.get(f"/federation/?period={live.label}")
    assert page.status_code == 200 and _uncounted_notice(page.text) == ""


def history_start(document: dict) -> int:
    """The first month of a document's period."""
    return parse_month(document["period"]["from"])


def test_one_refused_document_refuses_the_whole_file(app, two_bailleurs):
    period = recent_period()
    identity = {"code": "USHOCC", "name": "USH Occitanie", "region": "Occitanie"}
    document = consolidated_document(identity, consolidate("Occitanie", period))
    codes = [d["bailleur"]["code"] for d in document["documents"]]
    assert sorted(codes) == ["PSAL", "TMH"]
    # PSAL's document as if from another instance; TMH's replaces its live facts.
    psal = document["documents"][codes.index("PSAL")]
    psal["bailleur"] = {**psal["bailleur"], "code": "PSALX"}
    raw = json.dumps(document).encode()
    with pytest.raises(ValidationError) as error:
        import_documents(read_documents(raw), raw)
    (message,) = error.value.errors["file"]
    assert message.startswith(f"documents[{codes.index('TMH')}] : TMH (")
    db.session.rollback()
    assert _stored() == (0, 0)

    del document["documents"][codes.index("TMH")]
    raw = json.dumps(document).encode()
    (result,) = import_documents(read_documents(raw), raw)
    assert (result.bailleur_code, result.native) == ("PSALX", False)


def test_the_view_keeps_to_the_federation_region(app, two_bailleurs):
    paris = make_organisation(code="PH", name="Paris Habitat", region="Île-de-France")
    add_facts(make_user(paris, role=Role.REFERENT), make_residence(paris), 6)
    commit()
    codes = {b.code for b in consolidate("Occitanie", recent_period()).bailleurs}
    assert codes == {"TMH", "PSAL"}
    codes = {b.code for b in consolidate("", recent_period()).bailleurs}
    assert codes == {"TMH", "PSAL", "PH"}
    raw = json.dumps(build_bailleur_document(paris, recent_period())).encode()
    with pytest.raises(ValidationError) as error:
        import_documents(read_documents(raw), raw, region="Occitanie")
    assert "hors de votre périmètre" in error.value.errors["file"][0]


# ------------------------------------------------------------------------ pages

ROLES = [Role.GARDIEN, Role.REFERENT, Role.DIRECTION, Role.ADMIN, Role.FEDERATION]


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
def test_pages_by_role(client, auth, app, role):
    organisation = None if role is Role.FEDERATION else make_organisation()
    user = make_user(organisation, role=role)
    commit()
    auth.login(user.email)
    federation_pages = (
        "/federation/",
        "/federation/import",
        "/federation/consolidation.json",
        "/federation/consolidation.csv",
        "/federation/consolidation.xlsx",
    )
    for path in federation_pages:
        expected = 200 if role is Role.FEDERATION else 403
        assert client.get(path).status_code == expected, path
    for path in ("/federation/export", "/federation/export.json?period=2026"):
        expected = 200 if role in (Role.REFERENT, Role.ADMIN) else 403
        assert client.get(path).status_code == expected, path


def test_a_federation_user_reaches_no_fact_detail(client, auth, two_bailleurs):
    fact = db.session.scalars(db.select(Report).limit(1)).one()
    residence_id = fact.residence_id
    auth.login(two_bailleurs["user"].email)
    assert client.get("/").headers["Location"] == "/federation/"
    for path in (
        "/signalements/",
        "/signalements/mes",
        "/signalements/nouveau",
        f"/signalements/{fact.uuid}",
        f"/signalements/{fact.uuid}/confirmation",
        "/exports/signalements.csv",
        "/exports/signalements.geojson",
        "/exports/signalements.xlsx",
        f"/patrimoine/residences/{residence_id}",
    ):
        response = client.get(path)
        assert response.status_code in (403, 404), path
        assert fact.reference not in response.get_data(as_text=True)

    period = recent_period().label
    pages = [
        client.get(f"/federation/?period={period}"),
        client.get(f"/federation/consolidation.json?period={period}"),
        client.get(f"/federation/consolidation.csv?period={period}"),
    ]
    for response in pages:
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in text
        assert "TMH-20" not in text  # no fact reference
        assert "43.571234" not in text and "1.392187" not in text  # no position
    document = json.loads(pages[1].get_data())
    assert validation_problems(document) == []
    assert {d["bailleur"]["code"] for d in document["documents"]} == {"TMH", "PSAL"}


def test_consolidated_view_shows_totals_rates_trend_and_map(
    client, auth, two_bailleurs
):
    period = recent_period()
    auth.login(two_bailleurs["user"].email)
    page = client.get(f"/federation/?period={period.label}")
    assert page.status_code == 200
    html = page.text
    dashboard = build_dashboard(consolidate("Occitanie", period))
    total = f"{dashboard.total.facts:,}".replace(",", "\u202f")
    assert f'<span class="kpi-value">{total}</span>' in html
    assert "faits pour 1&nbsp;000 logements" in html
    for title in ("Évolution mensuelle", "Par famille", "En QPV et hors QPV",
                  "Par bailleur", "Par commune", "Par QPV"):  # fmt: skip
        assert title in html
    assert (
        "Toulouse Métropole Habitat" in html and "Patrimoine SA Languedocienne" in html
    )
    assert 'class="month-chart"' in html
    # The map: data as JSON, code in a static file, no inline script.
    assert '<script type="application/json" id="federation-map-data">' in html
    assert "js/federation-map.js" in html
    assert "vendor/leaflet/leaflet.js" in html
    scripts = html.split("<script")[1:]
    assert all(
        'type="application/json"' in s.split(">")[0] or " src=" in s.split(">")[0]
        for s in scripts
    )
    data = html.split('id="federation-map-data">')[1].split("</script>")[0]
    map_data = json.loads(data)
    communes = {f["properties"]["code"] for f in map_data["communes"]["features"]}
    assert "31555" in communes and "31149" in communes
    assert {f["properties"]["code"] for f in map_data["qpv"]["features"]} <= {
        "QP031007"
    }
    for feature in map_data["communes"]["features"]:
        assert set(feature["properties"]) == {
            "code",
            "name",
            "facts",
            "logements",
            "rate",
        }


def test_federation_downloads_are_readable(client, auth, two_bailleurs):
    period = recent_period().label
    auth.login(two_bailleurs["user"].email)
    response = client.get(f"/federation/consolidation.xlsx?period={period}")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    assert workbook.sheetnames == ["Lisez-moi", "Faits", "Logements"]
    header = next(workbook["Faits"].values)
    assert header[:2] == ("Bailleur (code)", "Bailleur")
    response = client.get(f"/federation/consolidation.csv?period={period}")
    documents = read_documents(response.get_data(), "consolidation.csv")
    assert {d["bailleur"]["code"] for d in documents} == {"TMH", "PSAL"}
    assert client.get("/federation/?period=2026-13").status_code == 400


def test_web_import_by_the_federation(client, auth, two_bailleurs):
    outsider = make_organisation(code="AAA", name="Autre bailleur", region="Occitanie")
    add_facts(make_user(outsider, role=Role.REFERENT), make_residence(outsider), 6)
    commit()
    period = recent_period()
    raw = json.dumps(build_bailleur_document(outsider, period)).encode()
    # The bailleur runs its own instance: here, another code and another region.
    outsider.code, outsider.region = "AAAX", "Bretagne"
    commit()
    auth.login(two_bailleurs["user"].email)
    response = _post_import(client, raw, "aaa.json")
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert "AAA (Autre bailleur)" in page.text
    assert "6 fait(s)" in page.text
    assert db.session.scalar(db.select(db.func.count(FederationImport.id))) == 1

    broken = json.loads(raw)
    broken["rows"][0]["commune_insee"] = "Toulouse"
    response = _post_import(client, json.dumps(broken).encode(), "aaa.json")
    assert response.status_code == 422
    assert "rows[0].commune_insee : format invalide" in response.text
    assert "Fichiers importés" in response.text
    response = client.post(
        "/federation/import", data={}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "Choisissez un fichier." in response.text


def test_bailleur_export_page_previews_the_file(client, auth, two_bailleurs):
    referent = make_user(two_bailleurs["a"], role=Role.REFERENT)
    commit()
    auth.login(referent.email)
    period = recent_period()
    page = client.get(f"/federation/export?period={period.label}")
    assert page.status_code == 200
    assert "Faits comptés" in page.text
    assert "Publiés avec leur catégorie" in page.text
    response = client.get(f"/federation/export.json?period={period.label}")
    assert response.status_code == 200
    document = json.loads(response.get_data())
    assert validation_problems(document) == []
    assert document["bailleur"]["code"] == "TMH"
    csv_response = client.get(f"/federation/export.csv?period={period.label}")
    assert csv_response.get_data().startswith(b"\xef\xbb\xbfformat_version;")
    assert client.get("/federation/export.pdf").status_code == 404


def test_commands_explain_their_errors(app, runner, two_bailleurs, tmp_path):
    out = str(tmp_path / "x.json")
    result = runner.invoke(
        args=["orfi", "export-federation", "--period", "2026", "--out", out]
    )
    assert result.exit_code == 1
    assert "--organisation" in result.output
    result = runner.invoke(
        args=["orfi", "export-federation", "--period", "hier", "--out", out,
              "--organisation", "TMH"]
    )  # fmt: skip
    assert result.exit_code == 1 and "Période invalide" in result.output
    result = runner.invoke(
        args=["orfi", "export-federation", "--period", "2026",
              "--out", str(tmp_path / "x.pdf"), "--organisation", "TMH"]
    )  # fmt: skip
    assert result.exit_code == 1 and "Format inconnu" in result.output
    consolidated = tmp_path / "all.json"
    result = runner.invoke(
        args=["orfi", "export-federation", "--period", recent_period().label,
              "--consolidated", "--region", "Occitanie", "--out", str(consolidated)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    documents = read_documents(consolidated.read_bytes(), "all.json")
    assert [d["bailleur"]["code"] for d in documents] == ["PSAL", "TMH"]


def _readable(body: bytes) -> str:
    """The text of a response; the XML inside a zip (XLSX) for spreadsheets."""
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "".join(archive.read(n).decode("utf-8") for n in archive.namelist())
    return body.decode("utf-8", errors="replace")


def test_no_page_shows_a_federation_user_any_fact_detail(
    client, auth, two_bailleurs, app
):
    """Every GET page of the app, as a federation user: no detail of any fact.

    Résidence names may appear (the federation's own activity pages name sites);
    descriptions, authors, references and positions of facts may not.
    """
    fact = db.session.scalars(db.select(Report).limit(1)).one()
    references = set(db.session.scalars(db.select(Report.reference)))
    values = {
        "report_uuid": fact.uuid,
        "residence_id": fact.residence_id,
        "photo_uuid": uuid.uuid4(),
        "fmt": "json",
        "slug": "categories",
    }
    period = recent_period().label
    auth.login(two_bailleurs["user"].email)
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if not set(rule.arguments) <= set(values):
            continue  # ids of objects these bailleurs do not have
        path = rule.build({k: values[k] for k in rule.arguments})[1]
        response = client.get(f"{path}?period={period}")
        text = _readable(response.get_data())
        for secret in (SECRETS[0], SECRETS[3], "43.571234", "1.392187"):
            assert secret not in text, (path, secret)
        assert not any(reference in text for reference in references), path
        checked += 1
    assert checked > 20


# ------------------------------------------------------------ removing an import


def _history_under_facts(tmh) -> tuple[FederationImport, dict, int]:
    """TMH's history file (the year before its facts here), imported; then facts
    recorded here afterwards in two of its months: 3 (one a duplicate) in the first,
    6 in the second. Returns the import, its document and that first month."""
    history = year_earlier(build_bailleur_document(tmh, recent_period()))
    raw = json.dumps(history).encode()
    import_documents(read_documents(raw), raw)
    commit()
    months = Period(history_start(history), parse_month(history["period"]["to"]))
    first, second = months.months[2], months.months[4]
    author = make_user(tmh, role=Role.REFERENT)
    residence = db.session.scalars(
        db.select(Residence).where(Residence.organisation_id == tmh.id).limit(1)
    ).one()
    facts = [
        _fact_at(author, residence, datetime(first // 100, first % 100, day, 12))
        for day in (1, 10, 20)
    ]
    mark_duplicate(author, facts[2], facts[1])
    for day in range(1, 7):
        _fact_at(author, residence, datetime(second // 100, second % 100, day, 12))
    commit()
    return db.session.scalar(db.select(FederationImport)), history, first


def _tmh_stats(period: Period):
    (stats,) = (b for b in consolidate("Occitanie", period).bailleurs
                if b.code == "TMH")  # fmt: skip
    return stats


def _counted_facts(organisation) -> int:
    return db.session.scalar(
        db.select(db.func.count(Report.id)).where(
            Report.organisation_id == organisation.id,
            Report.duplicate_of_id.is_(None),
        )
    )


def test_removing_a_history_file_counts_the_facts_recorded_here_again(
    app, two_bailleurs
):
    tmh = two_bailleurs["a"]
    source, history, first = _history_under_facts(tmh)
    file_facts = sum(r["count"] for r in history["rows"])
    both = Period(history_start(history), recent_period().end)
    stats = _tmh_stats(both)
    assert stats.uncounted_facts == 9
    # The file counts for its months, the 9 facts entered since under it do not.
    assert stats.facts == _counted_facts(tmh) - 8 + file_facts
    psal_before = _view("Occitanie", both)["bailleurs"]
    psal_before = [b for b in psal_before if b[0] == "PSAL"]

    # Its months before the first fact here: refused while the file is there.
    earlier = Period(history_start(history), Period(both.start, first).months[-2])
    identity = organisation_identity(tmh)
    raw = json.dumps(document_for(identity, earlier, [], 5)).encode()
    with pytest.raises(ValidationError) as error:
        import_documents(read_documents(raw), raw)
    assert "chevauche l'import" in error.value.errors["file"][0]
    db.session.rollback()

    removal = remove_import(source.id, region="Occitanie")
    commit()
    assert (removal.code, removal.name, removal.period, removal.facts) == (
        "TMH",
        "Toulouse Métropole Habitat",
        Period(history_start(history), parse_month(history["period"]["to"])),
        file_facts,
    )
    assert (removal.native, removal.live_facts, removal.first_fact_month) == (
        True,
        9,
        first,
    )
    assert removal.message.startswith(
        f"Import retiré : TMH (Toulouse Métropole Habitat), {removal.months}, "
        f"{file_facts} fait(s). TMH utilise aussi cette instance : les faits saisis "
        "ici pour ces mois sont de nouveau comptés (9 à ce jour)."
    )
    assert f"mois antérieurs à {month_text(first)}" in removal.message
    assert _stored() == (0, 0)  # the import and its rows
    stats = _tmh_stats(both)
    assert not stats.imports and not stats.uncounted
    assert stats.source == "cette instance"
    assert stats.facts == _counted_facts(tmh)  # every fact recorded here, once
    assert [b for b in _view("Occitanie", both)["bailleurs"] if b[0] == "PSAL"] == (
        psal_before
    )

    # The history of the months before its first fact here is now accepted; the
    # removed file itself stays refused: facts are recorded in its months.
    (result,) = import_documents(read_documents(raw), raw)
    assert result.native and result.period == earlier
    whole = json.dumps(history).encode()
    with pytest.raises(ValidationError) as error:
        import_documents(read_documents(whole), whole)
    assert f"faits saisis en {month_text(first)}" in error.value.errors["file"][0]


def _token(html: str) -> str:
    return csrf_token(html)


def test_the_federation_removes_a_file_from_the_import_page(csrf_app):
    """As the app runs: CSRF on, a confirmation page, then the POST of its form."""
    world = make_two_bailleurs()
    tmh = world["a"]
    source, history, first = _history_under_facts(tmh)
    months = f"{history['period']['from']} à {history['period']['to']}"
    url = f"/federation/imports/{source.id}/retirer"
    client = csrf_app.test_client()
    login = client.post(
        "/connexion",
        data={
            "email": world["user"].email,
            "password": DEFAULT_PASSWORD,
            "csrf_token": _token(client.get("/connexion").text),
        },
    )
    assert login.status_code == 302

    page = client.get("/federation/import").text
    assert f'href="{url}"' in page
    assert f'aria-label="Retirer l\'import TMH {months}">Retirer</a>' in unescape(page)

    confirmation = client.get(url)
    assert confirmation.status_code == 200
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", confirmation.text)).split())
    assert (
        f"Retirer l'import TMH Bailleur Toulouse Métropole Habitat TMH Période {months}"
        in (text)
    )
    assert (
        "les faits saisis ici pour ces mois sont de nouveau comptés (9 à ce jour)"
        in (text)
    )
    assert f"mois antérieurs à {month_text(first)}" in text
    assert f'<form method="post" action="{url}"' in confirmation.text
    assert f"Retirer l'import TMH {months}</button>" in unescape(confirmation.text)
    assert _stored()[0] == 1  # looking removes nothing

    refused = client.post(url, data={})
    assert refused.status_code == 400  # no CSRF token
    assert _stored()[0] == 1

    response = client.post(url, data={"csrf_token": _token(confirmation.text)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/federation/import"
    page = client.get("/federation/import").text
    flash = unescape(page.split('class="flash flash-success"')[1].split("</p>")[0])
    assert "Import retiré : TMH (Toulouse Métropole Habitat)" in flash
    assert "les faits saisis ici pour ces mois sont de nouveau comptés" in flash
    assert "Aucun fichier importé." in page
    assert _stored() == (0, 0)
    # Gone: the page and a second POST (a double tap) answer 404.
    assert client.get(url).status_code == 404
    second = client.post(url, data={"csrf_token": _token(page)})
    assert second.status_code == 404


def test_a_federation_removes_only_the_files_of_its_region(client, auth, app):
    """Another region's import answers 404, like an import that does not exist."""
    files = []
    for code, region in (("LOGIS", "Occitanie"), ("ARMOR", "Bretagne")):
        identity = {"code": code, "name": f"{code} Habitat", "kind": "oph",
                    "region": region}  # fmt: skip
        document = document_for(identity, Period.year(2024), [], 5)
        raw = json.dumps(document).encode()
        import_documents(read_documents(raw), raw)
        files.append(db.session.scalar(
            db.select(FederationImport).where(FederationImport.bailleur_code == code)
        ))  # fmt: skip
    logis, armor = files
    bretagne = make_user(
        role=Role.FEDERATION, federation=make_federation(region="Bretagne")
    )
    occitanie = make_user(role=Role.FEDERATION, federation=make_federation())
    national = make_user(role=Role.FEDERATION, federation=make_federation(region=""))
    commit()

    auth.login(bretagne.email)
    assert "LOGIS" not in client.get("/federation/import").text
    for source in (logis, armor):
        url = f"/federation/imports/{source.id}/retirer"
        expected = 200 if source is armor else 404
        assert client.get(url).status_code == expected
    for url in (
        f"/federation/imports/{logis.id}/retirer",
        f"/federation/imports/{armor.id + logis.id + 1}/retirer",  # no such import
        "/federation/imports/99999999999/retirer",
    ):
        response = client.post(url)
        assert response.status_code == 404, url
        assert "LOGIS" not in response.text
    assert _stored()[0] == 2
    with pytest.raises(NotFound):
        remove_import(logis.id, region="Bretagne")
    db.session.rollback()
    assert _stored()[0] == 2

    auth.logout()
    auth.login(occitanie.email)
    assert client.post(f"/federation/imports/{armor.id}/retirer").status_code == 404
    response = client.post(f"/federation/imports/{logis.id}/retirer")
    assert response.status_code == 302
    flash = unescape(client.get("/federation/import").text)
    # Not a bailleur of this instance: its figures go, nothing comes back.
    assert (
        "Import retiré : LOGIS (LOGIS Habitat), 2024-01 à 2024-12, 0 fait(s)." in flash
    )
    assert "Ses chiffres de ces mois ne sont plus comptés" in flash
    assert "de nouveau comptés" not in flash
    assert db.session.scalars(db.select(FederationImport.bailleur_code)).all() == [
        "ARMOR"
    ]

    auth.logout()
    auth.login(national.email)  # a national federation reaches every region
    assert client.post(f"/federation/imports/{armor.id}/retirer").status_code == 302
    assert _stored() == (0, 0)


@pytest.mark.parametrize("role", ROLES[:-1], ids=[r.value for r in ROLES[:-1]])
def test_bailleurs_cannot_remove_an_import(client, auth, app, role):
    identity = {"code": "LOGIS", "name": "Logis", "kind": "oph", "region": "Occitanie"}
    raw = json.dumps(document_for(identity, Period.year(2024), [], 5)).encode()
    import_documents(read_documents(raw), raw)
    user = make_user(make_organisation(), role=role)
    commit()
    source = db.session.scalar(db.select(FederationImport))
    auth.login(user.email)
    url = f"/federation/imports/{source.id}/retirer"
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert _stored()[0] == 1


def test_the_command_removes_one_file_of_a_bailleur(app, runner, two_bailleurs):
    # PSAL's files as if from its own instance: this one's year and the year before.
    document = build_bailleur_document(two_bailleurs["b"], recent_period())
    document["bailleur"]["code"] = "PSALX"
    for version in (document, year_earlier(document)):
        raw = json.dumps(version).encode()
        import_documents(read_documents(raw), raw)
    commit()
    period = document["period"]
    older = year_earlier(document)["period"]

    def remove(*args):
        return runner.invoke(args=["orfi", "remove-federation-import", *args])

    for args, expected in (
        (("--code", "PSALX", "--from", "2025-13", "--to", "2026-01"),
         "Erreur (from) : mois invalide « 2025-13 » : écrivez AAAA-MM"),
        (("--code", "PSALX", "--from", "2025-04", "--to", "2025"),
         "Erreur (to) : mois invalide « 2025 »"),
        (("--code", "PSALX", "--from", "2025-04", "--to", "2025-01"),
         "le mois de fin (--to) précède celui de début (--from)"),
        (("--code", "NOPE", "--from", "2025-01", "--to", "2025-04"),
         "Erreur : Aucun fichier importé pour le bailleur NOPE."),
        (("--code", "psalx", "--from", older["from"], "--to", period["to"]),
         f"Erreur : Aucun fichier importé de PSALX pour {older['from']} à "
         f"{period['to']} ; périodes importées : {older['from']} à {older['to']}, "
         f"{period['from']} à {period['to']}."),
    ):  # fmt: skip
        result = remove(*args)
        assert result.exit_code == 1, args
        assert expected in result.output, result.output
    assert _stored()[0] == 2

    result = remove("--code", " psalx", "--from", period["from"], "--to", period["to"])
    assert result.exit_code == 0, result.output
    facts = sum(r["count"] for r in document["rows"])
    assert result.output.startswith(
        f"Import retiré : PSALX (Patrimoine SA Languedocienne), {period['from']} à "
        f"{period['to']}, {facts} fait(s). Ses chiffres de ces mois ne sont plus "
        "comptés"
    )
    # The older file stays, rows and all; the removed one's rows are gone.
    (left,) = db.session.scalars(db.select(FederationImport)).all()
    assert month_text(left.period_from) == older["from"]
    assert _stored() == (1, len(document["rows"]))
    assert remove("--code", "PSALX", "--from", period["from"], "--to", period["to"]
                  ).exit_code == 1  # fmt: skip
