"""Early warning run in the background, stored, alarming and shown (issue 14, item 6).

A bailleur A with 6 résidences and two and a half years of facts; one résidence's
facts triple in its last two weeks. The statuses stored are checked against
orfi.earlywarning run on counts made by a plain loop over the facts the test wrote;
the alarm goes through the alert pipeline once, to A's référent (immediately) and
direction (digest), never to bailleur B's référent nor to a chef d'agence of another
agence; a second computation sends nothing more.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from orfi import earlywarning as ew
from orfi.alerts.channels import fact_url, lines_of
from orfi.alerts.worker import run_once
from orfi.auth.models import Role
from orfi.extensions import db
from orfi.notifications.models import (
    AlertDelivery,
    AlertEvent,
    Channel,
    InboxMessage,
    Rhythm,
)
from orfi.reports.creation import derived_fields
from orfi.reports.models import LocationSource, Report, Status
from orfi.surveillance.models import ALL_FACTS, EarlyWarningRun, EarlyWarningStatus
from orfi.surveillance.rates import RATES, rates_sentence
from orfi.surveillance.runs import run_requests, run_scheduled
from orfi.surveillance.services import compute_and_store, week_to_compute
from orfi.timezone import from_local
from orfi.transaction import unit_of_work
from tests.factories import (
    category,
    commit,
    make_agence,
    make_organisation,
    make_residence,
    make_user,
)

#: The last week of the world (a Monday); the tripling covers it and the week before.
LAST = date(2026, 11, 23)
ONSET = LAST - timedelta(days=7)
WEEKS = 130
UNITS = 6


def planted_counts(seed: int = 5) -> np.ndarray:
    """Weekly counts (weeks × résidences), steady Poisson; résidence 0 triples in
    the last two weeks."""
    rng = np.random.default_rng(seed)
    rates = rng.uniform(3, 6, UNITS)
    means = np.tile(rates, (WEEKS, 1))
    means[-2:, 0] *= 3
    return rng.poisson(means)


def insert_facts(counts, residences, author, codes) -> list[tuple[date, int, str]]:
    """Insert the facts (bulk), each on a day of its week at a local hour; return
    (local date, résidence id, family code) for the test's own counting."""
    rng = np.random.default_rng(7)
    first = LAST - timedelta(weeks=WEEKS - 1)
    organisation = residences[0].organisation
    categories = {code: category(organisation, code).id for code in codes}
    rows, written = [], []
    for t in range(WEEKS):
        monday = first + timedelta(weeks=t)
        for u, residence in enumerate(residences):
            for _ in range(int(counts[t, u])):
                day = monday + timedelta(days=int(rng.integers(0, 7)))
                # 23:30 local is the next day in UTC: the counting must use local dates.
                hour = time(23, 30) if rng.random() < 0.2 else time(rng.integers(23))
                local = datetime.combine(day, hour)
                code = codes[int(rng.integers(0, len(codes)))]
                occurred = from_local(local)
                rows.append(
                    {
                        "uuid": uuid.uuid4(),
                        "reference": f"EW{residences[0].id}-{len(rows):06d}",
                        "organisation_id": residence.organisation_id,
                        "residence_id": residence.id,
                        "category_id": categories[code],
                        "author_id": author.id,
                        "occurred_at": occurred,
                        "created_at": occurred,
                        "latitude": residence.latitude,
                        "longitude": residence.longitude,
                        "location_source": LocationSource.GPS,
                        "status": Status.NOUVEAU,
                        "description": "",
                        **derived_fields(
                            occurred, residence.latitude, residence.longitude
                        ),
                    }
                )
                written.append((day, residence.id, code[:2]))
    db.session.execute(sa.insert(Report), rows)
    return written


@pytest.fixture
def world(app):
    a = make_organisation(code="AAA")
    b = make_organisation(code="BBB")
    nord = make_agence(a, name="Nord")
    sud = make_agence(a, name="Sud")
    joined = from_local(datetime(2023, 1, 1))
    residences = [
        make_residence(a, agence=nord, name=f"Les Tilleuls {u}", created_at=joined)
        for u in range(UNITS)
    ]
    other = make_residence(b, name="Résidence de B", created_at=joined)
    gardien = make_user(a, role=Role.GARDIEN, sector=residences[:1])
    counts = planted_counts()
    facts = insert_facts(counts, residences, gardien, ["AB01", "AP01"])
    gardien_b = make_user(b, role=Role.GARDIEN, sector=[other])
    insert_facts(planted_counts(seed=9)[:, 1:2], [other], gardien_b, ["AB01"])
    world = {
        "a": a,
        "b": b,
        "residences": residences,
        "facts": facts,
        "gardien": gardien,
        "referent": make_user(a, role=Role.REFERENT, email="ref@a.fr"),
        "direction": make_user(a, role=Role.DIRECTION, email="dir@a.fr"),
        "chef_nord": make_user(a, role=Role.DIRECTION, agence=nord),
        "chef_sud": make_user(a, role=Role.DIRECTION, agence=sud),
        "referent_b": make_user(b, role=Role.REFERENT, email="ref@b.fr"),
    }
    commit()
    return world


def compute(world, week: date):
    with unit_of_work():
        return compute_and_store(world["a"].id, week)


def loop_counts(facts, residence_ids) -> pd.DataFrame:
    """Weekly counts by a plain loop (the reference for the stored figures)."""
    first = LAST - timedelta(weeks=WEEKS - 1)
    table = {rid: [0] * WEEKS for rid in residence_ids}
    for day, rid, _family in facts:
        week = (day - first).days // 7
        if 0 <= week < WEEKS:
            table[rid][week] += 1
    index = pd.DatetimeIndex(
        [pd.Timestamp(first + timedelta(weeks=t)) for t in range(WEEKS)], name="week"
    )
    return pd.DataFrame(table, index=index)


def stored(week: date, family: str = ALL_FACTS) -> dict[int, EarlyWarningStatus]:
    return {
        row.residence_id: row
        for row in db.session.scalars(
            sa.select(EarlyWarningStatus).where(
                EarlyWarningStatus.week == week, EarlyWarningStatus.family == family
            )
        )
    }


def test_tripling_alarms_within_two_weeks_and_nothing_else(world):
    residences = world["residences"]
    ids = [r.id for r in residences]
    for week in (ONSET - timedelta(days=7), ONSET, LAST):
        compute(world, week)
    before = stored(ONSET - timedelta(days=7))
    assert {row.status for row in before.values()} <= {ew.NORMAL, ew.VIGILANCE}
    alerting = {
        week: {rid for rid, row in stored(week).items() if row.status == ew.ALERTE}
        for week in (ONSET, LAST)
    }
    assert alerting[ONSET] | alerting[LAST] == {ids[0]}
    # The family rows alarm nowhere else either.
    families = db.session.scalars(
        sa.select(EarlyWarningStatus).where(
            EarlyWarningStatus.family != ALL_FACTS,
            EarlyWarningStatus.status == ew.ALERTE,
        )
    )
    assert {row.residence_id for row in families} <= {ids[0]}
    # The stored figures are orfi.earlywarning's on counts made by a plain loop.
    counts = loop_counts(world["facts"], ids)
    starts = {rid: LAST - timedelta(weeks=WEEKS - 1) for rid in ids}
    reference = ew.unit_statuses(counts, [pd.Timestamp(LAST)], first_weeks=starts)
    for rid, row in stored(LAST).items():
        expected = reference.loc[(pd.Timestamp(LAST), rid)]
        assert row.observed == counts.loc[pd.Timestamp(LAST), rid]
        assert row.status == expected["status"]
        assert row.expected == pytest.approx(expected["expected"], rel=1e-9)
        assert row.phrase == expected["phrase"]
        assert row.method == "farrington" and row.years == 2


def test_one_event_per_alarm_to_the_perimeter_only(world):
    for week in (ONSET, LAST):
        compute(world, week)
    events = list(db.session.scalars(sa.select(AlertEvent)))
    assert len(events) == 1
    event = events[0]
    assert event.kind == "early_warning"
    assert event.report_id is None
    assert event.residence_id == world["residences"][0].id
    deliveries = {
        (d.user_id, d.channel): d.rhythm
        for d in db.session.scalars(sa.select(AlertDelivery))
    }
    referent, direction = world["referent"].id, world["direction"].id
    assert deliveries == {
        (referent, Channel.EMAIL): Rhythm.IMMEDIATE,
        (referent, Channel.PUSH): Rhythm.IMMEDIATE,
        (direction, Channel.EMAIL): Rhythm.DAILY,
        (world["chef_nord"].id, Channel.EMAIL): Rhythm.DAILY,
    }
    inbox = set(db.session.scalars(sa.select(InboxMessage.user_id)))
    assert inbox == {referent, direction, world["chef_nord"].id}
    # Computed again (late facts, « Recalculer »): nothing more is sent.
    for week in (ONSET, LAST):
        compute(world, week)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AlertEvent)) == 1
    assert db.session.scalar(
        sa.select(sa.func.count()).select_from(AlertDelivery)
    ) == len(deliveries)


def test_alarm_message_names_the_residence_and_the_sentence_only(world, app):
    compute(world, ONSET)
    compute(world, LAST)
    event = db.session.scalar(sa.select(AlertEvent))
    residence = world["residences"][0]
    text = "\n".join(lines_of(event.summary))
    row = stored(event.summary["week"] and date.fromisoformat(event.summary["week"]))
    assert residence.label in text
    assert row[residence.id].phrase in text
    assert re.search(r"\d+ faits cette semaine pour \d+( à \d+)? attendus", text)
    assert fact_url(event.summary).endswith(f"/patrimoine/residences/{residence.id}")
    assert world["gardien"].name not in text


def test_worker_computes_the_week_once_from_monday_six(world, monkeypatch):
    sunday_night = from_local(datetime(2026, 11, 30, 5, 30))
    monday = from_local(datetime(2026, 11, 30, 6, 30))
    assert week_to_compute(sunday_night) == ONSET
    assert week_to_compute(monday) == LAST
    assert week_to_compute(from_local(datetime(2026, 12, 2, 12))) == LAST
    run_once("t1", clock=lambda: sunday_night)
    run_once("t1", clock=lambda: monday)
    # A second worker, later the same week: the run record says it is done.
    tally = run_scheduled(clock=lambda: monday + timedelta(hours=3))
    assert tally.runs == 0
    runs = list(db.session.scalars(sa.select(EarlyWarningRun)))
    a_runs = sorted(r.week for r in runs if r.organisation_id == world["a"].id)
    assert a_runs == [ONSET, LAST]
    assert all(r.finished_at and not r.error for r in runs)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AlertEvent)) == 1
    assert stored(LAST)[world["residences"][0].id].status in (
        ew.ALERTE,
        ew.NORMAL,
        ew.VIGILANCE,
    )


def test_recompute_button_asks_the_worker(world, client, auth):
    auth.login(world["referent"].email)
    page = client.get("/signalements/")
    assert "Pas encore calculée" in page.get_data(as_text=True)
    response = client.post("/alerte-precoce/recalculer")
    assert response.status_code == 302
    client.post("/alerte-precoce/recalculer")  # a second click adds nothing
    pending = list(db.session.scalars(sa.select(EarlyWarningRun)))
    assert len(pending) == 1 and pending[0].started_at is None
    tally = run_requests()
    assert tally.runs == 1
    db.session.expire_all()
    assert db.session.get(EarlyWarningRun, pending[0].id).finished_at is not None
    auth.logout()
    auth.login(world["gardien"].email)
    assert client.post("/alerte-precoce/recalculer").status_code == 403


def test_pages_show_the_alarm_to_the_perimeter(world, client, auth):
    compute(world, ONSET)
    compute(world, LAST)
    residence = world["residences"][0]
    row = next(r for r in stored(LAST).values() if r.residence_id == residence.id)
    week_rows = stored(ONSET)
    first_alarm = ONSET if week_rows[residence.id].status == ew.ALERTE else LAST
    assert first_alarm in (ONSET, LAST)
    auth.login(world["referent"].email)
    home = client.get("/signalements/").get_data(as_text=True)
    assert "Alerte précoce" in home and residence.label in home
    assert row.phrase in home
    page = client.get(f"/patrimoine/residences/{residence.id}").get_data(as_text=True)
    assert row.phrase in page
    assert "fausse alerte pour 100 semaines" in page
    calm = world["residences"][1]
    calm_page = client.get(f"/patrimoine/residences/{calm.id}").get_data(as_text=True)
    assert stored(LAST)[calm.id].phrase in calm_page
    inbox = client.get("/alertes/").get_data(as_text=True)
    assert residence.label in inbox and "Voir la résidence" in inbox
    message = db.session.scalar(
        sa.select(InboxMessage).where(InboxMessage.user_id == world["referent"].id)
    )
    target = f"/patrimoine/residences/{residence.id}"
    opened = client.post(f"/alertes/{message.id}/lu", data={"next": target})
    assert opened.headers["Location"].endswith(target)
    auth.logout()
    auth.login(world["referent_b"].email)
    assert "Voir la résidence" not in client.get("/alertes/").get_data(as_text=True)
    other = client.get("/signalements/").get_data(as_text=True)
    assert residence.label not in other
    assert client.get(f"/patrimoine/residences/{residence.id}").status_code == 404


def test_daily_synthesis_lists_residences_in_alerte(world):
    from orfi.syntheses.services import build_synthesis, organisation_perimeter

    compute(world, ONSET)
    compute(world, LAST)
    data = build_synthesis(organisation_perimeter(world["a"]), LAST + timedelta(7))
    assert data.warning_week == LAST
    alarmed = {rid for rid, row in stored(LAST).items() if row.status == ew.ALERTE}
    assert {line.residence.id for line in data.warnings} == alarmed
    other = build_synthesis(organisation_perimeter(world["b"]), LAST + timedelta(7))
    assert not other.warnings


def test_command_computes_and_never_alarms_twice(world, runner):
    first = runner.invoke(
        args=[
            "orfi",
            "early-warning",
            "--organisation",
            "AAA",
            "--week",
            ONSET.isoformat(),
        ]
    )
    assert first.exit_code == 0, first.output
    runner.invoke(
        args=[
            "orfi",
            "early-warning",
            "--organisation",
            "AAA",
            "--week",
            LAST.isoformat(),
        ]
    )
    again = runner.invoke(
        args=[
            "orfi",
            "early-warning",
            "--organisation",
            "AAA",
            "--week",
            LAST.isoformat(),
        ]
    )
    assert "0 nouvelle(s) alarme(s)" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AlertEvent)) == 1
    future = runner.invoke(args=["orfi", "early-warning", "--week", "2099-01-05"])
    assert future.exit_code == 1 and future.output.startswith("Erreur")


def test_rates_said_are_those_of_the_docs():
    from pathlib import Path

    docs = (Path(__file__).parents[1] / "docs" / "early-warning.md").read_text()
    for name, label in (
        ("farrington-5", "Farrington, 5 past years"),
        ("farrington-2", "Farrington, 2 past years"),
    ):
        line = next(x for x in docs.splitlines() if x.startswith(f"| {label} ("))
        assert f"**{RATES[name].false_alarms:.2f}**" in line
    cusum = next(x for x in docs.splitlines() if x.startswith("| **CUSUM, h = 4**"))
    assert f"**{RATES['cusum'].false_alarms:.2f}**" in cusum
    for name, label in (
        ("farrington-5", "Farrington, 5 years"),
        ("farrington-2", "Farrington, 2 years"),
        ("cusum", "CUSUM h = 4"),
    ):
        rows = [x for x in docs.splitlines() if x.startswith(f"| {label} |")]
        doubling = next(x for x in rows if "| doubling |" in x)
        tripling = next(x for x in rows if "| tripling |" in x)
        assert f"**{RATES[name].doubling:.1f} %**" in doubling
        assert f"**{RATES[name].tripling:.1f} %**" in tripling
    assert "7 fois sur 10" in rates_sentence("farrington", 5)
    assert rates_sentence(None) == ""


def test_a_second_worker_skips_a_run_in_progress_and_takes_over_a_dead_one(world):
    from orfi.surveillance.runs import _claim_scheduled, scheduled_key

    monday = from_local(datetime(2026, 11, 30, 7))
    a = world["a"].id
    first = _claim_scheduled(a, LAST, monday)
    assert first is not None
    # Another worker, a minute later: the run is in progress, not its to do.
    assert _claim_scheduled(a, LAST, monday + timedelta(minutes=1)) is None
    # Two hours later, never finished: its worker died, the run is taken over.
    assert _claim_scheduled(a, LAST, monday + timedelta(hours=2)) == first
    runs = db.session.scalars(
        sa.select(EarlyWarningRun).where(
            EarlyWarningRun.scheduled_key == scheduled_key(a, LAST)
        )
    ).all()
    assert len(runs) == 1


def test_a_failed_computation_is_recorded_and_the_others_go_on(world, monkeypatch):
    calls = []

    def broken(organisation_id, week):
        calls.append(organisation_id)
        if organisation_id == world["a"].id:
            raise ValueError("série illisible")
        return compute_and_store(organisation_id, week)

    monkeypatch.setattr("orfi.surveillance.runs.compute_and_store", broken)
    tally = run_scheduled(clock=lambda: from_local(datetime(2026, 11, 30, 7)))
    assert sorted(calls) == sorted([world["a"].id, world["b"].id])
    assert tally.runs == 1 and len(tally.errors) == 1
    runs = {
        r.organisation_id: r for r in db.session.scalars(sa.select(EarlyWarningRun))
    }
    assert "série illisible" in runs[world["a"].id].error
    assert runs[world["a"].id].finished_at is not None
    assert runs[world["b"].id].error == ""
    assert not stored(LAST) or world["a"].id not in {
        r.organisation_id for r in stored(LAST).values()
    }
