"""API schemas for work items and their timelines."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StrictInt, StrictStr

from bpo.apitypes import DbId, StrictDbId
from bpo.contracts.models import Priority
from bpo.paging import PageParams
from bpo.work.models import EventKind, Routing, State


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
    queue_id: StrictDbId | None = Field(
        default=None, description="Empty: the service's default queue."
    )
    parent_id: StrictDbId | None = None
    language: StrictStr = Field(
        default="", max_length=8, description="The contact's language, e.g. 'de' or 'pt-BR'."
    )
    required_skills: dict[str, StrictInt] = Field(
        default_factory=dict,
        max_length=20,
        description='Skills an agent needs for this item, with minimum levels 1–5: {"refunds": 2}.',
    )


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
    assigned_at: datetime | None
    language: str
    required_skills: dict[str, int]
    due_at: datetime | None = Field(description="The earliest due time of its running SLA clocks.")
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None

    @staticmethod
    def resolve_contract_version(obj: Any) -> int:
        return int(obj.terms.version.number)

    @staticmethod
    def resolve_contact_email(obj: Any) -> str | None:
        return obj.contact.email if obj.contact_id else None


class ClockOut(Schema):
    metric: str
    cycle: int
    status: str = Field(description="running, paused, met, missed or cancelled")
    target_seconds: int | None
    elapsed_seconds: int = Field(description="Counted before the current run (if running).")
    started_at: datetime
    warn_at: datetime | None
    due_at: datetime | None
    stopped_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None


class ItemDetailOut(ItemOut):
    timeline: list[EventOut]
    clocks: list[ClockOut]

    @staticmethod
    def resolve_clocks(obj: Any) -> list[Any]:
        return list(obj.sla_clocks)


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


class QueueIn(Schema):
    model_config = ConfigDict(extra="forbid")

    service_id: StrictDbId
    name: StrictStr = Field(min_length=1, max_length=120)
    routing: Routing = Routing.PULL
    required_skills: dict[str, StrictInt] = Field(default_factory=dict, max_length=20)


class QueuePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = Field(default=None, min_length=1, max_length=120)
    routing: Routing | None = None
    required_skills: dict[str, StrictInt] | None = Field(default=None, max_length=20)


class QueueOut(Schema):
    id: int
    client_id: int
    service_id: int
    name: str
    routing: Routing
    required_skills: dict[str, int]
    is_default: bool
    waiting: int = Field(description="Unassigned items waiting for an agent.")
    open: int = Field(description="Open items, assigned or not.")
    oldest_waiting: datetime | None
    at_risk: int = Field(description="Open items due within the hour.")
    overdue: int = Field(description="Open items past their SLA due time.")


class QueuePage(Schema):
    items: list[QueueOut]
    next_cursor: int | None


class QueueListParams(PageParams):
    service_id: DbId | None = None


class SessionOut(Schema):
    id: int
    item_id: int
    agent_id: int
    started_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    seconds: int
    others: list[str] = Field(
        default_factory=list, description="Other agents working on this item right now."
    )


class NotificationOut(Schema):
    id: int
    client_id: int
    item_id: int | None
    kind: EventKind
    text: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(Schema):
    items: list[NotificationOut]
    next_cursor: int | None


class NotificationParams(PageParams):
    unread: bool = False


class HandleTimeParams(Schema):
    since: datetime
    until: datetime
    by: Literal["service", "agent"] = "service"
    service_id: DbId | None = None


class HandleTimeRow(Schema):
    service_id: int
    service: str
    agent_id: int | None
    agent: str | None
    sessions: int
    items: int
    handle_seconds: int
    aht_seconds: int = Field(description="Average handle time: handle seconds ÷ items.")


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
