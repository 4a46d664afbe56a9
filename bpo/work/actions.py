"""Writes about work items: creating them, moving them through their life cycle, replies, notes
and attachments. Every change lands on the item's timeline and in the audit log, in one
transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import storages
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from bpo.accounts.models import User
from bpo.accounts.roles import Permission
from bpo.audit.log import record
from bpo.contracts import fields
from bpo.contracts.models import Priority, Service, ServiceTerms, VersionStatus
from bpo.tenancy.context import Actor
from bpo.tenancy.scoping import ensure_client_in_scope
from bpo.uploads import too_large_message
from bpo.work import files, queries
from bpo.work.models import (
    OPEN_STATES,
    TRANSITIONS,
    Attachment,
    Contact,
    Event,
    EventKind,
    IdempotencyKey,
    Queue,
    State,
    WorkItem,
)
from bpo.workforce.models import AgentProfile, Certification

MAX_TAGS = 20
DUPLICATE_REF = "Another item of this client has this external reference."


def agreed_terms(service: Service) -> ServiceTerms:
    """The terms under which new work for the service starts: its active contract version's."""
    terms = (
        ServiceTerms.objects.select_related("version")
        .filter(service=service, version__status=VersionStatus.ACTIVE)
        .first()
    )
    if terms is None:
        raise ValidationError(
            {
                "service_id": f"{service.name} has no agreed terms: its contract has no active "
                "version that includes it."
            }
        )
    return terms


def _event(
    item: WorkItem,
    actor: Actor | None,
    kind: str,
    *,
    body: str = "",
    internal: bool = False,
    **data: Any,
) -> Event:
    return Event.objects.create(
        client_id=item.client_id,
        item=item,
        actor=actor.user if actor else None,
        kind=kind,
        internal=internal,
        body=body,
        data=data,
    )


def contact_for(*, client_id: int, email: str, name: str = "") -> Contact:
    """The client's contact with this e-mail address, created when new."""
    email = email.strip()
    contact = Contact.objects.filter(client_id=client_id, email__iexact=email).first()
    if contact is None:
        contact = Contact(client_id=client_id, email=email, name=name.strip())
        try:
            contact.full_clean(exclude=["client"])
        except ValidationError as exc:
            raise ValidationError({"contact_email": exc.messages}) from exc
        contact.save()
    return contact


def work_item_create(
    *,
    actor: Actor,
    service: Service,
    title: str,
    description: str = "",
    priority: str = Priority.NORMAL,
    contact_email: str = "",
    contact_name: str = "",
    custom_fields: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    external_ref: str = "",
    queue: Queue | None = None,
    parent: WorkItem | None = None,
    terms: ServiceTerms | None = None,
) -> WorkItem:
    """Take in one unit of work for a service, under the service's agreed terms (``terms``
    when the caller already read them with agreed_terms)."""
    actor.require(Permission.REQUEST_WORK, client_id=service.client_id)
    ensure_client_in_scope(service.client_id)
    if terms is None:
        terms = agreed_terms(service)
    elif terms.service_id != service.pk:
        raise ValueError(f"Terms {terms.pk} are not the terms of service {service.pk}.")
    problems: dict[str, Any] = {}
    try:
        values = fields.validate_values(terms.custom_fields, custom_fields or {})
    except ValidationError as exc:
        problems.update({f"custom_fields.{k}": v for k, v in exc.message_dict.items()})
        values = {}
    tags = [t.strip() for t in (tags or []) if t.strip()]
    if len(tags) > MAX_TAGS:
        problems["tags"] = f"At most {MAX_TAGS} tags."
    if queue is not None and queue.service_id != service.pk:
        problems["queue_id"] = "The queue belongs to another service."
    if parent is not None and parent.client_id != service.client_id:
        problems["parent_id"] = "The parent item belongs to another client."
    external_ref = external_ref.strip()
    if (
        external_ref
        and WorkItem.objects.filter(client_id=service.client_id, external_ref=external_ref).exists()
    ):
        problems["external_ref"] = DUPLICATE_REF
    if problems:
        raise ValidationError(problems)
    item = WorkItem(
        client_id=service.client_id,
        service=service,
        terms=terms,
        queue=queue,
        title=title.strip(),
        description=description,
        priority=priority,
        custom_fields=values,
        tags=tags,
        external_ref=external_ref,
        parent=parent,
    )
    try:
        # A savepoint when the caller has a transaction (bulk intake): a failure here undoes
        # this item only.
        with transaction.atomic():
            if contact_email:
                item.contact = contact_for(
                    client_id=service.client_id, email=contact_email, name=contact_name
                )
            # Field checks only: client and references were checked against the scope, the
            # external reference above, and the state is new.
            item.full_clean(
                exclude=["client", "service", "terms", "queue", "contact", "parent", "assignee"],
                validate_constraints=False,
            )
            item.save()
            _event(
                item,
                actor,
                EventKind.CREATED,
                body=description,
                priority=item.priority,
                service=service.key,
                version=terms.version.number,
            )
            record(
                "work_item.created",
                obj=item,
                after={
                    "title": item.title,
                    "service": service.key,
                    "priority": item.priority,
                    "external_ref": item.external_ref,
                },
            )
    except IntegrityError:
        # A concurrent create took the same external reference after the check above.
        if external_ref and (
            WorkItem.objects.filter(client_id=service.client_id, external_ref=external_ref).exists()
        ):
            raise ValidationError({"external_ref": DUPLICATE_REF}) from None
        raise
    return item


class IntakeLookups:
    """The services (with their agreed terms), queues and parent items that one request names,
    each read once however many items name it. Failed look-ups are remembered too."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self._services: dict[int, tuple[Service, ServiceTerms] | ValidationError] = {}
        self._queues: dict[int, Queue | None] = {}
        self._parents: dict[int, WorkItem | None] = {}

    def service(self, service_id: int) -> tuple[Service, ServiceTerms]:
        """The service in the actor's scope and its agreed terms; ValidationError if neither."""
        if service_id not in self._services:
            try:
                service = queries.service_get(actor=self.actor, service_id=service_id)
                self._services[service_id] = (service, agreed_terms(service))
            except Service.DoesNotExist:
                self._services[service_id] = ValidationError(
                    {"service_id": f"There is no service with id {service_id}."}
                )
            except ValidationError as exc:
                self._services[service_id] = exc
        found = self._services[service_id]
        if isinstance(found, ValidationError):
            raise found
        return found

    def queue(self, queue_id: int) -> Queue | None:
        """The queue in the actor's scope, or None."""
        if queue_id not in self._queues:
            try:
                self._queues[queue_id] = queries.queue_get(actor=self.actor, queue_id=queue_id)
            except Queue.DoesNotExist:
                self._queues[queue_id] = None
        return self._queues[queue_id]

    def parent(self, parent_id: int) -> WorkItem | None:
        """The work item in the actor's scope, or None."""
        if parent_id not in self._parents:
            try:
                self._parents[parent_id] = queries.item_get(actor=self.actor, item_id=parent_id)
            except WorkItem.DoesNotExist:
                self._parents[parent_id] = None
        return self._parents[parent_id]


def work_item_submit(
    *,
    actor: Actor,
    service_id: int,
    queue_id: int | None = None,
    parent_id: int | None = None,
    lookups: IntakeLookups | None = None,
    **details: Any,
) -> WorkItem:
    """Take in one unit of work named by ids, as an API request or an import row names it:
    each id is checked against the actor's scope, then work_item_create takes it in."""
    lookups = lookups or IntakeLookups(actor)
    problems: dict[str, Any] = {}
    service = terms = queue = parent = None
    try:
        service, terms = lookups.service(service_id)
    except ValidationError as exc:
        problems.update(exc.message_dict)
    if queue_id is not None and (queue := lookups.queue(queue_id)) is None:
        problems["queue_id"] = f"There is no queue with id {queue_id}."
    if parent_id is not None and (parent := lookups.parent(parent_id)) is None:
        problems["parent_id"] = f"There is no work item with id {parent_id}."
    if problems:
        raise ValidationError(problems)
    assert service is not None
    return work_item_create(
        actor=actor, service=service, terms=terms, queue=queue, parent=parent, **details
    )


def work_item_bulk_create(
    *, actor: Actor, requests: Mapping[int, dict[str, Any]]
) -> dict[int, WorkItem | ValidationError]:
    """Take in many items in one transaction, each on its own: a bad item is rolled back to its
    savepoint and reported (keyed by its index), the good ones are created. Services, terms,
    queues and parents are read once for the whole batch."""
    actor.require(Permission.REQUEST_WORK)
    lookups = IntakeLookups(actor)
    outcomes: dict[int, WorkItem | ValidationError] = {}
    with transaction.atomic():
        for index, details in requests.items():
            try:  # work_item_create's own atomic block is this item's savepoint
                outcomes[index] = work_item_submit(actor=actor, lookups=lookups, **details)
            except ValidationError as exc:
                outcomes[index] = exc
            except PermissionDenied as exc:
                outcomes[index] = ValidationError(str(exc))
    return outcomes


def work_item_transition(*, actor: Actor, item: WorkItem, state: str, reason: str = "") -> WorkItem:
    """Move an item through its life cycle (new, open, pending, resolved, closed, cancelled)."""
    actor.require(Permission.HANDLE_WORK, client_id=item.client_id)
    state = str(getattr(state, "value", state))
    with transaction.atomic():
        locked = WorkItem.objects.select_for_update().get(pk=item.pk)
        if state not in TRANSITIONS.get(locked.state, frozenset()):
            allowed = ", ".join(sorted(TRANSITIONS.get(locked.state, ()))) or "none"
            raise ValidationError(
                {
                    "state": (
                        f"An item that is {locked.get_state_display().lower()} cannot become "
                        f"{state!r}; allowed next states: {allowed}."
                    )
                }
            )
        before = locked.state
        locked.state = state
        now = timezone.now()
        if state == State.RESOLVED:
            locked.resolved_at = now
        if state == State.CLOSED:
            locked.closed_at = now
        if before == State.RESOLVED and state == State.OPEN:
            locked.resolved_at = None
        locked.save(update_fields=["state", "resolved_at", "closed_at", "updated_at"])
        _event(locked, actor, EventKind.STATE, body=reason, before=before, after=state)
        record(
            "work_item.state_changed",
            obj=locked,
            before={"state": before},
            after={"state": state, "reason": reason},
        )
    return locked


PRIORITY_RANK = Case(
    When(priority=Priority.URGENT, then=Value(0)),
    When(priority=Priority.HIGH, then=Value(1)),
    When(priority=Priority.NORMAL, then=Value(2)),
    default=Value(3),
)


def _assign(actor: Actor, item: WorkItem, agent: User, reason: str) -> WorkItem:
    before = item.assignee_id
    item.assignee = agent
    item.save(update_fields=["assignee", "updated_at"])
    _event(
        item,
        actor,
        EventKind.ASSIGNED,
        internal=True,
        body=reason,
        agent=agent.email,
        previous=before,
    )
    record(
        "work_item.assigned",
        obj=item,
        before={"assignee_id": before},
        after={"assignee_id": agent.pk, "reason": reason},
    )
    return item


def work_item_assign(*, actor: Actor, item: WorkItem, agent: User, reason: str) -> WorkItem:
    """A manager assigns or transfers an item by hand, with a reason, to a certified agent."""
    actor.require(Permission.MANAGE_AGENTS, client_id=item.client_id)
    if not reason.strip():
        raise ValidationError({"reason": "Say why: it goes on the item's timeline."})
    if not Certification.objects.filter(user=agent, service_id=item.service_id).exists():
        raise ValidationError(
            {"agent_id": f"{agent.email} is not certified for this service; certify them first."}
        )
    with transaction.atomic():
        locked = WorkItem.objects.select_for_update().get(pk=item.pk)
        if locked.state not in OPEN_STATES:
            raise ValidationError({"agent_id": f"The item is {locked.state}; nothing to assign."})
        return _assign(actor, locked, agent, reason.strip())


def work_item_transfer(
    *,
    actor: Actor,
    item: WorkItem,
    reason: str,
    queue: Queue | None = None,
    agent: User | None = None,
) -> WorkItem:
    """A manager moves an open item to another queue of its service and/or to another
    certified agent, saying why. Moved to a queue without an agent, it is unassigned and waits
    there for the next agent."""
    actor.require(Permission.MANAGE_AGENTS, client_id=item.client_id)
    problems: dict[str, str] = {}
    reason = reason.strip()
    if not reason:
        problems["reason"] = "Say why: it goes on the item's timeline."
    if queue is None and agent is None:
        problems["queue_id"] = "Name the queue, the agent, or both, that the item moves to."
    if queue is not None and queue.service_id != item.service_id:
        problems["queue_id"] = (
            f"The queue {queue.name!r} belongs to another service; an item moves only between "
            "the queues of its own service."
        )
    if (
        agent is not None
        and not Certification.objects.filter(user=agent, service_id=item.service_id).exists()
    ):
        problems["agent_id"] = f"{agent.email} is not certified for this service; certify them."
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        locked = WorkItem.objects.select_for_update().get(pk=item.pk)
        if locked.state not in OPEN_STATES:
            raise ValidationError(
                {"queue_id": f"The item is {locked.state}; it stays where it is."}
            )
        before = {"queue_id": locked.queue_id, "assignee_id": locked.assignee_id}
        if queue is not None:
            locked.queue = queue
        locked.assignee = agent
        after = {"queue_id": locked.queue_id, "assignee_id": locked.assignee_id}
        if after == before:
            raise ValidationError(
                {"queue_id": "The item is already there, with that agent; nothing to move."}
            )
        locked.save(update_fields=["queue", "assignee", "updated_at"])
        _event(
            locked,
            actor,
            EventKind.TRANSFERRED,
            internal=True,
            body=reason,
            before=before,
            after=after,
            queue=locked.queue.name if locked.queue else None,
            agent=agent.email if agent else None,
        )
        record(
            "work_item.transferred", obj=locked, before=before, after={**after, "reason": reason}
        )
    return locked


def work_item_next(*, actor: Actor) -> WorkItem | None:
    """Get next: the best unassigned item the agent is certified for, now assigned to them.

    Highest priority first, then the oldest. Under any concurrency an item goes to exactly one
    agent: on PostgreSQL the candidate row is locked with SKIP LOCKED, so concurrent agents take
    different items without waiting; SQLite serialises writers (IMMEDIATE transactions).
    Returns None when nothing is waiting or the agent is at capacity.
    """
    actor.require(Permission.HANDLE_WORK)
    user = actor.user
    profile, _ = AgentProfile.objects.get_or_create(user=user)
    with transaction.atomic():
        load = WorkItem.objects.filter(assignee=user, state__in=OPEN_STATES).count()
        if load >= profile.capacity:
            return None
        candidates = (
            WorkItem.objects.filter(
                assignee__isnull=True,
                state__in=[State.NEW, State.OPEN],
                service_id__in=Certification.objects.filter(user=user).values("service_id"),
            )
            .annotate(rank=PRIORITY_RANK)
            .order_by("rank", "created_at", "id")
        )
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        item = candidates.first()
        if item is None:
            return None
        return _assign(actor, item, user, "get next")


def work_item_note(*, actor: Actor, item: WorkItem, body: str) -> Event:
    """Add an internal note: for the provider's people only, never shown to the client."""
    actor.require(Permission.HANDLE_WORK, client_id=item.client_id)
    body = _text(body)
    with transaction.atomic():
        return _note(actor, item, body)


def work_item_reply(*, actor: Actor, item: WorkItem, body: str) -> Event:
    """Reply to the contact (stored as an outbound message; e-mail delivery comes with intake).

    A first reply opens a new item."""
    actor.require(Permission.HANDLE_WORK, client_id=item.client_id)
    body = _text(body)
    with transaction.atomic():
        return _reply(actor, WorkItem.objects.select_for_update().get(pk=item.pk), body)


def work_item_message_in(*, actor: Actor, item: WorkItem, body: str) -> Event:
    """A message from the client side; it reopens a resolved item."""
    actor.require(Permission.REQUEST_WORK, client_id=item.client_id)
    body = _text(body)
    with transaction.atomic():
        return _message_in(actor, WorkItem.objects.select_for_update().get(pk=item.pk), body)


def _note(actor: Actor, item: WorkItem, body: str) -> Event:
    event = _event(item, actor, EventKind.NOTE, body=body, internal=True)
    record("work_item.note_added", obj=item, after={"event_id": event.pk})
    return event


def _reply(actor: Actor, locked: WorkItem, body: str) -> Event:
    if locked.state in (State.CLOSED, State.CANCELLED):
        raise ValidationError({"body": f"The item is {locked.state}; it takes no replies."})
    event = _event(locked, actor, EventKind.MESSAGE_OUT, body=body)
    if locked.state == State.NEW:
        locked.state = State.OPEN
        locked.save(update_fields=["state", "updated_at"])
        _event(locked, actor, EventKind.STATE, before=State.NEW, after=State.OPEN)
    record("work_item.replied", obj=locked, after={"event_id": event.pk})
    return event


def _message_in(actor: Actor, locked: WorkItem, body: str) -> Event:
    if locked.state in (State.CLOSED, State.CANCELLED):
        raise ValidationError({"body": f"The item is {locked.state}; open a new one."})
    event = _event(locked, actor, EventKind.MESSAGE_IN, body=body)
    if locked.state in (State.RESOLVED, State.PENDING_CONTACT):
        before = locked.state
        locked.state = State.OPEN
        locked.resolved_at = None
        locked.save(update_fields=["state", "resolved_at", "updated_at"])
        _event(
            locked,
            actor,
            EventKind.STATE,
            before=before,
            after=State.OPEN,
            reason="new message",
        )
    record("work_item.message_received", obj=locked, after={"event_id": event.pk})
    return event


def _text(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something."})
    return body


def work_item_attach(
    *,
    actor: Actor,
    item: WorkItem,
    upload: File,
    note: str = "",
    internal: bool | None = None,
) -> Attachment:
    """Attach a file to an item, with an optional note that carries it on the timeline.

    Provider staff attach internal files by default (``internal=False`` shares one with the
    client, and its note becomes a reply); a client user's files are public, and their note is
    a message from the client's side. The type is sniffed from the bytes. The file is stored
    before the rows are written and removed again if writing them fails, so there is never a
    row without its file; a refused file (empty, too large) writes nothing at all.
    """
    actor.require(Permission.REQUEST_WORK, client_id=item.client_id)
    handler = actor.can(Permission.HANDLE_WORK, client_id=item.client_id)
    internal = handler if internal is None else internal
    if internal and not handler:
        raise ValidationError({"internal": "Only the provider's people add internal files."})
    filename = files.clean_filename(upload.name or "")
    limit = settings.OPENBPO_MAX_ATTACHMENT_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError({"file": too_large_message(filename, limit)})
    facts = files.inspect(upload, filename)
    if facts.size == 0:
        raise ValidationError({"file": f"{filename!r} is empty: there is nothing to attach."})
    if facts.size > limit:
        raise ValidationError({"file": too_large_message(filename, limit)})
    note = (note or "").strip()
    storage = storages["attachments"]
    stored_name = storage.save(
        f"{item.client_id}/{timezone.now():%Y-%m}/{uuid.uuid4().hex}", upload
    )
    try:
        with transaction.atomic():
            locked = WorkItem.objects.select_for_update().get(pk=item.pk)
            event = None
            if note and internal:
                event = _note(actor, locked, note)
            elif note and handler:
                event = _reply(actor, locked, note)
            elif note:
                event = _message_in(actor, locked, note)
            attachment = Attachment.objects.create(
                client_id=locked.client_id,
                item=locked,
                event=event,
                internal=internal,
                filename=filename,
                content_type=facts.content_type,
                size=facts.size,
                sha256=facts.sha256,
                stored_name=stored_name,
                uploaded_by=actor.user,
            )
            record(
                "work_item.attachment_added",
                obj=locked,
                after={
                    "attachment_id": attachment.pk,
                    "filename": filename,
                    "content_type": facts.content_type,
                    "size": facts.size,
                    "sha256": facts.sha256,
                    "internal": internal,
                    "event_id": event.pk if event else None,
                },
            )
    except BaseException:
        storage.delete(stored_name)
        raise
    return attachment


IDEMPOTENCY_KEY_TTL = timedelta(hours=24)


class IdempotencyKeyReused(Exception):
    """An Idempotency-Key comes back with a different request than the one it was first used
    for."""


@dataclass(frozen=True)
class IdempotentResponse:
    """The response to a request that carried an Idempotency-Key, and whether it is a replay."""

    status: int
    body: str
    replayed: bool


def idempotency_key_use(
    *,
    actor: Actor,
    key: str,
    fingerprint: str,
    run: Callable[[], tuple[int, str]],
) -> IdempotentResponse:
    """Run a create at most once per person and Idempotency-Key.

    The key's row is inserted first, in the same transaction as the create, and completed with
    the response; the unique constraint makes a concurrent request with the same key wait for
    that transaction, then find the finished row and replay it. A create that fails rolls back
    with its key, so the request can be retried with the same key. The same key with another
    request (``fingerprint``: method, path and body) raises IdempotencyKeyReused.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                claim = IdempotencyKey.objects.create(
                    user=actor.user, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            stored = IdempotencyKey.objects.get(user=actor.user, key=key)
            if stored.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was used for a different request (another path or "
                    "body); use a new key for a new request."
                ) from None
            return IdempotentResponse(
                status=stored.status, body=stored.response_body, replayed=True
            )
        status, body = run()
        claim.status, claim.response_body = status, body
        claim.save(update_fields=["status", "response_body"])
    return IdempotentResponse(status=status, body=body, replayed=False)


def idempotency_keys_purge(*, older_than: timedelta = IDEMPOTENCY_KEY_TTL) -> int:
    """Forget Idempotency-Keys and their stored responses after a day (a periodic job); a
    request retried later than that creates anew. Returns how many were forgotten."""
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
        if deleted:
            record(
                "idempotency_keys.purged",
                object_type="work.idempotencykey",
                object_repr=f"{deleted} keys created before {cutoff:%Y-%m-%d %H:%M} UTC",
                after={"deleted": deleted, "created_before": cutoff},
            )
    return deleted
