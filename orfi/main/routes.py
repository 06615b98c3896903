"""Home page."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from orfi.auth.models import Role
from orfi.main.services import count_reports_by_organisation_and_family

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home():
    """Send each role to its starting page."""
    if current_user.role is Role.GARDIEN:
        return redirect(url_for("reports.new"))
    if current_user.role is Role.FEDERATION:
        rows = count_reports_by_organisation_and_family(current_user.federation)
        families = sorted({row.family for row in rows})
        table: dict[str, dict[str, int]] = {}
        for row in rows:
            table.setdefault(row.name, {})[row.family] = row.n
        return render_template("main/federation.html", table=table, families=families)
    return redirect(url_for("reports.index"))
