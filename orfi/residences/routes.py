"""Résidences: list and detail for readers, import for administrators."""

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user

from orfi.auth.access import READERS, role_required
from orfi.auth.models import Role
from orfi.auth.perimeter import get_visible_residence, list_residences
from orfi.errors import ImportFileError
from orfi.geo.patrimoine_columns import COLUMN_ALIASES
from orfi.patrimoine.forms import ImportPatrimoineForm
from orfi.patrimoine.importer import import_uploaded_patrimoine
from orfi.residences.services import count_reports_by_residence
from orfi.transaction import unit_of_work

# Named "patrimoine" as before the move, so that endpoints and URLs stay the same.
bp = Blueprint("patrimoine", __name__, url_prefix="/patrimoine")


@bp.route("/residences")
@role_required(*READERS)
def residences():
    """List the résidences of the user's perimeter with their number of facts."""
    items = list_residences(current_user)
    counts = count_reports_by_residence([r.id for r in items])
    return render_template(
        "patrimoine/residences.html", residences=items, counts=counts
    )


@bp.route("/residences/<int:residence_id>")
@role_required(*READERS)
def residence(residence_id: int):
    """Show one résidence."""
    item = get_visible_residence(current_user, residence_id)
    counts = count_reports_by_residence([item.id])
    return render_template(
        "patrimoine/residence.html", residence=item, count=counts.get(item.id, 0)
    )


@bp.route("/import", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def import_patrimoine():
    """Let an administrator import résidences into their own organisation."""
    if current_user.organisation is None:
        abort(403)
    form = ImportPatrimoineForm()
    result = None
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work() as work:
                result = import_uploaded_patrimoine(
                    current_user.organisation,
                    form.file.data,
                    qpv_file=current_app.config["ORFI_QPV_FILE"] or None,
                    qpv_generation=current_app.config["ORFI_QPV_GENERATION"],
                    strict=form.strict.data,
                )
                if form.dry_run.data or not result.written:
                    work.discard()
        except ImportFileError as error:
            form.file.errors.append(str(error))
            status = 422
    elif form.is_submitted():
        status = 422
    # The result is rendered on the POST response: a redirect would lose its table.
    return render_template(
        "patrimoine/import.html",
        form=form,
        result=result,
        dry_run=bool(form.dry_run.data),
        aliases=COLUMN_ALIASES,
        qpv_generation=current_app.config["ORFI_QPV_GENERATION"],
    ), status
