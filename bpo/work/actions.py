"""Writes about work items: creating them, moving them through their life cycle, replies, notes
and attachments; routing them; their SLA clocks and work sessions. Every change lands on the
item's timeline and in the audit log, in one transaction."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Required, TypedDict, Unpack

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.db.models.query import RawQuerySet
from django.utils import timezone

from bpo.accounts.models import Assignment, User
from bpo.accounts.roles import Permission
from bpo.audit.log import record, snapshot
from bpo.bulk import insert_many, insert_rows, instances
from bpo.contracts import fields
from bpo.contracts.models import Priority, Service, ServiceTerms, VersionStatus
from bpo.tenancy.context import Actor, Forbidden
from bpo.tenancy.scoping import ensure_client_in_scope
from bpo.uploads import too_large_message
from bpo.work import clocks, files, queries, routing
from bpo.work.models import (
    OPEN_STATES,
    TRANSITIONS,
    Attachment,
    BreachCause,
    BreachExplanation,
    CannedResponse,
    Channel,
    Contact,
    Event,
    EventKind,
    IdempotencyKey,
    Notification,
    Queue,
    Routing,
    SlaClock,
    State,
    WorkItem,
    WorkSession,
)
from bpo.work.signals import item_resolved, item_resolving, reply_written
from bpo.workforce.models import AgentProfile, Certification, Presence

MAX_TAGS = 20
PRIORITIES = frozenset(Priority.values)  # Priority.values builds a new list at every use
TITLE_MAX: int = WorkItem._meta.get_field("title").max_length or 0
EXTERNAL_REF_MAX: int = WorkItem._meta.get_field("external_ref").max_length or 0
# Rows a bulk statement writes at once: well under SQLite's 32,766 bound parameters.
BULK_BATCH = 500
DUPLICATE_REF = "Another item of this client has this external reference."
EXPLANATION_FIELDS = ("cause", "note")


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
    event = Event(
        client_id=item.client_id,
        item=item,
        actor=actor.user if actor else None,
        kind=kind,
        internal=internal,
        body=body,
        data=data,
    )
    insert_many([event])  # one INSERT, no ORM compiling: every write of an item adds an event
    return event


def contact_for(*, client_id: int, email: str, name: str = "") -> Contact:
    """The client's contact with this e-mail address, created when new."""
    email = email.strip()
    contact = Contact.objects.filter(client_id=client_id, email__iexact=email).first()
    if contact is None:
        contact = Contact(client_id=client_id, email=email, name=name.strip())
        try:
            contact.full_clean(exclude=["client"], validate_constraints=False)
        except ValidationError as exc:
            raise ValidationError({"contact_email": exc.messages}) from exc
        try:
            with transaction.atomic():
                contact.save()
        except IntegrityError:  # created by a concurrent request meanwhile: use that one
            contact = Contact.objects.get(client_id=client_id, email__iexact=email)
    return contact


class ItemDetails(TypedDict, total=False):
    """What a new item may carry besides its service (see :func:`work_item_create`)."""

    title: Required[str]
    description: str
    priority: str
    contact_email: str
    contact_name: str
    custom_fields: dict[str, Any] | None
    tags: list[str] | None
    external_ref: str
    queue: Queue | None
    parent: WorkItem | None
    terms: ServiceTerms | None
    language: str
    required_skills: dict[str, int] | None
    channel: str
    deadline_at: datetime | None


def work_item_create(*, actor: Actor, service: Service, **details: Unpack[ItemDetails]) -> WorkItem:
    """Take in one unit of work for a service, under the service's agreed terms (``terms``
    when the caller already read them with agreed_terms).

    The item waits in the named queue or the service's default queue; its SLA clocks start;
    in a push queue it goes at once to the eligible available agent who has waited longest.
    The channel is 'api' unless ``channel`` says otherwise."""
    actor.require(Permission.REQUEST_WORK, client_id=service.client_id)
    ensure_client_in_scope(service.client_id)
    return _create(actor, service=service, **details)


def channel_item_create(
    *,
    service: Service,
    origin: str,
    fields_required: bool = True,
    **details: Unpack[ItemDetails],
) -> WorkItem:
    """Work that arrives with no signed-in user (an e-mail, a public web form): the channel
    has established where it comes from and for which service; the timeline shows no user and
    the audit log names ``origin`` (e.g. 'email: anna@shop.example'). ``fields_required=False``
    for a channel that cannot know the service's custom fields (e-mail): required ones may be
    missing, for the agent to complete."""
    ensure_client_in_scope(service.client_id)
    return _create(None, service=service, origin=origin, fields_required=fields_required, **details)


def item_details_check(
    terms: ServiceTerms,
    *,
    title: str,
    description: str = "",
    priority: str = Priority.NORMAL,
    contact_email: str = "",
    contact_name: str = "",
    custom_fields: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    external_ref: str = "",
    language: str = "",
    required_skills: dict[str, int] | None = None,
    fields_required: bool = True,
) -> dict[str, Any]:
    """The checks of a new item's own values that need no database: the same for one item and
    for a file of them. Returns the values cleaned; a ValidationError keyed by field path lists
    every problem at once (``custom_fields.x`` for a custom field)."""
    problems: dict[str, Any] = {}
    title = title.strip()
    if not title:
        problems["title"] = "A title is required."
    elif len(title) > TITLE_MAX:
        problems["title"] = f"At most {TITLE_MAX} characters (this one has {len(title)})."
    if priority not in PRIORITIES:
        problems["priority"] = f"{priority!r} is not one of {', '.join(Priority.values)}."
    try:
        values = fields.validate_values(
            terms.custom_fields, custom_fields or {}, require=fields_required
        )
    except ValidationError as exc:
        problems.update({f"custom_fields.{k}": v for k, v in exc.message_dict.items()})
        values = {}
    tags = [t.strip() for t in (tags or []) if t.strip()]
    if len(tags) > MAX_TAGS:
        problems["tags"] = f"At most {MAX_TAGS} tags."
    if language and not LANGUAGE.match(language):
        problems["language"] = f"{language!r} is not a language code like 'de' or 'pt-BR'."
    need: dict[str, int] = {}
    try:
        need = skills_required(required_skills)
    except ValidationError as exc:
        problems["required_skills"] = exc.messages
    external_ref = external_ref.strip()
    if len(external_ref) > EXTERNAL_REF_MAX:
        problems["external_ref"] = f"At most {EXTERNAL_REF_MAX} characters."
    contact_email = contact_email.strip()
    if contact_email:
        try:
            validate_email(contact_email)
        except ValidationError:
            problems["contact_email"] = (
                f"Enter a valid email address ({contact_email!r} is not one)."
            )
    if problems:
        raise ValidationError(problems)
    return {
        "title": title,
        "description": description,
        "priority": priority,
        "contact_email": contact_email,
        "contact_name": contact_name.strip()[:200],
        "custom_fields": values,
        "tags": tags,
        "external_ref": external_ref,
        "language": language,
        "required_skills": need,
    }


def _create(
    actor: Actor | None,
    *,
    service: Service,
    queue: Queue | None = None,
    parent: WorkItem | None = None,
    terms: ServiceTerms | None = None,
    channel: str = Channel.API,
    origin: str = "",
    fields_required: bool = True,
    deadline_at: datetime | None = None,
    **details: Any,
) -> WorkItem:
    """Create the item, its first timeline entry and SLA clocks, audited; route it."""
    if terms is None:
        terms = agreed_terms(service)
    elif terms.service_id != service.pk:
        raise ValueError(f"Terms {terms.pk} are not the terms of service {service.pk}.")
    problems: dict[str, Any] = {}
    try:
        checked = item_details_check(terms, fields_required=fields_required, **details)
    except ValidationError as exc:
        problems.update(exc.message_dict)
        checked = {}
    if queue is not None and queue.service_id != service.pk:
        problems["queue_id"] = "The queue belongs to another service."
    if parent is not None and parent.client_id != service.client_id:
        problems["parent_id"] = "The parent item belongs to another client."
    external_ref = checked.get("external_ref", "")
    if (
        external_ref
        and WorkItem.objects.filter(client_id=service.client_id, external_ref=external_ref).exists()
    ):
        problems["external_ref"] = DUPLICATE_REF
    if problems:
        raise ValidationError(problems)
    contact_email, contact_name = checked.pop("contact_email"), checked.pop("contact_name")
    description = checked["description"]
    item = WorkItem(
        client_id=service.client_id,
        service=service,
        terms=terms,
        queue=queue,
        parent=parent,
        channel=channel,
        deadline_at=deadline_at,
        **checked,
    )
    try:
        # A savepoint when the caller has a transaction (bulk intake): a failure here undoes
        # this item only.
        with transaction.atomic():
            item.queue = queue or queue_default(service)
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
                channel=channel,
                sender=contact_email if actor is None else "",
            )
            clocks.start(item, item.created_at)
            record(
                "work_item.created",
                obj=item,
                after={
                    "title": item.title,
                    "service": service.key,
                    "priority": item.priority,
                    "external_ref": item.external_ref,
                    "channel": item.channel,
                },
                actor_email=origin,
            )
            if item.queue.routing == Routing.PUSH:
                _push_item(item)
    except IntegrityError:
        # A concurrent create took the same external reference after the check above.
        if external_ref and (
            WorkItem.objects.filter(client_id=service.client_id, external_ref=external_ref).exists()
        ):
            raise ValidationError({"external_ref": DUPLICATE_REF}) from None
        raise
    return item


@dataclass(frozen=True)
class CreatedMany:
    """What work_items_create_many did: the items it created, and the indexes of the rows it
    skipped because an item of the client already has their external reference."""

    items: list[WorkItem]
    skipped: list[int]


def work_items_create_many(
    *,
    actor: Actor,
    service: Service,
    terms: ServiceTerms,
    rows: list[dict[str, Any]],
    queue: Queue | None = None,
    channel: str = Channel.IMPORT,
    source: Any = None,
) -> CreatedMany:
    """Take in many items of one service at once (a file import's batch): rows checked by
    item_details_check, written with a handful of statements however many there are.

    A row whose external reference an item of the client already has is skipped, so a file
    taken in twice creates nothing twice. Each item gets its timeline entry and SLA clocks as
    work_item_create gives them; the batch is one audit entry naming every item (and
    ``source``, the import it came from). The caller owns the transaction."""
    actor.require(Permission.REQUEST_WORK, client_id=service.client_id)
    return _create_many(actor, service, terms, rows, queue=queue, channel=channel, source=source)


def channel_items_create_many(
    *,
    service: Service,
    terms: ServiceTerms,
    rows: list[dict[str, Any]],
    origin: str,
    source: Any = None,
) -> CreatedMany:
    """Many items the system itself takes in (a reconciliation's open bank lines): as
    work_items_create_many, with no user on the timeline and ``origin`` in the audit log."""
    return _create_many(
        None, service, terms, rows, queue=None, channel=Channel.API, source=source, origin=origin
    )


def _create_many(
    actor: Actor | None,
    service: Service,
    terms: ServiceTerms,
    rows: list[dict[str, Any]],
    *,
    queue: Queue | None,
    channel: str,
    source: Any,
    origin: str = "",
) -> CreatedMany:
    ensure_client_in_scope(service.client_id)
    if terms.service_id != service.pk:
        raise ValueError(f"Terms {terms.pk} are not the terms of service {service.pk}.")
    if queue is not None and queue.service_id != service.pk:
        raise ValidationError({"queue_id": "The queue belongs to another service."})
    client_id = service.client_id
    taken = external_refs_taken(client_id, [row["external_ref"] for row in rows])
    skipped = [i for i, row in enumerate(rows) if row["external_ref"] in taken]
    keep = [i for i, row in enumerate(rows) if row["external_ref"] not in taken]
    people = {rows[i]["contact_email"]: rows[i]["contact_name"] for i in keep}
    people.pop("", None)
    contact_ids = contact_ids_for(client_id=client_id, people=people)
    queue = queue or queue_default(service)
    now = timezone.now()
    shared = {
        "client_id": client_id,
        "service_id": service.pk,
        "terms_id": terms.pk,
        "queue_id": queue.pk,
        "channel": channel,
        "created_at": now,
        "updated_at": now,
    }
    fresh = []
    for i in keep:
        row = {**rows[i], **shared}
        email = row.pop("contact_email")
        del row["contact_name"]
        row["contact_id"] = contact_ids.get(email.lower()) if email else None
        fresh.append(row)
    items = instances(WorkItem, fresh)
    pending = clocks.prepare_many(items, now)
    insert_many(items)
    clocks.start_many(pending)
    user_id = actor.user.pk if actor else None
    insert_rows(
        Event,
        [
            {
                "client_id": client_id,
                "item_id": item.pk,
                "actor_id": user_id,
                "kind": EventKind.CREATED,
                "body": item.description,
                "at": now,
                "data": {
                    "priority": item.priority,
                    "service": service.key,
                    "version": terms.version.number,
                    "channel": channel,
                },
            }
            for item in items
        ],
    )
    if items:
        record(
            "work_item.created_many",
            obj=source,
            client_id=client_id,
            after={
                "service": service.key,
                "channel": channel,
                "items": [item.pk for item in items],
                "skipped_external_refs": sorted(rows[i]["external_ref"] for i in skipped),
            },
            actor_email=origin,
        )
        if queue.routing == Routing.PUSH:
            for item in items:  # the first one nobody can take ends it: all agents are full
                if _push_item(item) is None:
                    break
    return CreatedMany(items=items, skipped=skipped)


def external_refs_taken(client_id: int, refs: list[str]) -> set[str]:
    """Which of these external references an item of the client already has."""
    wanted = sorted({ref for ref in refs if ref})
    taken: set[str] = set()
    for start in range(0, len(wanted), BULK_BATCH):
        # The exclusion lets SQLite and PostgreSQL use the partial unique index on (client,
        # external_ref): neither infers its condition from a long IN list, and scans the table.
        taken.update(
            WorkItem.objects.filter(
                client_id=client_id, external_ref__in=wanted[start : start + BULK_BATCH]
            )
            .exclude(external_ref="")
            .order_by()
            .values_list("external_ref", flat=True)
        )
    return taken


def contact_ids_for(*, client_id: int, people: Mapping[str, str]) -> dict[str, int]:
    """The ids of the client's contacts with these e-mail addresses ({address: name}), the
    missing ones created: keyed by the address in lower case."""
    wanted = {email.lower(): (email, name) for email, name in people.items()}
    found = _contact_ids(client_id, list(wanted))
    missing = [
        Contact(client_id=client_id, email=email, name=name)
        for key, (email, name) in wanted.items()
        if key not in found
    ]
    if missing:
        # A contact created meanwhile by someone else is kept as it is (and read below).
        Contact.objects.bulk_create(missing, batch_size=BULK_BATCH, ignore_conflicts=True)
        found |= _contact_ids(client_id, [c.email.lower() for c in missing])
    return found


def _contact_ids(client_id: int, addresses: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(addresses), BULK_BATCH):
        rows = (
            Contact.objects.annotate(address=Lower("email"))
            .filter(client_id=client_id, address__in=addresses[start : start + BULK_BATCH])
            .order_by()  # not the model's order by client name: a join and a sort for nothing
            .values_list("address", "pk")
        )
        found.update(rows)
    return found


LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
SKILL = re.compile(r"^[-a-zA-Z0-9_]{1,60}$")


def skills_required(value: object) -> dict[str, int]:
    """A skill requirement {skill: minimum level 1–5}, checked and normalised."""
    if not value:
        return {}
    if not isinstance(value, dict):
        raise ValidationError('Expected an object of skill → minimum level, e.g. {"refunds": 2}.')
    problems = []
    for skill, level in value.items():
        if not SKILL.match(str(skill)):
            problems.append(f"{skill!r} is not a skill key (letters, digits, - and _).")
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5:
            problems.append(f"{skill}: the level must be a whole number from 1 to 5.")
    if problems:
        raise ValidationError(problems)
    return {str(k): int(v) for k, v in value.items()}


def queue_default(service: Service) -> Queue:
    """The service's default queue, created with the service's name when it has none."""
    queue = Queue.objects.filter(service=service, is_default=True).first()
    if queue is None:
        try:
            with transaction.atomic():
                queue = Queue.objects.create(
                    client_id=service.client_id, service=service, name=service.name, is_default=True
                )
        except IntegrityError:  # created concurrently, or a queue already has that name
            queue = Queue.objects.filter(service=service).order_by("-is_default", "pk").first()
            assert queue is not None
    return queue


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
    return _transition(actor, item, state, reason)


def system_transition(item: WorkItem, state: str, *, reason: str, origin: str) -> WorkItem:
    """The system moves an item on (a deliverable a job produced, a line a job matched); the
    timeline shows no user and the reason, the audit log ``origin`` ('system: …')."""
    return _transition(None, item, state, reason, origin)


def _transition(
    actor: Actor | None, item: WorkItem, state: str, reason: str, origin: str = ""
) -> WorkItem:
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
        if state == State.RESOLVED:
            item_resolving.send(sender=WorkItem, item=locked)
        before = locked.state
        locked.state = state
        now = timezone.now()
        if state == State.RESOLVED:
            locked.resolved_at = now
            locked.first_resolved_at = locked.first_resolved_at or now
        if state == State.CLOSED:
            locked.closed_at = now
        if before == State.RESOLVED and state == State.OPEN:
            locked.resolved_at = None
            locked.reopened_count += 1
        locked.save(
            update_fields=[
                "state",
                "resolved_at",
                "first_resolved_at",
                "closed_at",
                "reopened_count",
                "updated_at",
            ]
        )
        _event(locked, actor, EventKind.STATE, body=reason, before=before, after=state)
        clocks.state_changed(locked, before, state, now)
        record(
            "work_item.state_changed",
            obj=locked,
            before={"state": before},
            after={"state": state, "reason": reason},
            actor_email=origin,
        )
        if locked.assignee_id and state not in OPEN_STATES:
            push_to_agent(locked.assignee_id)
        _offer(locked)
        if state == State.RESOLVED:
            item_resolved.send(sender=WorkItem, item=locked)
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
            _priority_changed(actor, locked, before["priority"])
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


def _assign(actor: Actor | None, item: WorkItem, agent: User, reason: str) -> WorkItem:
    before = item.assignee_id
    now = timezone.now()
    item.assignee = agent
    item.assigned_at = now
    item.save(update_fields=["assignee", "assigned_at", "updated_at"])
    _assigned(actor, item, agent, reason, before, now)
    return item


def _assigned(
    actor: Actor | None, item: WorkItem, agent: User, reason: str, before: int | None, now: datetime
) -> None:
    """What follows an assignment: the agent stops waiting, the timeline and the audit log."""
    with connection.cursor() as cursor:  # one plain statement: get next runs this all day long
        cursor.execute(
            "UPDATE workforce_agentprofile SET waiting_since = %s WHERE user_id = %s",
            [connection.ops.adapt_datetimefield_value(now), agent.pk],
        )
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
        previous = locked.assignee_id
        _assign(actor, locked, agent, reason.strip())
        if previous and previous != agent.pk:
            push_to_agent(previous)
        return locked


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
        if agent is None:
            locked.assigned_at = None
        elif agent.pk != locked.assignee_id:
            locked.assigned_at = timezone.now()
            AgentProfile.objects.filter(user=agent).update(waiting_since=locked.assigned_at)
        locked.assignee = agent
        after = {"queue_id": locked.queue_id, "assignee_id": locked.assignee_id}
        if after == before:
            raise ValidationError(
                {"queue_id": "The item is already there, with that agent; nothing to move."}
            )
        locked.save(update_fields=["queue", "assignee", "assigned_at", "updated_at"])
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
        if before["assignee_id"] and before["assignee_id"] != after["assignee_id"]:
            push_to_agent(before["assignee_id"])
        if agent is None and locked.queue is not None and locked.queue.routing == Routing.PUSH:
            _push_item(locked)
    return locked


# An agent's profile with their load and the routing stamp, in plain SQL (names from the
# models): the ORM would compile it anew at every get next. The open states are written in, not
# bound, so a prepared statement still uses the partial index item_assignee_open, whose
# condition names them; the columns are named, not p.*, so a prepared statement keeps its
# result's shape when a migration adds one.
_PROFILE_LOAD_STAMP = (  # noqa: S608 (constants and names from the models)
    "SELECT {columns}, (SELECT COUNT(*) FROM work_workitem w"
    " WHERE w.assignee_id = p.user_id AND w.state IN ({states})) AS load,"
    " (SELECT token FROM work_routingstamp WHERE id = 1) AS stamp"
    " FROM workforce_agentprofile p WHERE p.user_id = %s"
).format(
    columns=", ".join(f"p.{f.column}" for f in AgentProfile._meta.concrete_fields),
    states=", ".join(f"'{state}'" for state in sorted(OPEN_STATES)),
)


def _lock_profile(user: User) -> tuple[AgentProfile, int, int | None]:
    """The agent's profile, locked, their load (their open items at every client: capacity is
    the person's, not per client) and the routing stamp (see routing.take_statements), read
    after the lock. One routing decision at a time per agent, so two concurrent assignments can
    never take them over capacity."""
    while True:
        if connection.features.has_select_for_update:
            # The lock in a statement of its own: a statement that waited for the lock would
            # still read the load and the stamp as they were before the wait (READ COMMITTED
            # takes its snapshot when a statement starts), missing what the holder committed.
            # SQLite: the transaction already holds the database's one write lock.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT 1 FROM workforce_agentprofile WHERE user_id = %s FOR UPDATE",
                    [user.pk],
                )
        found = list(RawQuerySet(_PROFILE_LOAD_STAMP, model=AgentProfile, params=(user.pk,)))
        if found:
            profile = found[0]
            return profile, profile.load, profile.stamp  # type: ignore[attr-defined]
        AgentProfile.objects.get_or_create(user=user)  # an agent without a profile yet


def _take_next(
    actor: Actor | None,
    user: User,
    profile: AgentProfile,
    stamp: int | None,
    reason: str,
    *,
    push_only: bool = False,
) -> WorkItem | None:
    """Assign the best waiting item the agent may take to them (see routing.take_statements)
    and write what follows (_assigned); None when nothing waits for them."""
    now = timezone.now()
    takes = routing.take_statements(user, profile, stamp, push_only=push_only)
    for take in takes:
        item = take.run(user.pk, now)
        if item is not None:
            _assigned(actor, item, user, reason, None, now)
            return item
    return None


def work_item_next(*, actor: Actor) -> WorkItem | None:
    """Get next: the best waiting item the agent is eligible for, now assigned to them.

    Highest priority first, then the earliest SLA due time, then the oldest (see routing).
    Under any concurrency an item goes to exactly one agent: on PostgreSQL the candidate row is
    locked with SKIP LOCKED, so concurrent agents take different items without waiting; SQLite
    serialises writers (IMMEDIATE transactions).
    Returns None when nothing is waiting or the agent is at capacity.
    """
    actor.require(Permission.HANDLE_WORK)
    user = actor.user
    with transaction.atomic():
        profile, load, stamp = _lock_profile(user)
        if load >= profile.capacity:
            return None
        return _take_next(actor, user, profile, stamp, "get next")


def _push_item(item: WorkItem) -> User | None:
    """Push routing of one waiting item: to the eligible available agent with free capacity who
    has waited longest. Runs inside the caller's transaction, with the item row locked."""
    certified = Certification.objects.filter(service_id=item.service_id).values("user_id")
    assigned = Assignment.objects.filter(client_id=item.client_id).values("user_id")
    profiles = (
        AgentProfile.objects.filter(
            user_id__in=certified,
            presence=Presence.AVAILABLE,
            user__is_active=True,
        )
        .filter(user_id__in=assigned)
        .select_related("user")
        .order_by(F("waiting_since").asc(nulls_first=True), "user_id")
    )
    for profile in profiles:
        agent = routing.agent_of(profile.user, profile)
        if not routing.agent_may_take(agent, item):
            continue
        locked, load, _ = _lock_profile(profile.user)
        if locked.presence != Presence.AVAILABLE or load >= locked.capacity:
            continue
        _assign(None, item, profile.user, "routed: waited longest")
        return profile.user
    return None


def _offer(item: WorkItem) -> None:
    """An item that waits again (reopened, answered, moved) is offered in its push queue."""
    if (
        item.assignee_id is None
        and item.state in routing.WAITING_STATES
        and item.queue is not None
        and item.queue.routing == Routing.PUSH
    ):
        _push_item(item)


def push_to_agent(user_id: int) -> list[WorkItem]:
    """An agent has free capacity (became available, finished or handed over an item): fill it
    from the push queues they are eligible for, best item first."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return []
    profile, load, stamp = _lock_profile(user)
    if profile.presence != Presence.AVAILABLE:
        return []
    taken = []
    for _ in range(max(0, profile.capacity - load)):
        item = _take_next(None, user, profile, stamp, "routed: capacity freed", push_only=True)
        if item is None:
            break
        taken.append(item)
    return taken


def work_items_release(*, actor: Actor, agent: User, reason: str) -> list[WorkItem]:
    """Put an agent's untouched items back in their queues (the agent went offline).

    Untouched: since it was assigned, the agent wrote nothing on the item and opened no work
    session on it. Touched items stay with the agent."""
    released = []
    with transaction.atomic():
        items = WorkItem.objects.select_for_update().filter(assignee=agent, state__in=OPEN_STATES)
        for item in items:
            since = item.assigned_at or item.created_at
            touched = (
                Event.objects.filter(item=item, actor=agent, at__gte=since)
                .exclude(kind=EventKind.ASSIGNED)
                .exists()
                or WorkSession.objects.filter(
                    item=item, agent=agent, last_seen_at__gte=since
                ).exists()
            )
            if touched:
                continue
            item.assignee = None
            item.assigned_at = None
            item.save(update_fields=["assignee", "assigned_at", "updated_at"])
            _event(item, actor, EventKind.RELEASED, internal=True, body=reason, agent=agent.email)
            record(
                "work_item.released",
                obj=item,
                before={"assignee_id": agent.pk},
                after={"assignee_id": None, "reason": reason},
            )
            released.append(item)
        for item in released:
            if item.queue_id and item.queue and item.queue.routing == Routing.PUSH:
                _push_item(item)
    return released


def work_item_note(*, actor: Actor, item: WorkItem, body: str) -> Event:
    """Add an internal note: for the provider's people only, never shown to the client."""
    actor.require(Permission.HANDLE_WORK, client_id=item.client_id)
    body = _text(body)
    with transaction.atomic():
        return _note(actor, item, body)


def work_item_reply(*, actor: Actor, item: WorkItem, body: str) -> Event:
    """Reply to the contact (stored as an outbound message; intake's outbox mails it when the
    item came by e-mail or a form).

    A first reply opens a new item."""
    actor.require(Permission.HANDLE_WORK, client_id=item.client_id)
    body = _text(body)
    with transaction.atomic():
        return _reply(actor, WorkItem.objects.select_for_update().get(pk=item.pk), body)


def breach_explain(
    *, actor: Actor, clock: SlaClock, cause: str, note: str = ""
) -> BreachExplanation:
    """Say why a clock missed its target (or say it again, better): the monthly service report
    shows the client each breach with its cause and note."""
    actor.require(Permission.EXPLAIN_BREACHES, client_id=clock.client_id)
    if not clock.missed:
        raise ValidationError({"clock": f"The {clock.metric} clock did not miss its target."})
    if cause not in BreachCause.values:
        raise ValidationError(
            {"cause": f"{cause!r} is not one of {', '.join(BreachCause.values)}."}
        )
    note = note.strip()
    if len(note) > 2000:
        raise ValidationError({"note": f"{len(note)} characters: at most 2000."})
    with transaction.atomic():
        explanation = BreachExplanation.objects.select_for_update().filter(
            clock=clock
        ).first() or BreachExplanation(client_id=clock.client_id, clock=clock)
        before = snapshot(explanation, EXPLANATION_FIELDS) if explanation.pk else None
        explanation.cause = cause
        explanation.note = note
        explanation.explained_by = actor.user
        explanation.explained_at = timezone.now()
        explanation.save()
        _event(
            clock.item,
            actor,
            EventKind.BREACH_EXPLAINED,
            body=note,
            internal=True,
            metric=clock.metric,
            cause=cause,
        )
        record(
            "sla_breach.explained",
            obj=clock.item,
            before=before,
            after={"clock_id": clock.pk, **snapshot(explanation, EXPLANATION_FIELDS)},
        )
    return explanation


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
    clocks.replied(locked, event.at)
    record("work_item.replied", obj=locked, after={"event_id": event.pk})
    reply_written.send(sender=WorkItem, item=locked, event=event)
    return event


def _message_in(
    actor: Actor | None, locked: WorkItem, body: str, *, origin: str = "", **data: Any
) -> Event:
    if locked.state in (State.CLOSED, State.CANCELLED):
        raise ValidationError({"body": f"The item is {locked.state}; open a new one."})
    event = _event(locked, actor, EventKind.MESSAGE_IN, body=body, **data)
    if locked.state in (State.RESOLVED, State.PENDING_CONTACT, State.PENDING_CLIENT):
        before = locked.state
        locked.state = State.OPEN
        locked.resolved_at = None
        if before == State.RESOLVED:
            locked.reopened_count += 1
        locked.save(update_fields=["state", "resolved_at", "reopened_count", "updated_at"])
        _event(
            locked,
            actor,
            EventKind.STATE,
            before=before,
            after=State.OPEN,
            reason="new message",
        )
        clocks.state_changed(locked, before, State.OPEN, event.at)
        _offer(locked)
    clocks.contact_wrote(locked, event.at)
    record(
        "work_item.message_received",
        obj=locked,
        after={"event_id": event.pk},
        actor_email=origin,
    )
    return event


def channel_message_in(
    *, item: WorkItem, body: str, origin: str, sender: str = "", **data: Any
) -> Event:
    """A message from the contact that arrived by a channel (an e-mail answering the item):
    on the timeline with its sender, reopening a resolved item as a message in the app does.
    The caller's transaction holds it; a closed or cancelled item refuses it (ValidationError)."""
    locked = WorkItem.objects.select_for_update().get(pk=item.pk)
    return _message_in(None, locked, _text(body), origin=origin, sender=sender, **data)


def channel_attach(
    *, item: WorkItem, event: Event | None, filename: str, content: bytes, origin: str
) -> Attachment | str:
    """Keep a file that came with a channel's message (an e-mail attachment) on the item,
    public like the message. Returns the attachment, or why the file was not kept (empty, or
    above the attachment limit: it stays in the stored raw message). The caller deletes
    ``stored_name`` of attachments it made if its transaction fails."""
    filename = files.clean_filename(filename)
    limit = settings.OPENBPO_MAX_ATTACHMENT_BYTES
    if not content:
        return f"{filename!r} is empty: not attached."
    if len(content) > limit:
        return too_large_message(filename, limit) + " It is kept in the original message."
    upload = ContentFile(content, name=filename)
    facts = files.inspect(upload, filename)
    stored_name = storages["attachments"].save(
        f"{item.client_id}/{timezone.now():%Y-%m}/{uuid.uuid4().hex}", upload
    )
    attachment = Attachment.objects.create(
        client_id=item.client_id,
        item=item,
        event=event,
        internal=False,
        filename=filename,
        content_type=facts.content_type,
        size=facts.size,
        sha256=facts.sha256,
        stored_name=stored_name,
        uploaded_by=None,
    )
    record(
        "work_item.attachment_added",
        obj=item,
        after={
            "attachment_id": attachment.pk,
            "filename": filename,
            "content_type": facts.content_type,
            "size": facts.size,
            "sha256": facts.sha256,
            "event_id": event.pk if event else None,
        },
        actor_email=origin,
    )
    return attachment


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


# A work session ends when the agent's page has not been heard from for this long.
SESSION_IDLE = timedelta(minutes=2)


def work_session_touch(*, actor: Actor, item: WorkItem) -> WorkSession:
    """The agent is working on the item now: extend their open session, or start one.

    The workspace calls this when the item page opens and then every 30 seconds while it stays
    open; a session not heard from for SESSION_IDLE ends where it was last seen."""
    actor.require(Permission.HANDLE_WORK, client_id=item.client_id)
    now = timezone.now()
    with transaction.atomic():
        session = (
            WorkSession.objects.select_for_update()
            .filter(item=item, agent=actor.user, ended_at__isnull=True)
            .first()
        )
        if session is not None and now - session.last_seen_at <= SESSION_IDLE:
            session.last_seen_at = now
            session.save(update_fields=["last_seen_at"])
            return session
        if session is not None:
            session.ended_at = session.last_seen_at
            session.save(update_fields=["ended_at"])
        try:
            with transaction.atomic():
                session = WorkSession.objects.create(
                    client_id=item.client_id,
                    item=item,
                    agent=actor.user,
                    started_at=now,
                    last_seen_at=now,
                )
        except IntegrityError:  # the same agent's other tab opened it a moment ago
            return WorkSession.objects.get(item=item, agent=actor.user, ended_at__isnull=True)
        record("work_session.started", obj=session, after={"item_id": item.pk})
    return session


def work_session_end(*, actor: Actor, item: WorkItem) -> WorkSession | None:
    """The agent stopped working on the item (left the page, or said so)."""
    actor.require(Permission.HANDLE_WORK, client_id=item.client_id)
    now = timezone.now()
    with transaction.atomic():
        session = (
            WorkSession.objects.select_for_update()
            .filter(item=item, agent=actor.user, ended_at__isnull=True)
            .first()
        )
        if session is None:
            return None
        session.ended_at = min(now, session.last_seen_at + SESSION_IDLE)
        session.last_seen_at = max(session.last_seen_at, session.ended_at)
        session.save(update_fields=["ended_at", "last_seen_at"])
        record("work_session.ended", obj=session, after={"seconds": session.seconds})
    return session


def work_sessions_close_idle(*, now: datetime | None = None) -> int:
    """End the sessions not heard from for SESSION_IDLE, at the time they were last seen
    (in the active tenant scope; the periodic sweep runs it per client)."""
    cutoff = (now or timezone.now()) - SESSION_IDLE
    return WorkSession.objects.filter(ended_at__isnull=True, last_seen_at__lt=cutoff).update(
        ended_at=F("last_seen_at")
    )


def system_event(item: WorkItem, kind: str, *, body: str = "", **data: Any) -> Event:
    """An internal timeline entry written by the system itself (the SLA sweep, routing)."""
    return _event(item, None, kind, body=body, internal=True, **data)


def _priority_changed(actor: Actor | None, item: WorkItem, before: str, reason: str = "") -> None:
    """A saved priority change: the timeline says so and the SLA clocks take the new targets."""
    _event(item, actor, EventKind.PRIORITY, body=reason, before=before, after=item.priority)
    clocks.reprioritised(item, timezone.now())


def system_set_priority(item: WorkItem, priority: str, *, reason: str) -> None:
    """The SLA policy raises an item's priority (an action on warning or breach)."""
    before = item.priority
    if priority == before:
        return
    item.priority = priority
    item.save(update_fields=["priority", "updated_at"])
    _priority_changed(None, item, before, reason)
    record(
        "work_item.priority_changed",
        obj=item,
        before={"priority": before},
        after={"priority": priority, "reason": reason},
        actor_email="system: SLA policy",
    )


def system_move(item: WorkItem, queue: Queue, *, reason: str) -> None:
    """The SLA policy moves an item to another queue of its service (an escalation queue)."""
    before = item.queue_id
    if before == queue.pk:
        return
    item.queue = queue
    item.save(update_fields=["queue", "updated_at"])
    _event(item, None, EventKind.QUEUE, body=reason, internal=True, before=before, after=queue.pk)
    _offer(item)
    record(
        "work_item.queue_changed",
        obj=item,
        before={"queue_id": before},
        after={"queue_id": queue.pk, "reason": reason},
        actor_email="system: SLA policy",
    )


QUEUE_FIELDS = ("name", "routing", "required_skills")


def queue_save(
    *, actor: Actor, service: Service, queue: Queue | None = None, **changes: Any
) -> Queue:
    """Create a queue of a service, or change its name, routing mode or required skills."""
    actor.require(Permission.MANAGE_AGENTS, client_id=service.client_id)
    ensure_client_in_scope(service.client_id)
    created = queue is None
    if queue is None:
        queue = Queue(client_id=service.client_id, service=service)
    before = None if created else {f: getattr(queue, f) for f in QUEUE_FIELDS}
    values = {k: v for k, v in changes.items() if k in QUEUE_FIELDS}
    if "routing" in values:
        values["routing"] = str(getattr(values["routing"], "value", values["routing"]))
    if "required_skills" in values:
        try:
            values["required_skills"] = skills_required(values["required_skills"])
        except ValidationError as exc:
            raise ValidationError({"required_skills": exc.messages}) from exc
    for name, value in values.items():
        setattr(queue, name, value)
    queue.full_clean(exclude=["client", "service"], validate_constraints=False)
    with transaction.atomic():
        if Queue.objects.filter(service=service, name=queue.name).exclude(pk=queue.pk).exists():
            raise ValidationError({"name": f"{service.name} already has a queue {queue.name!r}."})
        queue.save()
        record(
            "queue.created" if created else "queue.changed",
            obj=queue,
            before=before,
            after={f: getattr(queue, f) for f in QUEUE_FIELDS},
        )
        if queue.routing == Routing.PUSH:
            for item in routing.waiting_in(queue):
                _push_item(item)
    return queue


def notification_read(*, actor: Actor, notification: Notification) -> Notification:
    """Mark one of the actor's notifications read."""
    if notification.recipient_id != actor.user.pk:
        raise Forbidden("read_notification", message="This notification is someone else's.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


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
