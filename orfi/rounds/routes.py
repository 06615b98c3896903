"""Views of the rounds feature: the printable patrol sheet of the perimeter."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from orfi.auth.access import role_required
from orfi.auth.models import Role
from orfi.rounds.services import build_patrol_sheet

bp = Blueprint("rounds", __name__, url_prefix="/rondes")


@bp.route("/")
@role_required(Role.REFERENT, Role.DIRECTION)
def index():
    """The patrol priorities of the coming week, or why none are offered."""
    sheet = build_patrol_sheet(current_user)
    return render_template("rounds/index.html", sheet=sheet)
