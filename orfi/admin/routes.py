"""Administration views."""

from flask import Blueprint, render_template

from orfi.auth.access import role_required
from orfi.auth.models import Role

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@role_required(Role.ADMIN)
def index():
    """The administrator's landing page."""
    return render_template("admin/index.html")
