"""The statistics page: perimeter, duplicates, hand-computed figures, CSV, indexes."""

from __future__ import annotations

import csv
import importlib.util
import io
from datetime import datetime

import pytest
import sqlalchemy as sa

from orfi import ROOT
from orfi.auth.models import Role
from orfi.extensions import db
from orfi.stats.filters import Period, StatsFilters, default_period
from tests.factories import (
    commit,
    insert_fact,
    make_organisation,
    make_user,
)
from tests.helpers import PERIOD, build_stats_world, script_tags


@pytest.fixture
def world(app):
    """The world of :func:`tests.helpers.build_stats_world`."""
    return build_stats_world()


def url(path: str = "/statistiques/", **args) -> str:
    from urllib.parse import urlencode

    return path + "?" + urlencode({**PERIOD, **args})


def read_csv(response) -> list[dict]:
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize(
    ("role", "status"),
    [("referent", 200), ("direction", 200), ("admin", 200), ("chef", 200),
     ("gardien", 403), ("federation", 403)],
)  # fmt: skip
def test_who_may_open_the_statistics(client, auth, world, role, status):
    auth.login(world[role].email)
    assert client.get(url()).status_code == status
    assert client.get(url("/statistiques/familles.csv")).status_code == status


def test_anonymous_users_are_sent_to_the_login_page(client, world):
    response = client.get(url())
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


# -------------------------------------------------------------- hand-computed figures


def test_counts_of_the_period_by_hand(client, auth, world):
    auth.login(world["referent"].email)
    page = client.get(url())
    assert page.status_code == 200
    assert '<strong class="kpi-value" id="kpi-total">4</strong>' in page.text
    families = {
        r["famille"]: r for r in read_csv(client.get(url("/statistiques/familles.csv")))
    }
    assert families["AB"]["faits"] == "2"
    assert families["TT"]["faits"] == "1"
    assert families["AP"]["faits"] == "1"
    assert families["AP"]["plaintes"] == "1"
    assert families["AB"]["taux_plainte"] == "50,00"
    assert "Taux de plainte" in page.text and "50,0\u202f%" in page.text
    months = read_csv(client.get(url("/statistiques/mois.csv")))
    assert months == [{"mois": "2026-03", "faits": "4", "incomplet": ""}]


def test_weeks_days_and_hours_are_local_time(client, auth, world):
    auth.login(world["referent"].email)
    weeks = {
        r["lundi"]: r for r in read_csv(client.get(url("/statistiques/semaines.csv")))
    }
    assert list(weeks) == [
        "2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23",
        "2026-03-30",
    ]  # fmt: skip
    assert weeks["2026-02-23"]["incomplete"] == "oui"  # only Sunday 1 March is in
    assert weeks["2026-03-30"]["incomplete"] == "oui"
    assert [weeks[w]["faits"] for w in weeks] == ["0", "1", "1", "0", "1", "1"]
    hours = {
        r["heure"]: r for r in read_csv(client.get(url("/statistiques/heures.csv")))
    }
    assert hours["8 h"]["lundi"] == "1"
    assert hours["12 h"]["dimanche"] == "1"
    # 23:30 on 29 March, after the change to summer time (21:30 UTC).
    assert hours["23 h"]["dimanche"] == "1"
    assert hours["23 h"]["mardi"] == "1"
    assert (
        sum(int(v) for r in hours.values() for k, v in r.items() if k != "heure") == 4
    )


def test_period_comparisons_by_hand(client, auth, world):
    auth.login(world["referent"].email)
    rows = {
        r["famille"]: r
        for r in read_csv(client.get(url("/statistiques/comparaison.csv")))
    }
    everything = rows["tout"]
    assert everything["periode"] == "4"
    assert everything["periode_precedente"] == "2"  # 28 Feb and 1 Feb, not 28 Jan
    assert everything["evolution_precedente_pct"] == "100,00"
    assert everything["un_an_avant"] == "1"
    assert everything["evolution_un_an_pct"] == "300,00"
    assert rows["AB"]["periode"] == "2" and rows["AB"]["periode_precedente"] == "2"
    assert rows["AB"]["evolution_precedente_pct"] == "0,00"
    assert rows["TT"]["periode_precedente"] == "0"
    assert rows["TT"]["evolution_precedente_pct"] == ""  # no percentage from zero


def test_twelve_months_compare_once_and_only_over_history(client, auth, world):
    """Over twelve months the previous period is the year before: one comparison,
    and none while the previous period starts before the first fact recorded."""
    auth.login(world["referent"].email)
    twelve = {"date_from": "2025-04-01", "date_to": "2026-03-31"}
    rows = read_csv(client.get(url("/statistiques/comparaison.csv", **twelve)))
    everything = next(r for r in rows if r["famille"] == "tout")
    # 4 in March 2026, 28 Feb, 1 Feb and 28 Jan 2026.
    assert everything["periode"] == "7"
    assert "un_an_avant" not in everything
    # The first fact is of March 2025: April 2024 to March 2025 is no history.
    assert everything["periode_precedente"] == ""
    assert everything["evolution_precedente_pct"] == ""
    page = client.get(url(**twelve)).text
    assert page.count("Pas encore d'historique") == 1
    assert "depuis mars 2025" in page
    assert "Même période un an avant" not in page
    ranking = read_csv(client.get(url("/statistiques/residences.csv", **twelve)))
    borderouge = next(r for r in ranking if r["residence"] == "Borderouge")
    assert (borderouge["faits"], borderouge["periode_precedente"]) == ("2", "")
    assert borderouge["evolution"] == ""

    # A fact imported from April 2024 gives the previous twelve months a history.
    insert_fact(
        world["referent"], world["borderouge"], datetime(2024, 4, 2, 10), "AB01"
    )
    commit()
    rows = read_csv(client.get(url("/statistiques/comparaison.csv", **twelve)))
    everything = next(r for r in rows if r["famille"] == "tout")
    assert everything["periode_precedente"] == "2"  # 2 Apr 2024 and 10 Mar 2025
    assert everything["evolution_precedente_pct"] == "250,00"
    page = client.get(url(**twelve)).text
    assert "Pas encore d'historique" not in page
    assert page.count("Période précédente</span>") == 1


def test_a_new_deployment_shows_no_trend(client, auth, world):
    """March 2025's first fact: March 2025 has no month before it to compare with."""
    auth.login(world["referent"].email)
    march = {"date_from": "2025-03-01", "date_to": "2025-03-31"}
    page = client.get(url(**march)).text
    # Neither the previous period (February 2025) nor March 2024 has a history.
    assert page.count("Pas encore d'historique") == 2
    assert "+100" not in page
    rows = read_csv(client.get(url("/statistiques/comparaison.csv", **march)))
    everything = next(r for r in rows if r["famille"] == "tout")
    assert everything["periode"] == "1"
    assert everything["periode_precedente"] == everything["un_an_avant"] == ""


def test_periods_by_hand():
    march = Period(datetime(2026, 3, 1).date(), datetime(2026, 3, 31).date())
    assert march.days == 31
    assert march.previous() == Period(
        datetime(2026, 1, 29).date(), datetime(2026, 2, 28).date()
    )
    assert march.year_before() == Period(
        datetime(2025, 3, 1).date(), datetime(2025, 3, 31).date()
    )
    leap = Period(datetime(2024, 2, 29).date(), datetime(2024, 2, 29).date())
    assert leap.year_before().start == datetime(2023, 2, 28).date()
    lo, hi = march.bounds()
    assert (lo.isoformat(), hi.isoformat()) == (
        "2026-02-28T23:00:00+00:00", "2026-03-31T22:00:00+00:00",
    )  # fmt: skip
    year = default_period(datetime(2026, 11, 21).date())
    assert (year.start.isoformat(), year.end.isoformat(), year.days) == (
        "2025-11-22", "2026-11-21", 365,
    )  # fmt: skip


def test_residence_rates_and_qpv_share_by_hand(client, auth, world):
    auth.login(world["referent"].email)
    ranking = read_csv(client.get(url("/statistiques/residences.csv")))
    assert [r["residence"] for r in ranking] == ["Les Izards", "Borderouge"]
    izards, borderouge = ranking
    assert (izards["faits"], izards["taux_100_logements"]) == ("3", "1,50")
    assert (borderouge["faits"], borderouge["taux_100_logements"]) == ("1", "1,00")
    assert izards["periode_precedente"] == "1" and izards["evolution"] == "2"
    assert izards["evolution_pct"] == "200,00"
    assert izards["qpv"] == "QP031011" and borderouge["qpv"] == ""
    qpv = {r["zone"]: r for r in read_csv(client.get(url("/statistiques/qpv.csv")))}
    assert qpv["En QPV"]["faits"] == "3" and qpv["En QPV"]["part_faits"] == "75,00"
    assert qpv["En QPV"]["part_logements"] == "66,67"
    assert qpv["Hors QPV"]["taux_100_logements"] == "1,00"
    assert qpv["Total"]["taux_100_logements"] == "1,33"


def test_lieux_and_victimes(client, auth, world):
    auth.login(world["referent"].email)
    lieux = {
        r["code"]: r["faits"]
        for r in read_csv(client.get(url("/statistiques/lieux.csv")))
    }
    assert lieux == {"hall": "2", "": "2"}
    victimes = {
        r["code"]: r["faits"]
        for r in read_csv(client.get(url("/statistiques/victimes.csv")))
    }
    assert victimes == {"locataire": "1", "personnel_bailleur": "1", "": "2"}


# ------------------------------------------------------------------ perimeter, filters


def test_chef_d_agence_sees_their_agence_only(client, auth, world):
    auth.login(world["chef"].email)
    page = client.get(url())
    assert '<strong class="kpi-value" id="kpi-total">3</strong>' in page.text
    assert "Agence Nord" in page.text
    assert "Borderouge" not in page.text
    ranking = read_csv(client.get(url("/statistiques/residences_toutes.csv")))
    assert [r["residence"] for r in ranking] == ["Les Izards"]
    # Another agence's résidence is outside the perimeter: reported, not shown.
    other = client.get(url(residence=world["borderouge"].id))
    assert "hors de votre périmètre" in other.text
    csv_url = url("/statistiques/mois.csv", residence=world["borderouge"].id)
    assert client.get(csv_url).status_code == 400


FILTER_CASES = [
    ({"nature": "AB"}, 2),
    ({"nature": "AB01"}, 1),
    ({"nature": "TT"}, 1),
    ({"lieu": "hall"}, 2),
    ({"hours": "soiree"}, 2),
    ({"hours": "matin"}, 1),
    ({"status": "clos"}, 0),
    ({"status": "nouveau"}, 4),
    ({"residence": "borderouge"}, 1),
    ({"agence": "nord"}, 3),
]


def test_filters_narrow_the_counts(client, auth, world):
    auth.login(world["referent"].email)
    for args, expected in FILTER_CASES:
        args = {
            k: world[v].id if k in ("residence", "agence") else v
            for k, v in args.items()
        }
        months = read_csv(client.get(url("/statistiques/mois.csv", **args)))
        assert sum(int(r["faits"]) for r in months) == expected, args
    page = client.get(url(nature="AB", hours="soiree"))
    assert 'id="kpi-total">0</strong>' in page.text  # AB facts are in the morning, noon
    page = client.get(url(nature="TT", hours="soiree"))
    assert 'id="kpi-total">1</strong>' in page.text


def test_invalid_filters_are_reported_and_left_out(client, auth, world):
    auth.login(world["referent"].email)
    page = client.get(url(nature="ZZ99", lieu="nulle-part", date_to="2026-02-30"))
    assert page.status_code == 200
    assert "Famille ou catégorie inconnue." in page.text
    assert "Date invalide" in page.text
    reversed_dates = client.get(url(date_from="2026-03-31", date_to="2026-03-01"))
    assert "La date de fin précède la date de début." in reversed_dates.text
    b_agence = client.get(url(agence=world["bagatelle"].id))
    assert "hors de votre périmètre" in b_agence.text


def test_csv_downloads_use_the_page_filters(client, auth, world):
    auth.login(world["referent"].email)
    response = client.get(url("/statistiques/categories.csv", nature="AB"))
    assert response.mimetype == "text/csv"
    assert (
        'filename="orfi-categories-20260301-20260331.csv"'
        in (response.headers["Content-Disposition"])
    )
    rows = read_csv(response)
    assert {r["code"]: r["faits"] for r in rows} == {"AB01": "1", "AB02": "1"}
    assert client.get(url("/statistiques/inconnu.csv")).status_code == 404
    page = client.get(url(nature="AB"))
    assert "/statistiques/categories.csv?date_from=2026-03-01" in page.text
    assert "nature=AB" in page.text


def test_text_from_the_patrimoine_is_escaped(client, auth, world):
    world["izards"].name = '<script>alert("x")</script>'
    commit()
    auth.login(world["referent"].email)
    page = client.get(url())
    assert '<script>alert("x")</script>' not in page.text
    assert "&lt;script&gt;alert(" in page.text


def test_the_page_has_no_inline_code_and_no_outside_url(client, auth, world):
    auth.login(world["referent"].email)
    page = client.get(url()).text
    for tag in script_tags(page):
        assert tag.get("src") or tag.get("type") == "application/json", tag
    assert "http://" not in page and "https://" not in page


def test_empty_perimeter_renders(client, auth, app):
    organisation = make_organisation()
    referent = make_user(organisation, role=Role.REFERENT)
    commit()
    auth.login(referent.email)
    page = client.get(url())
    assert page.status_code == 200
    assert "Aucun fait sur la période." in page.text


# -------------------------------------------------------------------- index plans


def _migration_indexes() -> dict[str, list[str]]:
    path = ROOT / "migrations" / "versions" / "0003_statistics_indexes.py"
    spec = importlib.util.spec_from_file_location("orfi_migration_0003", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.INDEXES


@pytest.fixture
def statistics_indexes(app):
    """The indexes of migration 0003 on the test database (built from the models)."""
    indexes = _migration_indexes()
    table = db.metadata.tables["report"]
    created = []
    existing = {ix.name for ix in table.indexes}
    for name, columns in indexes.items():
        if name not in existing:
            index = sa.Index(name, *(table.c[c] for c in columns))
            index.create(db.engine)
            created.append(index)
    yield indexes
    for index in created:
        index.drop(db.engine)
        table.indexes.discard(index)


def test_every_statistics_query_reads_a_covering_index(app, world, statistics_indexes):
    """EXPLAIN QUERY PLAN on SQLite: each grouped query stays in one of our indexes."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    from orfi.maps.services import count_reports_by_cell
    from orfi.stats import services
    from orfi.stats.filters import filtered_reports, list_filter_choices, read_filters

    plans = {}
    captured: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "GROUP BY" in statement:
            rows = cursor.connection.execute(
                "EXPLAIN QUERY PLAN " + statement, parameters
            ).fetchall()
            plans[statement] = " | ".join(str(r[-1]) for r in rows)
            captured.append(statement)

    for user_key in ("referent", "chef"):
        user = world[user_key]
        choices = list_filter_choices(user)
        for args in ({**PERIOD}, {**PERIOD, "nature": "AB", "hours": "soiree",
                                  "status": "nouveau", "lieu": "hall"}):  # fmt: skip
            filters, errors = read_filters(args, choices)
            assert not errors
            sa.event.listen(db.engine, "before_cursor_execute", capture)
            try:
                services.build_statistics(user, filters, choices)
                count_reports_by_cell(user, filters)
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", capture)
            assert filtered_reports(user, filters) is not None
    assert len(plans) >= 4
    for statement, plan in plans.items():
        report_step = plan.split(" | ")[0]
        assert "USING COVERING INDEX ix_report_stats_" in report_step, (statement, plan)
        assert "SCAN report" not in plan


def test_statistics_filters_compare_only_indexed_columns(statistics_indexes):
    """Every filter and grouping column is in each index that serves it."""
    filters = {"organisation_id", "occurred_at", "duplicate_of_id", "category_id",
               "residence_id", "lieu", "occurred_hour", "status"}  # fmt: skip
    groups = {
        "ix_report_stats_time": set(),
        "ix_report_stats_h3": {"h3_r9"},
        "ix_report_stats_nature": {"category_id", "lieu", "victime", "suite"},
        "ix_report_stats_residence": {"residence_id", "category_id"},
    }
    for name, extra in groups.items():
        assert filters | extra <= set(statistics_indexes[name]), name
        assert statistics_indexes[name][0] == "organisation_id"


def test_stats_filters_round_trip(world):
    march = Period(datetime(2026, 3, 1).date(), datetime(2026, 3, 31).date())
    assert StatsFilters(period=march).query_args() == PERIOD


@pytest.mark.parametrize(
    ("values", "labels"),
    [([1, 0], ["0", "1"]), ([3, 1], ["0", "5"]), ([7, 2], ["0", "5", "10"])],
)
def test_axis_ticks_are_whole_counts(values, labels):
    """Counts are whole: a middle tick at 0.5 or 2.5 would be labelled wrongly."""
    from orfi.stats.charts import column_chart

    chart = column_chart("Faits", ["a", "b"], ["a", "b"], values)
    assert sorted((text for _y, text in chart.ticks), key=int) == labels
