"""Résidences: list and detail for the people who read the organisation's facts."""

from flask import Blueprint, render_template
from flask_login import current_user

from orfi.auth.access import READERS, role_required
from orfi.patrimoine.services import (
    count_reports_by_residence,
    get_visible_residence,
    list_residences,
)

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
