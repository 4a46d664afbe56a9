"""API schemas for people, memberships and assignments."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field

from bpo.accounts.roles import Role
from bpo.apitypes import DbId, StrictDbId
from bpo.paging import PageParams


class MembershipRole(Schema):
    role: Role
    client_id: int | None


class ClientRef(Schema):
    id: int
    name: str
    slug: str


class MeOut(Schema):
    id: int
    email: str
    full_name: str
    side: str = Field(description="'provider' or 'client'")
    roles: list[MembershipRole]
    clients: list[ClientRef] = Field(description="The clients you may see and act for.")


class UserRef(Schema):
    id: int
    email: str
    full_name: str


class MembershipOut(Schema):
    id: int
    user: UserRef
    role: Role
    client_id: int | None
    created_at: datetime


class MembershipCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    user_id: StrictDbId
    role: Role
    client_id: StrictDbId | None = None


class MembershipPage(Schema):
    items: list[MembershipOut]
    next_cursor: int | None


class AssignmentOut(Schema):
    id: int
    user: UserRef
    client_id: int
    created_at: datetime


class AssignmentCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    user_id: StrictDbId
    client_id: StrictDbId


class AssignmentPage(Schema):
    items: list[AssignmentOut]
    next_cursor: int | None


class ClientPageParams(PageParams):
    client_id: DbId | None = Field(default=None, description="Only this client's rows.")
