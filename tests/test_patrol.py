"""Patrol priorities (orfi/earlywarning/patrol.py): scores, words, back-test.

The back-test's figures are checked against a straightforward loop written here from
the documented method (docs/early-warning.md, « Priorités de rondes »), not against
the module's own arrays.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from orfi.earlywarning.patrol import (
    PatrolParams,
    backtest,
    patrol_list,
    usual_hours,
)

END = pd.Timestamp("2026-11-30")  # a Monday


def planted_world(seed=7, places=30, weeks=80):
    """Places with logements and positions; Poisson facts at steady, varied rates,
    one hot place (P00), at random instants."""
    rng = np.random.default_rng(seed)
    ids = [f"P{i:02d}" for i in range(places)]
    table = pd.DataFrame(
        {
            "place": ids,
            "logements": rng.integers(20, 300, places),
            "x": rng.uniform(0, 5000, places),
            "y": rng.uniform(0, 5000, places),
        }
    )
    rate = rng.gamma(0.6, 0.6, places)  # facts per week
    rate[0] = 4.0
    start = END - pd.Timedelta(weeks=weeks)
    rows = []
    for i, place in enumerate(ids):
        n = rng.poisson(rate[i] * weeks)
        seconds = rng.uniform(0, weeks * 7 * 86400, n)
        for s in seconds:
            rows.append(
                {
                    "when": start + pd.Timedelta(seconds=float(s)),
                    "place": place,
                    "category": rng.choice(["AB01", "TT01", "TR01"]),
                }
            )
    return pd.DataFrame(rows), table


def reference_lists(facts, places, monday, top, params):
    """The method's and the naive list, by plain loops over the facts."""
    score = dict.fromkeys(places["place"], 0.0)
    count = dict.fromkeys(places["place"], 0)
    latest = dict.fromkeys(places["place"], -math.inf)
    for when, place in zip(facts["when"], facts["place"], strict=True):
        day = pd.Timestamp(when.date())
        age = (monday - day).days
        if 0 < age <= params.history_weeks * 7:
            score[place] += 0.5 ** (age / (7 * params.half_life_weeks))
        if 0 < age <= params.naive_weeks * 7:
            count[place] += 1
        if age > 0:
            latest[place] = max(latest[place], day.toordinal())
    order = list(places["place"])
    method = sorted(
        (p for p in order if score[p] > 0), key=lambda p: (-score[p], order.index(p))
    )[:top]
    naive = sorted(
        (p for p in order if latest[p] > -math.inf),
        key=lambda p: (-count[p], -latest[p], order.index(p)),
    )[:top]
    return method, naive


def test_backtest_figures_match_an_independent_loop():
    facts, places = planted_world()
    params = PatrolParams(half_life_weeks=3.0, history_weeks=20)
    result = backtest(facts, places, END, weeks=12, top=5, params=params)
    total = places["logements"].sum()
    logements = dict(zip(places["place"], places["logements"], strict=True))
    pooled = {"m": [0, 0, 0.0], "n": [0, 0, 0.0]}  # facts, hits, coverage × facts
    for k, row in enumerate(result.weekly.itertuples()):
        monday = END - pd.Timedelta(weeks=12 - k)
        assert row.week == monday
        method, naive = reference_lists(facts, places, monday, 5, params)
        week_facts = [
            p
            for when, p in zip(facts["when"], facts["place"], strict=True)
            if monday <= pd.Timestamp(when.date()) < monday + pd.Timedelta(days=7)
        ]
        assert row.facts == len(week_facts)
        for key, listed, hits_col, cov_col, rate_col, pai_col in (
            ("m", method, "hits", "coverage", "hit_rate", "pai"),
            ("n", naive, "naive_hits", "naive_coverage", "naive_hit_rate", "naive_pai"),
        ):
            hits = sum(p in listed for p in week_facts)
            coverage = sum(logements[p] for p in listed) / total
            assert getattr(row, hits_col) == hits
            assert getattr(row, cov_col) == pytest.approx(coverage)
            if week_facts:
                rate = hits / len(week_facts)
                assert getattr(row, rate_col) == pytest.approx(rate)
                assert getattr(row, pai_col) == pytest.approx(rate / coverage)
                pooled[key][0] += len(week_facts)
                pooled[key][1] += hits
                pooled[key][2] += coverage * len(week_facts)
    for key, name in (("m", "methode"), ("n", "naive")):
        n, hits, weighted = pooled[key]
        summary = result.summary.loc[name]
        assert summary["hit_rate"] == pytest.approx(hits / n)
        assert summary["coverage"] == pytest.approx(weighted / n)
        assert summary["pai"] == pytest.approx((hits / n) / (weighted / n))


def steady_world(seed, places=150, weeks=80):
    """Places with steady Poisson rates (log-normal, median 0.4 a week)."""
    rng = np.random.default_rng(seed)
    ids = [f"P{i:03d}" for i in range(places)]
    table = pd.DataFrame({"place": ids, "logements": rng.integers(20, 300, places)})
    rate = rng.lognormal(np.log(0.4), 0.8, places)
    n = rng.poisson(rate * weeks)
    seconds = rng.uniform(0, weeks * 7 * 86400, n.sum())
    when = END - pd.Timedelta(weeks=weeks) + pd.to_timedelta(seconds, unit="s")
    facts = pd.DataFrame({"when": when, "place": np.repeat(ids, n), "category": "X"})
    return facts, table


@pytest.mark.parametrize("seed", [1, 2])
def test_steady_world_method_beats_the_naive_list(seed):
    """Steady rates: a year of decayed history ranks places better than 4 weeks,
    whose counts are mostly 0, 1 or 2."""
    facts, places = steady_world(seed)
    result = backtest(facts, places, END, weeks=40, top=15, by="places")
    m, n = result.summary.loc["methode"], result.summary.loc["naive"]
    assert m["pai"] > n["pai"]
    assert m["coverage"] == pytest.approx(15 / 150)
    assert result.wins > result.losses
    assert result.beats_naive
    assert "fait mieux" in result.sentence()


def test_identical_lists_do_not_beat_naive():
    """One place holds every fact: both lists are that place, no week is won."""
    days = pd.date_range(END - pd.Timedelta(weeks=30), END, freq="2D")
    facts = pd.DataFrame({"when": days, "place": "A", "category": "AB01"})
    places = pd.DataFrame({"place": ["A", "B", "C"], "logements": [10, 20, 30]})
    result = backtest(facts, places, END, weeks=10, top=2)
    assert result.wins == 0 and result.losses == 0
    assert not result.beats_naive
    assert "n'est pas proposée" in result.sentence()
    assert result.sentence().startswith("Sur les 10 dernières semaines, ")


def test_persistent_hot_place_is_listed_first_with_reasons():
    facts, places = planted_world(seed=11)
    listed = patrol_list(facts, places, END, top=5)
    assert listed.iloc[0]["place"] == "P00"
    assert list(listed["rank"]) == list(range(1, len(listed) + 1))
    assert listed["score"].is_monotonic_decreasing
    recent = (
        (facts["place"] == "P00")
        & (facts["when"] >= END - pd.Timedelta(weeks=8))
        & (facts["when"] < END)
    ).sum()
    assert listed.iloc[0]["reason"].startswith(
        f"{recent} faits signalés ces 8 dernières semaines"
    )
    assert listed.iloc[0]["share"] == pytest.approx(
        places.loc[0, "logements"] / places["logements"].sum()
    )


def test_only_facts_before_the_week_count():
    places = pd.DataFrame({"place": ["A", "B"], "logements": [10, 10]})
    facts = pd.DataFrame(
        {
            "when": [END - pd.Timedelta(days=3), END + pd.Timedelta(days=1)] * 1,
            "place": ["A", "B"],
            "category": ["AB01", "AB01"],
        }
    )
    listed = patrol_list(facts, places, END, top=2)
    assert list(listed["place"]) == ["A"]


def near_repeat_world():
    """A and B 100 m apart, C 2 km away; two fresh TR01 facts at A, one AB01 at C."""
    places = pd.DataFrame(
        {
            "place": ["A", "B", "C"],
            "logements": [50, 50, 50],
            "x": [0.0, 100.0, 2000.0],
            "y": [0.0, 0.0, 0.0],
        }
    )
    facts = pd.DataFrame(
        {
            "when": [END - pd.Timedelta(days=d) for d in (2, 5, 3)],
            "place": ["A", "A", "C"],
            "category": ["TR01", "TR01", "AB01"],
            "x": [0.0, 0.0, 2000.0],
            "y": [0.0, 0.0, 0.0],
        }
    )
    return facts, places


def test_near_repeat_weighting_only_for_significant_categories():
    facts, places = near_repeat_world()
    plain = patrol_list(facts, places, END, top=3).set_index("place")
    assert "B" not in plain.index
    assert (plain["near_repeat"] == 0).all()

    other = patrol_list(facts, places, END, top=3, near_repeat={"AB01"})
    other = other.set_index("place")
    # AB01 is significant: C's own fact adds to C, nobody near C; TR01 at A adds
    # nothing.
    assert other.loc["A", "near_repeat"] == 0
    assert other.loc["C", "near_repeat"] > 0
    assert "B" not in other.index

    weighted = patrol_list(facts, places, END, top=3, near_repeat={"TR01"})
    weighted = weighted.set_index("place")
    params = PatrolParams()
    decay = [0.5 ** (d / (7 * params.half_life_weeks)) for d in (2, 5)]
    # B is 100 m from both facts: kernel 1 - 100/200 = 0.5 each.
    assert weighted.loc["B", "score"] == pytest.approx(0.5 * sum(decay))
    assert weighted.loc["A", "score"] == pytest.approx(2 * sum(decay))
    assert weighted.loc["C", "near_repeat"] == 0
    assert "répètent" in weighted.loc["B", "reason"]


def test_near_repeat_with_lon_lat_positions():
    facts, places = near_repeat_world()
    lon0, lat0 = 1.44, 43.6
    places = places.assign(
        lon=lon0 + places["x"] / (111_320 * math.cos(math.radians(lat0))), lat=lat0
    ).drop(columns=["x", "y"])
    facts = facts.drop(columns=["x", "y"])  # positions from their places
    weighted = patrol_list(facts, places, END, top=3, near_repeat={"TR01"})
    assert "B" in set(weighted["place"])


def test_early_warning_status_boosts_the_score():
    facts, places = near_repeat_world()
    params = PatrolParams()
    base = patrol_list(facts, places, END).set_index("place")["score"]
    boosted = patrol_list(
        facts, places, END, statuses={"C": "alerte", "A": "normal"}
    ).set_index("place")
    assert boosted.loc["C", "score"] == pytest.approx(
        base["C"] * (1 + params.alerte_boost)
    )
    assert boosted.loc["A", "score"] == pytest.approx(base["A"])
    assert "en alerte" in boosted.loc["C", "reason"]
    # unit_statuses' table: the week before the listed week is read.
    table = pd.DataFrame(
        {"status": ["vigilance", "alerte"]},
        index=pd.MultiIndex.from_tuples(
            [(END - pd.Timedelta(weeks=1), "C"), (END, "A")], names=["week", "unit"]
        ),
    )
    read = patrol_list(facts, places, END, statuses=table).set_index("place")
    assert read.loc["C", "score"] == pytest.approx(
        base["C"] * (1 + params.vigilance_boost)
    )
    assert read.loc["A", "score"] == pytest.approx(base["A"])


def test_facts_found_on_rounds_are_left_out_by_default():
    places = pd.DataFrame({"place": ["A", "B"], "logements": [10, 10]})
    facts = pd.DataFrame(
        {
            "when": [END - pd.Timedelta(days=2)] * 3,
            "place": ["A", "B", "B"],
            "category": "AB01",
            "found_on_round": [False, True, True],
        }
    )
    assert list(patrol_list(facts, places, END)["place"]) == ["A"]
    included = patrol_list(facts, places, END, params=PatrolParams(include_rounds=True))
    assert list(included["place"]) == ["B", "A"]


def _at(weekday: int, hour: int, week: int = 0) -> dt.datetime:
    monday = dt.datetime(2026, 10, 5)  # a Monday
    return monday + dt.timedelta(weeks=week, days=weekday, hours=hour)


@pytest.mark.parametrize(
    ("moments", "expected"),
    [
        (
            [_at(4, 20 + k % 4, k) for k in range(6)]
            + [_at(5, 21 + k % 3, k) for k in range(6)]
            + [_at(1, 10)],
            "surtout le vendredi et le samedi, 20 h–minuit",
        ),
        (
            [_at(d, 9 + d % 2, w) for d in range(7) for w in range(2)],
            "surtout 9 h–11 h, tous les jours",
        ),
        (
            [_at(0, 23, k) for k in range(4)]
            + [_at(2, 1, k) for k in range(4)]
            + [_at(6, 0, k) for k in range(4)],
            "surtout le lundi, le mercredi et le dimanche, 23 h–2 h",
        ),
        ([_at(4, 20)] * 4, "trop peu de faits pour dire des horaires habituels"),
    ],
)
def test_usual_hours_in_french(moments, expected):
    when = pd.DatetimeIndex(moments)
    assert usual_hours(when.to_numpy(), when.hour.to_numpy()) == expected


def test_listed_place_carries_its_usual_hours():
    places = pd.DataFrame({"place": ["A"], "logements": [10]})
    when = [END - pd.Timedelta(weeks=w) + pd.Timedelta(days=4, hours=21) for w in
            range(1, 7)]  # fmt: skip
    facts = pd.DataFrame({"when": when, "place": "A", "category": "TT01"})
    listed = patrol_list(facts, places, END)
    assert listed.loc[0, "hours"] == "surtout le vendredi, 21 h–22 h"


def test_empty_facts_and_top_larger_than_places():
    places = pd.DataFrame({"place": ["A", "B", "C"], "logements": [10, 20, 30]})
    empty = pd.DataFrame({"when": [], "place": [], "category": []})
    assert patrol_list(empty, places, END).empty
    result = backtest(empty, places, END, weeks=4)
    assert not result.beats_naive
    assert result.sentence().startswith("Pas assez de faits")

    facts = pd.DataFrame(
        {
            "when": [END - pd.Timedelta(days=d) for d in (1, 2, 9)],
            "place": ["A", "B", "B"],
            "category": "AB01",
        }
    )
    listed = patrol_list(facts, places, END, top=50)
    assert list(listed["place"]) == ["B", "A"]  # only places with recent facts
    result = backtest(facts, places, END + pd.Timedelta(weeks=1), weeks=2, top=50)
    assert result.weekly["listed"].max() <= 3
    # One of the two weeks has facts: the sentence says so.
    assert result.sentence().startswith(
        "Sur les 2 dernières semaines (1 avec des faits)"
    )


def test_facts_at_unknown_places_are_ignored():
    places = pd.DataFrame({"place": ["A"], "logements": [10]})
    facts = pd.DataFrame(
        {
            "when": [END - pd.Timedelta(days=1)] * 2,
            "place": ["A", "Z"],
            "category": "AB01",
        }
    )
    assert list(patrol_list(facts, places, END)["place"]) == ["A"]


@pytest.mark.parametrize(
    ("facts", "places", "kwargs", "word"),
    [
        (pd.DataFrame({"when": [END]}), None, {}, "place"),
        (
            pd.DataFrame({"when": ["pas une date"], "place": ["A"], "category": ["X"]}),
            None,
            {},
            "when",
        ),  # fmt: skip
        (
            pd.DataFrame({"when": [None], "place": ["A"], "category": ["X"]}),
            None,
            {},
            "when",
        ),  # fmt: skip
        (None, pd.DataFrame({"logements": [1]}), {}, "place"),
        (None, pd.DataFrame({"place": ["A", "A"]}), {}, "twice"),
        (None, pd.DataFrame({"place": ["A"], "logements": [-3]}), {}, "logements"),
        (None, pd.DataFrame({"place": ["A"], "lon": [400], "lat": [43]}), {}, "lon"),
        (None, None, {"top": 0}, "top"),
        (None, None, {"top": 2.5}, "top"),
        (None, None, {"week": "demain"}, "week"),
        ("not a table", None, {}, "facts"),
    ],
)
def test_bad_input_names_the_argument(facts, places, kwargs, word):
    if facts is None:
        facts = pd.DataFrame({"when": [END], "place": ["A"], "category": ["X"]})
    if places is None:
        places = pd.DataFrame({"place": ["A"], "logements": [10]})
    week = kwargs.pop("week", END)
    with pytest.raises(ValueError, match=word):
        patrol_list(facts, places, week, **kwargs)


def test_backtest_rejects_bad_weeks():
    places = pd.DataFrame({"place": ["A"], "logements": [10]})
    facts = pd.DataFrame({"when": [END], "place": ["A"], "category": ["X"]})
    with pytest.raises(ValueError, match="weeks"):
        backtest(facts, places, END, weeks=0)


def test_coverage_by_places_without_logements():
    places = pd.DataFrame({"place": ["A", "B", "C", "D"]})
    facts = pd.DataFrame(
        {"when": [END - pd.Timedelta(days=1)], "place": ["A"], "category": "X"}
    )
    assert patrol_list(facts, places, END).loc[0, "share"] == pytest.approx(0.25)


def test_backtest_per_fact_and_per_day_agree():
    """With near-repeat the back-test reads each fact; without, one row per (day,
    place) with its count: a category given but absent changes nothing."""
    facts, places = planted_world(seed=5)
    params = PatrolParams(half_life_weeks=3.0)
    grouped = backtest(facts, places, END, weeks=8, top=5, params=params)
    per_fact = backtest(
        facts, places, END, weeks=8, top=5, near_repeat={"absent"}, params=params
    )
    pd.testing.assert_frame_equal(grouped.weekly, per_fact.weekly)
