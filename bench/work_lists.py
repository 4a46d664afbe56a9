"""Work lists: a page of an agent's items and a page of a queue's items, beside bare SQL.

The same provider as ``bench routing`` (clients, queues, agents through the app's actions; the
items in bulk), where agents already hold a history: a share of the items of their clients is
assigned to one of the client's agents, most of those resolved. Each request lists one page (50
items) the way ``GET /api/v1/work-items`` builds it, in process and without HTTP: as a random
agent, in that agent's tenant scope, ``bpo.work.queries.items_visible`` narrowed to the agent's
items (``mine=true``) or to one of the agent's queues, then ``bpo.paging.keyset_page`` and the
``ItemPage`` schema that turns the page into what the endpoint answers. Half the requests ask
for the first page, half for the page after a random item of the list (keyset paging). The
baseline is one hand-written SQL query returning the same page: the same rows with the same
columns (the contract version number and the contact's address joined in), same order.
"""

from __future__ import annotations

import inspect
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from bench import Figure, Options, median, progress
from bench._workload import Provider, Shape, insert_items, seed_provider
from bpo.accounts.models import User
from bpo.paging import DEFAULT_LIMIT, keyset_page
from bpo.tenancy.context import Actor, acting_as, actor_for
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work import queries
from bpo.work.models import WorkItem
from bpo.work.schemas import ItemPage

FULL_POSTGRESQL = Shape(
    clients=100, queues_per_client=10, agents=16, clients_per_agent=5, items=1_000_000
)
FULL_SQLITE = Shape(
    clients=100, queues_per_client=10, agents=16, clients_per_agent=5, items=200_000
)
QUICK = Shape(clients=8, queues_per_client=10, agents=4, clients_per_agent=2, items=2_000)
ASSIGNED_SHARE = 0.1  # of all items, taken by an agent of their client (mostly resolved since)
FULL_REQUESTS = 500
QUICK_REQUESTS = 50
WARM_UP_REQUESTS = 20
SEED = 20261125

# The page as the endpoint answers it: ItemOut's columns, the version number and contact joined.
BARE_PAGE = """
    SELECT i.id, i.client_id, i.service_id, v.number, i.queue_id, i.title, i.description,
           i.priority, i.state, c.email, i.custom_fields, i.tags, i.external_ref, i.parent_id,
           i.assignee_id, i.created_at, i.updated_at, i.resolved_at
    FROM work_workitem i
    JOIN contracts_serviceterms t ON t.id = i.terms_id
    JOIN contracts_contractversion v ON v.id = t.version_id
    LEFT JOIN work_contact c ON c.id = i.contact_id
    WHERE i.client_id IN ({clients}) AND {narrow} AND i.id > %s
    ORDER BY i.id
    LIMIT %s
"""
NARROW = {"mine": "i.assignee_id = %s", "queue": "i.queue_id = %s"}


@dataclass(frozen=True)
class Request:
    """One list request: who asks, what list (the agent's items or one queue), which page."""

    agent_id: int
    clients: list[int]
    key: int  # the agent (mine) or the queue
    after: int | None


def app_page(actors: dict[int, Actor], kind: str) -> Callable[[Request], list[int]]:
    """List a page as the endpoint does: items_visible, keyset_page, the ItemPage schema."""
    takes_queue = "queue_id" in inspect.signature(queries.items_visible).parameters

    def rows(actor: Actor, request: Request) -> Any:
        if kind == "mine":
            return queries.items_visible(actor=actor, assigned_to_me=True)
        if takes_queue:  # the filter of GET /api/v1/work-items?queue_id=, where it exists
            return queries.items_visible(actor=actor, queue_id=request.key)  # type: ignore[call-arg]
        return queries.items_visible(actor=actor).filter(queue_id=request.key)

    def list_page(request: Request) -> list[int]:
        actor = actors[request.agent_id]
        with acting_as(actor):
            page = keyset_page(rows(actor, request), after=request.after, limit=DEFAULT_LIMIT)
            body = ItemPage.model_validate(
                {"items": page.items, "next_cursor": page.next_cursor}
            ).model_dump(mode="json")
        return [item["id"] for item in body["items"]]

    return list_page


def bare_page(kind: str) -> Callable[[Request], list[int]]:
    """The same page with one hand-written query, rows turned into dicts."""
    names = [
        "id",
        "client_id",
        "service_id",
        "contract_version",
        "queue_id",
        "title",
        "description",
        "priority",
        "state",
        "contact_email",
        "custom_fields",
        "tags",
        "external_ref",
        "parent_id",
        "assignee_id",
        "created_at",
        "updated_at",
        "resolved_at",
    ]

    def list_page(request: Request) -> list[int]:
        sql = BARE_PAGE.format(
            clients=", ".join(str(int(c)) for c in request.clients), narrow=NARROW[kind]
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [request.key, request.after or 0, DEFAULT_LIMIT + 1])
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return [row["id"] for row in rows[:DEFAULT_LIMIT]]

    return list_page


def make_requests(provider: Provider, kind: str, count: int) -> list[Request]:
    """Reproducible requests: a random agent, their items or a random queue of theirs, the
    first page or the page after a random item of that list."""
    rng = random.Random(f"{SEED}-{kind}")  # noqa: S311 (reproducible test data, not secrets)
    lists: dict[tuple[int, int], list[int]] = {}
    requests = []
    with all_clients_unscoped("the benchmark picks random pages to ask for"):
        for _ in range(count):
            agent = rng.choice(provider.agent_ids)
            clients = provider.agent_clients[agent]
            key = agent if kind == "mine" else rng.choice(provider.agent_queues(agent))[1]
            if (agent, key) not in lists:
                items = WorkItem.objects.filter(client_id__in=clients)
                items = items.filter(assignee_id=key) if kind == "mine" else items.filter(queue=key)
                lists[agent, key] = list(items.order_by("pk").values_list("pk", flat=True))
            ids = lists[agent, key]
            after = rng.choice(ids) if ids and rng.random() < 0.5 else None
            requests.append(Request(agent, clients, key, after))
    return requests


def timed(list_page: Callable[[Request], list[int]], requests: list[Request]) -> list[float]:
    """Latencies of the requests, one after another, in seconds."""
    latencies = []
    for request in requests:
        began = time.perf_counter()
        list_page(request)
        latencies.append(time.perf_counter() - began)
    return latencies


def p95_ms(latencies: list[float]) -> float:
    """The 95th percentile in milliseconds (nearest rank)."""
    ordered = sorted(latencies)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000


def check_same_pages(
    app: Callable[[Request], list[int]],
    bare: Callable[[Request], list[int]],
    requests: list[Request],
) -> None:
    """Both ways list the same items for every request (the bare query is the same page)."""
    for request in requests:
        if app(request) != bare(request):
            raise RuntimeError(f"the app and the bare query list different pages: {request!r}")


def run(options: Options) -> list[Figure]:
    """Each list's p95 latency through the app beside the bare query, interleaved runs."""
    if options.quick:
        shape = QUICK
    else:
        shape = FULL_POSTGRESQL if options.db == "postgresql" else FULL_SQLITE
    count = QUICK_REQUESTS if options.quick else FULL_REQUESTS
    progress(f"seeding {shape.describe()}")
    provider = seed_provider(shape)
    insert_items(provider, shape.items, assigned_share=ASSIGNED_SHARE)
    actors = {a: actor_for(User.objects.get(pk=a)) for a in provider.agent_ids}
    figures = []
    for kind in ("mine", "queue"):
        requests = make_requests(provider, kind, count)
        ways = {"app": app_page(actors, kind), "bare": bare_page(kind)}
        check_same_pages(ways["app"], ways["bare"], requests[:WARM_UP_REQUESTS])
        samples: dict[str, list[float]] = {way: [] for way in ways}
        for number in range(1, options.runs + 1):
            order = list(ways) if number % 2 else list(reversed(ways))
            for way in order:
                p95 = p95_ms(timed(ways[way], requests))
                samples[way].append(p95)
                progress(f"run {number}/{options.runs} {kind} list, {way}: p95 {p95:.2f} ms")
        figures.append(
            Figure(
                f"{kind}_p95_ms",
                median(samples["app"]),
                "ms",
                f"bare_{kind}_p95_ms",
                median(samples["bare"]),
                options.runs,
                f"{shape.describe()}; {count} page requests/run of {DEFAULT_LIMIT} items, "
                f"{ASSIGNED_SHARE:.0%} of the items assigned (most resolved)",
            )
        )
    return figures
