"""Reading a bailleur's patrimoine file: columns, validation, reprojection and QPV.

A file goes in (CSV, or any vector format GDAL reads); a GeoDataFrame of résidences with
normalised columns and the list of rejected rows come out. Nothing here touches the
database: :mod:`orfi.patrimoine.importer` writes what this module returns.

The normalised GeoDataFrame is in WGS84 (EPSG:4326) with one point per résidence and
these columns (optional ones only when the file carries them, so that an update leaves
the other fields alone): ``line``, ``reference``, ``name``, ``latitude``,
``longitude``, and optionally ``address``, ``commune_insee``, ``commune_name``,
``logements``, ``agence``, ``outline_geojson`` (vector files only), ``qpv_code`` and
``qpv_generation`` (after :func:`assign_qpv`).
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import math
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

logger = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
LAMBERT93 = "EPSG:2154"

#: File suffixes read as delimited text; everything else goes to GDAL.
CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
#: Members of a zip archive that can hold a layer, by preference.
_ZIP_LAYER_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json")

#: Accepted column names by field, after :func:`normalise_column` (lower case, no
#: accents, ``_`` for spaces and punctuation). When a file has several columns for one
#: field, the one whose name comes first here wins; the others are ignored.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "reference": (
        "reference",
        "ref",
        "code_residence",
        "code_groupe",
        "code_programme",
        "identifiant",
        "id_residence",
        "code",
    ),
    "name": (
        "nom",
        "name",
        "libelle",
        "nom_residence",
        "libelle_residence",
        "nom_groupe",
        "libelle_groupe",
        "nom_programme",
    ),
    "address": ("adresse", "address", "adresse_postale"),
    # RPLS splits the address: number, repetition index (bis, ter), street type, name.
    "numvoie": ("numvoie", "num_voie", "numero_voie"),
    "indrep": ("indrep", "ind_rep", "indice_repetition"),
    "typvoie": ("typvoie", "typ_voie", "type_voie"),
    "nomvoie": ("nomvoie", "nom_voie", "libelle_voie"),
    "commune_insee": (
        "code_insee",
        "insee",
        "depcom",
        "code_commune",
        "code_commune_insee",
        "codgeo",
    ),
    "commune_name": ("commune", "libcom", "nom_commune", "libelle_commune", "ville"),
    "logements": (
        "logements",
        "nb_logements",
        "nblog",
        "nombre_logements",
        "nombre_de_logements",
        "nb_log",
        "nblogements",
    ),
    "agence": ("agence", "nom_agence", "libelle_agence"),
    "latitude": ("latitude", "lat", "y_wgs84"),
    "longitude": ("longitude", "lon", "lng", "long", "x_wgs84"),
    "x_l93": ("x_l93", "x", "coord_x", "x_lambert93", "x_lambert_93", "xl93"),
    "y_l93": ("y_l93", "y", "coord_y", "y_lambert93", "y_lambert_93", "yl93"),
}

#: Optional fields copied as text, with their maximum length (the database column's).
_TEXT_FIELDS = {
    "commune_name": 100,
    "agence": 200,
}
_MAX_LENGTH = {"reference": 50, "name": 200, "address": 300}

#: Bounding boxes (lon_min, lat_min, lon_max, lat_max) of France métropolitaine (with
#: Corsica) and of the five départements d'outre-mer.
FRANCE_BOUNDS: dict[str, tuple[float, float, float, float]] = {
    "France métropolitaine": (-5.5, 41.2, 9.8, 51.3),
    "Guadeloupe": (-61.9, 15.8, -60.9, 16.6),
    "Martinique": (-61.3, 14.3, -60.7, 14.95),
    "Guyane": (-54.7, 2.0, -51.5, 5.9),
    "La Réunion": (55.1, -21.5, 55.9, -20.8),
    "Mayotte": (44.9, -13.1, 45.4, -12.5),
}

_INSEE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")


class PatrimoineFileError(ValueError):
    """Raised when a patrimoine or QPV file cannot be read at all (French message)."""


@dataclass(frozen=True)
class RejectedRow:
    """A row left out of the import: where it is, its reference if any, and why."""

    line: int
    reference: str
    reason: str


@dataclass
class PatrimoineData:
    """What :func:`read_patrimoine` returns."""

    #: Valid résidences, normalised columns, points in WGS84.
    residences: gpd.GeoDataFrame
    #: Rows left out, in file order.
    rejected: list[RejectedRow] = field(default_factory=list)
    #: Non-blank rows (or features) read.
    total: int = 0
    #: How the file was understood, for the report (format, separator, encoding, CRS).
    description: str = ""
    #: Remarks that do not reject a row (ignored columns, other layers...).
    warnings: list[str] = field(default_factory=list)
    #: "line" for delimited text, "feature" for vector files.
    line_kind: str = "line"


def normalise_column(name: object) -> str:
    """Return a column name in lower case, without accents, ``_`` between words."""
    text = unicodedata.normalize("NFKD", str(name))
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


def _alias_table() -> dict[str, tuple[str, int]]:
    """Map each accepted name to (field, priority); shapefile-truncated names last."""
    table: dict[str, tuple[str, int]] = {}
    for name, aliases in COLUMN_ALIASES.items():
        for rank, alias in enumerate(aliases):
            table[alias] = (name, rank)
    # DBF field names are cut at 10 characters (nb_logements -> nb_logemen).
    for name, aliases in COLUMN_ALIASES.items():
        for rank, alias in enumerate(aliases):
            if len(alias) > 10:
                table.setdefault(alias[:10], (name, len(aliases) + rank))
    return table


_ALIASES = _alias_table()


def match_columns(columns: Sequence[object]) -> tuple[dict[str, object], list[str]]:
    """Return which source column feeds each field, and the columns left unused.

    Parameters
    ----------
    columns : sequence
        Column names as read from the file.

    Returns
    -------
    tuple of (dict, list)
        Field name → source column; source columns matching no field (or losing to a
        better-ranked alias).
    """
    best: dict[str, tuple[int, object]] = {}
    for column in columns:
        found = _ALIASES.get(normalise_column(column))
        if found is None:
            continue
        name, rank = found
        if name not in best or rank < best[name][0]:
            best[name] = (rank, column)
    mapping = {name: column for name, (_rank, column) in best.items()}
    used = set(mapping.values())
    unused = [
        str(c) for c in columns if c not in used and c != "geometry" and str(c).strip()
    ]
    return mapping, unused


def within_france(longitude: np.ndarray, latitude: np.ndarray) -> np.ndarray:
    """Return which points lie in France métropolitaine or a DOM (bounding boxes).

    Parameters
    ----------
    longitude, latitude : numpy.ndarray
        Degrees, WGS84; NaN is never within.

    Returns
    -------
    numpy.ndarray of bool
    """
    longitude = np.asarray(longitude, dtype=float)
    latitude = np.asarray(latitude, dtype=float)
    inside = np.zeros(longitude.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        for lon_min, lat_min, lon_max, lat_max in FRANCE_BOUNDS.values():
            inside |= (
                (longitude >= lon_min)
                & (longitude <= lon_max)
                & (latitude >= lat_min)
                & (latitude <= lat_max)
            )
    return inside


def read_patrimoine(path: str | Path, *, layer: str | None = None) -> PatrimoineData:
    """Read and validate a patrimoine file; return valid résidences and rejected rows.

    Parameters
    ----------
    path : str or Path
        A CSV file (``.csv``, ``.txt``, ``.tsv``: ``;``, ``,`` or tab separated,
        UTF-8 with or without BOM, else Windows-1252/Latin-1; latitude/longitude or
        Lambert-93 X/Y columns), a zip archive holding a shapefile (or a GeoPackage or
        GeoJSON), or any vector file GDAL reads (GeoJSON, GeoPackage, Shapefile with
        its ``.cpg``...).
    layer : str, optional
        Layer to read in a multi-layer file; the first one by default.

    Returns
    -------
    PatrimoineData
        ``residences`` in WGS84 with the columns listed in the module docstring.

    Raises
    ------
    PatrimoineFileError
        The file is missing, unreadable, has no CRS (vector) or lacks a required column.
    """
    path = Path(path)
    if not path.is_file():
        raise PatrimoineFileError(f"Fichier introuvable : {path.name}.")
    if path.suffix.lower() in CSV_SUFFIXES:
        return _read_csv(path)
    return _read_vector(path, layer)


# --- CSV -------------------------------------------------------------------------


def _decode(raw: bytes) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 (BOM or not), else Windows-1252, else Latin-1."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "UTF-8"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Texte Unicode" export.
        return raw.decode("utf-16", errors="replace"), "UTF-16"
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        # Latin-1 maps every byte: it never fails, at worst shows a control character.
        return raw.decode("latin-1"), "Latin-1"


def _sniff_delimiter(header: str) -> str:
    """Return the separator of a header line: the most frequent of ``;``, ``,``, tab.

    The header is used rather than csv.Sniffer on data rows, because French files with
    ``;`` often write decimals with a comma (43,6045), which fools the sniffer.
    """
    counts = {sep: header.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _read_csv(path: Path) -> PatrimoineData:
    raw = path.read_bytes()
    text, encoding = _decode(raw)
    first = text.partition("\n")[0].strip()
    # Excel's "sep=;" hint line: Excel hides it, so the header is still line 1.
    hint = re.fullmatch(r'"?sep=(.)"?', first)
    if hint:
        delimiter = hint.group(1)
        text = text.split("\n", 1)[1] if "\n" in text else ""
    else:
        delimiter = _sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error as error:
        raise PatrimoineFileError(
            f"Fichier CSV illisible ({error}). Vérifiez les guillemets."
        ) from error
    if not records or not any(cell.strip() for cell in records[0]):
        raise PatrimoineFileError("Le fichier est vide : aucune ligne d'en-tête.")

    header = [cell.strip() for cell in records[0]]
    width = len(header)
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    rejected: list[RejectedRow] = []
    for index, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > width and any(cell.strip() for cell in record[width:]):
            rejected.append(
                RejectedRow(
                    index,
                    "",
                    f"{len(record)} colonnes au lieu de {width} "
                    f"(séparateur « {_show(delimiter)} » dans une valeur ?)",
                )
            )
            continue
        rows.append((record + [""] * width)[:width])
        line_numbers.append(index)

    frame = pd.DataFrame(rows, columns=range(width), dtype=object)
    mapping, unused = match_columns(header)
    mapping = {name: header.index(column) for name, column in mapping.items()}
    _require_columns(mapping, header, vector=False)

    description = (
        f"CSV, séparateur « {_show(delimiter)} », encodage {encoding}"
        if rows or rejected
        else f"CSV, encodage {encoding}"
    )
    data = _normalise(
        frame,
        mapping,
        line_numbers=np.asarray(line_numbers, dtype=int),
        geometry=None,
        line_kind="line",
    )
    data.rejected = sorted(rejected + data.rejected, key=lambda r: r.line)
    data.total = len(rows) + len(rejected)
    data.description = description
    data.warnings = _unused_warning(unused)
    return data


def _show(delimiter: str) -> str:
    return "tabulation" if delimiter == "\t" else delimiter


# --- Vector files ------------------------------------------------------------------


def _dataset_path(path: Path) -> tuple[str, list[str]]:
    """Return the path GDAL should open (inside a zip if needed) and warnings."""
    if path.suffix.lower() != ".zip":
        return str(path), []
    try:
        with zipfile.ZipFile(path) as archive:
            names = [
                n
                for n in archive.namelist()
                if not n.startswith("__MACOSX/") and not n.endswith("/")
            ]
    except zipfile.BadZipFile as error:
        raise PatrimoineFileError(
            f"{path.name} n'est pas une archive zip valide."
        ) from error
    for suffix in _ZIP_LAYER_SUFFIXES:
        candidates = sorted(n for n in names if n.lower().endswith(suffix))
        if candidates:
            warnings = []
            if len(candidates) > 1:
                warnings.append(
                    f"L'archive contient {len(candidates)} fichiers {suffix} : "
                    f"seul {candidates[0]} est importé."
                )
            return f"/vsizip/{path.resolve()}/{candidates[0]}", warnings
    raise PatrimoineFileError(
        f"L'archive {path.name} ne contient ni shapefile (.shp), ni GeoPackage, "
        "ni GeoJSON."
    )


def _read_vector(path: Path, layer: str | None) -> PatrimoineData:
    source, warnings = _dataset_path(path)
    try:
        layers = pyogrio.list_layers(source)
        names = [str(name) for name, _kind in layers]
        if layer is not None and layer not in names:
            raise PatrimoineFileError(
                f"Couche « {layer} » introuvable dans {path.name} ; couches : "
                + ", ".join(names)
                + "."
            )
        if layer is None and len(layers) > 1:
            spatial = [str(name) for name, kind in layers if kind is not None]
            layer = spatial[0] if spatial else names[0]
            warnings.append(
                f"Le fichier contient {len(layers)} couches : seule « {layer} » est "
                "importée."
            )
        frame = gpd.read_file(source, layer=layer)
    except PatrimoineFileError:
        raise
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as error:
        logger.info("Unreadable vector file %s: %s", path.name, error)
        raise PatrimoineFileError(
            f"Format de fichier non reconnu ou fichier abîmé : {path.name}. Formats "
            "acceptés : CSV, GeoJSON, GeoPackage, shapefile (éventuellement zippé)."
        ) from error
    except (RuntimeError, OSError, ValueError) as error:
        logger.info("Unreadable vector file %s: %s", path.name, error)
        raise PatrimoineFileError(f"Fichier illisible : {path.name}.") from error
    if frame.crs is None:
        raise PatrimoineFileError(
            f"{path.name} n'indique pas son système de coordonnées (fichier .prj "
            "absent ?). Ajoutez-le, ou exportez le fichier en WGS84 (EPSG:4326) ou en "
            "Lambert-93 (EPSG:2154)."
        )
    crs_name = frame.crs.to_string()
    attribute_names = [c for c in frame.columns if c != frame.geometry.name]
    mapping, unused = match_columns(attribute_names)
    _require_columns(mapping, attribute_names, vector=True)

    geometry = frame.geometry.to_crs(WGS84)
    attributes = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    attributes.index = range(len(attributes))
    data = _normalise(
        attributes,
        mapping,
        line_numbers=np.arange(1, len(frame) + 1),
        geometry=geometry.to_numpy(),
        line_kind="feature",
    )
    data.total = len(frame)
    data.description = f"{_format_name(source)}, système de coordonnées {crs_name}"
    data.warnings = warnings + _unused_warning(unused)
    return data


_FORMAT_NAMES = {
    ".shp": "Shapefile",
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".fgb": "FlatGeobuf",
    ".kml": "KML",
    ".gml": "GML",
}


def _format_name(source: str) -> str:
    suffix = Path(source).suffix.lower()
    return _FORMAT_NAMES.get(suffix, suffix.lstrip(".").upper() or "Fichier vectoriel")


# --- Shared normalisation and validation ---------------------------------------------


def _require_columns(mapping: dict, header: list, *, vector: bool) -> None:
    missing = []
    if "reference" not in mapping:
        missing.append("référence (reference, ref, code, code_residence…)")
    if "name" not in mapping:
        missing.append("nom (nom, name, libelle, nom_residence…)")
    if not vector:
        has_wgs84 = "latitude" in mapping and "longitude" in mapping
        has_l93 = "x_l93" in mapping and "y_l93" in mapping
        if not (has_wgs84 or has_l93):
            missing.append(
                "coordonnées (latitude et longitude, ou X et Y en Lambert-93)"
            )
    if missing:
        # A binary file read as text has absurd "columns": show a few, briefly.
        names = [str(c)[:40] for c in header if str(c).strip()]
        shown = ", ".join(names[:15]) + (" …" if len(names) > 15 else "")
        raise PatrimoineFileError(
            "Colonne(s) obligatoire(s) introuvable(s) : "
            + " ; ".join(missing)
            + f". Colonnes lues : {shown or 'aucune'}."
        )


def _unused_warning(unused: list[str]) -> list[str]:
    if not unused:
        return []
    return ["Colonnes ignorées : " + ", ".join(unused) + "."]


def _text(value: object) -> str:
    """Return a cell as stripped text; missing values become ``""``."""
    if type(value) is str:
        return " ".join(value.split())
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, np.floating):
        return _text(float(value))
    if value is pd.NA or value is pd.NaT:
        return ""
    return " ".join(str(value).split())


def _column(frame: pd.DataFrame, mapping: dict, name: str) -> list[str]:
    if name not in mapping:
        return [""] * len(frame)
    return [_text(v) for v in frame[mapping[name]].tolist()]


def _parse_number(text: str) -> float | None:
    """Parse a decimal written the French or the English way; None if not a number."""
    cleaned = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    cleaned = cleaned.replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        return None


def _parse_logements(text: str) -> tuple[int | None, str | None]:
    """Return (logements, error): empty means 0; decimals like 12.0 are accepted."""
    if not text:
        return 0, None
    number = _parse_number(text)
    if number is None or not math.isfinite(number) or not number.is_integer():
        return None, f"logements : « {text} » n'est pas un nombre entier"
    if number < 0:
        return None, f"logements : {int(number)} est négatif"
    return int(number), None


def _normalise_insee(text: str) -> tuple[str, str | None]:
    code = text.upper()
    if len(code) == 4 and code.isdigit():
        # A spreadsheet dropped the leading zero of départements 01–09.
        code = "0" + code
    if not _INSEE.match(code):
        return "", f"code INSEE « {text} » invalide (5 caractères, ex. 31555)"
    return code, None


def _csv_coordinates(
    frame: pd.DataFrame, mapping: dict
) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Return WGS84 lon/lat arrays and a per-row error from lat/lon or X/Y columns."""
    size = len(frame)
    lon = np.full(size, np.nan)
    lat = np.full(size, np.nan)
    errors: list[str | None] = [None] * size
    lat_text, lon_text = (
        _column(frame, mapping, "latitude"),
        _column(frame, mapping, "longitude"),
    )
    x_text, y_text = _column(frame, mapping, "x_l93"), _column(frame, mapping, "y_l93")
    x = np.full(size, np.nan)
    y = np.full(size, np.nan)
    from_l93 = np.zeros(size, dtype=bool)
    for i in range(size):
        if lat_text[i] or lon_text[i]:
            a, b = _parse_number(lat_text[i]), _parse_number(lon_text[i])
            if a is None or b is None:
                errors[i] = (
                    f"coordonnées invalides (latitude « {lat_text[i]} », "
                    f"longitude « {lon_text[i]} »)"
                )
            else:
                lat[i], lon[i] = a, b
        elif x_text[i] or y_text[i]:
            a, b = _parse_number(x_text[i]), _parse_number(y_text[i])
            if a is None or b is None:
                errors[i] = (
                    f"coordonnées invalides (X « {x_text[i]} », Y « {y_text[i]} »)"
                )
            else:
                x[i], y[i] = a, b
                from_l93[i] = True
        else:
            errors[i] = "coordonnées manquantes"
    if from_l93.any():
        with np.errstate(invalid="ignore"):
            finite = from_l93 & np.isfinite(x) & np.isfinite(y)
        points = gpd.GeoSeries(
            gpd.points_from_xy(x[finite], y[finite]), crs=LAMBERT93
        ).to_crs(WGS84)
        lon[finite] = points.x.to_numpy()
        lat[finite] = points.y.to_numpy()
        for i in np.flatnonzero(from_l93 & ~finite):
            errors[i] = "coordonnées X/Y non finies"
        # Degrees in X/Y columns are a frequent mistake: say so, not "hors France".
        looks_like_degrees = from_l93 & within_france(x, y)
        for i in np.flatnonzero(looks_like_degrees):
            errors[i] = (
                f"X/Y ({x_text[i]}, {y_text[i]}) ressemblent à des degrés : nommez "
                "ces colonnes longitude et latitude (X/Y sont lus en Lambert-93)"
            )
    return lon, lat, errors


def _vector_coordinates(
    geometry: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, list[str | None], list[str | None]]:
    """Return lon/lat of representative points, outlines of polygons, per-row errors."""
    size = len(geometry)
    errors: list[str | None] = [None] * size
    missing = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    for i in np.flatnonzero(missing):
        errors[i] = "géométrie absente"
    geometry = np.where(missing, None, geometry)
    geometry = shapely.force_2d(geometry)
    kind = shapely.get_type_id(geometry)
    polygonal = np.isin(kind, (3, 6))  # Polygon, MultiPolygon
    invalid = polygonal & ~shapely.is_valid(geometry)
    if invalid.any():
        geometry[invalid] = shapely.make_valid(geometry[invalid])
    points = shapely.point_on_surface(geometry)
    lon = np.where(missing, np.nan, shapely.get_x(points))
    lat = np.where(missing, np.nan, shapely.get_y(points))
    outlines: list[str | None] = [None] * size
    if polygonal.any():
        texts = shapely.to_geojson(geometry[polygonal])
        for i, text in zip(np.flatnonzero(polygonal), texts, strict=True):
            outlines[i] = str(text)
    return lon, lat, outlines, errors


def _normalise(
    frame: pd.DataFrame,
    mapping: dict,
    *,
    line_numbers: np.ndarray,
    geometry: np.ndarray | None,
    line_kind: str,
) -> PatrimoineData:
    """Build the normalised GeoDataFrame and the rejected rows of one source."""
    size = len(frame)
    references = _column(frame, mapping, "reference")
    names = _column(frame, mapping, "name")
    if geometry is None:
        lon, lat, coordinate_errors = _csv_coordinates(frame, mapping)
        outlines = None
    else:
        lon, lat, outlines, coordinate_errors = _vector_coordinates(geometry)

    has_address = "address" in mapping or any(
        part in mapping for part in ("numvoie", "typvoie", "nomvoie")
    )
    addresses = _column(frame, mapping, "address")
    if "address" not in mapping and has_address:
        parts = [
            _column(frame, mapping, part)
            for part in ("numvoie", "indrep", "typvoie", "nomvoie")
        ]
        addresses = [" ".join(p for p in row if p) for row in zip(*parts, strict=True)]

    seen: dict[str, list[int]] = {}
    for i, reference in enumerate(references):
        if reference:
            seen.setdefault(reference, []).append(int(line_numbers[i]))
    word = "lignes" if line_kind == "line" else "objets"

    inside = within_france(lon, lat)
    swapped = within_france(lat, lon)
    columns: dict[str, list] = {
        name: []
        for name in (
            "line",
            "reference",
            "name",
            "latitude",
            "longitude",
            "address",
            "commune_insee",
            "commune_name",
            "logements",
            "agence",
            "outline_geojson",
        )
    }
    insee = _column(frame, mapping, "commune_insee")
    texts = {name: _column(frame, mapping, name) for name in _TEXT_FIELDS}
    logements = _column(frame, mapping, "logements")
    rejected: list[RejectedRow] = []
    for i in range(size):
        reasons: list[str] = []
        reference = references[i]
        if not reference:
            reasons.append("référence manquante")
        elif len(seen[reference]) > 1:
            others = ", ".join(str(n) for n in seen[reference])
            reasons.append(f"référence en double ({word} {others})")
        if not names[i]:
            reasons.append("nom manquant")
        for name, value in (
            ("reference", reference),
            ("name", names[i]),
            ("address", addresses[i]),
        ):
            if len(value) > _MAX_LENGTH[name]:
                reasons.append(
                    f"{_LABELS[name]} trop long(ue) ({len(value)} caractères, "
                    f"{_MAX_LENGTH[name]} au plus)"
                )
        for name, limit in _TEXT_FIELDS.items():
            if len(texts[name][i]) > limit:
                reasons.append(
                    f"{_LABELS[name]} trop long ({limit} caractères au plus)"
                )
        count, error = _parse_logements(logements[i])
        if error:
            reasons.append(error)
        code = ""
        if insee[i]:
            code, error = _normalise_insee(insee[i])
            if error:
                reasons.append(error)
        if coordinate_errors[i]:
            reasons.append(coordinate_errors[i])
        elif not (math.isfinite(lon[i]) and math.isfinite(lat[i])):
            reasons.append("coordonnées non finies")
        elif not inside[i]:
            hint = (
                " : latitude et longitude inversées ?"
                if swapped[i]
                else " (France métropolitaine ou DOM attendus)"
            )
            reasons.append(
                f"position hors de France (latitude {lat[i]:.5f}, longitude "
                f"{lon[i]:.5f}){hint}"
            )
        if reasons:
            rejected.append(
                RejectedRow(int(line_numbers[i]), reference, " ; ".join(reasons))
            )
            continue
        columns["line"].append(int(line_numbers[i]))
        columns["reference"].append(reference)
        columns["name"].append(names[i])
        columns["latitude"].append(round(float(lat[i]), 7))
        columns["longitude"].append(round(float(lon[i]), 7))
        columns["address"].append(addresses[i])
        columns["commune_insee"].append(code)
        columns["commune_name"].append(texts["commune_name"][i])
        columns["logements"].append(count)
        columns["agence"].append(texts["agence"][i])
        columns["outline_geojson"].append(outlines[i] if outlines is not None else None)

    # Only the fields the file carries: an update must not blank the others.
    keep = ["line", "reference", "name", "latitude", "longitude"]
    keep += [
        name for name in ("commune_insee", "logements", "agence") if name in mapping
    ]
    if has_address:
        keep.append("address")
    if "commune_name" in mapping:
        keep.append("commune_name")
    if outlines is not None:
        keep.append("outline_geojson")
    # Object dtype keeps None (pandas' string dtype would turn it into NaN).
    table = pd.DataFrame(
        {name: pd.Series(columns[name], dtype=object) for name in keep}
    )
    if "logements" in table:
        table["logements"] = table["logements"].astype("int64")
    table["line"] = table["line"].astype("int64")
    table["latitude"] = table["latitude"].astype(float)
    table["longitude"] = table["longitude"].astype(float)
    residences = gpd.GeoDataFrame(
        table,
        geometry=gpd.points_from_xy(table["longitude"], table["latitude"]),
        crs=WGS84,
    )
    return PatrimoineData(residences=residences, rejected=rejected, line_kind=line_kind)


_LABELS = {
    "reference": "référence",
    "name": "nom",
    "address": "adresse",
    "commune_name": "nom de commune",
    "agence": "nom d'agence",
}


# --- QPV -------------------------------------------------------------------------


def load_qpv_layer(path: str | Path) -> gpd.GeoDataFrame:
    """Read a QPV layer; return its ``code_qp`` and polygons in WGS84.

    Parameters
    ----------
    path : str or Path
        Any vector file GDAL reads, with a CRS and a ``code_qp`` property (or
        ``code_qpv``, ``code_quartier``).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code_qp`` and ``geometry``, EPSG:4326.

    Raises
    ------
    PatrimoineFileError
        The layer is missing, unreadable, has no CRS or no code column.
    """
    path = Path(path)
    if not path.is_file():
        raise PatrimoineFileError(f"Couche des QPV introuvable : {path.name}.")
    source, _warnings = _dataset_path(path)
    try:
        layer = gpd.read_file(source)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as error:
        raise PatrimoineFileError(f"Couche des QPV illisible : {path.name}.") from error
    if layer.crs is None:
        raise PatrimoineFileError(
            f"La couche des QPV {path.name} n'indique pas son système de coordonnées."
        )
    codes = {
        normalise_column(c): c
        for c in layer.columns
        if normalise_column(c) in ("code_qp", "code_qpv", "code_quartier")
    }
    column = next(
        (codes[k] for k in ("code_qp", "code_qpv", "code_quartier") if k in codes),
        None,
    )
    if column is None:
        raise PatrimoineFileError(
            f"La couche des QPV {path.name} n'a pas de colonne code_qp."
        )
    layer = layer[[column, layer.geometry.name]].rename(columns={column: "code_qp"})
    layer = layer.set_geometry(layer.geometry.name).to_crs(WGS84)
    layer = layer[~(layer.geometry.is_empty | layer.geometry.isna())]
    layer["code_qp"] = [_text(v) for v in layer["code_qp"]]
    return layer


def assign_qpv(
    residences: gpd.GeoDataFrame, qpv: gpd.GeoDataFrame, generation: str
) -> gpd.GeoDataFrame:
    """Return ``residences`` with the QPV containing each point, by one spatial join.

    Parameters
    ----------
    residences : geopandas.GeoDataFrame
        Points, any CRS (reprojected to the QPV layer's for the join).
    qpv : geopandas.GeoDataFrame
        From :func:`load_qpv_layer`.
    generation : str
        QPV generation of the layer, e.g. "2015" or "2024".

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``qpv_code`` and ``qpv_generation`` (both None outside any QPV; the
        first polygon wins where two overlap).
    """
    result = residences.copy()
    if result.empty:
        result["qpv_code"] = pd.Series(dtype=object)
        result["qpv_generation"] = pd.Series(dtype=object)
        return result
    points = result[[result.geometry.name]].to_crs(qpv.crs)
    joined = gpd.sjoin(
        points, qpv[["code_qp", qpv.geometry.name]], how="left", predicate="within"
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    codes = joined["code_qp"].reindex(result.index)
    # Object dtype keeps None (pandas' string dtype would turn it into NaN).
    found = [c if isinstance(c, str) and c else None for c in codes]
    result["qpv_code"] = pd.Series(found, index=result.index, dtype=object)
    result["qpv_generation"] = pd.Series(
        [generation if code else None for code in found],
        index=result.index,
        dtype=object,
    )
    return result


def read_patrimoine_with_qpv(
    path: str | Path,
    *,
    qpv_path: str | Path | None,
    qpv_generation: str,
    layer: str | None = None,
) -> PatrimoineData:
    """Read a patrimoine file and fill each résidence's QPV from ``qpv_path``.

    Parameters
    ----------
    path : str or Path
        See :func:`read_patrimoine`.
    qpv_path : str or Path or None
        QPV layer; None leaves the QPV columns out (existing values are kept).
    qpv_generation : str
        Generation of that layer.
    layer : str, optional
        Layer of a multi-layer patrimoine file.

    Returns
    -------
    PatrimoineData
    """
    data = read_patrimoine(path, layer=layer)
    if qpv_path is not None:
        data.residences = assign_qpv(
            data.residences, load_qpv_layer(qpv_path), qpv_generation
        )
    return data
