"""The patrol sheet reads what early warning's weekly run stored (issue 14, items 5
and 6): the categories where the Knox test found near-repeat, and the résidences'
statuses.

- the worker's weekly run stores the categories with a significant Knox cell: a
  category planted as pairs (same place, within two days) is found, one drawn at
  random is not;
- with a category stored as near-repeat, fresh facts of it weigh on a neighbouring
  résidence that has no fact of its own, which enters the list (not without);
- a résidence stored in « alerte » the last complete week gets the boost and enters
  the list; the sheet says both in words.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import numpy as np
import sqlalchemy as sa

from orfi.auth.models import User
from orfi.earlywarning.patrol import read_facts as checked_facts
from orfi.earlywarning.patrol import read_patrimoine, score_places
from orfi.extensions import db
from orfi.rounds.services import PARAMS, coming_week, read_facts, read_places
from orfi.surveillance.models import ALL_FACTS, EarlyWarningRun, EarlyWarningStatus
from orfi.surveillance.runs import run_scheduled
from orfi.timezone import from_local, now_local
from tests.factories import (
    category,
    commit,
    insert_fact,
    make_organisation,
    make_residence,
    make_user,
)
from tests.test_rounds import plant_world

#: Worker's clock: Monday 30 November 2026, 09:00 local; the week computed is the 23rd.
MONDAY = datetime(2026, 11, 30, 9, 0)


def test_weekly_run_stores_the_near_repeat_categories(app):
    rng = np.random.default_rng(3)
    organisation = make_organisation(code="KNX")
    # Ten résidences 2 km apart: facts at the same résidence are at 0 m.
    residences = [
        make_residence(
            organisation, reference=f"K-{i}", latitude=43.5 + 0.018 * i, longitude=1.4
        )
        for i in range(10)
    ]
    author = make_user(organisation)
    first = datetime(2026, 6, 1)  # 26 weeks before the week of 23 November
    for k in range(15):  # AP01: pairs, same résidence, within two days
        where = residences[k % 10]
        day = first + timedelta(days=int(rng.integers(0, 170)), hours=10)
        insert_fact(author, where, day, code="AP01")
        insert_fact(author, where, day + timedelta(days=1), code="AP01")
    for _ in range(30):  # AB01: any résidence, any day
        where = residences[int(rng.integers(0, 10))]
        insert_fact(author, where, first + timedelta(hours=float(rng.uniform(0, 4000))))
    commit()
    run_scheduled(clock=lambda: from_local(MONDAY), organisation_ids=[organisation.id])
    run = db.session.scalar(
        sa.select(EarlyWarningRun).where(
            EarlyWarningRun.organisation_id == organisation.id
        )
    )
    assert run.error == ""
    assert run.near_repeat == [category(organisation, "AP01").id]


def this_monday() -> datetime:
    today = now_local().date()
    return datetime.combine(today - timedelta(days=today.weekday()), time())


def store_run(organisation, categories: list[int]) -> None:
    when = from_local(datetime.combine(this_monday(), time(7)))
    db.session.add(
        EarlyWarningRun(
            organisation_id=organisation.id,
            week=(this_monday() - timedelta(weeks=1)).date(),
            requested_at=when,
            started_at=when,
            finished_at=when,
            near_repeat=categories,
        )
    )
    commit()


def listed(client) -> list[str]:
    page = client.get("/rondes/").get_data(as_text=True)
    return page, re.findall(r"<h3>([^<]+?) <span", page)


def test_near_repeat_category_weighs_on_the_neighbours(app, client, auth):
    with app.app_context():
        world = plant_world()
        hottest = world["hottest"]
        # A résidence 30 m from the hottest one, without any fact of its own.
        make_residence(
            world["organisation"],
            reference="TMH-V",
            name="La Voisine",
            logements=10,
            latitude=hottest.latitude + 0.00027,
            longitude=hottest.longitude,
        )
        now = now_local().replace(tzinfo=None, microsecond=0)
        for hours in range(1, 41):
            insert_fact(
                world["referent"], hottest, now - timedelta(hours=8 * hours), "AP01"
            )
        commit()
        email, organisation = world["referent"].email, world["organisation"]
    auth.login(email)
    page, names = listed(client)
    assert len(names) == 4 and "La Voisine" not in names  # no fact: no score
    assert "Répétitions proches : pas encore calculées" in page
    with app.app_context():
        store_run(db.session.merge(organisation), [])
    page, names = listed(client)
    assert len(names) == 4 and "La Voisine" not in names
    assert "aucune catégorie où le test de Knox" in page
    with app.app_context():
        organisation = db.session.merge(organisation)
        store_run(organisation, [category(organisation, "AP01").id])
    page, names = listed(client)
    assert "La Voisine" in names
    assert "Répétitions proches (faits récents" in page
    label = re.search(r"Répétitions proches \(.*?\) : « ([^»]+) »", page).group(1)
    with app.app_context():
        assert label == category(db.session.merge(organisation), "AP01").label
    voisine = page[page.index("La Voisine") :]
    assert "à moins de 200 m" in voisine[: voisine.index("</li>")]


def test_residence_stored_in_alerte_is_boosted(app, client, auth):
    with app.app_context():
        world = plant_world()
        user = db.session.get(User, world["referent"].id)
        start, _ = coming_week(now_local().date())
        places = read_places(user)
        patrimoine = read_patrimoine(places)
        facts = checked_facts(read_facts(user, start - timedelta(weeks=60)), patrimoine)
        scores = score_places(facts, patrimoine, start, params=PARAMS)["score"]
        ranked = scores.sort_values(ascending=False)
        # The first place left out of the list (4 of 20), close enough to enter it.
        fifth, fourth = int(ranked.index[4]), ranked.iloc[3]
        assert ranked.iloc[4] * (1 + PARAMS.alerte_boost) > fourth
        residence = next(r for r in world["residences"] if r.id == fifth)
        week = (start - timedelta(weeks=2) if start > now_local().date()
                else start - timedelta(weeks=1))  # fmt: skip
        db.session.add(
            EarlyWarningStatus(
                organisation_id=world["organisation"].id,
                residence_id=fifth,
                week=week,
                family=ALL_FACTS,
                status="alerte",
                observed=9,
            )
        )
        commit()
        email, name = world["referent"].email, residence.name
    auth.login(email)
    page, names = listed(client)
    assert name in names
    assert f"score augmenté pour {name} (alerte)" in page
    assert f"Alerte précoce de la semaine du {week.strftime('%d/%m/%Y')}" in page
    item = page[page.index(f"<h3>{name}") :]
    assert "en alerte (alerte précoce)" in item[: item.index("</li>")]
