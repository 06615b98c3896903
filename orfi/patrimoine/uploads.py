"""Uploaded patrimoine files kept between the upload and the column mapping step.

The file is read twice: once for its columns and first rows, once, after the person
has chosen the columns, for the import. Between the two requests it stays in a private
folder (0700, under the instance folder), under a random token that only the session
of the person who sent it knows; it is deleted after the import, and files older than
:data:`MAX_AGE` are deleted at each new upload.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import time
from pathlib import Path

from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

logger = logging.getLogger(__name__)

#: How long an uploaded file waits for its column mapping.
MAX_AGE = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")


def keep_upload(folder: Path, upload: FileStorage) -> tuple[str, Path]:
    """Save an uploaded file under a new token; return the token and the file's path."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _delete_old(folder)
    original = upload.filename or ""
    suffix = Path(original).suffix.lower()
    name = secure_filename(original) or f"import{suffix}"
    if not name.lower().endswith(suffix):
        name += suffix
    token = secrets.token_urlsafe(24)
    place = folder / token
    place.mkdir(mode=0o700)
    path = place / name
    upload.save(path)
    return token, path


def kept_upload(folder: Path, token: str | None) -> Path | None:
    """Return the file kept under ``token``, or None (unknown, expired or malformed)."""
    if not token or not _TOKEN.match(token):
        return None
    place = folder / token
    files = sorted(place.iterdir()) if place.is_dir() else []
    return files[0] if files else None


def discard_upload(folder: Path, token: str | None) -> None:
    """Delete the file kept under ``token`` (nothing if there is none)."""
    if token and _TOKEN.match(token):
        shutil.rmtree(folder / token, ignore_errors=True)


def _delete_old(folder: Path) -> None:
    """Delete the files whose mapping step was never finished."""
    limit = time.time() - MAX_AGE
    for place in folder.iterdir():
        try:
            if place.is_dir() and place.stat().st_mtime < limit:
                shutil.rmtree(place, ignore_errors=True)
        except OSError:  # deleted meanwhile by another request
            logger.debug("Upload folder %s vanished", place)
