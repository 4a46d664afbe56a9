"""Metering: what each service consumed per day, read from the operations data and appended to
the usage ledger as differences (see :mod:`bpo.billing.models`).

- Resolved items: each item once, on the day it was first resolved (reopening and resolving it
  again is not billed twice).
- Handled minutes: agents' finished work sessions on the service's items, on the day each ended.
- Production minutes: the time agents were logged in (available or busy, idle included). An
  agent who works for several services has each day's logged-in time split between them by the
  share of their handled time each had that day; on a day they handled nothing, equally among
  the services they are certified for.

Days are those of the service's business calendar. Every quantity is also counted per channel,
priority and (for the item types the service's rate cards price) item type.

The database groups the rows by day itself, in plain arithmetic: an instant's calendar day is
(its seconds since 1970 in UTC + the zone's UTC offset at that instant) div 86,400, the offset
written into the query as a CASE over the window's clock changes (see :func:`local_day`), and
handled time is summed as whole microseconds. Django's ``TruncDate`` with a zone and its
difference of two instants would call back into Python for every row on SQLite, seconds for a
million sessions; this way both databases do it natively, with the same results. And the
services an invoice bills are metered together (:func:`usage_meter_all`): the client's sessions
of the window are read once, for every service's handled time and the agents' split alike.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Expression,
    ExpressionWrapper,
    Func,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from bpo.billing.models import Meter, Usage
from bpo.contracts.models import Charge, Service
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.models import WorkItem, WorkSession
from bpo.workforce.models import LOGGED_IN, Certification, PresenceSpan

QUANTUM = Decimal("0.0001")  # usage quantities are kept to a ten-thousandth
SECONDS_PER_MINUTE = Decimal(60)
MICROSECONDS_PER_MINUTE = Decimal(60_000_000)
SECONDS_PER_DAY = 86_400
UNIX_EPOCH = date(1970, 1, 1)

# A usage key: day, meter, channel, priority, item type.
Key = tuple[date, str, str, str, str]


@dataclass(frozen=True)
class Window:
    """Days ``first`` to ``last`` of a calendar, as the UTC instants they run between."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone).astimezone(UTC)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def day_starts(self) -> list[datetime]:
        """The UTC instant each day of the window begins at, and last the window's end."""
        starts = [datetime.combine(day, time(), self.zone).astimezone(UTC) for day in self.days()]
        return [*starts, self.end]

    def offsets(self) -> list[tuple[datetime, int]]:
        """The zone's UTC offsets (seconds) during the window, each with the instant it is in
        force until (the last one: the window's end). Clocks change at most once a day; the
        instant of a change is found to the second (tz rules change on whole seconds)."""

        def offset_at(epoch: int) -> int:
            delta = datetime.fromtimestamp(epoch, self.zone).utcoffset()
            return int(delta.total_seconds()) if delta else 0

        epochs = [int(instant.timestamp()) for instant in self.day_starts()]
        found = []
        for lo, hi in itertools.pairwise(epochs):
            before, after = offset_at(lo), offset_at(hi)
            if before == after:
                continue
            while hi - lo > 1:  # the change is after lo and at or before hi
                middle = (lo + hi) // 2
                lo, hi = (middle, hi) if offset_at(middle) == before else (lo, middle)
            found.append((datetime.fromtimestamp(hi, UTC), before))
        found.append((self.end, offset_at(epochs[-1])))
        return found


class EpochSeconds(Func):
    """Whole seconds from 1970-01-01 UTC to an instant (rounded down), computed natively."""

    output_field = BigIntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"FLOOR(EXTRACT(EPOCH FROM {sql}))::bigint", params

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        # Django keeps instants on SQLite as UTC text, 'YYYY-MM-DD HH:MM:SS[.ffffff]'. The
        # fraction is cut off first: SQLite rounds it to milliseconds, which would carry
        # 23:59:59.9996 into the next day.
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(strftime(%s, substr({sql}, 1, 19)) AS INTEGER)", ("%s", *params)


class EpochMicroseconds(Func):
    """Microseconds from 1970-01-01 UTC to an instant, exactly, computed natively."""

    output_field = BigIntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(EXTRACT(EPOCH FROM {sql}) * 1000000)::bigint", params

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        # Whole seconds as EpochSeconds, plus the text's fraction: six digits from the 21st
        # character when there is one (CAST of the empty string is 0).
        sql, params = compiler.compile(self.source_expressions[0])
        seconds = f"CAST(strftime(%s, substr({sql}, 1, 19)) AS INTEGER)"
        fraction = f"CAST(substr({sql}, 21) AS INTEGER)"
        return f"({seconds} * 1000000 + {fraction})", ("%s", *params, *params)


def local_day(column: str, window: Window) -> ExpressionWrapper:
    """The calendar day of the instant in ``column``, as days since 1970-01-01, computed by the
    database: (UTC seconds + the zone's offset then) div 86,400. For instants in the window."""
    offsets = window.offsets()
    offset: Expression = Value(offsets[-1][1])
    if len(offsets) > 1:
        offset = Case(
            *(
                When(**{f"{column}__lt": until}, then=Value(seconds))
                for until, seconds in offsets[:-1]
            ),
            default=offset,
        )
    return ExpressionWrapper(
        (EpochSeconds(column) + offset) / Value(SECONDS_PER_DAY), output_field=BigIntegerField()
    )


def day_numbered(number: int) -> date:
    """The date of a day number of :func:`local_day`."""
    return UNIX_EPOCH + timedelta(days=number)


def usage_meter(*, service: Service, window: Window, now: datetime | None = None) -> int:
    """Bring the ledger of ``service`` for the window's days up to what the operations data
    says, by appending the differences (idempotent). Returns how many rows were appended."""
    return usage_meter_all(services=[service], window=window, now=now)


def usage_meter_all(
    *, services: Sequence[Service], window: Window, now: datetime | None = None
) -> int:
    """:func:`usage_meter` for several services of one client whose calendars share the
    window's zone, reading the operations data once for all of them (an invoice meters every
    service of its contract): as metering each in turn, in one transaction."""
    now = now or timezone.now()
    ids = sorted({service.pk for service in services})
    if not ids:
        return 0
    client_id = services[0].client_id
    with transaction.atomic():
        # Meterings of one service take turns, so two never append the same difference.
        list(Service.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        actual = measured(client_id, ids, window, now)
        recorded: dict[tuple[int, Key], Decimal] = defaultdict(Decimal)
        rows = (
            Usage.objects.filter(
                client_id=client_id,
                service_id__in=ids,
                day__gte=window.first,
                day__lte=window.last,
            )
            .values_list("service_id", "day", "meter", "channel", "priority", "item_type")
            .annotate(total=Sum("quantity"))
        )
        for service_id, day, meter, channel, priority, item_type, total in rows:
            recorded[service_id, (day, meter, channel, priority, item_type)] += total
        deltas = [
            Usage(
                client_id=client_id,
                service_id=service_id,
                day=key[0],
                meter=key[1],
                channel=key[2],
                priority=key[3],
                item_type=key[4],
                quantity=actual.get((service_id, key), Decimal(0))
                - recorded.get((service_id, key), Decimal(0)),
                metered_at=now,
            )
            for service_id, key in sorted(set(actual) | set(recorded))
            if actual.get((service_id, key), Decimal(0))
            != recorded.get((service_id, key), Decimal(0))
        ]
        Usage.objects.bulk_create(deltas, batch_size=2000)
    return len(deltas)


def measured(
    client_id: int, service_ids: list[int], window: Window, now: datetime
) -> dict[tuple[int, Key], Decimal]:
    """What the operations data says each of the client's services consumed on each day of
    the window, by (service, key)."""
    actual: dict[tuple[int, Key], Decimal] = {}
    item_types = priced_item_types(client_id, service_ids)
    items = WorkItem.objects.filter(
        client_id=client_id,
        service_id__in=service_ids,
        first_resolved_at__gte=window.start,
        first_resolved_at__lt=window.end,
    )
    for item_type, priced_by in item_types.items():
        chosen = (
            items.filter(_tagged(item_type, ""), service_id__in=priced_by) if item_type else items
        )
        counted = (
            chosen.annotate(day=local_day("first_resolved_at", window))
            .values_list("service_id", "day", "channel", "priority")
            .annotate(count=Count("id"))
        )
        for service_id, day, channel, priority, count in counted:
            key = (day_numbered(day), Meter.RESOLVED_ITEMS, channel, priority, item_type)
            actual[service_id, key] = Decimal(count)
    # Handled time: every session of the client that ended in the window, once, by service,
    # agent, day, channel and priority; the agents' part of it feeds production time too.
    work = ClientWork(client_id, window)
    for (service_id, day, channel, priority), microseconds in work.handled.items():
        minutes = _minutes(microseconds)
        if minutes and service_id in service_ids:
            key = (day, Meter.HANDLED_MINUTES, channel, priority, "")
            actual[service_id, key] = minutes
    sessions = WorkSession.objects.filter(
        client_id=client_id,
        ended_at__gte=window.start,
        ended_at__lt=window.end,
        item__service_id__in=service_ids,
    )
    for item_type, priced_by in item_types.items():
        if not item_type:
            continue
        summed = (
            sessions.filter(_tagged(item_type, "item__"), item__service_id__in=priced_by)
            .annotate(day=local_day("ended_at", window))
            .values_list("item__service_id", "day", "item__channel", "item__priority")
            .annotate(handled=Sum(_handled_microseconds()))
        )
        for service_id, day, channel, priority, handled in summed:
            minutes = _minutes(handled)
            if minutes:
                key = (day_numbered(day), Meter.HANDLED_MINUTES, channel, priority, item_type)
                actual[service_id, key] = minutes
    for service_id, per_day in production_minutes(client_id, service_ids, work, now).items():
        for day, minutes in per_day.items():
            if minutes:
                actual[service_id, (day, Meter.PRODUCTION_MINUTES, "", "", "")] = minutes
    return actual


def priced_item_types(client_id: int, service_ids: list[int]) -> dict[str, list[int]]:
    """The item types the services' rate cards price separately, each with the services that
    price it; first the blank type (all items), which every service counts."""
    priced: dict[str, list[int]] = {"": list(service_ids)}
    rows = (
        Charge.objects.filter(client_id=client_id, rate_card__service_id__in=service_ids)
        .exclude(item_type="")
        .values_list("item_type", "rate_card__service_id")
        .distinct()
        .order_by("item_type", "rate_card__service_id")
    )
    for item_type, service_id in rows:
        if service_id not in priced.setdefault(item_type, []):
            priced[item_type].append(service_id)
    return priced


def _tagged(item_type: str, prefix: str) -> Q:
    # Tags are a JSON list of strings: the quoted tag matches exactly one element.
    return Q(**{f"{prefix}tags__icontains": f'"{item_type}"'})


def _handled_microseconds() -> Expression:
    """A finished session's length in microseconds."""
    return EpochMicroseconds("ended_at") - EpochMicroseconds("started_at")


def _minutes(microseconds: int | Decimal | None) -> Decimal:
    if not microseconds:
        return Decimal(0)
    return (Decimal(microseconds) / MICROSECONDS_PER_MINUTE).quantize(QUANTUM)


def resolved_items(service: Service, window: Window) -> QuerySet[WorkItem]:
    """The service's items first resolved during the window: its billable transactions."""
    return WorkItem.objects.filter(
        client_id=service.client_id,
        service_id=service.pk,
        first_resolved_at__gte=window.start,
        first_resolved_at__lt=window.end,
    )


def handled_sessions(service: Service, window: Window) -> QuerySet[WorkSession]:
    """Finished work sessions on the service's items that ended during the window."""
    return WorkSession.objects.filter(
        client_id=service.client_id,
        ended_at__gte=window.start,
        ended_at__lt=window.end,
        item__service_id=service.pk,
    )


class ClientWork:
    """The handled time of a client's sessions that ended in the window (each session read
    once): per service, day, channel and priority; and per agent and day, per service, in
    minutes, for splitting the agents' time, with the agents who worked each service."""

    def __init__(self, client_id: int, window: Window) -> None:
        self.client_id = client_id
        self.window = window
        self.handled: dict[tuple[int, date, str, str], int] = defaultdict(int)
        agents_handled: dict[tuple[int, date, int], int] = defaultdict(int)
        self.agents_of: dict[int, set[int]] = defaultdict(set)
        rows = (
            WorkSession.objects.filter(
                client_id=client_id, ended_at__gte=window.start, ended_at__lt=window.end
            )
            .annotate(day=local_day("ended_at", window))
            .values_list("item__service_id", "agent_id", "day", "item__channel", "item__priority")
            .annotate(handled=Sum(_handled_microseconds()))
        )
        for service_id, agent, number, channel, priority, microseconds in rows:
            day = day_numbered(number)
            self.handled[service_id, day, channel, priority] += microseconds
            agents_handled[agent, day, service_id] += microseconds
            self.agents_of[service_id].add(agent)
        # Minutes of each service, as summed at other clients below.
        self.agents_work: dict[tuple[int, date], dict[int, Decimal]] = defaultdict(dict)
        for (agent, day, service_id), microseconds in agents_handled.items():
            self.agents_work[agent, day][service_id] = _minutes(microseconds)

    def add_other_clients(self, agents: set[int]) -> dict[int, set[int]]:
        """The agents' handled minutes at every other client (splitting an agent's time
        between clients needs to know how much of it each had: numbers only, nothing of the
        other clients is shown); returns the services each agent is certified for, at every
        client."""
        certified: dict[int, set[int]] = defaultdict(set)
        with all_clients_unscoped("an agent's time is split between every client they served"):
            rows = (
                WorkSession.objects.filter(
                    agent_id__in=agents,
                    ended_at__gte=self.window.start,
                    ended_at__lt=self.window.end,
                )
                .exclude(client_id=self.client_id)
                .annotate(day=local_day("ended_at", self.window))
                .values_list("agent_id", "day", "item__service_id")
                .annotate(handled=Sum(_handled_microseconds()))
            )
            for agent, day, service_id, microseconds in rows:
                self.agents_work[agent, day_numbered(day)][service_id] = _minutes(microseconds)
            for agent, service_id in Certification.objects.filter(user_id__in=agents).values_list(
                "user_id", "service_id"
            ):
                certified[agent].add(service_id)
        return certified


def production_minutes(
    client_id: int, service_ids: list[int], work: ClientWork, now: datetime
) -> dict[int, dict[date, Decimal]]:
    """Per service and day, the logged-in minutes of the agents who serve it (certified for
    it, or who handled its items in the window), each agent's day split between the services
    they served (see the module)."""
    agents: dict[int, set[int]] = {service_id: set() for service_id in service_ids}
    for service_id, user_id in Certification.objects.filter(
        client_id=client_id, service_id__in=service_ids
    ).values_list("service_id", "user_id"):
        agents[service_id].add(user_id)
    for service_id in service_ids:
        agents[service_id] |= work.agents_of.get(service_id, set())
    everyone = set().union(*agents.values())
    if not everyone:
        return {}
    certified = work.add_other_clients(everyone)
    logged_in = logged_in_minutes(everyone, work.window, now)
    result = {}
    for service_id in service_ids:
        minutes: dict[date, Decimal] = defaultdict(Decimal)
        for agent, day, logged in logged_in:
            if agent not in agents[service_id]:
                continue
            worked = work.agents_work.get((agent, day), {})
            total = sum(worked.values(), Decimal(0))
            if total:
                share = worked.get(service_id, Decimal(0)) / total
            else:
                services = certified.get(agent, set())
                share = Decimal(1) / len(services) if service_id in services else Decimal(0)
            minutes[day] += logged * share
        if minutes:
            result[service_id] = {day: value.quantize(QUANTUM) for day, value in minutes.items()}
    return result


def logged_in_minutes(
    agents: Iterable[int], window: Window, now: datetime
) -> list[tuple[int, date, Decimal]]:
    """Each agent's logged-in minutes on each day of the window (a span still open counts up
    to ``now``)."""
    spans = PresenceSpan.objects.filter(
        user_id__in=agents, presence__in=LOGGED_IN, started_at__lt=window.end
    ).filter(Q(ended_at__isnull=True) | Q(ended_at__gt=window.start))
    per_day: dict[tuple[int, date], Decimal] = defaultdict(Decimal)
    days, starts = window.days(), window.day_starts()
    for agent, started, ended in spans.values_list("user_id", "started_at", "ended_at"):
        ended = min(ended or now, now)
        # From the day the span began in (or the window's first) to the one it ended in.
        first = max(bisect.bisect_right(starts, started) - 1, 0)
        for n in range(first, len(days)):
            if starts[n] >= ended:
                break
            overlap = (min(ended, starts[n + 1]) - max(started, starts[n])).total_seconds()
            if overlap > 0:
                per_day[agent, days[n]] += Decimal(str(overlap)) / SECONDS_PER_MINUTE
    return [(agent, day, minutes) for (agent, day), minutes in sorted(per_day.items())]
