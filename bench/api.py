"""API throughput and tail latency: GET /api/v1/me with a Bearer token beside the bare /healthz.

Both run on the production server (gunicorn with bpo/gunicorn_conf.py, access log off) on a free
loopback port. A fixed number of keep-alive connections, one thread each, send a bounded number
of requests; runs of the two endpoints alternate so drift on a shared machine hits both alike.
"""

from __future__ import annotations

import http.client
import math
import os
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from bench import ROOT, Figure, Options, median, progress

HOST = "127.0.0.1"
ME = "/api/v1/me"
HEALTHZ = "/healthz"
QUICK_REQUESTS = 400
FULL_REQUESTS = 3000
# A run stops at its time limit (counting what it did), so a crawling machine still finishes.
QUICK_SECONDS_LIMIT = 5.0
FULL_SECONDS_LIMIT = 20.0
START_SECONDS_LIMIT = 30.0
STOP_SECONDS_LIMIT = 30.0
CONFIG = ROOT / "bpo" / "gunicorn_conf.py"


@dataclass(frozen=True)
class Sample:
    """One run against one endpoint: requests answered, their wall time and latencies."""

    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        """Requests answered per second of wall time."""
        return self.requests / self.seconds

    @property
    def p99_ms(self) -> float:
        """The 99th percentile latency in milliseconds (nearest rank)."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)] * 1000


def seed_token() -> str:
    """Seed the demo people and return a fresh API token of the demo admin."""
    from django.test import override_settings

    from bpo.accounts.actions import api_token_create
    from bpo.accounts.models import User
    from bpo.audit.context import request_context
    from bpo.demo.seed import PEOPLE, seed
    from bpo.tenancy.context import acting_as, actor_for

    progress("seeding the demo data")
    # The people's passwords play no part here; Argon2 would make seeding take seconds each.
    fast_hashing = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    )
    with request_context(request_id="bench-api"), fast_hashing:
        seed(progress=lambda line: None)
        admin = User.objects.get(email=PEOPLE[0].email)
        with acting_as(actor_for(admin)) as actor:
            _, raw = api_token_create(actor=actor, name="bench api")
    return raw


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def gunicorn_server(workdir: Path) -> Iterator[int]:
    """Start the production server on a free loopback port; always stop it on the way out."""
    port = free_port()
    env = {**os.environ, "OPENBPO_BIND": f"{HOST}:{port}", "OPENBPO_ACCESS_LOG": ""}
    log_path = workdir / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 (a fixed command line)
            [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "bpo.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    progress(f"gunicorn (pid {server.pid}) starting on {HOST}:{port}")
    try:
        wait_until_ready(server, port, log_path)
        yield port
    finally:
        stop(server)
        progress(f"gunicorn (pid {server.pid}) stopped")


def wait_until_ready(server: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    """Poll /healthz until it answers; fail with the server's log if it exits or takes too long."""
    deadline = time.monotonic() + START_SECONDS_LIMIT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}):\n{log_path.read_text()}")
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            conn.request("GET", HEALTHZ)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError(
        f"gunicorn did not answer within {START_SECONDS_LIMIT:.0f} s:\n{log_path.read_text()}"
    )


def stop(server: subprocess.Popen[bytes]) -> None:
    """Ask gunicorn to shut down gracefully; kill its process group if it does not."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=STOP_SECONDS_LIMIT)
            return
        except subprocess.TimeoutExpired:
            pass
    with suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)  # its own session: the master and its workers
    server.wait()


def get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> None:
    """One GET that must answer 200; reconnects once if the server closed the kept-alive socket.

    The production server recycles workers (max_requests), which closes their connections.
    """
    for attempt in (1, 2):
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
        except (ConnectionError, http.client.HTTPException):
            conn.close()
            if attempt == 2:
                raise
            continue
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {body[:300]!r}")
        return


def load(
    port: int,
    path: str,
    headers: dict[str, str],
    *,
    requests: int,
    connections: int,
    seconds_limit: float,
) -> Sample:
    """Send ``requests`` GETs over ``connections`` kept-alive connections, one thread each."""
    shares = [requests // connections + (i < requests % connections) for i in range(connections)]
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors: list[BaseException] = []
    start = threading.Barrier(connections + 1)
    stop_at = time.perf_counter() + seconds_limit

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            conn.connect()
            start.wait()
            for _ in range(shares[index]):
                if time.perf_counter() > stop_at:
                    break
                began = time.perf_counter()
                get(conn, path, headers)
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
        raise RuntimeError(f"GET {path} failed: {errors[0]!r}") from errors[0]
    answered = [latency for per_connection in latencies for latency in per_connection]
    if not answered:
        raise RuntimeError(f"GET {path} got no answer within {seconds_limit:.0f} s")
    return Sample(requests=len(answered), seconds=seconds, latencies=answered)


def run(options: Options) -> list[Figure]:
    """Measure /api/v1/me beside /healthz on the production server: throughput and p99."""
    token = seed_token()
    server_conf = runpy.run_path(str(CONFIG))
    workers, threads = int(server_conf["workers"]), int(server_conf["threads"])
    connections = workers * threads
    requests = QUICK_REQUESTS if options.quick else FULL_REQUESTS
    seconds_limit = QUICK_SECONDS_LIMIT if options.quick else FULL_SECONDS_LIMIT
    endpoints = {
        HEALTHZ: {},
        ME: {"Authorization": f"Bearer {token}", "Accept": "application/json"},
    }
    samples: dict[str, list[Sample]] = {path: [] for path in endpoints}
    with gunicorn_server(options.workdir) as port:
        progress(f"warming up {workers} workers x {threads} threads")
        for path, headers in endpoints.items():
            load(
                port,
                path,
                headers,
                requests=connections * 20,
                connections=connections,
                seconds_limit=seconds_limit,
            )
        for number in range(1, options.runs + 1):
            # Alternate which endpoint goes first, so neither always runs on a warmer server.
            order = list(endpoints) if number % 2 else list(reversed(endpoints))
            for path in order:
                sample = load(
                    port,
                    path,
                    endpoints[path],
                    requests=requests,
                    connections=connections,
                    seconds_limit=seconds_limit,
                )
                samples[path].append(sample)
                progress(
                    f"run {number}/{options.runs} GET {path}: {sample.requests} requests, "
                    f"{sample.rps:.0f} req/s, p99 {sample.p99_ms:.1f} ms"
                    + (" (time limit)" if sample.requests < requests else "")
                )
    scale = (
        f"{requests} requests/run over {connections} keep-alive connections; "
        f"gunicorn {workers} workers x {threads} threads"
    )
    return [
        Figure(
            "me_rps",
            median([s.rps for s in samples[ME]]),
            "req/s",
            "healthz_rps",
            median([s.rps for s in samples[HEALTHZ]]),
            options.runs,
            scale,
        ),
        Figure(
            "me_p99_ms",
            median([s.p99_ms for s in samples[ME]]),
            "ms",
            "healthz_p99_ms",
            median([s.p99_ms for s in samples[HEALTHZ]]),
            options.runs,
            scale,
        ),
    ]
