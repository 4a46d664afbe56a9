"""Reads about agents' certifications, scoped to the actor's clients."""

from __future__ import annotations

from django.db.models import QuerySet

from bpo.tenancy.context import Actor
from bpo.workforce.models import Certification


def certifications_visible(
    *, actor: Actor, service_id: int | None = None
) -> QuerySet[Certification]:
    """Certifications on the services of the clients in scope."""
    rows = Certification.objects.select_related("user", "service")
    if service_id is not None:
        rows = rows.filter(service_id=service_id)
    return rows
