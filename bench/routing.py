"""Routing: "get next" for concurrent agents over a large backlog, beside a bare SKIP LOCKED
dequeue written straight in SQL on the same table.

A provider of many clients (10 queues each, every queue the default queue of its own service
under an active contract) has a backlog of waiting items inserted in bulk. Agents, each assigned
to and certified for a few clients (neighbouring agents share some), press "get next" at the same
time: one thread and one database connection per agent, each calling
``bpo.work.actions.work_item_next`` inside the agent's tenant scope. The bare dequeue runs with the
same threads, agents and eligibility (queue among the agent's queues, unassigned, new or open),
in the same order (rank, due time with none last, id): one ``UPDATE … WHERE id = (SELECT … FOR
UPDATE SKIP LOCKED) RETURNING id`` per assignment, no timeline, no audit, no capacity check.

Each run gives every agent the same number of assignments (the agent's capacity at most); between
runs the items taken are resolved (bare SQL, untimed) so agents start every run empty-handed.
Runs of the two alternate. After all runs every assignment is checked: an item assigned twice
(two 'assigned' events, or a final assignee other than the agent who got it) is counted.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, connections
from django.utils import timezone

from bench import Figure, Options, median, progress
from bench._workload import Provider, Shape, insert_items, seed_provider
from bpo.accounts.models import User
from bpo.tenancy.context import acting_as, actor_for
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.actions import work_item_next
from bpo.work.models import Event, EventKind, WorkItem

FULL_POSTGRESQL = Shape(
    clients=100, queues_per_client=10, agents=16, clients_per_agent=5, items=1_000_000
)
# SQLite serialises writers, and its busy handler is not fair: with 8 agents a get-next waited
# out the 20 s busy timeout ('database is locked'), so 4 agents there.
FULL_SQLITE = Shape(clients=100, queues_per_client=10, agents=4, clients_per_agent=5, items=200_000)
QUICK = Shape(clients=8, queues_per_client=10, agents=4, clients_per_agent=2, items=2_000)
FULL_TAKES = 100  # assignments per agent per run: the most an agent may hold (capacity 100)
QUICK_TAKES = 20
WARM_UP_TAKES = 3
# Wait events of the agents' backends, sampled while "get next" runs (PostgreSQL only).
SAMPLE_SECONDS = 0.02

BARE_DEQUEUE = {
    "postgresql": """
        UPDATE work_workitem SET assignee_id = %s, assigned_at = now(), updated_at = now()
        WHERE id = (
            SELECT id FROM work_workitem
            WHERE queue_id = ANY(%s) AND assignee_id IS NULL AND state IN ('new', 'open')
            ORDER BY rank, due_sort, id
            LIMIT 1
            FOR UPDATE SKIP LOCKED
        )
        RETURNING id
    """,
    # SQLite has no row locks: the single UPDATE runs under the database's one write lock.
    "sqlite": """
        UPDATE work_workitem SET assignee_id = %s, assigned_at = %s, updated_at = %s
        WHERE id = (
            SELECT id FROM work_workitem
            WHERE queue_id IN ({queues}) AND assignee_id IS NULL AND state IN ('new', 'open')
            ORDER BY rank, due_sort, id
            LIMIT 1
        )
        RETURNING id
    """,
}


@dataclass
class Sample:
    """One run of one kind: assignments made, wall time, latencies, items each agent got."""

    seconds: float
    latencies: list[float]
    taken: dict[int, list[int]]  # agent id -> item ids, in order
    empty: int = 0
    waits: Counter[str] = field(default_factory=Counter)

    @property
    def assignments(self) -> int:
        return sum(len(ids) for ids in self.taken.values())

    @property
    def per_second(self) -> float:
        return self.assignments / self.seconds

    def percentile_ms(self, q: float) -> float:
        """The q-th quantile of the latencies in milliseconds (nearest rank)."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000


def app_taker(agent_id: int, provider: Provider) -> Callable[[], int | None]:
    """One agent pressing "get next" through the app: work_item_next in the agent's scope."""
    user = User.objects.get(pk=agent_id)
    actor = actor_for(user)

    def take() -> int | None:
        with acting_as(actor):
            item = work_item_next(actor=actor)
        return None if item is None else item.pk

    return take


def bare_taker(agent_id: int, provider: Provider) -> Callable[[], int | None]:
    """The same agent taking the best eligible item with one bare SQL statement."""
    queues = provider.agent_queue_ids(agent_id)
    if connection.vendor == "postgresql":
        sql = BARE_DEQUEUE["postgresql"]

        def params() -> list[Any]:
            return [agent_id, queues]
    else:
        sql = BARE_DEQUEUE["sqlite"].format(queues=", ".join(str(int(q)) for q in queues))

        def params() -> list[Any]:
            now = connection.ops.adapt_datetimefield_value(timezone.now())
            return [agent_id, now, now]

    def take() -> int | None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params())
            row = cursor.fetchone()
        return None if row is None else int(row[0])

    return take


def drive(
    kind: str,
    make_taker: Callable[[int, Provider], Callable[[], int | None]],
    provider: Provider,
    agents: list[int],
    takes: int,
) -> Sample:
    """Every agent takes ``takes`` items at once, one thread and connection each."""
    latencies: list[list[float]] = [[] for _ in agents]
    taken: dict[int, list[int]] = {a: [] for a in agents}
    empty = [0 for _ in agents]
    errors: list[BaseException] = []
    start = threading.Barrier(len(agents) + 1)
    backends: list[int] = []

    def agent(index: int, agent_id: int) -> None:
        try:
            take = make_taker(agent_id, provider)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    backends.append(cursor.fetchone()[0])
            start.wait()
            for _ in range(takes):
                began = time.perf_counter()
                item = take()
                latencies[index].append(time.perf_counter() - began)
                if item is None:
                    empty[index] += 1
                else:
                    taken[agent_id].append(item)
        except BaseException as exc:
            errors.append(exc)
            start.abort()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=agent, args=(i, a), daemon=True) for i, a in enumerate(agents)
    ]
    for thread in threads:
        thread.start()
    with suppress(threading.BrokenBarrierError):
        start.wait()  # broken when an agent could not start; its error is raised below
    began = time.perf_counter()
    sampler = WaitSampler(backends) if connection.vendor == "postgresql" and not errors else None
    if sampler:
        sampler.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    waits = sampler.stop() if sampler else Counter()
    if errors:
        raise RuntimeError(f"{kind} failed: {errors[0]!r}") from errors[0]
    return Sample(
        seconds=seconds,
        latencies=[x for per_agent in latencies for x in per_agent],
        taken=taken,
        empty=sum(empty),
        waits=waits,
    )


class WaitSampler:
    """Samples what the agents' PostgreSQL backends wait on while a run goes (its own thread and
    connection): 'Lock:advisory' is the audit chain's lock, 'Client:ClientRead' a backend
    waiting for Python to send the next statement, 'running' a backend on CPU."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = list(backends)
        self.counts: Counter[str] = Counter()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> Counter[str]:
        self.done.set()
        self.thread.join()
        return self.counts

    def _sample(self) -> None:
        try:
            with connection.cursor() as cursor:
                while not self.done.is_set():
                    cursor.execute(
                        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                        "WHERE pid = ANY(%s)",
                        [self.backends],
                    )
                    for state, wait_type, wait_event in cursor.fetchall():
                        if state != "active":
                            self.counts[f"idle:{wait_event or state}"] += 1
                        elif wait_type:
                            self.counts[f"{wait_type}:{wait_event}"] += 1
                        else:
                            self.counts["running"] += 1
                    time.sleep(SAMPLE_SECONDS)
        finally:
            connection.close()


def resolve(sample: Sample) -> None:
    """End of a shift: the items taken are resolved, so every run starts with empty hands."""
    ids = [i for per_agent in sample.taken.values() for i in per_agent]
    if not ids:
        return
    with all_clients_unscoped("the benchmark resets its agents between runs"):
        WorkItem.objects.filter(pk__in=ids).update(state="resolved")


def double_assignments(app: list[Sample], bare: list[Sample]) -> tuple[int, int]:
    """Items assigned twice in the app's runs: more than one 'assigned' event, got by two
    agents, or ending with an assignee other than the agent who got it. Bare runs are checked
    the same way (by what each agent got and the final assignee) and must have none either.
    Returns (double assignments of the app, assignments checked)."""
    got: dict[int, list[int]] = {}
    for sample in app:
        for agent_id, ids in sample.taken.items():
            for item in ids:
                got.setdefault(item, []).append(agent_id)
    with all_clients_unscoped("the benchmark checks every assignment it made"):
        events = Counter(
            Event.objects.filter(kind=EventKind.ASSIGNED).values_list("item_id", flat=True)
        )
        final = dict(WorkItem.objects.filter(pk__in=list(got)).values_list("pk", "assignee_id"))
    doubled = {item for item, n in events.items() if n > 1}
    doubled |= {item for item, agents in got.items() if len(agents) > 1}
    doubled |= {item for item, agents in got.items() if final.get(item) != agents[0]}
    if sum(events.values()) != len(got) and not doubled:
        raise RuntimeError(f"{sum(events.values())} 'assigned' events for {len(got)} items taken")

    bare_got: dict[int, list[int]] = {}
    for sample in bare:
        for agent_id, ids in sample.taken.items():
            for item in ids:
                bare_got.setdefault(item, []).append(agent_id)
    with all_clients_unscoped("the benchmark checks every assignment it made"):
        bare_final = dict(
            WorkItem.objects.filter(pk__in=list(bare_got)).values_list("pk", "assignee_id")
        )
    bare_doubled = [
        i for i, agents in bare_got.items() if len(agents) > 1 or bare_final.get(i) != agents[0]
    ]
    if bare_doubled:
        raise RuntimeError(f"the bare dequeue assigned {len(bare_doubled)} items twice")
    if set(got) & set(bare_got):
        raise RuntimeError("an item was taken both by the app and by the bare dequeue")
    return len(doubled), len(got)


def explain_get_next(provider: Provider) -> None:
    """Show on stderr how the database runs the get-next candidate query of the first agent
    (EXPLAIN ANALYZE, rolled back)."""
    from django.db import transaction

    from bpo.work import routing

    user = User.objects.get(pk=provider.agent_ids[0])
    with acting_as(actor_for(user)), transaction.atomic():
        # The candidate read of get next: the best few waiting items of each eligible queue.
        found = routing.candidates_sql(routing.agent_of(user), per_queue=4)
        assert found is not None
        sql, params = found
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = "\n".join("    " + " ".join(str(c) for c in row) for row in cursor.fetchall())
        transaction.set_rollback(True)
    progress(f"the get-next query of agent {user.email}:\n    {sql}\n    {params}\n{plan}")


def describe_waits(waits: Counter[str]) -> str:
    total = sum(waits.values()) or 1
    return ", ".join(f"{k} {100 * n / total:.0f}%" for k, n in waits.most_common(5))


def run(options: Options) -> list[Figure]:
    """Get next through the app beside the bare SKIP LOCKED dequeue, interleaved runs."""
    if options.quick:
        shape = QUICK
    else:
        shape = FULL_POSTGRESQL if options.db == "postgresql" else FULL_SQLITE
    takes = QUICK_TAKES if options.quick else FULL_TAKES
    progress(f"seeding {shape.describe()}")
    provider = seed_provider(shape)
    needed = (options.runs * 2 + 2) * shape.agents * takes
    if needed > shape.items // 2:
        raise RuntimeError(f"{shape.items} items are too few for {needed} assignments")
    insert_items(provider, shape.items)
    agents = provider.agent_ids
    kinds = {"app": app_taker, "bare": bare_taker}
    warm = {
        kind: drive(kind, taker, provider, agents, WARM_UP_TAKES) for kind, taker in kinds.items()
    }
    for sample in warm.values():
        resolve(sample)
    progress(f"warmed up: {WARM_UP_TAKES} takes per agent each way")
    samples: dict[str, list[Sample]] = {kind: [] for kind in kinds}
    for number in range(1, options.runs + 1):
        order = list(kinds) if number % 2 else list(reversed(kinds))
        for kind in order:
            sample = drive(kind, kinds[kind], provider, agents, takes)
            resolve(sample)
            samples[kind].append(sample)
            progress(
                f"run {number}/{options.runs} {kind}: {sample.assignments} assignments by "
                f"{len(agents)} agents in {sample.seconds:.2f} s, {sample.per_second:.0f}/s, "
                f"p50 {sample.percentile_ms(0.5):.1f} ms, p99 {sample.percentile_ms(0.99):.1f} ms"
                + (f", {sample.empty} empty" if sample.empty else "")
                + (f"; backends: {describe_waits(sample.waits)}" if sample.waits else "")
            )
    doubled, checked = double_assignments(
        samples["app"] + [warm["app"]], samples["bare"] + [warm["bare"]]
    )
    progress(f"checked {checked} assignments made through the app: {doubled} double")
    explain_get_next(provider)
    connections.close_all()
    scale = (
        f"{shape.describe()}; {takes} get-nexts per agent per run, one thread and connection "
        "per agent"
    )
    app, bare = samples["app"], samples["bare"]
    return [
        Figure(
            "get_next_per_s",
            median([s.per_second for s in app]),
            "assignments/s",
            "bare_dequeue_per_s",
            median([s.per_second for s in bare]),
            options.runs,
            scale,
        ),
        Figure(
            "get_next_p50_ms",
            median([s.percentile_ms(0.5) for s in app]),
            "ms",
            "bare_dequeue_p50_ms",
            median([s.percentile_ms(0.5) for s in bare]),
            options.runs,
            scale,
        ),
        Figure(
            "get_next_p99_ms",
            median([s.percentile_ms(0.99) for s in app]),
            "ms",
            "bare_dequeue_p99_ms",
            median([s.percentile_ms(0.99) for s in bare]),
            options.runs,
            scale,
        ),
        Figure(
            "double_assignments",
            doubled,
            "items",
            "assignments_checked",
            checked,
            options.runs,
            scale,
        ),
    ]
