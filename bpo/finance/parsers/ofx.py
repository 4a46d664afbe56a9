"""OFX statements (1.x SGML and 2.x XML), read with the ofxparse library.

ofxparse knows no line numbers and moves dates to UTC (a booking at midnight in Berlin would
land on the day before), so the raw text is read alongside it: each ``<STMTTRN>`` gives its
line, its dates as written (``DTPOSTED`` the booking date, ``DTAVAIL`` the value date), its
counterparty account (``BANKACCTTO``/``CCACCTTO``, an IBAN in European exports) and its
currency when it states one. The text is decoded here (the header's CHARSET, the XML
declaration, else UTF-8 or Windows-1252) and handed to the library as ASCII with character
references, which it turns back into the characters.

OFX gives the closing balance (``LEDGERBAL``) and no opening balance: the opening balance is
the closing balance less the lines, and both are None when the file has no ``LEDGERBAL``. The
period is ``DTSTART`` to ``DTEND`` as written, widened to the bookings. A file cut off before
``</OFX>`` is refused, as the library would read what is there and lose the rest silently.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ofxparse import OfxParser

from bpo.finance.parsers.common import (
    BANK_REFERENCE_CHARS,
    NAME_CHARS,
    REFERENCE_CHARS,
    Notes,
    ParsedLine,
    ParsedStatement,
    ParseError,
    account_of,
    check_currency,
    checked_amount,
    one_line,
)

STATEMENT = re.compile(r"<(STMTRS|CCSTMTRS)>(.*?)</\1>", re.IGNORECASE | re.DOTALL)
TRANSACTION = re.compile(r"<STMTTRN>(.*?)</STMTTRN>", re.IGNORECASE | re.DOTALL)
BANK_ACCOUNT_TYPES = (1, 2)  # ofxparse.AccountType.Bank and .CreditCard


def _element(block: str, name: str) -> str:
    """The text of the first element ``name`` in an OFX block, SGML or XML."""
    match = re.search(rf"<{name}>([^<]*)", block, re.IGNORECASE)
    return match[1].strip() if match else ""


def _day(text: str, where: str, what: str) -> date | None:
    """The date an OFX date-time (YYYYMMDD[HHMMSS[.XXX]][[±h:TZ]]) is written on."""
    if not text:
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise ParseError(f"{where}: {what} {text!r} is not a date written YYYYMMDD.") from None


def decoded(data: bytes) -> str:
    """The file as text, in the encoding its header or XML declaration names."""
    head = data[:2048].decode("ascii", errors="replace").upper()
    charset = re.search(r"CHARSET:\s*(\S+)", head)
    declared = re.search(r"ENCODING=[\"']([A-Z0-9_-]+)", head)
    sgml = re.search(r"ENCODING:\s*(\S+)", head)
    candidates = []
    if declared:
        candidates.append(declared[1].lower())
    if sgml and sgml[1] in ("UTF-8", "UNICODE"):
        candidates.append("utf-8")
    if charset and charset[1].isdigit() and charset[1] != "8859":
        candidates.append(f"cp{charset[1]}")
    if charset and "8859" in charset[1]:
        candidates.append("iso-8859-1")
    candidates += ["utf-8", "cp1252", "latin-1"]
    for encoding in candidates:
        try:
            return data.removeprefix(b"\xef\xbb\xbf").decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise AssertionError("latin-1 reads every byte")


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


@dataclass(frozen=True)
class RawTransaction:
    """What the raw text says about one ``<STMTTRN>``."""

    line: int
    posted: str
    available: str
    account_to: str
    currency: str


def raw_transactions(text: str, start: int, block: str) -> list[RawTransaction]:
    """The ``<STMTTRN>`` of a statement block that begins at ``start`` in ``text``."""
    found = []
    for match in TRANSACTION.finditer(block):
        body = match[1]
        to = re.search(r"<(?:BANKACCTTO|CCACCTTO)>(.*?)(?:</(?:BANKACCTTO|CCACCTTO)>|$)", body,
                       re.IGNORECASE | re.DOTALL)  # fmt: skip
        currency = re.search(r"<CURRENCY>.*?<CURSYM>\s*([A-Za-z]{3})", body, re.I | re.DOTALL)
        found.append(
            RawTransaction(
                line=_line_of(text, start + match.start()),
                posted=_element(body, "DTPOSTED"),
                available=_element(body, "DTAVAIL"),
                account_to=_element(to[1], "ACCTID") if to else "",
                currency=currency[1].upper() if currency else "",
            )
        )
    return found


def _library_parse(text: str) -> Any:
    """The file as ofxparse reads it, lenient (bad transactions set aside, not raised) so
    that this module can say which one is bad; ParseError on anything else. (ofxparse keeps
    the flag on its class: every caller in this process must pass the same one.)"""
    ascii_text = text.encode("ascii", errors="xmlcharrefreplace")
    try:
        return OfxParser.parse(io.BytesIO(ascii_text), fail_fast=False)
    except Exception as exc:  # the library raises whatever its parts raise
        said = str(exc) or type(exc).__name__
        raise ParseError(f"The OFX file cannot be read: {said}.") from None


def parse_ofx(data: bytes, *, currency: str) -> list[ParsedStatement]:
    """The bank and credit card statements of an OFX file, all or none."""
    text = decoded(data)
    upper = text.upper()
    if "<OFX>" not in upper:
        raise ParseError("The file has no <OFX> element: it is not an OFX statement.")
    if not re.search(r"</OFX>\s*$", upper):
        raise ParseError(
            f"line {_line_of(text, len(text.rstrip()))}: the file ends before </OFX>: it was "
            "cut off (an interrupted download?); download it again."
        )
    ofx = _library_parse(text)
    accounts = [a for a in ofx.accounts if getattr(a, "type", None) in BANK_ACCOUNT_TYPES]
    blocks = list(STATEMENT.finditer(text))
    blocks.sort(key=lambda m: (m[1].upper() != "STMTRS", m.start()))  # ofxparse's order
    if not accounts or len(accounts) != len(blocks):
        raise ParseError(
            "The OFX file holds no bank or credit card statement (<STMTRS>)."
            if not blocks
            else f"The OFX file has {len(blocks)} statements, but the OFX reader found "
            f"{len(accounts)}."
        )
    return [
        _statement(text, block, account, currency)
        for block, account in zip(blocks, accounts, strict=True)
    ]


def _statement(text: str, block: re.Match[str], account: Any, currency: str) -> ParsedStatement:
    statement = account.statement
    where = f"line {_line_of(text, block.start())} (<{block[1].upper()}>)"
    for entry in statement.discarded_entries:
        line = getattr(entry.get("content"), "sourceline", None)
        at = f"line {line} (<STMTTRN>)" if line else where
        error = re.sub(r"'\s*(.*?)\s*'", r"'\1'", one_line(str(entry.get("error"))))
        raise ParseError(f"{at}: the transaction cannot be read: {error}.")
    if statement.warnings:
        raise ParseError(
            f"{where}: a balance or date of the statement cannot be read (the OFX reader says: "
            f"{one_line(str(statement.warnings[0]).split(' for ')[0])})."
        )
    statement_currency = check_currency(
        (getattr(statement, "currency", "") or "").upper() or currency,
        currency,
        f"{where} <CURDEF>",
    )
    raws = raw_transactions(text, block.start(2), block[2])
    if len(raws) != len(statement.transactions):
        raise ParseError(
            f"{where}: the statement has {len(raws)} <STMTTRN>, but the OFX reader found "
            f"{len(statement.transactions)}."
        )
    lines = tuple(
        _line(t, raw, position, statement_currency)
        for position, (t, raw) in enumerate(zip(statement.transactions, raws, strict=True), 1)
    )
    total = sum((line.amount for line in lines), Decimal(0))
    closing = getattr(statement, "balance", None)
    opening = None
    if closing is not None:
        closing = checked_amount(_decimal(closing, f"{where} <LEDGERBAL>"), f"{where} <LEDGERBAL>")
        opening = closing - total
    days = [line.booking_date for line in lines]
    start = _day(_element(block[2], "DTSTART"), where, "DTSTART")
    end = _day(_element(block[2], "DTEND"), where, "DTEND")
    start = min([d for d in (start, *days) if d is not None], default=None)
    end = max([d for d in (end, *days) if d is not None], default=None)
    if start is None or end is None:
        raise ParseError(f"{where}: the statement has neither a period nor transactions.")
    return ParsedStatement(
        account=account_of(getattr(account, "account_id", "") or ""),
        reference="",
        start_date=min(start, end),
        end_date=end,
        currency=statement_currency,
        opening_balance=opening,
        closing_balance=closing,
        lines=lines,
    )


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ParseError(f"{where}: {value!r} is not an amount.") from None


def _line(t: Any, raw: RawTransaction, position: int, currency: str) -> ParsedLine:
    """One ``<STMTTRN>`` as a statement line."""
    where = f"line {raw.line} (<STMTTRN>)"
    fitid = one_line(getattr(t, "id", ""))
    if fitid:
        where = f"line {raw.line} (<STMTTRN> {fitid})"
    notes = Notes()
    line_currency = check_currency(raw.currency or currency, currency, where)
    booked = _day(raw.posted, where, "DTPOSTED")
    if booked is None:
        raise ParseError(f"{where}: the transaction has no DTPOSTED date.")
    kind = one_line(getattr(t, "type", "")).upper()
    number = one_line(getattr(t, "checknum", ""))
    return ParsedLine(
        position=position,
        booking_date=booked,
        value_date=_day(raw.available, where, "DTAVAIL"),
        amount=checked_amount(_decimal(t.amount, where), where),
        currency=line_currency,
        reference=notes.clipped(
            one_line(getattr(t, "memo", "")), REFERENCE_CHARS, "reference", where
        ),
        counterparty_name=notes.clipped(
            one_line(getattr(t, "payee", "")), NAME_CHARS, "counterparty", where
        ),
        counterparty_iban=notes.counterparty_iban(raw.account_to, where),
        bank_reference=notes.clipped(fitid, BANK_REFERENCE_CHARS, "bank reference", where),
        description=notes.text(kind, f"Check {number}" if number else ""),
        warnings=tuple(notes.warnings),
    )
