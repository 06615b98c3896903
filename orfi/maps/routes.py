"""Views of the maps feature: the page, its folium scaffold and its data per view."""

from __future__ import annotations

import math
import uuid

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from orfi.auth.access import READERS, role_required
from orfi.maps.services import (
    MAX_POINTS,
    build_map_data,
    build_map_page,
    build_map_script,
    map_assets,
    sector_summary,
)
from orfi.reports.forms import sector_cell
from orfi.reports.models import Lieu, Status
from orfi.stats.filters import (
    HourBand,
    list_filter_choices,
    period_presets,
    read_filters,
    residence_options,
)
from orfi.stats.services import format_percent

bp = Blueprint("maps", __name__, url_prefix="/carte")

_PLACEHOLDER_UUID = uuid.UUID(int=0)


def _static_url(path: str) -> str:
    return url_for("static", filename=path)


@bp.route("/")
@role_required(*READERS)
def index():
    """The hotspot map of the user's perimeter, with its filters and legend."""
    choices = list_filter_choices(current_user)
    filters, errors = read_filters(request.args, choices)
    page = build_map_page(
        current_user, filters, choices, list_url=_facts_list_url(filters)
    )
    js, css = map_assets(_static_url)
    config = {
        "key": "orfi",
        "dataUrl": url_for("maps.data", **filters.query_args()),
        "sectorUrl": url_for("maps.sector", **filters.query_args()),
        "detailUrl": url_for("reports.detail", report_uuid=_PLACEHOLDER_UUID),
        "placeholder": str(_PLACEHOLDER_UUID),
        "statsUrl": url_for("stats.index", **filters.query_args()),
        "focus": page.focus,
        "residences": page.residences,
        "hotspots": page.hotspots,
        "maxPoints": MAX_POINTS,
        "tiles": bool(current_app.config["ORFI_TILE_URL"]),
    }
    return render_template(
        "maps/index.html",
        page=page,
        filters=filters,
        errors=errors,
        choices=choices,
        residence_options=residence_options(current_user, filters),
        presets=period_presets(),
        perimeter=(current_user.agence or current_user.organisation).name,
        lieux=Lieu,
        statuses=Status,
        hour_bands=HourBand,
        percent=format_percent,
        map_js=js,
        map_css=css,
        map_config=config,
    )


@bp.route("/carte.js")
@role_required(*READERS)
def scaffold():
    """The map's Leaflet set-up written by folium, as a script file (no inline code)."""
    script = build_map_script(
        list_filter_choices(current_user),
        static_url=_static_url,
        qpv_file=current_app.config["ORFI_QPV_FILE"],
        tile_url=current_app.config["ORFI_TILE_URL"],
        tile_attribution=current_app.config["ORFI_TILE_ATTRIBUTION"],
    )
    response = Response(script.source, mimetype="text/javascript")
    response.set_etag(script.etag)
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response.make_conditional(request)


@bp.route("/donnees.json")
@role_required(*READERS)
def data():
    """The map's layers for a zoom and a view, as compact JSON."""
    choices = list_filter_choices(current_user)
    filters, errors = read_filters(request.args, choices)
    zoom, bbox, view_errors = _read_view(request.args)
    errors.update(view_errors)
    if errors:
        return jsonify(error="filtres invalides", fields=errors), 400
    layers = frozenset(
        name for name in (request.args.get("layers") or "").split(",") if name
    )
    payload = build_map_data(
        current_user,
        filters,
        choices,
        layers=layers,
        zoom=zoom,
        bbox=bbox,
        list_url=_facts_list_url(filters),
    )
    response = jsonify(payload)
    response.cache_control.private = True
    response.cache_control.max_age = 30
    return response


@bp.route("/secteur.json")
@role_required(*READERS)
def sector():
    """The facts of one sector of the map (``secteur``: an H3 cell id) by category,
    and the link to their list, for a density hexagon's popup."""
    choices = list_filter_choices(current_user)
    filters, errors = read_filters(request.args, choices)
    cell = sector_cell(request.args.get("secteur") or "")
    if cell is None:
        errors["secteur"] = "Secteur de la carte invalide (identifiant H3 attendu)."
    if errors:
        return jsonify(error="filtres invalides", fields=errors), 400
    payload = sector_summary(current_user, filters, choices, cell)
    payload["list_url"] = _facts_list_url(filters)(secteur=f"{cell:x}")
    response = jsonify(payload)
    response.cache_control.private = True
    response.cache_control.max_age = 30
    return response


def _facts_list_url(filters):
    """Return ``url(residence=id)``: the facts list of a résidence for the map's
    period (and its status or single category; the list has no filter by family,
    lieu or hours, so with those it shows the résidence's other facts too)."""
    args = {
        "date_from": filters.period.start.isoformat(),
        "date_to": filters.period.end.isoformat(),
    }
    if filters.status:
        args["status"] = filters.status.value
    if filters.category_ids is not None and len(filters.category_ids) == 1:
        args["category"] = filters.category_ids[0]

    def url(**extra) -> str:
        return url_for("reports.index", **args, **extra)

    return url


def _read_view(args) -> tuple[float, tuple | None, dict[str, str]]:
    """Read the zoom (default 11) and the bounding box ``west,south,east,north``."""
    errors: dict[str, str] = {}
    zoom = 11.0
    raw_zoom = args.get("z")
    if raw_zoom:
        try:
            zoom = float(raw_zoom)
            if not (math.isfinite(zoom) and 0 <= zoom <= 22):
                raise ValueError
        except ValueError:
            errors["z"] = "Zoom invalide."
            zoom = 11.0
    bbox = None
    raw_bbox = args.get("bbox")
    if raw_bbox:
        try:
            west, south, east, north = (float(v) for v in raw_bbox.split(","))
            if not (
                -180 <= west <= east <= 180
                and -90 <= south <= north <= 90
                and all(math.isfinite(v) for v in (west, south, east, north))
            ):
                raise ValueError
            bbox = (west, south, east, north)
        except ValueError:
            errors["bbox"] = "Emprise invalide (ouest,sud,est,nord en degrés)."
    return zoom, bbox, errors
