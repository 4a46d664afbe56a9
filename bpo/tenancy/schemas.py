"""API schemas for clients."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool, StrictStr


class ClientOut(Schema):
    id: int
    name: str
    slug: str
    legal_name: str
    country: str
    time_zone: str
    is_active: bool
    created_at: datetime


class ClientCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(min_length=1, max_length=200)
    slug: StrictStr = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    legal_name: StrictStr = Field(default="", max_length=300)
    country: StrictStr = Field(default="", pattern=r"^([A-Z]{2})?$")
    time_zone: StrictStr = Field(default="UTC", max_length=64)
    is_active: StrictBool = True


class ClientUpdate(Schema):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    slug: StrictStr | None = Field(
        default=None, min_length=1, max_length=60, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
    )
    legal_name: StrictStr | None = Field(default=None, max_length=300)
    country: StrictStr | None = Field(default=None, pattern=r"^([A-Z]{2})?$")
    time_zone: StrictStr | None = Field(default=None, max_length=64)
    is_active: StrictBool | None = None


class ClientPage(Schema):
    items: list[ClientOut]
    next_cursor: int | None
