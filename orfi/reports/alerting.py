"""The alerts' view of a fact: the values an event of it names (issue 11).

One call from each service that changes a fact (filing, qualification, follow-up)
records the event in that service's transaction (see orfi.notifications).
"""

from __future__ import annotations

from datetime import datetime

from orfi.notifications.models import EventKind
from orfi.notifications.services import FactValues, Recorded, is_grave, record_event
from orfi.reports.models import STAFF_VICTIMS, Report


def fact_values(report: Report) -> FactValues:
    """Return what an alert may name of ``report`` (never its description)."""
    category = report.category
    residence = report.residence
    return FactValues(
        organisation_id=report.organisation_id,
        reference=report.reference,
        residence_id=report.residence_id,
        residence_name=residence.name,
        agence_id=residence.agence_id,
        category_code=category.code,
        category_label=category.label,
        gravity=report.gravity,
        occurred_at=report.occurred_at,
        author_id=report.author_id,
        report_id=report.id,
        report_uuid=str(report.uuid),
        staff_victim=report.victime in STAFF_VICTIMS,
        immediate_category=category.immediate_alert,
        status=report.status.value,
    )


def alert(
    kind: str,
    report: Report,
    *,
    actor_id: int | None,
    at: datetime | None = None,
    detail: str = "",
) -> Recorded:
    """Record an alert event of ``report`` in the current transaction."""
    return record_event(
        kind, fact_values(report), actor_id=actor_id, at=at, detail=detail
    )


def is_grave_fact(report: Report) -> bool:
    """Whether ``report`` is grave for the alerts (gravity, staff victim, category)."""
    return is_grave(
        report.gravity,
        report.victime in STAFF_VICTIMS,
        report.category.immediate_alert,
    )


def alert_changes(
    report: Report,
    *,
    actor_id: int,
    status_changed: bool,
    was_grave: bool = True,
    kind: str = "",
    detail: str = "",
) -> None:
    """Record the events of a change to ``report``: its own ``kind`` (an action, a
    complaint), a status change, and the fact becoming grave (gravity set or raised
    at qualification)."""
    if kind:
        alert(kind, report, actor_id=actor_id, detail=detail)
    if status_changed:
        alert(EventKind.STATUS, report, actor_id=actor_id)
    if not was_grave and is_grave_fact(report):
        alert(EventKind.GRAVE, report, actor_id=actor_id)
