"""orfi.federation.rollup: the small-count rule, at its boundaries (issue 18).

Each test pins a behaviour that a mutation of the module once broke unnoticed; the
expected rows are written out by hand (never read back from the module's constants).
"""

from __future__ import annotations

import pytest

from orfi.federation.rollup import (
    Area,
    Cell,
    StatRow,
    check_rows,
    merge_rows,
    roll_up,
    rule_description,
)

TOULOUSE = Area("31555", "QP031007", "2015")


def sector_row(count: int, commune: str | None = "31555", logements: int = 10):
    """A sector row (or, commune None, the unlocated row) of ``count`` facts."""
    return StatRow(commune, None, None, None, None, None, None, count, logements)


def cell_row(count: int, month: int | None = 202603, family: str | None = "AB"):
    """A located fact row of ``count`` facts."""
    return StatRow("31555", None, None, None, family, None, month, count, 10)


def as_tuples(rows: list[StatRow]) -> list[tuple]:
    return [
        (r.commune_insee, r.qpv_code, r.qpv_generation, r.month, r.family_code)
        + (r.category_code, r.count, r.logements)
        for r in rows
    ]


# ----------------------------------------------------------------- check_rows


@pytest.mark.parametrize(("count", "flagged"), [(0, False), (1, True), (4, True)])
def test_check_rows_flags_a_small_sector_row(count, flagged):
    problems = check_rows([sector_row(count)], 5)
    assert bool(problems) is flagged
    if flagged:
        assert problems == [
            f"rows[0] : {count} fait(s) sur la ligne du secteur, sous le seuil de 5 "
            "du secret statistique."
        ]


def test_check_rows_accepts_a_sector_row_at_the_threshold():
    assert check_rows([sector_row(5), sector_row(7, "31149")], 5) == []


@pytest.mark.parametrize(
    ("month", "family"), [(202603, "AB"), (None, "AB"), (202603, None)]
)
def test_check_rows_flags_every_small_located_fact_row(month, family):
    assert check_rows([cell_row(4, month, family)], 5) == [
        "rows[0] : 4 fait(s) dans une case localisée, sous le seuil de 5 du secret "
        "statistique."
    ]
    assert check_rows([cell_row(5, month, family)], 5) == []
    # A located fact row of 0 facts says nothing and is refused all the same.
    assert check_rows([cell_row(0, month, family)], 5)


def test_check_rows_allows_one_unlocated_row_of_any_count():
    assert check_rows([sector_row(1, None)], 5) == []
    assert check_rows([sector_row(1, None), sector_row(2, None)], 5) == [
        "rows[1] : ligne en double (même secteur, mois, famille).",
        "rows[1] : une seule ligne sans commune est permise.",
    ]


def test_check_rows_names_duplicates_and_their_place():
    rows = [sector_row(5), cell_row(6), sector_row(8)]
    assert check_rows(rows, 5) == [
        "rows[2] : ligne en double (même secteur, mois, famille)."
    ]


def test_a_qpv_code_in_two_generations_is_two_sectors():
    older = Area("31555", "QP031007", "2015")
    newer = Area("31555", "QP031007", "2024")
    cells = {Cell(older, 202603, "AB", "AB01"): 6, Cell(newer, 202603, "AB", "AB01"): 7}
    rows = roll_up(cells, {older: 100, newer: 50}, {}, 5)
    assert as_tuples(rows) == [
        ("31555", "QP031007", "2015", None, None, None, 0, 100),
        ("31555", "QP031007", "2015", 202603, "AB", "AB01", 6, 100),
        ("31555", "QP031007", "2024", None, None, None, 0, 50),
        ("31555", "QP031007", "2024", 202603, "AB", "AB01", 7, 50),
    ]
    assert check_rows(rows, 5) == []
    assert len(merge_rows(rows)) == 4


# -------------------------------------------------------------------- roll_up


@pytest.mark.parametrize("k", [0, -1])
def test_a_threshold_under_one_is_refused(k):
    with pytest.raises(ValueError, match="at least 1"):
        roll_up({Cell(TOULOUSE, 202603, "AB", "AB01"): 1}, {}, {}, k)


def test_a_threshold_of_one_publishes_every_cell_as_it_is():
    cells = {
        Cell(TOULOUSE, 202603, "AB", "AB01"): 1,
        Cell(TOULOUSE, 202604, "AP", "AP01"): 2,
    }
    rows = roll_up(cells, {TOULOUSE: 40}, {"31555": "Toulouse"}, 1)
    assert as_tuples(rows) == [
        ("31555", "QP031007", "2015", None, None, None, 0, 40),
        ("31555", "QP031007", "2015", 202603, "AB", "AB01", 1, 40),
        ("31555", "QP031007", "2015", 202604, "AP", "AP01", 2, 40),
    ]
    assert {r.commune_name for r in rows} == {"Toulouse"}


def test_cells_at_the_threshold_are_published_and_one_below_pooled():
    cells = {
        Cell(TOULOUSE, 202603, "AB", "AB01"): 5,  # = k: published as is
        Cell(TOULOUSE, 202603, "AB", "AB02"): 4,  # k - 1: pooled...
        Cell(TOULOUSE, 202603, "AB", "AB05"): 1,  # ... with this one: 5 = k
        Cell(TOULOUSE, 202604, "TT", "TT01"): 3,  # family pool 3 < k
        Cell(TOULOUSE, 202605, "TT", "TT03"): 2,  # period pool 3 + 2 = k
        Cell(TOULOUSE, 202604, "AP", "AP01"): 4,  # alone under k at every level
    }
    rows = roll_up(cells, {TOULOUSE: 30}, {}, 5)
    assert as_tuples(rows) == [
        ("31555", "QP031007", "2015", None, None, None, 0, 30),
        ("31555", "QP031007", "2015", None, "TT", None, 5, 30),
        ("31555", "QP031007", "2015", 202603, "AB", None, 5, 30),
        ("31555", "QP031007", "2015", 202603, "AB", "AB01", 5, 30),
        (None, None, None, None, None, None, 4, 0),
    ]


def test_a_sector_pool_at_the_threshold_stays_in_its_sector():
    cells = {
        Cell(TOULOUSE, 202603, "AB", "AB01"): 3,
        Cell(TOULOUSE, 202604, "AP", "AP01"): 2,
    }
    rows = roll_up(cells, {TOULOUSE: 30}, {}, 5)
    assert as_tuples(rows) == [("31555", "QP031007", "2015", None, None, None, 5, 30)]


def test_a_zero_cell_does_not_stop_the_count():
    cells = {
        Cell(TOULOUSE, 202603, "AB", "AB01"): 0,
        Cell(TOULOUSE, 202603, "AB", "AB02"): -2,
        Cell(TOULOUSE, 202604, "AP", "AP01"): 6,
        Cell(Area(None), 202604, "AP", "AP01"): 2,
    }
    rows = roll_up(cells, {TOULOUSE: 30}, {}, 5)
    assert as_tuples(rows) == [
        ("31555", "QP031007", "2015", None, None, None, 0, 30),
        ("31555", "QP031007", "2015", 202604, "AP", "AP01", 6, 30),
        (None, None, None, None, None, None, 2, 0),
    ]


def test_unlocated_facts_and_logements_share_one_row():
    nowhere = Area(None)
    cells = {Cell(nowhere, 202603, "AB", "AB01"): 9}  # never located, even ≥ k
    rows = roll_up(cells, {nowhere: 12, TOULOUSE: 30, Area(None, "X"): 3}, {}, 5)
    assert as_tuples(rows) == [
        ("31555", "QP031007", "2015", None, None, None, 0, 30),
        (None, None, None, None, None, None, 9, 15),
    ]


def test_an_unlocated_row_with_only_logements_is_published():
    rows = roll_up({}, {Area(None): 12}, {}, 5)
    assert as_tuples(rows) == [(None, None, None, None, None, None, 0, 12)]
    assert roll_up({}, {}, {}, 5) == []


def test_a_sector_with_facts_but_no_logements_has_its_row():
    area = Area("31149")
    rows = roll_up({Cell(area, 202603, "AB", "AB01"): 5}, {}, {"31149": ""}, 5)
    assert as_tuples(rows) == [
        ("31149", None, None, None, None, None, 0, 0),
        ("31149", None, None, 202603, "AB", "AB01", 5, 0),
    ]
    assert {r.commune_name for r in rows} == {None}  # an empty name is no name


def test_rows_come_in_their_canonical_order():
    a, b = Area("31149"), Area("31555", "QP031007", "2015")
    cells = {
        Cell(b, 202604, "AP", "AP01"): 5,
        Cell(b, 202603, "TT", "TT01"): 5,
        Cell(b, 202603, "AB", "AB02"): 5,
        Cell(b, 202603, "AB", "AB01"): 5,
        Cell(a, 202605, "AB", "AB01"): 5,
        Cell(Area(None), 202601, "AB", "AB01"): 1,
    }
    rows = roll_up(cells, {a: 1, b: 2}, {}, 5)
    assert [(r.commune_insee, r.month, r.category_code) for r in rows] == [
        ("31149", None, None),
        ("31149", 202605, "AB01"),
        ("31555", None, None),
        ("31555", 202603, "AB01"),
        ("31555", 202603, "AB02"),
        ("31555", 202603, "TT01"),
        ("31555", 202604, "AP01"),
        (None, None, None),
    ]


def test_the_rule_description_is_the_published_text():
    # Copied into every file: a change of wording is a change of the format.
    assert rule_description(7) == (
        "Secret statistique : une case de moins de 7 faits n'est jamais publiée. "
        "Elle est regroupée avec les autres petites cases de la même famille et du "
        "même mois (catégorie non précisée), puis de la même famille sur la période "
        "(mois non précisé), puis du même secteur commune × QPV sur la période "
        "(famille non précisée) ; ce qui reste sous 7 est publié sans commune, "
        "QPV, mois ni famille. Les totaux sont exacts."
    )


def test_a_sector_without_qpv_or_generation_comes_first():
    plain = Area("31555")
    no_generation = Area("31555", "QP031007")
    qpv = Area("31555", "QP031007", "2015")
    rows = roll_up({}, {qpv: 3, no_generation: 2, plain: 1}, {}, 5)
    assert [(r.qpv_code, r.qpv_generation) for r in rows] == [
        (None, None),
        ("QP031007", None),
        ("QP031007", "2015"),
    ]


# ----------------------------------------------------------------- merge_rows


def test_merge_adds_counts_and_keeps_the_largest_logements_and_a_name():
    first = StatRow("31555", None, "QP031007", "2015", None, None, None, 5, 100)
    second = StatRow("31555", "Toulouse", "QP031007", "2015", None, None, None, 6, 80)
    third = StatRow("31555", "Autre", "QP031007", "2015", None, None, None, 0, 120)
    other = StatRow("31555", None, "QP031007", "2024", None, None, None, 7, 40)
    merged = merge_rows([first, other, second, third])
    assert merged == [
        StatRow("31555", "Toulouse", "QP031007", "2015", None, None, None, 11, 120),
        other,
    ]
    cell = StatRow("31555", None, None, None, "AB", "AB01", 202603, 5, 10)
    assert merge_rows([cell, cell]) == [
        StatRow("31555", None, None, None, "AB", "AB01", 202603, 10, 10)
    ]
