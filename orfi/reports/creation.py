"""Filing a fact: the one way, for the field form and the API alike.

A fact is filed exactly once per client UUID: a resend (a lost answer, the PWA's
outbox) gets the stored fact back. Sends of one UUID racing each other meet on the
UUID's unique index (see :func:`store_report`). A send of a known UUID whose content
differs from the stored fact's changes nothing and raises :class:`ReportConflict`
naming the fields that differ (see :func:`differing_fields`).
"""

from __future__ import annotations

import functools
import logging
import uuid as uuid_module
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from orfi.auth.models import User
from orfi.database import utcnow
from orfi.errors import OrfiError, ValidationError
from orfi.extensions import db
from orfi.geo.points import h3_cell
from orfi.nomenclature.models import Category
from orfi.notifications.models import EventKind
from orfi.patrimoine.models import Residence
from orfi.reports.alerting import alert
from orfi.reports.checks import (
    CheckedInput,
    InputRows,
    ReportInput,
    checked_input,
    read_input_rows,
)
from orfi.reports.models import (
    STAFF_VICTIMS,
    LocationSource,
    Report,
    ReportEvent,
    Status,
)
from orfi.reports.numbering import UPSERTS, give_back_reference, next_reference
from orfi.timezone import from_local, now_local, to_local

logger = logging.getLogger(__name__)


def derived_fields(occurred_at: datetime, latitude: float, longitude: float) -> dict:
    """Return the columns computed from time and position (calendar parts, H3 cells)."""
    local = to_local(occurred_at)
    return {
        "occurred_month": local.year * 100 + local.month,
        "occurred_weekday": local.weekday(),
        "occurred_hour": local.hour,
        "h3_r7": h3_cell(latitude, longitude, 7),
        "h3_r9": h3_cell(latitude, longitude, 9),
    }


def find_report_by_uuid(report_uuid: uuid_module.UUID) -> Report | None:
    """Return the fact with this client UUID, whoever filed it."""
    return db.session.scalar(db.select(Report).where(Report.uuid == report_uuid))


def create_report(
    user: User, data: ReportInput, rows: InputRows | None = None
) -> tuple[Report, bool]:
    """File a fact for ``user``; return it and whether it was created now (written in
    the session's transaction, not committed: the caller's unit of work commits).

    A UUID the client already sent returns the stored fact instead of a second one, so a
    resend after a lost answer never files the fact twice. ``rows``: what
    :func:`read_input_rows` reads, if the caller already read it in this transaction.
    """
    if rows is None:
        rows = read_input_rows(user, data)
    if rows.stored_id is not None and (existing := find_report_by_uuid(data.uuid)):
        return _resent_report(user, existing, data, rows.category), False
    return store_report(user, build_report(user, data, rows))


class ReportConflict(OrfiError):
    """Raised when a client UUID already names a fact stored with other content.

    ``fields`` maps each field that differs to its message; ``report`` is the stored
    fact, left as it was (its ``reference`` and ``report_uuid`` are kept here, read
    before a rollback expires it).
    """

    status_code = 409

    def __init__(self, report: Report, fields: dict[str, list[str]]):
        super().__init__(
            f"Cet identifiant (UUID) est déjà celui du fait {report.reference}, "
            "enregistré avec d'autres valeurs : rien n'a été modifié. Pour signaler "
            "un autre fait, envoyez-le sous un nouvel UUID."
        )
        self.report = report
        self.reference = report.reference
        self.report_uuid = report.uuid
        self.fields = fields


def filed_content(data: ReportInput, residence: Residence | None) -> dict:
    """Return what a fact stores of ``data``, by column: the client's content,
    normalised as stored (time in UTC, description stripped, staff-only fields
    dropped for other victims, the résidence's position when none was sent)."""
    occurred_at = data.occurred_at
    if occurred_at is not None and occurred_at.tzinfo is None:
        occurred_at = from_local(occurred_at)
    if data.latitude is None:
        latitude = residence.latitude if residence is not None else None
        longitude = residence.longitude if residence is not None else None
        source, accuracy = LocationSource.RESIDENCE, None
    else:
        latitude, longitude = data.latitude, data.longitude
        source = data.location_source or LocationSource.GPS
        accuracy = data.gps_accuracy_m
    staff = data.victime in STAFF_VICTIMS
    return {
        "residence_id": data.residence_id,
        "batiment_id": data.batiment_id,
        "category_id": data.category_id,
        "occurred_at": occurred_at,
        "latitude": latitude,
        "longitude": longitude,
        "gps_accuracy_m": accuracy,
        "location_source": source,
        "lieu": data.lieu,
        "victime": data.victime,
        "arret_travail_jours": data.arret_travail_jours if staff else None,
        "mission_service_public": bool(data.mission_service_public and staff),
        "suite": data.suite,
        "intervention": data.intervention,
        "damage_cost_eur": data.damage_cost_eur,
        "gravity": data.gravity,
        "description": (data.description or "").strip(),
    }


#: Content others may change after filing, by the key of its history's changes: a
#: référent's qualification (category, gravity: orfi.reports.qualification) and the
#: complaint's follow-up (suite, mission de service public: orfi.followup.services).
#: A resend is also compared with the value filed, which the history keeps.
_CHANGED_LATER = {
    "category_id": "category",
    "gravity": "gravity",
    "suite": "suite",
    "mission_service_public": "mission_service_public",
}


def differing_fields(
    existing: Report, data: ReportInput, category: Category | None = None
) -> list[str]:
    """Return the fields whose content in ``data`` differs from the stored fact's
    (empty: the same fact). ``category`` is the row of ``data.category_id``, if read.

    Only the client's content counts (see :func:`filed_content`); a field the client
    left out counts as empty. A position taken from the résidence is not compared
    (the résidence may have moved since). What others may change later (see
    ``_CHANGED_LATER``) also matches the value the fact was filed with.
    """
    sent = filed_content(data, None)
    if data.latitude is None:
        del sent["latitude"], sent["longitude"]
    differing = [
        name
        for name, value in sent.items()
        if not _same(getattr(existing, name), value)
    ]
    later = [name for name in differing if name in _CHANGED_LATER]
    if later:
        filed = _filed_values(existing)
        for name in later:
            if name in filed and filed[name] == _as_recorded(name, sent, category):
                differing.remove(name)
    return differing


def _as_recorded(name: str, sent: dict, category: Category | None):
    """A sent value as the fact's history records it: a category by its code, a
    choice by its value."""
    value = sent[name]
    if name == "category_id":
        return category.code if category is not None else None
    return getattr(value, "value", value)


def _same(stored, sent) -> bool:
    """Whether a stored value and a sent one are the same (SQLite returns naive
    UTC datetimes)."""
    if isinstance(stored, datetime) and isinstance(sent, datetime):
        if stored.tzinfo is None:
            stored = stored.replace(tzinfo=UTC)
        return sent.tzinfo is not None and stored == sent
    return stored == sent


def _filed_values(report: Report) -> dict:
    """Return the values ``report`` was filed with, as its history records them, of
    the content changed since (the first change of each holds the value before)."""
    filed: dict = {}
    events = db.session.scalars(
        sa.select(ReportEvent.changes)
        .where(ReportEvent.report_id == report.id)
        .order_by(ReportEvent.id)
    )
    for changes in events:
        for name, key in _CHANGED_LATER.items():
            if key in (changes or {}) and name not in filed:
                filed[name] = changes[key][0]
    return filed


@dataclass
class NewReport:
    """A checked fact, ready to be stored: its columns' values by attribute (no id,
    no reference yet), and the rows its checks loaded."""

    values: dict
    checked: CheckedInput
    data: ReportInput


def build_report(
    user: User, data: ReportInput, rows: InputRows | None = None
) -> NewReport:
    """Check ``data`` for ``user`` and compute the new fact, not stored yet; raise
    ValidationError with every error by field (``rows``: see checked_input)."""
    checked = checked_input(user, data, rows)
    if checked.errors:
        raise ValidationError(checked.errors)
    residence = checked.residence
    content = filed_content(data, residence)
    values = {
        **content,
        "uuid": data.uuid or uuid_module.uuid4(),
        "organisation_id": residence.organisation_id,
        "residence_id": residence.id,
        "category_id": checked.category.id,
        "author_id": user.id,
        "created_at": utcnow(),
        "status": Status.NOUVEAU,
        **derived_fields(
            content["occurred_at"], content["latitude"], content["longitude"]
        ),
    }
    return NewReport(values, checked, data)


def store_report(user: User, new: NewReport) -> tuple[Report, bool]:
    """Number and insert a fact built by :func:`build_report`; return the stored fact
    and whether it is this one.

    One ORM INSERT … ON CONFLICT DO NOTHING … RETURNING: the unit of work's flush costs
    several times more, for one row whose every value is known. Two sends of one UUID
    may both find it free (PostgreSQL lets them check at once): the second one's
    insert stores nothing, its reference number is given back and the first send's
    fact is returned.
    """
    residence = new.checked.residence
    year = now_local().year
    values = {
        **new.values,
        "reference": next_reference(
            residence.organisation_id, residence.organisation.code, year
        ),
    }
    dialect = db.session.get_bind().dialect.name
    report = db.session.scalar(_insert_unless_stored(dialect), [values])
    if report is None:
        # The counter's row stays locked until this transaction ends: no other fact
        # took a number since ours, which can be given back.
        give_back_reference(residence.organisation_id, year)
        existing = find_report_by_uuid(values["uuid"])
        return _resent_report(user, existing, new.data, new.checked.category), False
    # The fact holds the rows the checks loaded: the session's identity map is weak,
    # and would otherwise read them again to show the fact (its author, the caller,
    # is held by the request).
    for name, row in (
        ("residence", residence),
        ("category", new.checked.category),
        ("batiment", new.checked.batiment),
    ):
        set_committed_value(report, name, row)
    # No "created" event: the row itself says who filed it and when (its history
    # holds what changed since).
    logger.info("Fait %s enregistré par l'utilisateur %s", report.reference, user.id)
    # Alerts go by the time of filing, not the fact's date: a back-dated fact alerts.
    alert(EventKind.FILED, report, actor_id=user.id, at=report.created_at)
    return report, True


@functools.cache
def _insert_unless_stored(dialect: str) -> sa.Insert:
    """INSERT of a fact that stores nothing if its UUID is taken (RETURNING no row);
    built once per dialect."""
    return (
        UPSERTS[dialect](Report)
        .on_conflict_do_nothing(index_elements=[Report.uuid])
        .returning(Report)
    )


def _resent_report(
    user: User, existing: Report, data: ReportInput, category: Category | None
) -> Report:
    """Return the stored fact a client sent again, if it is this user's and the same
    content; else raise ValidationError (another author) or ReportConflict."""
    if existing.author_id != user.id:
        raise ValidationError({"uuid": ["Cet identifiant est déjà utilisé."]})
    differing = differing_fields(existing, data, category)
    if differing:
        message = (
            f"Diffère du fait {existing.reference} déjà enregistré sous cet "
            "identifiant : non modifié."
        )
        raise ReportConflict(existing, {name: [message] for name in differing})
    return existing
