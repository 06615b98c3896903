"""Reading a patrimoine vector file (GeoJSON, GeoPackage, shapefile, zipped or not)."""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from orfi.geo.patrimoine_columns import (
    COORDINATE_FIELDS,
    PatrimoineFileError,
    match_columns,
    require_columns,
    unused_warning,
)
from orfi.geo.patrimoine_coordinates import WGS84
from orfi.geo.patrimoine_limits import ImportLimits
from orfi.geo.patrimoine_rows import PatrimoineData, normalise_rows

logger = logging.getLogger(__name__)

#: Members of a zip archive that can hold a layer, by preference.
_ZIP_LAYER_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json")


def dataset_path(path: Path) -> tuple[str, list[str]]:
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


def read_vector_frame(
    path: Path,
    layer: str | None,
    limits: ImportLimits | None = None,
    rows: int | None = None,
) -> tuple[gpd.GeoDataFrame, str, list[str]]:
    """Open a vector file's layer: return its features (the first ``rows`` only if
    given), the path GDAL read and warnings (other layers, other archive members)."""
    source, warnings = dataset_path(path)
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
        (limits or ImportLimits()).check_vector(path, source, layer)
        frame = gpd.read_file(source, layer=layer, rows=rows)
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
    return frame, source, warnings


def read_vector_file(
    path: Path,
    layer: str | None,
    limits: ImportLimits | None = None,
    chosen: Mapping[str, str] | None = None,
) -> PatrimoineData:
    """Read a vector file: see :func:`~.patrimoine_io.read_patrimoine`."""
    frame, source, warnings = read_vector_frame(path, layer, limits)
    if frame.crs is None:
        raise PatrimoineFileError(
            f"{path.name} n'indique pas son système de coordonnées (fichier .prj "
            "absent ?). Ajoutez-le, ou exportez le fichier en WGS84 (EPSG:4326) ou en "
            "Lambert-93 (EPSG:2154)."
        )
    crs_name = frame.crs.to_string()
    attribute_names = [c for c in frame.columns if c != frame.geometry.name]
    mapping, unused = match_columns(
        attribute_names,
        {k: v for k, v in (chosen or {}).items() if k not in COORDINATE_FIELDS},
    )
    require_columns(mapping, attribute_names, vector=True)

    geometry = frame.geometry.to_crs(WGS84)
    attributes = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    attributes.index = range(len(attributes))
    data = normalise_rows(
        attributes,
        mapping,
        line_numbers=np.arange(1, len(frame) + 1),
        geometry=geometry.to_numpy(),
        line_kind="feature",
    )
    data.total = len(frame)
    data.description = f"{_format_name(source)}, système de coordonnées {crs_name}"
    data.warnings = warnings + unused_warning(unused)
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
