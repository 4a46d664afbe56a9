"""Reads about clients, scoped to the actor's visible clients by the tenant manager."""

from __future__ import annotations

from django.db.models import QuerySet

from bpo.tenancy.context import Actor
from bpo.tenancy.models import Client


def clients_visible(*, actor: Actor, include_inactive: bool = True) -> QuerySet[Client]:
    """The clients the actor may see (the active scope already restricts the manager)."""
    clients = Client.objects.order_by("name", "id")
    if not include_inactive:
        clients = clients.filter(is_active=True)
    return clients


def client_get(*, actor: Actor, client_id: int) -> Client:
    """One visible client; raises Client.DoesNotExist for another client's id or a missing one."""
    return Client.objects.get(pk=client_id)
