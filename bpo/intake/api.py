"""API: mailboxes, and the inbound mail of each (received, processed, failed) with retry; file
imports of work items (upload, mapping, check, start, progress, resume)."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from bpo.accounts.roles import Permission
from bpo.apitypes import DbId, changes
from bpo.contracts.models import Service
from bpo.errors import FieldError, documented_errors
from bpo.intake import actions, imports, queries
from bpo.intake.models import ImportJob, InboundEmail, Mailbox
from bpo.intake.schemas import (
    ImportDetailOut,
    ImportForm,
    ImportMappingIn,
    ImportOut,
    ImportPage,
    ImportParams,
    InboundOut,
    InboundPage,
    InboundParams,
    MailboxIn,
    MailboxOut,
    MailboxPage,
    MailboxParams,
    MailboxPatch,
)
from bpo.intake.tabular import ENCODINGS
from bpo.paging import page_of
from bpo.tenancy.context import Actor, request_actor
from bpo.work import queries as work_queries
from bpo.work.actions import agreed_terms
from bpo.work.models import Queue

mailboxes_router = Router(tags=["intake"])
inbound_router = Router(tags=["intake"])
imports_router = Router(tags=["intake"])


def _service(actor: Actor, service_id: int) -> Service:
    try:
        return work_queries.service_get(actor=actor, service_id=service_id)
    except Service.DoesNotExist as exc:
        raise FieldError("body.service_id", f"There is no service with id {service_id}.") from exc


@mailboxes_router.get(
    "", response={200: MailboxPage, **documented_errors(403)}, summary="Mailboxes (managers)"
)
def list_mailboxes(request: HttpRequest, params: Query[MailboxParams]) -> dict[str, Any]:
    rows = queries.mailboxes_visible(actor=request_actor(request), service_id=params.service_id)
    return page_of(rows, params)


@mailboxes_router.post(
    "",
    response={201: MailboxOut, **documented_errors(403)},
    summary="Give a service an inbound address (managers)",
)
def create_mailbox(request: HttpRequest, payload: MailboxIn) -> Status[Mailbox]:
    actor = request_actor(request)
    actor.require(Permission.MANAGE_INTAKE)  # before the service is looked up
    data = payload.dict()
    service = _service(actor, data.pop("service_id"))
    return Status(201, actions.mailbox_save(actor=actor, service=service, **data))


@mailboxes_router.patch(
    "/{mailbox_id}",
    response={200: MailboxOut, **documented_errors(403, 404)},
    summary="Change a mailbox: its address, service, sender name, or switch it off (managers)",
)
def update_mailbox(request: HttpRequest, mailbox_id: DbId, payload: MailboxPatch) -> Mailbox:
    actor = request_actor(request)
    mailbox = queries.mailbox_get(actor=actor, mailbox_id=mailbox_id)
    data = changes(payload)
    service = _service(actor, data.pop("service_id")) if "service_id" in data else mailbox.service
    current = {
        "address": mailbox.address,
        "display_name": mailbox.display_name,
        "active": mailbox.active,
        "acknowledge": mailbox.acknowledge,
        "imap_host": mailbox.imap_host,
        "imap_port": mailbox.imap_port,
        "imap_security": mailbox.imap_security,
        "imap_folder": mailbox.imap_folder,
        "imap_username": mailbox.imap_username,
    }
    return actions.mailbox_save(
        actor=actor, service=service, mailbox=mailbox, **{**current, **data}
    )


@inbound_router.get(
    "",
    response={200: InboundPage, **documented_errors(403)},
    summary="Inbound e-mail as it arrived, with what became of it (managers)",
)
def list_inbound(request: HttpRequest, params: Query[InboundParams]) -> dict[str, Any]:
    rows = queries.inbound_visible(
        actor=request_actor(request), status=params.status, mailbox_id=params.mailbox_id
    )
    return page_of(rows, params)


@inbound_router.get(
    "/{message_id}",
    response={200: InboundOut, **documented_errors(403, 404)},
    summary="One inbound message (managers)",
)
def get_inbound(request: HttpRequest, message_id: DbId) -> InboundEmail:
    return queries.inbound_get(actor=request_actor(request), message_id=message_id)


@inbound_router.get(
    "/{message_id}/raw",
    response={200: None, **documented_errors(403, 404)},
    summary="The message's bytes exactly as they arrived (message/rfc822; access is logged)",
)
def raw_inbound(request: HttpRequest, message_id: DbId) -> FileResponse:
    message, content = queries.inbound_raw(actor=request_actor(request), message_id=message_id)
    response = FileResponse(
        content,
        as_attachment=True,
        filename=f"message-{message.pk}.eml",
        content_type="message/rfc822",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@inbound_router.post(
    "/{message_id}/retry",
    response={200: InboundOut, **documented_errors(403, 404)},
    summary="Process a failed message again, after a fix (managers)",
)
def retry_inbound(request: HttpRequest, message_id: DbId) -> InboundEmail:
    actor = request_actor(request)
    message = queries.inbound_get(actor=actor, message_id=message_id)
    return actions.inbound_email_retry(actor=actor, message=message)


def _import_detail(job: ImportJob) -> dict[str, Any]:
    out = ImportOut.from_orm(job).dict()
    out["targets"] = imports.targets(agreed_terms(job.service))
    return out


@imports_router.post(
    "",
    response={201: ImportDetailOut, **documented_errors(403)},
    summary="Upload a CSV or XLSX file of work items (multipart); its columns are mapped by "
    "their names and, when every needed field is mapped, every row is checked",
)
def upload_import(
    request: HttpRequest, file: File[UploadedFile], form: Form[ImportForm]
) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    actor.require(Permission.IMPORT_WORK)  # before the service is looked up
    if form.encoding and form.encoding not in ENCODINGS:
        raise FieldError(
            "body.encoding", f"{form.encoding!r} is not one of {', '.join(ENCODINGS)}."
        )
    service = _service(actor, form.service_id)
    queue = None
    if form.queue_id is not None:
        try:
            queue = work_queries.queue_get(actor=actor, queue_id=form.queue_id)
        except Queue.DoesNotExist as exc:
            raise FieldError(
                "body.queue_id", f"There is no queue with id {form.queue_id}."
            ) from exc
    job = imports.import_upload(
        actor=actor,
        service=service,
        upload=file,
        file_name=file.name or "upload.csv",
        encoding=form.encoding,
        queue=queue,
    )
    return Status(201, _import_detail(job))


@imports_router.get(
    "", response={200: ImportPage, **documented_errors(403)}, summary="File imports, newest first"
)
def list_imports(request: HttpRequest, params: Query[ImportParams]) -> dict[str, Any]:
    rows = queries.imports_visible(
        actor=request_actor(request), service_id=params.service_id, status=params.status
    )
    return page_of(rows, params)


@imports_router.get(
    "/{import_id}",
    response={200: ImportDetailOut, **documented_errors(403, 404)},
    summary="One import: mapping, the check's errors by row and column, and progress",
)
def get_import(request: HttpRequest, import_id: DbId) -> dict[str, Any]:
    return _import_detail(queries.import_get(actor=request_actor(request), import_id=import_id))


@imports_router.put(
    "/{import_id}/mapping",
    response={200: ImportDetailOut, **documented_errors(403, 404)},
    summary="Set which column fills which field, and check every row again",
)
def map_import(request: HttpRequest, import_id: DbId, payload: ImportMappingIn) -> dict[str, Any]:
    actor = request_actor(request)
    job = queries.import_get(actor=actor, import_id=import_id)
    return _import_detail(imports.import_map(actor=actor, job=job, mapping=payload.mapping))


@imports_router.post(
    "/{import_id}/start",
    response={202: ImportOut, **documented_errors(403, 404)},
    summary="Start a checked import; the worker takes its rows in (follow it with GET)",
)
def start_import(request: HttpRequest, import_id: DbId) -> Status[ImportJob]:
    actor = request_actor(request)
    job = queries.import_get(actor=actor, import_id=import_id)
    return Status(202, imports.import_start(actor=actor, job=job))


@imports_router.post(
    "/{import_id}/resume",
    response={202: ImportOut, **documented_errors(403, 404)},
    summary="Go on with an import that stopped, after its last written rows",
)
def resume_import(request: HttpRequest, import_id: DbId) -> Status[ImportJob]:
    actor = request_actor(request)
    job = queries.import_get(actor=actor, import_id=import_id)
    return Status(202, imports.import_resume(actor=actor, job=job))
