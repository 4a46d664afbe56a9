"""Reads about work items, scoped to the actor's clients; clients never see internal entries."""

from __future__ import annotations

from django.db.models import QuerySet

from bpo.accounts.models import Assignment, User
from bpo.accounts.roles import Permission
from bpo.contracts.models import Service
from bpo.tenancy.context import Actor
from bpo.work.models import Event, Queue, WorkItem


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
