"""Creating work items through the HTTP API: POST /api/v1/work-items beside the bare /healthz.

The production server (gunicorn with bpo/gunicorn_conf.py, access log off, as in ``bench
api``) on a free loopback port, against a provider whose table already holds a backlog of items.
A client's integration user (client admin of one client, a Bearer token of theirs) submits items
to the client's services: random service and priority, a contact out of a pool of the client's
known contacts, a tag. Each answered 201 is one item with its timeline entry, SLA
clock and audit entry, and the item is read back for the answer, as the endpoint does. The
baseline is ``GET /healthz`` of the same server in the same run; runs of the two alternate.
Bulk intake (``POST /api/v1/work-items/bulk``, BULK_BATCH items a request) is measured in items
per second beside the single creates' items per second of the same run. After the runs the items
in the database are counted against what the server said it created.
"""

from __future__ import annotations

import http.client
import json
import random
import runpy
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from bench import Figure, Options, median, progress
from bench._workload import PASSWORD, Provider, Shape, fast_hashing, insert_items, seed_provider
from bench.api import CONFIG, HEALTHZ, HOST, Sample, gunicorn_server
from bpo.accounts import actions as people
from bpo.accounts.models import User
from bpo.accounts.roles import Role
from bpo.audit.context import request_context
from bpo.tenancy.context import acting_as, actor_for
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.actions import contact_for
from bpo.work.models import WorkItem

ITEMS = "/api/v1/work-items"
BULK = "/api/v1/work-items/bulk"
BULK_BATCH = 100  # items per bulk request (the endpoint takes up to 1,000)
BUSY_RETRIES = 5  # a request answered 503 busy is sent again after Retry-After, this often
FULL = Shape(clients=8, queues_per_client=10, agents=4, clients_per_agent=2, items=100_000)
QUICK = Shape(clients=2, queues_per_client=2, agents=1, clients_per_agent=1, items=2_000)
QUICK_REQUESTS = 200
FULL_REQUESTS = 2000
QUICK_SECONDS_LIMIT = 5.0
FULL_SECONDS_LIMIT = 30.0
CONTACTS = 500  # distinct contact addresses the client's customers write from
PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")
SEED = 20261126

# One request: method, path, body (None for a GET) and the status it must answer.
Call = tuple[str, str, bytes | None, int]


def seed_integration(provider: Provider) -> tuple[str, list[int]]:
    """A client admin of the first client with an API token; returns it and their services."""
    with request_context(request_id="bench-work-api"), fast_hashing():
        admin = User.objects.get(pk=provider.admin_id)
        client_id = provider.client_ids[0]
        with acting_as(actor_for(admin)) as actor:
            user = people.user_create(
                actor=actor,
                email="integration@client.example",
                full_name="Client Integration",
                password=PASSWORD,
            )
            client = Client.objects.get(pk=client_id)
            people.membership_create(actor=actor, user=user, role=Role.CLIENT_ADMIN, client=client)
        with acting_as(actor_for(user)) as actor:
            _, token = people.api_token_create(actor=actor, name="bench work api")
            # The customers wrote before: concurrent first items of one new address would race
            # in contact_for (its check-then-insert answers 500 to the loser; see docs).
            for number in range(CONTACTS):
                contact_for(client_id=client_id, email=contact_email(number))
    return token, [q.service_id for q in provider.queues[client_id]]


def contact_email(number: int) -> str:
    return f"customer{number}@example.net"


def create_calls(services: list[int], count: int, run: int) -> list[Call]:
    """``count`` reproducible item submissions (different for every run)."""
    rng = random.Random(f"{SEED}-{run}")  # noqa: S311 (reproducible test data, not secrets)
    calls: list[Call] = []
    for number in range(count):
        body = {
            "service_id": rng.choice(services),
            "title": f"Order question {run}-{number}",
            "description": "Where is my parcel? It was due yesterday.",
            "priority": rng.choice(PRIORITIES),
            "contact_email": contact_email(rng.randrange(CONTACTS)),
            "tags": ["bench"],
        }
        calls.append(("POST", ITEMS, json.dumps(body).encode(), 201))
    return calls


def bulk_calls(services: list[int], count: int, run: int) -> list[Call]:
    """``count`` bulk requests of BULK_BATCH submissions each (one in ten of the singles')."""
    batches = max(1, count // 10)
    items = create_calls(services, batches * BULK_BATCH, run + 1000)
    return [
        (
            "POST",
            BULK,
            json.dumps(
                {"items": [json.loads(body or b"{}") for _, _, body, _ in items[n::batches]]}
            ).encode(),
            200,
        )
        for n in range(batches)
    ]


def send(conn: http.client.HTTPConnection, call: Call, headers: dict[str, str]) -> None:
    """One request that must answer its status; reconnects once if the server closed the
    kept-alive socket (workers are recycled after max_requests). A POST is resent only when
    the connection failed before any answer, which the production server never does mid-way,
    or when the server answered 503 busy (its transaction rolled back: SQLite's writers waited
    past the busy timeout), after the Retry-After it names, as a client should; the time spent
    waiting counts in the request's time."""
    method, path, body, expected = call
    reconnected = busy = 0
    while True:
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
        except (ConnectionError, http.client.HTTPException):
            conn.close()
            reconnected += 1
            if reconnected == 2:
                raise
            continue
        if response.status == 503 and busy < BUSY_RETRIES:
            busy += 1
            time.sleep(float(response.getheader("Retry-After") or 1))
            continue
        if response.status != expected:
            raise RuntimeError(f"{method} {path} answered {response.status}: {answer[:300]!r}")
        return


def load(
    port: int,
    calls: list[Call],
    headers: dict[str, str],
    *,
    connections: int,
    seconds_limit: float,
) -> Sample:
    """Send ``calls`` over ``connections`` kept-alive connections, one thread each."""
    shares = [calls[i::connections] for i in range(connections)]
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors: list[BaseException] = []
    start = threading.Barrier(connections + 1)
    stop_at = time.perf_counter() + seconds_limit

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            conn.connect()
            start.wait()
            for call in shares[index]:
                if time.perf_counter() > stop_at:
                    break
                began = time.perf_counter()
                send(conn, call, headers)
                latencies[index].append(time.perf_counter() - began)
        except BaseException as exc:
            errors.append(exc)
            start.abort()
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    with suppress(threading.BrokenBarrierError):
        start.wait()  # broken when a client could not connect; its error is raised below
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{calls[0][0]} {calls[0][1]} failed: {errors[0]!r}") from errors[0]
    answered = [latency for per_connection in latencies for latency in per_connection]
    if not answered:
        raise RuntimeError(f"no answer within {seconds_limit:.0f} s")
    return Sample(requests=len(answered), seconds=seconds, latencies=answered)


@contextmanager
def server_log_on_error(workdir: Path) -> Iterator[None]:
    """A request that failed on the server: show the end of the server's log (its traceback)."""
    try:
        yield
    except RuntimeError:
        log = workdir / "gunicorn.log"
        if log.exists():
            progress("the end of the server's log:\n" + log.read_text()[-5000:])
        raise


def count_items() -> int:
    with all_clients_unscoped("the benchmark counts the items it created"):
        return WorkItem.objects.count()


def run(options: Options) -> list[Figure]:
    """Measure POST /api/v1/work-items beside /healthz: throughput and p99."""
    shape = QUICK if options.quick else FULL
    progress(f"seeding {shape.describe()}")
    provider = seed_provider(shape)
    insert_items(provider, shape.items)
    token, services = seed_integration(provider)
    before = count_items()
    server_conf = runpy.run_path(str(CONFIG))
    workers, threads = int(server_conf["workers"]), int(server_conf["threads"])
    connections = workers * threads
    requests = QUICK_REQUESTS if options.quick else FULL_REQUESTS
    seconds_limit = QUICK_SECONDS_LIMIT if options.quick else FULL_SECONDS_LIMIT
    headers = {"Accept": "application/json"}
    auth = {
        **headers,
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
    }
    endpoints: dict[str, tuple[dict[str, str], Callable[[int, int], list[Call]]]] = {
        HEALTHZ: (headers, lambda count, run: [("GET", HEALTHZ, None, 200)] * count),
        ITEMS: (auth, lambda count, run: create_calls(services, count, run)),
        BULK: (auth, lambda count, run: bulk_calls(services, count, run)),
    }
    samples: dict[str, list[Sample]] = {path: [] for path in endpoints}
    created = 0
    with gunicorn_server(options.workdir) as port, server_log_on_error(options.workdir):
        progress(f"warming up {workers} workers x {threads} threads")
        for path, (hdrs, make_calls) in endpoints.items():
            warm = load(
                port,
                make_calls(connections * 10, 0),
                hdrs,
                connections=connections,
                seconds_limit=seconds_limit,
            )
            created += warm.requests * {ITEMS: 1, BULK: BULK_BATCH}.get(path, 0)
        for number in range(1, options.runs + 1):
            # Alternate which endpoint goes first, so neither always runs on a warmer server.
            order = list(endpoints) if number % 2 else list(reversed(endpoints))
            for path in order:
                hdrs, make_calls = endpoints[path]
                sample = load(
                    port,
                    make_calls(requests, number),
                    hdrs,
                    connections=connections,
                    seconds_limit=seconds_limit,
                )
                samples[path].append(sample)
                created += sample.requests * {ITEMS: 1, BULK: BULK_BATCH}.get(path, 0)
                method = "GET" if path == HEALTHZ else "POST"
                progress(
                    f"run {number}/{options.runs} {method} {path}: {sample.requests} requests, "
                    f"{sample.rps:.0f} req/s, p99 {sample.p99_ms:.1f} ms"
                    + (" (time limit)" if sample.requests < requests else "")
                )
    after = count_items()
    if after - before != created:
        raise RuntimeError(f"{created} items answered 201 but {after - before} are in the table")
    progress(f"{created} items created through the API, all of them in the table")
    scale = (
        f"{requests} requests/run over {connections} keep-alive connections; gunicorn {workers} "
        f"workers x {threads} threads; {shape.items:,} items in the table before"
    )
    return [
        Figure(
            "create_rps",
            median([s.rps for s in samples[ITEMS]]),
            "req/s",
            "healthz_rps",
            median([s.rps for s in samples[HEALTHZ]]),
            options.runs,
            scale,
        ),
        Figure(
            "create_p99_ms",
            median([s.p99_ms for s in samples[ITEMS]]),
            "ms",
            "healthz_p99_ms",
            median([s.p99_ms for s in samples[HEALTHZ]]),
            options.runs,
            scale,
        ),
        Figure(
            "bulk_items_per_s",
            median([s.rps * BULK_BATCH for s in samples[BULK]]),
            "items/s",
            "single_create_items_per_s",
            median([s.rps for s in samples[ITEMS]]),
            options.runs,
            f"{BULK_BATCH} items a request; " + scale,
        ),
    ]
