"""Writing cells for spreadsheets: French CSV conventions and safe XLSX cells.

Shared by the exports of facts and the federation files; no Flask, no database.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

#: Byte order mark: French Excel reads a ``;`` CSV as UTF-8 only when it starts so.
BOM = "\ufeff"
DELIMITER = ";"
#: Rows per sheet in XLSX, header included.
XLSX_MAX_ROWS = 1_048_576

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = frozenset("=+-@\t\r")
# Characters XML 1.0 (hence XLSX) cannot hold.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


#: First characters that make a spreadsheet cell a formula.
FORMULA_START = _FORMULA_START


def neutralise(text: str) -> str:
    """Prefix text a spreadsheet would run as a formula with a quote (OWASP)."""
    return "'" + text if text[:1] in _FORMULA_START else text


def _float(value: float) -> str:
    return repr(value).replace(".", ",")


# One converter per Python type: a dict lookup is cheaper than a chain of isinstance
# on a million rows of twenty-odd cells.
_CSV_CONVERTERS = {
    str: neutralise,
    int: str,
    float: _float,
    bool: lambda value: "oui" if value else "non",
    datetime: lambda value: value.strftime("%Y-%m-%d %H:%M"),
    date: date.isoformat,
}


def csv_value(value: Any) -> str:
    """Return a cell of a French CSV: decimal comma, ISO dates, neutralised text."""
    if value is None:
        return ""
    convert = _CSV_CONVERTERS.get(type(value))
    return convert(value) if convert is not None else neutralise(str(value))


class CsvChunks:
    """Turn rows into encoded CSV chunks (``;``, UTF-8 with BOM) of bounded size."""

    def __init__(self, header: Sequence[str], *, bom: bool = True):
        self._buffer = io.StringIO()
        self._writer = csv.writer(
            self._buffer, delimiter=DELIMITER, lineterminator="\r\n"
        )
        if bom:
            self._buffer.write(BOM)
        self._writer.writerow(header)

    def add(self, values: Iterable[Any]) -> None:
        """Append one row of Python values."""
        self._writer.writerow([csv_value(v) for v in values])

    def add_ready(self, values: Sequence[Any]) -> None:
        """Append one row already converted (str, int or None only)."""
        self._writer.writerow(values)

    def take(self) -> bytes:
        """Return what was written since the last call, encoded in UTF-8."""
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8")


def iter_csv(
    header: Sequence[str], rows: Iterable[Iterable[Any]], *, ready: bool = False
) -> Iterator[bytes]:
    """Yield a French CSV chunk by chunk (about every thousand rows).

    ``ready`` rows hold only str, int and None (already converted by the caller):
    they go to the C csv writer as they are.
    """
    chunks = CsvChunks(header)
    add = chunks.add_ready if ready else chunks.add
    for index, row in enumerate(rows, 1):
        add(row)
        if index % 1000 == 0:
            yield chunks.take()
    yield chunks.take()


def xlsx_value(sheet, value: Any):
    """Return what to append for ``value`` so that text is never read as a formula."""
    if isinstance(value, str):
        value = _ILLEGAL_XML.sub("", value)
        if value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell
        return value
    if isinstance(value, bool):
        return "oui" if value else "non"
    return value


def write_xlsx(
    out: IO[bytes],
    sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]], dict]],
) -> None:
    """Write a workbook in openpyxl's write-only mode (constant memory) to ``out``.

    ``sheets`` yields (title, header, rows, options); options may give ``widths``
    (characters per column). A sheet with a header keeps it in view (frozen) and
    gets an autofilter over its columns and rows, as a spreadsheet user would set
    by hand. Raises ValueError past the XLSX row limit.
    """
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, header, rows, options in sheets:
        sheet = workbook.create_sheet(title)
        for index, width in enumerate(options.get("widths", ()), 1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        if header:
            sheet.freeze_panes = "A2"
            cells = []
            for name in header:
                cell = WriteOnlyCell(sheet, value=name)
                cell.font = bold
                cells.append(cell)
            sheet.append(cells)
        last = 1
        for last, row in enumerate(rows, 2):
            if last > XLSX_MAX_ROWS:
                raise ValueError("XLSX row limit reached")
            sheet.append([xlsx_value(sheet, v) for v in row])
        if header:
            add_autofilter(sheet, len(header), last)
    workbook.save(out)


def add_autofilter(sheet, columns: int, last_row: int) -> None:
    """Put an autofilter on the first ``columns`` columns, header row 1 to
    ``last_row`` (a write-only sheet writes it when the workbook is saved)."""
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(columns, 1))}{last_row}"
