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
Every run starts new processes, so each agent first takes one item untimed (and resolves it):
in a server that lives for hours, the first get next of an agent in a worker, which builds
their statements, is a rare event, not part of the steady state a run measures.
Runs of the two alternate. After all runs every assignment is checked: an item assigned twice
(two 'assigned' events, or a final assignee other than the agent who got it) is counted.
"""

from __future__ import annotations

import math
import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field

from django.db import connection, connections
from django.utils import timezone

from bench import Figure, Options, median, progress
from bench._workload import Provider, Shape, insert_items, seed_provider
from bpo.accounts.models import User
from bpo.tenancy.context import acting_as, actor_for
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.actions import work_item_next
from bpo.work.models import Event, EventKind, WorkItem
from bpo.workforce.models import AgentProfile

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

# The bare dequeue reads like get next does: the best few waiting items of each of the agent's
# queues (one index range each), then locks the best of those no one holds. When all of them
# are held (or nothing waits), the plain form over all the agent's queues runs, which sorts them.
BARE_DEQUEUE = {
    "postgresql": """
        UPDATE work_workitem SET assignee_id = %s, assigned_at = now(), updated_at = now()
        WHERE id = (
            SELECT id FROM work_workitem
            WHERE id IN (
                SELECT c.id FROM unnest(%s::bigint[], %s::bigint[]) AS q(client_id, queue_id)
                CROSS JOIN LATERAL (
                    SELECT id FROM work_workitem w
                    WHERE w.client_id = q.client_id AND w.queue_id = q.queue_id
                      AND w.assignee_id IS NULL AND w.state IN ('new', 'open')
                    ORDER BY rank, due_sort, id
                    LIMIT 4
                ) AS c
            ) AND assignee_id IS NULL AND state IN ('new', 'open')
            ORDER BY rank, due_sort, id
            LIMIT 1
            FOR UPDATE SKIP LOCKED
        )
        RETURNING id
    """,
    # SQLite has no row locks: the single UPDATE runs under the database's one write lock, so
    # the best item of each queue is enough.
    "sqlite": """
        UPDATE work_workitem SET assignee_id = %s, assigned_at = %s, updated_at = %s
        WHERE id = (
            SELECT id FROM ({best_of_each}) ORDER BY rank, due_sort, id LIMIT 1
        )
        RETURNING id
    """,
}
BARE_SQLITE_QUEUE = """
    SELECT * FROM (
        SELECT id, rank, due_sort FROM work_workitem
        WHERE client_id = {client} AND queue_id = {queue}
          AND assignee_id IS NULL AND state IN ('new', 'open')
        ORDER BY rank, due_sort, id LIMIT 1
    )
"""
BARE_FALLBACK = """
    UPDATE work_workitem SET assignee_id = %s, assigned_at = now(), updated_at = now()
    WHERE id = (
        SELECT id FROM work_workitem
        WHERE queue_id = ANY(%s) AND assignee_id IS NULL AND state IN ('new', 'open')
        ORDER BY rank, due_sort, id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id
"""


@dataclass
class Sample:
    """One run of one kind: assignments made, wall time, latencies, items each agent got."""

    seconds: float
    latencies: list[float]
    taken: dict[int, list[int]]  # agent id -> item ids, in order
    warmed: dict[int, list[int]] = field(default_factory=dict)  # taken before the run, untimed
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
    pairs = provider.agent_queues(agent_id)
    if connection.vendor == "postgresql":
        clients, queues = [c for c, _ in pairs], [q for _, q in pairs]

        def take() -> int | None:
            with connection.cursor() as cursor:
                cursor.execute(BARE_DEQUEUE["postgresql"], [agent_id, clients, queues])
                row = cursor.fetchone()
                if row is None:  # the best few of every queue held: the plain form
                    cursor.execute(BARE_FALLBACK, [agent_id, queues])
                    row = cursor.fetchone()
            return None if row is None else int(row[0])

        return take

    best_of_each = " UNION ALL ".join(
        BARE_SQLITE_QUEUE.format(client=int(c), queue=int(q)) for c, q in pairs
    )
    sql = BARE_DEQUEUE["sqlite"].format(best_of_each=best_of_each)

    def take_sqlite() -> int | None:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(sql, [agent_id, now, now])
            row = cursor.fetchone()
        return None if row is None else int(row[0])

    return take_sqlite


def processes_for(agents: int) -> int:
    """As many processes as the server runs workers (bpo/gunicorn_conf.py: OPENBPO_WORKERS,
    by default one per CPU and at least two), never more than there are agents."""
    from bpo import gunicorn_conf

    return max(1, min(agents, gunicorn_conf.workers))


def drive(
    kind: str,
    make_taker: Callable[[int, Provider], Callable[[], int | None]],
    provider: Provider,
    agents: list[int],
    takes: int,
) -> Sample:
    """Every agent takes ``takes`` items at once, one thread and connection each, the threads
    spread over processes as the server spreads requests over its workers (one interpreter
    per process, so the agents' Python runs on every CPU)."""
    context = multiprocessing.get_context("fork")
    groups = [agents[n :: processes_for(len(agents))] for n in range(processes_for(len(agents)))]
    start = context.Barrier(len(agents) + 1)  # every agent's thread, and this process
    results: multiprocessing.Queue[AgentResult] = context.Queue()
    connections.close_all()  # a child must open its own connections, never share these
    children = [
        context.Process(
            target=_agents_process,
            args=(make_taker, provider, group, takes, start, results),
            daemon=True,
        )
        for group in groups
    ]
    for child in children:
        child.start()
    with suppress(threading.BrokenBarrierError):
        start.wait()  # broken when an agent could not start; its error is raised below
    began = time.perf_counter()
    reported: list[AgentResult] = []
    backends = [r.backend for r in _collect(results, reported, len(agents), "ready") if r.backend]
    sampler = WaitSampler(backends) if connection.vendor == "postgresql" and backends else None
    if sampler:
        sampler.start()
    done = _collect(results, reported, len(agents), "done")
    seconds = time.perf_counter() - began
    waits = sampler.stop() if sampler else Counter()
    for child in children:
        child.join()
    errors = [r.error for r in reported if r.error]
    if errors:
        raise RuntimeError(f"{kind} failed: {errors[0]}")
    return Sample(
        seconds=seconds,
        latencies=[x for r in done for x in r.latencies],
        taken={r.agent_id: r.taken for r in done},
        warmed={r.agent_id: r.warmed for r in done},
        empty=sum(r.empty for r in done),
        waits=waits,
    )


@dataclass
class AgentResult:
    """What one agent's thread reports to the driving process: 'ready' (its backend, once
    connected) and then 'done' (its takes), or an error at any point."""

    agent_id: int
    stage: str
    backend: int | None = None
    latencies: list[float] = field(default_factory=list)
    taken: list[int] = field(default_factory=list)
    warmed: list[int] = field(default_factory=list)
    empty: int = 0
    error: str = ""


def _collect(
    results: multiprocessing.Queue[AgentResult],
    reported: list[AgentResult],
    agents: int,
    stage: str,
) -> list[AgentResult]:
    """Wait for every agent to report ``stage`` (an agent that failed reports an error
    instead, and counts as done)."""
    wanted: list[AgentResult] = [r for r in reported if r.stage == stage]
    failed = {r.agent_id for r in reported if r.error}
    while len(wanted) + len(failed - {r.agent_id for r in wanted}) < agents:
        result = results.get(timeout=3600)
        reported.append(result)
        if result.error:
            failed.add(result.agent_id)
        elif result.stage == stage:
            wanted.append(result)
    return wanted


def _agents_process(
    make_taker: Callable[[int, Provider], Callable[[], int | None]],
    provider: Provider,
    agents: list[int],
    takes: int,
    start: threading.Barrier,
    results: multiprocessing.Queue[AgentResult],
) -> None:
    """A child process: one thread per agent, all starting at the shared barrier."""

    def agent(agent_id: int) -> None:
        result = AgentResult(agent_id, "ready")
        try:
            take = make_taker(agent_id, provider)
            # A server's worker serves an agent for hours: the first get next of an agent in a
            # process (which builds their statements) is made, untimed, before the run starts,
            # and its item resolved at once, so the agent starts the run empty-handed.
            warmed = take()
            if warmed is not None:
                result.warmed.append(warmed)
                resolve_items([warmed])
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    result.backend = cursor.fetchone()[0]
            results.put(result)
            start.wait()
            result = AgentResult(agent_id, "done", warmed=result.warmed)
            for _ in range(takes):
                began = time.perf_counter()
                item = take()
                result.latencies.append(time.perf_counter() - began)
                if item is None:
                    result.empty += 1
                else:
                    result.taken.append(item)
            results.put(result)
        except BaseException as exc:
            results.put(AgentResult(agent_id, result.stage, error=repr(exc)))
            start.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=agent, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.close()
    results.join_thread()


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
    resolve_items([i for per_agent in sample.taken.values() for i in per_agent])


def resolve_items(ids: list[int]) -> None:
    if ids:
        with all_clients_unscoped("the benchmark resets its agents between runs"):
            WorkItem.objects.filter(pk__in=ids).update(state="resolved")


def double_assignments(app: list[Sample], bare: list[Sample]) -> tuple[int, int]:
    """Items assigned twice in the app's runs: more than one 'assigned' event, got by two
    agents, or ending with an assignee other than the agent who got it. Bare runs are checked
    the same way (by what each agent got and the final assignee) and must have none either.
    Returns (double assignments of the app, assignments checked)."""
    got: dict[int, list[int]] = {}
    for sample in app:
        for agent_id, ids in [*sample.warmed.items(), *sample.taken.items()]:
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
        for agent_id, ids in [*sample.warmed.items(), *sample.taken.items()]:
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
    """Show on stderr how the database runs the first statement of the first agent's get next:
    the one that reads the best few waiting items of each queue and takes the best of them
    (EXPLAIN ANALYZE, rolled back)."""
    from django.db import transaction

    from bpo.work import routing

    user = User.objects.get(pk=provider.agent_ids[0])
    with acting_as(actor_for(user)), transaction.atomic():
        profile, _ = AgentProfile.objects.get_or_create(user=user)
        take = routing.take_statements(user, profile, None)[0]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        params = [user.pk, now, now, *take.params]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {take.sql}", params)
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {take.sql}", params)
            plan = "\n".join("    " + " ".join(str(c) for c in row) for row in cursor.fetchall())
        transaction.set_rollback(True)
    progress(f"the get-next statement of agent {user.email}:\n    {take.sql}\n    {params}\n{plan}")


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
    needed = (options.runs * 2 + 2) * shape.agents * (takes + 1)  # + 1: each run's warm-up
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
                f"p50 {sample.percentile_ms(0.5):.1f} ms, p90 {sample.percentile_ms(0.9):.1f} ms, "
                f"p99 {sample.percentile_ms(0.99):.1f} ms, max {sample.percentile_ms(1.0):.1f} ms"
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
