"""API schemas for clients."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field


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
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    legal_name: str = Field(default="", max_length=300)
    country: str = Field(default="", pattern=r"^([A-Z]{2})?$")
    time_zone: str = Field(default="UTC", max_length=64)
    is_active: bool = True


class ClientUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    slug: str | None = Field(default=None, min_length=1, max_length=60,
                             pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    legal_name: str | None = Field(default=None, max_length=300)
    country: str | None = Field(default=None, pattern=r"^([A-Z]{2})?$")
    time_zone: str | None = Field(default=None, max_length=64)
    is_active: bool | None = None


class ClientPage(Schema):
    items: list[ClientOut]
    next_cursor: int | None
