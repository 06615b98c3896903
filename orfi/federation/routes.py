"""Views of the federation feature: consolidated view, imports, and export files."""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

from orfi.auth.access import role_required
from orfi.auth.models import Role
from orfi.errors import ValidationError
from orfi.federation import models  # noqa: F401  (tables known to Alembic)
from orfi.federation.consolidation import (
    available_years,
    consolidate,
    consolidated_document,
)
from orfi.federation.dashboard import build_dashboard, nomenclature_labels
from orfi.federation.documents import build_bailleur_document, export_preview
from orfi.federation.formats import (
    dump_json,
    iter_csv_document,
    read_documents,
    write_xlsx_document,
)
from orfi.federation.forms import FORMAT_CHOICES, ImportForm, PeriodForm
from orfi.federation.imports import import_documents, list_imports, preview_removal
from orfi.federation.imports import remove_import as remove_imported_file
from orfi.federation.native import min_count
from orfi.federation.periods import Period, current_year, parse_period
from orfi.timezone import now_local
from orfi.transaction import unit_of_work

bp = Blueprint("federation", __name__, url_prefix="/federation")

MIMETYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _period_form(years: list[int]) -> tuple[PeriodForm, Period]:
    """Read ``?period=`` (default: the current year); refuse an invalid one."""
    form = PeriodForm(request.args)
    form.period.choices = [(str(y), str(y)) for y in years]
    text = form.period.data or str(current_year())
    period = parse_period(text)
    form.period.data = text
    if period.label not in {c[0] for c in form.period.choices}:
        form.period.choices.append((period.label, period.label))
    return form, period


def _region() -> str:
    return current_user.federation.region or ""


def _download(fmt: str, document: dict, name: str, period: Period) -> Response:
    if fmt == "json":
        body = io.BytesIO(dump_json(document))
    elif fmt == "csv":
        body = io.BytesIO(b"".join(iter_csv_document(document)))
    else:
        body = io.BytesIO()
        write_xlsx_document(body, document, nomenclature_labels(), period.french)
        body.seek(0)
    response = send_file(
        body,
        mimetype=MIMETYPES[fmt],
        as_attachment=True,
        download_name=f"{name}.{fmt}",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/")
@role_required(Role.FEDERATION)
def index():
    """The consolidated view of the federation's bailleurs: aggregates only."""
    form, period = _period_form(available_years(_region()))
    dashboard = build_dashboard(consolidate(_region(), period))
    map_config = {
        "tileUrl": current_app.config["ORFI_TILE_URL"],
        "tileAttribution": current_app.config["ORFI_TILE_ATTRIBUTION"],
        **dashboard.map_data,
    }
    return render_template(
        "federation/index.html",
        dashboard=dashboard,
        form=form,
        period=period,
        map_config=map_config,
        k=min_count(),
        formats=FORMAT_CHOICES,
    )


@bp.route("/consolidation.<fmt>")
@role_required(Role.FEDERATION)
def consolidation_file(fmt: str):
    """Download the federation's consolidated rows (JSON, CSV or XLSX)."""
    if fmt not in MIMETYPES:
        abort(404)
    _form, period = _period_form([])
    federation = current_user.federation
    identity = {
        "code": federation.code,
        "name": federation.name,
        "region": federation.region,
    }
    document = consolidated_document(identity, consolidate(_region(), period))
    name = f"orfi-{federation.code}-consolidation-{period.label.replace('..', '_')}"
    return _download(fmt, document, name, period)


@bp.route("/import", methods=["GET", "POST"])
@role_required(Role.FEDERATION)
def import_file():
    """Load federation files of bailleurs that run their own instance."""
    form = ImportForm()
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        raw = upload.read()
        try:
            with unit_of_work():
                documents = read_documents(raw, upload.filename or "")
                results = import_documents(
                    documents, raw, user=current_user, region=_region()
                )
        except ValidationError as error:
            form.file.errors = [*form.file.errors, *error.errors.get("file", [])]
        else:
            for result in results:
                flash(result.message, "success")
            periods = sorted({r.period for r in results})
            target = periods[0].label if len(periods) == 1 else None
            return redirect(url_for("federation.index", period=target))
    if request.method == "POST":
        status = 422
    return (
        render_template(
            "federation/import.html",
            form=form,
            imports=list_imports(_region()),
            k=min_count(),
        ),
        status,
    )


@bp.route("/imports/<int:import_id>/retirer", methods=["GET", "POST"])
@role_required(Role.FEDERATION)
def remove_import(import_id: int):
    """Remove an imported file: GET says what goes and comes back, POST does it.

    A confirmation page rather than a checkbox in the table's row: on a phone the
    table scrolls sideways, and the consequence (which facts count again) needs room.
    """
    if request.method == "POST":
        with unit_of_work():
            removal = remove_imported_file(
                import_id, region=_region(), user=current_user
            )
        flash(removal.message, "success")
        return redirect(url_for("federation.import_file"))
    return render_template(
        "federation/remove_import.html",
        removal=preview_removal(import_id, region=_region()),
        import_id=import_id,
    )


@bp.route("/export")
@role_required(Role.REFERENT, Role.ADMIN)
def export():
    """A bailleur's own statistics for the federation: preview and downloads."""
    organisation = current_user.organisation
    form, period = _period_form(available_years("", organisation.id))
    preview = export_preview(build_bailleur_document(organisation, period))
    return render_template(
        "federation/export.html",
        form=form,
        period=period,
        preview=preview,
        formats=FORMAT_CHOICES,
        k=min_count(),
    )


@bp.route("/export.<fmt>")
@role_required(Role.REFERENT, Role.ADMIN)
def export_file(fmt: str):
    """Download the bailleur's federation file for a period."""
    if fmt not in MIMETYPES:
        abort(404)
    _form, period = _period_form([])
    organisation = current_user.organisation
    document = build_bailleur_document(organisation, period)
    stamp = now_local().strftime("%Y%m%d")
    name = (
        f"orfi-federation-{organisation.code}-{period.label.replace('..', '_')}-{stamp}"
    )
    return _download(fmt, document, name, period)
