"""Early warning's one action: « Recalculer », asked by a référent or an
administrator and done by the worker (``orfi worker``) within seconds."""

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user

from orfi.auth.access import QUALIFIERS, role_required
from orfi.surveillance.forms import RecomputeForm
from orfi.surveillance.runs import request_run
from orfi.transaction import unit_of_work

bp = Blueprint("surveillance", __name__, url_prefix="/alerte-precoce")


@bp.post("/recalculer")
@role_required(*QUALIFIERS)
def recompute():
    """Ask the worker to compute the last complete week again (late-filed facts)."""
    if current_user.organisation_id is None:
        abort(403)
    if not RecomputeForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        asked = request_run(current_user)
    flash(
        "Recalcul demandé : les statuts seront à jour dans quelques instants."
        if asked
        else "Un recalcul est déjà demandé : il sera fait dans quelques instants.",
        "success",
    )
    return redirect(url_for("reports.index"))
