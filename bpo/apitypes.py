"""Types shared by the API schemas of every app."""

from typing import Annotated

from pydantic import Field, StrictInt

# A database id: what a 64-bit primary key can hold. Anything else is a 422, never a query.
DbId = Annotated[int, Field(ge=1, le=2**63 - 1)]
StrictDbId = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]
