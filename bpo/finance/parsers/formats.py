"""Which format a statement file is in, and reading it in that format."""

from __future__ import annotations

import re

from bpo.finance.parsers.camt import parse_camt053
from bpo.finance.parsers.common import ParsedStatement, ParseError, check_account_currency
from bpo.finance.parsers.mapped import MappingSpec, parse_bank_table
from bpo.finance.parsers.ofx import parse_ofx
from bpo.finance.parsers.swift import parse_mt940

FORMATS = ("ofx", "mt940", "camt053", "csv", "xlsx")
SUFFIXES = {
    ".ofx": "ofx",
    ".qfx": "ofx",
    ".sta": "mt940",
    ".mt940": "mt940",
    ".940": "mt940",
    ".swi": "mt940",
    ".xml": "camt053",
    ".camt": "camt053",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",  # tabular explains that an old workbook must be saved as .xlsx
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
}


def detect_format(data: bytes, filename: str) -> str:
    """ "ofx", "mt940", "camt053", "csv" or "xlsx": from the content (an XLSX is a ZIP, OFX has
    its header or <OFX>, CAMT its ISO 20022 namespace, MT940 lines starting :20: and :25: or
    :60F:), else from the file name. The first few kilobytes are enough."""
    head = data[:65536].removeprefix(b"\xef\xbb\xbf")
    if not head.strip():
        raise ParseError("The file is empty.")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    text = head.decode("latin-1")
    upper = text.upper()
    if "OFXHEADER" in upper[:2048] or "<OFX>" in upper:
        return "ofx"
    if re.search(r"urn:iso:std:iso:20022:tech:xsd:camt\.05\d", text):
        return "camt053"
    if re.search(r"(?m)^:20:", text) and re.search(r"(?m)^:(25|28C?|60[FM]?):", text):
        return "mt940"
    suffix = "." + filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    if text.lstrip().startswith("<"):
        return "camt053"  # XML of some kind: its reader says which
    if "\x00" in text:
        raise ParseError(
            f"{filename} is not a statement OpenBPO reads: not OFX, MT940, CAMT.053, CSV or XLSX."
        )
    return "csv"


def parse_statements(
    data: bytes, *, format: str, filename: str, mapping: MappingSpec | None, currency: str
) -> list[ParsedStatement]:
    """The statements of a file in ``format`` for an account kept in ``currency`` (used where
    the file names none; a line in another currency is refused): all of them, or ParseError
    naming the line, row or element of the first thing wrong."""
    currency = check_account_currency(currency)
    if not data.strip():
        raise ParseError("The file is empty.")
    if format in ("csv", "xlsx"):
        if mapping is None:
            raise ParseError(
                "A CSV or XLSX statement is read with the column mapping of its bank; set one up."
            )
        statements = parse_bank_table(data, filename=filename, mapping=mapping, currency=currency)
    elif format == "ofx":
        statements = parse_ofx(data, currency=currency)
    elif format == "mt940":
        statements = parse_mt940(data, currency=currency)
    elif format == "camt053":
        statements = parse_camt053(data, currency=currency)
    else:
        raise ParseError(f"{format!r} is not a statement format: {', '.join(FORMATS)}.")
    return statements
