"""A provider at volume for the work benchmarks: clients, services, queues, agents and items.

The few rows people create by hand (clients, calendars, contracts, SLA policies, services, their
default queues, agents, their assignments and certifications) go through the app's actions, so
they are valid and audited as in production. The work items, up to a million of them, are
inserted in bulk straight into the table (COPY on PostgreSQL, executemany on SQLite): what the
benchmarks measure is routing and listing over a large backlog, not how that backlog arrived.
Bulk items have no timeline, no SLA clock rows and no audit entries; their ``due_at`` is set as
their clocks would set it (creation plus the priority's resolution target).
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.test import override_settings

from bench import progress
from bpo.accounts import actions as people
from bpo.accounts.roles import Role
from bpo.audit.context import request_context
from bpo.calendars import actions as calendars
from bpo.contracts import actions as contracts
from bpo.contracts.models import Service
from bpo.tenancy import actions as tenancy
from bpo.tenancy.context import Actor, acting_as, actor_for
from bpo.tenancy.models import Client
from bpo.work.actions import queue_default
from bpo.workforce import actions as workforce

SEED = 20261124
PASSWORD = "bench-agent-password-2026"  # throwaway benchmark people
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
# Resolution targets per priority (minutes of calendar time), and the share of each priority.
RESOLUTION_MINUTES = {"urgent": 8 * 60, "high": 16 * 60, "normal": 39 * 60, "low": 65 * 60}
# First-response targets, for the benchmarks that ask for them (seed_provider(first_response=)).
FIRST_RESPONSE_MINUTES = {"urgent": 30, "high": 60, "normal": 4 * 60, "low": 8 * 60}
PRIORITY_WEIGHTS = {"urgent": 2, "high": 10, "normal": 68, "low": 20}
NO_DUE_SHARE = 0.1  # items of services without a resolution target wait without a due time
OPEN_SHARE = 0.15  # waiting items that were opened before (state open rather than new)
BACKLOG_DAYS = 14  # items were created over the last two weeks
COPY_BATCH = 50_000
COPY_COLUMNS = (
    "client_id",
    "service_id",
    "terms_id",
    "queue_id",
    "title",
    "description",
    "priority",
    "state",
    "required_skills",
    "language",
    "due_at",
    "custom_fields",
    "tags",
    "external_ref",
    "assignee_id",
    "assigned_at",
    "created_at",
    "updated_at",
    "resolved_at",
    "channel",
)


@dataclass(frozen=True)
class Shape:
    """How big the provider is."""

    clients: int
    queues_per_client: int  # each queue the default queue of its own service
    agents: int
    clients_per_agent: int
    items: int

    def describe(self) -> str:
        return (
            f"{self.items:,} items in {self.clients * self.queues_per_client:,} queues of "
            f"{self.clients} clients; {self.agents} agents on {self.clients_per_agent} clients each"
        )


@dataclass(frozen=True)
class QueueRow:
    """A queue with the service and service terms its items carry."""

    queue_id: int
    service_id: int
    terms_id: int


@dataclass
class Provider:
    """What was seeded: ids only, so threads can use them on their own connections."""

    admin_id: int
    client_ids: list[int]
    queues: dict[int, list[QueueRow]]  # by client id
    agent_ids: list[int]
    agent_clients: dict[int, list[int]]  # agent id -> client ids

    def agent_queues(self, agent_id: int) -> list[tuple[int, int]]:
        """(client id, queue id) of the services the agent is certified for (all of their
        clients')."""
        return [(c, q.queue_id) for c in self.agent_clients[agent_id] for q in self.queues[c]]


@contextmanager
def fast_hashing() -> Iterator[None]:
    """Passwords play no part in these benchmarks; Argon2 would make seeding take minutes."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


def agent_client_indexes(agent: int, shape: Shape) -> list[int]:
    """The clients an agent works for: a run of neighbours that overlaps by half with the next
    agent's, as teams share clients (with 5 clients each, agent i works for clients 2i to
    2i+4, so each client has two or three of the agents). Clients past the last agent's have
    nobody on this shift: their items wait, part of the backlog every query has to pass."""
    step = max(1, shape.clients_per_agent // 2)
    return [(agent * step + k) % shape.clients for k in range(shape.clients_per_agent)]


def seed_provider(shape: Shape, *, first_response: bool = False) -> Provider:
    """Clients with their agreements and queues, and agents, all through the app's actions.

    The SLA policy has a resolution target per priority, and with ``first_response`` a
    first-response target per priority too (FIRST_RESPONSE_MINUTES)."""
    began = time.perf_counter()
    with request_context(request_id="bench-seed"), fast_hashing():
        admin = people.admin_bootstrap(
            email="admin@bench.example", full_name="Bench Admin", password=PASSWORD
        )
        clients: list[Client] = []
        queues: dict[int, list[QueueRow]] = {}
        for number in range(1, shape.clients + 1):
            with acting_as(actor_for(admin)) as actor:
                client = tenancy.client_create(
                    actor=actor, name=f"Client {number:04d}", slug=f"client-{number:04d}"
                )
            with acting_as(actor_for(admin)) as actor:
                queues[client.pk] = _seed_agreement(
                    actor, client, shape.queues_per_client, first_response=first_response
                )
            clients.append(client)
            if number % 10 == 0 or number == shape.clients:
                progress(
                    f"seeded {number}/{shape.clients} clients with {shape.queues_per_client} "
                    f"services and queues each ({time.perf_counter() - began:.0f} s)"
                )
        agent_ids: list[int] = []
        agent_clients: dict[int, list[int]] = {}
        for number in range(shape.agents):
            mine = [clients[i] for i in agent_client_indexes(number, shape)]
            with acting_as(actor_for(admin)) as actor:
                user = people.user_create(
                    actor=actor,
                    email=f"agent{number:03d}@bench.example",
                    full_name=f"Agent {number:03d}",
                    password=PASSWORD,
                )
                people.membership_create(actor=actor, user=user, role=Role.AGENT)
                for client in mine:
                    people.assignment_create(actor=actor, user=user, client=client)
            with acting_as(actor_for(admin)) as actor:
                for client in mine:
                    for service in client_services(client.pk):
                        workforce.certification_grant(actor=actor, user=user, service=service)
                # The most an agent may hold at once, so a run's get-nexts never hit capacity.
                workforce.agent_profile_update(actor=actor, agent=user, capacity=100)
            agent_ids.append(user.pk)
            agent_clients[user.pk] = [c.pk for c in mine]
        progress(
            f"seeded {shape.agents} agents, each assigned to and certified for "
            f"{shape.clients_per_agent} clients ({time.perf_counter() - began:.0f} s)"
        )
    return Provider(
        admin_id=admin.pk,
        client_ids=[c.pk for c in clients],
        queues=queues,
        agent_ids=agent_ids,
        agent_clients=agent_clients,
    )


def client_services(client_id: int) -> list[Service]:
    """The client's services, in key order (inside a scope that includes the client)."""
    return list(Service.objects.filter(client_id=client_id).order_by("key"))


def _seed_agreement(
    actor: Actor, client: Client, count: int, *, first_response: bool = False
) -> list[QueueRow]:
    """A calendar, a contract with ``count`` services under one SLA policy, activated; and the
    default queue of each service."""
    calendar = calendars.calendar_create(
        actor=actor,
        client=client,
        name="Office hours",
        time_zone="Europe/Berlin",
        weekly={d: ["08:00-18:00"] for d in WEEKDAYS},
    )
    contract = contracts.contract_create(
        actor=actor,
        client=client,
        reference=f"{client.slug.upper()}-01",
        title="Back-office services",
        start_date="2026-01-01",
        currency="EUR",
    )
    version = contract.versions.get()
    targets = [
        {"priority": p, "metric": "resolution", "duration_minutes": m, "clock": "calendar"}
        for p, m in RESOLUTION_MINUTES.items()
    ]
    if first_response:
        targets += [
            {"priority": p, "metric": "first_response", "duration_minutes": m, "clock": "calendar"}
            for p, m in FIRST_RESPONSE_MINUTES.items()
        ]
    policy = contracts.sla_policy_save(
        actor=actor, version=version, name="Standard", targets=targets
    )
    terms = [
        contracts.service_add(
            actor=actor,
            version=version,
            key=f"service-{n:02d}",
            name=f"Service {n:02d}",
            process_type="task",
            calendar=calendar,
            sla_policy_id=policy.pk,
        )
        for n in range(1, count + 1)
    ]
    contracts.contract_version_activate(actor=actor, version=version)
    rows = []
    for t in terms:
        queue = queue_default(t.service)
        rows.append(QueueRow(queue_id=queue.pk, service_id=t.service_id, terms_id=t.pk))
    return rows


def _weighted(rng: random.Random, weights: dict[str, int], count: int) -> list[str]:
    return rng.choices(list(weights), weights=list(weights.values()), k=count)


def item_rows(
    provider: Provider, count: int, *, now: datetime, assigned_share: float = 0.0
) -> Iterator[tuple[Any, ...]]:
    """``count`` reproducible item rows in COPY_COLUMNS order, spread evenly over the queues.

    Waiting items (new or open, unassigned) but for ``assigned_share`` of them, which agents of
    the item's client already took: of those, most are resolved (an agent's history) and the
    rest still open."""
    rng = random.Random(SEED)  # noqa: S311 (reproducible test data, not secrets)
    all_queues = [(c, q) for c in provider.client_ids for q in provider.queues[c]]
    agents_of: dict[int, list[int]] = {c: [] for c in provider.client_ids}
    for agent, clients in provider.agent_clients.items():
        for c in clients:
            agents_of[c].append(agent)
    span = BACKLOG_DAYS * 86400
    for number in range(count):
        client_id, queue = all_queues[number % len(all_queues)]
        priority = _weighted(rng, PRIORITY_WEIGHTS, 1)[0]
        created = now - timedelta(seconds=rng.randrange(span))
        due = (
            None
            if rng.random() < NO_DUE_SHARE
            else created + timedelta(minutes=RESOLUTION_MINUTES[priority])
        )
        state = "open" if rng.random() < OPEN_SHARE else "new"
        assignee = assigned_at = resolved_at = None
        if assigned_share and rng.random() < assigned_share and agents_of[client_id]:
            assignee = rng.choice(agents_of[client_id])
            assigned_at = created + timedelta(minutes=rng.randrange(1, 120))
            if rng.random() < 0.9:
                state, resolved_at = "resolved", assigned_at + timedelta(minutes=30)
            else:
                state = "open"
        yield (
            client_id,
            queue.service_id,
            queue.terms_id,
            queue.queue_id,
            f"Bench item {number + 1}",
            "",
            priority,
            state,
            "{}",
            "",
            due,
            "{}",
            "[]",
            "",
            assignee,
            assigned_at,
            created,
            resolved_at or assigned_at or created,
            resolved_at,
            "api",
        )


def _copy_text(value: object) -> str:
    r"""One value in PostgreSQL's COPY text format (\N for NULL; our values need no escaping)."""
    if value is None:
        return r"\N"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def insert_items(provider: Provider, count: int, *, assigned_share: float = 0.0) -> None:
    """Insert ``count`` items in bulk, then bring the planner's statistics up to date."""
    began = time.perf_counter()
    now = datetime.now(UTC)
    rows = item_rows(provider, count, now=now, assigned_share=assigned_share)
    columns = ", ".join(COPY_COLUMNS)
    done = 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                with raw.copy(f"COPY work_workitem ({columns}) FROM STDIN") as copy:
                    while done < count:
                        text = io.StringIO()
                        for row in _take(rows, COPY_BATCH):
                            text.write("\t".join(_copy_text(v) for v in row))
                            text.write("\n")
                            done += 1
                        copy.write(text.getvalue())
                        progress(
                            f"copied {done:,}/{count:,} items ({time.perf_counter() - began:.0f} s)"
                        )
        else:
            marks = ", ".join("%s" for _ in COPY_COLUMNS)
            sql = f"INSERT INTO work_workitem ({columns}) VALUES ({marks})"  # noqa: S608
            adapt = connection.ops.adapt_datetimefield_value  # naive UTC text, as Django stores
            with connection.cursor() as cursor:
                while done < count:
                    batch = [
                        tuple(adapt(v) if isinstance(v, datetime) else v for v in row)
                        for row in _take(rows, COPY_BATCH)
                    ]
                    cursor.executemany(sql, batch)
                    done += len(batch)
                    progress(
                        f"inserted {done:,}/{count:,} items ({time.perf_counter() - began:.0f} s)"
                    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # What autovacuum would have done to a table of this age: statistics and the
            # visibility map, so plans and index-only scans are those of a settled table.
            cursor.execute("VACUUM (ANALYZE) work_workitem")
        else:
            cursor.execute("ANALYZE")
    progress(f"{count:,} items in place, table analysed ({time.perf_counter() - began:.0f} s)")


def _take(rows: Iterator[tuple[Any, ...]], n: int) -> Iterator[tuple[Any, ...]]:
    for _, row in zip(range(n), rows, strict=False):
        yield row
