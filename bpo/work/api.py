"""API: work items, their life cycle, replies, notes, attachments and timelines."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pydantic
from django.http import FileResponse, HttpRequest, HttpResponse
from ninja import File, Form, Header, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.responses import NinjaJSONEncoder

from bpo.accounts.models import User
from bpo.apitypes import DbId, changes
from bpo.contracts.models import Service
from bpo.errors import FieldError, documented_errors, validation_fields
from bpo.paging import PageParams, page_of
from bpo.tenancy.context import Actor, request_actor
from bpo.work import actions, queries
from bpo.work.models import (
    Attachment,
    CannedResponse,
    Event,
    Notification,
    Queue,
    WorkItem,
    WorkSession,
)
from bpo.work.schemas import (
    AssignIn,
    AttachmentForm,
    AttachmentOut,
    AttachmentPage,
    BulkIn,
    BulkOut,
    CannedResponseIn,
    CannedResponseOut,
    CannedResponsePage,
    CannedResponseParams,
    CannedResponsePatch,
    EventOut,
    ExplanationIn,
    HandleTimeParams,
    HandleTimeRow,
    ItemDetailOut,
    ItemIn,
    ItemListParams,
    ItemPage,
    ItemPatch,
    NotificationOut,
    NotificationPage,
    NotificationParams,
    QueueIn,
    QueueListParams,
    QueueOut,
    QueuePage,
    QueuePatch,
    SessionOut,
    StateIn,
    TextIn,
    TransferIn,
)

router = Router(tags=["work items"])
queues_router = Router(tags=["queues"])
notifications_router = Router(tags=["notifications"])
handle_time_router = Router(tags=["handle time"])
attachments_router = Router(tags=["work items"])

IDEMPOTENCY_KEY = Header(
    None,
    alias="Idempotency-Key",
    min_length=1,
    max_length=255,
    pattern=r"^[\x21-\x7e]+$",
    description=(
        "Any unique string of visible ASCII characters (a UUID will do). A retry with the same "
        "key and the same body replays the first response (header Idempotent-Replayed: true) "
        "and creates nothing; the same key with another body is refused (422). Keys are per "
        "person and are kept for 24 hours."
    ),
)


REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "true when this is the stored response to an earlier request with the "
        "same Idempotency-Key (nothing was created this time).",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def _detail(actor: Actor, item: WorkItem) -> WorkItem:
    """The item with the timeline the actor may see and its SLA clocks, for ItemDetailOut."""
    item.timeline = list(queries.timeline(actor=actor, item=item))  # type: ignore[attr-defined]
    item.sla_clocks = list(queries.clocks_of(actor=actor, item=item))  # type: ignore[attr-defined]
    return item


def _render(schema: type[Schema], obj: Any) -> str:
    """The JSON text Ninja would send for ``obj`` as ``schema``."""
    return json.dumps(schema.from_orm(obj).model_dump(by_alias=True), cls=NinjaJSONEncoder)


def _json_response(status: int, body: str, *, replayed: bool = False) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json; charset=utf-8")
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _once(
    request: HttpRequest, key: str | None, payload: Schema, run: Callable[[], tuple[int, str]]
) -> HttpResponse:
    """Answer a create, at most once per Idempotency-Key when the request carries one."""
    if key is None:
        return _json_response(*run())
    request_data = {
        "method": request.method,
        "path": request.path,
        "body": payload.model_dump(mode="json"),
    }
    fingerprint = hashlib.sha256(
        json.dumps(request_data, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    try:
        outcome = actions.idempotency_key_use(
            actor=request_actor(request), key=key, fingerprint=fingerprint, run=run
        )
    except actions.IdempotencyKeyReused as exc:
        raise FieldError("header.Idempotency-Key", str(exc)) from exc
    return _json_response(outcome.status, outcome.body, replayed=outcome.replayed)


@router.get("", response={200: ItemPage, **documented_errors()}, summary="List work items")
def list_items(request: HttpRequest, params: Query[ItemListParams]) -> dict[str, Any]:
    rows = queries.items_visible(
        actor=request_actor(request),
        service_id=params.service_id,
        state=params.state,
        assigned_to_me=params.mine,
        queue_id=params.queue_id,
        assignee_id=params.assignee_id,
        unassigned=params.unassigned,
        priority=params.priority,
        tag=params.tag,
        contact=params.contact,
        external_ref=params.external_ref,
        created_after=params.created_after,
        created_before=params.created_before,
        search=params.q,
    )
    return page_of(rows, params)


@router.post(
    "",
    response={201: ItemDetailOut, **documented_errors(403)},
    summary="Submit a work item to a service",
    openapi_extra={"responses": {201: {"headers": REPLAYED_HEADER}}},
)
def create_item(
    request: HttpRequest, payload: ItemIn, idempotency_key: str | None = IDEMPOTENCY_KEY
) -> HttpResponse:
    actor = request_actor(request)

    def run() -> tuple[int, str]:
        item = actions.work_item_submit(actor=actor, **payload.dict())
        return 201, _render(
            ItemDetailOut, _detail(actor, queries.item_get(actor=actor, item_id=item.pk))
        )

    return _once(request, idempotency_key, payload, run)


@router.post(
    "/bulk",
    response={200: BulkOut, **documented_errors(403)},
    summary="Submit up to 1,000 work items at once; each is created or reported on its own",
    openapi_extra={"responses": {200: {"headers": REPLAYED_HEADER}}},
)
def bulk_create(
    request: HttpRequest, payload: BulkIn, idempotency_key: str | None = IDEMPOTENCY_KEY
) -> HttpResponse:
    actor = request_actor(request)

    def run() -> tuple[int, str]:
        requests: dict[int, dict[str, Any]] = {}
        problems: dict[int, list[dict[str, str]]] = {}
        for index, raw in enumerate(payload.items):
            try:
                requests[index] = ItemIn.model_validate(raw).dict()
            except pydantic.ValidationError as exc:
                problems[index] = [
                    {"path": _item_path(index, err["loc"]), "message": err["msg"]}
                    for err in exc.errors()
                ]
        created: dict[int, int] = {}
        for index, outcome in actions.work_item_bulk_create(actor=actor, requests=requests).items():
            if isinstance(outcome, WorkItem):
                created[index] = outcome.pk
            else:
                problems[index] = validation_fields(outcome, prefix=f"items[{index}]")
        results = [
            {"index": i, "ok": i in created, "id": created.get(i), "errors": problems.get(i, [])}
            for i in range(len(payload.items))
        ]
        body = {"created": len(created), "failed": len(problems), "results": results}
        return 200, _render(BulkOut, body)

    return _once(request, idempotency_key, payload, run)


def _item_path(index: int, loc: tuple[int | str, ...]) -> str:
    """``items[3].tags[1]`` for the error location ('tags', 1) of the fourth item."""
    path = f"items[{index}]"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


@router.post(
    "/next",
    response={200: ItemDetailOut, 204: None, **documented_errors(403)},
    summary="Get next: the best waiting item you are certified for (204: nothing for you)",
)
def get_next(request: HttpRequest) -> Any:
    actor = request_actor(request)
    item = actions.work_item_next(actor=actor)
    if item is None:
        return Status(204, None)
    return _detail(actor, queries.item_get(actor=actor, item_id=item.pk))


@router.post(
    "/{item_id}/assign",
    response={200: ItemDetailOut, **documented_errors(403, 404)},
    summary="Assign or transfer an item to a certified agent, with a reason (managers)",
)
def assign(request: HttpRequest, item_id: DbId, payload: AssignIn) -> WorkItem:
    actor = request_actor(request)
    item = queries.item_get(actor=actor, item_id=item_id)
    try:
        agent = queries.staff_get(actor=actor, user_id=payload.agent_id)
    except User.DoesNotExist as exc:
        raise FieldError("body.agent_id", f"There is no agent with id {payload.agent_id}.") from exc
    actions.work_item_assign(actor=actor, item=item, agent=agent, reason=payload.reason)
    return _detail(actor, queries.item_get(actor=actor, item_id=item_id))


@router.post(
    "/{item_id}/transfer",
    response={200: ItemDetailOut, **documented_errors(403, 404)},
    summary="Move an item to another queue of its service and/or another agent (managers)",
)
def transfer(request: HttpRequest, item_id: DbId, payload: TransferIn) -> WorkItem:
    actor = request_actor(request)
    item = queries.item_get(actor=actor, item_id=item_id)
    queue = agent = None
    if payload.queue_id is not None:
        try:
            queue = queries.queue_get(actor=actor, queue_id=payload.queue_id)
        except Queue.DoesNotExist as exc:
            raise FieldError(
                "body.queue_id", f"There is no queue with id {payload.queue_id}."
            ) from exc
    if payload.agent_id is not None:
        try:
            agent = queries.staff_get(actor=actor, user_id=payload.agent_id)
        except User.DoesNotExist as exc:
            raise FieldError(
                "body.agent_id", f"There is no agent with id {payload.agent_id}."
            ) from exc
    actions.work_item_transfer(
        actor=actor, item=item, queue=queue, agent=agent, reason=payload.reason
    )
    return _detail(actor, queries.item_get(actor=actor, item_id=item_id))


@router.get(
    "/{item_id}",
    response={200: ItemDetailOut, **documented_errors(404)},
    summary="One work item with its timeline",
)
def get_item(request: HttpRequest, item_id: DbId) -> WorkItem:
    actor = request_actor(request)
    return _detail(actor, queries.item_get(actor=actor, item_id=item_id))


@router.patch(
    "/{item_id}",
    response={200: ItemDetailOut, **documented_errors(403, 404)},
    summary="Change an item's title, description, priority, tags, custom fields or reference",
)
def update_item(request: HttpRequest, item_id: DbId, payload: ItemPatch) -> WorkItem:
    actor = request_actor(request)
    item = queries.item_get(actor=actor, item_id=item_id)
    actions.work_item_update(actor=actor, item=item, **changes(payload))
    return _detail(actor, queries.item_get(actor=actor, item_id=item_id))


@router.post(
    "/{item_id}/state",
    response={200: ItemDetailOut, **documented_errors(403, 404)},
    summary="Move the item through its life cycle",
)
def change_state(request: HttpRequest, item_id: DbId, payload: StateIn) -> WorkItem:
    actor = request_actor(request)
    item = queries.item_get(actor=actor, item_id=item_id)
    actions.work_item_transition(actor=actor, item=item, state=payload.state, reason=payload.reason)
    return _detail(actor, queries.item_get(actor=actor, item_id=item_id))


@router.put(
    "/{item_id}/clocks/{clock_id}/explanation",
    response={200: ItemDetailOut, **documented_errors(403, 404)},
    summary="Say why a clock missed its target (shown in the client's monthly report; managers)",
)
def explain_breach(
    request: HttpRequest, item_id: DbId, clock_id: DbId, payload: ExplanationIn
) -> WorkItem:
    actor = request_actor(request)
    item = queries.item_get(actor=actor, item_id=item_id)
    clock = queries.clock_of(actor=actor, item=item, clock_id=clock_id)
    actions.breach_explain(actor=actor, clock=clock, cause=payload.cause, note=payload.note)
    return _detail(actor, queries.item_get(actor=actor, item_id=item_id))


@router.post(
    "/{item_id}/notes",
    response={201: EventOut, **documented_errors(403, 404)},
    summary="Add an internal note (never shown to the client)",
)
def add_note(request: HttpRequest, item_id: DbId, payload: TextIn) -> Status[Event]:
    actor = request_actor(request)
    item = queries.item_get(actor=actor, item_id=item_id)
    return Status(201, actions.work_item_note(actor=actor, item=item, body=payload.body))


@router.post(
    "/{item_id}/replies",
    response={201: EventOut, **documented_errors(403, 404)},
    summary="Reply to the contact",
)
def add_reply(request: HttpRequest, item_id: DbId, payload: TextIn) -> Status[Event]:
    actor = request_actor(request)
    item = queries.item_get(actor=actor, item_id=item_id)
    return Status(201, actions.work_item_reply(actor=actor, item=item, body=payload.body))


@router.post(
    "/{item_id}/messages",
    response={201: EventOut, **documented_errors(403, 404)},
    summary="Add a message from the client's side (reopens a resolved item)",
)
def add_message(request: HttpRequest, item_id: DbId, payload: TextIn) -> Status[Event]:
    actor = request_actor(request)
    item = queries.item_get(actor=actor, item_id=item_id)
    return Status(201, actions.work_item_message_in(actor=actor, item=item, body=payload.body))


@router.post(
    "/{item_id}/attachments",
    response={201: AttachmentOut, **documented_errors(403, 404, 413)},
    summary="Attach a file (multipart), optionally with a note that carries it on the timeline",
)
def upload_attachment(
    request: HttpRequest,
    item_id: DbId,
    file: File[UploadedFile],
    form: Form[AttachmentForm],
) -> Status[Attachment]:
    actor = request_actor(request)
    item = queries.item_get(actor=actor, item_id=item_id)
    attachment = actions.work_item_attach(
        actor=actor, item=item, upload=file, note=form.note, internal=form.internal
    )
    return Status(201, attachment)


@router.get(
    "/{item_id}/attachments",
    response={200: AttachmentPage, **documented_errors(404)},
    summary="The files on a work item",
)
def list_attachments(
    request: HttpRequest, item_id: DbId, params: Query[PageParams]
) -> dict[str, Any]:
    actor = request_actor(request)
    item = queries.item_get(actor=actor, item_id=item_id)
    return page_of(queries.attachments_of(actor=actor, item=item), params)


@attachments_router.get(
    "/{attachment_id}/content",
    response={**documented_errors(404)},
    summary="Download an attachment (as the type sniffed at upload; always as a download)",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file's bytes.",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def download_attachment(request: HttpRequest, attachment_id: DbId) -> FileResponse:
    attachment, content = queries.attachment_open(
        actor=request_actor(request), attachment_id=attachment_id
    )
    response = FileResponse(
        content,
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    # Never rendered by the browser in our origin, whatever the bytes are.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@router.post(
    "/{item_id}/sessions",
    response={200: SessionOut, **documented_errors(403, 404)},
    summary="I am working on this item: start or extend my work session (call every 30 s)",
)
def touch_session(request: HttpRequest, item_id: DbId) -> WorkSession:
    actor = request_actor(request)
    item = queries.item_get(actor=actor, item_id=item_id)
    session = actions.work_session_touch(actor=actor, item=item)
    session.others = queries.others_working_on(actor=actor, item=item)  # type: ignore[attr-defined]
    return session


@router.post(
    "/{item_id}/sessions/end",
    response={200: SessionOut, 204: None, **documented_errors(403, 404)},
    summary="I stopped working on this item (204: no session was open)",
)
def end_session(request: HttpRequest, item_id: DbId) -> Any:
    actor = request_actor(request)
    item = queries.item_get(actor=actor, item_id=item_id)
    session = actions.work_session_end(actor=actor, item=item)
    return Status(204, None) if session is None else session


@queues_router.get("", response={200: QueuePage, **documented_errors()}, summary="Queues")
def list_queues(request: HttpRequest, params: Query[QueueListParams]) -> dict[str, Any]:
    rows = queries.queues_visible(actor=request_actor(request), service_id=params.service_id)
    return page_of(rows, params)


@queues_router.post(
    "",
    response={201: QueueOut, **documented_errors(403)},
    summary="Create a queue of a service (managers)",
)
def create_queue(request: HttpRequest, payload: QueueIn) -> Status[Queue]:
    actor = request_actor(request)
    data = payload.dict()
    try:
        service = queries.service_get(actor=actor, service_id=data.pop("service_id"))
    except Service.DoesNotExist as exc:
        raise FieldError(
            "body.service_id", f"There is no service with id {payload.service_id}."
        ) from exc
    queue = actions.queue_save(actor=actor, service=service, **data)
    return Status(201, queries.queues_visible(actor=actor).get(pk=queue.pk))


@queues_router.patch(
    "/{queue_id}",
    response={200: QueueOut, **documented_errors(403, 404)},
    summary="Rename a queue, change its routing mode or required skills (managers)",
)
def update_queue(request: HttpRequest, queue_id: DbId, payload: QueuePatch) -> Queue:
    actor = request_actor(request)
    queue = queries.queue_get(actor=actor, queue_id=queue_id)
    actions.queue_save(actor=actor, service=queue.service, queue=queue, **changes(payload))
    return queries.queues_visible(actor=actor).get(pk=queue_id)


@notifications_router.get(
    "", response={200: NotificationPage, **documented_errors()}, summary="My notifications"
)
def list_notifications(request: HttpRequest, params: Query[NotificationParams]) -> Any:
    rows = queries.notifications_mine(actor=request_actor(request), unread=params.unread)
    return page_of(rows, params)


@notifications_router.post(
    "/{notification_id}/read",
    response={200: NotificationOut, **documented_errors(404)},
    summary="Mark a notification read",
)
def read_notification(request: HttpRequest, notification_id: DbId) -> Notification:
    actor = request_actor(request)
    notification = queries.notifications_mine(actor=actor).get(pk=notification_id)
    return actions.notification_read(actor=actor, notification=notification)


@handle_time_router.get(
    "",
    response={200: list[HandleTimeRow], **documented_errors(403)},
    summary="Handle time and AHT per service (or per agent) from work sessions",
)
def get_handle_time(request: HttpRequest, params: Query[HandleTimeParams]) -> Any:
    if params.until <= params.since:
        raise FieldError("query.until", "The end of the period lies before its start.")
    return queries.handle_time(
        actor=request_actor(request),
        since=params.since,
        until=params.until,
        by=params.by,
        service_id=params.service_id,
    )


# --- Canned responses (/api/v1/canned-responses) -------------------------------------------------

canned_router = Router(tags=["canned responses"])


@canned_router.get(
    "",
    response={200: CannedResponsePage, **documented_errors(403)},
    summary="Canned responses of the services you work on",
)
def list_canned(request: HttpRequest, params: Query[CannedResponseParams]) -> dict[str, Any]:
    rows = queries.canned_responses_visible(
        actor=request_actor(request), service_id=params.service_id
    )
    return page_of(rows, params)


@canned_router.post(
    "",
    response={201: CannedResponseOut, **documented_errors(403)},
    summary="Prepare a canned response for a service (managers)",
)
def create_canned(request: HttpRequest, payload: CannedResponseIn) -> Status[CannedResponse]:
    actor = request_actor(request)
    try:
        service = queries.service_get(actor=actor, service_id=payload.service_id)
    except Service.DoesNotExist as exc:
        raise FieldError(
            "body.service_id", f"There is no service with id {payload.service_id}."
        ) from exc
    response = actions.canned_response_create(
        actor=actor, service=service, title=payload.title, body=payload.body
    )
    return Status(201, response)


@canned_router.get(
    "/{response_id}",
    response={200: CannedResponseOut, **documented_errors(403, 404)},
    summary="One canned response",
)
def get_canned(request: HttpRequest, response_id: DbId) -> CannedResponse:
    return queries.canned_response_get(actor=request_actor(request), response_id=response_id)


@canned_router.patch(
    "/{response_id}",
    response={200: CannedResponseOut, **documented_errors(403, 404)},
    summary="Change a canned response's title or body (managers)",
)
def update_canned(
    request: HttpRequest, response_id: DbId, payload: CannedResponsePatch
) -> CannedResponse:
    actor = request_actor(request)
    response = queries.canned_response_get(actor=actor, response_id=response_id)
    return actions.canned_response_update(actor=actor, response=response, **changes(payload))


@canned_router.delete(
    "/{response_id}",
    response={204: None, **documented_errors(403, 404)},
    summary="Remove a canned response (managers)",
)
def delete_canned(request: HttpRequest, response_id: DbId) -> Status[None]:
    actor = request_actor(request)
    response = queries.canned_response_get(actor=actor, response_id=response_id)
    actions.canned_response_delete(actor=actor, response=response)
    return Status(204, None)
