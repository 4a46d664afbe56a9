"""API schemas for work items, their timelines and attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StrictInt, StrictStr

from bpo.apitypes import DbId, IsoDateTime, QueryText, StrictDbId, Text
from bpo.contracts.models import Priority
from bpo.errors import FieldProblem
from bpo.paging import PageParams
from bpo.work.models import BreachCause, EventKind, Routing, State

BULK_MAX_ITEMS = 1000


class ItemIn(Schema):
    model_config = ConfigDict(extra="forbid")

    service_id: StrictDbId
    title: Text = Field(min_length=1, max_length=300)
    description: Text = Field(default="", max_length=100_000)
    priority: Priority = Priority.NORMAL
    contact_email: Text = Field(default="", max_length=254)
    contact_name: Text = Field(default="", max_length=200)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    tags: list[Text] = Field(default_factory=list, max_length=20)
    external_ref: Text = Field(
        default="", max_length=120, description="Your reference; unique per client."
    )
    queue_id: StrictDbId | None = Field(
        default=None, description="Empty: the service's default queue."
    )
    parent_id: StrictDbId | None = None
    language: Text = Field(
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


class BulkIn(Schema):
    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=BULK_MAX_ITEMS,
        description=(
            f"1 to {BULK_MAX_ITEMS} work items, each an object with the fields of a single "
            "create (ItemIn: service_id, title, description, priority, contact_email, "
            "contact_name, custom_fields, tags, external_ref, queue_id, parent_id). Each is "
            "checked on its own: a bad one is reported in its result, the others are created."
        ),
    )


class BulkResultOut(Schema):
    index: int = Field(description="Position of the item in the request's items.")
    ok: bool
    id: int | None = Field(description="The new item's id when ok.")
    errors: list[FieldProblem] = Field(
        description="What was wrong and where, e.g. items[3].custom_fields.reason."
    )


class BulkOut(Schema):
    created: int
    failed: int
    results: list[BulkResultOut]


class StateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    state: State
    reason: Text = Field(default="", max_length=2000)


class TextIn(Schema):
    model_config = ConfigDict(extra="forbid")

    body: Text = Field(min_length=1, max_length=100_000)


class AttachmentBrief(Schema):
    id: int
    filename: str
    size: int
    content_type: str


class AttachmentOut(AttachmentBrief):
    item_id: int
    event_id: int | None
    internal: bool
    sha256: str
    uploaded_by_id: int | None
    uploaded_at: datetime


class AttachmentPage(Schema):
    items: list[AttachmentOut]
    next_cursor: int | None


class AttachmentForm(Schema):
    note: QueryText = Field(
        default="",
        max_length=100_000,
        description=(
            "Text that carries the file on the timeline: an internal note, a reply to the "
            "contact (provider staff, internal=false) or a message from the client's side."
        ),
    )
    internal: bool | None = Field(
        default=None,
        description=(
            "Whether only the provider's people may see the file. Default: true for provider "
            "staff, false for client users (who cannot add internal files)."
        ),
    )


class EventOut(Schema):
    id: int
    at: datetime
    kind: EventKind
    internal: bool
    actor_id: int | None
    body: str
    data: dict[str, Any]
    attachments: list[AttachmentBrief]


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
    channel: str = Field(description="How it arrived: api, email, form, import or web.")
    parent_id: int | None
    assignee_id: int | None
    assigned_at: datetime | None
    language: str
    required_skills: dict[str, int]
    due_at: datetime | None = Field(description="The earliest due time of its running SLA clocks.")
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    reopened_count: int

    @staticmethod
    def resolve_contract_version(obj: Any) -> int:
        return int(obj.terms.version.number)

    @staticmethod
    def resolve_contact_email(obj: Any) -> str | None:
        return obj.contact.email if obj.contact_id else None


class ExplanationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    cause: BreachCause
    note: StrictStr = Field(default="", max_length=2000, description="For the client.")


class ExplanationOut(Schema):
    cause: BreachCause
    note: str
    explained_at: datetime


class ClockOut(Schema):
    id: int
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
    explanation: ExplanationOut | None = Field(
        description="Why a missed clock missed (for the client's monthly report)."
    )

    @staticmethod
    def resolve_explanation(obj: Any) -> Any:
        return getattr(obj, "explanation", None)


class ItemDetailOut(ItemOut):
    timeline: list[EventOut]
    clocks: list[ClockOut]

    @staticmethod
    def resolve_clocks(obj: Any) -> list[Any]:
        return list(obj.sla_clocks)


class ItemPage(Schema):
    items: list[ItemOut]
    next_cursor: int | None


SearchText = Annotated[QueryText, Field(max_length=300)]


class ItemListParams(PageParams):
    service_id: DbId | None = None
    state: State | None = None
    mine: bool = Field(default=False, description="Only items assigned to you.")
    queue_id: DbId | None = None
    assignee_id: DbId | None = Field(default=None, description="Items assigned to this person.")
    unassigned: bool = Field(default=False, description="Only items nobody is assigned to.")
    priority: Priority | None = None
    tag: SearchText | None = Field(default=None, description="Items with this tag (exact).")
    contact: SearchText | None = Field(
        default=None, description="Items of the contact with this e-mail address (any case)."
    )
    external_ref: SearchText | None = Field(
        default=None, description="Items with this external reference (exact)."
    )
    created_after: IsoDateTime | None = Field(
        default=None,
        description="Created at or after this instant (ISO 8601 with an offset, e.g. Z).",
    )
    created_before: IsoDateTime | None = Field(
        default=None, description="Created before this instant (ISO 8601 with an offset)."
    )
    q: SearchText | None = Field(
        default=None, description="Text in the title or the external reference (any case)."
    )


class AssignIn(Schema):
    model_config = ConfigDict(extra="forbid")

    agent_id: StrictDbId
    reason: Text = Field(min_length=1, max_length=2000)


class TransferIn(Schema):
    model_config = ConfigDict(extra="forbid")

    queue_id: StrictDbId | None = Field(
        default=None,
        description="Another queue of the item's service. Without agent_id, the item is "
        "unassigned and waits there.",
    )
    agent_id: StrictDbId | None = Field(
        default=None, description="An agent certified for the item's service."
    )
    reason: Text = Field(min_length=1, max_length=2000, description="Why; on the timeline.")


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
    since: IsoDateTime
    until: IsoDateTime
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
