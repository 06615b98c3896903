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

from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa

from orfi.extensions import db
from orfi.surveillance.models import EarlyWarningRun
from orfi.surveillance.runs import run_scheduled
from orfi.timezone import from_local
from tests.factories import (
    category,
    commit,
    insert_fact,
    make_organisation,
    make_residence,
    make_user,
)

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
