"""Views of the photos feature: serving photos, adding and deleting them on a fact."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, redirect, request, send_file, url_for
from flask_login import current_user

from orfi.auth.access import FILERS, QUALIFIERS, role_required
from orfi.errors import NotFound, ValidationError
from orfi.photos import models  # noqa: F401  (the metadata must know the table)
from orfi.photos.forms import DeletePhotoForm, PhotoUploadForm
from orfi.photos.models import MAX_PHOTOS
from orfi.photos.services import (
    add_photo,
    check_uploads,
    count_photos,
    delete_photo,
    discard_files,
    get_visible_photo,
    list_photos,
    photo_path,
    thumbnail_size,
)
from orfi.reports.additions import get_report_for_addition, may_add_to
from orfi.reports.pages import render_detail
from orfi.transaction import unit_of_work

bp = Blueprint("photos", __name__, url_prefix="/photos")


@bp.route("/<uuid:photo_uuid>")
@role_required(*FILERS)
def image(photo_uuid: uuid.UUID):
    """A photo (its thumbnail with ``?taille=miniature``) for who may see its fact."""
    photo = get_visible_photo(current_user, photo_uuid)
    path = photo_path(photo, thumbnail=request.args.get("taille") == "miniature")
    if not path.exists():
        raise NotFound("Fichier de la photo introuvable.")
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    # Private: a shared cache must never keep a photo of a fact.
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.post("/signalement/<uuid:report_uuid>")
@role_required(*FILERS)
def upload(report_uuid: uuid.UUID):
    """Add photos to a fact from its page."""
    report = get_report_for_addition(current_user, report_uuid)
    form = PhotoUploadForm()
    if form.validate_on_submit():
        stored = []
        try:
            with unit_of_work():
                images = check_uploads(request.files.getlist("photos"))
                if not images:
                    raise ValidationError(
                        {"photos": ["Choisissez au moins une photo."]}
                    )
                for image_ in images:
                    photo, _created = add_photo(current_user, report, image_)
                    stored.append(photo.uuid)
        except ValidationError as error:
            discard_files(report.organisation_id, stored)
            form.photos.errors = [*error.errors.get("photos", [])] + [
                m for k, v in error.errors.items() if k != "photos" for m in v
            ]
        except Exception:  # the files of photos rolled back go too
            discard_files(report.organisation_id, stored)
            raise
        else:
            return redirect(
                url_for("reports.detail", report_uuid=report.uuid, _anchor="photos")
            )
    return render_detail(report, photo_form=form, status=422)


@bp.post("/<uuid:photo_uuid>/supprimer")
@role_required(*QUALIFIERS)
def delete(photo_uuid: uuid.UUID):
    """Delete a photo (a face, a plate…): référents only."""
    form = DeletePhotoForm()
    if not form.validate_on_submit():
        abort(400)
    photo = get_visible_photo(current_user, photo_uuid)
    report, organisation_id = photo.report, photo.report.organisation_id
    with unit_of_work():
        delete_photo(current_user, photo)
    discard_files(organisation_id, [photo_uuid])
    return redirect(
        url_for("reports.detail", report_uuid=report.uuid, _anchor="photos")
    )


@bp.app_context_processor
def _photo_panel():
    """What templates/photos/_report_panel.html needs, whatever page includes it."""

    def panel_for(report):
        photos = list_photos(report.id)
        may_add = (
            current_user.is_authenticated
            and len(photos) < MAX_PHOTOS
            and may_add_to(current_user, report)
        )
        return {
            "photos": photos,
            "sizes": {p.id: thumbnail_size(p) for p in photos},
            "may_add": may_add,
            "may_delete": current_user.is_authenticated
            and current_user.role in QUALIFIERS,
            "remaining": MAX_PHOTOS - len(photos),
        }

    return {
        "photo_panel_for": panel_for,
        "PhotoUploadForm": PhotoUploadForm,
        "DeletePhotoForm": DeletePhotoForm,
        "MAX_PHOTOS": MAX_PHOTOS,
        "count_photos": count_photos,
    }
