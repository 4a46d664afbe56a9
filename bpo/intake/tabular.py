"""Reading a spreadsheet file, CSV or XLSX, as a header and numbered rows of cells.

Row numbers are those a person sees when they open the file in a spreadsheet program: the
header is row 1, the first data row is row 2 (a CSV record spread over several lines by a quoted
line break still counts as one row). Columns are named by their header and their letter, as in
"Priority (C)". Every problem raises TableError with a message that says where it is.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

# Encodings a user may choose for a CSV file, with the names people know them by.
ENCODINGS = {
    "utf-8": "UTF-8 (also with a byte-order mark)",
    "utf-16": "UTF-16 (with a byte-order mark)",
    "cp1252": "Windows-1252 (Western European Excel)",
    "iso-8859-1": "ISO-8859-1 (Latin-1)",
    "iso-8859-15": "ISO-8859-15 (Latin-9)",
    "cp1250": "Windows-1250 (Central European Excel)",
    "mac_roman": "Mac OS Roman",
}
DELIMITERS = ",;\t|"
MAX_COLUMNS = 200
MAX_CELL_CHARS = 100_000
CSV_SAMPLE_BYTES = 64 * 1024


class TableError(ValueError):
    """The file cannot be read as a table; the message says why and where."""


def column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def kind_of(filename: str, head: bytes) -> str:
    """'xlsx' or 'csv', from the file's first bytes (an XLSX file is a ZIP archive) and name."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise TableError(f"{filename} is named like an Excel workbook but is not one (not a ZIP).")
    if filename.lower().endswith(".xls"):
        raise TableError(
            f"{filename} is an old Excel 97–2003 workbook: save it as .xlsx or .csv and try again."
        )
    return "csv"


@dataclass(frozen=True)
class Table:
    """A readable file: its kind, the header's cells, and how to read its rows."""

    path: Path
    kind: str
    headers: list[str]
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str = ""

    def column(self, index: int) -> str:
        """How an error names a column: its header and its letter."""
        header = self.headers[index] if index < len(self.headers) else ""
        letter = column_letter(index)
        return f"{header} ({letter})" if header else f"column {letter}"

    def rows(self, skip: int = 0) -> Iterator[tuple[int, list[Any]]]:
        """(row number, cells) of each data row after the first ``skip`` ones, blank rows
        included (as empty lists of cells) so that counting them resumes at the same place."""
        reader = self._xlsx_rows() if self.kind == "xlsx" else self._csv_rows()
        for position, (number, cells) in enumerate(reader):
            if position >= skip:
                yield number, cells

    def _csv_rows(self) -> Iterator[tuple[int, list[Any]]]:
        text = io.StringIO(_decoded(self.path, self.encoding), newline="")
        reader = csv.reader(text, delimiter=self.delimiter, strict=True)
        number = 0
        try:
            for number, record in enumerate(reader, start=1):
                if number == 1:
                    continue  # the header
                yield number, _checked(record, number)
        except csv.Error as exc:
            raise TableError(f"Row {number + 1}: the CSV is malformed ({exc}).") from None

    def _xlsx_rows(self) -> Iterator[tuple[int, list[Any]]]:
        workbook = _open_workbook(self.path)
        try:
            sheet = workbook[self.sheet] if self.sheet else workbook.worksheets[0]
            for number, record in enumerate(sheet.iter_rows(values_only=True), start=1):
                if number == 1:
                    continue
                yield number, _checked([_xlsx_value(v) for v in record], number)
        finally:
            workbook.close()


def open_table(path: Path, *, filename: str, encoding: str = "") -> Table:
    """Open a stored upload: find its kind, encoding (CSV) and delimiter, and read its header.
    An empty ``encoding`` means UTF-8, or UTF-16 when the file starts with its byte-order mark."""
    with path.open("rb") as raw:
        head = raw.read(CSV_SAMPLE_BYTES)
    if not head.strip():
        raise TableError("The file is empty.")
    kind = kind_of(filename, head)
    if kind == "xlsx":
        workbook = _open_workbook(path)
        try:
            sheet = workbook.worksheets[0]
            first = next(sheet.iter_rows(values_only=True, max_row=1), ())
            name = sheet.title
        finally:
            workbook.close()
        return Table(path, "xlsx", _headers([_xlsx_value(v) for v in first]), sheet=name)
    if not encoding:
        encoding = "utf-16" if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else ""
        encoding = encoding or "utf-8"
    if encoding not in ENCODINGS:
        raise TableError(f"{encoding!r} is not an encoding OpenBPO reads: {', '.join(ENCODINGS)}.")
    sample = _decoded(path, encoding)[: CSV_SAMPLE_BYTES // 2]
    if "\x00" in sample:
        raise TableError(
            "The file holds NUL bytes: it is not a text CSV file (or its encoding is UTF-16 "
            "without a byte-order mark)."
        )
    delimiter = _delimiter(sample)
    first_line = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    return Table(path, "csv", _headers(first_line), encoding=encoding, delimiter=delimiter)


def _headers(cells: list[Any]) -> list[str]:
    headers = [str(c).strip() if c is not None else "" for c in cells]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise TableError("Row 1 should name the columns, and it is empty.")
    if len(headers) > MAX_COLUMNS:
        raise TableError(f"Row 1 names {len(headers)} columns; at most {MAX_COLUMNS} are read.")
    seen: dict[str, int] = {}
    for index, header in enumerate(headers):
        if header and header.lower() in seen:
            first = column_letter(seen[header.lower()])
            raise TableError(
                f"Row 1: the header {header!r} appears twice (columns {first} and "
                f"{column_letter(index)}); give each column its own name."
            )
        seen[header.lower()] = index
    return headers


def _delimiter(sample: str) -> str:
    """The delimiter of a CSV sample: the candidate that splits the header line into the most
    columns and every following line of the sample into as many (Excel writes ';' where the
    decimal mark is ',')."""
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    best, best_columns = ",", 1
    for candidate in DELIMITERS:
        counts = [
            len(r)
            for r in csv.reader(io.StringIO("\n".join(lines[:-1] or lines)), delimiter=candidate)
        ]
        if counts and counts[0] > best_columns and all(c == counts[0] for c in counts):
            best, best_columns = candidate, counts[0]
    return best


def _checked(cells: list[Any], number: int) -> list[Any]:
    for index, cell in enumerate(cells):
        if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
            raise TableError(
                f"Row {number}, column {column_letter(index)}: a cell of {len(cell):,} characters; "
                f"at most {MAX_CELL_CHARS:,} are taken."
            )
    while cells and cells[-1] in (None, ""):
        cells.pop()
    return cells


def _xlsx_value(value: Any) -> Any:
    """A cell as the import reads it: text, a number, a date or a time of day, True/False."""
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date()
    return value


def _open_workbook(path: Path) -> Any:
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise TableError(f"The workbook cannot be read: {exc}.") from None


def _decoded(path: Path, encoding: str) -> str:
    """The whole file as text (a byte-order mark dropped); a byte the encoding cannot read is
    an error naming its line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1 if encoding != "utf-16" else None
        where = f"Line {line}" if line else "The file"
        byte = data[exc.start : exc.start + 1].hex()
        raise TableError(
            f"{where} is not {ENCODINGS.get(encoding, encoding)}: byte 0x{byte} cannot be read. "
            "Choose the file's encoding (a file saved by Excel on Windows is usually "
            "Windows-1252) or save it as UTF-8."
        ) from None


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a needless '.0', dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    return str(value).strip()
