"""Statements and ledgers as spreadsheets (CSV or XLSX), read through a column mapping.

A mapping (``MappingSpec``, saved as ``models.ColumnMapping``) says which header holds which
field, how dates are written (a strftime pattern, empty for ISO ``2026-10-31``) and whether the
decimal mark is a comma (``1.234,56``). The file itself is read by ``bpo.intake.tabular``, which
names rows as a spreadsheet program does (the header is row 1) and columns by header and letter.
An empty encoding means: UTF-8 (or UTF-16 with its byte-order mark), else Windows-1252, which
is what German and Dutch banks and Excel write.

Signs: an ``amount`` column is signed, money in positive. ``debit`` and ``credit`` columns hold
the two directions separately, and ``debit_credit`` gives the direction of an unsigned amount.
Their meaning follows the side the file is written from, so it differs between the two kinds:

* on a **bank** statement, debit (Soll, Belastung, S, D) is money *out* of the account and
  credit (Haben, Gutschrift, H, C) money *in*, as the bank books it;
* in the client's **ledger** the bank account is an asset, so debit (Soll, S) is money *in*
  and credit (Haben, H) money *out*, as on the bank account's ledger page.

"+"/"-", "in"/"out", Einnahme/Ausgabe and the Dutch Bij/Af mean the same on both.

A text field (reference, counterparty, description) may be spread over several columns, as
German banks write Verwendungszweck 1, Verwendungszweck 2, …: the mapping names them joined by
`` + `` (``Verwendungszweck 1 + Verwendungszweck 2``) and the row's texts are joined with a
space, empty cells left out.

A bank statement file is one statement from its first to its last booking date. With a
``balance`` column (the balance after each booking) its rows are checked to follow on from one
another, their order (oldest or newest first) is found from those balances (else from the
dates), and the opening balance is the first balance less its amount; without one, both
balances are None and the importer carries them on from the previous statement.
"""

from __future__ import annotations

import csv
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from bpo.finance.parsers.common import (
    BANK_REFERENCE_CHARS,
    ID_CHARS,
    NAME_CHARS,
    REFERENCE_CHARS,
    Notes,
    ParsedEntry,
    ParsedLine,
    ParsedStatement,
    ParseError,
    account_of,
    check_account_currency,
    check_balances,
    check_currency,
    checked_amount,
)
from bpo.intake.tabular import ENCODINGS, Table, TableError, cell_text, open_table

BANK_FIELDS: dict[str, str] = {
    "booking_date": "Booking date (required)",
    "value_date": "Value date (Valuta, Wertstellung)",
    "amount": "Amount, money in positive and money out negative (required, unless Debit and "
    "Credit are mapped)",
    "debit": "Money out of the account (Soll, Belastung), when the file has a column for each "
    "direction",
    "credit": "Money into the account (Haben, Gutschrift), when the file has a column for each "
    "direction",
    "debit_credit": "Whether an unsigned amount is out or in: S/H, D/C, Soll/Haben, Af/Bij, -/+",
    "currency": "Currency code; without it every amount is in the account's currency",
    "reference": "Remittance information (Verwendungszweck, Omschrijving)",
    "counterparty_name": "Payer or payee (Auftraggeber, Begünstigter, Naam tegenpartij)",
    "counterparty_iban": "Payer's or payee's IBAN",
    "bank_reference": "The bank's reference of the booking",
    "description": "Booking text (Buchungstext) and other details",
    "balance": "Balance after the booking (Saldo nach Buchung)",
    "account": "The statement's own account (Auftragskonto); the same on every row",
}
LEDGER_FIELDS: dict[str, str] = {
    "entry_date": "Entry date (required)",
    "amount": "Amount, money into the bank account positive, money out negative (required, "
    "unless Debit and Credit are mapped)",
    "debit": "Money into the bank account (Soll, Einnahme), when the export has a column for "
    "each direction",
    "credit": "Money out of the bank account (Haben, Ausgabe), when the export has a column for "
    "each direction",
    "debit_credit": "Whether an unsigned amount is in (S, D, +) or out (H, C, -)",
    "currency": "Currency code; without it every amount is in the account's currency",
    "external_id": "The ledger's own id of the entry (Buchungs-ID); unique, so an export that "
    "overlaps an earlier one adds only what is new",
    "document_number": "Document or invoice number (Belegnummer)",
    "reference": "Payment reference the bank will show (Verwendungszweck)",
    "counterparty_name": "Customer or supplier (Geschäftspartner)",
    "counterparty_iban": "Customer's or supplier's IBAN",
    "description": "Booking text (Buchungstext)",
}
# Required fields; "amount" is also satisfied by "debit" and "credit" together.
REQUIRED_BANK: tuple[str, ...] = ("booking_date", "amount")
REQUIRED_LEDGER: tuple[str, ...] = ("entry_date", "amount")
SPLIT_AMOUNT = ("debit", "credit")
KINDS = ("bank", "ledger")
SAMPLE_DATE = date(2026, 12, 31)
MIN_YEAR, MAX_YEAR = 1900, 2199


@dataclass(frozen=True)
class MappingSpec:
    """How to read one kind of export (mirrors models.ColumnMapping): field → header in the
    file, the date format (strftime, "" for ISO YYYY-MM-DD), a decimal comma, the encoding
    ("" to detect)."""

    columns: dict[str, str]
    date_format: str = ""
    decimal_comma: bool = False
    encoding: str = ""


def fields_of(kind: str) -> dict[str, str]:
    """The fields of a mapping of ``kind`` ("bank" or "ledger") with their descriptions."""
    if kind not in KINDS:
        raise ValueError(f"{kind!r} is not a kind of mapping: bank or ledger.")
    return BANK_FIELDS if kind == "bank" else LEDGER_FIELDS


# How messages name the fields.
LABELS = {
    "booking_date": "Booking date",
    "value_date": "Value date",
    "entry_date": "Entry date",
    "amount": "Amount",
    "debit": "Debit",
    "credit": "Credit",
    "debit_credit": "Debit/credit indicator",
    "currency": "Currency",
    "external_id": "Entry id",
    "document_number": "Document number",
    "reference": "Reference",
    "counterparty_name": "Counterparty",
    "counterparty_iban": "Counterparty IBAN",
    "bank_reference": "Bank reference",
    "description": "Description",
    "balance": "Balance",
    "account": "Account",
}


# Several columns of one field are named joined by this; only text fields may have several.
JOIN = " + "
JOINABLE = ("reference", "counterparty_name", "description")


def headers_of(value: str, headers: list[str] | None = None) -> list[str]:
    """The header (or headers, joined by `` + ``) a mapping names for a field, each once. With
    the file's ``headers``, a value that is itself one of them (``Soll + Haben``) is that one."""
    value = value.strip()
    if headers is not None and value.lower() in {h.strip().lower() for h in headers if h}:
        return [value]
    parts = [part.strip() for part in value.split(JOIN) if part.strip()]
    return list(dict.fromkeys(parts))


def mapping_problems(spec: MappingSpec, kind: str, headers: list[str] | None = None) -> list[str]:
    """What is wrong with a mapping of ``kind`` ("bank" or "ledger"), for the file with
    ``headers`` when given: unknown fields, missing required ones, headers not in the file,
    a date format that does not read back, an encoding OpenBPO does not read."""
    if kind not in KINDS:
        return [f"{kind!r} is not a kind of mapping: bank or ledger."]
    known = fields_of(kind)
    columns = {f: h.strip() for f, h in spec.columns.items() if isinstance(h, str) and h.strip()}
    problems = [
        f"{name!r} is not a field of a {kind} mapping; the fields are {', '.join(known)}."
        for name in columns
        if name not in known
    ]
    joinable = ", ".join(LABELS[name] for name in JOINABLE)
    problems += [
        f"{LABELS[name]}: only a text field ({joinable}) can join several columns with "
        f"{JOIN.strip()!r}; this one reads one column."
        for name, header in columns.items()
        if name in known and name not in JOINABLE and len(headers_of(header, headers)) > 1
    ]
    required = REQUIRED_BANK if kind == "bank" else REQUIRED_LEDGER
    for name in required:
        if name == "amount":
            split = [f for f in SPLIT_AMOUNT if f in columns]
            if "amount" in columns and split:
                problems.append("Map either Amount or Debit and Credit, not both.")
            elif "amount" not in columns and len(split) == 1:
                other = next(f for f in SPLIT_AMOUNT if f not in columns)
                problems.append(
                    f"{LABELS[split[0]]} is mapped but {LABELS[other]} is not: map "
                    "both, or Amount instead."
                )
            elif "amount" not in columns and not split:
                problems.append("Map a column to Amount, or one to Debit and one to Credit.")
        elif name not in columns:
            problems.append(f"Map a column to {LABELS[name]}: it is required.")
    if "debit_credit" in columns and "amount" not in columns:
        problems.append("The debit/credit indicator only goes with an Amount column.")
    if spec.date_format:
        try:
            readable = (
                datetime.strptime(SAMPLE_DATE.strftime(spec.date_format), spec.date_format).date()
                == SAMPLE_DATE
            )
        except ValueError:
            readable = False
        if not readable:
            problems.append(
                f"The date format {spec.date_format!r} does not read back the date it writes: "
                "use strftime codes for day, month and year, such as %d.%m.%Y."
            )
    if spec.encoding and spec.encoding not in ENCODINGS:
        problems.append(
            f"{spec.encoding!r} is not an encoding OpenBPO reads: {', '.join(ENCODINGS)}."
        )
    if headers is not None:
        present = {h.strip().lower() for h in headers if h}
        for name, value in columns.items():
            for header in headers_of(value, headers) if name in known else ():
                if header.lower() not in present:
                    listed = ", ".join(repr(h) for h in headers[:30] if h)
                    problems.append(
                        f"{LABELS[name]}: the file has no column {header!r}; its columns are "
                        f"{listed}."
                    )
    return problems


def text_date(text: str, pattern: str) -> date:
    """``text`` read with ``pattern`` ("" is ISO, a time of day allowed); ValueError if not."""
    if not pattern:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?", text):
            raise ValueError(text)
        return date.fromisoformat(text[:10])
    return datetime.strptime(text, pattern).date()


def read_date(value: Any, pattern: str, where: str) -> date:
    """A date cell, written as ``pattern`` says (ISO when empty) or a date in an XLSX cell."""
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        raise ParseError(
            f"{where}: {cell_text(value)} is a number, not a date; format the column as dates."
        )
    else:
        text = cell_text(value)
        if not text:
            raise ParseError(f"{where}: the date is missing.")
        try:
            day = text_date(text, pattern)
        except ValueError:
            example = SAMPLE_DATE.strftime(pattern) if pattern else "2026-12-31"
            hint = (
                ""
                if pattern
                else "; if the file writes dates otherwise, set the mapping's date format"
            )
            raise ParseError(
                f"{where}: {text!r} is not a date written like {example} "
                f"({pattern or 'YYYY-MM-DD'}){hint}."
            ) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ParseError(f"{where}: the year {day.year} cannot be right.")
    return day


_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY"}
_MARKED = re.compile(r"^(?P<pre>[A-Z]{3}|[€$£¥])?\s*(?P<number>.*?)\s*(?P<post>[A-Z]{3}|[€$£¥])?$")
_COMMA_NUMBER = re.compile(r"^(?P<whole>\d{1,3}(?:\.\d{3})+|\d+)(?:,(?P<fraction>\d+))?$")
_POINT_NUMBER = re.compile(r"^(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?$")


def parse_amount(text: str, *, decimal_comma: bool, currency: str = "") -> Decimal:
    """An amount written as text: ``1.234,56`` with a decimal comma, else ``1,234.56``; a sign
    in front ("-", "+", "−") or behind ("1.234,56-"), or parentheses, make it negative; spaces
    and apostrophes between digits are ignored; a currency symbol or code is allowed when it is
    ``currency``. ValueError saying what is wrong if the text is not such an amount."""
    raw = text
    text = re.sub(r"[\s\u00a0\u202f'’]", "", text or "")
    marks = _MARKED.match(text)
    assert marks is not None  # every text matches: all its parts are optional
    for mark in (marks["pre"], marks["post"]):
        if mark:
            code = _SYMBOLS.get(mark, mark)
            if code != currency:
                raise ValueError(
                    f"{raw.strip()!r} is in {code}, but the account is kept in {currency}"
                    if currency
                    else f"{raw.strip()!r} has a currency sign in it"
                )
    text = marks["number"].replace("−", "-")
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    if text[:1] in "+-" and text:
        negative, text = negative or text[0] == "-", text[1:]
    elif text.endswith(("-", "+")):
        negative, text = negative or text[-1] == "-", text[:-1]
    if not text:
        raise ValueError(f"{raw.strip()!r} is not an amount")
    number = (_COMMA_NUMBER if decimal_comma else _POINT_NUMBER).match(text)
    if number is None:
        example = "1.234,56" if decimal_comma else "1,234.56"
        other = (_POINT_NUMBER if decimal_comma else _COMMA_NUMBER).match(text)
        hint = ""
        if other is not None and other["fraction"] is not None:
            hint = (
                " (the mapping says the decimal mark is a comma)"
                if decimal_comma
                else " (is the decimal mark a comma? Say so in the mapping)"
            )
        raise ValueError(f"{raw.strip()!r} is not an amount written like {example}{hint}")
    whole = number["whole"].replace("." if decimal_comma else ",", "")
    value = Decimal(f"{whole}.{number['fraction'] or '0'}")
    return -value if negative else value


def _float_amount(value: float) -> Decimal:
    """A number from a spreadsheet cell as the amount it shows. Spreadsheets keep binary
    fractions (0.1 + 0.2 is 0.30000000000000004), and no bank books less than a hundredth of a
    cent, so digits beyond the fourth decimal place are the float's, not the amount's."""
    amount = Decimal(repr(value))
    if not amount.is_finite() or abs(amount) >= 10**14:
        return amount  # checked_amount says what is wrong with it
    amount = amount.quantize(Decimal("0.0001"))
    cents = amount.quantize(Decimal("0.01"))
    return cents if cents == amount else amount.normalize()


def read_amount(value: Any, *, decimal_comma: bool, currency: str, where: str) -> Decimal:
    """An amount cell: a number in an XLSX cell, or text read with ``parse_amount``."""
    if isinstance(value, bool):
        raise ParseError(f"{where}: {cell_text(value)} is not an amount.")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = _float_amount(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, (date, datetime)):
        raise ParseError(f"{where}: {cell_text(value)} is a date, not an amount.")
    else:
        try:
            amount = parse_amount(cell_text(value), decimal_comma=decimal_comma, currency=currency)
        except (ValueError, InvalidOperation) as exc:
            raise ParseError(f"{where}: {exc}.") from None
    return checked_amount(amount, where)


_WORDS_OUT = {"-", "out", "af", "ausgabe", "ausgang", "belastung", "lastschrift", "abgang"}
# Marks whose meaning is the side of the file: on a bank statement S/D are money out, in a
# ledger (the bank account's own page, an asset) they are money in.
_DEBIT_MARKS = {"s", "soll", "d", "dr", "db", "dbit", "debit", "debet"}
_CREDIT_MARKS = {"h", "haben", "c", "cr", "crdt", "credit"}
_WORDS_IN = {"+", "in", "bij", "einnahme", "eingang", "gutschrift", "zugang"}


def _direction(text: str, kind: str, where: str) -> int:
    """+1 for money in, -1 for money out, from a debit/credit indicator."""
    mark = text.strip().lower().rstrip(".")
    if mark in _WORDS_IN:
        return 1
    if mark in _WORDS_OUT:
        return -1
    if mark in _DEBIT_MARKS:
        return 1 if kind == "ledger" else -1
    if mark in _CREDIT_MARKS:
        return -1 if kind == "ledger" else 1
    raise ParseError(
        f"{where}: {text.strip()!r} does not say whether the money is in or out; the indicator "
        "is read as S or H, D or C, Soll or Haben, + or -, Bij or Af."
    )


@dataclass
class _Reader:
    """A table with its mapping resolved: which column holds which field."""

    table: Table
    spec: MappingSpec
    kind: str
    currency: str
    index: dict[str, int] = field(default_factory=dict)
    # The further columns of a text field spread over several (after its first, in ``index``).
    more: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = mapping_problems(self.spec, self.kind, self.table.headers)
        if problems:
            raise ParseError("The column mapping does not fit this file: " + " ".join(problems))
        lowered = [h.strip().lower() for h in self.table.headers]
        for name, value in self.spec.columns.items():
            if isinstance(value, str) and value.strip():
                named = headers_of(value, self.table.headers)
                first, *more = (lowered.index(h.lower()) for h in named)
                self.index[name] = first
                if more:
                    self.more[name] = more

    def where(self, row: int, name: str) -> str:
        """How an error names the cell of field ``name`` on ``row``."""
        return f"row {row}, column {self.table.column(self.index[name])}"

    def raw(self, cells: list[Any], name: str) -> Any:
        """The cell of field ``name``, None when the field is not mapped or the row short."""
        index = self.index.get(name)
        if index is None or index >= len(cells):
            return None
        return cells[index]

    def where_or_row(self, row: int, name: str) -> str:
        """The cell of field ``name`` when it is mapped, else the row."""
        return self.where(row, name) if name in self.index else f"row {row}"

    def text(self, cells: list[Any], name: str) -> str:
        """The cell of field ``name`` as text; of a field spread over several columns, their
        texts joined with a space."""
        text = cell_text(self.raw(cells, name))
        if name not in self.more:
            return text
        parts = [text, *(cell_text(cells[i]) for i in self.more[name] if i < len(cells))]
        return " ".join(part for part in parts if part)

    def blank(self, cells: list[Any]) -> bool:
        """Whether every mapped cell of the row is empty (a spacer row)."""
        return not any(self.text(cells, name) for name in self.index)

    def date(self, cells: list[Any], name: str, row: int) -> date:
        """The date of field ``name``."""
        return read_date(self.raw(cells, name), self.spec.date_format, self.where(row, name))

    def money(self, cells: list[Any], name: str, row: int) -> Decimal | None:
        """The amount in field ``name``, None when the cell is empty."""
        value = self.raw(cells, name)
        if cell_text(value) == "":
            return None
        return read_amount(
            value,
            decimal_comma=self.spec.decimal_comma,
            currency=self.currency,
            where=self.where(row, name),
        )

    def amount(self, cells: list[Any], row: int) -> Decimal:
        """The row's signed amount, money in positive, from whichever columns are mapped."""
        if "amount" in self.index:
            amount = self.money(cells, "amount", row)
            if amount is None:
                raise ParseError(f"{self.where(row, 'amount')}: the amount is missing.")
            if "debit_credit" in self.index:
                mark = self.text(cells, "debit_credit")
                if mark:
                    amount = abs(amount) * _direction(
                        mark, self.kind, self.where(row, "debit_credit")
                    )
            return amount
        debit = self.money(cells, "debit", row)
        credit = self.money(cells, "credit", row)
        column = self.table.column
        columns = f"{column(self.index['debit'])} and {column(self.index['credit'])}"
        if debit is None and credit is None:
            raise ParseError(f"row {row}: neither {columns} holds an amount.")
        if debit and credit:
            raise ParseError(
                f"row {row}: both {columns} hold an amount; one of them should be empty."
            )
        money_in, money_out = (debit, credit) if self.kind == "ledger" else (credit, debit)
        return abs(money_in or Decimal(0)) - abs(money_out or Decimal(0))

    def currency_of(self, cells: list[Any], row: int) -> str:
        """The row's currency, checked to be the account's."""
        if "currency" not in self.index:
            return self.currency
        return check_currency(
            self.text(cells, "currency"), self.currency, self.where(row, "currency")
        )

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """The rows that hold something in a mapped column."""
        for number, cells in table_rows(self.table):
            if cells and not self.blank(cells):
                yield number, cells


def _detected_encoding(data: bytes) -> str:
    """UTF-8 when the file reads as UTF-8 (or has a UTF-16 byte-order mark), else Windows-1252."""
    if data.startswith((b"PK\x03\x04", b"\xff\xfe", b"\xfe\xff")):
        return ""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return ""


def open_file(path: Path, *, filename: str, encoding: str = "") -> Table:
    """Open a CSV or XLSX file for reading (``encoding`` "" to detect); ParseError if it is
    not a table: empty, binary, damaged or not in the encoding."""
    data = path.read_bytes()
    if not data.strip():
        raise ParseError("The file is empty.")
    workbook = data.startswith(b"PK\x03\x04")
    if not workbook and b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ParseError(
            f"line {line}: the file holds NUL bytes, so it is not a CSV text file but binary "
            f"data named {filename!r} (or UTF-16 text without its byte-order mark)."
        )
    try:
        return open_table(path, filename=filename, encoding=encoding or _detected_encoding(data))
    except TableError as exc:
        raise ParseError(str(exc)) from None
    except csv.Error as exc:  # tabular reads the header line without catching these
        raise ParseError(f"Row 1: the CSV is malformed ({exc}).") from None
    except Exception as exc:
        if workbook:
            raise _damaged(exc) from None
        raise


def _damaged(exc: Exception) -> ParseError:
    """A workbook openpyxl could not read: it raises whatever its zip and XML parts raise."""
    return ParseError(
        f"The workbook is damaged and cannot be read ({type(exc).__name__}: {exc}); open it "
        "in a spreadsheet program and save it again, or export it anew."
    )


def table_rows(table: Table) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cells) of the table's data rows; ParseError for a malformed CSV or a
    damaged workbook, whose parts are read only now."""
    rows = table.rows()
    while True:
        try:
            number, cells = next(rows)
        except StopIteration:
            return
        except TableError as exc:
            raise ParseError(str(exc)) from None
        except Exception as exc:
            if table.kind == "xlsx":
                raise _damaged(exc) from None
            raise
        yield number, cells


@contextmanager
def _stored(data: bytes, name: str) -> Iterator[Path]:
    """The bytes of an upload in a temporary file (bpo.intake.tabular reads files)."""
    suffix = ".xlsx" if data.startswith(b"PK\x03\x04") else ".csv"
    with tempfile.TemporaryDirectory(prefix=f"openbpo-{name}-") as folder:
        path = Path(folder) / f"{name}{suffix}"
        path.write_bytes(data)
        yield path


def read_sample(
    data: bytes, *, filename: str, encoding: str = "", limit: int = 20
) -> tuple[list[str], list[list[str]]]:
    """The column headers of a CSV or XLSX file and its first ``limit`` non-blank data rows as
    text, read once: for the mapping form, to offer the headers, show the rows and guess the
    date format and decimal mark (``propose.propose_mapping``)."""
    with _stored(data, "sample") as path:
        table = open_file(path, filename=filename, encoding=encoding)
        rows: list[list[str]] = []
        for _, cells in table_rows(table):
            texts = [cell_text(c) for c in cells]
            if any(texts):
                rows.append(texts)
            if len(rows) >= limit:
                break
    return table.headers, rows


def parse_ledger(
    path: Path, *, filename: str, mapping: MappingSpec, currency: str
) -> list[ParsedEntry]:
    """The entries of a ledger export (CSV or XLSX) read with ``mapping``; ParseError naming
    the row and column of the first thing wrong, and nothing returned then."""
    currency = check_account_currency(currency)
    table = open_file(path, filename=filename, encoding=mapping.encoding)
    reader = _Reader(table, mapping, "ledger", currency)
    entries: list[ParsedEntry] = []
    seen: dict[str, int] = {}
    for row, cells in reader.rows():
        notes = Notes()
        external_id = reader.text(cells, "external_id")
        if len(external_id) > ID_CHARS:
            raise ParseError(
                f"{reader.where(row, 'external_id')}: the entry id has {len(external_id)} "
                f"characters; at most {ID_CHARS} are kept."
            )
        if external_id and external_id in seen:
            raise ParseError(
                f"{reader.where(row, 'external_id')}: the entry id {external_id!r} is already "
                f"on row {seen[external_id]}."
            )
        if external_id:
            seen[external_id] = row
        entry_date = reader.date(cells, "entry_date", row)
        amount = reader.amount(cells, row)
        where = f"row {row}"
        entries.append(
            ParsedEntry(
                row=row,
                external_id=external_id,
                entry_date=entry_date,
                amount=amount,
                currency=reader.currency_of(cells, row),
                document_number=notes.clipped(
                    reader.text(cells, "document_number"), ID_CHARS, "document number", where
                ),
                reference=notes.clipped(
                    reader.text(cells, "reference"), REFERENCE_CHARS, "reference", where
                ),
                counterparty_name=notes.clipped(
                    reader.text(cells, "counterparty_name"), NAME_CHARS, "counterparty", where
                ),
                counterparty_iban=notes.counterparty_iban(
                    reader.text(cells, "counterparty_iban"),
                    reader.where_or_row(row, "counterparty_iban"),
                ),
                description=notes.text(reader.text(cells, "description")),
                warnings=tuple(notes.warnings),
            )
        )
    if not entries:
        raise ParseError("The file holds no entries below its header row.")
    return entries


@dataclass(frozen=True)
class _Row:
    number: int
    line: ParsedLine
    balance: Decimal | None


def parse_bank_table(
    data: bytes, *, filename: str, mapping: MappingSpec, currency: str
) -> list[ParsedStatement]:
    """A bank statement exported as CSV or XLSX, read with ``mapping``: one statement from
    its first to its last booking date."""
    currency = check_account_currency(currency)
    if not data.strip():
        raise ParseError("The file is empty.")
    with _stored(data, "statement") as path:
        table = open_file(path, filename=filename, encoding=mapping.encoding)
        reader = _Reader(table, mapping, "bank", currency)
        rows, account, account_row = [], "", 0
        for number, cells in reader.rows():
            rows.append(_bank_row(reader, number, cells))
            if "account" in reader.index:
                named = account_of(reader.text(cells, "account"))
                if named and account and named != account:
                    raise ParseError(
                        f"{reader.where(number, 'account')}: the account {named} is not the "
                        f"account {account} of row {account_row}; a file holds the statement "
                        "of one account."
                    )
                if named and not account:
                    account, account_row = named, number
    if not rows:
        raise ParseError("The file holds no bookings below its header row.")
    rows = _in_booking_order(rows, reader)
    lines = tuple(replace(r.line, position=position) for position, r in enumerate(rows, 1))
    opening = closing = None
    known = [i for i, r in enumerate(rows) if r.balance is not None]
    if known:
        first, last = rows[known[0]], rows[known[-1]]
        assert first.balance is not None and last.balance is not None
        opening = first.balance - sum((r.line.amount for r in rows[: known[0] + 1]), Decimal(0))
        closing = last.balance + sum((r.line.amount for r in rows[known[-1] + 1 :]), Decimal(0))
        check_balances(filename, opening, lines, closing)
    days = [line.booking_date for line in lines]
    return [
        ParsedStatement(
            account=account,
            reference="",
            start_date=min(days),
            end_date=max(days),
            currency=currency,
            opening_balance=opening,
            closing_balance=closing,
            lines=lines,
        )
    ]


def _bank_row(reader: _Reader, row: int, cells: list[Any]) -> _Row:
    notes = Notes()
    where = f"row {row}"
    value_date = None
    if reader.text(cells, "value_date"):
        value_date = reader.date(cells, "value_date", row)
    line = ParsedLine(
        position=0,
        booking_date=reader.date(cells, "booking_date", row),
        value_date=value_date,
        amount=reader.amount(cells, row),
        currency=reader.currency_of(cells, row),
        reference=notes.clipped(
            reader.text(cells, "reference"), REFERENCE_CHARS, "reference", where
        ),
        counterparty_name=notes.clipped(
            reader.text(cells, "counterparty_name"), NAME_CHARS, "counterparty", where
        ),
        counterparty_iban=notes.counterparty_iban(
            reader.text(cells, "counterparty_iban"), reader.where_or_row(row, "counterparty_iban")
        ),
        bank_reference=notes.clipped(
            reader.text(cells, "bank_reference"), BANK_REFERENCE_CHARS, "bank reference", where
        ),
        description="",
    )
    balance = reader.money(cells, "balance", row) if "balance" in reader.index else None
    line = replace(
        line,
        description=notes.text(reader.text(cells, "description")),
        warnings=tuple(notes.warnings),
    )
    return _Row(row, line, balance)


def _chain_break(rows: list[_Row]) -> int | None:
    """The index of the first row whose balance does not follow from the one before, in this
    order; None if every balance follows."""
    last: Decimal | None = None
    for index, row in enumerate(rows):
        if last is not None:
            last += row.line.amount
            if row.balance is not None and row.balance != last:
                return index
        if row.balance is not None:
            last = row.balance
    return None


def _in_booking_order(rows: list[_Row], reader: _Reader) -> list[_Row]:
    """The rows oldest first: the file's order or its reverse, whichever the running balances
    follow (by the dates when there are none), and refused if neither."""
    days = [r.line.booking_date for r in rows]
    newest_first = days[0] > days[-1]
    if not any(r.balance is not None for r in rows):
        return rows[::-1] if newest_first else rows
    forward, backward = _chain_break(rows), _chain_break(rows[::-1])
    if forward is None and (backward is not None or not newest_first):
        return rows
    if backward is None:
        return rows[::-1]
    ordered = rows[::-1] if newest_first else rows
    index = backward if newest_first else forward
    assert index is not None
    row, before = ordered[index], ordered[index - 1]
    expected = _balance_before(ordered, index) + row.line.amount
    raise ParseError(
        f"{reader.where(row.number, 'balance')}: the balance {row.balance} does not follow from "
        f"the balance of row {before.number} and the amount {row.line.amount} (that makes "
        f"{expected}); rows are missing, doubled or out of order."
    )


def _balance_before(rows: list[_Row], index: int) -> Decimal:
    """The running balance before row ``index``, from the last balance stated above it."""
    total = Decimal(0)
    for row in reversed(rows[:index]):
        if row.balance is not None:
            return row.balance + total
        total += row.line.amount
    return total
