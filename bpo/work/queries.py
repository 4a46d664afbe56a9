"""Reads about work items, scoped to the actor's clients; clients never see internal entries."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.files import File
from django.core.files.storage import storages
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.lookups import Lookup

from bpo.accounts.models import Assignment, User
from bpo.accounts.roles import Permission
from bpo.audit.log import record
from bpo.contracts.models import Service
from bpo.tenancy.context import Actor
from bpo.work.models import Attachment, Event, Queue, WorkItem


class HasElement(Lookup):
    """``tags__has_element="vip"``: the JSON array holds this string (JSONField's ``contains``
    has no SQLite implementation)."""

    lookup_name = "has_element"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # lhs is the compiled column reference; the tag itself is a parameter.
        sql = f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE json_each.value = %s)"  # noqa: S608
        return sql, [*lhs_params, self.rhs]

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} @> %s::jsonb", [*lhs_params, json.dumps([self.rhs])]


WorkItem._meta.get_field("tags").register_lookup(HasElement)


def items_visible(
    *,
    actor: Actor,
    service_id: int | None = None,
    state: str | None = None,
    assigned_to_me: bool = False,
    queue_id: int | None = None,
    assignee_id: int | None = None,
    unassigned: bool = False,
    priority: str | None = None,
    tag: str | None = None,
    contact: str | None = None,
    external_ref: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    search: str | None = None,
) -> QuerySet[WorkItem]:
    """Work items of the clients in scope, filtered. ``contact`` is an e-mail address (any
    case); ``search`` looks for text in the title and the external reference (any case);
    ``created_after`` is inclusive, ``created_before`` exclusive."""
    items = WorkItem.objects.select_related("service", "contact", "terms__version")
    exact = {
        "service_id": service_id,
        "state": state,
        "queue_id": queue_id,
        "assignee_id": assignee_id,
        "priority": priority,
        "external_ref": external_ref,
        "contact__email__iexact": contact,
        "tags__has_element": tag,
        "created_at__gte": created_after,
        "created_at__lt": created_before,
    }
    items = items.filter(**{k: v for k, v in exact.items() if v is not None})
    if assigned_to_me:
        items = items.filter(assignee=actor.user)
    if unassigned:
        items = items.filter(assignee__isnull=True)
    if search:
        items = items.filter(Q(title__icontains=search) | Q(external_ref__icontains=search))
    return items


def item_get(*, actor: Actor, item_id: int) -> WorkItem:
    """One item in scope; raises WorkItem.DoesNotExist."""
    return items_visible(actor=actor).get(pk=item_id)


def _sees_internal(actor: Actor, client_id: int) -> bool:
    return actor.can(Permission.VIEW_INTERNAL, client_id=client_id)


def _public_attachments(rows: QuerySet[Attachment]) -> QuerySet[Attachment]:
    # Both the file's own flag and its event's: a file never outlives its event's privacy.
    return rows.filter(internal=False).exclude(event__internal=True)


def timeline(*, actor: Actor, item: WorkItem) -> QuerySet[Event]:
    """The item's events in order, each with its attachments; without internal ones for those
    who may not see them."""
    events = Event.objects.filter(item=item).select_related("actor").order_by("id")
    files = Attachment.objects.only(
        "id", "event_id", "filename", "size", "content_type", "internal"
    ).order_by("id")
    if not _sees_internal(actor, item.client_id):
        events = events.filter(internal=False)
        files = _public_attachments(files)
    return events.prefetch_related(Prefetch("attachments", queryset=files))


def attachments_of(*, actor: Actor, item: WorkItem) -> QuerySet[Attachment]:
    """The files on an item that the actor may see."""
    rows = Attachment.objects.filter(item=item)
    if not _sees_internal(actor, item.client_id):
        rows = _public_attachments(rows)
    return rows


def attachment_open(*, actor: Actor, attachment_id: int) -> tuple[Attachment, File]:
    """An attachment the actor may see and its stored file, opened for reading; raises
    Attachment.DoesNotExist. Downloading is a view of client data and goes to the access log."""
    attachment = Attachment.objects.select_related("event").get(pk=attachment_id)
    private = attachment.internal or (attachment.event is not None and attachment.event.internal)
    if private and not _sees_internal(actor, attachment.client_id):
        raise Attachment.DoesNotExist(f"Attachment {attachment_id} does not exist.")
    content = storages["attachments"].open(attachment.stored_name, "rb")
    record(
        "attachment.downloaded",
        obj=attachment,
        after={"item_id": attachment.item_id, "filename": attachment.filename},
    )
    return attachment, content


def service_get(*, actor: Actor, service_id: int) -> Service:
    """A service in scope; raises Service.DoesNotExist."""
    return Service.objects.get(pk=service_id)


def queue_get(*, actor: Actor, queue_id: int) -> Queue:
    """A queue in scope; raises Queue.DoesNotExist."""
    return Queue.objects.get(pk=queue_id)


def staff_get(*, actor: Actor, user_id: int) -> User:
    """Provider staff who work for a client in the actor's scope; raises User.DoesNotExist."""
    return (
        User.objects.filter(is_active=True, assignments__in=Assignment.objects.all())
        .distinct()
        .get(pk=user_id)
    )
