"""Writes about work items: creating them, moving them through their life cycle, replies and
notes. Every change lands on the item's timeline and in the audit log, in one transaction."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
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
from bpo.work.models import (
    OPEN_STATES,
    TRANSITIONS,
    CannedResponse,
    Contact,
    Event,
    EventKind,
    Queue,
    State,
    WorkItem,
)
from bpo.workforce.models import AgentProfile, Certification

MAX_TAGS = 20


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
) -> WorkItem:
    """Take in one unit of work for a service, under the service's agreed terms."""
    actor.require(Permission.REQUEST_WORK, client_id=service.client_id)
    ensure_client_in_scope(service.client_id)
    terms = agreed_terms(service)
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
        external_ref=external_ref.strip(),
        parent=parent,
    )
    with transaction.atomic():
        if contact_email:
            item.contact = contact_for(
                client_id=service.client_id, email=contact_email, name=contact_name
            )
        item.full_clean(exclude=["service", "terms", "queue", "contact", "parent", "assignee"])
        try:
            with transaction.atomic():
                item.save()
        except IntegrityError as exc:  # a concurrent create with the same external reference
            raise ValidationError(
                {"external_ref": "Another item of this client has this external reference."}
            ) from exc
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
    return item


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


# What work_item_update may change; the life cycle and assignment have their own actions.
EDITABLE_FIELDS = ("title", "description", "priority", "tags", "custom_fields", "external_ref")
FINAL_STATES = frozenset({State.CLOSED, State.CANCELLED})
MAX_TAG_LENGTH = 60


def work_item_update(*, actor: Actor, item: WorkItem, **changes: Any) -> WorkItem:
    """Change an item's details (EDITABLE_FIELDS); the timeline shows each change's before/after.

    ``custom_fields`` are merged into the item's values (a field given as None is cleared) and
    checked against the schema of the terms the item started under. Closed and cancelled items
    are final and refuse every change.
    """
    actor.require(Permission.HANDLE_WORK, client_id=item.client_id)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"work_item_update cannot change {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        locked = (
            WorkItem.objects.select_for_update(of=("self",)).select_related("terms").get(pk=item.pk)
        )
        if locked.state in FINAL_STATES:
            raise ValidationError(
                f"Item #{locked.pk} is {locked.get_state_display().lower()}: its details are "
                "final and no longer change."
            )
        values = _clean_changes(locked, changes)
        before = {name: getattr(locked, name) for name in values}
        changed = [
            name for name in EDITABLE_FIELDS if name in values and values[name] != before[name]
        ]
        if not changed:
            return locked
        for name in changed:
            setattr(locked, name, values[name])
        locked.full_clean(
            exclude=["service", "terms", "queue", "contact", "parent", "assignee"],
            validate_unique=False,
            validate_constraints=False,
        )
        try:
            with transaction.atomic():
                locked.save(update_fields=[*changed, "updated_at"])
        except IntegrityError as exc:  # a concurrent change took the same external reference
            raise ValidationError(
                {"external_ref": "Another item of this client has this external reference."}
            ) from exc
        if "priority" in changed:
            _event(
                locked,
                actor,
                EventKind.PRIORITY,
                before=before["priority"],
                after=locked.priority,
            )
        details = {
            name: {"before": before[name], "after": values[name]}
            for name in changed
            if name != "priority"
        }
        if details:
            _event(locked, actor, EventKind.FIELDS, changes=details)
        record(
            "work_item.updated",
            obj=locked,
            before={name: before[name] for name in changed},
            after={name: values[name] for name in changed},
        )
    return locked


def _clean_changes(item: WorkItem, changes: dict[str, Any]) -> dict[str, Any]:
    """The requested changes, cleaned; a ValidationError names every field that is wrong."""
    problems: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if "title" in changes:
        values["title"] = (changes["title"] or "").strip()
        if not values["title"]:
            problems["title"] = "Give the item a title."
    if "description" in changes:
        values["description"] = changes["description"] or ""
    if "priority" in changes:
        priority = str(getattr(changes["priority"], "value", changes["priority"]))
        if priority not in Priority.values:
            problems["priority"] = (
                f"{priority!r} is not a priority; choose one of {', '.join(Priority.values)}."
            )
        values["priority"] = priority
    if "tags" in changes:
        tags = list(dict.fromkeys(t.strip() for t in (changes["tags"] or []) if t.strip()))
        if len(tags) > MAX_TAGS:
            problems["tags"] = f"At most {MAX_TAGS} tags."
        elif any(len(t) > MAX_TAG_LENGTH for t in tags):
            problems["tags"] = f"A tag has at most {MAX_TAG_LENGTH} characters."
        values["tags"] = tags
    if "custom_fields" in changes:
        given = changes["custom_fields"] or {}
        if not isinstance(given, dict):
            problems["custom_fields"] = "Expected an object of field name → value."
        else:
            merged = {k: v for k, v in {**item.custom_fields, **given}.items() if v is not None}
            try:
                values["custom_fields"] = fields.validate_values(item.terms.custom_fields, merged)
            except ValidationError as exc:
                problems.update({f"custom_fields.{k}": v for k, v in exc.message_dict.items()})
    if "external_ref" in changes:
        values["external_ref"] = (changes["external_ref"] or "").strip()
        taken = (
            WorkItem.objects.filter(client_id=item.client_id, external_ref=values["external_ref"])
            .exclude(pk=item.pk)
            .values_list("pk", flat=True)
            .first()
            if values["external_ref"]
            else None
        )
        if taken is not None:
            problems["external_ref"] = (
                f"Item #{taken} of this client already has the external reference "
                f"{values['external_ref']!r}."
            )
    if problems:
        raise ValidationError(problems)
    return values


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
        event = _event(item, actor, EventKind.NOTE, body=body, internal=True)
        record("work_item.note_added", obj=item, after={"event_id": event.pk})
    return event


def work_item_reply(*, actor: Actor, item: WorkItem, body: str) -> Event:
    """Reply to the contact (stored as an outbound message; e-mail delivery comes with intake).

    A first reply opens a new item."""
    actor.require(Permission.HANDLE_WORK, client_id=item.client_id)
    body = _text(body)
    with transaction.atomic():
        locked = WorkItem.objects.select_for_update().get(pk=item.pk)
        if locked.state in (State.CLOSED, State.CANCELLED):
            raise ValidationError({"body": f"The item is {locked.state}; it takes no replies."})
        event = _event(locked, actor, EventKind.MESSAGE_OUT, body=body)
        if locked.state == State.NEW:
            locked.state = State.OPEN
            locked.save(update_fields=["state", "updated_at"])
            _event(locked, actor, EventKind.STATE, before=State.NEW, after=State.OPEN)
        record("work_item.replied", obj=locked, after={"event_id": event.pk})
    return event


def work_item_message_in(*, actor: Actor, item: WorkItem, body: str) -> Event:
    """A message from the client side; it reopens a resolved item."""
    actor.require(Permission.REQUEST_WORK, client_id=item.client_id)
    body = _text(body)
    with transaction.atomic():
        locked = WorkItem.objects.select_for_update().get(pk=item.pk)
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


# --- Canned responses ----------------------------------------------------------------------------

MAX_CANNED_BODY = 20_000


def canned_response_create(
    *, actor: Actor, service: Service, title: str, body: str
) -> CannedResponse:
    """Prepare a reply that the service's agents can insert with its placeholders filled in."""
    actor.require(Permission.MANAGE_AGENTS, client_id=service.client_id)
    ensure_client_in_scope(service.client_id)
    response = CannedResponse(client_id=service.client_id, service=service)
    with transaction.atomic():
        _canned_save(response, title=title, body=body)
        record(
            "canned_response.created",
            obj=response,
            after={"service": service.key, "title": response.title, "body": response.body},
        )
    return response


def canned_response_update(
    *, actor: Actor, response: CannedResponse, **changes: Any
) -> CannedResponse:
    """Change a canned response's title or body."""
    actor.require(Permission.MANAGE_AGENTS, client_id=response.client_id)
    unknown = set(changes) - {"title", "body"}
    if unknown:
        raise TypeError(f"canned_response_update cannot change {', '.join(sorted(unknown))}.")
    before = {"title": response.title, "body": response.body}
    with transaction.atomic():
        _canned_save(
            response,
            title=changes.get("title", response.title),
            body=changes.get("body", response.body),
        )
        after = {"title": response.title, "body": response.body}
        if after != before:
            record("canned_response.updated", obj=response, before=before, after=after)
    return response


def canned_response_delete(*, actor: Actor, response: CannedResponse) -> None:
    """Remove a canned response; replies already sent with it stay as they were sent."""
    actor.require(Permission.MANAGE_AGENTS, client_id=response.client_id)
    with transaction.atomic():
        record(
            "canned_response.deleted",
            obj=response,
            before={"service_id": response.service_id, "title": response.title},
        )
        response.delete()


def _canned_save(response: CannedResponse, *, title: str, body: str) -> None:
    problems: dict[str, str] = {}
    response.title = (title or "").strip()
    response.body = (body or "").strip()
    if not response.title:
        problems["title"] = "Give the response a title: agents pick it by its title."
    elif (
        CannedResponse.objects.filter(service_id=response.service_id, title__iexact=response.title)
        .exclude(pk=response.pk)
        .exists()
    ):
        problems["title"] = (
            f"{response.service.name} already has a canned response titled {response.title!r}."
        )
    if not response.body:
        problems["body"] = "Write the response."
    elif len(response.body) > MAX_CANNED_BODY:
        problems["body"] = f"At most {MAX_CANNED_BODY:,} characters."
    if problems:
        raise ValidationError(problems)
    response.full_clean(exclude=["client", "service"], validate_constraints=False)
    try:
        with transaction.atomic():
            response.save()
    except IntegrityError as exc:  # the same title saved concurrently
        raise ValidationError(
            {"title": f"{response.service.name} already has a canned response with this title."}
        ) from exc
