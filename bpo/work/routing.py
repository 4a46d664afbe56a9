"""Who may take which work: the eligibility rules routing applies, as query filters.

An agent is eligible for an item when they are certified for its service, hold every skill its
queue and the item itself require (at least at the required level), and work in the item's
language when it has one. Queue requirements are checked here in Python (queues are few); the
item's own requirements are a JSON object checked by the database, so "get next" stays one
indexed query whatever the backlog.

"Get next" is the hottest write of the system (every agent, all day long), so its statements are
built once per agent and kept (:func:`take_statements`): while the agent's languages, tenant
scope and the routing stamp stay the same, the agent's next take runs the same SQL with no ORM
work. The stamp (``RoutingStamp``) is changed by database triggers at every write to skills,
certifications and queues, so a revoked certification takes effect at the very next take, in
every process.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.query import RawQuerySet

from bpo.accounts.models import User
from bpo.tenancy.scoping import active_client_ids
from bpo.work.models import Queue, Routing, State, WorkItem
from bpo.workforce.models import AgentProfile, AgentSkill, Certification

WAITING_STATES = (State.NEW, State.OPEN)
# The routing order, as the partial index item_queue_waiting keeps each queue's waiting items.
ROUTING_ORDER = (F("rank").asc(), F("due_sort").asc(), F("id").asc())
# How many of each queue's best waiting items a take reads before the wider reads (see
# :func:`take_statements`).
PER_QUEUE_READS = (4, 32)
# Agents whose take statements a process keeps (the least recently used go first).
PLANS_KEPT = 5_000


@dataclass(frozen=True)
class AgentQueue:
    """A queue of a service the agent is certified for, with what routing checks of it."""

    client_id: int
    queue_id: int
    required_skills: object
    routing: str


@dataclass(frozen=True)
class Agent:
    """What routing needs to know about one agent."""

    user: User
    profile: AgentProfile
    skills: dict[str, int]
    service_ids: frozenset[int]
    queues: tuple[AgentQueue, ...] = ()

    @property
    def languages(self) -> list[str]:
        return [str(code) for code in (self.profile.languages or [])]


def agent_of(user: User, profile: AgentProfile | None = None) -> Agent:
    """The agent's skills, certified services and their queues (within the active tenant
    scope): two queries."""
    if profile is None:
        profile, _ = AgentProfile.objects.get_or_create(user=user)
    skills = dict(AgentSkill.objects.filter(user=user).values_list("skill", "level"))
    certified = Certification.objects.filter(user=user).values_list(
        "service_id",
        "service__queues__client_id",
        "service__queues__id",
        "service__queues__required_skills",
        "service__queues__routing",
    )
    services: set[int] = set()
    queues: list[AgentQueue] = []
    for service_id, client_id, queue_id, required, queue_routing in certified:
        services.add(service_id)
        if queue_id is not None:
            queues.append(AgentQueue(client_id, queue_id, required, queue_routing))
    return Agent(
        user=user,
        profile=profile,
        skills=skills,
        service_ids=frozenset(services),
        queues=tuple(queues),
    )


def skills_satisfy(have: dict[str, int], need: object) -> bool:
    """Whether skills ``have`` meet the requirements ``need`` ({skill: minimum level})."""
    if not isinstance(need, dict):
        return True
    return all(have.get(str(skill), 0) >= int(level) for skill, level in need.items())


def eligible_queues(agent: Agent, *, push_only: bool = False) -> list[tuple[int, int]]:
    """(client id, queue id) of the queues of the agent's certified services whose skill
    requirements the agent meets."""
    return [
        (queue.client_id, queue.queue_id)
        for queue in agent.queues
        if (not push_only or queue.routing == Routing.PUSH)
        and skills_satisfy(agent.skills, queue.required_skills)
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
    """SQL selecting the best ``per_queue`` waiting items of each eligible queue (their id, rank
    and due_sort, in no particular order), or None when the agent has no eligible queue.

    One indexed range read per queue (index item_queue_waiting: client, queue, routing order),
    so the cost follows the agent's queues, not the installation's backlog: a single query over
    all queues would walk other clients' waiting items in the global order before reaching the
    agent's. Each read names its queue's client exactly beside the queue, so the database reads
    the index range in order instead of guessing how the scope's clients filter it.

    The sub-select of one queue is built once by the ORM, inside the tenant scope. PostgreSQL
    runs it for every queue with ``CROSS JOIN LATERAL`` over the (client, queue) pairs, planned
    once whatever the number of queues (fifty sub-selects joined by UNION ALL took 10 ms to plan
    for an agent of five clients); SQLite has no LATERAL and plans cheaply, so there the
    sub-select is repeated for each queue, its ids written in, and joined by UNION ALL."""
    eligible = _eligible(agent).order_by(*ROUTING_ORDER).values("id", "rank", "due_sort")
    queues = eligible_queues(agent, push_only=push_only)
    parts: list[str] = []
    params: list[Any] = []
    if queues:
        # One queue's best items, built once by the ORM; q.client_id and q.queue_id name the
        # queue (the only unquoted column references in the SQL Django writes).
        one_queue = eligible.filter(
            client_id=RawSQL("q.client_id", []), queue_id=RawSQL("q.queue_id", [])
        )[:per_queue]
        sql, member_params = one_queue.query.sql_with_params()
        if connection.vendor == "postgresql":
            pairs = "unnest(%s::bigint[], %s::bigint[]) AS q(client_id, queue_id)"
            parts.append(f"SELECT c.* FROM {pairs} CROSS JOIN LATERAL ({sql}) AS c")  # noqa: S608
            params.extend([[c for c, _ in queues], [q for _, q in queues], *member_params])
        else:
            for n, (client_id, queue_id) in enumerate(queues):
                member = sql.replace("q.client_id", str(int(client_id)))
                member = member.replace("q.queue_id", str(int(queue_id)))
                parts.append(f"SELECT * FROM ({member}) AS q{n}")  # noqa: S608 (ids are ints)
                params.extend(member_params)
    if not push_only and agent.service_ids:
        no_queue = eligible.filter(queue__isnull=True, service_id__in=agent.service_ids)
        sql, member_params = no_queue[:per_queue].query.sql_with_params()
        parts.append(f"SELECT * FROM ({sql}) AS no_queue")  # noqa: S608 (ORM SQL)
        params.extend(member_params)
    if not parts:
        return None
    return " UNION ALL ".join(parts), params


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


@dataclass(frozen=True)
class Take:
    """One statement that assigns the best waiting item it finds to an agent and returns the
    item's row (every column of WorkItem), or no row. Its first three parameters are the agent's
    user id and the time, twice (assigned_at, updated_at); the rest are ``params``."""

    sql: str
    params: tuple[Any, ...]

    def run(self, user_id: int, now: datetime) -> WorkItem | None:
        at = connection.ops.adapt_datetimefield_value(now)
        # A raw query set of the model itself: the tenant manager would build a filtered query
        # only to throw it away (the statement carries its scope, built in it).
        found = list(RawQuerySet(self.sql, model=WorkItem, params=(user_id, at, at, *self.params)))
        return found[0] if found else None


_plans: OrderedDict[tuple[Any, ...], tuple[Take, ...]] = OrderedDict()
_plans_lock = threading.Lock()


def take_statements(
    user: User, profile: AgentProfile, stamp: int | None, *, push_only: bool = False
) -> tuple[Take, ...]:
    """The statements that take the agent's next item, to run in order until one returns it:
    from the best few of each eligible queue (cheap at any backlog), then a wider read, then
    every eligible item (so none is ever skipped). Each locks the item it takes with SKIP
    LOCKED where the database has it, so concurrent agents take different items without
    waiting.

    Built in the active tenant scope, and kept per process under the agent, their languages
    (from ``profile``), the scope and ``stamp`` (the routing stamp read in this transaction);
    with no stamp (a database flushed by tests) they are built afresh every time."""
    key = (user.pk, tuple(profile.languages or ()), active_client_ids(), stamp, push_only)
    with _plans_lock:
        takes = _plans.get(key)
        if takes is not None:
            _plans.move_to_end(key)
            return takes
    takes = _build_takes(agent_of(user, profile), push_only=push_only)
    if stamp is not None:
        with _plans_lock:
            _plans[key] = takes
            while len(_plans) > PLANS_KEPT:
                _plans.popitem(last=False)
    return takes


def _build_takes(agent: Agent, *, push_only: bool) -> tuple[Take, ...]:
    takes = [_take_best(agent, per_queue=n, push_only=push_only) for n in PER_QUEUE_READS]
    takes.append(_take_any(agent, push_only=push_only))
    return tuple(take for take in takes if take is not None)


def _take_best(agent: Agent, *, per_queue: int, push_only: bool) -> Take | None:
    """Take the best waiting item among the best ``per_queue`` of each eligible queue (see
    :func:`candidates_sql`): the candidates are sorted first, so the database fetches and locks
    the rows one by one in routing order and stops at the first no one else holds."""
    found = candidates_sql(agent, per_queue=per_queue, push_only=push_only)
    if found is None:
        return None
    candidates, params = found
    first = (
        "SELECT w.id FROM ("  # noqa: S608 (ORM-built candidates, values bound)
        f"SELECT * FROM ({candidates}) AS c ORDER BY rank, due_sort, id) AS best "
        "JOIN work_workitem w ON w.id = best.id "
        "WHERE w.assignee_id IS NULL AND w.state IN (%s, %s) "
        "ORDER BY best.rank, best.due_sort, best.id LIMIT 1"
    )
    if connection.features.has_select_for_update_skip_locked:
        first += " FOR UPDATE OF w SKIP LOCKED"
    return _assigning(first, [*params, *WAITING_STATES])


def _take_any(agent: Agent, *, push_only: bool) -> Take | None:
    """Take the best of every item the agent may take; None when there can be none (an agent
    with no eligible queue)."""
    first = waiting_for(agent, push_only=push_only).values("id")[:1]
    if connection.features.has_select_for_update_skip_locked:
        first = first.select_for_update(skip_locked=True, of=("self",))
    try:
        sql, params = first.query.sql_with_params()
    except EmptyResultSet:
        return None
    return _assigning(sql, params)


def _assigning(first: str, params: Any) -> Take:
    """The UPDATE that assigns the item whose id ``first`` selects and returns its row."""
    if connection.vendor == "postgresql":
        # The values written in (quoted by psycopg, as client-side binding quotes them): left
        # with three parameters, the statement is converted once and remembered by psycopg
        # (one of many parameters, an agent of fifty queues, anew at every take) and prepared
        # by PostgreSQL with one plan for every take.
        composed = connection.ops.compose_sql(first, params)  # type: ignore[attr-defined]
        first, params = composed.replace("%", "%%"), ()
    columns = ", ".join(f.column for f in WorkItem._meta.concrete_fields)
    sql = (
        "UPDATE work_workitem SET assignee_id = %s, assigned_at = %s, updated_at = %s "  # noqa: S608
        f"WHERE id = ({first}) RETURNING {columns}"
    )
    return Take(sql, tuple(params))
