"""Résidences: list and detail for readers, import for administrators."""

from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from orfi import limits
from orfi.auth.access import READERS, role_required
from orfi.auth.models import Role
from orfi.auth.perimeter import get_visible_residence
from orfi.errors import ImportFileError
from orfi.followup.services import residence_followup
from orfi.geo.patrimoine_columns import (
    COLUMN_ALIASES,
    PatrimoineFileError,
    missing_champs,
)
from orfi.geo.patrimoine_io import preview_patrimoine
from orfi.geo.patrimoine_limits import ImportLimits
from orfi.patrimoine.forms import (
    MISSING_NAMES,
    ColumnMappingForm,
    ImportPatrimoineForm,
)
from orfi.patrimoine.importer import import_patrimoine_file, preselected_columns
from orfi.patrimoine.services import get_column_mapping, save_column_mapping
from orfi.patrimoine.uploads import discard_upload, keep_upload, kept_upload
from orfi.reports.residence_choices import SEARCH_MAX_LENGTH, search_residences
from orfi.residences.services import count_reports_by_residence, latest_reports
from orfi.stats.services import build_residence_figures, format_percent
from orfi.surveillance.reading import residence_status
from orfi.transaction import unit_of_work

#: Résidences on one page of the list.
PER_PAGE = 50

# Named "patrimoine" as before the move, so that endpoints and URLs stay the same.
bp = Blueprint("patrimoine", __name__, url_prefix="/patrimoine")


@bp.route("/residences")
@role_required(*READERS)
def residences():
    """List the résidences of the user's perimeter with their number of facts.

    A page of PER_PAGE at most, and a search (name, reference, address, commune): a
    bailleur may hold tens of thousands.
    """
    text = request.args.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    page = min(max(request.args.get("page", 1, type=int), 1), limits.PAGE_MAX)
    items, more = search_residences(
        current_user, text, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    counts = count_reports_by_residence([r.id for r in items])
    return render_template(
        "patrimoine/residences.html",
        residences=items,
        counts=counts,
        q=text,
        page=page,
        more=more,
        search_max_length=SEARCH_MAX_LENGTH,
    )


@bp.route("/residences/<int:residence_id>")
@role_required(*READERS)
def residence(residence_id: int):
    """Show one résidence as a dossier for partner meetings: a small map, facts per
    month over two years, categories, the hour × weekday grid, follow-up, the
    early-warning status (the latest week) and the latest facts; printable on A4."""
    item = get_visible_residence(current_user, residence_id)
    counts = count_reports_by_residence([item.id])
    figures = build_residence_figures(current_user, item.id)
    return render_template(
        "patrimoine/residence.html",
        residence=item,
        count=counts.get(item.id, 0),
        warning=residence_status(item.id),
        figures=figures,
        followup=residence_followup(current_user, item.id, figures.period.start),
        latest=latest_reports(current_user, item.id),
        residence_map={
            "residence": [round(item.latitude, 6), round(item.longitude, 6)],
            "residenceName": item.name,
            "tileUrl": current_app.config["ORFI_TILE_URL"],
            "tileAttribution": current_app.config["ORFI_TILE_ATTRIBUTION"],
        },
        percent=format_percent,
    )


#: The session key of the file waiting for its column mapping.
PENDING_IMPORT = "patrimoine_import"


def _upload_folder() -> Path:
    return Path(current_app.instance_path) / "imports"


def _import_options() -> dict:
    return {
        "qpv_file": current_app.config["ORFI_QPV_FILE"] or None,
        "qpv_generation": current_app.config["ORFI_QPV_GENERATION"],
        "limits": ImportLimits.from_config(current_app.config),
    }


def _run_import(path: Path, chosen: dict, *, strict: bool, dry_run: bool):
    """Import the kept file in one unit of work (discarded for a dry run)."""
    with unit_of_work() as work:
        result = import_patrimoine_file(
            current_user.organisation,
            path,
            strict=strict,
            chosen=chosen,
            **_import_options(),
        )
        if chosen and result.written:
            save_column_mapping(current_user.organisation.id, chosen)
        if dry_run or not result.written:
            work.discard()
    return result


def _import_page(form, *, result=None, status=200):
    return render_template(
        "patrimoine/import.html",
        form=form,
        result=result,
        dry_run=bool(form.dry_run.data),
        aliases=COLUMN_ALIASES,
        qpv_generation=current_app.config["ORFI_QPV_GENERATION"],
    ), status


def _mapping_page(form, preview, path, *, result=None, status=200, notice=None):
    return render_template(
        "patrimoine/columns.html",
        form=form,
        preview=preview,
        file_name=path.name,
        result=result,
        dry_run=bool(form.dry_run.data),
        notice=notice,
        qpv_generation=current_app.config["ORFI_QPV_GENERATION"],
    ), status


def _mapping_form(token: str, preview, *, strict: bool, dry_run: bool):
    """The mapping step for a kept file: its columns offered, guesses preselected."""
    form = ColumnMappingForm(formdata=None, token=token, strict=strict)
    form.dry_run.data = dry_run
    form.offer(preview.columns, preview.champs)
    form.preselect(
        preselected_columns(preview, get_column_mapping(current_user.organisation.id))
    )
    return form


@bp.route("/import", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def import_patrimoine():
    """Let an administrator import résidences into their own organisation.

    « Vérifier les colonnes » shows the file's columns and first rows with a column
    chosen for each champ (remembered from the last mapped import, else guessed);
    « Importer » imports at once, unless a required champ has no column: then the
    mapping step is shown too.
    """
    if current_user.organisation is None:
        abort(403)
    form = ImportPatrimoineForm()
    if not form.validate_on_submit():
        return _import_page(form, status=422 if form.is_submitted() else 200)
    folder = _upload_folder()
    token, path = keep_upload(folder, form.file.data)
    try:
        preview = preview_patrimoine(path, limits=_import_options()["limits"])
    except PatrimoineFileError as error:
        discard_upload(folder, token)
        form.file.errors.append(str(error))
        return _import_page(form, status=422)
    mapping = _mapping_form(
        token, preview, strict=form.strict.data, dry_run=form.dry_run.data
    )
    missing = missing_champs(mapping.chosen(), vector=preview.vector)
    if form.choose.data or missing:
        session[PENDING_IMPORT] = token
        notice = (
            f"Colonnes non reconnues ({', '.join(MISSING_NAMES[c] for c in missing)}) "
            ": choisissez-les ci-dessous."
            if missing
            else None
        )
        return _mapping_page(mapping, preview, path, notice=notice)
    # An organisation that mapped its columns once imports with that preselection;
    # the others with the guesses alone (nothing to remember).
    remembered = get_column_mapping(current_user.organisation.id)
    try:
        result = _run_import(
            path,
            mapping.chosen() if remembered else {},
            strict=form.strict.data,
            dry_run=form.dry_run.data,
        )
    except ImportFileError as error:
        form.file.errors.append(str(error))
        return _import_page(form, status=422)
    finally:
        discard_upload(folder, token)
    # The result is rendered on the POST response: a redirect would lose its table.
    return _import_page(form, result=result)


@bp.route("/import/colonnes", methods=["POST"])
@role_required(Role.ADMIN)
def map_patrimoine_columns():
    """Import the file kept at the upload with the columns the administrator chose,
    and remember them for the organisation's next import."""
    if current_user.organisation is None:
        abort(403)
    folder = _upload_folder()
    token = request.form.get("token", "")
    path = kept_upload(folder, token) if session.get(PENDING_IMPORT) == token else None
    if path is None:
        flash("Le fichier n'est plus disponible : envoyez-le à nouveau.", "error")
        return redirect(url_for("patrimoine.import_patrimoine"))
    try:
        preview = preview_patrimoine(path, limits=_import_options()["limits"])
    except PatrimoineFileError as error:  # the limits changed meanwhile
        discard_upload(folder, token)
        flash(str(error), "error")
        return redirect(url_for("patrimoine.import_patrimoine"))
    form = ColumnMappingForm()
    form.offer(preview.columns, preview.champs)
    if not form.validate_on_submit():
        return _mapping_page(form, preview, path, status=422)
    try:
        result = _run_import(
            path, form.chosen(), strict=form.strict.data, dry_run=form.dry_run.data
        )
    except ImportFileError as error:
        form.form_errors.append(str(error))
        return _mapping_page(form, preview, path, status=422)
    if result.written and not form.dry_run.data:
        discard_upload(folder, token)
        session.pop(PENDING_IMPORT, None)
    # Else the file stays: it may be imported for real once its rows are checked.
    return _mapping_page(form, preview, path, result=result)
