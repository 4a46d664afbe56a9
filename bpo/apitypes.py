"""Types shared by the API schemas of every app."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from babel.numbers import get_currency_precision
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)

# A database id: what a 64-bit primary key can hold. Anything else is a 422, never a query.
DbId = Annotated[int, Field(ge=1, le=2**63 - 1)]
StrictDbId = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]


def _no_nul(value: str) -> str:
    """PostgreSQL stores no NUL character in text or JSON; refuse it where it comes in."""
    if "\x00" in value:
        raise ValueError("Text cannot contain the NUL character (\\u0000).")
    return value


# Text from a JSON body, and text from a query string or form: any characters but NUL.
Text = Annotated[StrictStr, AfterValidator(_no_nul)]
QueryText = Annotated[str, AfterValidator(_no_nul)]


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """Dates come as ISO text (YYYY-MM-DD), never as numbers that happen to convert (nor as
    digits in text, which would be read as a Unix time)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("Expected a date as text, YYYY-MM-DD.")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_text)]

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_datetime_text(value: Any) -> Any:
    """Instants come as ISO 8601 text with an offset; '0.5' is not a Unix timestamp here."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATETIME.match(value):
        raise ValueError(
            "Expected a date and time as ISO 8601 text with an offset, e.g. 2026-05-04T09:30Z."
        )
    return value


def _in_utc(value: datetime) -> datetime:
    """Any offset ISO 8601 allows (up to ±23:59) as UTC, which every database can store."""
    return value.astimezone(UTC)


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime_text), AfterValidator(_in_utc)]


def month_of(text: str, where: str = "body.month") -> date:
    """A month written YYYY-MM, as its first day; a FieldError at ``where`` otherwise."""
    from bpo.errors import FieldError

    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError as exc:
        raise FieldError(where, f"{text}: not a month.") from exc


def changes(payload: Any, *, nullable: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields a PATCH body sets: left-out and null fields stay as they are, except the
    ``nullable`` ones, where null is a value (an open end date, no policy)."""
    data: dict[str, Any] = payload.dict(exclude_unset=True)
    return {k: v for k, v in data.items() if v is not None or k in nullable}


def _decimal_text(whole: int, places: int) -> tuple[BeforeValidator, WithJsonSchema]:
    """A decimal number sent as JSON text ("12.50"): exact, where a JSON number may not be.

    At most ``whole`` digits before the point and ``places`` after it (what the column holds);
    a JSON number is refused with a message that says how to write it instead."""
    body = rf"-?\d{{1,{whole}}}(\.\d{{1,{places}}})?"
    matcher = re.compile(body)
    example = "12.50" if places >= 2 else "12"

    def parse(value: Any) -> Any:
        if isinstance(value, Decimal):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(
                f'Write {value!r} as a decimal string, e.g. "{value}": numbers are sent as text, '
                "so that no amount is rounded on the way."
            )
        if not isinstance(value, str):
            raise ValueError(f'Expected a decimal number as a string, e.g. "{example}".')
        if not matcher.fullmatch(value):
            raise ValueError(
                f"{value[:40]!r} is not a decimal number with at most {whole} digits before the "
                f'point and {places} after it, e.g. "{example}".'
            )
        return Decimal(value)

    schema = {"type": "string", "pattern": f"^{body}$", "examples": [example]}
    return BeforeValidator(parse), WithJsonSchema(schema)


_PERCENT = _decimal_text(3, 2)
_POOL_PERCENT = _decimal_text(4, 2)
_AMOUNT = _decimal_text(12, 2)
_PRICE = _decimal_text(10, 4)
_HOURS = _decimal_text(4, 2)

# Decimal numbers in JSON bodies, as text (a float is refused, naming the field).
PercentText = Annotated[Decimal, _PERCENT[0], _PERCENT[1]]  # 0.00 to 999.99 (checked further)
PoolPercentText = Annotated[Decimal, _POOL_PERCENT[0], _POOL_PERCENT[1]]
AmountText = Annotated[Decimal, _AMOUNT[0], _AMOUNT[1]]  # money or volumes, cents
PriceText = Annotated[Decimal, _PRICE[0], _PRICE[1]]  # unit prices and quantities, 4 places
HoursText = Annotated[Decimal, _HOURS[0], _HOURS[1]]


def plain(value: Decimal | None) -> str | None:
    """A quantity or price as text, exact and without trailing zeros ('2.5', '100')."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def money(value: Decimal, currency: str) -> str:
    """An amount as text with its currency's decimals ('7.50' EUR, '1200' JPY); amounts are
    rounded to them already, so nothing is lost."""
    return str(value.quantize(Decimal(1).scaleb(-get_currency_precision(currency))))
