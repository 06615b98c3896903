"""Views of the exports feature: the facts of the list page as CSV, XLSX or GeoJSON."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from orfi.auth.access import READERS, role_required
from orfi.errors import ValidationError
from orfi.exports.services import (
    FORMATS,
    build_xlsx,
    export_query,
    stream_csv,
    stream_geojson,
)
from orfi.reports.forms import FilterForm
from orfi.reports.queries import ReportFilters
from orfi.timezone import now_local

bp = Blueprint("exports", __name__, url_prefix="/exports")


def filters_from_args() -> ReportFilters:
    """Read the facts list's filters from the query string; refuse invalid ones."""
    form = FilterForm(request.args)
    if not form.validate():
        raise ValidationError(form.errors)
    return form.filters()


def _filename(fmt: str) -> str:
    code = current_user.organisation.code
    return f"orfi-{code}-faits-{now_local():%Y%m%d-%H%M}.{FORMATS[fmt][1]}"


@bp.route("/signalements.<fmt>")
@role_required(*READERS)
def reports(fmt: str):
    """Download the facts the list page shows with the same filters."""
    if fmt not in FORMATS:
        abort(404)
    try:
        query = export_query(current_user, filters_from_args())
        if fmt == "xlsx":
            out, size = build_xlsx(query)
    except ValidationError as error:
        back = url_for("reports.index", **request.args.to_dict())
        return render_template("exports/refused.html", error=error, back=back), 400
    mimetype = FORMATS[fmt][0]
    if fmt == "xlsx":
        response = send_file(
            out, mimetype=mimetype, as_attachment=True, download_name=_filename(fmt)
        )
        response.content_length = size
    else:
        stream = stream_csv(query) if fmt == "csv" else stream_geojson(query)
        response = Response(stream_with_context(stream), mimetype=mimetype)
        response.headers.set(
            "Content-Disposition", "attachment", filename=_filename(fmt)
        )
    response.headers["X-Orfi-Row-Count"] = str(query.count)
    response.headers["Cache-Control"] = "no-store"
    return response
