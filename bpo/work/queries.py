"""Reads about work items, scoped to the actor's clients; clients never see internal entries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, QuerySet, Subquery

from bpo.accounts.models import Assignment, User
from bpo.accounts.roles import Permission
from bpo.contracts.models import Service
from bpo.tenancy.context import Actor
from bpo.work import placeholders
from bpo.work.actions import PRIORITY_RANK
from bpo.work.models import (
    OPEN_STATES,
    CannedResponse,
    Event,
    EventKind,
    Queue,
    State,
    WorkItem,
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
            rank=PRIORITY_RANK,
            assigned_at=_latest_assignment("at"),
            assigned_reason=_latest_assignment("body"),
            assigned_by=_latest_assignment("actor__full_name"),
        )
        .order_by("rank", "created_at", "id")
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
    capacity = AgentProfile.objects.filter(user=user).values_list("capacity", flat=True).first()
    return Workload(
        open_items=WorkItem.objects.filter(assignee=user, state__in=OPEN_STATES).count(),
        capacity=capacity or AgentProfile._meta.get_field("capacity").get_default(),
        waiting=WorkItem.objects.filter(
            assignee__isnull=True,
            state__in=[State.NEW, State.OPEN],
            service_id__in=certified.values("service_id"),
        ).count(),
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
