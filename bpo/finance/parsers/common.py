"""What every parser returns and the checks they share: the parsed values, the error that says
where a file is wrong, amounts within what the database keeps, IBANs, and a statement's sums."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

# What models.money_field keeps: 14 digits before the point, 4 after.
MAX_WHOLE_DIGITS = 14
MAX_PLACES = 4
# Field lengths of models.StatementLine and models.LedgerEntry.
REFERENCE_CHARS = 500
NAME_CHARS = 200
BANK_REFERENCE_CHARS = 120
ID_CHARS = 80
STATEMENT_REFERENCE_CHARS = 80
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


class ParseError(ValueError):
    """A statement or ledger file cannot be read; the message says what is wrong and where."""


@dataclass(frozen=True)
class ParsedLine:
    """One booking of a statement: money in positive, money out negative.

    ``warnings`` are what was read but not kept as given (an invalid counterparty IBAN moved to
    the description, a text cut to its field's length); the import may show them."""

    position: int
    booking_date: date
    value_date: date | None
    amount: Decimal
    currency: str
    reference: str
    counterparty_name: str
    counterparty_iban: str
    bank_reference: str
    description: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedStatement:
    """One statement of a file: its account as the file names it, period, balances, lines."""

    account: str
    reference: str
    start_date: date
    end_date: date
    currency: str
    opening_balance: Decimal | None
    closing_balance: Decimal | None
    lines: tuple[ParsedLine, ...]


@dataclass(frozen=True)
class ParsedEntry:
    """One entry of a ledger export, ``row`` as a spreadsheet program numbers it."""

    row: int
    external_id: str
    entry_date: date
    amount: Decimal
    currency: str
    document_number: str
    reference: str
    counterparty_name: str
    counterparty_iban: str
    description: str
    warnings: tuple[str, ...] = ()


def checked_amount(amount: Decimal, where: str) -> Decimal:
    """The amount if the database can keep it exactly, else a ParseError naming ``where``."""
    if not amount.is_finite():
        raise ParseError(f"{where}: the amount {amount} is not a number.")
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -MAX_PLACES and amount != amount.quantize(Decimal(1).scaleb(-MAX_PLACES)):
        raise ParseError(f"{where}: the amount {amount} has more than {MAX_PLACES} decimal places.")
    if abs(amount) >= Decimal(10) ** MAX_WHOLE_DIGITS:
        raise ParseError(f"{where}: the amount {amount} is too large.")
    if exponent < -MAX_PLACES:
        amount = amount.quantize(Decimal(1).scaleb(-MAX_PLACES))
    return amount + 0  # a negative zero becomes 0


def compact_iban(text: str) -> str:
    """The IBAN in ``text`` written compact and upper case, or "" if it is not a valid IBAN."""
    raw = re.sub(r"\s+", "", text or "")
    if not raw:
        return ""
    try:
        return str(IBAN(raw, allow_invalid=False).compact)
    except (SchwiftyException, ValueError):
        return ""


NATIONAL_ACCOUNT = re.compile(r"^(\d{3,12})/(\d{1,30})$")


def iban_of_national(country: str, text: str) -> str:
    """The IBAN of an account written the national way, bank code and account number with a
    slash between (German MT940 ``:25:37040044/532013000``), in ``country``; "" when ``text``
    is not so written or makes no valid IBAN there."""
    match = NATIONAL_ACCOUNT.match(re.sub(r"\s+", "", text or ""))
    if match is None or not re.fullmatch(r"[A-Z]{2}", country or ""):
        return ""
    try:
        return str(IBAN.generate(country, bank_code=match[1], account_code=match[2]).compact)
    except (SchwiftyException, ValueError):
        return ""


def account_of(text: str) -> str:
    """A statement's own account as the file names it: a valid IBAN compact and upper case
    (a currency code some banks append is dropped), anything else stripped of spaces."""
    raw = re.sub(r"\s+", "", text or "")
    iban = compact_iban(raw)
    if not iban and len(raw) > 3 and CURRENCY_RE.match(raw[-3:]):
        iban = compact_iban(raw[:-3])
    return iban or raw


@dataclass
class Notes:
    """What a parser noticed about one line while reading it: the description's extra parts
    and the warnings for the import."""

    description: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def counterparty_iban(self, raw: str, where: str) -> str:
        """The counterparty's IBAN compact, or "" with the raw text kept in the description
        when it is not a valid IBAN (an old account number, a typo): not fatal, since the
        line is still a booking, but matching by IBAN cannot use it."""
        raw = re.sub(r"\s+", "", raw or "")
        if not raw:
            return ""
        iban = compact_iban(raw)
        if not iban:
            self.description.append(f"Counterparty account: {raw}")
            self.warnings.append(
                f"{where}: {raw!r} is not a valid IBAN; it is kept in the description."
            )
        return iban

    def clipped(self, text: str, limit: int, what: str, where: str) -> str:
        """``text`` cut to ``limit`` characters; when cut, the whole goes to the description."""
        text = text.strip()
        if len(text) <= limit:
            return text
        self.description.append(f"{what.capitalize()}: {text}")
        self.warnings.append(
            f"{where}: the {what} has {len(text)} characters; the first {limit} are kept "
            f"as the {what}, all of it in the description."
        )
        return text[: limit - 1].rstrip() + "…"

    def text(self, *first: str) -> str:
        """The description: the given parts, then what was noted, without empty parts."""
        return "; ".join(part.strip() for part in (*first, *self.description) if part.strip())


def one_line(text: str | None) -> str:
    """Text with its line breaks and runs of spaces made single spaces."""
    return " ".join((text or "").split())


def check_currency(found: str, expected: str, where: str) -> str:
    """The currency a file states for something, checked against the account's."""
    found = (found or "").strip().upper()
    if not found:
        return expected
    if not CURRENCY_RE.match(found):
        raise ParseError(f"{where}: {found!r} is not a currency code.")
    if found != expected:
        raise ParseError(
            f"{where}: the amount is in {found}, but the account is kept in {expected}."
        )
    return found


def check_balances(
    where: str, opening: Decimal | None, lines: tuple[ParsedLine, ...], closing: Decimal | None
) -> None:
    """Refuse a statement whose opening balance and lines do not add up to its closing one."""
    if opening is None or closing is None:
        return
    total = sum((line.amount for line in lines), Decimal(0))
    if opening + total != closing:
        raise ParseError(
            f"{where}: the opening balance {opening} and the {len(lines)} lines "
            f"(total {total}) make {opening + total}, but the closing balance is {closing} "
            f"(difference {closing - opening - total}); the file is incomplete or altered."
        )


def check_account_currency(currency: str) -> str:
    """The account's currency as the parsers need it: an ISO code."""
    currency = (currency or "").strip().upper()
    if not CURRENCY_RE.match(currency):
        raise ParseError(f"{currency!r} is not a currency code (such as EUR).")
    return currency
