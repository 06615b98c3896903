"""The access log: which reads are recorded, recording one, listing and purging them.

Reads are recorded by one hook (``orfi.privacy.routes``) from the endpoint a request
reached, so that features need not know about the log: :data:`LOGGED_ENDPOINTS` is the
list, :func:`describe_access` what is kept of each. An entry names the fact by its
reference and an export by its format, filters and row count; never any content.
"""

from __future__ import annotations

import logging
import uuid as uuid_module
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

import sqlalchemy as sa

from orfi.auth.models import User
from orfi.database import utcnow, write_intent
from orfi.extensions import db
from orfi.photos.models import Photo
from orfi.privacy.models import AccessAction, AccessLogEntry
from orfi.reports.models import Report
from orfi.timezone import from_local
from orfi.writers import writer_turn

logger = logging.getLogger(__name__)

DETAIL_MAX_LENGTH = 300
#: What an entry's ``object_type`` means, for the page.
OBJECT_LABELS = {
    "report": "Fait",
    "photo": "Photo",
    "reports": "Liste de faits",
    "statistics": "Statistiques",
    "federation": "Fichier fédération",
    "bilan": "Bilan d'activité",
    "access_log": "Journal des accès",
    "purge": "Conservation",
}


class Caller(Protocol):
    """Whoever made a request: a User, or the row an API token stands for."""

    id: int
    organisation_id: int | None
    federation_id: int | None


@dataclass(frozen=True)
class Access:
    """One read to record, as :func:`describe_access` sees it.

    ``required``: a file that leaves orfi (an export, a full-size photo) is refused
    when its entry cannot be written; a page or an API read is served anyway and the
    failure goes to the application's error log.
    """

    action: AccessAction
    object_type: str
    report_uuid: uuid_module.UUID | None = None
    photo_uuid: uuid_module.UUID | None = None
    detail: str = ""
    required: bool = False


def _filters(args: Mapping[str, str], skip: tuple[str, ...] = ()) -> str:
    pairs = [
        f"{key}={value}"
        for key, value in args.items(multi=True)  # type: ignore[call-arg]
        if value != "" and key not in skip
    ]
    return ", ".join(pairs) if pairs else "aucun"


def _with_filters(text: str, args, skip: tuple[str, ...] = ()) -> str:
    filters = f"filtres : {_filters(args, skip)}"
    return f"{text} ; {filters}" if text else filters


def _rows(headers: Mapping[str, str]) -> str:
    count = headers.get("X-Orfi-Row-Count")
    return f", {count} fait(s)" if count is not None else ""


_Describe = Callable[[dict[str, Any], Any, Mapping[str, str]], Access | None]


def _fact_page(view_args, _args, _headers) -> Access:
    return Access(AccessAction.VIEW, "report", report_uuid=view_args["report_uuid"])


def _api_fact(view_args, _args, _headers) -> Access:
    return Access(AccessAction.API_READ, "report", report_uuid=view_args["report_uuid"])


def _api_list(_view_args, args, _headers) -> Access:
    return Access(AccessAction.API_READ, "reports", detail=_with_filters("API", args))


def _photo(view_args, args, _headers) -> Access | None:
    # A thumbnail is part of the fact's page (itself recorded): only the photo itself
    # is a download of its own.
    if args.get("taille") == "miniature" or args.get("size") == "thumbnail":
        return None
    return Access(
        AccessAction.DOWNLOAD_PHOTO,
        "photo",
        photo_uuid=view_args["photo_uuid"],
        required=True,
    )


def _export(object_type: str, text: str, args) -> Access:
    """Describe a file leaving orfi: an entry naming it and the filters that chose
    its content, so required that the file is refused when the entry cannot be written.
    """
    return Access(
        AccessAction.EXPORT,
        object_type,
        detail=_with_filters(text, args),
        required=True,
    )


def _facts_export(view_args, args, headers) -> Access:
    return _export("reports", f"{view_args['fmt'].upper()}{_rows(headers)}", args)


def _statistics_csv(view_args, args, _headers) -> Access:
    return _export("statistics", f"tableau « {view_args['slug']} » (CSV)", args)


def _federation_file(view_args, args, _headers) -> Access:
    return _export("federation", view_args["fmt"].upper(), args)


def _consolidation_file(view_args, args, _headers) -> Access:
    return _export("federation", f"consolidation {view_args['fmt'].upper()}", args)


def _bilan(_view_args, args, _headers) -> Access:
    return _export("bilan", "XLSX", args)


def _journal(_view_args, args, _headers) -> Access:
    return Access(
        AccessAction.VIEW, "access_log", detail=_with_filters("", args, ("page",))
    )


#: Endpoint → what is recorded of a successful GET by a logged-in user.
_DESCRIBERS: dict[str, _Describe] = {
    "reports.detail": _fact_page,
    "photos.image": _photo,
    "exports.reports": _facts_export,
    "stats.table_csv": _statistics_csv,
    "federation.export_file": _federation_file,
    "federation.consolidation_file": _consolidation_file,
    "syntheses.bilan_xlsx": _bilan,
    "api.read": _api_fact,
    "api.list_reports": _api_list,
    "api.photo_image": _photo,
    "privacy.access_log": _journal,
}
LOGGED_ENDPOINTS = frozenset(_DESCRIBERS)


def describe_access(
    endpoint: str | None,
    view_args: dict[str, Any] | None,
    args: Mapping[str, str],
    headers: Mapping[str, str],
) -> Access | None:
    """Return what to record of a request to ``endpoint``, or None (not a logged
    read)."""
    describe = _DESCRIBERS.get(endpoint or "")
    if describe is None:
        return None
    return describe(view_args or {}, args, headers)


def _object_ref(connection: sa.Connection, access: Access) -> str:
    report = Report.__table__.c
    if access.report_uuid is not None:
        reference = connection.execute(
            sa.select(report.reference).where(report.uuid == access.report_uuid)
        ).scalar()
        return reference or str(access.report_uuid)
    if access.photo_uuid is not None:
        photo = Photo.__table__.c
        row = connection.execute(
            sa.select(report.reference, photo.position)
            .join_from(Photo.__table__, Report.__table__, photo.report_id == report.id)
            .where(photo.uuid == access.photo_uuid)
        ).first()
        return f"{row.reference}, photo {row.position}" if row else ""
    return ""


def record_access(
    caller: Caller, access: Access, ip: str | None, *, at: datetime | None = None
) -> None:
    """Write one entry in the caller's log, in a short transaction of its own.

    Its own transaction: the request's (a reader's on SQLite) is never turned into a
    writer's, and the entry is kept whatever the request does next. On SQLite it
    waits its turn with the other writers (orfi.writers), so that filing facts is
    not left sleeping in SQLite's busy handler behind it.
    """
    with writer_turn(db.engine), write_intent(), db.engine.begin() as connection:
        connection.execute(
            sa.insert(AccessLogEntry.__table__),
            {
                "at": at or utcnow(),
                "user_id": caller.id,
                "organisation_id": caller.organisation_id,
                "federation_id": None
                if caller.organisation_id is not None
                else caller.federation_id,
                "action": access.action,
                "object_type": access.object_type,
                "object_ref": _object_ref(connection, access)[:64],
                "detail": access.detail[:DETAIL_MAX_LENGTH],
                "ip": (ip or None) and ip[:45],
            },
        )


# ------------------------------------------------------------------------ reading


@dataclass
class LogFilters:
    """Filters of the access log page (all optional)."""

    user_id: int | None = None
    #: Only the lines ``orfi purge`` wrote (no user).
    purge_only: bool = False
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1


def _owner_condition(
    organisation_id: int | None, federation_id: int | None
) -> sa.ColumnElement[bool]:
    if organisation_id is not None:
        return AccessLogEntry.organisation_id == organisation_id
    if federation_id is not None:
        return AccessLogEntry.federation_id == federation_id
    return sa.false()


def access_log_query(
    *,
    organisation_id: int | None = None,
    federation_id: int | None = None,
    filters: LogFilters | None = None,
) -> sa.Select:
    """Return a query of one log's entries (a bailleur's or a federation's), newest
    first."""
    filters = filters or LogFilters()
    query = db.select(AccessLogEntry).where(
        _owner_condition(organisation_id, federation_id)
    )
    if filters.user_id is not None:
        query = query.where(AccessLogEntry.user_id == filters.user_id)
    if filters.purge_only:
        query = query.where(AccessLogEntry.user_id.is_(None))
    if filters.date_from:
        start = from_local(datetime.combine(filters.date_from, time.min))
        query = query.where(AccessLogEntry.at >= start)
    if filters.date_to:
        end = from_local(
            datetime.combine(filters.date_to + timedelta(days=1), time.min)
        )
        query = query.where(AccessLogEntry.at < end)
    return query.options(sa.orm.joinedload(AccessLogEntry.user)).order_by(
        AccessLogEntry.at.desc(), AccessLogEntry.id.desc()
    )


def list_access_log(user: User, filters: LogFilters, per_page: int):
    """Return a page of the log of ``user``'s organisation (an administrator's)."""
    query = access_log_query(organisation_id=user.organisation_id, filters=filters)
    return db.paginate(
        query, page=filters.page, per_page=per_page, error_out=False, count=True
    )


def list_log_users(organisation_id: int) -> list[User]:
    """Return the organisation's accounts, by name, for the page's user filter."""
    return list(
        db.session.scalars(
            db.select(User)
            .where(User.organisation_id == organisation_id)
            .order_by(User.name, User.id)
        )
    )


# ------------------------------------------------------------------------ purging

Owner = tuple[str, int]


def owner_of(organisation_id: int | None, federation_id: int | None) -> Owner:
    """Return the key of the log an entry belongs to."""
    if organisation_id is not None:
        return ("organisation", organisation_id)
    return ("federation", federation_id)


def count_entries_before(cutoff: datetime) -> Counter[Owner]:
    """Return how many entries older than ``cutoff`` each log holds."""
    rows = db.session.execute(
        sa.select(
            AccessLogEntry.organisation_id,
            AccessLogEntry.federation_id,
            sa.func.count(),
        )
        .where(AccessLogEntry.at < cutoff)
        .group_by(AccessLogEntry.organisation_id, AccessLogEntry.federation_id)
    )
    return Counter({owner_of(o, f): n for o, f, n in rows})


def delete_entries_before(cutoff: datetime) -> int:
    """Delete the entries older than ``cutoff``; return how many went."""
    result = db.session.execute(
        sa.delete(AccessLogEntry.__table__).where(
            AccessLogEntry.__table__.c.at < cutoff
        )
    )
    return result.rowcount or 0


def write_purge_line(owner: Owner, detail: str, at: datetime) -> None:
    """Add the summary of a purge (counts only) to one log."""
    kind, owner_id = owner
    db.session.execute(
        sa.insert(AccessLogEntry.__table__),
        {
            "at": at,
            "user_id": None,
            "organisation_id": owner_id if kind == "organisation" else None,
            "federation_id": owner_id if kind == "federation" else None,
            "action": AccessAction.PURGE,
            "object_type": "purge",
            "object_ref": "",
            "detail": detail[:DETAIL_MAX_LENGTH],
            "ip": None,
        },
    )
