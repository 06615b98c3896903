"""Photos of facts: checking by content, re-encoding without metadata, storing, serving.

A photo is read as an image by Pillow whatever its name says; only JPEG, PNG and WebP
are accepted. It is then turned upright (EXIF orientation), flattened to RGB, resized
and saved as a fresh JPEG from its pixels alone: no EXIF (GPS position, device, date),
no XMP, no ICC profile, no comment survives. The original bytes are never written.
"""

from __future__ import annotations

import io
import logging
import os
import uuid as uuid_module
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.exc import IntegrityError

from orfi.auth.models import Role, User
from orfi.errors import AccessDenied, NotFound, ValidationError
from orfi.extensions import db
from orfi.limits import PHOTO_MAX_SIDE
from orfi.photos.models import MAX_PHOTOS, Photo
from orfi.reports.additions import may_add_to
from orfi.reports.models import Report
from orfi.reports.queries import visible_reports

logger = logging.getLogger(__name__)

#: Formats accepted, as Pillow names them after reading the content.
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
#: Longest side of a stored photo, and of its thumbnail, in pixels.
MAX_SIDE = PHOTO_MAX_SIDE
THUMBNAIL_SIDE = 480
#: Images larger than this (in pixels) are refused before being decoded (a 16-bit
#: PNG of 20,000 × 20,000 pixels is a few kilobytes and gigabytes once decoded).
MAX_PIXELS = 50_000_000
JPEG_QUALITY = 82
#: Errors Pillow raises on files that are not, or not wholly, images.
_UNREADABLE = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
    KeyError,
    ZeroDivisionError,
)


@dataclass(frozen=True)
class CleanImage:
    """A photo re-encoded without metadata, with its thumbnail."""

    data: bytes
    thumbnail: bytes
    width: int
    height: int


def _display_name(filename: str | None) -> str:
    name = os.path.basename(filename or "").strip()
    if not name:
        return "La photo"
    if len(name) > 60:
        name = name[:57] + "…"
    return f"« {name} »"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} Mo"


def read_upload(stream: BinaryIO, filename: str | None = None) -> bytes:
    """Read an uploaded photo, refusing an empty one or one over the size limit."""
    limit = current_app.config["ORFI_PHOTO_MAX_BYTES"]
    raw = stream.read(limit + 1)
    name = _display_name(filename)
    if not raw:
        raise ValidationError({"photo": [f"{name} est vide."]})
    if len(raw) > limit:
        raise ValidationError(
            {
                "photo": [
                    f"{name} dépasse {_megabytes(limit)} : "
                    "choisissez une photo plus légère."
                ]
            }
        )
    return raw


def clean_image(raw: bytes, filename: str | None = None) -> CleanImage:
    """Return the photo re-encoded as a metadata-free JPEG, or raise ValidationError.

    The content decides, not the name: a text file called ``photo.jpg`` is refused.
    """
    name = _display_name(filename)
    refused = ValidationError(
        {
            "photo": [
                f"{name} n'est pas une photo lisible : seules les images JPEG, PNG "
                "ou WebP sont acceptées (le contenu du fichier est vérifié, pas son "
                "nom)."
            ]
        }
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise refused
                if probe.width * probe.height > MAX_PIXELS:
                    raise ValidationError(
                        {
                            "photo": [
                                f"{name} est trop grande ({probe.width} × "
                                f"{probe.height} pixels)."
                            ]
                        }
                    )
                probe.load()
                image = _upright_rgb(probe)
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        raise ValidationError(
            {"photo": [f"{name} est trop grande (trop de pixels) pour être une photo."]}
        ) from None
    except _UNREADABLE as error:
        logger.info("Photo refusée : %s", error)
        raise refused from None
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    thumbnail = image.copy()
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    return CleanImage(
        data=_jpeg(image),
        thumbnail=_jpeg(thumbnail),
        width=image.width,
        height=image.height,
    )


def _upright_rgb(image: Image.Image) -> Image.Image:
    """Return a new RGB image of the pixels, turned as the EXIF orientation says."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        image = image.convert("F").point(lambda v: v / 256).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    ):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    # A fresh image holds pixels only: nothing of ``info`` (EXIF, XMP, ICC, comments).
    clean = Image.new("RGB", image.size)
    clean.paste(image.convert("RGB"))
    return clean


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.info = {}
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def check_uploads(files: Iterable) -> list[CleanImage]:
    """Read and clean uploaded files (werkzeug FileStorage); errors name ``photos``."""
    files = [f for f in files if f and f.filename]
    if len(files) > MAX_PHOTOS:
        raise ValidationError(
            {"photos": [f"{MAX_PHOTOS} photos au plus par signalement."]}
        )
    cleaned, problems = [], []
    for upload in files:
        try:
            cleaned.append(
                clean_image(
                    read_upload(upload.stream, upload.filename), upload.filename
                )
            )
        except ValidationError as error:
            problems.extend(error.errors["photo"])
    if problems:
        raise ValidationError({"photos": problems})
    return cleaned


# ----------------------------------------------------------------------- storage


def photo_path(photo: Photo, *, thumbnail: bool = False) -> Path:
    """Return where the photo's file lies (under ``ORFI_PHOTO_DIR``)."""
    return _path(photo.report.organisation_id, photo.uuid, thumbnail)


def _path(organisation_id: int, photo_uuid: uuid_module.UUID, thumbnail: bool) -> Path:
    base = Path(current_app.config["ORFI_PHOTO_DIR"]) / str(organisation_id)
    return base / f"{photo_uuid}{'-mini' if thumbnail else ''}.jpg"


def thumbnail_size(photo: Photo) -> tuple[int, int]:
    """Return the width and height of a photo's thumbnail (for img attributes)."""
    scale = min(1.0, THUMBNAIL_SIDE / max(photo.width, photo.height, 1))
    return max(1, round(photo.width * scale)), max(1, round(photo.height * scale))


def _write(path: Path, data: bytes) -> None:
    # Photos are offence evidence: the owner's alone, like the database and backups
    # (mkdir's mode is not applied to the parents it creates, hence two calls).
    path.parent.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    temporary = path.with_suffix(f".{uuid_module.uuid4().hex}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(temporary, path)  # atomic: a reader never sees half a photo


def discard_files(
    organisation_id: int, photo_uuids: Iterable[uuid_module.UUID]
) -> None:
    """Delete the files of photos whose transaction was rolled back (or deleted)."""
    for photo_uuid in photo_uuids:
        for thumbnail in (False, True):
            _path(organisation_id, photo_uuid, thumbnail).unlink(missing_ok=True)


# -------------------------------------------------------------------- services


def find_photo_by_uuid(photo_uuid: uuid_module.UUID) -> Photo | None:
    """Return the photo with this client UUID, whatever its fact."""
    return db.session.scalar(db.select(Photo).where(Photo.uuid == photo_uuid))


def count_photos(report_id: int) -> int:
    """Return how many photos a fact has."""
    return db.session.scalar(
        db.select(sa.func.count())
        .select_from(Photo)
        .where(Photo.report_id == report_id)
    )


def add_photo(
    user: User,
    report: Report,
    image: CleanImage,
    *,
    photo_uuid: uuid_module.UUID | None = None,
) -> tuple[Photo, bool]:
    """Store a cleaned photo of ``report``; return it and whether it is new.

    A photo sent again with the same UUID is stored once. The files are written after
    the row is flushed; the caller removes them with :func:`discard_files` if its
    transaction then fails.
    """
    if not may_add_to(user, report):
        raise AccessDenied("Vous ne pouvez pas ajouter de photo à ce fait.")
    if photo_uuid is not None and (existing := find_photo_by_uuid(photo_uuid)):
        return _resent_photo(user, report, existing), False
    photo_uuid = photo_uuid or uuid_module.uuid4()
    for _attempt in range(3):
        taken = count_photos(report.id)
        if taken >= MAX_PHOTOS:
            raise ValidationError(
                {"photo": [f"Ce fait a déjà {MAX_PHOTOS} photos : c'est le maximum."]}
            )
        photo = Photo(
            uuid=photo_uuid,
            report_id=report.id,
            position=_free_position(report.id),
            uploaded_by_id=user.id,
            width=image.width,
            height=image.height,
            size_bytes=len(image.data),
        )
        try:
            # Concurrent uploads may take the same position or resend the same UUID.
            with db.session.begin_nested():
                db.session.add(photo)
        except IntegrityError:
            existing = find_photo_by_uuid(photo_uuid)
            if existing is not None:
                return _resent_photo(user, report, existing), False
            continue
        # Written once the row is safely ours, so that a lost race never overwrites
        # another upload's file.
        _write(_path(report.organisation_id, photo_uuid, False), image.data)
        _write(_path(report.organisation_id, photo_uuid, True), image.thumbnail)
        logger.info("Photo %s ajoutée au fait %s", photo.uuid, report.reference)
        return photo, True
    raise ValidationError({"photo": ["Envoi simultané de photos : réessayez."]})


def _free_position(report_id: int) -> int:
    taken = set(
        db.session.scalars(
            db.select(Photo.position).where(Photo.report_id == report_id)
        )
    )
    return min(set(range(1, MAX_PHOTOS + 1)) - taken)


def _resent_photo(user: User, report: Report, photo: Photo) -> Photo:
    if photo.report_id != report.id or photo.uploaded_by_id != user.id:
        raise ValidationError({"uuid": ["Cet identifiant de photo est déjà utilisé."]})
    return photo


def list_photos(report_id: int) -> list[Photo]:
    """Return a fact's photos in order."""
    return list(
        db.session.scalars(
            db.select(Photo)
            .where(Photo.report_id == report_id)
            .order_by(Photo.position)
        )
    )


def photos_by_report(report_ids: Iterable[int]) -> dict[int, list[Photo]]:
    """Return the photos of several facts by fact id, in one query."""
    ids = list(report_ids)
    result: dict[int, list[Photo]] = {i: [] for i in ids}
    if not ids:
        return result
    rows = db.session.scalars(
        db.select(Photo)
        .where(Photo.report_id.in_(ids))
        .order_by(Photo.report_id, Photo.position)
    )
    for photo in rows:
        result[photo.report_id].append(photo)
    return result


def get_visible_photo(user: User, photo_uuid: uuid_module.UUID) -> Photo:
    """Return the photo if ``user`` may read its fact, else raise NotFound."""
    photo = db.session.scalar(
        db.select(Photo)
        .join(Report, Photo.report_id == Report.id)
        .where(
            Photo.uuid == photo_uuid,
            Report.id.in_(visible_reports(user).with_only_columns(Report.id)),
        )
    )
    if photo is None:
        raise NotFound("Photo introuvable.")
    return photo


def delete_photo(user: User, photo: Photo) -> None:
    """Delete a photo (a référent's decision, e.g. a face or a plate); file included.

    The row goes now; the caller removes the files once the transaction is committed.
    """
    if user.role not in (Role.REFERENT, Role.ADMIN):
        raise AccessDenied("Seul un référent sûreté supprime une photo.")
    db.session.delete(photo)
    db.session.flush()
    logger.info("Photo %s supprimée par %s", photo.uuid, user.id)
