"""MT940 statements (SWIFT customer statement message, as German and Dutch banks deliver them
in .sta files), read with the mt940 library.

A file may hold several statements, each starting with ``:20:``. Before the library reads a
statement, its tags are checked here with their line numbers (the library knows none), so an
error names the line: the balances ``:60F:``/``:62F:`` (or ``:60M:``/``:62M:``) must be there
and well formed, and every ``:61:`` must have a date, a debit/credit mark, an amount and a
transaction type code. The ``:86:`` details are read in the German structured layout (``?20``
to ``?29`` remittance with its SEPA keywords EREF+, MREF+, CRED+, SVWZ+, ``?30`` BIC, ``?31``
IBAN, ``?32``/``?33`` name; an older ``?30`` bank code with a ``?31`` account number becomes
the German IBAN they make) by the library, and in the Dutch/SWIFT slash layout
(``/EREF/…/NAME/…/REMI/…``) here; any other text is the reference as it stands. The
``:25:`` account is kept as written (an IBAN compact); one in bank code/account form is
compared with the bank account's IBAN on import.

A line's booking date is the :61: entry date (its value date when the bank gives none). A
statement runs from the day after its opening balance's date (or its first booking, if
earlier) to its closing balance's date (or its last booking, if later). Its reference is the
:20: reference with the :28C: statement number.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import mt940

from bpo.finance.parsers.common import (
    BANK_REFERENCE_CHARS,
    NAME_CHARS,
    REFERENCE_CHARS,
    STATEMENT_REFERENCE_CHARS,
    Notes,
    ParsedLine,
    ParsedStatement,
    ParseError,
    account_of,
    check_balances,
    check_currency,
    checked_amount,
    iban_of_national,
    one_line,
)

TAG = re.compile(r"^:(?P<tag>\d{2}[A-Z]?|NS):")
BALANCE = re.compile(r"^(?P<mark>.)(?P<date>.{6})(?P<currency>.{3})(?P<amount>.*)$", re.DOTALL)
TYPE_CODE = re.compile(r"[NSF][A-Z0-9]{3}")
NUMBER = re.compile(r"^\d+(,\d*)?$")
OPENING_TAGS = ("60F", "60M", "60")
CLOSING_TAGS = ("62F", "62M", "62")
OPTIONS = mt940.Options.all()
# The library logs every tag it cannot match, with the statement's text, at ERROR before it
# raises. That text is a client's banking data, and the failure reaches the user as a
# ParseError naming the line, so the log entry would only copy bank data into the logs.
logging.getLogger("mt940.tags").setLevel(logging.CRITICAL)
# Keys of the slash layout of :86: (Dutch banks, SWIFT MT940 structured), in no order.
SLASH_KEYS = (
    "TRTP", "EREF", "CREF", "IREF", "MARF", "CSID", "CNTP", "REMI", "PURP", "ULTC", "ULTD",
    "ULTB", "BENM", "ORDP", "NAME", "IBAN", "BIC", "ADDR", "RTRN", "ISDT", "SVCL", "CDTRREF",
    "CDTRREFTP", "PREF", "BUSP", "ISSR", "USTD", "STRD", "CUR",
)  # fmt: skip
SLASH_KEY = re.compile(r"/(" + "|".join(sorted(SLASH_KEYS, key=len, reverse=True)) + r")/")


@dataclass
class Tag:
    """One tag of the file: where it starts, its name and its value (continuation lines
    joined by line breaks)."""

    line: int
    name: str
    value: str


@dataclass
class Block:
    """One statement of the file: the tags from its :20: to the next."""

    line: int
    tags: list[Tag] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def first(self, *names: str) -> Tag | None:
        """The first tag with one of ``names``."""
        return next((t for t in self.tags if t.name in names), None)

    def where(self) -> str:
        """How an error names the statement."""
        reference = self.first("20")
        number = self.first("28C", "28")
        said = " ".join(t.value.strip() for t in (reference, number) if t and t.value.strip())
        return f"line {self.line} (statement {said})" if said else f"line {self.line}"


def decoded(data: bytes) -> str:
    """The file as text: UTF-8 if it reads as such, else Windows-1252 (what German banks
    write), else Latin-1, which reads any byte."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def blocks_of(text: str) -> list[Block]:
    """The statements of the file with their tags and lines (the SWIFT envelope, ``{1:…}`` to
    ``-}``, and the ``-`` that ends a message blanked, so that line numbers stay)."""
    blocks: list[Block] = []
    current: Block | None = None
    tag: Tag | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        stripped = line.strip()
        if stripped.startswith("{") or stripped in ("-", "-}", "}"):
            line = stripped = ""
        match = TAG.match(line)
        if match:
            tag = Tag(number, match["tag"], line[match.end() :])
            if tag.name == "20":
                current = Block(number)
                blocks.append(current)
            elif current is None:
                raise ParseError(
                    f"line {number}: the tag :{tag.name}: comes before the :20: that starts a "
                    "statement."
                )
            current.tags.append(tag)
        elif tag is not None and stripped:
            tag.value += "\n" + line
        if current is not None:
            current.lines.append(line)
    return blocks


def _valid_date(text: str) -> date | None:
    """A YYMMDD date, February's day 29 or 30 taken as its last day (as the library does)."""
    if not re.fullmatch(r"\d{6}", text):
        return None
    year, month, day = 2000 + int(text[:2]), int(text[2:4]), int(text[4:])
    if month == 2 and 28 <= day <= 31:
        day = 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28
    try:
        return date(year, month, day)
    except ValueError:
        return None


def check_balance_tag(tag: Tag) -> None:
    """Refuse a malformed :60F:/:62F: with what is wrong."""
    where = f"line {tag.line} (:{tag.name}:)"
    match = BALANCE.match(tag.value.strip())
    if match is None:
        raise ParseError(f"{where}: {tag.value.strip()!r} is not a balance (C or D, YYMMDD, "
                         "currency, amount).")  # fmt: skip
    if match["mark"] not in "CD":
        raise ParseError(f"{where}: the balance starts with {match['mark']!r}, not C or D.")
    if _valid_date(match["date"]) is None:
        raise ParseError(f"{where}: {match['date']!r} is not a date written YYMMDD.")
    if not re.fullmatch(r"[A-Z]{3}", match["currency"]):
        raise ParseError(f"{where}: {match['currency']!r} is not a currency code.")
    if not NUMBER.match(match["amount"]):
        raise ParseError(
            f"{where}: the amount {match['amount']!r} is not a number (written 1234,56)."
        )


def check_line_tag(tag: Tag) -> None:
    """Refuse a malformed :61: with what is wrong: its value date, entry date, mark, amount
    or transaction type."""
    where = f"line {tag.line} (:61:)"
    value = tag.value
    if _valid_date(value[:6]) is None:
        raise ParseError(f"{where}: the value date {value[:6]!r} is not a date written YYMMDD.")
    rest = value[6:]
    entry = re.match(r"\d{4}", rest)
    if entry:
        if _valid_date("26" + entry[0]) is None:
            raise ParseError(f"{where}: the entry date {entry[0]!r} is not a date written MMDD.")
        rest = rest[4:]
    mark = re.match(r"R?[CD]", rest, re.IGNORECASE)
    if mark is None:
        raise ParseError(
            f"{where}: {rest[:2]!r} is not a debit/credit mark (C, D, RC or RD) after the dates."
        )
    rest = rest[mark.end() :]
    if re.match(r"[A-Z]\d", rest):
        rest = rest[1:]  # the funds code, the currency's third letter
    rest = rest.lstrip("\n ")
    code = TYPE_CODE.search(rest.split("\n")[0])
    amount = rest[: code.start()] if code else rest.split("\n")[0]
    if not NUMBER.match(amount):
        raise ParseError(f"{where}: the amount {amount!r} is not a number (written 1234,56).")
    if code is None:
        raise ParseError(
            f"{where}: the transaction type code (such as NTRF or NMSC) after the amount "
            f"{amount} is missing."
        )


def check_block(block: Block) -> None:
    """Refuse a statement whose tags are missing or malformed, naming the line."""
    where = block.where()
    for names, what in ((OPENING_TAGS, "opening"), (CLOSING_TAGS, "closing")):
        found = [t for t in block.tags if t.name in names]
        if not found:
            raise ParseError(f"{where}: the statement has no {what} balance (:{names[0]}:).")
        if len(found) > 1:
            raise ParseError(
                f"line {found[1].line}: a second {what} balance in the statement that starts on "
                f"line {block.line}."
            )
        check_balance_tag(found[0])
    for tag in block.tags:
        if tag.name == "61":
            check_line_tag(tag)


def _library_parse(block: Block) -> Any:
    """The statement as the library reads it; ParseError naming the tag it stumbled on."""
    transactions = mt940.models.Transactions(options=OPTIONS)
    try:
        transactions.parse("\n".join(block.lines))
    except Exception as exc:
        value = exc.args[2] if isinstance(exc, RuntimeError) and len(exc.args) > 2 else None
        tag = next(
            (t for t in block.tags if isinstance(value, str) and t.value.strip() == value.strip()),
            None,
        )
        where = f"line {tag.line} (:{tag.name}:)" if tag else block.where()
        said = exc.args[0] if exc.args else type(exc).__name__
        raise ParseError(f"{where}: the MT940 reader cannot read this: {said}") from None
    return transactions


def slash_details(text: str) -> dict[str, str]:
    """The fields of a :86: in the slash layout (``/EREF/x/NAME/y/REMI/z``), {} if it is not."""
    flat = text.replace("\n", "")
    if not flat.startswith("/") or len(SLASH_KEY.findall(flat)) < 2:
        return {}
    fields: dict[str, str] = {}
    matches = list(SLASH_KEY.finditer(flat))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(flat)
        fields.setdefault(match[1], flat[match.end() : end].strip("/ "))
    return fields


def _slash_line(fields: dict[str, str]) -> dict[str, str]:
    """The slash fields as the line's parts: reference, name, IBAN, end-to-end id, mandate."""
    remittance = fields.get("REMI", "")
    for prefix in ("USTD//", "USTD/", "STRD/CUR/", "STRD//", "STRD/"):
        remittance = remittance.removeprefix(prefix)
    account = fields.get("CNTP", "").split("/") if "CNTP" in fields else []
    return {
        "reference": remittance.replace("/", " ").strip() if "STRD" in fields.get("REMI", "")
        else remittance.strip(),
        "name": fields.get("NAME") or (account[2] if len(account) > 2 else ""),
        "iban": fields.get("IBAN") or (account[0] if account else ""),
        "eref": fields.get("EREF", ""),
        "mandate": fields.get("MARF", ""),
        "creditor": fields.get("CSID", ""),
        "posting": fields.get("TRTP", ""),
    }  # fmt: skip


def _text(value: Any) -> str:
    return one_line(value) if isinstance(value, str) else ""


def _counterparty_account(data: dict[str, Any]) -> str:
    """The counterparty's account from a German structured :86: (``?31``), as an IBAN when it
    is the older bank code (``?30``, eight digits) and account number pair; else as written."""
    account = _text(data.get("applicant_iban"))
    bank_code = _text(data.get("applicant_bin"))
    if re.fullmatch(r"\d{8}", bank_code) and re.fullmatch(r"\d{1,10}", account):
        return iban_of_national("DE", f"{bank_code}/{account}") or account
    return account


def _line(data: dict[str, Any], tag: Tag, position: int, currency: str) -> ParsedLine:
    """One :61: with its :86: as a statement line."""
    where = f"line {tag.line} (:61:)"
    amount = data["amount"]
    line_currency = check_currency(amount.currency or currency, currency, where)
    details = data.get("transaction_details")
    slash = slash_details(details) if isinstance(details, str) else {}
    if slash:
        parts = _slash_line(slash)
    else:
        parts = {
            "reference": _text(data.get("purpose")) or _text(details),
            "name": _text(data.get("applicant_name")),
            "iban": _counterparty_account(data),
            "eref": _text(data.get("end_to_end_reference")),
            "mandate": _text(data.get("additional_position_reference")),
            "creditor": _text(data.get("applicant_creditor_id")),
            "posting": _text(data.get("posting_text")),
        }
    notes = Notes()
    eref = parts["eref"] if parts["eref"] != "NOTPROVIDED" else ""
    customer = _text(data.get("customer_reference"))
    if customer.upper() == "NONREF" or (customer and eref.startswith(customer)):
        customer = ""
    booking = data.get("entry_date") or data["date"]
    return ParsedLine(
        position=position,
        booking_date=date(booking.year, booking.month, booking.day),
        value_date=date(data["date"].year, data["date"].month, data["date"].day),
        amount=checked_amount(amount.amount, where),
        currency=line_currency,
        reference=notes.clipped(parts["reference"], REFERENCE_CHARS, "reference", where),
        counterparty_name=notes.clipped(parts["name"], NAME_CHARS, "counterparty", where),
        counterparty_iban=notes.counterparty_iban(parts["iban"], where),
        bank_reference=notes.clipped(
            _text(data.get("bank_reference")), BANK_REFERENCE_CHARS, "bank reference", where
        ),
        description=notes.text(
            parts["posting"],
            f"End-to-end: {eref}" if eref else "",
            f"Mandate: {parts['mandate']}" if parts["mandate"] else "",
            f"Creditor ID: {parts['creditor']}" if parts["creditor"] else "",
            f"Customer reference: {customer}" if customer else "",
            f"Ultimate party: {_text(data.get('deviate_applicant'))}"
            if data.get("deviate_applicant")
            else "",
            _text(data.get("extra_details")),
        ),
        warnings=tuple(notes.warnings),
    )


def _balance(transactions: Any, names: tuple[str, ...]) -> tuple[Decimal, str, date]:
    for name in names:
        balance = transactions.data.get(name)
        if balance is not None:
            day = balance.date
            return (
                balance.amount.amount,
                balance.amount.currency,
                date(day.year, day.month, day.day),
            )
    raise AssertionError("check_block makes sure the balance is there")


def parse_mt940(data: bytes, *, currency: str) -> list[ParsedStatement]:
    """The statements of an MT940 file, all or none."""
    text = decoded(data)
    blocks = blocks_of(text)
    if not blocks:
        raise ParseError("The file holds no MT940 statement: no line starts with :20:.")
    statements = []
    for block in blocks:
        check_block(block)
        transactions = _library_parse(block)
        where = block.where()
        line_tags = [t for t in block.tags if t.name == "61"]
        if len(line_tags) != len(transactions):
            raise ParseError(
                f"{where}: the statement has {len(line_tags)} :61: lines, but the MT940 reader "
                f"found {len(transactions)}."
            )
        opening_tag = block.first(*OPENING_TAGS)
        assert opening_tag is not None
        opening, statement_currency, opened = _balance(
            transactions,
            ("final_opening_balance", "intermediate_opening_balance", "opening_balance"),
        )
        statement_currency = check_currency(
            statement_currency, currency, f"line {opening_tag.line} (:{opening_tag.name}:)"
        )
        closing, closing_currency, closed = _balance(
            transactions,
            ("final_closing_balance", "intermediate_closing_balance", "closing_balance"),
        )
        closing_tag = block.first(*CLOSING_TAGS)
        assert closing_tag is not None
        check_currency(
            closing_currency, currency, f"line {closing_tag.line} (:{closing_tag.name}:)"
        )
        lines = tuple(
            _line(t.data, tag, position, statement_currency)
            for position, (t, tag) in enumerate(zip(transactions, line_tags, strict=True), 1)
        )
        opening, closing = checked_amount(opening, where), checked_amount(closing, where)
        check_balances(where, opening, lines, closing)
        start, end = opened + timedelta(days=1), closed
        if lines:
            start = min(start, *(line.booking_date for line in lines))
            end = max(end, *(line.booking_date for line in lines))
        account = block.first("25")
        reference = " ".join(
            t.value.strip() for t in (block.first("20"), block.first("28C", "28")) if t
        )
        statements.append(
            ParsedStatement(
                account=account_of(account.value) if account else "",
                reference=reference[:STATEMENT_REFERENCE_CHARS],
                start_date=min(start, end),
                end_date=end,
                currency=statement_currency,
                opening_balance=opening,
                closing_balance=closing,
                lines=lines,
            )
        )
    return statements
