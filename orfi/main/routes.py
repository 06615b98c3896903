"""Home page."""

from flask import Blueprint, redirect, url_for
from flask_login import current_user, login_required

from orfi.auth.models import Role

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home():
    """Send each role to its starting page."""
    if current_user.role is Role.GARDIEN:
        return redirect(url_for("reports.new"))
    if current_user.role is Role.FEDERATION:
        return redirect(url_for("federation.index"))
    if current_user.role is Role.DIRECTION:  # direction and chefs d'agence
        return redirect(url_for("stats.index"))
    return redirect(url_for("reports.index"))
