"""Views of the fact pages: thin wrappers over orfi.reports and orfi.photos services."""

from __future__ import annotations

import math
import uuid

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup

from orfi.auth.access import FILERS, QUALIFIERS, READERS, role_required
from orfi.auth.models import Role
from orfi.errors import ValidationError
from orfi.forms import attach_errors, page_number
from orfi.geo.points import is_valid_position
from orfi.nomenclature.services import list_categories
from orfi.notifications.services import report_alerted_roles
from orfi.photos.models import MAX_PHOTOS
from orfi.photos.services import (
    add_photo,
    check_uploads,
    discard_files,
    list_photos,
    photo_path,
)
from orfi.privacy.heuristics import find_personal_data, load_hints, name_findings
from orfi.privacy.redaction import (
    REDACTED,
    redact_report,
    redactable_texts,
    suggest_details,
)
from orfi.reports.alerting import is_grave_fact
from orfi.reports.assignment import assign_report
from orfi.reports.checks import ReportInput, check_report_input
from orfi.reports.corrections import (
    CorrectionInput,
    author_deadline,
    correct_report,
    may_correct,
)
from orfi.reports.creation import ReportConflict, create_report
from orfi.reports.forms import (
    CorrectionForm,
    DuplicateForm,
    FilterForm,
    RedactionForm,
    ReportForm,
    UnmarkDuplicateForm,
)
from orfi.reports.models import (
    Intervention,
    Lieu,
    LocationSource,
    Report,
    Status,
    Suite,
    Victime,
)
from orfi.reports.pages import (
    build_assign_form,
    category_choices,
    correction_choices,
    correction_form,
    qualify_form,
    render_detail,
)
from orfi.reports.qualification import (
    mark_duplicate,
    qualify_report,
    unmark_duplicate,
)
from orfi.reports.queries import (
    ReportFilters,
    find_visible_report_by_reference,
    get_visible_report,
    late_report_ids,
    list_agence_choices,
    list_assigned_reports,
    list_filer_choices,
    list_reports,
)
from orfi.reports.residence_choices import (
    FORM_RESIDENCES_MAX,
    SEARCH_MAX_LENGTH,
    SEARCH_MIN_LENGTH,
    SEARCH_RESULTS_MAX,
    capped_residences,
    choice_batiments,
    filing_query,
    form_choices,
    residence_item,
    search_residences,
)
from orfi.surveillance.band import warning_band
from orfi.timezone import now_local
from orfi.transaction import unit_of_work

bp = Blueprint("reports", __name__, url_prefix="/signalements")


def _input_from_form(form: ReportForm) -> ReportInput:
    return ReportInput(
        category_id=form.category.data,
        residence_id=form.residence.data,
        batiment_id=form.batiment.data,
        occurred_at=form.occurred_at.data,
        latitude=form.latitude.data,
        longitude=form.longitude.data,
        gps_accuracy_m=form.gps_accuracy_m.data,
        location_source=LocationSource.parse(form.location_source.data),
        confirm_position=form.confirm_position.data,
        lieu=Lieu.coerce(form.lieu.data),
        victime=Victime.coerce(form.victime.data),
        arret_travail_jours=form.arret_travail_jours.data,
        mission_service_public=form.mission_service_public.data,
        suite=Suite.coerce(form.suite.data),
        intervention=Intervention.coerce(form.intervention.data),
        damage_cost_eur=form.damage_cost_eur.data,
        gravity=int(form.gravity.data) if form.gravity.data else None,
        description=form.description.data or "",
        uuid=uuid.UUID(form.client_uuid.data) if form.client_uuid.data else None,
    )


#: Service fields shown next to another field of the report forms (position errors
#: next to the map).
_FIELD_ALIASES = {
    "uuid": "client_uuid",
    "longitude": "latitude",
    "photo": "photos",
    "original": "original",
}


def _attach_errors(form, errors: dict[str, list[str]]) -> None:
    attach_errors(form, errors, fallback="category", aliases=_FIELD_ALIASES)


def _file_from_form(form: ReportForm) -> tuple[Report | None, bool]:
    """File the posted fact with its photos; return it (None, errors on the form, if
    refused) and whether it conflicts with the fact stored under its UUID (then
    only its new photos were added, and a message says what was not)."""
    valid = form.validate_on_submit()
    # Photos are checked whatever the rest says, so that one round trip fixes all.
    try:
        images, photo_errors = check_uploads(request.files.getlist("photos")), {}
    except ValidationError as error:
        images, photo_errors = [], error.errors
    if not valid:
        _attach_errors(form, photo_errors)
        return None, False
    stored: list[uuid.UUID] = []
    differing: dict[str, list[str]] = {}
    refused = 0
    try:
        with unit_of_work():
            data = _input_from_form(form)
            if photo_errors:
                raise ValidationError(
                    {**check_report_input(current_user, data), **photo_errors}
                )
            try:
                report, created = create_report(current_user, data)
            except ReportConflict as conflict:  # nothing written: photos still add
                report, created, differing = conflict.report, False, conflict.fields
            if created:
                for image in images:
                    photo, _new = add_photo(current_user, report, image)
                    stored.append(photo.uuid)
            else:  # a resent form: photos are additive, the rest stays as stored
                refused = _add_new_photos(report, images, stored)
            reference, report_uuid = report.reference, report.uuid
    except ValidationError as error:
        discard_files(current_user.organisation_id, stored)
        _attach_errors(form, error.errors)
        return None, False
    if differing or refused or (stored and not created):
        _flash_resend(form, reference, report_uuid, differing, len(stored), refused)
    return report, bool(differing)


def _add_new_photos(report: Report, images: list, stored: list[uuid.UUID]) -> int:
    """Add to a fact already filed the photos it does not hold yet (same bytes:
    already there), up to the limit; note their UUIDs in ``stored``; return how many
    the limit refused."""
    held = list_photos(report.id)
    refused = 0
    for image in images:
        if any(_same_image(p, image) for p in held):
            continue
        if len(held) + len(stored) >= MAX_PHOTOS:
            refused += 1
            continue
        photo, _new = add_photo(current_user, report, image)
        stored.append(photo.uuid)
    return refused


def _same_image(photo, image) -> bool:
    """Whether a stored photo is this cleaned image (re-encoding is deterministic)."""
    if photo.size_bytes != len(image.data):
        return False
    path = photo_path(photo)
    return path.exists() and path.read_bytes() == image.data


#: The form's label of each content field of a fact (see differing_fields).
_POSITION = ("latitude", "longitude", "gps_accuracy_m", "location_source")


def _field_label(form: ReportForm, name: str) -> str:
    if name in _POSITION:
        return "Position"
    field = form[name.removesuffix("_id")] if name.endswith("_id") else form[name]
    return str(field.label.text)


def _flash_resend(form, reference, report_uuid, differing, added, refused) -> None:
    """Say what a resent form changed on the fact already stored, and what not."""
    link = Markup('<a href="{}">{}</a>').format(
        url_for("reports.detail", report_uuid=report_uuid), reference
    )
    parts = [Markup("Ce signalement était déjà enregistré : fait {}.").format(link)]
    if differing:
        labels = list(dict.fromkeys(_field_label(form, n) for n in differing))
        parts.append(
            Markup(
                "Vos modifications ({}) n'y ont pas été reportées : ouvrez le fait "
                "pour le vérifier, ou signalez un autre fait avec un "
                '<a href="{}">nouveau formulaire</a>.'
            ).format(", ".join(labels), url_for("reports.new"))
        )
    if added:
        parts.append(Markup("{} photo(s) ajoutée(s) au fait.").format(added))
    if refused:
        parts.append(
            Markup("{} photo(s) non ajoutée(s) : {} photos au plus par fait.").format(
                refused, MAX_PHOTOS
            )
        )
    flash(Markup(" ").join(parts), "error" if differing or refused else "success")


def _posted_position(form: ReportForm) -> tuple[float, float] | None:
    """The position a form sent back with errors carries, if it is a valid one."""
    lat, lon = form.latitude.data, form.longitude.data
    if (
        isinstance(lat, float)
        and isinstance(lon, float)
        and is_valid_position(lat, lon)
    ):
        return lat, lon
    return None


@bp.route("/nouveau", methods=["GET", "POST"])
@role_required(*FILERS)
def new():
    """The field form: file a fact in one screen."""
    form = ReportForm()
    status = 200
    if request.method == "POST":
        report, conflicted = _file_from_form(form)
        if report is not None and not conflicted:
            return redirect(url_for("reports.confirmation", report_uuid=report.uuid))
        status = 409 if conflicted else 422
    # A bounded few résidences, whatever the patrimoine: the search finds the others.
    posted = request.method == "POST"
    choices = form_choices(
        current_user,
        position=_posted_position(form) if posted else None,
        chosen_id=form.residence.data if posted else None,
    )
    residences = choices.residences
    form.category.choices = category_choices(with_frequent=True)
    form.residence.choices = [(r.id, r.label) for r in residences]
    form.batiment.choices = [("", "— Non précisé —")] + [
        (b.id, f"{b.reference} {b.address}".strip()) for b in choices.batiments
    ]
    if request.method == "GET":
        form.client_uuid.data = str(uuid.uuid4())
        form.occurred_at.data = now_local().replace(
            second=0, microsecond=0, tzinfo=None
        )
        if len(residences) == 1 and not choices.truncated:
            form.residence.data = residences[0].id
    map_config = {
        "tileUrl": current_app.config["ORFI_TILE_URL"],
        "tileAttribution": current_app.config["ORFI_TILE_ATTRIBUTION"],
        "coarseAccuracyM": current_app.config["ORFI_COARSE_ACCURACY_M"],
        "maxDistanceM": current_app.config["ORFI_MAX_DISTANCE_FROM_RESIDENCE_M"],
        "residences": [
            {"id": r.id, "name": r.name, "lat": r.latitude, "lon": r.longitude}
            for r in residences
        ],
        "batiments": {str(b.id): b.residence_id for b in choices.batiments},
        "truncated": choices.truncated,
        "searchUrl": url_for("reports.residence_search"),
        "searchMinLength": SEARCH_MIN_LENGTH,
    }
    return (
        render_template(
            "reports/new.html",
            form=form,
            map_config=map_config,
            offline_config=_offline_config(),
            description_max=current_app.config["ORFI_DESCRIPTION_MAX_LENGTH"],
            description_hints=load_hints(),
            has_residences=bool(residences),
            truncated=choices.truncated,
            search_max_length=SEARCH_MAX_LENGTH,
        ),
        status,
    )


def _query_position() -> tuple[float, float] | None:
    """The ``latitude``/``longitude`` of the query string, or None; ValidationError
    (naming the field) when they are given but not a position."""
    raw = {name: request.args.get(name, "") for name in ("latitude", "longitude")}
    if not raw["latitude"] and not raw["longitude"]:
        return None
    try:
        lat, lon = float(raw["latitude"]), float(raw["longitude"])
    except ValueError:
        lat = lon = math.nan
    if not is_valid_position(lat, lon):
        raise ValidationError(
            {"latitude": ["Position invalide : latitude et longitude en degrés."]}
        )
    return lat, lon


@bp.get("/nouveau/residences")
@role_required(*FILERS)
def residence_search():
    """Résidences of the filing perimeter matching ``q`` (JSON, at most a few)."""
    text = request.args.get("q", "").strip()
    try:
        position = _query_position()
        if len(text) > SEARCH_MAX_LENGTH:
            raise ValidationError({"q": [f"{SEARCH_MAX_LENGTH} caractères au plus."]})
        if len(text) < SEARCH_MIN_LENGTH and position is None:
            raise ValidationError(
                {"q": [f"Tapez au moins {SEARCH_MIN_LENGTH} caractères."]}
            )
    except ValidationError as error:
        return jsonify({"error": "Recherche invalide.", "errors": error.errors}), 400
    limit = FORM_RESIDENCES_MAX if not text else SEARCH_RESULTS_MAX
    found, truncated = search_residences(
        current_user, text, position=position, limit=limit
    )
    batiments = choice_batiments(found)
    return jsonify(
        {
            "items": [
                residence_item(r, [b for b in batiments if b.residence_id == r.id])
                for r in found
            ],
            "truncated": truncated,
        }
    )


#: Stands for a UUID in URL templates handed to the browser.
_UUID_SLOT = "00000000-0000-4000-8000-000000000000"


def _offline_config() -> dict:
    """What static/js/offline-queue.js needs: who files, where to send, the limits."""
    return {
        "userId": current_user.id,
        "maxPhotos": MAX_PHOTOS,
        "photoMaxBytes": current_app.config["ORFI_PHOTO_MAX_BYTES"],
        "uuidSlot": _UUID_SLOT,
        "urls": {
            "form": url_for("reports.new"),
            "login": url_for("auth.login", next=url_for("reports.new")),
            "me": url_for("api.me"),
            "reports": url_for("api.create"),
            "nearby": url_for("api.nearby"),
            "photos": url_for("api.upload_photo", report_uuid=_UUID_SLOT),
            "additions": url_for("api.additions", report_uuid=_UUID_SLOT),
            "confirmation": url_for("reports.confirmation", report_uuid=_UUID_SLOT),
            "serviceWorker": url_for("pwa.service_worker"),
        },
    }


@bp.route("/<uuid:report_uuid>/confirmation")
@role_required(*FILERS)
def confirmation(report_uuid: uuid.UUID):
    """Tell the filer the reference of the fact just stored."""
    report = get_visible_report(current_user, report_uuid)
    if report.author_id != current_user.id:
        abort(404)
    findings = find_personal_data(report.description)
    grave = is_grave_fact(report)
    return render_template(
        "reports/confirmation.html",
        report=report,
        grave=grave,
        referent_alerted=grave and Role.REFERENT in report_alerted_roles(report.id),
        findings=findings,
        found=name_findings(findings),
        correct_until=author_deadline(report)
        if may_correct(current_user, report)
        else None,
    )


def _filters_from(form: FilterForm) -> ReportFilters:
    page = page_number(request.args)
    if not form.validate():
        return ReportFilters(page=page)
    return form.filters(page)


def _filter_form() -> FilterForm:
    form = FilterForm(request.args)
    form.category.choices = [("", "Toutes")] + [
        (c.id, c.display)
        for c in list_categories(current_user.organisation_id, active_only=False)
    ]
    # A bounded list, whatever the perimeter; the one asked for (a résidence's page
    # links here) is always among the choices.
    residences, truncated = capped_residences(
        filing_query(current_user), [request.args.get("residence")]
    )
    form.residence.choices = [("", "Toutes")] + [(r.id, r.label) for r in residences]
    form.residences_truncated = truncated
    form.agence.choices = [("", "Toutes")] + [
        (a.id, a.name) for a in list_agence_choices(current_user)
    ]
    form.author.choices = [("", "Tous")] + [
        (u.id, u.name) for u in list_filer_choices(current_user)
    ]
    return form


def _render_list(template: str, page, form=None, **context):
    late = late_report_ids([report.id for report in page.items])
    return render_template(template, page=page, form=form, late=late, **context)


@bp.route("/mes")
@role_required(*FILERS)
def mine():
    """The facts the current user filed."""
    form = _filter_form()
    page = list_reports(current_user, _filters_from(form), mine=True)
    return _render_list("reports/mine.html", page, form)


@bp.route("/")
@role_required(*READERS)
def index():
    """The organisation's facts (the agence's for a chef d'agence), filtered."""
    form = _filter_form()
    page = list_reports(current_user, _filters_from(form))
    return _render_list(
        "reports/index.html", page, form, warning=warning_band(current_user)
    )


@bp.route("/a-traiter")
@role_required(*QUALIFIERS)
def todo():
    """« Mes faits à traiter »: the open facts the user took, late first."""
    page = list_assigned_reports(current_user, page_number(request.args))
    return _render_list("reports/todo.html", page)


@bp.post("/<uuid:report_uuid>/prise-en-charge")
@role_required(*QUALIFIERS)
def assign(report_uuid: uuid.UUID):
    """Set who took a fact and the day of its next step; the change joins its
    history."""
    report = get_visible_report(current_user, report_uuid)
    form = build_assign_form(report, formdata=request.form)

    def save() -> str:
        event = assign_report(
            current_user,
            report,
            assignee_id=form.assignee.data,
            next_step_on=form.next_step_on.data,
            comment=form.comment.data or "",
        )
        return "Prise en charge enregistrée." if event else "Aucun changement."

    return _save_or_show_errors(
        report, form, form.validate_on_submit(), save, slot="assign_form"
    )


@bp.route("/<uuid:report_uuid>")
@role_required(*FILERS)
def detail(report_uuid: uuid.UUID):
    """One fact with its history; the qualification form for référents."""
    return render_detail(get_visible_report(current_user, report_uuid))


def _save_or_show_errors(report: Report, form, valid: bool, save, *, slot: str):
    """Run ``save`` in one transaction, flash the message it returns and go back to
    the fact; or show the fact again with ``form`` (its ``slot`` in the page) and its
    errors next to the fields (422, nothing stored)."""
    if valid:
        try:
            with unit_of_work():
                done = save()
        except ValidationError as error:
            _attach_errors(form, error.errors)
        else:
            flash(done, "success")
            return redirect(url_for("reports.detail", report_uuid=report.uuid))
    return render_detail(report, **{slot: form}, status=422)


@bp.route("/<uuid:report_uuid>/qualifier", methods=["POST"])
@role_required(*QUALIFIERS)
def qualify(report_uuid: uuid.UUID):
    """Change a fact's category, status and gravity; the change joins its history."""
    report = get_visible_report(current_user, report_uuid)
    form = qualify_form(report, formdata=request.form)

    def save() -> str:
        event = qualify_report(
            current_user,
            report,
            category_id=form.category.data,
            status=Status(form.status.data),
            gravity=int(form.gravity.data) if form.gravity.data else None,
            comment=form.comment.data or "",
        )
        return "Qualification enregistrée." if event else "Aucun changement."

    return _save_or_show_errors(report, form, form.validate(), save, slot="form")


@bp.post("/<uuid:report_uuid>/doublon")
@role_required(*QUALIFIERS)
def mark_as_duplicate(report_uuid: uuid.UUID):
    """Mark a fact as the duplicate of another: it leaves statistics, maps, exports."""
    report = get_visible_report(current_user, report_uuid)
    form = DuplicateForm()

    def save() -> str:
        original = find_visible_report_by_reference(current_user, form.original.data)
        if original is None:
            raise ValidationError(
                {
                    "original": [
                        "Aucun fait de votre périmètre ne porte cette référence."
                        if form.original.data
                        else "Indiquez la référence du fait d'origine."
                    ]
                }
            )
        mark_duplicate(current_user, report, original, comment=form.comment.data or "")
        return (
            f"Fait marqué comme doublon de {report.duplicate_of.reference} : "
            "il ne compte plus dans les statistiques."
        )

    return _save_or_show_errors(
        report, form, form.validate_on_submit(), save, slot="duplicate_form"
    )


@bp.post("/<uuid:report_uuid>/doublon/retirer")
@role_required(*QUALIFIERS)
def unmark_as_duplicate(report_uuid: uuid.UUID):
    """Make a fact marked as a duplicate count again."""
    report = get_visible_report(current_user, report_uuid)
    if not UnmarkDuplicateForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        unmarked = unmark_duplicate(current_user, report)
    if unmarked:
        flash("Ce fait n'est plus un doublon : il compte à nouveau.", "success")
    return redirect(url_for("reports.detail", report_uuid=report.uuid))


def _correction_input(form: CorrectionForm) -> CorrectionInput:
    return CorrectionInput(
        description=form.description.data or "",
        occurred_at=form.occurred_at.data,
        residence_id=form.residence.data,
        batiment_id=form.batiment.data,
        latitude=form.latitude.data,
        longitude=form.longitude.data,
        residence_position=form.residence_position.data,
        confirm_position=form.confirm_position.data,
        lieu=Lieu.coerce(form.lieu.data),
        victime=Victime.coerce(form.victime.data),
        arret_travail_jours=form.arret_travail_jours.data,
        comment=form.comment.data or "",
    )


@bp.route("/<uuid:report_uuid>/corriger", methods=["GET", "POST"])
@role_required(*FILERS)
def correct(report_uuid: uuid.UUID):
    """Correct a fact's description, date, place, lieu and victime (its référent at
    any time, its author for ORFI_AUTHOR_EDIT_MINUTES); the change joins its history."""
    report = get_visible_report(current_user, report_uuid)
    if not may_correct(current_user, report):
        abort(403)
    posted = request.method == "POST"
    form = correction_form(report, formdata=request.form if posted else None)
    search = request.args.get("residence_q", "").strip()[:SEARCH_MAX_LENGTH]
    truncated = correction_choices(form, report, search)
    if posted and form.validate():
        try:
            with unit_of_work():
                event = correct_report(current_user, report, _correction_input(form))
        except ValidationError as error:
            _attach_errors(form, error.errors)
        else:
            done = "Correction enregistrée." if event else "Aucun changement."
            flash(done, "success")
            return redirect(url_for("reports.detail", report_uuid=report.uuid))
    return (
        render_template(
            "reports/correct.html",
            report=report,
            form=form,
            truncated=truncated,
            search=search,
            deadline=None
            if current_user.role in QUALIFIERS
            else author_deadline(report),
            description_max=current_app.config["ORFI_DESCRIPTION_MAX_LENGTH"],
        ),
        422 if posted else 200,
    )


@bp.route("/<uuid:report_uuid>/retirer", methods=["GET", "POST"])
@role_required(*QUALIFIERS)
def redact(report_uuid: uuid.UUID):
    """Remove a personal detail from a fact's description, history and follow-up."""
    report = get_visible_report(current_user, report_uuid)
    form = RedactionForm()
    posted = request.method == "POST"
    if posted and form.validate_on_submit():
        try:
            with unit_of_work():
                result = redact_report(current_user, report, form.text.data)
        except ValidationError as error:
            attach_errors(form, error.errors, fallback="text")
        else:
            flash(
                f"Détail retiré : « {REDACTED} » le remplace "
                f"({result.occurrences} occurrence(s)).",
                "success",
            )
            return redirect(url_for("reports.detail", report_uuid=report.uuid))
    texts = redactable_texts(report)
    return (
        render_template(
            "reports/redact.html",
            report=report,
            form=form,
            texts=texts,
            suggestions=suggest_details(texts),
        ),
        422 if posted else 200,
    )


@bp.app_context_processor
def _nav():
    return {"Role": Role}
