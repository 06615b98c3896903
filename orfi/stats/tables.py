"""Tables of the statistics page: one structure for the HTML table and its CSV."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from orfi.exports.spreadsheet import neutralise


@dataclass
class Table:
    """A titled table whose columns have a stable key (CSV header) and a label."""

    slug: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict] = field(default_factory=list)
    note: str = ""

    def csv_chunks(self) -> Iterator[str]:
        """Yield the table as CSV for French spreadsheets: BOM, ``;``, decimal comma."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        buffer.write("\ufeff")
        writer.writerow([key for key, _label in self.columns])
        for row in self.rows:
            writer.writerow([_csv_value(row.get(key)) for key, _label in self.columns])
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, str):
        return neutralise(value)  # a name starting with "=" must not run
    return str(value)
