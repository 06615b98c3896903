"""Patrol priorities (« aide à la priorisation des rondes ») and their back-test.

Each week, the places (résidences or entrées) where the rounds should go first in the
coming week, with their usual hours, and the proof: a rolling back-test over the past
year against the naive list. Places only, never people; never a prediction: the list
says where facts were *reported* recently, weighted as below, and how often such a
list held the next week's facts in the past.

Score of a place for the week starting on Monday ``W``, from the facts before ``W``
(at most ``history_weeks`` back):

- **recent facts, decayed**: each fact at the place weighs ``0.5 ** (age / half-life)``,
  its age in days counted from ``W`` (``half_life_weeks``);
- **near-repeat**, only for the categories where the Knox test found it significant
  (:mod:`orfi.earlywarning.nearrepeat`): each fact of such a category from the last
  ``near_repeat_days`` days adds ``near_repeat_weight`` × its decay × a kernel
  falling linearly from 1 at 0 m to 0 at ``near_repeat_metres`` to every place around
  it (its own included), so the neighbours of a fresh series rise too;
- **early warning**: the score of a place in « alerte » (« vigilance ») the week before
  is multiplied by ``1 + alerte_boost`` (``1 + vigilance_boost``).

The naive list: the places with the most facts in the ``naive_weeks`` weeks before
``W``; ties, zero included, go to the place with the most recent fact, then to the
place's order, so it holds ``top`` places whenever that many have any fact before
``W``. The method's list holds at most ``top`` places with a positive score (a place
with nothing in ``history_weeks`` is not a priority).

Back-test, for each of the ``weeks`` weeks before the end: both lists built from the
facts before the week; hit rate = share of the week's facts (at known places) that
fall in the listed places; coverage = share of the patrimoine listed (logements, or
places when no logements are given); PAI = hit rate / coverage (Chainey et al. 2008).
Overall figures pool the weeks (hits over facts; coverage weighted by the week's
facts). Verdict: the method beats the naive list when, over the weeks with facts, it
holds more of the next week's facts (pooled hit rate higher, and more weeks won than
lost by a one-sided sign test at ``alpha``, ties left out) without doing it by
listing larger places (pooled PAI not lower); otherwise the list is not offered.

Pure computation (numpy, pandas, scipy): no Flask, no SQLAlchemy.
Method, parameters and figures: docs/early-warning.md, « Priorités de rondes ».
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from scipy.stats import binomtest

from orfi.earlywarning.nearrepeat import project_lonlat
from orfi.earlywarning.series import week_monday
from orfi.earlywarning.status import ALERTE, VIGILANCE

logger = logging.getLogger(__name__)

DAY = np.timedelta64(1, "D")
WEEK = np.timedelta64(7, "D")
WEEKDAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
#: Facts needed before the usual hours are said.
MIN_FACTS_FOR_HOURS = 5
#: Width of the busiest-hours window said in words.
HOURS_WINDOW = 4


@dataclass(frozen=True)
class PatrolParams:
    """Parameters of the score, the naive list and the back-test."""

    top: int = 10
    half_life_weeks: float = 8.0
    history_weeks: int = 52
    near_repeat_weight: float = 1.0
    near_repeat_days: int = 14
    near_repeat_metres: float = 200.0
    alerte_boost: float = 0.5
    vigilance_boost: float = 0.25
    naive_weeks: int = 4
    #: Weeks of facts read for a place's usual hours.
    hours_weeks: int = 52
    #: Facts found during rounds are left out unless True (rounds feed themselves).
    include_rounds: bool = False
    #: One-sided sign test level of the verdict.
    alpha: float = 0.05


DEFAULT_PARAMS = PatrolParams()


@dataclass
class Facts:
    """Facts checked and as arrays: local day (``datetime64[D]``), hour, place index."""

    day: np.ndarray
    hour: np.ndarray
    place: np.ndarray  # index into the patrimoine's places, -1 when unknown
    category: np.ndarray
    x: np.ndarray | None
    y: np.ndarray | None
    #: How many facts each row stands for (1, or a (day, place) total: see
    #: :meth:`by_day_and_place`).
    count: np.ndarray | None = None

    def counts(self, mask: np.ndarray) -> np.ndarray:
        """How many facts each selected row stands for."""
        return np.ones(int(mask.sum())) if self.count is None else self.count[mask]

    def by_day_and_place(self) -> Facts:
        """The same facts as one row per (day, place) with its count: all the scores
        without near-repeat need (the back-test's weeks then read far fewer rows)."""
        known = self.place >= 0
        days = self.day[known].astype("int64")
        key = days * (int(self.place.max(initial=0)) + 1) + self.place[known]
        _, first, total = np.unique(key, return_index=True, return_counts=True)
        return Facts(
            day=self.day[known][first],
            hour=self.hour[known][first],
            place=self.place[known][first],
            category=self.category[known][first],
            x=None,
            y=None,
            count=total.astype(float),
        )


@dataclass
class Patrimoine:
    """Places (ids, logements, coordinates) as arrays."""

    ids: np.ndarray
    weight: np.ndarray  # logements, or 1 per place
    by_logements: bool
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    _tree: cKDTree | None = field(default=None, repr=False)
    _tree_index: np.ndarray | None = field(default=None, repr=False)

    def tree(self) -> cKDTree | None:
        """A k-d tree of the places' positions (None without positions)."""
        if self._tree is None and self.x is not None:
            known = ~np.isnan(self.x)
            if known.any():
                self._tree = cKDTree(np.column_stack([self.x[known], self.y[known]]))
                self._tree_index = np.flatnonzero(known)
        return self._tree


@dataclass
class BacktestResult:
    """Per-week and overall figures of the method and of the naive list."""

    weekly: pd.DataFrame
    summary: pd.DataFrame
    beats_naive: bool
    p_value: float
    wins: int
    losses: int
    params: PatrolParams

    def sentence(self) -> str:
        """The back-test in French words (what the sheet says under the list)."""
        if self.summary.loc["methode", "facts"] == 0:
            return "Pas assez de faits pour éprouver la liste sur l'année passée."
        m, n = self.summary.loc["methode"], self.summary.loc["naive"]
        weeks, used = len(self.weekly), int(self.summary.loc["methode", "weeks"])
        some = f" ({used} avec des faits)" if used < weeks else ""
        text = (
            f"Sur les {weeks} dernières semaines{some}, une liste établie ainsi chaque "
            f"semaine contenait {_pct(m['hit_rate'])} des faits de la semaine suivante "
            f"pour {_pct(m['coverage'])} du patrimoine (PAI {_fr(m['pai'])}) ; la "
            f"liste des lieux les plus signalés des {self.params.naive_weeks} "
            f"dernières semaines en contenait {_pct(n['hit_rate'])} pour "
            f"{_pct(n['coverage'])} (PAI {_fr(n['pai'])})."
        )
        if self.beats_naive:
            return text + " La méthode fait mieux que la liste simple."
        return (
            text + " La méthode ne fait pas nettement mieux que la liste simple : "
            "la liste n'est pas proposée."
        )


def _fr(value: float, digits: int = 1) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    return f"{value:.{digits}f}".replace(".", ",")


def _pct(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    return f"{100 * value:.0f} %"


# --------------------------------------------------------------------------------------
# Input.
# --------------------------------------------------------------------------------------


def read_patrimoine(places: pd.DataFrame, *, by: str = "logements") -> Patrimoine:
    """Check the places (``place`` column or index; ``logements``; ``x``/``y`` metres
    or ``lon``/``lat``) and return them as arrays.

    ``by="logements"`` measures coverage in logements (places without a count weigh
    nothing), ``by="places"`` in places.
    """
    if not isinstance(places, pd.DataFrame):
        raise ValueError("places must be a table (pandas.DataFrame)")
    frame = places.reset_index() if "place" not in places.columns else places
    if "place" not in frame.columns:
        raise ValueError("places: a 'place' column (or index) is needed")
    ids = frame["place"].to_numpy()
    if pd.isna(ids).any():
        raise ValueError("places: a place has no id")
    if len(pd.unique(ids)) != len(ids):
        raise ValueError("places: a place id appears twice")
    if by not in ("logements", "places"):
        raise ValueError("by must be 'logements' or 'places'")
    by_logements = by == "logements" and "logements" in frame.columns
    if by_logements:
        weight = pd.to_numeric(frame["logements"], errors="coerce").to_numpy(float)
        if (weight < 0).any():
            raise ValueError("places: logements must not be negative")
        weight = np.nan_to_num(weight, nan=0.0)
        if not weight.sum() > 0:
            by_logements, weight = False, np.ones(len(ids))
    else:
        weight = np.ones(len(ids))
    x, y = _coordinates(frame, "places")
    return Patrimoine(ids=ids, weight=weight, by_logements=by_logements, x=x, y=y)


def _coordinates(frame: pd.DataFrame, name: str):
    """x, y in metres from ``x``/``y`` or ``lon``/``lat`` columns (None without)."""
    if {"x", "y"} <= set(frame.columns):
        x = pd.to_numeric(frame["x"], errors="coerce").to_numpy(float)
        y = pd.to_numeric(frame["y"], errors="coerce").to_numpy(float)
    elif {"lon", "lat"} <= set(frame.columns):
        lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(float)
        bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
        if bad.any():
            raise ValueError(f"{name}: lon/lat out of range")
        x, y = np.full(len(lon), np.nan), np.full(len(lat), np.nan)
        known = ~(np.isnan(lon) | np.isnan(lat))
        if known.any():
            x[known], y[known] = project_lonlat(lon[known], lat[known])
    else:
        return None, None
    return x, y


def read_facts(
    facts: pd.DataFrame, patrimoine: Patrimoine, params: PatrolParams = DEFAULT_PARAMS
) -> Facts:
    """Check the facts (``when`` local date and hour, ``place``, ``category``;
    optionally ``x``/``y`` or ``lon``/``lat`` and ``found_on_round``) and return
    them as arrays. Facts at a place outside the patrimoine get the place -1."""
    if not isinstance(facts, pd.DataFrame):
        raise ValueError("facts must be a table (pandas.DataFrame)")
    for column in ("when", "place", "category"):
        if column not in facts.columns:
            raise ValueError(f"facts: a '{column}' column is needed")
    if "found_on_round" in facts.columns and not params.include_rounds:
        facts = facts[~facts["found_on_round"].fillna(False).astype(bool)]
    try:
        when = pd.to_datetime(facts["when"])
    except (ValueError, TypeError) as error:
        raise ValueError("facts: 'when' must hold dates") from error
    if getattr(when.dt, "tz", None) is not None:
        when = when.dt.tz_convert("Europe/Paris").dt.tz_localize(None)
    if when.isna().any():
        raise ValueError("facts: a fact has no date ('when')")
    index = pd.Index(patrimoine.ids)
    place = index.get_indexer(facts["place"].to_numpy())
    x, y = _coordinates(facts, "facts")
    return Facts(
        day=when.to_numpy().astype("datetime64[D]"),
        hour=when.dt.hour.to_numpy(),
        place=place,
        category=facts["category"].to_numpy(),
        x=x,
        y=y,
    )


def _monday(week) -> np.datetime64:
    try:
        return week_monday([week])[0]
    except (ValueError, TypeError) as error:
        raise ValueError("week must be a date") from error


def _check_top(top) -> int:
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise ValueError("top must be a whole number of places, at least 1")
    return int(top)


# --------------------------------------------------------------------------------------
# Scores.
# --------------------------------------------------------------------------------------


def _status_of(statuses, monday: np.datetime64, ids: np.ndarray) -> np.ndarray:
    """Each place's early-warning status the week before ``monday`` ('' unknown)."""
    out = np.full(len(ids), "", dtype=object)
    if statuses is None:
        return out
    if isinstance(statuses, pd.DataFrame):
        if not isinstance(statuses.index, pd.MultiIndex):
            raise ValueError("statuses: a table indexed by (week, unit) is needed")
        before = pd.Timestamp(monday - WEEK)
        weeks = statuses.index.get_level_values(0)
        if before not in set(weeks):
            return out
        statuses = statuses.xs(before, level=0)["status"]
    if isinstance(statuses, Mapping | pd.Series):
        lookup = dict(statuses.items())
        for i, place in enumerate(ids.tolist()):
            out[i] = lookup.get(place) or ""
        return out
    raise ValueError("statuses: a mapping place -> status or unit_statuses' table")


def score_places(
    facts: Facts,
    patrimoine: Patrimoine,
    week,
    *,
    near_repeat: Iterable = (),
    statuses=None,
    params: PatrolParams = DEFAULT_PARAMS,
) -> pd.DataFrame:
    """Score of every place for the week starting on ``week``'s Monday.

    Returns one row per place (index: place id) with ``score``, ``decayed`` (recent
    facts term), ``near_repeat`` (near-repeat term before the boost), ``status``,
    ``recent`` (facts in the last 8 weeks), ``last_week`` and ``near_facts`` (facts
    of significant categories in the last ``near_repeat_days`` days within reach).
    """
    monday = _monday(week)
    n_places = len(patrimoine.ids)
    start = monday - params.history_weeks * WEEK
    keep = (facts.day < monday) & (facts.day >= start) & (facts.place >= 0)
    age = (monday - facts.day[keep]) / DAY
    decay = 0.5 ** (age / (7 * params.half_life_weeks))
    place, count = facts.place[keep], facts.counts(keep)
    decayed = np.bincount(place, weights=decay * count, minlength=n_places)
    recent = np.bincount(place, weights=count * (age <= 56), minlength=n_places)
    last_week = np.bincount(place, weights=count * (age <= 7), minlength=n_places)

    nr_term = np.zeros(n_places)
    near_facts = np.zeros(n_places, dtype=int)
    significant = set(near_repeat or ())
    if significant and params.near_repeat_weight > 0:
        nr_term, near_facts = _near_repeat_term(
            facts, patrimoine, keep, age, decay, significant, params
        )

    status = _status_of(statuses, monday, patrimoine.ids)
    boost = np.where(
        status == ALERTE,
        1 + params.alerte_boost,
        np.where(status == VIGILANCE, 1 + params.vigilance_boost, 1.0),
    )
    return pd.DataFrame(
        {
            "score": (decayed + nr_term) * boost,
            "decayed": decayed,
            "near_repeat": nr_term,
            "status": status,
            "recent": recent.round().astype(int),
            "last_week": last_week.round().astype(int),
            "near_facts": near_facts,
        },
        index=pd.Index(patrimoine.ids, name="place"),
    )


def _near_repeat_term(facts, patrimoine, keep, age, decay, significant, params):
    """Near-repeat term of each place: fresh facts of significant categories nearby."""
    n_places = len(patrimoine.ids)
    term = np.zeros(n_places)
    count = np.zeros(n_places, dtype=int)
    fresh = np.isin(facts.category[keep], list(significant)) & (
        age <= params.near_repeat_days
    )
    if not fresh.any():
        return term, count
    fx, fy = _fact_positions(facts, patrimoine, keep)
    fx, fy, weight = fx[fresh], fy[fresh], decay[fresh]
    located = ~(np.isnan(fx) | np.isnan(fy))
    tree = patrimoine.tree()
    if tree is None or not located.any():
        # Without positions, near-repeat can only mean « the same place ».
        place = facts.place[keep][fresh]
        term = params.near_repeat_weight * np.bincount(
            place, weights=weight, minlength=n_places
        )
        return term, np.bincount(place, minlength=n_places)
    points = np.column_stack([fx[located], fy[located]])
    weight = weight[located]
    reach = params.near_repeat_metres
    for k, neighbours in enumerate(tree.query_ball_point(points, reach)):
        if not neighbours:
            continue
        target = patrimoine._tree_index[neighbours]
        distance = np.hypot(
            patrimoine.x[target] - points[k, 0], patrimoine.y[target] - points[k, 1]
        )
        term[target] += params.near_repeat_weight * weight[k] * (1 - distance / reach)
        count[target] += 1
    return term, count


def _fact_positions(facts, patrimoine, keep):
    """Facts' positions; a fact without one takes its place's position."""
    place = facts.place[keep]
    px = (
        patrimoine.x[place] if patrimoine.x is not None else np.full(len(place), np.nan)
    )
    py = (
        patrimoine.y[place] if patrimoine.y is not None else np.full(len(place), np.nan)
    )
    if facts.x is None:
        return px, py
    fx, fy = facts.x[keep], facts.y[keep]
    missing = np.isnan(fx) | np.isnan(fy)
    return np.where(missing, px, fx), np.where(missing, py, fy)


def _ranked(score: np.ndarray, tiebreak: np.ndarray, top: int, eligible) -> np.ndarray:
    """Indices of the ``top`` best eligible scores (ties: larger ``tiebreak``, then
    the place's order)."""
    order = np.lexsort((np.arange(len(score)), -tiebreak, -score))
    order = order[eligible[order]]
    return order[:top]


def naive_places(
    facts: Facts, patrimoine: Patrimoine, week, top: int, weeks: int = 4
) -> np.ndarray:
    """Indices of the naive list: most facts in the ``weeks`` weeks before ``week``;
    ties (zero included) go to the most recent fact, then the place's order, so the
    list holds ``top`` places whenever that many have a fact before the week."""
    monday = _monday(week)
    before = (facts.day < monday) & (facts.place >= 0)
    window = before & (facts.day >= monday - weeks * WEEK)
    n_places = len(patrimoine.ids)
    counts = np.bincount(
        facts.place[window], weights=facts.counts(window), minlength=n_places
    )
    latest = np.full(n_places, -np.inf)
    np.maximum.at(latest, facts.place[before], facts.day[before].astype("int64"))
    return _ranked(counts, latest, _check_top(top), latest > -np.inf)


def method_places(
    facts: Facts,
    patrimoine: Patrimoine,
    week,
    top: int,
    *,
    near_repeat: Iterable = (),
    statuses=None,
    params: PatrolParams = DEFAULT_PARAMS,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Indices of the method's list and the scores of every place."""
    scores = score_places(
        facts,
        patrimoine,
        week,
        near_repeat=near_repeat,
        statuses=statuses,
        params=params,
    )
    score = scores["score"].to_numpy()
    chosen = _ranked(score, np.zeros(len(score)), _check_top(top), score > 0)
    return chosen, scores


# --------------------------------------------------------------------------------------
# Usual hours and words.
# --------------------------------------------------------------------------------------


def _hour_label(hour: int) -> str:
    hour %= 24
    return {0: "minuit", 12: "midi"}.get(hour, f"{hour} h")


def usual_hours(days: np.ndarray, hours: np.ndarray) -> str:
    """« surtout le vendredi et le samedi, 20 h–minuit »: the busiest weekdays (up
    to 3, each with at least half the busiest one's facts; « tous les jours » when
    they do not stand out) and the busiest window of :data:`HOURS_WINDOW` hours,
    narrowed to the hours that hold facts."""
    days = np.asarray(days).astype("datetime64[D]")
    hours = np.asarray(hours).astype(int)
    if len(days) < MIN_FACTS_FOR_HOURS:
        return "trop peu de faits pour dire des horaires habituels"
    weekday = ((days.astype("int64") + 3) % 7).astype(int)  # Monday = 0
    by_day = np.bincount(weekday, minlength=7)
    by_hour = np.bincount(hours % 24, minlength=24)
    window = np.array(
        [by_hour[(np.arange(HOURS_WINDOW) + h) % 24].sum() for h in range(24)]
    )
    start = int(np.argmax(window))
    # Say only the hours of the window that hold facts: 9 h–11 h, not 7 h–11 h.
    held = np.flatnonzero(by_hour[(np.arange(HOURS_WINDOW) + start) % 24])
    span = f"{_hour_label(start + held[0])}–{_hour_label(start + held[-1] + 1)}"
    # Up to three days, each with at least half the busiest day's facts.
    ranked = np.argsort(-by_day, kind="stable")[:3]
    chosen = [d for d in ranked if by_day[d] >= 0.5 * by_day[ranked[0]]]
    # Days that stand out: together well above their share of an even week.
    if by_day[chosen].sum() <= len(chosen) / 7 * len(days) * 1.25:
        return f"surtout {span}, tous les jours"
    names = [f"le {WEEKDAYS_FR[d]}" for d in sorted(chosen)]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]
    return f"surtout {joined}, {span}"


def _reason(row, params: PatrolParams) -> str:
    """Why a place is listed, in words."""
    plural = "faits signalés" if row.recent > 1 else "fait signalé"
    parts = [f"{row.recent} {plural} ces 8 dernières semaines"]
    if row.last_week:
        parts[0] += f", dont {row.last_week} la semaine dernière"
    if row.near_facts:
        s = "s" if row.near_facts > 1 else ""
        parts.append(
            f"{row.near_facts} fait{s} récent{s} à moins de "
            f"{params.near_repeat_metres:g} m dans une catégorie où les faits se "
            "répètent près dans l'espace et le temps"
        )
    if row.status == ALERTE:
        parts.append("en alerte (alerte précoce) la dernière semaine calculée")
    elif row.status == VIGILANCE:
        parts.append("en vigilance (alerte précoce) la dernière semaine calculée")
    return " ; ".join(parts)


def patrol_list(
    facts: pd.DataFrame,
    places: pd.DataFrame,
    week,
    *,
    top: int | None = None,
    near_repeat: Iterable = (),
    statuses=None,
    params: PatrolParams = DEFAULT_PARAMS,
    by: str = "logements",
) -> pd.DataFrame:
    """The top places for the week starting on ``week``'s Monday, facts before it.

    Parameters
    ----------
    facts : pandas.DataFrame
        ``when`` (local date and hour), ``place`` (résidence or entrée id),
        ``category``; ``x``/``y`` (Lambert-93 metres) or ``lon``/``lat`` optional;
        ``found_on_round`` optional (left out unless ``params.include_rounds``).
    places : pandas.DataFrame
        The patrimoine: ``place`` (column or index), ``logements``, and positions.
    week : date-like
        Any day of the coming week.
    top : int, optional
        How many places (default ``params.top``); fewer when fewer places have a
        positive score.
    near_repeat : iterable
        Categories where the Knox test was significant.
    statuses : mapping or pandas.DataFrame, optional
        Early-warning status per place (mapping), or ``unit_statuses``' table (the
        week before ``week`` is read).

    Returns
    -------
    pandas.DataFrame
        One row per listed place, best first: ``rank``, ``place``, ``score``,
        ``recent``, ``last_week``, ``near_facts``, ``status``, ``reason`` and
        ``hours`` (usual hours in words), ``share`` (of the patrimoine).
    """
    patrimoine = read_patrimoine(places, by=by)
    checked = read_facts(facts, patrimoine, params)
    top = _check_top(params.top if top is None else top)
    chosen, scores = method_places(
        checked,
        patrimoine,
        week,
        top,
        near_repeat=near_repeat,
        statuses=statuses,
        params=params,
    )
    monday = _monday(week)
    listed = scores.iloc[chosen].reset_index()
    listed.insert(0, "rank", np.arange(1, len(listed) + 1))
    listed["reason"] = [_reason(row, params) for row in listed.itertuples()]
    past = (checked.day < monday) & (checked.day >= monday - params.hours_weeks * WEEK)
    listed["hours"] = [
        usual_hours(checked.day[past & (checked.place == i)],
                    checked.hour[past & (checked.place == i)])
        for i in chosen
    ]  # fmt: skip
    listed["share"] = patrimoine.weight[chosen] / patrimoine.weight.sum()
    return listed


# --------------------------------------------------------------------------------------
# Back-test.
# --------------------------------------------------------------------------------------


def _week_figures(facts: Facts, patrimoine: Patrimoine, monday, chosen) -> tuple:
    """(facts of the week at known places, hits, coverage) of a list."""
    inside = (facts.day >= monday) & (facts.day < monday + WEEK) & (facts.place >= 0)
    place, count = facts.place[inside], facts.counts(inside)
    hits = int(round(count[np.isin(place, chosen)].sum()))
    coverage = patrimoine.weight[chosen].sum() / patrimoine.weight.sum()
    return int(round(count.sum())), hits, float(coverage)


def backtest(
    facts: pd.DataFrame,
    places: pd.DataFrame,
    end,
    *,
    weeks: int = 52,
    top: int | None = None,
    near_repeat: Iterable = (),
    statuses=None,
    params: PatrolParams = DEFAULT_PARAMS,
    by: str = "logements",
) -> BacktestResult:
    """Rolling back-test of the method against the naive list.

    The weeks tested are the ``weeks`` complete weeks before ``end``'s week; each
    week's lists are built from the facts before it. ``statuses`` is
    ``unit_statuses``' table (each week reads the week before) or None.

    Returns
    -------
    BacktestResult
        ``weekly``: one row per week (``week``, ``facts``, and per list ``hits``,
        ``hit_rate``, ``coverage``, ``pai``, ``listed``); ``summary``: rows
        ``methode`` and ``naive`` (``weeks``, ``facts``, ``hits``, ``hit_rate``,
        ``coverage``, ``pai``, ``median_hit_rate``, ``median_pai``); the verdict.
    """
    if isinstance(weeks, bool) or not isinstance(weeks, int | np.integer) or weeks < 1:
        raise ValueError("weeks must be a whole number, at least 1")
    patrimoine = read_patrimoine(places, by=by)
    checked = read_facts(facts, patrimoine, params)
    if not set(near_repeat or ()):
        checked = checked.by_day_and_place()
    top = _check_top(params.top if top is None else top)
    last = _monday(end)
    rows = []
    for k in range(weeks, 0, -1):
        monday = last - k * WEEK
        chosen, _ = method_places(
            checked,
            patrimoine,
            monday,
            top,
            near_repeat=near_repeat,
            statuses=statuses,
            params=params,
        )
        naive = naive_places(checked, patrimoine, monday, top, params.naive_weeks)
        n, hits, coverage = _week_figures(checked, patrimoine, monday, chosen)
        _, naive_hits, naive_coverage = _week_figures(
            checked, patrimoine, monday, naive
        )
        rows.append(
            {
                "week": pd.Timestamp(monday),
                "facts": n,
                "hits": hits,
                "coverage": coverage,
                "listed": len(chosen),
                "naive_hits": naive_hits,
                "naive_coverage": naive_coverage,
                "naive_listed": len(naive),
            }
        )
    weekly = pd.DataFrame(rows)
    for prefix in ("", "naive_"):
        rate = weekly[f"{prefix}hits"] / weekly["facts"].where(weekly["facts"] > 0)
        weekly[f"{prefix}hit_rate"] = rate
        weekly[f"{prefix}pai"] = rate / weekly[f"{prefix}coverage"].where(
            weekly[f"{prefix}coverage"] > 0
        )
    summary = pd.DataFrame(
        {"methode": _summary(weekly, ""), "naive": _summary(weekly, "naive_")}
    ).T
    # Paired by week: which list held more of the week's facts (same ``top``).
    used = weekly["facts"] > 0
    diff = (weekly["hits"] - weekly["naive_hits"])[used]
    wins, losses = int((diff > 0).sum()), int((diff < 0).sum())
    p_value = (
        binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue
        if wins + losses
        else 1.0
    )
    m, n = summary.loc["methode"], summary.loc["naive"]
    beats = bool(
        m["facts"] > 0
        and m["hit_rate"] > n["hit_rate"]
        and m["pai"] >= n["pai"]
        and p_value <= params.alpha
    )
    return BacktestResult(weekly, summary, beats, float(p_value), wins, losses, params)


def _summary(weekly: pd.DataFrame, prefix: str) -> dict:
    """Pooled figures of one list over the weeks with facts."""
    used = weekly[weekly["facts"] > 0]
    facts = int(used["facts"].sum())
    hits = int(used[f"{prefix}hits"].sum())
    hit_rate = hits / facts if facts else np.nan
    coverage = (
        float(np.average(used[f"{prefix}coverage"], weights=used["facts"]))
        if facts
        else np.nan
    )
    pai = hit_rate / coverage if facts and coverage > 0 else np.nan
    return {
        "weeks": len(used),
        "facts": facts,
        "hits": hits,
        "hit_rate": hit_rate,
        "coverage": coverage,
        "pai": pai,
        "median_hit_rate": float(used[f"{prefix}hit_rate"].median())
        if facts
        else np.nan,
        "median_pai": float(used[f"{prefix}pai"].median()) if facts else np.nan,
    }
