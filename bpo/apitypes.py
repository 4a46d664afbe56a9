"""Types shared by the API schemas of every app."""

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictInt

# A database id: what a 64-bit primary key can hold. Anything else is a 422, never a query.
DbId = Annotated[int, Field(ge=1, le=2**63 - 1)]
StrictDbId = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]


def _iso_text(value: Any) -> Any:
    """Dates come as ISO text (YYYY-MM-DD), never as numbers that happen to convert."""
    if not isinstance(value, str | date):
        raise ValueError("Expected a date as text, YYYY-MM-DD.")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_text)]


def changes(payload: Any, *, nullable: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields a PATCH body sets: left-out and null fields stay as they are, except the
    ``nullable`` ones, where null is a value (an open end date, no policy)."""
    data: dict[str, Any] = payload.dict(exclude_unset=True)
    return {k: v for k, v in data.items() if v is not None or k in nullable}
