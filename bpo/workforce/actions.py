"""Writes about agents: certification on a client's service, presence, capacity and skills."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from bpo.accounts.models import User
from bpo.accounts.roles import Permission, Role
from bpo.audit.log import record
from bpo.contracts.models import Service
from bpo.tenancy.context import Actor, actor_for
from bpo.workforce.models import (
    AgentProfile,
    AgentSkill,
    Certification,
    Presence,
    PresenceSpan,
)

if TYPE_CHECKING:
    from bpo.work.models import WorkItem


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


@dataclass(frozen=True)
class PresenceChange:
    """What setting a presence did: the profile as it is now, and the items that going offline
    put back in their queues (the web UI tells the agent how many)."""

    profile: AgentProfile
    released: list[WorkItem] = field(default_factory=list)


def agent_presence_set(*, actor: Actor, presence: str, agent: User | None = None) -> AgentProfile:
    """An agent says whether they are available, busy, away or offline (a manager may say it
    for them). Going offline releases their untouched items back to the queues; becoming
    available starts their wait for pushed work and fills their free capacity."""
    return agent_presence_change(actor=actor, presence=presence, agent=agent).profile


def agent_presence_change(
    *, actor: Actor, presence: str, agent: User | None = None
) -> PresenceChange:
    """agent_presence_set, also saying which items going offline released."""
    from bpo.work import actions as work

    agent = agent or actor.user
    if agent.pk == actor.user.pk:
        actor.require(Permission.HANDLE_WORK)
    else:
        actor.require(Permission.MANAGE_AGENTS)
    presence = str(getattr(presence, "value", presence))
    if presence not in Presence.values:
        raise ValidationError({"presence": f"{presence!r} is not one of {', '.join(Presence)}."})
    with transaction.atomic():
        AgentProfile.objects.get_or_create(user=agent)
        profile = AgentProfile.objects.select_for_update().get(user=agent)
        before = profile.presence
        if before == presence:
            return PresenceChange(profile)
        now = timezone.now()
        profile.presence = presence
        profile.presence_since = now
        if presence == Presence.AVAILABLE:
            profile.waiting_since = now
        profile.save(update_fields=["presence", "presence_since", "waiting_since"])
        PresenceSpan.objects.filter(user=agent, ended_at__isnull=True).update(ended_at=now)
        if presence != Presence.OFFLINE:
            PresenceSpan.objects.create(user=agent, presence=presence, started_at=now)
        record(
            "agent.presence_changed",
            obj=profile,
            object_repr=agent.email,
            before={"presence": before},
            after={"presence": presence},
        )
        released = []
        if presence == Presence.OFFLINE:
            released = work.work_items_release(
                actor=actor, agent=agent, reason=f"{agent.email} went offline"
            )
        if presence == Presence.AVAILABLE:
            work.push_to_agent(agent.pk)
    return PresenceChange(profile, released)


def agent_profile_update(
    *,
    actor: Actor,
    agent: User,
    capacity: int | None = None,
    languages: list[str] | None = None,
    skills: dict[str, int] | None = None,
) -> AgentProfile:
    """A manager sets an agent's capacity, languages and skills (with levels 1–5)."""
    from bpo.work import actions as work
    from bpo.work.actions import LANGUAGE, skills_required

    actor.require(Permission.MANAGE_AGENTS)
    problems: dict[str, Any] = {}
    if capacity is not None and not 1 <= capacity <= 100:
        problems["capacity"] = "Capacity is a whole number of items from 1 to 100."
    if languages is not None:
        bad = [code for code in languages if not LANGUAGE.match(code)]
        if bad:
            problems["languages"] = f"Not language codes like 'de' or 'pt-BR': {', '.join(bad)}."
    if skills is not None:
        try:
            skills = skills_required(skills)
        except ValidationError as exc:
            problems["skills"] = exc.messages
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        AgentProfile.objects.get_or_create(user=agent)
        profile = AgentProfile.objects.select_for_update().get(user=agent)
        before = {
            "capacity": profile.capacity,
            "languages": profile.languages,
            "skills": dict(AgentSkill.objects.filter(user=agent).values_list("skill", "level")),
        }
        if capacity is not None:
            profile.capacity = capacity
        if languages is not None:
            profile.languages = sorted(set(languages))
        profile.save(update_fields=["capacity", "languages"])
        if skills is not None:
            AgentSkill.objects.filter(user=agent).exclude(skill__in=list(skills)).delete()
            for skill, level in skills.items():
                AgentSkill.objects.update_or_create(
                    user=agent, skill=skill, defaults={"level": level}
                )
        after = {
            "capacity": profile.capacity,
            "languages": profile.languages,
            "skills": dict(AgentSkill.objects.filter(user=agent).values_list("skill", "level")),
        }
        if after != before:
            work.push_to_agent(agent.pk)  # more capacity or skills may take waiting work
            record(
                "agent.profile_changed",
                obj=profile,
                object_repr=agent.email,
                before=before,
                after=after,
            )
    return profile
