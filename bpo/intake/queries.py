"""Intake reads: mailboxes and inbound mail, for the provider's managers; file imports, for
those who may import; public forms and contacts' links."""

from __future__ import annotations

import hashlib
from itertools import islice

from django.core.files import File
from django.core.files.storage import storages
from django.db.models import QuerySet

from bpo.accounts.roles import Permission
from bpo.audit.log import record
from bpo.contracts.models import Service
from bpo.intake.models import (
    ContactLink,
    ImportJob,
    InboundEmail,
    Mailbox,
    WebForm,
)
from bpo.tenancy.context import Actor
from bpo.tenancy.scoping import all_clients_unscoped


def mailboxes_visible(*, actor: Actor, service_id: int | None = None) -> QuerySet[Mailbox]:
    """The mailboxes of the services in scope (managers)."""
    actor.require(Permission.MANAGE_INTAKE)
    rows = Mailbox.objects.select_related("service")
    return rows.filter(service_id=service_id) if service_id is not None else rows


def services_for(*, actor: Actor, permission: Permission) -> QuerySet[Service]:
    """The services in scope, by client and name, for someone who holds ``permission`` (to
    give one an address, or to import work into one)."""
    actor.require(permission)
    return Service.objects.select_related("client").order_by("client__name", "name")


def mailbox_get(*, actor: Actor, mailbox_id: int) -> Mailbox:
    """A mailbox in scope; raises Mailbox.DoesNotExist."""
    return mailboxes_visible(actor=actor).get(pk=mailbox_id)


def inbound_visible(
    *, actor: Actor, status: str | None = None, mailbox_id: int | None = None
) -> QuerySet[InboundEmail]:
    """Inbound messages in scope, newest first (managers: the failed ones wait for them)."""
    actor.require(Permission.MANAGE_INTAKE)
    rows = InboundEmail.objects.select_related("mailbox").order_by("-id")
    if status:
        rows = rows.filter(status=status)
    if mailbox_id is not None:
        rows = rows.filter(mailbox_id=mailbox_id)
    return rows


def inbound_get(*, actor: Actor, message_id: int) -> InboundEmail:
    """An inbound message in scope; raises InboundEmail.DoesNotExist."""
    return inbound_visible(actor=actor).get(pk=message_id)


def inbound_raw(*, actor: Actor, message_id: int) -> tuple[InboundEmail, File]:
    """A message's raw bytes as they arrived, opened for reading: a view of personal data,
    written to the access log."""
    message = inbound_get(actor=actor, message_id=message_id)
    content = storages["mail"].open(message.stored_name, "rb")
    record("inbound_email.raw_viewed", obj=message, after={"size": message.size})
    return message, content


def web_forms_visible(*, actor: Actor) -> QuerySet[WebForm]:
    """The public forms of the services in scope (managers)."""
    actor.require(Permission.MANAGE_INTAKE)
    return WebForm.objects.select_related("service__client").order_by("client__name", "title")


def web_form_get(*, actor: Actor, form_id: int) -> WebForm:
    """A public form in scope; raises WebForm.DoesNotExist."""
    return web_forms_visible(actor=actor).get(pk=form_id)


def public_form(key: str) -> WebForm | None:
    """The active form at a public address, whatever its client (the address decides)."""
    with all_clients_unscoped("a public form is found by its address, before any scope"):
        return (
            WebForm.objects.filter(key=key, active=True).select_related("service", "client").first()
        )


def contact_link(token: str) -> ContactLink | None:
    """The contact link of a token, whatever its client (only the token's owner has it)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    with all_clients_unscoped("a contact link is found by its token, before any scope"):
        return (
            ContactLink.objects.filter(token_digest=digest)
            .select_related("item__contact", "item__terms", "form")
            .first()
        )


def imports_visible(
    *, actor: Actor, service_id: int | None = None, status: str | None = None
) -> QuerySet[ImportJob]:
    """The file imports of the clients in scope, newest first (those who may import)."""
    actor.require(Permission.IMPORT_WORK)
    rows = ImportJob.objects.select_related("service__client", "created_by").order_by("-id")
    if service_id is not None:
        rows = rows.filter(service_id=service_id)
    return rows.filter(status=status) if status else rows


def import_get(*, actor: Actor, import_id: int) -> ImportJob:
    """An import in scope; raises ImportJob.DoesNotExist."""
    return imports_visible(actor=actor).get(pk=import_id)


def import_preview(*, actor: Actor, job: ImportJob, rows: int = 3) -> list[list[str]]:
    """The first rows of an import's file, one list of cell texts per column (what the person
    mapping the columns sees): a view of personal data, written to the access log."""
    from bpo.intake.imports import table_of
    from bpo.intake.tabular import TableError, cell_text

    actor.require(Permission.IMPORT_WORK, client_id=job.client_id)
    columns: list[list[str]] = [[] for _ in job.headers]
    try:
        for _, cells in islice((r for r in table_of(job).rows() if r[1]), rows):
            for index, column in enumerate(columns):
                column.append(cell_text(cells[index]) if index < len(cells) else "")
    except TableError:
        return columns  # the check names the problem; the preview shows what it could read
    record("import.previewed", obj=job, after={"rows": rows})
    return columns
