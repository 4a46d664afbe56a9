# ruff: noqa: S608 (the SQL is built from constants and ids of this file, never from input)
"""The client dashboard over six months of history, beside a naive aggregate over raw items.

A provider of many clients (5 services each, every service under an SLA policy with a
first-response and a resolution target per priority, on a Europe/Berlin office calendar) is
seeded through the app's actions; then its history is loaded in bulk (COPY on PostgreSQL,
``executemany`` on SQLite): items created over the last HISTORY_DAYS days on five channels, most
of them resolved (some closed, a few reopened or cancelled, some still open or stuck), a
contact on most (about 20 items a contact, so repeat contacts happen), an SLA clock per target
(met or missed on the day decided, a breach marked at the due time as the sweep marks it, the
open items' clocks running, some breached or warned), work sessions on most resolved items,
and the satisfaction survey the app offers at each resolution with a contact, a share answered.
The load runs with the rollup triggers off (it only inserts, and a service without rollups is
rebuilt from its first item anyway); the rollups are then built the way the product builds them,
by ``bpo.portal.rollups.rollups_refresh_all()``, timed: that is ``rollup_build_seconds``.

What is measured, in process through Django's test client (middleware, session, templates),
as a client viewer of the client (logged in once; requests one after another):

- ``client_page``: ``GET /portal/clients/<id>/`` of a random client: every service's card,
  with the rollup refresh the page does first (three queries when nothing changed);
- ``client_page_changed``: the same, but before each request (untimed) a few items of that
  client change through the app's actions, as agents and contacts change them while the client
  reads: a new item of a known contact, an item resolved (clocks stopped, a survey offered), a
  survey answered, a resolved item reopened, in turn. The request then pays the refresh of the
  days those changes marked (a new item of a known contact marks the repeat-contact window);
- ``service_page``: ``GET /portal/services/<id>/`` of a random service: charts, tables, risk.

The baseline computes the same figures with hand-written SQL over the raw tables for the period
the dashboard covers (this month and the 30-day trend, days of the service calendar's zone:
``AT TIME ZONE`` on PostgreSQL, the zone's UTC offsets written into the query on SQLite):
``GROUP BY`` service, day and channel over the items created, the items resolved (with their work
sessions' seconds, the version's exclusions, and the repeat-contact window of first-contact
resolution as a ``NOT EXISTS`` on the contact's later items of the service, which the index
on the contact serves), the surveys answered, and the SLA
clocks decided (by metric and target priority); the open backlog by state and age, and the
clocks at risk. Every figure of the rollups is reproduced in plain SQL; the at-risk list is
counted rather than listed, and session seconds are whole seconds on SQLite (its date functions
drop fractions; the loaded sessions have none).

Checks: after the build, every client's rollups over its whole history are compared with the
naive aggregate over the same history (timed, per client: the baseline of the build); after
each run, the rollups over the dashboard's period of every client whose items changed in the
run are compared again. ``mismatches`` counts the (service, day, channel) and (service, day, metric,
priority) rows that differ; its baseline is the number of rows compared.
"""

from __future__ import annotations

import importlib
import io
import math
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client as WebClient
from django.utils import timezone

from bench import Figure, Options, median, progress
from bench._workload import (
    FIRST_RESPONSE_MINUTES,
    PASSWORD,
    PRIORITY_WEIGHTS,
    RESOLUTION_MINUTES,
    Provider,
    Shape,
    fast_hashing,
    seed_provider,
)
from bpo.accounts import actions as people
from bpo.accounts.models import User
from bpo.accounts.roles import Role
from bpo.audit.context import request_context
from bpo.contracts.models import Service, SlaTarget, VersionStatus
from bpo.portal import actions as portal
from bpo.portal.metrics import DAY_FIELDS
from bpo.portal.models import Survey
from bpo.portal.queries import TREND_DAYS
from bpo.portal.rollups import rollups_refresh, rollups_refresh_all
from bpo.tenancy.context import Actor, acting_as, actor_for
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import all_clients_unscoped, client_scope
from bpo.work import actions as work
from bpo.work.models import Contact, WorkItem

FULL_POSTGRESQL = Shape(
    clients=100, queues_per_client=5, agents=50, clients_per_agent=4, items=5_000_000
)
FULL_SQLITE = Shape(
    clients=100, queues_per_client=5, agents=50, clients_per_agent=4, items=1_000_000
)
QUICK = Shape(clients=3, queues_per_client=2, agents=2, clients_per_agent=2, items=6_000)
HISTORY_DAYS = 183  # about six months
FULL_REQUESTS = 100
QUICK_REQUESTS = 20
WARM_UP_REQUESTS = 3
CHANGES_PER_REQUEST = 3
SEED = 20261126
ITEMS_PER_CONTACT = 20
CHUNK = 50_000  # items (with their clocks, sessions and surveys) per load transaction

# The history's shape.
CHANNEL_WEIGHTS = {"email": 40, "form": 15, "api": 25, "web": 10, "import": 10}
CONTACT_SHARE = {"email": 1.0, "form": 1.0, "web": 1.0, "api": 0.6, "import": 0.5}
MAILED = frozenset({"email", "form"})
OPEN_STATES = ("new", "open", "open", "pending_contact", "pending_client")
STUCK_SHARE = 0.003  # never resolved: the old end of the backlog
CANCELLED_SHARE = 0.01
REOPENED_SHARE = 0.03  # resolved, reopened by the contact, resolved again (or open again now)
CLOSED_AFTER = 3 * 86400  # resolved items are closed three days on (most of them)
RESOLUTION_MEDIAN = 8 * 3600  # seconds from creation to resolution (log-normal)
FIRST_RESPONSE_MEDIAN = 90 * 60
SESSION_SHARE = 0.7  # of resolved items, worked in one or two recorded sessions
SESSION_MEDIAN = 8 * 60
SURVEY_ANSWERED_SHARE = 0.3
RATING_WEIGHTS = {5: 45, 4: 30, 3: 12, 2: 6, 1: 7}
RECOMMEND_WEIGHTS = {10: 25, 9: 20, 8: 18, 7: 12, 6: 8, 5: 6, 4: 3, 3: 3, 2: 2, 1: 1, 0: 2}
TAGS = (("[]", 945), ('["spam"]', 15), ('["duplicate"]', 10), ('["vip"]', 30))

# The migration whose triggers keep the rollups exact (its statements turn them off and on).
TRIGGERS = importlib.import_module("bpo.portal.migrations.0002_rollup_triggers")
OPEN = ("new", "open", "pending_contact", "pending_client")
AGE_DAYS = (1, 3, 7)  # the backlog's age buckets (bpo.portal.queries.AGE_BUCKETS)


# --- the history, loaded in bulk ---------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A table the load writes: its columns, and which of them hold instants (epoch seconds)."""

    name: str
    spelled: str  # the columns, separated by spaces
    instant_columns: str

    @property
    def columns(self) -> list[str]:
        return self.spelled.split()

    @property
    def instant_positions(self) -> frozenset[int]:
        return frozenset(self.columns.index(c) for c in self.instant_columns.split())


ITEMS = Table(
    "work_workitem",
    (
        "id client_id service_id terms_id queue_id title description contact_id priority "
        "state required_skills language due_at custom_fields tags external_ref channel "
        "assignee_id assigned_at created_at updated_at resolved_at closed_at "
        "reopened_count"
    ),
    "due_at assigned_at created_at updated_at resolved_at closed_at",
)
CLOCKS = Table(
    "work_slaclock",
    (
        "client_id item_id target_id metric cycle target_seconds started_at resumed_at "
        "elapsed_seconds warn_at due_at stopped_at met warned_at breached_at"
    ),
    "started_at resumed_at warn_at due_at stopped_at warned_at breached_at",
)
SESSIONS = Table(
    "work_worksession",
    "client_id item_id agent_id started_at last_seen_at ended_at",
    "started_at last_seen_at ended_at",
)
SURVEYS = Table(
    "portal_survey",
    "client_id item_id service_id token created_at emailed answered_at rating recommend comment",
    "created_at answered_at",
)
CONTACTS = Table(
    "work_contact",
    "id client_id name email created_at",
    "created_at",
)
LOADED = (ITEMS, CLOCKS, SESSIONS, SURVEYS)


@dataclass
class Loaded:
    """What the load wrote, and how long it took."""

    items: int = 0
    clocks: int = 0
    sessions: int = 0
    surveys: int = 0
    answered: int = 0
    contacts: int = 0
    seconds: float = 0.0


@dataclass
class Batch:
    """The rows of one chunk of items, by table."""

    rows: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {t.name: [] for t in LOADED}
    )


class History:
    """Reproducible history rows of one provider: items with clocks, sessions and surveys."""

    def __init__(self, provider: Provider, now: int, first_contact: int) -> None:
        self.rng = random.Random(SEED)  # noqa: S311 (reproducible test data, not secrets)
        self.now = now
        self.queues = [(c, q) for c in provider.client_ids for q in provider.queues[c]]
        self.agents: dict[int, list[int]] = {c: [] for c in provider.client_ids}
        for agent, clients in provider.agent_clients.items():
            for c in clients:
                self.agents[c].append(agent)
        self.targets = targets_of(provider.client_ids)
        self.contacts: dict[int, range] = {}
        self.first_contact = first_contact

    def contact_rows(self, items: int) -> Iterator[tuple[Any, ...]]:
        """ITEMS_PER_CONTACT items a contact, each client its own contacts (ids from the first
        free one, so items can name them)."""
        per_client = max(1, items // ITEMS_PER_CONTACT // len(self.agents))
        next_id = self.first_contact
        born = self.now - HISTORY_DAYS * 86400 - 86400
        for client_id in self.agents:
            self.contacts[client_id] = range(next_id, next_id + per_client)
            for n in range(per_client):
                yield (
                    next_id + n,
                    client_id,
                    f"Customer {n}",
                    f"c{n}@client{client_id}.example",
                    born,
                )
            next_id += per_client

    def batches(self, first_id: int, count: int) -> Iterator[Batch]:
        """The rows of ``count`` items from id ``first_id``, CHUNK items a batch."""
        batch = Batch()
        for number in range(count):
            self._item(batch, first_id + number, number)
            if (number + 1) % CHUNK == 0:
                yield batch
                batch = Batch()
        if batch.rows[ITEMS.name]:
            yield batch

    def _item(self, batch: Batch, item_id: int, number: int) -> None:
        rng, now = self.rng, self.now
        r = rng.random
        client_id, queue = self.queues[number % len(self.queues)]
        channel = rng.choices(CHANNEL_NAMES, cum_weights=CHANNEL_CUM)[0]
        priority = rng.choices(PRIORITY_NAMES, cum_weights=PRIORITY_CUM)[0]
        tags = rng.choices(TAG_VALUES, cum_weights=TAG_CUM)[0]
        created = now - int(r() * HISTORY_DAYS * 86400)
        contacts = self.contacts[client_id]
        contact = contacts[int(r() * len(contacts))] if r() < CONTACT_SHARE[channel] else None
        delay = max(60, int(rng.lognormvariate(math.log(RESOLUTION_MEDIAN), 1.1)))
        first_response = min(
            delay, max(30, int(rng.lognormvariate(math.log(FIRST_RESPONSE_MEDIAN), 1.0)))
        )
        end = created + delay  # resolution, or cancellation
        fate = r()
        reopened = r() < REOPENED_SHARE
        agents = self.agents[client_id]
        assignee = agents[int(r() * len(agents))] if agents else None
        assigned_at = min(created + first_response, now) if assignee else None
        resolved_at = closed_at = None
        reopened_count = 0
        if fate < CANCELLED_SHARE and end <= now:
            state, updated = "cancelled", end
        elif fate < CANCELLED_SHARE + STUCK_SHARE or end > now:
            state = OPEN_STATES[int(r() * len(OPEN_STATES))]
            if state == "new":
                assignee = assigned_at = None
            elif reopened and created + delay // 2 <= now:
                state, reopened_count = "open", 1
            updated = min(now, created + first_response)
            end = now + 1  # not yet
        else:
            resolved_at, reopened_count = end, int(reopened)
            state, updated = "resolved", end
            if now - end > CLOSED_AFTER and r() < 0.7:
                state, closed_at = "closed", end + CLOSED_AFTER
                updated = closed_at
        # An SLA clock per target: the first response is decided when it is given (if the item
        # got that far), the resolution when the item is resolved (cancelled: stopped, no
        # outcome); a breach is marked at the due time, as the sweep marks it.
        running_due: list[int] = []
        for metric, minutes, decided_at in (
            ("first_response", FIRST_RESPONSE_MINUTES[priority], created + first_response),
            ("resolution", RESOLUTION_MINUTES[priority], end),
        ):
            seconds = minutes * 60
            due, warn = created + seconds, created + seconds * 3 // 4
            if (state == "new" and metric == "first_response") or decided_at > now:
                # Running; the resolution clock of an item pending on someone is paused.
                if state.startswith("pending") and metric == "resolution":
                    clock: tuple[Any, ...] = (None, 0, None, None, None, None)
                else:
                    running_due.append(due)
                    clock = (
                        created,
                        0,
                        None,
                        None,
                        due if due <= now else None,
                        warn if warn <= now else None,
                    )
            else:
                cancelled = state == "cancelled" and metric == "resolution"
                met = None if cancelled else decided_at - created <= seconds
                clock = (
                    None,
                    decided_at - created,
                    decided_at,
                    met,
                    due if (met is False or (cancelled and due < decided_at)) else None,
                    warn if warn < decided_at else None,
                )
            resumed, elapsed, stopped, met, breached, warned = clock
            batch.rows[CLOCKS.name].append(
                (
                    client_id,
                    item_id,
                    self.targets[client_id, priority, metric],
                    metric,
                    1,
                    seconds,
                    created,
                    resumed,
                    elapsed,
                    warn,
                    due,
                    stopped,
                    met,
                    warned,
                    breached,
                )
            )
        batch.rows[ITEMS.name].append(
            (
                item_id,
                client_id,
                queue.service_id,
                queue.terms_id,
                queue.queue_id,
                f"Request {item_id}",
                "",
                contact,
                priority,
                state,
                "{}",
                "",
                min(running_due) if running_due else None,
                "{}",
                tags,
                "",
                channel,
                assignee,
                assigned_at,
                created,
                updated,
                resolved_at,
                closed_at,
                reopened_count,
            )
        )
        if resolved_at is None:
            return
        if assignee is not None and r() < SESSION_SHARE:
            for _ in range(1 if r() < 0.85 else 2):
                length = min(7200, max(30, int(rng.lognormvariate(math.log(SESSION_MEDIAN), 0.7))))
                started = max(created, resolved_at - length - int(r() * min(delay, 3600)))
                ended = started + length
                batch.rows[SESSIONS.name].append(
                    (client_id, item_id, assignee, started, ended - int(r() * 30), ended)
                )
        if contact is not None:
            answered_at = resolved_at + 600 + int(r() * 2 * 86400)
            answered = r() < SURVEY_ANSWERED_SHARE and answered_at <= now
            rating = rng.choices(RATINGS, cum_weights=RATING_CUM)[0] if answered else None
            recommend = (
                rng.choices(RECOMMENDS, cum_weights=RECOMMEND_CUM)[0]
                if answered and r() < 0.8
                else None
            )
            batch.rows[SURVEYS.name].append(
                (
                    client_id,
                    item_id,
                    queue.service_id,
                    f"bench-{item_id}",
                    resolved_at,
                    channel in MAILED,
                    answered_at if answered else None,
                    rating,
                    recommend,
                    "",
                )
            )


def _cumulative(weights: dict[Any, int]) -> tuple[list[Any], list[int]]:
    names, total, cum = list(weights), 0, []
    for weight in weights.values():
        total += weight
        cum.append(total)
    return names, cum


CHANNEL_NAMES, CHANNEL_CUM = _cumulative(CHANNEL_WEIGHTS)
PRIORITY_NAMES, PRIORITY_CUM = _cumulative(PRIORITY_WEIGHTS)
TAG_VALUES, TAG_CUM = _cumulative(dict(TAGS))
RATINGS, RATING_CUM = _cumulative(RATING_WEIGHTS)
RECOMMENDS, RECOMMEND_CUM = _cumulative(RECOMMEND_WEIGHTS)


def targets_of(client_ids: list[int]) -> dict[tuple[int, str, str], int]:
    """Each client's SLA target ids by (client, priority, metric) (one policy a client)."""
    with all_clients_unscoped("the benchmark's bulk load names the targets of its clocks"):
        rows = SlaTarget.objects.filter(client_id__in=client_ids).values_list(
            "client_id", "priority", "metric", "id"
        )
        return {(c, p, m): pk for c, p, m, pk in rows}


def _pg_instant(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _sqlite_instant(seconds: int) -> str:
    # Naive UTC text, as Django stores instants on SQLite.
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None).isoformat(" ")


def _copy_value(value: object) -> str:
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)  # our texts hold no tab, newline or backslash


def write_rows(table: Table, rows: list[tuple[Any, ...]]) -> None:
    """Write rows into ``table``: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    positions = table.instant_positions
    columns = ", ".join(table.columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            text = io.StringIO()
            for row in rows:
                text.write(
                    "\t".join(
                        _pg_instant(v) if n in positions and v is not None else _copy_value(v)
                        for n, v in enumerate(row)
                    )
                )
                text.write("\n")
            with cursor.cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                copy.write(text.getvalue())
        else:
            marks = ", ".join("%s" for _ in table.columns)
            cursor.executemany(
                f"INSERT INTO {table.name} ({columns}) VALUES ({marks})",
                [
                    tuple(
                        _sqlite_instant(v) if n in positions and v is not None else v
                        for n, v in enumerate(row)
                    )
                    for row in rows
                ],
            )


@contextmanager
def rollup_triggers_off() -> Iterator[None]:
    """The rollup triggers off while the history is inserted, and on again after (the
    statements of the migration that made them)."""
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgresql:
            for table, _, _ in TRIGGERS.PG_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_rollup_insert_delete")
        else:
            for statement in TRIGGERS.SQLITE_REVERSE:
                cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if postgresql:
                for table, _, _ in TRIGGERS.PG_TABLES:
                    cursor.execute(
                        f"ALTER TABLE {table} ENABLE TRIGGER {table}_rollup_insert_delete"
                    )
            else:
                for statement in TRIGGERS.SQLITE_FORWARD:
                    cursor.execute(statement)
    check_triggers_on()


def check_triggers_on() -> None:
    """Every rollup trigger is there and enabled (as migrated)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%%_rollup_%%' "
                "AND tgenabled = 'O'"
            )
            expected = 2 * len(TRIGGERS.PG_TABLES)
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE '%%_rollup_%%'"
            )
            expected = len(TRIGGERS.SQLITE_FORWARD)
        (found,) = cursor.fetchone()
    if found != expected:
        raise RuntimeError(f"{found} rollup triggers are on, {expected} expected")


def _next_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
        (value,) = cursor.fetchone()
    return int(value)


def load_history(provider: Provider, count: int) -> Loaded:
    """Insert the provider's history in bulk (rollup triggers off), then analyse the tables."""
    began = time.perf_counter()
    now = int(time.time())
    loaded = Loaded()
    history = History(provider, now, _next_id(CONTACTS.name))
    first_item = _next_id(ITEMS.name)
    with rollup_triggers_off():
        with transaction.atomic():
            contacts = list(history.contact_rows(count))
            write_rows(CONTACTS, contacts)
            loaded.contacts = len(contacts)
        for batch in history.batches(first_item, count):
            with transaction.atomic():
                for table in LOADED:
                    write_rows(table, batch.rows[table.name])
            loaded.items += len(batch.rows[ITEMS.name])
            loaded.clocks += len(batch.rows[CLOCKS.name])
            loaded.sessions += len(batch.rows[SESSIONS.name])
            loaded.surveys += len(batch.rows[SURVEYS.name])
            loaded.answered += sum(1 for row in batch.rows[SURVEYS.name] if row[6] is not None)
            if loaded.items % (5 * CHUNK) == 0 or loaded.items == count:
                progress(
                    f"loaded {loaded.items:,}/{count:,} items, {loaded.clocks:,} SLA clocks, "
                    f"{loaded.sessions:,} work sessions, {loaded.surveys:,} surveys "
                    f"({time.perf_counter() - began:.0f} s)"
                )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in (ITEMS, CONTACTS):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT MAX(id) FROM {table.name}))"
                )
            # What autovacuum would have done to tables of this age: statistics and the
            # visibility map, so plans are those of a settled database.
            names = ", ".join(t.name for t in (*LOADED, CONTACTS))
            cursor.execute(f"VACUUM (ANALYZE) {names}")
        else:
            cursor.execute("ANALYZE")
    loaded.seconds = time.perf_counter() - began
    progress(f"history loaded and analysed ({loaded.seconds:.0f} s)")
    return loaded


def analyse_rollups() -> None:
    """Statistics of the freshly built rollup tables (autovacuum would gather them)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM (ANALYZE) portal_serviceday, portal_servicedaysla")
        else:
            cursor.execute("ANALYZE")


# --- the naive aggregate ------------------------------------------------------------------------

DayKey = tuple[int, date, str]  # service, day, channel
SlaKey = tuple[int, date, str, str]  # service, day, metric, priority


@dataclass
class Naive:
    """The figures of some services over some days, straight from the raw tables."""

    days: dict[DayKey, list[int]] = field(default_factory=dict)  # DAY_FIELDS in order
    sla: dict[SlaKey, list[int]] = field(default_factory=dict)  # met, missed
    backlog: dict[tuple[int, str], list[int]] = field(default_factory=dict)  # by age bucket
    at_risk: dict[int, int] = field(default_factory=dict)
    totals: dict[tuple[int, str], list[int]] = field(default_factory=dict)  # by period


def _day_sql(column: str, zone: ZoneInfo, lo: datetime, hi: datetime) -> str:
    """SQL for the calendar day of the instant in ``column``, in ``zone``."""
    name = str(zone)
    if not re.fullmatch(r"[A-Za-z0-9_/+-]+", name):
        raise ValueError(f"unexpected zone name {name!r}")
    if connection.vendor == "postgresql":
        return f"(({column}) AT TIME ZONE '{name}')::date"
    # SQLite knows no zones: the zone's UTC offsets over the period, written into the query.
    offsets = _offsets(zone, lo - timedelta(days=2), hi + timedelta(days=2))
    if len(offsets) == 1:
        return f"date({column}, '{offsets[0][1]:+d} seconds')"
    cases = " ".join(
        f"WHEN {column} < '{until:%Y-%m-%d %H:%M:%S}' THEN '{offset:+d} seconds'"
        for until, offset in offsets[:-1]
    )
    return f"date({column}, CASE {cases} ELSE '{offsets[-1][1]:+d} seconds' END)"


def _offsets(zone: ZoneInfo, lo: datetime, hi: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offsets (seconds) between lo and hi, each with the (naive UTC) instant it
    ends at; the last one's end is hi."""

    def offset(at: datetime) -> int:
        delta = at.astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    found: list[tuple[datetime, int]] = []
    at, current = lo, offset(lo)
    while at < hi:
        step = at + timedelta(hours=1)
        if offset(step) != current:
            low, high = at, step  # the change is in (low, high]: bisect to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == current else (low, middle)
            found.append((high.astimezone(UTC).replace(tzinfo=None), current))
            current = offset(high)
        at = step
    found.append((hi.astimezone(UTC).replace(tzinfo=None), current))
    return found


def _dialect() -> dict[str, str]:
    if connection.vendor == "postgresql":
        return {
            "excluded": "((v.exclude_cancelled AND i.state = 'cancelled') OR "
            "i.tags ?| ARRAY(SELECT jsonb_array_elements_text(v.excluded_tags)))",
            "seconds": "TRUNC(EXTRACT(EPOCH FROM COALESCE(s.ended_at, s.last_seen_at) "
            "- s.started_at))::bigint",
            "window_end": "r.resolved_at + r.fcr_window_days * INTERVAL '1 day'",
        }
    return {
        "excluded": "((v.exclude_cancelled AND i.state = 'cancelled') OR EXISTS ("
        "SELECT 1 FROM json_each(i.tags) a, json_each(v.excluded_tags) b "
        "WHERE a.value = b.value))",
        "seconds": "(CAST(strftime('%%s', COALESCE(s.ended_at, s.last_seen_at)) AS INTEGER) "
        "- CAST(strftime('%%s', s.started_at) AS INTEGER))",
        "window_end": "datetime(r.resolved_at, '+' || r.fcr_window_days || ' days')",
    }


CREATED_SQL = """
    SELECT i.service_id, {day} AS day, i.channel, COUNT(*)
    FROM work_workitem i
    WHERE i.client_id = %s AND i.service_id IN ({services})
      AND i.created_at >= %s AND i.created_at < %s
    GROUP BY 1, 2, 3
"""
RESOLVED_SQL = """
    SELECT r.service_id, {day} AS day, r.channel,
           COUNT(*),
           SUM(CASE WHEN r.counted = 1 AND h.item_id IS NOT NULL THEN 1 ELSE 0 END),
           SUM(CASE WHEN r.counted = 1 THEN COALESCE(h.seconds, 0) ELSE 0 END),
           SUM(r.counted),
           SUM(CASE WHEN r.counted = 1 AND r.reopened_count = 0 AND NOT EXISTS (
                   SELECT 1 FROM work_workitem j
                   WHERE j.contact_id = r.contact_id AND j.service_id = r.service_id
                     AND j.created_at > r.resolved_at AND j.created_at <= {window_end}
               ) THEN 1 ELSE 0 END)
    FROM (
        SELECT i.id, i.service_id, i.channel, i.resolved_at, i.contact_id,
               i.reopened_count, v.fcr_window_days,
               CASE WHEN {excluded} THEN 0 ELSE 1 END AS counted
        FROM work_workitem i
        JOIN contracts_serviceterms t ON t.id = i.terms_id
        JOIN contracts_contractversion v ON v.id = t.version_id
        WHERE i.client_id = %s AND i.service_id IN ({services})
          AND i.resolved_at >= %s AND i.resolved_at < %s
    ) r
    LEFT JOIN (
        SELECT s.item_id, SUM({seconds}) AS seconds
        FROM work_worksession s
        JOIN work_workitem w ON w.id = s.item_id
        WHERE s.client_id = %s AND w.client_id = %s AND w.service_id IN ({services})
          AND w.resolved_at >= %s AND w.resolved_at < %s
        GROUP BY s.item_id
    ) h ON h.item_id = r.id
    GROUP BY 1, 2, 3
"""
SURVEYS_SQL = """
    SELECT p.service_id, {day} AS day, i.channel,
           COUNT(p.rating),
           SUM(CASE WHEN p.rating >= v.csat_good_rating THEN 1 ELSE 0 END),
           COALESCE(SUM(p.rating), 0),
           COUNT(p.recommend),
           SUM(CASE WHEN p.recommend >= 9 THEN 1 ELSE 0 END),
           SUM(CASE WHEN p.recommend <= 6 THEN 1 ELSE 0 END)
    FROM portal_survey p
    JOIN work_workitem i ON i.id = p.item_id
    JOIN contracts_serviceterms t ON t.id = i.terms_id
    JOIN contracts_contractversion v ON v.id = t.version_id
    WHERE p.client_id = %s AND p.service_id IN ({services})
      AND p.answered_at >= %s AND p.answered_at < %s
    GROUP BY 1, 2, 3
"""
CLOCKS_SQL = """
    SELECT i.service_id, {day} AS day, d.metric, g.priority,
           SUM(CASE WHEN d.breached_at IS NULL AND d.met THEN 1 ELSE 0 END),
           SUM(CASE WHEN d.breached_at IS NULL AND d.met THEN 0 ELSE 1 END)
    FROM (
        SELECT c.item_id, c.target_id, c.metric, c.met, c.breached_at,
               COALESCE(c.breached_at, CASE WHEN c.met IS NOT NULL THEN c.stopped_at END)
                   AS decided_at
        FROM work_slaclock c
        WHERE c.client_id = %s
          AND ((c.stopped_at >= %s AND c.stopped_at < %s AND c.met IS NOT NULL)
               OR (c.breached_at >= %s AND c.breached_at < %s))
    ) d
    JOIN work_workitem i ON i.id = d.item_id
    JOIN contracts_slatarget g ON g.id = d.target_id
    JOIN contracts_serviceterms t ON t.id = i.terms_id
    JOIN contracts_contractversion v ON v.id = t.version_id
    WHERE i.service_id IN ({services}) AND d.decided_at >= %s AND d.decided_at < %s
      AND NOT {excluded}
    GROUP BY 1, 2, 3, 4
"""
BACKLOG_SQL = """
    SELECT i.service_id, i.state,
           SUM(CASE WHEN i.created_at > %s THEN 1 ELSE 0 END),
           SUM(CASE WHEN i.created_at <= %s AND i.created_at > %s THEN 1 ELSE 0 END),
           SUM(CASE WHEN i.created_at <= %s AND i.created_at > %s THEN 1 ELSE 0 END),
           SUM(CASE WHEN i.created_at <= %s THEN 1 ELSE 0 END)
    FROM work_workitem i
    WHERE i.client_id = %s AND i.service_id IN ({services})
      AND i.state IN ('new', 'open', 'pending_contact', 'pending_client')
    GROUP BY 1, 2
"""
AT_RISK_SQL = """
    SELECT i.service_id, COUNT(*)
    FROM work_slaclock c
    JOIN work_workitem i ON i.id = c.item_id
    WHERE c.client_id = %s AND c.stopped_at IS NULL AND i.service_id IN ({services})
      AND i.state IN ('new', 'open', 'pending_contact', 'pending_client')
      AND (c.breached_at IS NOT NULL OR c.warned_at IS NOT NULL)
    GROUP BY 1
"""
ZONES_SQL = """
    SELECT t.service_id, c.time_zone, v.status
    FROM contracts_serviceterms t
    JOIN contracts_contractversion v ON v.id = t.version_id
    JOIN calendars_businesscalendar c ON c.id = t.calendar_id
    WHERE t.client_id = %s
    ORDER BY t.service_id, v.number
"""
FIRST_ITEM_SQL = "SELECT MIN(created_at) FROM work_workitem WHERE client_id = %s"


def _instant(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def naive_zones(client_id: int) -> dict[int, ZoneInfo]:
    """Each service of the client and its calendar's zone: that of its terms in the active
    version, or (none active) in its latest version."""
    zones: dict[int, ZoneInfo] = {}
    active: set[int] = set()
    for service_id, zone, status in _rows(ZONES_SQL, [client_id]):
        if service_id not in active:
            zones[service_id] = ZoneInfo(zone)
            if status == VersionStatus.ACTIVE:
                active.add(service_id)
    return zones


def dashboard_days(zone: ZoneInfo, now: datetime) -> tuple[date, date]:
    """The days a dashboard covers: this month and the trend's days, to today."""
    today = now.astimezone(zone).date()
    return min(today - timedelta(days=TREND_DAYS - 1), today.replace(day=1)), today


def naive_figures(
    client_id: int,
    *,
    services: list[int] | None = None,
    whole_history: bool = False,
    now: datetime | None = None,
) -> Naive:
    """The dashboard's figures of the client's services (all, or ``services``) with GROUP BY
    over the raw tables: the dashboard's days, or every day since the client's first item."""
    now = now or timezone.now()
    naive = Naive()
    by_zone: defaultdict[ZoneInfo, list[int]] = defaultdict(list)
    for service_id, zone in naive_zones(client_id).items():
        if services is None or service_id in services:
            by_zone[zone].append(service_id)
    first_item = _rows(FIRST_ITEM_SQL, [client_id])[0][0] if whole_history else None
    dialect = _dialect()
    for zone, ids in by_zone.items():
        first, last = dashboard_days(zone, now)
        if first_item is not None:
            first = _parse_instant(first_item).astimezone(zone).date()
        lo = datetime.combine(first, datetime.min.time(), tzinfo=zone)
        hi = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        window = [_instant(lo), _instant(hi)]
        listed = ", ".join(str(int(s)) for s in ids)

        def sql(template: str, column: str) -> str:
            day = _day_sql(column, zone, lo, hi)  # noqa: B023 (used at once, in this loop)
            return template.format(day=day, services=listed, **dialect)  # noqa: B023

        for service_id, day, channel, created in _rows(
            sql(CREATED_SQL, "i.created_at"), [client_id, *window]
        ):
            naive.days.setdefault((service_id, _day(day), channel), [0] * len(DAY_FIELDS))[0] = int(
                created
            )
        for service_id, day, channel, *counts in _rows(
            sql(RESOLVED_SQL, "r.resolved_at"),
            [client_id, *window, client_id, client_id, *window],
        ):
            row = naive.days.setdefault((service_id, _day(day), channel), [0] * len(DAY_FIELDS))
            row[1:6] = [int(c or 0) for c in counts]
        for service_id, day, channel, *counts in _rows(
            sql(SURVEYS_SQL, "p.answered_at"), [client_id, *window]
        ):
            row = naive.days.setdefault((service_id, _day(day), channel), [0] * len(DAY_FIELDS))
            row[6:12] = [int(c or 0) for c in counts]
        for service_id, day, metric, priority, met, missed in _rows(
            sql(CLOCKS_SQL, "d.decided_at"), [client_id, *window, *window, *window]
        ):
            naive.sla[service_id, _day(day), metric, priority] = [int(met), int(missed)]
        ages = [_instant(now - timedelta(days=n)) for n in AGE_DAYS]
        for service_id, state, *buckets in _rows(
            sql(BACKLOG_SQL, "i.created_at"),
            [ages[0], ages[0], ages[1], ages[1], ages[2], ages[2], client_id],
        ):
            naive.backlog[service_id, state] = [int(b or 0) for b in buckets]
        for service_id, count in _rows(sql(AT_RISK_SQL, "c.due_at"), [client_id]):
            naive.at_risk[service_id] = int(count)
        naive.totals.update(_period_totals(naive, last))
    return naive


def _parse_instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _period_totals(naive: Naive, today: date) -> dict[tuple[int, str], list[int]]:
    """Each service's figures of today, this week and this month (what the cards show)."""
    periods = {
        "today": today,
        "week": today - timedelta(days=today.weekday()),
        "month": today.replace(day=1),
    }
    totals: dict[tuple[int, str], list[int]] = {}
    for (service_id, day, _), counts in naive.days.items():
        for key, first in periods.items():
            if first <= day <= today:
                total = totals.setdefault((service_id, key), [0] * len(DAY_FIELDS))
                for n, value in enumerate(counts):
                    total[n] += value
    return totals


# --- checking the rollups against it ------------------------------------------------------------

SERVICE_DAYS_SQL = (
    f"SELECT service_id, day, channel, {', '.join(DAY_FIELDS)} FROM portal_serviceday "
    "WHERE client_id = %s"
)
SERVICE_DAY_SLAS_SQL = (
    "SELECT service_id, day, metric, priority, met, missed FROM portal_servicedaysla "
    "WHERE client_id = %s"
)


def rollup_rows(
    client_id: int, first: date | None, last: date | None
) -> tuple[dict[DayKey, list[int]], dict[SlaKey, list[int]]]:
    """The client's rollup rows (of the days from first to last, when given)."""
    where, params = "", list[Any]([client_id])
    if first is not None and last is not None:
        where = " AND day >= %s AND day <= %s"
        params += [connection.ops.adapt_datefield_value(d) for d in (first, last)]
    days = {
        (s, _day(d), c): [int(v) for v in values]
        for s, d, c, *values in _rows(SERVICE_DAYS_SQL + where, params)
    }
    sla = {
        (s, _day(d), m, p): [int(met), int(missed)]
        for s, d, m, p, met, missed in _rows(SERVICE_DAY_SLAS_SQL + where, params)
    }
    return days, sla


def compare(client_id: int, naive: Naive, *, whole_history: bool) -> tuple[int, int]:
    """(rows that differ, rows compared) between the client's rollups and the naive figures."""
    first = last = None
    if not whole_history:
        zones = set(naive_zones(client_id).values())
        spans = [dashboard_days(zone, timezone.now()) for zone in zones]
        first, last = min(s[0] for s in spans), max(s[1] for s in spans)
    days, sla = rollup_rows(client_id, first, last)
    naive_days = {k: v for k, v in naive.days.items() if any(v)}
    naive_sla = {k: v for k, v in naive.sla.items() if any(v)}
    if first is not None and last is not None:
        naive_days = {k: v for k, v in naive_days.items() if first <= k[1] <= last}
        naive_sla = {k: v for k, v in naive_sla.items() if first <= k[1] <= last}
    differing = [
        (key, days.get(key), naive_days.get(key))  # type: ignore[call-overload]
        for key in days.keys() | naive_days.keys()
        if days.get(key) != naive_days.get(key)  # type: ignore[call-overload]
    ] + [
        (key, sla.get(key), naive_sla.get(key))  # type: ignore[call-overload]
        for key in sla.keys() | naive_sla.keys()
        if sla.get(key) != naive_sla.get(key)  # type: ignore[call-overload]
    ]
    for key, rolled, computed in sorted(differing, key=str)[:5]:
        progress(f"MISMATCH client {client_id} {key}: rollups {rolled}, naive SQL {computed}")
    compared = len(days.keys() | naive_days.keys()) + len(sla.keys() | naive_sla.keys())
    return len(differing), compared


def check_all(client_ids: list[int], *, whole_history: bool) -> tuple[int, int, float]:
    """Refresh each client's rollups as a reader would, then compare them with the naive
    figures: (mismatches, rows compared, seconds the naive aggregate took)."""
    mismatches = compared = 0
    naive_seconds = 0.0
    for client_id in client_ids:
        with client_scope([client_id]):
            rollups_refresh(client_id=client_id)
        began = time.perf_counter()
        naive = naive_figures(client_id, whole_history=whole_history)
        naive_seconds += time.perf_counter() - began
        wrong, rows = compare(client_id, naive, whole_history=whole_history)
        mismatches += wrong
        compared += rows
    return mismatches, compared, naive_seconds


# --- readers and writers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reader:
    """A client viewer of one client, logged in on a test client of its own."""

    client_id: int
    services: list[int]
    web: WebClient


def make_readers(provider: Provider) -> dict[int, Reader]:
    """A client viewer per client, through the app's actions, each logged in once."""
    readers = {}
    admin = User.objects.get(pk=provider.admin_id)
    with request_context(request_id="bench-readers"), fast_hashing():
        for client_id in provider.client_ids:
            with acting_as(actor_for(admin)) as actor:
                user = people.user_create(
                    actor=actor,
                    email=f"viewer@client{client_id}.example",
                    full_name=f"Viewer of client {client_id}",
                    password=PASSWORD,
                )
                client = Client.objects.get(pk=client_id)
                people.membership_create(
                    actor=actor, user=user, role=Role.CLIENT_VIEWER, client=client
                )
            web = WebClient(HTTP_HOST="localhost")
            web.force_login(user)
            services = [q.service_id for q in provider.queues[client_id]]
            readers[client_id] = Reader(client_id, services, web)
    return readers


class Changes:
    """Items of a client changing through the app's actions, as agents and contacts change
    them: a new item of a known contact, an item resolved, a survey answered, an item reopened."""

    KINDS = ("create", "resolve", "answer", "reopen")

    def __init__(self, provider: Provider) -> None:
        self.rng = random.Random(f"{SEED}-changes")  # noqa: S311 (reproducible, not secrets)
        self.admin: Actor = actor_for(User.objects.get(pk=provider.admin_id))
        self.turn = 0
        self.done = 0
        self.clients: set[int] = set()  # whose items changed since the last check
        self.pools: dict[int, dict[str, list[int]]] = {}
        self.emails: dict[int, list[str]] = {}
        self.services: dict[int, list[Service]] = {}

    def _pool(self, client_id: int) -> dict[str, list[int]]:
        if client_id not in self.pools:
            recent = timezone.now() - timedelta(days=10)
            items = WorkItem.objects.filter(client_id=client_id).order_by("-id")
            pools = {
                "resolve": list(
                    items.filter(state__in=["new", "open"]).values_list("pk", flat=True)[:500]
                ),
                "reopen": list(
                    items.filter(state="resolved", resolved_at__gte=recent).values_list(
                        "pk", flat=True
                    )[:500]
                ),
                "answer": list(
                    Survey.objects.filter(client_id=client_id, answered_at__isnull=True)
                    .order_by("-id")
                    .values_list("pk", flat=True)[:500]
                ),
            }
            for ids in pools.values():
                self.rng.shuffle(ids)
            self.pools[client_id] = pools
            self.emails[client_id] = list(
                Contact.objects.filter(client_id=client_id).values_list("email", flat=True)[:300]
            )
            self.services[client_id] = list(
                Service.objects.filter(client_id=client_id).order_by("pk")
            )
        return self.pools[client_id]

    def apply(self, client_id: int, count: int = CHANGES_PER_REQUEST) -> None:
        """``count`` changes to the client's items, the kinds in turn."""
        self.clients.add(client_id)
        with request_context(request_id="bench-changes"), acting_as(self.admin) as actor:
            pools = self._pool(client_id)
            for _ in range(count):
                kind = self.KINDS[self.turn % len(self.KINDS)]
                self.turn += 1
                try:
                    self._change(actor, client_id, kind, pools)
                except ValidationError:
                    continue  # the item moved on meanwhile (say, already reopened): next one
                self.done += 1

    def _change(self, actor: Actor, client_id: int, kind: str, pools: dict[str, list[int]]) -> None:
        rng = self.rng
        if kind == "create" or not pools[kind]:
            item = work.work_item_create(
                actor=actor,
                service=rng.choice(self.services[client_id]),
                title="Where is my order?",
                contact_email=rng.choice(self.emails[client_id]),
                channel=rng.choice(["email", "form", "web"]),
                priority=rng.choice(PRIORITY_NAMES),
            )
            pools["resolve"].append(item.pk)
        elif kind == "resolve":
            item = WorkItem.objects.get(pk=pools["resolve"].pop())
            work.work_item_transition(actor=actor, item=item, state="resolved")
            pools["reopen"].append(item.pk)
            pools["answer"] += Survey.objects.filter(
                item=item, answered_at__isnull=True
            ).values_list("pk", flat=True)
        elif kind == "answer":
            survey = Survey.objects.get(pk=pools["answer"].pop())
            portal.survey_answer(
                survey=survey,
                rating=rng.choices(RATINGS, cum_weights=RATING_CUM)[0],
                recommend=rng.choices(RECOMMENDS, cum_weights=RECOMMEND_CUM)[0],
            )
        else:
            item = WorkItem.objects.get(pk=pools["reopen"].pop())
            work.work_item_transition(actor=actor, item=item, state="open", reason="not solved")
            pools["resolve"].append(item.pk)


# --- measuring ----------------------------------------------------------------------------------


def percentile_ms(latencies: list[float], share: float) -> float:
    """The latency below which ``share`` of them fall, in milliseconds (nearest rank)."""
    ordered = sorted(latencies)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] * 1000


def get_page(reader: Reader, path: str) -> None:
    """One page, which must answer 200."""
    response = reader.web.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code} to a viewer of its client")


def timed_pages(
    readers: dict[int, Reader],
    plan: list[tuple[int, str]],
    before: Callable[[int], None] | None = None,
) -> list[float]:
    """Latencies of the plan's pages (client id, path), one after another, in seconds; with
    ``before`` called (untimed) for the client before each."""
    if before is None:
        rollups_refresh_all()  # as the periodic job leaves them: nothing waits
    latencies = []
    for client_id, path in plan:
        if before is not None:
            before(client_id)
        began = time.perf_counter()
        get_page(readers[client_id], path)
        latencies.append(time.perf_counter() - began)
    return latencies


def timed_naive(plan: list[tuple[int, list[int] | None]]) -> list[float]:
    """Latencies of the naive aggregate for the plan's (client id, services or all)."""
    latencies = []
    for client_id, services in plan:
        began = time.perf_counter()
        naive_figures(client_id, services=services)
        latencies.append(time.perf_counter() - began)
    return latencies


def run(options: Options) -> list[Figure]:
    """The dashboard pages' latencies beside the naive aggregate, the rollups' full build beside
    the naive aggregate over every client's whole history, and the check of the two."""
    if options.quick:
        shape = QUICK
    else:
        shape = FULL_POSTGRESQL if options.db == "postgresql" else FULL_SQLITE
    count = QUICK_REQUESTS if options.quick else FULL_REQUESTS
    # As a deployment does: the pages name the static files by their hashed names.
    call_command("collectstatic", interactive=False, verbosity=0)
    progress(f"seeding {shape.clients} clients with {shape.queues_per_client} services each")
    provider = seed_provider(shape, first_response=True)
    progress(f"loading {shape.items:,} items of {HISTORY_DAYS} days of history")
    loaded = load_history(provider, shape.items)

    progress("building every client's rollups: rollups_refresh_all()")
    began = time.perf_counter()
    days_built = rollups_refresh_all()
    build_seconds = time.perf_counter() - began
    progress(f"built {days_built:,} service days in {build_seconds:.1f} s")
    analyse_rollups()
    progress("checking every client's whole history against the naive aggregate")
    wrong, compared, full_naive_seconds = check_all(provider.client_ids, whole_history=True)
    progress(
        f"{wrong} of {compared:,} rollup rows differ; the naive aggregate of every whole "
        f"history took {full_naive_seconds:.1f} s"
    )
    mismatches, rows_compared = [wrong], [compared]

    readers = make_readers(provider)
    changes = Changes(provider)
    rng = random.Random(SEED)  # noqa: S311 (reproducible test data, not secrets)
    clients = [rng.choice(provider.client_ids) for _ in range(count)]
    client_plan = [(c, f"/portal/clients/{c}/") for c in clients]
    service_picks = [
        (c, rng.choice(readers[c].services))
        for c in [rng.choice(provider.client_ids) for _ in range(count)]
    ]
    service_plan = [(c, f"/portal/services/{s}/") for c, s in service_picks]
    for client_id, path in client_plan[:WARM_UP_REQUESTS] + service_plan[:WARM_UP_REQUESTS]:
        get_page(readers[client_id], path)  # templates and statements ready, as in a server

    ways: dict[str, Callable[[], list[float]]] = {
        "client_page": lambda: timed_pages(readers, client_plan),
        "client_page_changed": lambda: timed_pages(readers, client_plan, changes.apply),
        "service_page": lambda: timed_pages(readers, service_plan),
        "naive_client": lambda: timed_naive([(c, None) for c in clients]),
        "naive_service": lambda: timed_naive([(c, [s]) for c, s in service_picks]),
    }
    samples: dict[str, list[list[float]]] = {way: [] for way in ways}
    for number in range(1, options.runs + 1):
        order = list(ways) if number % 2 else list(reversed(ways))
        for way in order:
            latencies = ways[way]()
            samples[way].append(latencies)
            progress(
                f"run {number}/{options.runs} {way}: p50 {percentile_ms(latencies, 0.5):.1f} ms, "
                f"p95 {percentile_ms(latencies, 0.95):.1f} ms"
            )
        wrong, compared, _ = check_all(sorted(changes.clients), whole_history=False)
        changes.clients.clear()
        mismatches.append(wrong)
        rows_compared.append(compared)
        progress(
            f"run {number}/{options.runs}: {changes.done} changes so far; {wrong} of "
            f"{compared:,} rollup rows of the changed clients' dashboard days differ from the "
            "naive aggregate"
        )

    def p(way: str, share: float) -> float:
        return median([percentile_ms(run, share) for run in samples[way]])

    services = shape.clients * shape.queues_per_client
    history = (
        f"{loaded.items:,} items over {HISTORY_DAYS} days in {services} services of "
        f"{shape.clients} clients ({loaded.clocks:,} SLA clocks, {loaded.sessions:,} work "
        f"sessions, {loaded.surveys:,} surveys of which {loaded.answered:,} answered)"
    )
    scale = f"{history}; {count} requests/run"
    changed = f"{scale}; {CHANGES_PER_REQUEST} item changes through the app before each request"
    runs = options.runs
    return [
        Figure(
            "client_page_p95_ms",
            p("client_page", 0.95),
            "ms",
            "naive_client_p95_ms",
            p("naive_client", 0.95),
            runs,
            scale,
        ),
        Figure(
            "client_page_p50_ms",
            p("client_page", 0.5),
            "ms",
            "naive_client_p50_ms",
            p("naive_client", 0.5),
            runs,
            scale,
        ),
        Figure(
            "client_page_changed_p95_ms",
            p("client_page_changed", 0.95),
            "ms",
            "naive_client_p95_ms",
            p("naive_client", 0.95),
            runs,
            changed,
        ),
        Figure(
            "service_page_p95_ms",
            p("service_page", 0.95),
            "ms",
            "naive_service_p95_ms",
            p("naive_service", 0.95),
            runs,
            scale,
        ),
        Figure(
            "rollup_build_seconds",
            build_seconds,
            "s",
            "naive_whole_history_seconds",
            full_naive_seconds,
            1,
            f"{history}; {days_built:,} service days built by "
            f"rollups_refresh_all() after a bulk load of {loaded.seconds:.0f} s",
        ),
        Figure(
            "mismatches",
            float(sum(mismatches)),
            "rows",
            "rows_compared",
            float(sum(rows_compared)),
            runs + 1,
            f"{history}; every client's whole history after the build, the dashboard "
            f"days of the clients changed in each run after it ({changes.done} changes)",
        ),
    ]
