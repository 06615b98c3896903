"""Views of the stats feature: the statistics page and each table as CSV."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from orfi.auth.access import READERS, role_required
from orfi.reports.models import Lieu, Status
from orfi.stats.filters import (
    HourBand,
    list_filter_choices,
    period_presets,
    read_filters,
    residence_options,
)
from orfi.stats.services import TABLE_SLUGS, build_statistics, format_percent

bp = Blueprint("stats", __name__, url_prefix="/statistiques")


def _perimeter_label() -> str:
    if current_user.agence_id is not None:
        return current_user.agence.name
    return current_user.organisation.name


@bp.route("/")
@role_required(*READERS)
def index():
    """Counts, trends and rankings of the user's perimeter over a period."""
    choices = list_filter_choices(current_user)
    filters, errors = read_filters(request.args, choices)
    stats = build_statistics(current_user, filters, choices)
    return render_template(
        "stats/index.html",
        stats=stats,
        filters=filters,
        errors=errors,
        choices=choices,
        residence_options=residence_options(current_user, filters),
        presets=period_presets(),
        perimeter=_perimeter_label(),
        is_chef=current_user.agence_id is not None,
        lieux=Lieu,
        statuses=Status,
        hour_bands=HourBand,
        percent=format_percent,
    )


@bp.route("/<slug>.csv")
@role_required(*READERS)
def table_csv(slug: str):
    """One table of the page as CSV, with the same filters as the page."""
    if slug not in TABLE_SLUGS:
        abort(404)
    choices = list_filter_choices(current_user)
    filters, errors = read_filters(request.args, choices)
    if errors:
        abort(400)
    table = build_statistics(current_user, filters, choices).tables[slug]
    name = f"orfi-{slug}-{filters.period.start:%Y%m%d}-{filters.period.end:%Y%m%d}.csv"
    return Response(
        table.csv_chunks(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
