"""API schemas for work items and their timelines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, StrictStr

from bpo.apitypes import DbId, StrictDbId
from bpo.contracts.models import Priority
from bpo.paging import PageParams
from bpo.work.models import EventKind, State


class ItemIn(Schema):
    model_config = ConfigDict(extra="forbid")

    service_id: StrictDbId
    title: StrictStr = Field(min_length=1, max_length=300)
    description: StrictStr = Field(default="", max_length=100_000)
    priority: Priority = Priority.NORMAL
    contact_email: StrictStr = Field(default="", max_length=254)
    contact_name: StrictStr = Field(default="", max_length=200)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    tags: list[StrictStr] = Field(default_factory=list, max_length=20)
    external_ref: StrictStr = Field(
        default="", max_length=120, description="Your reference; unique per client."
    )
    queue_id: StrictDbId | None = None
    parent_id: StrictDbId | None = None


class ItemPatch(Schema):
    """Fields left out or null stay as they are."""

    model_config = ConfigDict(extra="forbid")

    title: StrictStr | None = Field(default=None, min_length=1, max_length=300)
    description: StrictStr | None = Field(default=None, max_length=100_000)
    priority: Priority | None = None
    tags: list[StrictStr] | None = Field(
        default=None, max_length=20, description="Replaces the item's tags."
    )
    custom_fields: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Merged into the item's values: a field left out keeps its value, a field set to "
            "null is cleared. Checked against the custom fields of the item's own terms."
        ),
    )
    external_ref: StrictStr | None = Field(
        default=None, max_length=120, description="Your reference; unique per client; '' clears."
    )


class StateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    state: State
    reason: StrictStr = Field(default="", max_length=2000)


class TextIn(Schema):
    model_config = ConfigDict(extra="forbid")

    body: StrictStr = Field(min_length=1, max_length=100_000)


class EventOut(Schema):
    id: int
    at: datetime
    kind: EventKind
    internal: bool
    actor_id: int | None
    body: str
    data: dict[str, Any]


class ItemOut(Schema):
    id: int
    client_id: int
    service_id: int
    contract_version: int
    queue_id: int | None
    title: str
    description: str
    priority: Priority
    state: State
    contact_email: str | None
    custom_fields: dict[str, Any]
    tags: list[str]
    external_ref: str
    parent_id: int | None
    assignee_id: int | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None

    @staticmethod
    def resolve_contract_version(obj: Any) -> int:
        return int(obj.terms.version.number)

    @staticmethod
    def resolve_contact_email(obj: Any) -> str | None:
        return obj.contact.email if obj.contact_id else None


class ItemDetailOut(ItemOut):
    timeline: list[EventOut]


class ItemPage(Schema):
    items: list[ItemOut]
    next_cursor: int | None


class ItemListParams(PageParams):
    service_id: DbId | None = None
    state: State | None = None
    mine: bool = Field(default=False, description="Only items assigned to you.")


class AssignIn(Schema):
    model_config = ConfigDict(extra="forbid")

    agent_id: StrictDbId
    reason: StrictStr = Field(min_length=1, max_length=2000)


class CannedResponseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    service_id: StrictDbId
    title: StrictStr = Field(min_length=1, max_length=120)
    body: StrictStr = Field(
        min_length=1,
        max_length=20_000,
        description=(
            "The reply; placeholders {contact_name}, {contact_email}, {agent_name}, {item_id}, "
            "{item_title}, {service_name} and {client_name} are filled in when an agent inserts "
            "it. Other text in braces stays as written."
        ),
    )


class CannedResponsePatch(Schema):
    """Fields left out or null stay as they are."""

    model_config = ConfigDict(extra="forbid")

    title: StrictStr | None = Field(default=None, min_length=1, max_length=120)
    body: StrictStr | None = Field(default=None, min_length=1, max_length=20_000)


class CannedResponseOut(Schema):
    id: int
    client_id: int
    service_id: int
    title: str
    body: str
    created_at: datetime
    updated_at: datetime


class CannedResponsePage(Schema):
    items: list[CannedResponseOut]
    next_cursor: int | None


class CannedResponseParams(PageParams):
    service_id: DbId | None = Field(default=None, description="Only this service's responses.")
