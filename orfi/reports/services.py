"""Transitional: the names ``orfi.api.payloads`` still imports from here.

The reports services are split by job: :mod:`~orfi.reports.checks`,
:mod:`~orfi.reports.creation`, :mod:`~orfi.reports.numbering`,
:mod:`~orfi.reports.queries`, :mod:`~orfi.reports.nearby`,
:mod:`~orfi.reports.additions` and :mod:`~orfi.reports.qualification`; import from
those. Delete this module once ``payloads.py`` does (its ``new_report_json`` is no
longer called: the API renders a new fact, an ORM ``Report``, with ``report_json``).
"""

from __future__ import annotations

from orfi.reports.checks import ReportInput
from orfi.reports.creation import NewReport
from orfi.reports.nearby import NearbyFact
from orfi.reports.queries import ReportFilters

__all__ = ["NearbyFact", "NewReport", "ReportFilters", "ReportInput"]
