"""Types shared by the API schemas of every app."""

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StrictInt, StrictStr

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


def _iso_text(value: Any) -> Any:
    """Dates come as ISO text (YYYY-MM-DD), never as numbers that happen to convert."""
    if not isinstance(value, str | date):
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


def changes(payload: Any, *, nullable: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields a PATCH body sets: left-out and null fields stay as they are, except the
    ``nullable`` ones, where null is a value (an open end date, no policy)."""
    data: dict[str, Any] = payload.dict(exclude_unset=True)
    return {k: v for k, v in data.items() if v is not None or k in nullable}
