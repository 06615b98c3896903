"""The columns and cells of a patrimoine file: names matched to fields, cells read."""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

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


#: The fields a person may map to a column by hand (``--column champ=COLONNE``, the
#: web page's mapping step), by the French name they use, to the field each one feeds.
MAPPABLE_FIELDS: dict[str, str] = {
    "reference": "reference",
    "nom": "name",
    "adresse": "address",
    "code_insee": "commune_insee",
    "commune": "commune_name",
    "logements": "logements",
    "agence": "agence",
    "latitude": "latitude",
    "longitude": "longitude",
    "x_l93": "x_l93",
    "y_l93": "y_l93",
}
#: The fields a vector file's geometry replaces.
COORDINATE_FIELDS = ("latitude", "longitude", "x_l93", "y_l93")


class PatrimoineFileError(ValueError):
    """Raised when a patrimoine or QPV file cannot be read at all (French message)."""


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


def parse_column_choices(options: Iterable[str]) -> dict[str, str]:
    """Read ``champ=COLONNE`` options into {champ: column}; an empty column means none.

    Raises
    ------
    PatrimoineFileError
        An option without ``=``, or a champ that is not in :data:`MAPPABLE_FIELDS`.
    """
    chosen: dict[str, str] = {}
    for option in options:
        champ, sign, column = option.partition("=")
        champ = champ.strip().lower()
        if not sign:
            raise PatrimoineFileError(
                f"« {option} » : écrivez champ=COLONNE (ex. nom=LIBELLE)."
            )
        if champ not in MAPPABLE_FIELDS:
            raise PatrimoineFileError(
                f"champ « {champ} » inconnu (--column {option}) ; champs possibles : "
                + ", ".join(MAPPABLE_FIELDS)
                + "."
            )
        chosen[champ] = column.strip()
    return chosen


def guess_columns(columns: Sequence[object]) -> dict[str, object]:
    """Return the column each field is guessed to come from, by its name.

    Parameters
    ----------
    columns : sequence
        Column names as read from the file.

    Returns
    -------
    dict
        Field name → source column. When several columns fit one field, the one
        whose name comes first in :data:`COLUMN_ALIASES` wins.
    """
    best: dict[str, tuple[int, object]] = {}
    for column in columns:
        found = _ALIASES.get(normalise_column(column))
        if found is None:
            continue
        name, rank = found
        if name not in best or rank < best[name][0]:
            best[name] = (rank, column)
    return {name: column for name, (_rank, column) in best.items()}


def _find_column(columns: Sequence[object], wanted: str, champ: str) -> object:
    """Return the file's column named ``wanted`` (exactly, else ignoring case and
    accents), or raise PatrimoineFileError naming the file's columns."""
    for column in columns:
        if str(column) == wanted:
            return column
    for column in columns:
        if normalise_column(column) == normalise_column(wanted):
            return column
    names = [str(c)[:40] for c in columns if str(c).strip() and c != "geometry"]
    raise PatrimoineFileError(
        f"Colonne « {wanted} » (champ {champ}) introuvable dans le fichier. "
        f"Colonnes lues : {', '.join(names) or 'aucune'}."
    )


def _with_choices(
    mapping: dict[str, object],
    columns: Sequence[object],
    chosen: Mapping[str, str],
) -> dict[str, object]:
    """Return ``mapping`` where a person's choices replace the guesses.

    A chosen column no longer feeds the field it was guessed for; an empty choice
    leaves the field out (an RPLS file's address parts still make its address).
    """
    mapping = dict(mapping)
    for champ, wanted in chosen.items():
        name = MAPPABLE_FIELDS[champ]
        mapping.pop(name, None)
        if not wanted:
            continue
        column = _find_column(columns, wanted, champ)
        for other in [k for k, v in mapping.items() if v == column]:
            del mapping[other]
        mapping[name] = column
    return mapping


def match_columns(
    columns: Sequence[object], chosen: Mapping[str, str] | None = None
) -> tuple[dict[str, object], list[str]]:
    """Return which source column feeds each field, and the columns left unused.

    Parameters
    ----------
    columns : sequence
        Column names as read from the file.
    chosen : mapping, optional
        {champ: column} chosen by a person (champ in :data:`MAPPABLE_FIELDS`; an
        empty column: none). They win over the guesses of :func:`guess_columns`.

    Returns
    -------
    tuple of (dict, list)
        Field name → source column; source columns matching no field (or losing to a
        better-ranked alias).

    Raises
    ------
    PatrimoineFileError
        A chosen column is not in the file.
    """
    mapping = guess_columns(columns)
    if chosen:
        mapping = _with_choices(mapping, columns, chosen)
    used = set(mapping.values())
    unused = [
        str(c) for c in columns if c not in used and c != "geometry" and str(c).strip()
    ]
    return mapping, unused


def missing_champs(selected: Mapping[str, str], *, vector: bool) -> list[str]:
    """Return the required champs that ``selected`` ({champ: column}) leaves empty.

    A position needs latitude and longitude, or X and Y in Lambert-93; a missing one
    is reported as ``latitude``. A vector file's geometry gives its positions.
    """
    missing = [champ for champ in ("reference", "nom") if not selected.get(champ)]
    if not vector:
        wgs84 = selected.get("latitude") and selected.get("longitude")
        l93 = selected.get("x_l93") and selected.get("y_l93")
        if not (wgs84 or l93):
            missing.append("latitude")
    return missing


def require_columns(mapping: dict, header: list, *, vector: bool) -> None:
    """Raise PatrimoineFileError, listing the columns read, if a field is missing."""
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


def unused_warning(unused: list[str]) -> list[str]:
    """Return the warning naming the columns ignored (none if all are used)."""
    if not unused:
        return []
    return ["Colonnes ignorées : " + ", ".join(unused) + "."]


def cell_text(value: object) -> str:
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
        return cell_text(float(value))
    if value is pd.NA or value is pd.NaT:
        return ""
    return " ".join(str(value).split())


def column_values(frame: pd.DataFrame, mapping: dict, name: str) -> list[str]:
    """Return the cells of field ``name`` as text (blanks when the file lacks it)."""
    if name not in mapping:
        return [""] * len(frame)
    return [cell_text(v) for v in frame[mapping[name]].tolist()]


def parse_number(text: str) -> float | None:
    """Parse a decimal written the French or the English way; None if not a number."""
    cleaned = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    cleaned = cleaned.replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        return None
