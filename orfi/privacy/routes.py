"""Pages of the privacy feature (access log for administrators), and the hook that
records reads in the access log."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    render_template,
    request,
)
from flask_login import current_user

from orfi.auth.access import role_required
from orfi.auth.models import Role
from orfi.extensions import db
from orfi.forms import page_number
from orfi.privacy import models  # noqa: F401  (the metadata must know the tables)
from orfi.privacy.forms import PURGE_LINES, AccessLogFilterForm
from orfi.privacy.models import ReportAnonymisation
from orfi.privacy.services import (
    LOGGED_ENDPOINTS,
    OBJECT_LABELS,
    Caller,
    LogFilters,
    describe_access,
    list_access_log,
    list_log_users,
    record_access,
)

logger = logging.getLogger(__name__)

bp = Blueprint("privacy", __name__)


def _caller() -> Caller | None:
    """Who made the request: an API caller (token or session), else the session's
    user, else nobody."""
    caller = g.get("api_caller")
    if caller is not None:
        return caller
    return current_user if current_user.is_authenticated else None


def _refused() -> Response:
    """The answer that replaces a file whose download could not be logged."""
    message = (
        "Le journal des accès est indisponible : ce téléchargement ne peut pas être "
        "tracé, il est donc refusé. Réessayez dans un instant."
    )
    if request.path.startswith("/api/"):
        response = jsonify(error="access_log_unavailable", description=message)
    else:
        response = Response(
            render_template("privacy/unavailable.html", message=message)
        )
    response.status_code = 503
    response.headers["Retry-After"] = "30"
    return response


#: The methods that read what they are asked for.
_READS = frozenset({"GET", "HEAD"})


@bp.after_app_request
def _record_access(response: Response) -> Response:
    """Record a successful read of a logged endpoint by a logged-in user.

    Every other request (the fast path of filing facts among them) costs one set
    lookup. The entry is written in a short transaction of its own, once the view has
    answered; see :class:`orfi.privacy.services.Access` for what happens when it
    cannot be.
    """
    # HEAD answers a GET's headers (an export's row count): it is a read too.
    if request.endpoint not in LOGGED_ENDPOINTS or request.method not in _READS:
        return response
    if not 200 <= response.status_code < 300:
        return response
    caller = _caller()
    if caller is None:
        return response
    access = describe_access(
        request.endpoint, request.view_args, request.args, response.headers
    )
    if access is None:
        return response
    try:
        record_access(caller, access, request.remote_addr)
    except Exception:
        logger.exception(
            "Accès non journalisé (%s, utilisateur %s)", request.endpoint, caller.id
        )
        if access.required:
            response.close()
            return _refused()
    return response


@bp.route("/admin/journal-des-acces")
@role_required(Role.ADMIN)
def access_log():
    """The access log of the administrator's bailleur, newest first, filtered."""
    form = AccessLogFilterForm(request.args)
    users = list_log_users(current_user.organisation_id)
    form.user.choices = [("", "Tous"), (PURGE_LINES, "orfi (purges)")] + [
        (str(user.id), f"{user.name} ({user.email})") for user in users
    ]
    filters = LogFilters(page=page_number(request.args))
    if form.validate():
        choice = form.user.data or ""
        filters.purge_only = choice == PURGE_LINES
        filters.user_id = int(choice) if choice.isdigit() else None
        filters.date_from, filters.date_to = form.date_from.data, form.date_to.data
    page = list_access_log(
        current_user, filters, per_page=current_app.config["ORFI_PAGE_SIZE"]
    )
    return render_template(
        "privacy/access_log.html",
        form=form,
        page=page,
        object_labels=OBJECT_LABELS,
        months=current_app.config["ORFI_ACCESS_LOG_RETENTION_MONTHS"],
    )


@bp.app_context_processor
def _anonymisation():
    """``anonymisation_of(report)`` for the fact's page: when and why its free text
    was erased, or None."""

    def anonymisation_of(report) -> ReportAnonymisation | None:
        return db.session.get(ReportAnonymisation, report.id)

    return {"anonymisation_of": anonymisation_of}
