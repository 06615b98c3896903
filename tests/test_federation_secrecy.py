"""The small-count rule on everything a federation user can reach.

A federation's chargé de mission walks every GET route of ``app.url_map`` (with each
period, day and format a page offers), reads the daily synthesis e-mail and file, and
every download. In each table row, list item, JSON object or text line that names a
place (agence, quartier, QPV, commune), a month or a nature (family, category, reason
of a notable fact), no count of 1 to k-1 facts may stand. Totals over the period
(a day, a year) and per bailleur are not located and may be small.

The world is made of small cells at every level: quartier, agence, bailleur; day,
month; category, family, reason; the 28 days of the usual level; facts entered under
an imported file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, time, timedelta
from email import policy
from email.parser import BytesParser
from html import unescape

import pytest
from openpyxl import load_workbook

from orfi.auth.models import Role
from orfi.extensions import db
from orfi.federation.documents import document_for, organisation_identity
from orfi.federation.formats import CONTEXT_COLUMNS, read_documents
from orfi.federation.imports import import_documents
from orfi.federation.models import FederationImport
from orfi.federation.periods import Period
from orfi.reports.models import Victime
from orfi.stats.services import TABLE_SLUGS
from orfi.syntheses.bilan import MONTHS, SHORT_MONTHS
from orfi.syntheses.services import (
    build_message,
    build_synthesis,
    default_day,
    federation_perimeter,
    render_synthesis,
)
from tests.factories import (
    commit,
    insert_fact,
    make_action,
    make_agence,
    make_federation,
    make_intervention,
    make_meeting,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)

DAY = default_day()
#: Two years back: months with no fact but those entered under an imported file.
OLD_YEAR = DAY.year - 2
QPVS = ("QP031011", "QP031007")
COMMUNES = ("31555", "31149", "Colomiers")
FAMILIES = {
    "AP": "Atteintes aux personnes",
    "AB": "Atteintes aux biens",
    "TT": "Troubles de la tranquillité",
}
REASONS = ("Personnel victime", "Incendie", "Agression physique", "Gravité 3 ou 4")


def at(day: date, hour: int = 10) -> datetime:
    """A naive Paris wall-clock time (what the factories expect)."""
    return datetime.combine(day, time(hour))


@pytest.fixture
def world(app):
    """Two bailleurs of the federation's region, their small cells everywhere."""
    tmh = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    alt = make_organisation(code="ALT", name="Altéal")
    nord = make_agence(tmh, name="Agence Nord")
    mirail = make_agence(tmh, name="Agence Mirail")
    izards = make_residence(tmh, agence_id=nord.id, qpv_code=QPVS[0], logements=400)
    minimes = make_residence(tmh, agence_id=nord.id, logements=300)
    colomiers = make_residence(
        tmh,
        agence_id=nord.id,
        commune_insee="31149",
        commune_name="Colomiers",
        logements=200,
    )
    reynerie = make_residence(tmh, agence_id=mirail.id, qpv_code=QPVS[1], logements=500)
    loose = make_residence(tmh, commune_insee="31149", commune_name="Colomiers")
    bagatelle = make_residence(alt, qpv_code=QPVS[1], logements=250)
    referent = make_user(tmh, role=Role.REFERENT)
    alt_referent = make_user(alt, role=Role.REFERENT)
    federation = make_federation(code="USH-OCC", name="USH Occitanie")
    chargee = make_user(
        None, role=Role.FEDERATION, federation=federation, email="cm@ush.fr"
    )

    def facts(author, residence, n, day=DAY, **fields):
        for i in range(n):
            make_report(author, residence, occurred_at=at(day, 8 + i % 12), **fields)

    # The day: 6 notable facts in one quartier (a line of its own), 2 + 3 in two
    # others of the agence (pooled), 1 in the other agence, 1 without agence, 1 at
    # ALT; reasons of 1 and 2; two facts that are not notable.
    facts(referent, izards, 6, gravity=3)
    facts(referent, minimes, 2, category_code="AB03", gravity=1)
    facts(referent, colomiers, 3, gravity=4)
    facts(
        referent,
        reynerie,
        1,
        category_code="AP01",
        victime=Victime.PERSONNEL_BAILLEUR,
        gravity=1,
    )
    facts(referent, loose, 1, gravity=3)
    facts(alt_referent, bagatelle, 1, category_code="AP03", gravity=2)
    facts(referent, izards, 2, category_code="TT01", gravity=1)
    # The usual level: 3 notable facts of the Izards line (hidden), 10 of Minimes.
    for i in range(3):
        facts(referent, izards, 1, day=DAY - timedelta(days=3 + i), gravity=3)
    for i in range(10):
        facts(referent, minimes, 1, day=DAY - timedelta(days=2 + 2 * i), gravity=3)
    # A month with a single fact, four months ago.
    facts(referent, reynerie, 1, day=DAY - timedelta(days=120), category_code="TT04")
    commit()

    # A file of TMH's history two years back, then 2 facts entered in its months.
    history = Period(OLD_YEAR * 100 + 1, OLD_YEAR * 100 + 6)
    document = document_for(organisation_identity(tmh), history, [], 5)
    raw = json.dumps(document).encode()
    import_documents(read_documents(raw), raw)
    commit()
    source = db.session.scalar(db.select(FederationImport))
    for hour in (9, 10):  # older than the form accepts: inserted
        insert_fact(referent, minimes, datetime(OLD_YEAR, 3, 10, hour), gravity=3)

    meeting = make_meeting(chargee, bailleur_ids=[tmh.id])
    intervention = make_intervention(chargee, beneficiary_id=tmh.id)
    # A follow-up action on a fact (its routes must stay closed to the federation).
    action = make_action(db_fact(referent), referent)
    commit()
    return {
        "federation": federation,
        "chargee": chargee,
        "agences": (nord.name, mirail.name),
        "fact": db_fact(referent),
        "ids": {
            "import_id": source.id,
            "meeting_id": meeting.id,
            "intervention_id": intervention.id,
            "action_id": action.id,
            "residence_id": izards.id,
            "user_id": referent.id,
            "category_id": 1,
        },
    }


def db_fact(author):
    """A fact of the world (its uuid for fact routes, which must stay closed)."""
    from orfi.reports.models import Report

    return db.session.scalar(
        db.select(Report).where(Report.author_id == author.id).limit(1)
    )


# ------------------------------------------------------------------- reading cells


def markers(world) -> re.Pattern:
    """What locates a cell: places, months, natures (whole words)."""
    months = []
    for year in range(OLD_YEAR - 1, DAY.year + 2):
        for m in range(1, 13):
            months += [
                f"{MONTHS[m - 1]} {year}",
                f"{SHORT_MONTHS[m - 1]} {year}",
                f"{SHORT_MONTHS[m - 1]} {year % 100:02d}",
                f"{year}-{m:02d}",
                f"{year}{m:02d}",
            ]
    words = [
        *world["agences"],
        "Sans agence",
        "Autres quartiers",
        "Hors QPV",
        *QPVS,
        *COMMUNES,
        *FAMILIES,
        *FAMILIES.values(),
        *REASONS,
        *months,
    ]
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives}|[A-Z]{{2}}\d{{2}})(?![\w])")


#: A count standing alone: not part of a date, a decimal or a code.
_COUNT = re.compile(r"(?<![\w\-/.,:\u00a0\u202f])(\d+)(?![\w\-/.,:\u00a0\u202f%‰])")


def small_counts(cells: list, k: int) -> list[int]:
    """Return the counts of 1 to k-1 among ``cells`` (whole numbers only)."""
    found = []
    for cell in cells:
        if isinstance(cell, bool):
            continue
        if isinstance(cell, int):
            values = [cell]
        else:
            values = [int(v) for v in _COUNT.findall(str(cell))]
        found += [v for v in values if 0 < v < k]
    return found


def html_rows(html: str) -> list[list]:
    """Table rows (cells) and list items (one cell) of a page; JSON blocks' objects."""
    rows = []
    for row in re.findall(r"<tr\b.*?</tr>", html, flags=re.S):
        cells = re.findall(r"<t[dh]\b[^>]*>(.*?)</t[dh]>", row, flags=re.S)
        rows.append([unescape(re.sub(r"<[^>]+>", " ", c)).strip() for c in cells])
    for item in re.findall(r"<li\b[^>]*>(.*?)</li>", html, flags=re.S):
        rows.append([unescape(re.sub(r"<[^>]+>", " ", item))])
    for block in re.findall(
        r'<script type="application/json"[^>]*>(.*?)</script>', html, flags=re.S
    ):
        rows += json_rows(json.loads(block))
    return rows


def json_rows(value) -> list[list]:
    """Every object of a JSON document as a row of its scalar values."""
    if isinstance(value, dict):
        scalars = [v for v in value.values() if not isinstance(v, dict | list)]
        nested = [v for v in value.values() if isinstance(v, dict | list)]
        return [scalars] + [row for v in nested for row in json_rows(v)]
    if isinstance(value, list):
        return [row for v in value for row in json_rows(v)]
    return []


def file_rows(body: bytes, kind: str) -> list[list]:
    """The rows of a downloaded file or a page, whatever its format."""
    if kind == "xlsx":
        workbook = load_workbook(io.BytesIO(body), read_only=True)
        return [list(row) for sheet in workbook for row in sheet.values]
    text = body.decode("utf-8-sig")
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(text), delimiter=";"))
        if rows and tuple(rows[0][: len(CONTEXT_COLUMNS)]) == CONTEXT_COLUMNS:
            # The file's period is repeated on every row: the context, no cell's.
            rows = [row[len(CONTEXT_COLUMNS) :] for row in rows]
        return rows
    if kind == "json":
        return json_rows(json.loads(text))
    if kind == "text":
        return [[line] for line in text.splitlines()]
    return html_rows(text)


def located_small_cells(rows: list[list], pattern: re.Pattern, k: int) -> list:
    """Return the rows that name a place, month or nature beside a count under k."""
    bad = []
    for row in rows:
        text = " ".join(str(c) for c in row if c is not None)
        if pattern.search(text):
            # The located words themselves hold digits (2026-03, QP031007): drop them.
            cells = [pattern.sub(" ", str(c)) if isinstance(c, str) else c for c in row]
            if small_counts(cells, k):
                bad.append(row)
    return bad


# ------------------------------------------------------------------------- the walk

FORMATS = ("json", "csv", "xlsx", "geojson")


def _kind(response) -> str:
    mimetype = response.mimetype
    if "spreadsheet" in mimetype:
        return "xlsx"
    if "csv" in mimetype:
        return "csv"
    if "json" in mimetype:
        return "json"
    if mimetype == "text/html":
        return "html"
    return "other"


def _urls(app, world) -> dict[str, list[str]]:
    """Every GET route's URLs, with each period, day and format of its pages."""
    ids = world["ids"] | {"report_uuid": world["fact"].uuid, "photo_uuid": "0" * 32}
    month = f"{DAY.year}-{DAY.month:02d}"
    variants = {
        "federation.index": [
            f"?period={DAY.year}",
            f"?period={OLD_YEAR}",
            f"?period={month}",
            f"?period={OLD_YEAR}-01..{DAY.year}-12",
        ],
        "syntheses.daily": [f"?date={(DAY - timedelta(days=d)).isoformat()}"
                            for d in (0, 1, 3, 120)],
        "syntheses.bilan": [
            "",
            f"?date_from={DAY.isoformat()}&date_to={DAY.isoformat()}",
            f"?date_from={DAY.replace(day=1).isoformat()}&date_to={DAY.isoformat()}",
            f"?date_from={OLD_YEAR}-01-01&date_to={DAY.isoformat()}",
        ],
    }  # fmt: skip
    variants["activity.residence_search"] = ["?q=R%C3%A9sidence"]
    variants["federation.consolidation_file"] = variants["federation.index"]
    variants["syntheses.printable"] = variants["syntheses.daily"]
    variants["syntheses.bilan_xlsx"] = variants["syntheses.bilan"]
    urls: dict[str, list[str]] = {}
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static":
                continue
            choices = [{}]
            for name in rule.arguments:
                if name == "fmt":
                    choices = [c | {"fmt": f} for c in choices for f in FORMATS]
                elif name == "slug":
                    choices = [c | {"slug": s} for c in choices for s in TABLE_SLUGS]
                else:
                    choices = [c | {name: ids[name]} for c in choices]
            queries = variants.get(rule.endpoint, [""])
            urls[rule.endpoint] = [
                url_for(rule.endpoint, **c) + q for c in choices for q in queries
            ]
    return urls


@pytest.mark.parametrize("k", [5, 3])
def test_nothing_a_federation_reaches_shows_a_small_located_cell(
    app, client, auth, world, runner, tmp_path, k
):
    app.config["ORFI_FEDERATION_MIN_COUNT"] = k
    pattern = markers(world)
    auth.login(world["chargee"].email)
    read: dict[str, int] = {}
    problems = []
    for endpoint, urls in _urls(app, world).items():
        for url in urls:
            response = client.get(url, follow_redirects=True)
            if response.status_code != 200:
                assert response.status_code in (403, 404, 405), (url, response)
                continue
            kind = _kind(response)
            if kind == "other":
                continue  # the service worker, the manifest
            rows = file_rows(response.get_data(), kind)
            read[endpoint] = read.get(endpoint, 0) + len(rows)
            problems += [(url, row) for row in located_small_cells(rows, pattern, k)]

    # The synthesis as e-mailed (text and HTML) and as written by the command.
    data = build_synthesis(federation_perimeter(world["federation"]), DAY)
    html = render_synthesis(data, standalone=True)
    message = BytesParser(policy=policy.default).parsebytes(
        build_message(data, html, ["cm@ush.fr"]).as_bytes()
    )
    text = message.get_body(("plain",)).get_content()
    mail_html = message.get_body(("html",)).get_content()
    result = runner.invoke(
        args=["orfi", "synthese", "--federation", "USH-OCC", "--date",
              DAY.isoformat(), "--no-send", "--output", str(tmp_path)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (written,) = tmp_path.iterdir()
    for name, rows in (
        ("e-mail (texte)", file_rows(text.encode(), "text")),
        ("e-mail (HTML)", html_rows(mail_html)),
        ("fichier", html_rows(written.read_text(encoding="utf-8"))),
    ):
        read[name] = len(rows)
        problems += [(name, row) for row in located_small_cells(rows, pattern, k)]

    assert problems == []
    # The walk read every page and file a federation has, with rows in each.
    for endpoint in (
        "federation.index",
        "federation.consolidation_file",
        "federation.import_file",
        "federation.remove_import",
        "syntheses.daily",
        "syntheses.printable",
        "syntheses.bilan",
        "syntheses.bilan_xlsx",
        "activity.index",
        "e-mail (texte)",
        "e-mail (HTML)",
        "fichier",
    ):
        assert read.get(endpoint), endpoint


def test_the_walk_sees_small_located_cells_where_there_are(app, client, auth, world):
    """The same reading finds the small cells in a référent's own synthesis and
    bilan (who may see them): the walk above is not blind."""
    from orfi.auth.models import User

    referent = db.session.get(User, world["ids"]["user_id"])
    pattern = markers(world)
    k = 5
    auth.login(referent.email)
    page = client.get(f"/syntheses/?date={DAY.isoformat()}").text
    found = located_small_cells(html_rows(page), pattern, k)
    assert any("Personnel victime" in " ".join(row) for row in found)
    assert any("Agence Mirail" in " ".join(row) for row in found)
    bilan = client.get("/syntheses/bilan.xlsx").get_data()
    assert located_small_cells(file_rows(bilan, "xlsx"), pattern, k)


def test_the_federation_synthesis_pools_small_lines(app, world):
    app.config["ORFI_FEDERATION_MIN_COUNT"] = 5
    data = build_synthesis(federation_perimeter(world["federation"]), DAY)
    lines = {(g.bailleur, g.agence, g.quartier): g for g in data.groups}
    tmh = "Toulouse Métropole Habitat"
    izards = next(key for key in lines if key[1] == "Agence Nord" and QPVS[0] in key[2])
    # 6 facts: a line of its own; its 3 facts of the 28 days before: usual hidden.
    assert (lines[izards].count, lines[izards].usual) == (6, None)
    # Minimes (2) and Colomiers (3) of Agence Nord: pooled, with Minimes' usual.
    pooled = lines[(tmh, "Agence Nord", "Autres quartiers")]
    assert pooled.count == 5
    assert pooled.usual == pytest.approx(10 / 28)
    # Mirail's staff victim and the fact without agence: the bailleur's rest.
    assert lines[(tmh, "—", "Autres secteurs")].count == 2
    assert lines[("Altéal", "—", "Autres secteurs")].count == 1
    assert sum(g.count for g in data.groups) == data.total == 14
    assert data.reasons == [("Gravité 3 ou 4", 10)]
    assert data.reasons_hidden


def test_the_monthly_chart_says_which_facts_its_bars_hold(client, auth, world):
    auth.login(world["chargee"].email)
    year = DAY.year
    document = client.get(f"/federation/consolidation.json?period={year}").json
    facts = [row for each in document["documents"] for row in each["rows"]]
    total = sum(row["count"] for row in facts)
    with_month = sum(row["count"] for row in facts if row.get("month"))
    # Facts of the year in the region, counted in the database.
    from orfi.reports.models import Report
    from orfi.reports.queries import counted_reports

    counted = db.session.scalar(
        counted_reports(db.select(db.func.count()).select_from(Report)).where(
            Report.occurred_month.between(year * 100 + 1, year * 100 + 12)
        )
    )
    assert total == counted and 0 < with_month < total
    page = client.get(f"/federation/?period={year}").text
    lead = f"{with_month} des {total} faits"
    assert lead in page
    # Above the chart, where the eye falls, and the mean of all facts drawn on it.
    assert page.index(lead) < page.index('<svg class="month-chart"')
    assert 'class="mean-line"' in page


@pytest.mark.parametrize(
    ("cells", "shown", "hidden"),
    [
        # One small cell: the smallest published one goes with it, so that the
        # total minus the others never gives it back.
        ([("a", 1), ("b", 7), ("c", 9), ("d", 0)], [None, None, 9, 0], 8),
        ([("a", 1), ("b", 2), ("c", 9)], [None, None, 9], 3),
        ([("a", 5), ("b", 0)], [5, 0], 0),
        ([("a", 3)], [None], 3),  # alone: the total is the period's, not located
    ],
)
def test_suppress_hides_small_cells_and_what_would_give_them_back(cells, shown, hidden):
    from orfi.stats.secrecy import suppress

    result, pooled = suppress(cells, 5)
    assert [n for _, n in result] == shown
    assert [key for key, _ in result] == [key for key, _ in cells]
    assert pooled == hidden
    # What is shown plus what is pooled is the exact total.
    assert sum(n or 0 for _, n in result) + pooled == sum(n for _, n in cells)


def test_the_federation_bilan_pools_its_small_cells(client, auth, world):
    auth.login(world["chargee"].email)
    day = DAY.isoformat()
    page = client.get(f"/syntheses/bilan?date_from={day}&date_to={day}").text
    # The day's 16 facts (the notable 14 and 2 others): the total stays exact.
    assert "<strong>16</strong> faits sur la période" in page
    assert "Non précisé" in page
    workbook = load_workbook(
        io.BytesIO(
            client.get(f"/syntheses/bilan.xlsx?date_from={day}&date_to={day}").data
        ),
        read_only=True,
    )
    # (read-only sheets drop a row's empty last cells: a hidden count)
    families = [(*row, None)[:3] for row in workbook["Faits par famille"].values]
    assert families[-1][1:] == ("Total", 16)
    assert families[-2] == (None, "Non précisé (secret statistique)", 4)
    assert sum(row[2] or 0 for row in families[1:-1]) == 16
    # AP (2) and TT (2) hidden; the pool of two gives neither back.
    assert all(row[2] is None or row[2] >= 5 for row in families[1:-2])
