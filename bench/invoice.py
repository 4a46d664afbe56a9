# ruff: noqa: S608 (the SQL is built from constants and ids of this file, never from input)
"""A month's invoice for a client with a million billable items, beside a bare SQL aggregate.

One client (calendar Europe/Berlin, office hours Monday to Friday) is seeded through the app's
actions: a contract whose agreed version prices two services with rate cards of every kind of charge
(per resolved item by channel and by priority, graduated and volume tiers, per handled minute, per
production hour, a fixed monthly fee, a minimum commitment with its true-up) and marks critical
service levels (credit terms: a share of the fees at risk, a pool, each level's share), and 200
agents (quick: 10) assigned to the client and certified for both services. Then last month's work is
loaded in bulk (COPY on PostgreSQL, ``executemany`` on SQLite): 1,000,000 items (quick: 5,000) first
resolved during the month (most on working days in office hours, a tenth at any hour of any day, so
local midnights and the month's DST change are crossed; spread over five channels and four
priorities; a few reopened and resolved again later), each with a finished work session by one of
the agents (whole seconds) and its resolution SLA clock (met or missed), written in the order the
items were created, as a live system writes them (ids and row order follow time); and the agents'
presence spans on the month's working days (available, away for lunch, busy, available again: every
span inside one local day). The portal's rollups are then built, untimed: a periodic job keeps them
fresh every minute, and the invoice reads the month's service levels from them for its credits.

What is measured, as the provider's admin, with ``billing.actions.invoice_draft`` for the month:

- ``draft_first_seconds``: a fresh draft (no invoice and no metered usage before it: each run
  removes them first, untimed): metering of the month and the month before for both services
  (resolved items, handled minutes, production minutes split between the services), claiming
  the usage, pricing every line, the credits;
- ``draft_recompute_seconds``: the same draft computed again with nothing changed (metering
  finds no difference to append; the lines are priced again).

The baseline is a bare SQL aggregate of the same usage over the same days (days of the
calendar's zone: ``AT TIME ZONE`` on PostgreSQL, the zone's UTC offsets written into the query
on SQLite): resolved items per service, day, channel and priority; handled seconds of the
sessions per service, day, channel and priority; logged-in seconds per day. Three plain
``GROUP BY`` queries, no pricing.

Check: the usage the draft claims, per service, day, meter, channel and priority, is compared
with the bare aggregate's: item counts and handled minutes (to the ledger's ten-thousandth)
exactly, and each day's production minutes summed over the two services (each agent's time is
split between them) within the rounding of the parts. ``mismatches`` counts the keys that
differ (0 expected); its baseline is the number of keys compared.
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.utils import timezone

from bench import Figure, Options, median, progress
from bench._workload import PASSWORD, fast_hashing
from bench.dashboard import (
    CLOCKS,
    SESSIONS,
    Table,
    _day_sql,
    _next_id,
    rollup_triggers_off,
    write_rows,
)
from bpo.accounts import actions as people
from bpo.accounts.models import User
from bpo.accounts.roles import Role
from bpo.audit.context import request_context
from bpo.billing import actions as billing
from bpo.billing.metering import QUANTUM
from bpo.billing.models import Invoice, Meter, Usage
from bpo.calendars import actions as calendars
from bpo.contracts import actions as contracts
from bpo.contracts.models import Contract, Service, SlaTarget
from bpo.portal.reports import month_first, month_last
from bpo.portal.rollups import rollups_refresh_all
from bpo.tenancy import actions as tenancy
from bpo.tenancy.context import Actor, acting_as, actor_for
from bpo.tenancy.models import Client
from bpo.work.actions import queue_default
from bpo.workforce import actions as workforce
from bpo.workforce.models import PresenceSpan

FULL_ITEMS = 1_000_000
QUICK_ITEMS = 5_000
FULL_AGENTS = 200
QUICK_AGENTS = 10
SEED = 20261124
ZONE = "Europe/Berlin"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
CHUNK = 50_000  # items (with their sessions and clocks) per load transaction

# The month's work.
SERVICES = (("customer-service", "Customer service", 80), ("back-office", "Back office", 20))
CHANNEL_WEIGHTS = {"email": 40, "form": 15, "api": 25, "web": 10, "import": 10}
PRIORITY_WEIGHTS = {"urgent": 2, "high": 10, "normal": 68, "low": 20}
# Resolution targets (calendar minutes) and the service level promised for each; the critical
# ones carry a share of the credit pool (the policy is both services': each service's levels
# count, so the shares of one policy add up to half the pool). With resolutions about 3 h after
# creation (log-normal), urgent items meet their 4 h target about 61% of the time: missed.
RESOLUTION_MINUTES = {"urgent": 4 * 60, "high": 8 * 60, "normal": 24 * 60, "low": 48 * 60}
SERVICE_LEVELS = {"urgent": "90.00", "high": "80.00", "normal": "95.00", "low": "95.00"}
CREDIT_SHARES = {"urgent": "15.00", "high": "10.00", "normal": "25.00"}
RESOLUTION_MEDIAN = 3 * 3600
OFFICE_SHARE = 0.9  # resolved on a working day in office hours; the rest at any instant
OFFICE_HOURS = (8, 18)
REOPENED_SHARE = 0.03  # resolved again a day later: billed once, on the first day
SESSION_MEDIAN = 7 * 60

ITEMS = Table(
    "work_workitem",
    (
        "id client_id service_id terms_id queue_id title description priority state "
        "required_skills language due_at custom_fields tags external_ref channel assignee_id "
        "assigned_at created_at updated_at resolved_at first_resolved_at reopened_count"
    ),
    "due_at assigned_at created_at updated_at resolved_at first_resolved_at",
)


# --- the client and its agreement, through the app's actions --------------------------------


@dataclass
class Seeded:
    """What was seeded: ids only."""

    admin_id: int
    client_id: int
    contract_id: int
    services: list[tuple[int, int, int, int]]  # service id, terms id, queue id, weight
    targets: dict[tuple[int, str], tuple[int, int]]  # (service, priority) -> target id, seconds
    agent_ids: list[int]


def rate_cards(service_key: str) -> tuple[str | None, list[dict[str, Any]]]:
    """Each service's minimum commitment and charges."""
    if service_key == "customer-service":
        return "250000.00", [
            {
                "label": "Resolved e-mails",
                "model": "per_transaction",
                "channel": "email",
                "tiering": "graduated",
                "tiers": [
                    {"up_to": "100000", "price": "0.90"},
                    {"up_to": "250000", "price": "0.75"},
                    {"up_to": None, "price": "0.60"},
                ],
            },
            {
                "label": "Resolved web forms",
                "model": "per_transaction",
                "channel": "form",
                "unit_price": "0.70",
            },
            {
                "label": "Resolved web requests",
                "model": "per_transaction",
                "channel": "web",
                "unit_price": "0.65",
            },
            {
                "label": "Resolved API requests",
                "model": "per_transaction",
                "channel": "api",
                "tiering": "volume",
                "tiers": [
                    {"up_to": "50000", "price": "0.40"},
                    {"up_to": None, "price": "0.30"},
                ],
            },
            {
                "label": "Resolved imports",
                "model": "per_transaction",
                "channel": "import",
                "unit_price": "0.20",
            },
            {
                "label": "Urgent surcharge",
                "model": "per_transaction",
                "priority": "urgent",
                "unit_price": "1.50",
            },
            {"label": "Handled minutes", "model": "per_handled_minute", "unit_price": "0.12"},
        ]
    return "80000.00", [
        {"label": "Production hours", "model": "per_production_hour", "unit_price": "24.00"},
        {"label": "Service management", "model": "fixed_fee", "unit_price": "2500.00"},
        {
            "label": "Resolved back-office tasks",
            "model": "per_transaction",
            "tiering": "graduated",
            "tiers": [
                {"up_to": "100000", "price": "0.35"},
                {"up_to": None, "price": "0.25"},
            ],
        },
    ]


def seed(agents: int) -> Seeded:
    """The client, its contract (rate cards, credit terms, SLA policy) and its agents."""
    began = time.perf_counter()
    with request_context(request_id="bench-seed"), fast_hashing():
        admin = people.admin_bootstrap(
            email="admin@bench.example", full_name="Bench Admin", password=PASSWORD
        )
        with acting_as(actor_for(admin)) as actor:
            client = tenancy.client_create(
                actor=actor, name="Shop Example GmbH", slug="shop", time_zone=ZONE
            )
        with acting_as(actor_for(admin)) as actor:
            seeded = _seed_agreement(actor, admin.pk, client)
        for number in range(agents):
            with acting_as(actor_for(admin)) as actor:
                user = people.user_create(
                    actor=actor,
                    email=f"agent{number:03d}@bench.example",
                    full_name=f"Agent {number:03d}",
                    password=PASSWORD,
                )
                people.membership_create(actor=actor, user=user, role=Role.AGENT)
                people.assignment_create(actor=actor, user=user, client=client)
            with acting_as(actor_for(admin)) as actor:
                for service in Service.objects.filter(client_id=client.pk).order_by("key"):
                    workforce.certification_grant(actor=actor, user=user, service=service)
            seeded.agent_ids.append(user.pk)
            if (number + 1) % 50 == 0 or number + 1 == agents:
                progress(
                    f"seeded {number + 1}/{agents} agents, each certified for both services "
                    f"({time.perf_counter() - began:.0f} s)"
                )
    return seeded


def _seed_agreement(actor: Actor, admin_id: int, client: Client) -> Seeded:
    calendar = calendars.calendar_create(
        actor=actor,
        client=client,
        name="Office hours",
        time_zone=ZONE,
        weekly={d: ["08:00-18:00"] for d in WEEKDAYS},
    )
    contract = contracts.contract_create(
        actor=actor,
        client=client,
        reference="SHOP-01",
        title="Customer service and back office",
        start_date="2026-01-01",
        currency="EUR",
    )
    version = contract.versions.get()
    contracts.contract_version_update(
        actor=actor,
        version=version,
        tax_rate_percent=Decimal("19.00"),
        credit_at_risk_percent=Decimal("12.00"),
        credit_pool_percent=Decimal("250.00"),
    )
    policy = contracts.sla_policy_save(
        actor=actor,
        version=version,
        name="Standard",
        targets=[
            {
                "priority": p,
                "metric": "resolution",
                "duration_minutes": minutes,
                "clock": "calendar",
                "service_level_percent": SERVICE_LEVELS[p],
                "credit_share_percent": CREDIT_SHARES.get(p),
            }
            for p, minutes in RESOLUTION_MINUTES.items()
        ],
    )
    services = []
    for key, name, weight in SERVICES:
        terms = contracts.service_add(
            actor=actor,
            version=version,
            key=key,
            name=name,
            process_type="customer_service",
            calendar=calendar,
            sla_policy_id=policy.pk,
        )
        minimum, charges = rate_cards(key)
        card = billing.rate_card_set(
            actor=actor,
            version=version,
            service=terms.service,
            minimum_commitment=Decimal(minimum) if minimum else None,
        )
        for charge in charges:
            billing.charge_add(actor=actor, rate_card=card, **charge)
        services.append((terms.service_id, terms.pk, queue_default(terms.service).pk, weight))
    contracts.contract_version_activate(actor=actor, version=version)
    targets = {
        (service_id, t.priority): (t.pk, (t.duration_minutes or 0) * 60)
        for service_id, *_ in services
        for t in SlaTarget.objects.filter(policy=policy)
    }
    return Seeded(admin_id, client.pk, contract.pk, services, targets, [])


# --- the month's work, loaded in bulk ---------------------------------------------------------


@dataclass
class Month:
    """The billed month in the calendar's zone, as epoch seconds where rows need instants."""

    first: date
    zone: ZoneInfo

    @property
    def last(self) -> date:
        return month_last(self.first)

    def epoch(self, day: date, hour: int = 0) -> int:
        return int(datetime(day.year, day.month, day.day, hour, tzinfo=self.zone).timestamp())

    @property
    def start(self) -> int:
        return self.epoch(self.first)

    @property
    def end(self) -> int:
        return self.epoch(self.last + timedelta(days=1))

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.last.day)]

    def working_days(self) -> list[date]:
        return [d for d in self.days() if d.weekday() < 5]


def _cumulative(weights: dict[str, int]) -> tuple[list[str], list[int]]:
    """The names and their cumulative weights, for ``random.choices``."""
    names, total, cum = list(weights), 0, []
    for weight in weights.values():
        total += weight
        cum.append(total)
    return names, cum


CHANNELS, CHANNEL_CUM = _cumulative(CHANNEL_WEIGHTS)
PRIORITIES, PRIORITY_CUM = _cumulative(PRIORITY_WEIGHTS)


def item_plans(seeded: Seeded, month: Month, count: int) -> list[tuple[int, ...]]:
    """Reproducible items, in the order they were created (as a live system writes them, so
    ids and row order follow time): (created, resolved, service index, channel index, priority
    index, agent, reopened, session gap, session length)."""
    rng = random.Random(SEED)  # noqa: S311 (reproducible test data, not secrets)
    r = rng.random
    office = [
        (month.epoch(d, OFFICE_HOURS[0]), (OFFICE_HOURS[1] - OFFICE_HOURS[0]) * 3600)
        for d in month.working_days()
    ]
    span = month.end - month.start
    service_cum = _cumulative({str(s[0]): s[3] for s in seeded.services})[1]
    indexes = range(len(seeded.services))
    agents = seeded.agent_ids
    plans: list[tuple[int, ...]] = []
    for _ in range(count):
        if r() < OFFICE_SHARE:
            opens, length = office[int(r() * len(office))]
            resolved = opens + int(r() * length)
        else:
            resolved = month.start + int(r() * span)
        delay = min(5 * 86400, max(300, int(rng.lognormvariate(math.log(RESOLUTION_MEDIAN), 1.0))))
        plans.append(
            (
                resolved - delay,
                resolved,
                rng.choices(indexes, cum_weights=service_cum)[0],
                rng.choices(range(len(CHANNELS)), cum_weights=CHANNEL_CUM)[0],
                rng.choices(range(len(PRIORITIES)), cum_weights=PRIORITY_CUM)[0],
                agents[int(r() * len(agents))],
                int(r() < REOPENED_SHARE),
                int(r() * 120),
                min(7200, max(30, int(rng.lognormvariate(math.log(SESSION_MEDIAN), 0.7)))),
            )
        )
    plans.sort()
    return plans


def work_batches(
    seeded: Seeded, month: Month, count: int, first_id: int
) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    """The rows of ``count`` items from id ``first_id`` with their sessions and clocks, CHUNK
    items a batch."""
    rows: dict[str, list[tuple[Any, ...]]] = {ITEMS.name: [], SESSIONS.name: [], CLOCKS.name: []}
    plans = item_plans(seeded, month, count)
    for number, plan in enumerate(plans):
        if number and number % CHUNK == 0:
            yield rows
            rows = {ITEMS.name: [], SESSIONS.name: [], CLOCKS.name: []}
        created, resolved, service, channel, priority, agent, reopened, gap, length = plan
        item_id = first_id + number
        service_id, terms_id, queue_id, _ = seeded.services[service]
        delay = resolved - created
        assigned = created + min(delay // 2, 1800)
        last_resolved = resolved + 86400 if reopened else resolved
        target_id, target_seconds = seeded.targets[service_id, PRIORITIES[priority]]
        rows[ITEMS.name].append(
            (
                item_id,
                seeded.client_id,
                service_id,
                terms_id,
                queue_id,
                f"Request {item_id}",
                "",
                PRIORITIES[priority],
                "resolved",
                "{}",
                "",
                None,
                "{}",
                "[]",
                "",
                CHANNELS[channel],
                agent,
                assigned,
                created,
                last_resolved,
                last_resolved,
                resolved,
                reopened,
            )
        )
        # The session ends at or a little before the resolution, never before the month.
        ended = max(resolved - gap, month.start)
        rows[SESSIONS.name].append((seeded.client_id, item_id, agent, ended - length, ended, ended))
        met = delay <= target_seconds
        rows[CLOCKS.name].append(
            (
                seeded.client_id,
                item_id,
                target_id,
                "resolution",
                1,
                target_seconds,
                created,
                None,
                delay,
                created + target_seconds * 3 // 4,
                created + target_seconds,
                resolved,
                met,
                created + target_seconds * 3 // 4 if delay >= target_seconds * 3 // 4 else None,
                None if met else created + target_seconds,
            )
        )
    yield rows


def presence_spans(seeded: Seeded, month: Month) -> list[PresenceSpan]:
    """Each agent's day on each working day: available, away for lunch, busy, available."""
    rng = random.Random(f"{SEED}-presence")  # noqa: S311 (reproducible, not secrets)
    spans = []
    for day in month.working_days():
        for agent in seeded.agent_ids:
            start = month.epoch(day, 8) + int(rng.random() * 1800)
            lunch = month.epoch(day, 12) + int(rng.random() * 1800)
            back = lunch + 45 * 60
            busy_until = back + 2 * 3600
            leave = month.epoch(day, 17) + int(rng.random() * 1800)
            for presence, begins, ends in (
                ("available", start, lunch),
                ("away", lunch, back),
                ("busy", back, busy_until),
                ("available", busy_until, leave),
            ):
                spans.append(
                    PresenceSpan(
                        user_id=agent,
                        presence=presence,
                        started_at=datetime.fromtimestamp(begins, UTC),
                        ended_at=datetime.fromtimestamp(ends, UTC),
                    )
                )
    return spans


def load(seeded: Seeded, month: Month, count: int) -> None:
    """Insert the month's items, sessions, clocks and presence (rollup triggers off), then
    analyse the tables."""
    began = time.perf_counter()
    first_id = _next_id(ITEMS.name)
    done = 0
    with rollup_triggers_off():
        for rows in work_batches(seeded, month, count, first_id):
            with transaction.atomic():
                for table in (ITEMS, SESSIONS, CLOCKS):
                    write_rows(table, rows[table.name])
            done += len(rows[ITEMS.name])
            progress(
                f"loaded {done:,}/{count:,} items with their sessions and SLA clocks "
                f"({time.perf_counter() - began:.0f} s)"
            )
    spans = presence_spans(seeded, month)
    PresenceSpan.objects.bulk_create(spans, batch_size=5000)
    progress(f"{len(spans):,} presence spans of {len(seeded.agent_ids)} agents")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{ITEMS.name}', 'id'), "
                f"(SELECT MAX(id) FROM {ITEMS.name}))"
            )
            tables = (
                ", ".join(t.name for t in (ITEMS, SESSIONS, CLOCKS)) + ", workforce_presencespan"
            )
            cursor.execute(f"VACUUM (ANALYZE) {tables}")
        else:
            cursor.execute("ANALYZE")
    progress(f"the month's work loaded and analysed ({time.perf_counter() - began:.0f} s)")


# --- the bare aggregate -----------------------------------------------------------------------

UsageKey = tuple[int, date, str, str, str]  # service, day, meter, channel, priority


def _instant(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def bare_aggregate(
    client_id: int, agent_ids: list[int], start: datetime, end: datetime, zone: ZoneInfo
) -> tuple[dict[UsageKey, Decimal], dict[date, Decimal]]:
    """The usage per service, day, meter, channel and priority, and the logged-in minutes per
    day, in plain SQL over the raw tables."""
    if connection.vendor == "postgresql":
        seconds = "EXTRACT(EPOCH FROM s.ended_at - s.started_at)"
        span_seconds = "EXTRACT(EPOCH FROM p.ended_at - p.started_at)"
    else:
        seconds = (
            "(CAST(strftime('%%s', s.ended_at) AS INTEGER) "
            "- CAST(strftime('%%s', s.started_at) AS INTEGER))"
        )
        span_seconds = seconds.replace("s.", "p.")
    bounds = [client_id, _instant(start), _instant(end)]
    usage: dict[UsageKey, Decimal] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT i.service_id, {_day_sql("i.first_resolved_at", zone, start, end)},
                   i.channel, i.priority, COUNT(*)
            FROM work_workitem i
            WHERE i.client_id = %s AND i.first_resolved_at >= %s AND i.first_resolved_at < %s
            GROUP BY 1, 2, 3, 4
            """,
            bounds,
        )
        for service_id, day, channel, priority, count in cursor.fetchall():
            usage[service_id, _date(day), Meter.RESOLVED_ITEMS, channel, priority] = Decimal(count)
        cursor.execute(
            f"""
            SELECT i.service_id, {_day_sql("s.ended_at", zone, start, end)},
                   i.channel, i.priority, SUM({seconds})
            FROM work_worksession s JOIN work_workitem i ON i.id = s.item_id
            WHERE s.client_id = %s AND s.ended_at >= %s AND s.ended_at < %s
            GROUP BY 1, 2, 3, 4
            """,
            bounds,
        )
        for service_id, day, channel, priority, handled in cursor.fetchall():
            minutes = (Decimal(handled) / 60).quantize(QUANTUM)
            if minutes:
                usage[service_id, _date(day), Meter.HANDLED_MINUTES, channel, priority] = minutes
        marks = ", ".join("%s" for _ in agent_ids)
        cursor.execute(
            f"""
            SELECT {_day_sql("p.started_at", zone, start, end)}, SUM({span_seconds})
            FROM workforce_presencespan p
            WHERE p.user_id IN ({marks}) AND p.presence IN ('available', 'busy')
              AND p.started_at >= %s AND p.started_at < %s
            GROUP BY 1
            """,
            [*agent_ids, _instant(start), _instant(end)],
        )
        logged_in = {_date(day): Decimal(total) / 60 for day, total in cursor.fetchall()}
    return usage, logged_in


def _date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def compare(
    invoice: Invoice, bare: dict[UsageKey, Decimal], logged_in: dict[date, Decimal], services: int
) -> tuple[int, int]:
    """How many usage keys of the draft differ from the bare aggregate's, of how many."""
    claimed: dict[UsageKey, Decimal] = defaultdict(Decimal)
    production: dict[date, Decimal] = defaultdict(Decimal)
    rows = (
        Usage.objects.filter(client_id=invoice.client_id, invoice=invoice)
        .values_list("service_id", "day", "meter", "channel", "priority", "item_type", "quantity")
        .order_by()
    )
    for service_id, day, meter, channel, priority, item_type, quantity in rows:
        if meter == Meter.PRODUCTION_MINUTES:
            production[day] += quantity
        elif not item_type:
            claimed[service_id, day, meter, channel, priority] += quantity
    differing: list[tuple[object, Decimal | None, Decimal | None]] = [
        (key, claimed.get(key), bare.get(key))
        for key in claimed.keys() | bare.keys()
        if claimed.get(key, Decimal(0)) != bare.get(key, Decimal(0))
    ]
    # Each service's share of a day is rounded to the ledger's quantum: the sum may be off by
    # that much per service.
    tolerance = QUANTUM * services
    differing += [
        ((day, "production_minutes"), production.get(day), logged_in.get(day))
        for day in production.keys() | logged_in.keys()
        if abs(production.get(day, Decimal(0)) - logged_in.get(day, Decimal(0))) > tolerance
    ]
    for key, drafted, computed in sorted(differing, key=str)[:10]:
        progress(f"MISMATCH {key}: draft {drafted}, bare SQL {computed}")
    compared = len(claimed.keys() | bare.keys()) + len(production.keys() | logged_in.keys())
    return len(differing), compared


# --- measuring --------------------------------------------------------------------------------


def last_month(zone: ZoneInfo) -> date:
    """The month before this one in ``zone``: the month a draft bills now."""
    today = timezone.now().astimezone(zone).date()
    return month_first(today) - relativedelta(months=1)


def remove_drafts(client_id: int) -> None:
    """No invoice and no metered usage: the next draft is a fresh one (untimed)."""
    with transaction.atomic():
        Usage.objects.filter(client_id=client_id).delete()
        Invoice.objects.filter(client_id=client_id).delete()


def timed_draft(actor: Actor, contract: Contract, month: date) -> tuple[float, Invoice]:
    """Seconds to compute the month's draft through the app's action."""
    began = time.perf_counter()
    invoice = billing.invoice_draft(actor=actor, contract=contract, month=month)
    return time.perf_counter() - began, invoice


def run(options: Options) -> list[Figure]:
    """The draft's first computation and its recompute beside the bare aggregate, checked."""
    count = QUICK_ITEMS if options.quick else FULL_ITEMS
    agents = QUICK_AGENTS if options.quick else FULL_AGENTS
    zone = ZoneInfo(ZONE)
    month = Month(last_month(zone), zone)
    progress(f"seeding the client, its contract and {agents} agents")
    seeded = seed(agents)
    progress(f"loading {count:,} items first resolved in {month.first:%Y-%m}")
    load(seeded, month, count)
    progress("building the portal's rollups (a periodic job keeps them fresh): untimed")
    began = time.perf_counter()
    rollups_refresh_all()
    progress(f"rollups built in {time.perf_counter() - began:.1f} s")

    # The draft meters the month and the one before: the bare aggregate covers the same days.
    start = datetime.combine(month.first - relativedelta(months=1), datetime.min.time(), zone)
    end = datetime.fromtimestamp(month.end, UTC)
    samples: dict[str, list[float]] = {"first": [], "recompute": [], "bare": []}
    mismatches, compared = [], []
    admin = actor_for(User.objects.get(pk=seeded.admin_id))
    for number in range(1, options.runs + 1):
        with request_context(request_id=f"bench-invoice-{number}"), acting_as(admin) as actor:
            contract = Contract.objects.get(pk=seeded.contract_id)
            remove_drafts(seeded.client_id)
            began = time.perf_counter()
            bare, logged_in = bare_aggregate(
                seeded.client_id, seeded.agent_ids, start.astimezone(UTC), end, zone
            )
            bare_seconds = time.perf_counter() - began
            first, invoice = timed_draft(actor, contract, month.first)
            wrong, keys = compare(invoice, bare, logged_in, len(seeded.services))
            mismatches.append(wrong)
            compared.append(keys)
            again, invoice = timed_draft(actor, contract, month.first)
            wrong, keys = compare(invoice, bare, logged_in, len(seeded.services))
            mismatches.append(wrong)
            compared.append(keys)
            if number % 2 == 0:  # the bare aggregate after the drafts, every other run
                began = time.perf_counter()
                bare_aggregate(seeded.client_id, seeded.agent_ids, start.astimezone(UTC), end, zone)
                bare_seconds = time.perf_counter() - began
            samples["first"].append(first)
            samples["recompute"].append(again)
            samples["bare"].append(bare_seconds)
            progress(
                f"run {number}/{options.runs}: draft {first:.2f} s, recomputed {again:.2f} s, "
                f"bare SQL {bare_seconds:.2f} s; {wrong} of {keys:,} usage keys differ"
            )
            if number == 1:
                for line in invoice.lines.all():
                    progress(
                        f"  {line.get_kind_display()}: {line.description}: {line.quantity} "
                        f"{line.unit} x {line.unit_price} = {line.amount}"
                    )
                progress(
                    f"  net {invoice.net} {invoice.currency}, {invoice.tax_label} "
                    f"{invoice.tax}, total {invoice.total}"
                )

    scale = (
        f"{count:,} items first resolved in {month.first:%Y-%m} ({ZONE}), each with a work "
        f"session by one of {agents} agents and an SLA clock; presence spans of the agents on "
        f"{len(month.working_days())} working days; 2 services, 10 charges, credit terms "
        "(portal rollups built before timing, as the periodic job keeps them)"
    )
    baseline = median(samples["bare"])
    return [
        Figure(
            "draft_first_seconds",
            median(samples["first"]),
            "s",
            "bare_sql_seconds",
            baseline,
            options.runs,
            scale,
        ),
        Figure(
            "draft_recompute_seconds",
            median(samples["recompute"]),
            "s",
            "bare_sql_seconds",
            baseline,
            options.runs,
            f"{scale}; nothing changed since the first computation",
        ),
        Figure(
            "mismatches",
            float(sum(mismatches)),
            "keys",
            "keys_compared",
            float(sum(compared)),
            options.runs,
            f"{scale}; the draft's usage per service, day, meter, channel and priority against "
            "the bare aggregate's, after each computation",
        ),
    ]
