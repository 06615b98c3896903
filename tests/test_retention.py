"""orfi.privacy.retention: which rule keeps a fact, and until which day (issue 18).

Pure functions, no database: each expected day is written out by hand from the rules
of docs/privacy.md, with durations chosen here (not the settings' defaults).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from orfi.privacy.models import RetentionRule
from orfi.privacy.retention import (
    FactRetention,
    RetentionPolicy,
    applicable_rule,
    earliest_due_occurrence,
    has_suite,
    is_due,
    kept_until,
    offence_class,
    reference_date,
)
from orfi.reports.models import Status, Suite

# Five different durations, so that each rule shows which one it took.
POLICY = RetentionPolicy(no_suite=11, lease=30, contravention=13, delit=70, crime=200)


def make_fact(**overrides) -> FactRetention:
    fields = {
        "category_code": "AB01",
        "family_code": "AB",
        "gravity": 2,
        "status": Status.CLOS,
        "suite": None,
        "has_complaint": False,
        "occurred_on": date(2024, 1, 15),
    }
    return FactRetention(**(fields | overrides))


@pytest.mark.parametrize(
    ("code", "gravity", "expected"),
    [
        ("AP04", 4, RetentionRule.CRIME),
        ("TR01", 4, RetentionRule.CRIME),
        ("AP04", 3, RetentionRule.DELIT),  # a crime category below gravity 4
        ("AP04", None, RetentionRule.DELIT),
        ("TT03", 4, RetentionRule.CONTRAVENTION),
        ("TT01", 1, RetentionRule.DELIT),
        ("AB01", 4, RetentionRule.DELIT),
        ("AU99", None, RetentionRule.DELIT),
        ("XX42", 4, RetentionRule.DELIT),  # a bailleur's own category
    ],
)
def test_offence_classes(code, gravity, expected):
    assert offence_class(code, gravity) is expected


@pytest.mark.parametrize(
    ("suite", "complaint", "expected"),
    [
        (None, False, False),
        (Suite.AUCUNE, False, False),
        (Suite.AUCUNE, True, True),
        (None, True, True),
        (Suite.MAIN_COURANTE, False, True),
        (Suite.SIGNALEMENT_PROCUREUR, False, True),
    ],
)
def test_has_suite(suite, complaint, expected):
    assert has_suite(make_fact(suite=suite, has_complaint=complaint)) is expected


@pytest.mark.parametrize(
    ("overrides", "rule", "last_day"),
    [
        # Closed without suite: 11 months.
        ({}, RetentionRule.SANS_SUITE, date(2024, 12, 15)),
        # A suite: the offence class, délit 70 months.
        ({"suite": Suite.MAIN_COURANTE}, RetentionRule.DELIT, date(2029, 11, 15)),
        # Still open: the offence class too.
        ({"status": Status.TRANSMIS}, RetentionRule.DELIT, date(2029, 11, 15)),
        (
            {"status": Status.NOUVEAU, "category_code": "AP04", "gravity": 4},
            RetentionRule.CRIME,
            date(2040, 9, 15),
        ),
        # Troubles: never less than the lease's 30 months...
        (
            {"family_code": "TT", "category_code": "TT03"},
            RetentionRule.BAIL,
            date(2026, 7, 15),
        ),
        # ... but the limitation period when it is longer.
        (
            {"family_code": "TT", "category_code": "TT01", "has_complaint": True},
            RetentionRule.DELIT,
            date(2029, 11, 15),
        ),
        (
            {"family_code": "TR", "category_code": "TR01", "status": Status.QUALIFIE},
            RetentionRule.DELIT,
            date(2029, 11, 15),
        ),
    ],
)
def test_rule_and_last_kept_day(overrides, rule, last_day):
    fact = make_fact(**overrides)
    assert applicable_rule(fact, POLICY) is rule
    assert kept_until(fact, POLICY) == (rule, last_day)


def test_the_lease_wins_only_when_it_keeps_longer():
    troubles = make_fact(
        family_code="TT", category_code="TT03", suite=Suite.PROCES_VERBAL
    )
    assert applicable_rule(troubles, POLICY) is RetentionRule.BAIL
    longer = replace(POLICY, contravention=40)
    assert applicable_rule(troubles, longer) is RetentionRule.CONTRAVENTION
    # A tie keeps the first rule: the fact's own class, not the lease.
    tie = replace(POLICY, contravention=30)
    assert applicable_rule(troubles, tie) is RetentionRule.CONTRAVENTION
    # Closed without suite: the lease still wins over the shorter 11 months.
    closed = replace(troubles, suite=Suite.AUCUNE)
    assert applicable_rule(closed, longer) is RetentionRule.BAIL


def test_is_due_the_day_after_the_last_kept_day():
    fact = make_fact()  # kept until 15 December 2024
    assert not is_due(fact, POLICY, date(2024, 12, 14))
    assert not is_due(fact, POLICY, date(2024, 12, 15))
    assert is_due(fact, POLICY, date(2024, 12, 16))


def test_retention_runs_from_the_latest_follow_up():
    fact = make_fact(
        last_action_on=date(2024, 3, 2), complaint_on=date(2024, 2, 20), suite=None
    )
    assert reference_date(fact) == date(2024, 3, 2)
    assert reference_date(replace(fact, complaint_on=date(2024, 5, 1))) == date(
        2024, 5, 1
    )
    assert reference_date(make_fact()) == date(2024, 1, 15)
    assert kept_until(fact, POLICY) == (RetentionRule.SANS_SUITE, date(2025, 2, 2))


def test_month_ends_shorten_to_the_last_day():
    fact = make_fact(occurred_on=date(2023, 3, 31))
    assert kept_until(fact, replace(POLICY, no_suite=11)) == (
        RetentionRule.SANS_SUITE,
        date(2024, 2, 29),
    )


def test_policy_settings_are_whole_months_of_at_least_one():
    config = {
        "ORFI_RETENTION_MONTHS_NO_SUITE": 11,
        "ORFI_RETENTION_MONTHS_LEASE": 30,
        "ORFI_RETENTION_MONTHS_CONTRAVENTION": 13,
        "ORFI_RETENTION_MONTHS_DELIT": 70,
        "ORFI_RETENTION_MONTHS_CRIME": 200,
    }
    assert RetentionPolicy.from_config(config) == POLICY
    assert RetentionPolicy.from_config(config).shortest == 11
    assert replace(POLICY, no_suite=50).shortest == 13
    for bad in (0, -1, True, 1.5, "12"):
        with pytest.raises(ValueError, match="ORFI_RETENTION_MONTHS_LEASE doit être"):
            RetentionPolicy.from_config(config | {"ORFI_RETENTION_MONTHS_LEASE": bad})
    one = {key: 1 for key in config}
    assert RetentionPolicy.from_config(one).shortest == 1


@pytest.mark.parametrize(
    ("rule", "months"),
    [
        (RetentionRule.SANS_SUITE, 11),
        (RetentionRule.BAIL, 30),
        (RetentionRule.CONTRAVENTION, 13),
        (RetentionRule.DELIT, 70),
        (RetentionRule.CRIME, 200),
    ],
)
def test_months_of_each_rule(rule, months):
    assert POLICY.months(rule) == months


def test_every_due_fact_occurred_before_the_earliest_due_day():
    """Walk every day of four years: none due on ``today`` occurred after the bound."""
    today = date(2026, 3, 31)
    bound = earliest_due_occurrence(POLICY, today)
    # The shortest rule (11 months) back from 31 March 2026, plus three days.
    assert bound == date(2025, 5, 3)
    day = date(2022, 3, 31)
    latest_due = None
    while day <= today:
        if is_due(make_fact(occurred_on=day), POLICY, today):
            latest_due = day
        day = date.fromordinal(day.toordinal() + 1)
    assert latest_due == date(2025, 4, 30)
    assert latest_due < bound
