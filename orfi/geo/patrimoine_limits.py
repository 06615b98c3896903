"""Limits of a patrimoine file, counted while reading: a file beyond one is refused.

A bailleur holds up to tens of thousands of résidences; a file of 200,000 rows or a
shapefile of a million points is a mistake or an attack, and reading it whole would
stop the server. Each limit is checked before the step it protects (size before
reading, rows while reading, features and points before GDAL loads them), and names
itself in the French message. ``docs/import-patrimoine.md`` documents them.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyogrio
import shapely

from orfi.geo.patrimoine_columns import PatrimoineFileError

#: Size of the file sent (a zip as sent).
MAX_FILE_BYTES = 50 * 1024 * 1024
#: Size of a zip archive's content, once uncompressed (a zip bomb stops here).
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
#: Rows of a CSV file (header excepted, blank lines ignored), features of a layer.
MAX_ROWS = 50_000
#: Points (vertices) of all the geometries of a layer, and of one geometry.
MAX_POINTS = 1_000_000
MAX_POINTS_PER_FEATURE = 10_000


def french(number: int) -> str:
    """``number`` as French text writes it (``50 000``): orfi.limits is above geo."""
    return f"{number:,}".replace(",", " ")


#: Settings that lower or raise each limit (``ORFI_IMPORT_MAX_ROWS``…).
_SETTINGS = {
    "max_file_bytes": "ORFI_IMPORT_MAX_FILE_BYTES",
    "max_uncompressed_bytes": "ORFI_IMPORT_MAX_UNCOMPRESSED_BYTES",
    "max_rows": "ORFI_IMPORT_MAX_ROWS",
    "max_points": "ORFI_IMPORT_MAX_POINTS",
    "max_points_per_feature": "ORFI_IMPORT_MAX_POINTS_PER_FEATURE",
}


def _megabytes(size: int) -> str:
    return f"{french(round(size / 1024 / 1024))} Mo"


@dataclass(frozen=True)
class ImportLimits:
    """The limits one import reads a file under."""

    max_file_bytes: int = MAX_FILE_BYTES
    max_uncompressed_bytes: int = MAX_UNCOMPRESSED_BYTES
    max_rows: int = MAX_ROWS
    max_points: int = MAX_POINTS
    max_points_per_feature: int = MAX_POINTS_PER_FEATURE

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ImportLimits:
        """The limits with the app's ``ORFI_IMPORT_MAX_*`` settings, when set."""
        values = {
            name: int(config[key]) for name, key in _SETTINGS.items() if key in config
        }
        return cls(**values)

    def check_file_size(self, path: Path) -> None:
        """Refuse a file bigger than ``max_file_bytes`` before reading it."""
        size = path.stat().st_size
        if size > self.max_file_bytes:
            raise PatrimoineFileError(
                f"Fichier trop gros : {_megabytes(size)} ; la limite est de "
                f"{_megabytes(self.max_file_bytes)}. Découpez-le en plusieurs fichiers."
            )

    def rows_error(self, what: str = "lignes") -> PatrimoineFileError:
        """The error of a file with more than ``max_rows`` rows (or features)."""
        return PatrimoineFileError(
            f"Fichier trop long : plus de {french(self.max_rows)} {what} (la limite "
            "d'un import). Découpez-le en plusieurs fichiers, par agence par exemple."
        )

    def count_rows(self, records: Iterable[list[str]]) -> list[list[str]]:
        """Return ``records`` (header first) as a list, refusing beyond ``max_rows``.

        Counted while reading: a file of a million rows is refused at the first row
        past the limit, never held whole.
        """
        kept: list[list[str]] = []
        rows = 0
        for record in records:
            if kept and any(cell.strip() for cell in record):
                rows += 1
                if rows > self.max_rows:
                    raise self.rows_error()
            kept.append(record)
        return kept

    def check_features(self, count: int) -> None:
        """Refuse a layer of more than ``max_rows`` features."""
        if count > self.max_rows:
            raise self.rows_error("objets géographiques")

    def points_error(self, per_feature: bool = False) -> PatrimoineFileError:
        """The error of a layer or one geometry beyond its points' limit."""
        if per_feature:
            return PatrimoineFileError(
                "Géométrie trop détaillée : un objet a plus de "
                f"{french(self.max_points_per_feature)} points (la limite par "
                "résidence). Simplifiez les contours avant l'import."
            )
        return PatrimoineFileError(
            f"Fichier trop détaillé : plus de {french(self.max_points)} points au "
            "total (la limite d'un import). Simplifiez les contours ou découpez le "
            "fichier."
        )

    def check_points(self, counts: Iterable[int]) -> None:
        """Refuse when one of ``counts`` (points per feature) or their sum is over."""
        total = 0
        for count in counts:
            if count > self.max_points_per_feature:
                raise self.points_error(per_feature=True)
            total += count
            if total > self.max_points:
                raise self.points_error()

    def check_archive(self, path: Path) -> None:
        """Refuse a zip whose content, uncompressed, is over ``max_uncompressed_bytes``.

        Reads the sizes the archive declares; GDAL then reads no more than that.
        """
        try:
            with zipfile.ZipFile(path) as archive:
                size = sum(info.file_size for info in archive.infolist())
        except zipfile.BadZipFile:
            return  # the reader says so, in its own words
        if size > self.max_uncompressed_bytes:
            raise PatrimoineFileError(
                f"Archive trop grosse une fois décompressée : {_megabytes(size)} ; la "
                f"limite est de {_megabytes(self.max_uncompressed_bytes)}."
            )

    def check_vector(self, path: Path, source: str, layer: str | None) -> None:
        """Refuse a layer beyond the limits before GDAL loads it (see the module).

        ``path`` is the file sent, ``source`` what GDAL opens (maybe inside a zip).
        """
        if path.suffix.lower() == ".zip":
            self.check_archive(path)
        features = pyogrio.read_info(source, layer=layer)["features"]
        if features < 0:  # a format that does not store it: GDAL counts
            info = pyogrio.read_info(source, layer=layer, force_feature_count=True)
            features = info["features"]
        self.check_features(features)
        self.check_points(_point_counts(path, source, layer, features))


#: Features read at once to count the points of a layer that is not a shapefile.
_BATCH = 1_000


def _point_counts(
    path: Path, source: str, layer: str | None, features: int
) -> Iterator[int]:
    """Yield the points of each feature of ``source``, without loading it whole."""
    if source.lower().endswith(".shp"):
        prefix = f"/vsizip/{path.resolve()}/"
        if source.startswith(prefix):
            with (
                zipfile.ZipFile(path) as archive,
                archive.open(source[len(prefix) :]) as stream,
            ):
                yield from shapefile_point_counts(stream)
        else:
            with open(source, "rb") as stream:
                yield from shapefile_point_counts(stream)
        return
    for start in range(0, features, _BATCH):
        frame = pyogrio.read_dataframe(
            source, layer=layer, columns=[], skip_features=start, max_features=_BATCH
        )
        yield from (int(n) for n in shapely.get_num_coordinates(frame.geometry.values))


# ------------------------------------------------------------------ shapefiles

#: Shape types whose record holds a list of points (ESRI shapefile specification).
_MULTI_POINT_TYPES = frozenset({8, 18, 28})
_PARTS_TYPES = frozenset({3, 5, 13, 15, 23, 25, 31})


def shapefile_point_counts(stream: IO[bytes]) -> Iterator[int]:
    """Yield the number of points of each record of a ``.shp`` stream, from headers.

    Reads each record's header and skips its coordinates: a million points are
    counted without being loaded. A truncated file ends the counting (GDAL then
    reports it).
    """
    header = stream.read(100)
    if len(header) < 100:
        return
    while True:
        record = stream.read(8)
        if len(record) < 8:
            return
        _number, words = struct.unpack(">ii", record)
        length = words * 2
        if length < 4:
            return
        head = stream.read(min(length, 44))
        shape_type = struct.unpack("<i", head[:4])[0] if len(head) >= 4 else 0
        if shape_type in _PARTS_TYPES and len(head) >= 44:
            yield struct.unpack("<i", head[40:44])[0]
        elif shape_type in _MULTI_POINT_TYPES and len(head) >= 40:
            yield struct.unpack("<i", head[36:40])[0]
        else:
            yield 1 if shape_type else 0
        _skip(stream, length - len(head))


def _skip(stream: IO[bytes], size: int) -> None:
    while size > 0:
        chunk = stream.read(min(size, 1 << 20))
        if not chunk:
            return
        size -= len(chunk)
