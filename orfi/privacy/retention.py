"""The retention rules of facts (docs/privacy.md), as plain functions of its fields.

Retention is tied to purpose (DOMAIN.md, CNIL): a fact keeps its free text, photos and
precise position while the bailleur may still act on it, that is

- a closed fact without any suite: :data:`RetentionPolicy.no_suite` months;
- otherwise (a suite was given, or the fact is still open): the limitation period of
  its offence class, contravention, délit or crime;
- and never less than :data:`RetentionPolicy.lease` months for troubles and trafics,
  which may ground an action on the lease.

Months run from the fact's reference date: the latest of the day it occurred (Paris),
its last follow-up action and its complaint. After that, ``orfi purge`` anonymises it;
what stays (category, place, time, counts) serves statistics only.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from orfi.privacy.models import RetentionRule
from orfi.reports.models import Status, Suite

#: Categories whose facts are contraventions, or no offence at all (a conflict
#: between neighbours), at worst: the shortest limitation period applies.
CONTRAVENTION_CATEGORIES = frozenset({"TT02", "TT03", "TT04", "TT05", "TT07"})
#: Categories whose facts may be crimes when they are of gravity 4 (danger grave):
#: violence with permanent harm, arson endangering people, organised trafficking.
CRIME_CATEGORIES = frozenset({"AP03", "AP04", "AB03", "TR01"})
CRIME_MIN_GRAVITY = 4
#: Families whose facts may ground an action on the lease (troubles de jouissance,
#: trafic in the résidence: art. 7 b of the loi du 6 juillet 1989).
LEASE_FAMILIES = frozenset({"TT", "TR"})
#: Suites that start or prepare legal action; "aucune" and an empty suite do not.
LEGAL_SUITES = frozenset(set(Suite) - {Suite.AUCUNE})

_SETTINGS = {
    "no_suite": "ORFI_RETENTION_MONTHS_NO_SUITE",
    "lease": "ORFI_RETENTION_MONTHS_LEASE",
    "contravention": "ORFI_RETENTION_MONTHS_CONTRAVENTION",
    "delit": "ORFI_RETENTION_MONTHS_DELIT",
    "crime": "ORFI_RETENTION_MONTHS_CRIME",
}


@dataclass(frozen=True)
class RetentionPolicy:
    """How many months each rule keeps a fact's free text.

    No default here: the durations are settings (``ORFI_RETENTION_MONTHS_*``, see
    orfi/config.py), read by :meth:`from_config`.
    """

    no_suite: int
    lease: int
    contravention: int
    delit: int
    crime: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetentionPolicy:
        """Read the policy from the ``ORFI_RETENTION_MONTHS_*`` settings.

        Raises ValueError for a duration that is not a whole number of months ≥ 1: a
        zero would anonymise every fact at once.
        """
        values = {}
        for name, key in _SETTINGS.items():
            value = config[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"{key} doit être un nombre entier de mois, au moins 1 "
                    f"(valeur : {value!r})."
                )
            values[name] = value
        return cls(**values)

    def months(self, rule: RetentionRule) -> int:
        """Return the months ``rule`` keeps a fact."""
        return {
            RetentionRule.SANS_SUITE: self.no_suite,
            RetentionRule.BAIL: self.lease,
            RetentionRule.CONTRAVENTION: self.contravention,
            RetentionRule.DELIT: self.delit,
            RetentionRule.CRIME: self.crime,
        }[rule]

    @property
    def shortest(self) -> int:
        """The fewest months any rule keeps a fact."""
        return min(
            self.no_suite, self.lease, self.contravention, self.delit, self.crime
        )


@dataclass(frozen=True)
class FactRetention:
    """What the rules need to know about one fact."""

    category_code: str
    family_code: str
    gravity: int | None
    status: Status
    suite: Suite | None
    has_complaint: bool
    occurred_on: date  # Europe/Paris
    last_action_on: date | None = None
    complaint_on: date | None = None


def offence_class(category_code: str, gravity: int | None) -> RetentionRule:
    """Return the offence class of a category: délit unless listed otherwise.

    A bailleur's own categories, and "AU99 autre fait", count as délits.
    """
    if category_code in CRIME_CATEGORIES and (gravity or 0) >= CRIME_MIN_GRAVITY:
        return RetentionRule.CRIME
    if category_code in CONTRAVENTION_CATEGORIES:
        return RetentionRule.CONTRAVENTION
    return RetentionRule.DELIT


def has_suite(fact: FactRetention) -> bool:
    """Whether legal action was started or prepared (suite or complaint details)."""
    return fact.has_complaint or fact.suite in LEGAL_SUITES


def applicable_rule(fact: FactRetention, policy: RetentionPolicy) -> RetentionRule:
    """Return the rule that keeps ``fact`` longest among those that apply to it."""
    if fact.status is Status.CLOS and not has_suite(fact):
        rules = [RetentionRule.SANS_SUITE]
    else:
        rules = [offence_class(fact.category_code, fact.gravity)]
    if fact.family_code in LEASE_FAMILIES:
        rules.append(RetentionRule.BAIL)
    return max(rules, key=policy.months)  # the first one on a tie


def reference_date(fact: FactRetention) -> date:
    """Return the day retention runs from: the fact, or its latest follow-up."""
    return max(
        d for d in (fact.occurred_on, fact.last_action_on, fact.complaint_on) if d
    )


def add_months(day: date, months: int) -> date:
    """Return ``day`` moved by ``months`` (the 31st becomes the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def kept_until(
    fact: FactRetention, policy: RetentionPolicy
) -> tuple[RetentionRule, date]:
    """Return the applicable rule and the last day ``fact`` keeps its free text."""
    rule = applicable_rule(fact, policy)
    return rule, add_months(reference_date(fact), policy.months(rule))


def is_due(fact: FactRetention, policy: RetentionPolicy, today: date) -> bool:
    """Whether ``fact`` is to be anonymised on ``today`` (its period has ended)."""
    return today > kept_until(fact, policy)[1]


def earliest_due_occurrence(policy: RetentionPolicy, today: date) -> date:
    """Return a day such that every fact due on ``today`` occurred before it."""
    # A fact is due only if it occurred more than the shortest period ago; a few days
    # of margin cover month-end rounding (the rules above decide exactly).
    return add_months(today, -policy.shortest) + timedelta(days=3)
