"""Reading a patrimoine file of delimited text: encoding, separator, records."""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from orfi.geo.patrimoine_columns import (
    PatrimoineFileError,
    match_columns,
    require_columns,
    unused_warning,
)
from orfi.geo.patrimoine_limits import ImportLimits
from orfi.geo.patrimoine_rows import PatrimoineData, RejectedRow, normalise_rows

logger = logging.getLogger(__name__)


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


def read_csv_records(
    path: Path, limits: ImportLimits | None = None
) -> tuple[list[list[str]], str, str]:
    """Return a delimited text file's records (header first), separator and encoding.

    Raises
    ------
    PatrimoineFileError
        Unreadable quoting, too many rows, or no header.
    """
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
        records = (limits or ImportLimits()).count_rows(reader)
    except csv.Error as error:
        raise PatrimoineFileError(
            f"Fichier CSV illisible ({error}). Vérifiez les guillemets."
        ) from error
    if not records or not any(cell.strip() for cell in records[0]):
        raise PatrimoineFileError("Le fichier est vide : aucune ligne d'en-tête.")
    return records, delimiter, encoding


def read_csv_file(
    path: Path,
    limits: ImportLimits | None = None,
    chosen: Mapping[str, str] | None = None,
) -> PatrimoineData:
    """Read a delimited text file: see :func:`~.patrimoine_io.read_patrimoine`."""
    records, delimiter, encoding = read_csv_records(path, limits)
    header = [cell.strip() for cell in records[0]]
    width = len(header)
    rows, line_numbers, rejected = _split_records(records, width, delimiter)
    frame = pd.DataFrame(rows, columns=range(width), dtype=object)
    mapping, unused = match_columns(header, chosen)
    mapping = {name: header.index(column) for name, column in mapping.items()}
    require_columns(mapping, header, vector=False)

    description = (
        f"CSV, séparateur « {_show(delimiter)} », encodage {encoding}"
        if rows or rejected
        else f"CSV, encodage {encoding}"
    )
    data = normalise_rows(
        frame,
        mapping,
        line_numbers=np.asarray(line_numbers, dtype=int),
        geometry=None,
        line_kind="line",
    )
    data.rejected = sorted(rejected + data.rejected, key=lambda r: r.line)
    data.total = len(rows) + len(rejected)
    data.description = description
    data.warnings = unused_warning(unused)
    return data


def _split_records(
    records: list[list[str]], width: int, delimiter: str
) -> tuple[list[list[str]], list[int], list[RejectedRow]]:
    """Return the data rows padded to ``width``, their line numbers, and rows too wide.

    Blank rows are skipped; a row with values beyond the header's width is rejected.
    """
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

    return rows, line_numbers, rejected


def _show(delimiter: str) -> str:
    return "tabulation" if delimiter == "\t" else delimiter
