"""Intake API schemas."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool, StrictInt, StrictStr

from bpo.apitypes import DbId, QueryText, StrictDbId
from bpo.intake.models import ImapSecurity, ImportStatus, InboundStatus
from bpo.intake.tabular import ENCODINGS
from bpo.paging import PageParams


class MailboxIn(Schema):
    model_config = ConfigDict(extra="forbid")

    service_id: StrictDbId
    address: StrictStr = Field(min_length=3, max_length=254)
    display_name: StrictStr = Field(default="", max_length=120)
    active: StrictBool = True
    acknowledge: StrictBool = Field(
        default=True, description="Answer a new request with its number (never to machines)."
    )
    imap_host: StrictStr = Field(
        default="", max_length=253, description="Fetch mail from this IMAP server; empty: SMTP."
    )
    imap_port: StrictInt | None = Field(default=None, ge=1, le=65535)
    imap_security: ImapSecurity = ImapSecurity.SSL
    imap_folder: StrictStr = Field(default="INBOX", max_length=200)
    imap_username: StrictStr = Field(default="", max_length=200)
    imap_password: StrictStr | None = Field(
        default=None, max_length=500, description="Stored encrypted; never returned."
    )


class MailboxPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    service_id: StrictDbId | None = None
    address: StrictStr | None = Field(default=None, min_length=3, max_length=254)
    display_name: StrictStr | None = Field(default=None, max_length=120)
    active: StrictBool | None = None
    acknowledge: StrictBool | None = None
    imap_host: StrictStr | None = Field(default=None, max_length=253)
    imap_port: StrictInt | None = Field(default=None, ge=1, le=65535)
    imap_security: ImapSecurity | None = None
    imap_folder: StrictStr | None = Field(default=None, max_length=200)
    imap_username: StrictStr | None = Field(default=None, max_length=200)
    imap_password: StrictStr | None = Field(default=None, max_length=500)


class MailboxOut(Schema):
    id: int
    client_id: int
    service_id: int
    address: str
    display_name: str
    active: bool
    acknowledge: bool
    imap_host: str
    imap_port: int | None
    imap_security: ImapSecurity
    imap_folder: str
    imap_username: str
    last_polled_at: datetime | None
    last_poll_error: str = Field(description="Why the last IMAP poll failed, if it did.")


class MailboxPage(Schema):
    items: list[MailboxOut]
    next_cursor: int | None


class MailboxParams(PageParams):
    service_id: DbId | None = None


class InboundOut(Schema):
    id: int
    client_id: int
    mailbox_id: int
    channel: str
    received_at: datetime
    envelope_from: str
    size: int
    sha256: str
    message_id: str
    subject: str
    from_email: str
    status: InboundStatus
    automatic: str = Field(description="auto_reply, bounce or list when a machine sent it.")
    oversize: bool
    problems: list[str] = Field(description="What could not be read, in words.")
    error: str = Field(description="Why processing failed (status failed).")
    attempts: int
    processed_at: datetime | None
    item_id: int | None


class InboundPage(Schema):
    items: list[InboundOut]
    next_cursor: int | None


class InboundParams(PageParams):
    status: InboundStatus | None = None
    mailbox_id: DbId | None = None


class ImportForm(Schema):
    """The form fields beside the uploaded file."""

    service_id: DbId = Field(description="The service the file's items are for.")
    queue_id: DbId | None = Field(
        default=None, description="The queue they wait in (default: the service's default queue)."
    )
    encoding: QueryText = Field(
        default="",
        max_length=20,
        description="A CSV file's encoding, one of "
        + ", ".join(ENCODINGS)
        + "; empty: UTF-8, or UTF-16 with a byte-order mark.",
    )


class ImportProblem(Schema):
    row: int | None = Field(description="The row as a spreadsheet numbers it (header = 1).")
    column: str = Field(description="The column's header and letter, as in 'Priority (C)'.")
    message: str


class ImportOut(Schema):
    id: int
    client_id: int
    service_id: int
    queue_id: int | None
    created_by_id: int
    created_at: datetime
    file_name: str
    size: int
    sha256: str
    kind: str = Field(description="csv or xlsx.")
    encoding: str
    delimiter: str
    headers: list[str]
    mapping: list[str] = Field(
        description="Per column, the field it fills: a work item field, 'cf:<name>' for a "
        "custom field, or '' for a column left out."
    )
    status: ImportStatus
    rows_total: int
    rows_existing: int = Field(description="Rows whose external reference the client has.")
    error_count: int
    errors: list[ImportProblem] = Field(description="The first problems the check found.")
    checked_at: datetime | None
    rows_done: int
    items_created: int
    items_skipped: int
    percent: int
    started_at: datetime | None
    finished_at: datetime | None
    failure: str


class ImportDetailOut(ImportOut):
    targets: dict[str, str] = Field(description="What a column can fill: {target: label}.")


class ImportPage(Schema):
    items: list[ImportOut]
    next_cursor: int | None


class ImportParams(PageParams):
    service_id: DbId | None = None
    status: ImportStatus | None = None


class ImportMappingIn(Schema):
    model_config = ConfigDict(extra="forbid")

    mapping: list[StrictStr] = Field(
        max_length=200, description="One target per column, in the columns' order."
    )
