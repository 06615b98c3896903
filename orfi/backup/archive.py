"""The archive file: writing its members and manifest, reading them back checked."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tarfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from orfi.backup.settings import (
    CHUNK,
    PG_MEMBER,
    PHOTOS,
    SQLITE_MEMBER,
    BackupError,
    orfi_version,
    photo_dir,
)
from orfi.backup.snapshot import Snapshot

logger = logging.getLogger(__name__)

FORMAT = "orfi-sauvegarde"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_MAX_MANIFEST_BYTES = 16 * 1024 * 1024


class _HashingReader:
    """A file wrapper that hashes what tarfile reads from it."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        return data


def _add_member(tar: tarfile.TarFile, path: Path, name: str) -> dict[str, Any]:
    info = tar.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    with path.open("rb") as raw:
        reader = _HashingReader(raw)
        tar.addfile(info, reader)
    return {"size": info.size, "sha256": reader.sha256.hexdigest()}


def photo_files(folder: Path) -> Iterator[tuple[Path, str]]:
    """Yield the photo files (not temporary or hidden ones) with their relative name."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_symlink() or not path.is_file() or path.suffix == ".tmp":
            continue
        yield path, relative.as_posix()


def _open_output(path: Path) -> IO[bytes]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


def _compressed(path: Path) -> bool:
    return path.name.endswith((".gz", ".tgz"))


def _manifest(
    backend: str,
    started: datetime,
    snapshot: Snapshot,
    members: dict[str, dict[str, Any]],
    missing_photos: int,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "orfi_version": orfi_version(),
        "created_at": started.isoformat(timespec="seconds"),
        "backend": backend,
        "alembic_revision": snapshot.revision,
        "database": snapshot.details,
        "counts": snapshot.counts,
        "photos": {
            "files": sum(1 for name in members if name.startswith(f"{PHOTOS}/")),
            "missing": missing_photos,
        },
        "members": members,
    }


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True).encode()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def write_archive(
    output: Path,
    database_file: Path,
    snapshot: Snapshot,
    backend: str,
    started: datetime,
) -> tuple[dict[str, Any], int]:
    """Write the archive at ``output``; return its manifest and the photos missing.

    Written under a ``.part`` name then renamed, so that ``output`` is whole or absent.
    """
    partial = output.with_name(output.name + ".part")
    members: dict[str, dict[str, Any]] = {}
    photos_found: set[str] = set()
    try:
        with _open_output(partial) as raw:
            mode = "w:gz" if _compressed(output) else "w"
            with tarfile.open(fileobj=raw, mode=mode) as tar:
                members[database_file.name] = _add_member(
                    tar, database_file, database_file.name
                )
                for path, relative in photo_files(photo_dir()):
                    name = f"{PHOTOS}/{relative}"
                    try:
                        members[name] = _add_member(tar, path, name)
                    except FileNotFoundError:
                        continue  # deleted since listed: its row went with it
                    photos_found.add(relative)
                missing = len(snapshot.expected_photos - photos_found)
                manifest = _manifest(backend, started, snapshot, members, missing)
                _add_bytes(tar, MANIFEST, _manifest_bytes(manifest))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest, missing


def _safe_member_name(name: str) -> bool:
    path = PurePosixPath(name)
    if path.is_absolute() or "\\" in name or not path.parts:
        return False
    if any(part in ("", ".", "..") for part in path.parts):
        return False
    if name in (MANIFEST, SQLITE_MEMBER, PG_MEMBER):
        return True
    return path.parts[0] == PHOTOS and len(path.parts) >= 2


def extract_verified(archive: Path, work: Path) -> dict[str, Any]:
    """Extract ``archive`` into ``work`` and check it; return its manifest.

    Every member is a regular file with an expected name; the manifest lists exactly
    the other members, with their size and SHA-256.
    """
    if not archive.is_file():
        raise BackupError(f"Archive introuvable : {archive}.")
    try:
        found, manifest_data = _extract_members(archive, work)
    except BackupError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise BackupError(
            f"Archive illisible ou tronquée ({archive.name}) : {error}"
        ) from None
    if manifest_data is None:
        raise BackupError(
            f"Archive incomplète ({archive.name}) : pas de manifest.json "
            "(archive tronquée, ou qui n'est pas une sauvegarde d'orfi)."
        )
    manifest = _parse_manifest(manifest_data)
    _check_members(manifest["members"], found)
    return manifest


def _extract_members(
    archive: Path, work: Path
) -> tuple[dict[str, dict[str, Any]], bytes | None]:
    """Extract every member but the manifest; return their size and hash, and it."""
    found: dict[str, dict[str, Any]] = {}
    manifest_data: bytes | None = None
    with tarfile.open(archive, mode="r:*") as tar:
        for member in tar:
            name = member.name
            if not member.isfile() or not _safe_member_name(name):
                raise BackupError(
                    f"Archive refusée : élément inattendu « {name} » (ce n'est pas "
                    "une sauvegarde d'orfi)."
                )
            if name in found or (name == MANIFEST and manifest_data is not None):
                raise BackupError(f"Archive refusée : « {name} » en double.")
            source = tar.extractfile(member)
            if name == MANIFEST:
                manifest_data = source.read(_MAX_MANIFEST_BYTES + 1)
            else:
                found[name] = _extract_to(source, work / name)
    return found, manifest_data


def _extract_to(source: IO[bytes], destination: Path) -> dict[str, Any]:
    """Copy ``source`` to ``destination``; return its size and SHA-256.

    Readable by its owner only, as the photo folder it will move to: a member is at
    most two folders deep (``photos/<bailleur>/``), each created 0700.
    """
    destination.parent.parent.mkdir(mode=0o700, exist_ok=True)
    destination.parent.mkdir(mode=0o700, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with os.fdopen(
        os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb"
    ) as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


def _check_members(
    expected: dict[str, dict[str, Any]], found: dict[str, dict[str, Any]]
) -> None:
    """Refuse members missing, added or changed since the manifest was written."""
    if set(expected) != set(found):
        absent = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        raise BackupError(
            "Archive incomplète ou modifiée : "
            + (f"manquent {', '.join(absent[:5])} ; " if absent else "")
            + (f"en trop {', '.join(extra[:5])}" if extra else "")
        )
    damaged = [
        name
        for name, facts in found.items()
        if facts["sha256"] != expected[name].get("sha256")
        or facts["size"] != expected[name].get("size")
    ]
    if damaged:
        raise BackupError(
            "Archive corrompue : empreinte SHA-256 différente pour "
            + ", ".join(sorted(damaged)[:5])
            + "."
        )


def _parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        if len(data) > _MAX_MANIFEST_BYTES:
            raise ValueError("trop grand")
        manifest = json.loads(data)
        if manifest.get("format") != FORMAT:
            raise ValueError("format inconnu")
        members = manifest.get("members")
        if not isinstance(members, dict) or not all(
            isinstance(facts, dict) for facts in members.values()
        ):
            raise ValueError("liste des fichiers absente")
        if not isinstance(manifest.get("counts"), dict):
            raise ValueError("décomptes absents")
    except (ValueError, AttributeError) as error:
        raise BackupError(f"manifest.json illisible : {error}.") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"Format de sauvegarde {manifest.get('format_version')} inconnu de cette "
            f"version d'orfi (qui lit le format {FORMAT_VERSION})."
        )
    return manifest
