"""Reads about agents: certifications, presence, skills and load, scoped to the actor's clients."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from bpo.accounts.models import Assignment, Membership, User
from bpo.accounts.roles import Permission, Role
from bpo.tenancy.context import Actor
from bpo.tenancy.scoping import active_client_ids
from bpo.work.models import OPEN_STATES
from bpo.workforce.models import Certification


def certifications_visible(
    *, actor: Actor, service_id: int | None = None
) -> QuerySet[Certification]:
    """Certifications on the services of the clients in scope."""
    rows = Certification.objects.select_related("user", "service")
    if service_id is not None:
        rows = rows.filter(service_id=service_id)
    return rows


def agents_visible(*, actor: Actor, certified_for: int | None = None) -> QuerySet[User]:
    """Agents and managers who work for the clients in scope, with their profile, skills,
    certifications and current load (open items assigned to them at those clients); for the
    provider's people only. ``certified_for``: only those certified for this service."""
    actor.require(Permission.VIEW_AGENTS)
    staff = Membership.objects.filter(
        client__isnull=True, role__in=[Role.AGENT, Role.MANAGER]
    ).values("user_id")
    people = User.objects.filter(
        is_active=True, pk__in=staff, assignments__in=Assignment.objects.all()
    ).distinct()
    if certified_for is not None:
        certified = Certification.objects.filter(service_id=certified_for).values("user_id")
        people = people.filter(pk__in=certified)
    return _with_status(people)


def agent_me(*, actor: Actor) -> User:
    """The actor's own agent status (whatever their role)."""
    return _with_status(User.objects.filter(pk=actor.user.pk)).get()


def _with_status(people: QuerySet[User]) -> QuerySet[User]:
    clients = active_client_ids()
    return (
        people.select_related("agent_profile")
        .prefetch_related(
            "skills",
            Prefetch(
                "certifications",
                queryset=Certification.objects.select_related("service").order_by("service_id"),
            ),
        )
        .annotate(
            load=Count(
                "assigned_items",
                filter=Q(
                    assigned_items__state__in=sorted(OPEN_STATES),
                    assigned_items__client_id__in=sorted(clients),
                ),
                distinct=True,
            )
        )
    )


def agent_get(*, actor: Actor, user_id: int) -> User:
    """One agent in scope; raises User.DoesNotExist."""
    return agents_visible(actor=actor).get(pk=user_id)
