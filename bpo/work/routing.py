"""Who may take which work: the eligibility rules routing applies, as query filters.

An agent is eligible for an item when they are certified for its service, hold every skill its
queue and the item itself require (at least at the required level), and work in the item's
language when it has one. Queue requirements are checked here in Python (queues are few); the
item's own requirements are a JSON object checked by the database, so "get next" stays one
indexed query whatever the backlog.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL

from bpo.accounts.models import User
from bpo.work.models import Queue, State, WorkItem
from bpo.workforce.models import AgentProfile, AgentSkill, Certification

WAITING_STATES = (State.NEW, State.OPEN)
# The routing order, as the partial index item_queue_waiting keeps each queue's waiting items.
ROUTING_ORDER = (F("rank").asc(), F("due_sort").asc(), F("id").asc())


@dataclass(frozen=True)
class Agent:
    """What routing needs to know about one agent."""

    user: User
    profile: AgentProfile
    skills: dict[str, int]
    service_ids: frozenset[int]

    @property
    def languages(self) -> list[str]:
        return [str(code) for code in (self.profile.languages or [])]


def agent_of(user: User, profile: AgentProfile | None = None) -> Agent:
    """The agent's skills and certified services (within the active tenant scope)."""
    if profile is None:
        profile, _ = AgentProfile.objects.get_or_create(user=user)
    skills = dict(AgentSkill.objects.filter(user=user).values_list("skill", "level"))
    services = frozenset(
        Certification.objects.filter(user=user).values_list("service_id", flat=True)
    )
    return Agent(user=user, profile=profile, skills=skills, service_ids=services)


def skills_satisfy(have: dict[str, int], need: object) -> bool:
    """Whether skills ``have`` meet the requirements ``need`` ({skill: minimum level})."""
    if not isinstance(need, dict):
        return True
    return all(have.get(str(skill), 0) >= int(level) for skill, level in need.items())


def eligible_queues(agent: Agent, *, push_only: bool = False) -> list[tuple[int, int]]:
    """(client id, queue id) of the queues of the agent's certified services whose skill
    requirements the agent meets."""
    queues = Queue.objects.filter(service_id__in=agent.service_ids)
    if push_only:
        queues = queues.filter(routing="push")
    return [
        (client_id, pk)
        for client_id, pk, need in queues.values_list("client_id", "pk", "required_skills")
        if skills_satisfy(agent.skills, need)
    ]


def eligible_queue_ids(agent: Agent, *, push_only: bool = False) -> list[int]:
    """The ids of :func:`eligible_queues`."""
    return [pk for _, pk in eligible_queues(agent, push_only=push_only)]


def _item_skills_met(skills: dict[str, int]) -> RawSQL:
    """1 when the agent has every skill the item itself requires, at the level required."""
    if connection.vendor == "postgresql":
        sql = (
            'NOT EXISTS (SELECT 1 FROM jsonb_each_text("work_workitem"."required_skills") AS need '
            "WHERE COALESCE((%s::jsonb ->> need.key)::int, 0) < need.value::int)"
        )
    else:
        sql = (
            'NOT EXISTS (SELECT 1 FROM json_each("work_workitem"."required_skills") AS need '
            "WHERE COALESCE(json_extract(%s, '$.\"' || need.key || '\"'), 0) < need.value)"
        )
    return RawSQL(sql, [json.dumps(skills)])  # noqa: S611 (fixed SQL, the skills bound)


def _eligible(agent: Agent) -> QuerySet[WorkItem]:
    """Waiting items the agent may take by language and by the item's own skills."""
    items = WorkItem.objects.filter(
        Q(language="") | Q(language__in=agent.languages),
        assignee__isnull=True,
        state__in=WAITING_STATES,
    )
    if not agent.skills:
        return items.filter(required_skills={})
    return items.alias(skills_met=_item_skills_met(agent.skills)).filter(skills_met=True)


def waiting_for(agent: Agent, *, push_only: bool = False) -> QuerySet[WorkItem]:
    """The unassigned items the agent may take, best first: highest priority, earliest SLA
    due time (items without one last), then the oldest."""
    where = Q(queue_id__in=eligible_queue_ids(agent, push_only=push_only))
    if not push_only:
        where |= Q(queue__isnull=True, service_id__in=agent.service_ids)
    return _eligible(agent).filter(where).order_by(*ROUTING_ORDER)


def candidates_sql(
    agent: Agent, *, per_queue: int, push_only: bool = False
) -> tuple[str, list[Any]] | None:
    """The SQL of :func:`best_candidates` (None when the agent has no eligible queue)."""
    eligible = _eligible(agent).order_by(*ROUTING_ORDER).values("id", "rank", "due_sort")
    # The client named exactly beside the queue: the index leads with both, so the database
    # reads each queue's range in order instead of guessing how the scope's clients filter it.
    members = [
        eligible.filter(client_id=client_id, queue_id=queue_id)[:per_queue]
        for client_id, queue_id in eligible_queues(agent, push_only=push_only)
    ]
    if not push_only and agent.service_ids:
        members.append(
            eligible.filter(queue__isnull=True, service_id__in=agent.service_ids)[:per_queue]
        )
    if not members:
        return None
    parts: list[str] = []
    params: list[Any] = []
    for n, member in enumerate(members):
        sql, member_params = member.query.sql_with_params()
        parts.append(f"SELECT id, rank, due_sort FROM ({sql}) AS q{n}")  # noqa: S608
        params.extend(member_params)
    sql = " UNION ALL ".join(parts) + " ORDER BY rank, due_sort, id"
    return sql, params


def best_candidates(agent: Agent, *, per_queue: int, push_only: bool = False) -> list[int]:
    """The ids of the best ``per_queue`` waiting items of each eligible queue, best first.

    One indexed range read per queue (index item_queue_waiting: client, queue, routing order),
    so the cost follows the agent's queues, not the installation's backlog: a single query over
    all queues would walk other clients' waiting items in the global order before reaching the
    agent's. The members are
    joined with UNION ALL, each a sub-select with its own ORDER BY and LIMIT (which both
    SQLite and PostgreSQL accept in a FROM clause)."""
    found = candidates_sql(agent, per_queue=per_queue, push_only=push_only)
    if found is None:
        return []
    sql, params = found
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def agent_may_take(agent: Agent, item: WorkItem) -> bool:
    """The same rules as :func:`waiting_for`, for one item already in hand."""
    if item.service_id not in agent.service_ids:
        return False
    if item.language and item.language not in agent.languages:
        return False
    if not skills_satisfy(agent.skills, item.required_skills):
        return False
    return item.queue is None or skills_satisfy(agent.skills, item.queue.required_skills)


def waiting_in(queue: Queue, limit: int = 500) -> list[WorkItem]:
    """A queue's waiting items in routing order, locked for the caller's transaction."""
    items = WorkItem.objects.filter(
        queue=queue, assignee__isnull=True, state__in=WAITING_STATES
    ).order_by(*ROUTING_ORDER)
    if connection.features.has_select_for_update_skip_locked:
        items = items.select_for_update(skip_locked=True, of=("self",))
    return list(items[:limit])
