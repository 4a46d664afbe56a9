"""Reads about work items, scoped to the actor's clients; clients never see internal entries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.files import File
from django.core.files.storage import storages
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import Lookup
from django.http import Http404
from django.utils import timezone

from bpo.accounts.models import Assignment, User
from bpo.accounts.roles import Permission
from bpo.audit.log import record
from bpo.contracts.models import Service
from bpo.tenancy.context import Actor
from bpo.work import placeholders, routing
from bpo.work.models import (
    OPEN_STATES,
    Attachment,
    CannedResponse,
    Event,
    EventKind,
    Notification,
    Queue,
    SlaClock,
    WorkItem,
    WorkSession,
)
from bpo.workforce.models import AgentProfile, Certification


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


def item_for_page(*, actor: Actor, item_id: int) -> WorkItem:
    """One item in scope with everything its page shows in its header; raises
    WorkItem.DoesNotExist."""
    return (
        items_visible(actor=actor)
        .select_related("client", "assignee", "terms__version__contract")
        .get(pk=item_id)
    )


def _latest_assignment(field: str) -> Subquery:
    return Subquery(
        Event.objects.filter(item=OuterRef("pk"), kind=EventKind.ASSIGNED)
        .order_by("-id")
        .values(field)[:1]
    )


def my_open_items(*, actor: Actor, limit: int) -> list[WorkItem]:
    """The open items assigned to the actor, most urgent and oldest first, at most ``limit + 1``
    (one more tells the page there are more). Each carries when, how and by whom it was
    assigned (``assigned_at``, ``assigned_reason``, ``assigned_by``)."""
    rows = (
        WorkItem.objects.filter(assignee=actor.user, state__in=OPEN_STATES)
        .select_related("client", "service")
        .annotate(
            assigned_reason=_latest_assignment("body"),
            assigned_by=_latest_assignment("actor__full_name"),
        )
        .order_by(*routing.ROUTING_ORDER)
    )
    return list(rows[: limit + 1])


def my_recent_items(*, actor: Actor, limit: int) -> list[WorkItem]:
    """The items the actor finished last (resolved, closed or cancelled while theirs)."""
    return list(
        WorkItem.objects.filter(assignee=actor.user)
        .exclude(state__in=OPEN_STATES)
        .select_related("client", "service")
        .order_by("-updated_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class Workload:
    """An agent's load against their capacity, and what waits for them."""

    open_items: int
    capacity: int
    waiting: int
    certified_services: int

    @property
    def at_capacity(self) -> bool:
        return self.open_items >= self.capacity


def workload(*, actor: Actor) -> Workload:
    """How many open items the actor has, how many they take at once, and how many unassigned
    items wait in the services they are certified for (of the clients in scope)."""
    user = actor.user
    certified = Certification.objects.filter(user=user)
    profile = AgentProfile.objects.filter(user=user).first() or AgentProfile(user=user)
    return Workload(
        open_items=WorkItem.objects.filter(assignee=user, state__in=OPEN_STATES).count(),
        capacity=profile.capacity,
        waiting=routing.waiting_for(routing.agent_of(user, profile)).count(),
        certified_services=certified.count(),
    )


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


def public_timeline(item: WorkItem) -> QuerySet[Event]:
    """The item's public events in order (what its contact may read through their private
    link: no internal entries), without files."""
    return Event.objects.filter(item=item, internal=False).select_related("actor").order_by("id")


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


def queues_visible(*, actor: Actor, service_id: int | None = None) -> QuerySet[Queue]:
    """Queues of the services in scope, with their backlog: waiting and open items, the oldest
    waiting item's arrival, and how many open items are at SLA risk or past due."""
    now = timezone.now()
    waiting = Q(items__assignee__isnull=True, items__state__in=["new", "open"])
    open_items = Q(items__state__in=sorted(OPEN_STATES))
    queues = Queue.objects.select_related("service").annotate(
        waiting=Count("items", filter=waiting),
        open=Count("items", filter=open_items),
        oldest_waiting=Min("items__created_at", filter=waiting),
        overdue=Count("items", filter=open_items & Q(items__due_at__lte=now)),
        at_risk=Count(
            "items",
            filter=open_items & Q(items__due_at__gt=now, items__due_at__lte=now + AT_RISK_WITHIN),
        ),
    )
    if service_id is not None:
        queues = queues.filter(service_id=service_id)
    return queues


# An open item due within this time counts as at risk on the manager's queue view.
AT_RISK_WITHIN = timedelta(hours=1)


def deliveries_of(*, actor: Actor, item: WorkItem) -> list[Any]:
    """The item's outgoing e-mail and how its delivery went (the intake app's outbox, through
    its relation to the item), for the provider's staff; empty for anyone else."""
    if not (actor.is_provider and actor.can(Permission.HANDLE_WORK, client_id=item.client_id)):
        return []
    return list(item.outbound_emails.order_by("id"))  # type: ignore[attr-defined]


def clocks_of(*, actor: Actor, item: WorkItem) -> QuerySet[SlaClock]:
    """The item's SLA clocks, oldest first (clients see them too: they are the service levels
    the client bought)."""
    return (
        SlaClock.objects.filter(item=item)
        .select_related("explanation", "explanation__explained_by")
        .order_by("id")
    )


def clock_of(*, actor: Actor, item: WorkItem, clock_id: int) -> SlaClock:
    """One of the item's SLA clocks (404 if the item has no such clock)."""
    clock = clocks_of(actor=actor, item=item).filter(pk=clock_id).first()
    if clock is None:
        raise Http404("No such clock on this item.")
    return clock


def notifications_mine(*, actor: Actor, unread: bool = False) -> QuerySet[Notification]:
    """The actor's notifications about the clients in scope, newest first."""
    rows = Notification.objects.filter(recipient=actor.user).select_related("item")
    if unread:
        rows = rows.filter(read_at__isnull=True)
    return rows


def handle_time(
    *,
    actor: Actor,
    since: datetime,
    until: datetime,
    by: str = "service",
    service_id: int | None = None,
) -> list[dict[str, Any]]:
    """Handle time from work sessions that started in [since, until), per service or per agent
    and service: sessions, items handled, total and average handle seconds (AHT)."""
    actor.require(Permission.VIEW_AGENTS)
    sessions = WorkSession.objects.filter(started_at__gte=since, started_at__lt=until)
    if service_id is not None:
        sessions = sessions.filter(item__service_id=service_id)
    keys = ["item__service_id", "item__service__name"]
    if by == "agent":
        keys += ["agent_id", "agent__email"]
    duration = ExpressionWrapper(
        Coalesce(F("ended_at"), F("last_seen_at")) - F("started_at"),
        output_field=DurationField(),
    )
    rows = (
        sessions.values(*keys)
        .annotate(
            sessions=Count("id"),
            items=Count("item_id", distinct=True),
            total=Sum(duration),
        )
        .order_by(*keys)
    )
    result = []
    for row in rows:
        total = int(row["total"].total_seconds()) if row["total"] else 0
        result.append(
            {
                "service_id": row["item__service_id"],
                "service": row["item__service__name"],
                "agent_id": row.get("agent_id"),
                "agent": row.get("agent__email"),
                "sessions": row["sessions"],
                "items": row["items"],
                "handle_seconds": total,
                "aht_seconds": round(total / row["items"]) if row["items"] else 0,
            }
        )
    return result


def others_working_on(*, actor: Actor, item: WorkItem) -> list[str]:
    """The other agents who have the item open right now (their session was heard from within
    the idle limit): the workspace warns before two people answer the same contact."""
    from bpo.work.actions import SESSION_IDLE

    recent = timezone.now() - SESSION_IDLE
    return list(
        WorkSession.objects.filter(item=item, ended_at__isnull=True, last_seen_at__gte=recent)
        .exclude(agent=actor.user)
        .values_list("agent__email", flat=True)
        .order_by("agent__email")
    )


# --- Canned responses ----------------------------------------------------------------------------


def canned_responses_visible(
    *, actor: Actor, service_id: int | None = None
) -> QuerySet[CannedResponse]:
    """Canned responses of the services in scope: the provider's working material, read by those
    who handle work (client users never see them, only the replies sent)."""
    actor.require(Permission.HANDLE_WORK)
    rows = CannedResponse.objects.select_related("service")
    if service_id is not None:
        rows = rows.filter(service_id=service_id)
    return rows


def services_with_responses(*, actor: Actor) -> QuerySet[Service]:
    """The services in scope with how many canned responses each has (``response_count``)."""
    actor.require(Permission.HANDLE_WORK)
    return (
        Service.objects.select_related("client", "contract")
        .annotate(response_count=Count("canned_responses"))
        .order_by("client__name", "name")
    )


def canned_response_get(*, actor: Actor, response_id: int) -> CannedResponse:
    """One canned response in scope; raises CannedResponse.DoesNotExist, also for those who do
    not handle work (to them, as to another client's people, there is nothing there)."""
    if not actor.can(Permission.HANDLE_WORK):
        raise CannedResponse.DoesNotExist
    return CannedResponse.objects.select_related("service").get(pk=response_id)


@dataclass(frozen=True)
class FilledResponse:
    """A canned response as an agent inserts it into a reply to one item."""

    id: int
    title: str
    text: str


def placeholder_values(*, actor: Actor, item: WorkItem) -> dict[str, str]:
    """What the placeholders of a reply to ``item`` by ``actor`` stand for (the item comes with
    its contact, service and client)."""
    contact = item.contact
    return {
        "contact_name": contact.name if contact else "",
        "contact_email": contact.email if contact else "",
        "agent_name": actor.user.full_name,
        "item_id": str(item.pk),
        "item_title": item.title,
        "service_name": item.service.name,
        "client_name": item.client.name,
    }


def canned_responses_for(*, actor: Actor, item: WorkItem) -> list[FilledResponse]:
    """The canned responses of the item's service, placeholders filled in for a reply to it."""
    if not actor.can(Permission.HANDLE_WORK, client_id=item.client_id):
        return []
    values = placeholder_values(actor=actor, item=item)
    return [
        FilledResponse(id=r.pk, title=r.title, text=placeholders.fill(r.body, values))
        for r in CannedResponse.objects.filter(service_id=item.service_id).order_by("title")
    ]


# --- The manager's view --------------------------------------------------------------------------


def queue_board(*, actor: Actor) -> QuerySet[Queue]:
    """The queues in scope with their backlog (see queues_visible), by client, service and name,
    for the manager's view."""
    actor.require(Permission.MANAGE_AGENTS)
    return (
        queues_visible(actor=actor)
        .select_related("service__client")
        .order_by("service__client__name", "service__name", "name", "id")
    )


def notification_get(*, actor: Actor, notification_id: int) -> Notification:
    """One of the actor's notifications; raises Notification.DoesNotExist."""
    return notifications_mine(actor=actor).get(pk=notification_id)


def unread_notification_count(*, actor: Actor) -> int:
    """How many of the actor's notifications are unread (the menu's badge)."""
    return notifications_mine(actor=actor, unread=True).count()
