"""Reads about work items, scoped to the actor's clients; clients never see internal entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from bpo.accounts.models import Assignment, User
from bpo.accounts.roles import Permission
from bpo.contracts.models import Service
from bpo.tenancy.context import Actor
from bpo.work import placeholders, routing
from bpo.work.models import (
    OPEN_STATES,
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


def items_visible(
    *,
    actor: Actor,
    service_id: int | None = None,
    state: str | None = None,
    assigned_to_me: bool = False,
) -> QuerySet[WorkItem]:
    """Work items of the clients in scope, filtered."""
    items = WorkItem.objects.select_related("service", "contact", "terms__version")
    if service_id is not None:
        items = items.filter(service_id=service_id)
    if state:
        items = items.filter(state=state)
    if assigned_to_me:
        items = items.filter(assignee=actor.user)
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
    capacity = profile.capacity
    return Workload(
        open_items=WorkItem.objects.filter(assignee=user, state__in=OPEN_STATES).count(),
        capacity=capacity or AgentProfile._meta.get_field("capacity").get_default(),
        waiting=routing.waiting_for(routing.agent_of(user, profile)).count(),
        certified_services=certified.count(),
    )


def timeline(*, actor: Actor, item: WorkItem) -> QuerySet[Event]:
    """The item's events in order; without internal ones for those who may not see them."""
    events = Event.objects.filter(item=item).select_related("actor").order_by("id")
    if not actor.can(Permission.VIEW_INTERNAL, client_id=item.client_id):
        events = events.filter(internal=False)
    return events


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


def clocks_of(*, actor: Actor, item: WorkItem) -> QuerySet[SlaClock]:
    """The item's SLA clocks, oldest first (clients see them too: they are the service levels
    the client bought)."""
    return SlaClock.objects.filter(item=item).order_by("id")


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
