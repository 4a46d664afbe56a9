"""Writes about agents: certification on a client's service."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from bpo.accounts.models import User
from bpo.accounts.roles import Permission, Role
from bpo.audit.log import record
from bpo.contracts.models import Service
from bpo.tenancy.context import Actor, actor_for
from bpo.workforce.models import AgentProfile, Certification


def certification_grant(*, actor: Actor, user: User, service: Service) -> Certification:
    """Record that an agent was trained and certified on a service; only then do they get its
    work. The agent must be provider staff assigned to the service's client."""
    actor.require(Permission.MANAGE_AGENTS, client_id=service.client_id)
    agent = actor_for(user)
    if not agent.has_role(Role.AGENT) and not agent.has_role(Role.MANAGER):
        raise ValidationError({"user_id": f"{user.email} is not an agent or manager."})
    if service.client_id not in agent.client_ids:
        raise ValidationError({"user_id": f"{user.email} is not assigned to this client."})
    with transaction.atomic():
        certification, created = Certification.objects.get_or_create(
            client_id=service.client_id,
            service=service,
            user=user,
            defaults={"certified_by": actor.user},
        )
        if created:
            AgentProfile.objects.get_or_create(user=user)
            record(
                "certification.granted",
                obj=certification,
                after={"user": user.email, "service": service.key},
            )
    return certification
