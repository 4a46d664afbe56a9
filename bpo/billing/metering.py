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
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from bpo.billing.models import Meter, Usage
from bpo.contracts.models import Charge, Service
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.models import WorkItem, WorkSession
from bpo.workforce.models import LOGGED_IN, Certification, PresenceSpan

QUANTUM = Decimal("0.0001")  # usage quantities are kept to a ten-thousandth
SECONDS_PER_MINUTE = Decimal(60)

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


def usage_meter(*, service: Service, window: Window, now: datetime | None = None) -> int:
    """Bring the ledger of ``service`` for the window's days up to what the operations data
    says, by appending the differences (idempotent). Returns how many rows were appended."""
    now = now or timezone.now()
    with transaction.atomic():
        # Meterings of one service take turns, so two never append the same difference.
        Service.objects.select_for_update().filter(pk=service.pk).first()
        actual = measured(service, window, now)
        recorded: dict[Key, Decimal] = defaultdict(Decimal)
        rows = (
            Usage.objects.filter(
                client_id=service.client_id,
                service_id=service.pk,
                day__gte=window.first,
                day__lte=window.last,
            )
            .values_list("day", "meter", "channel", "priority", "item_type")
            .annotate(total=Sum("quantity"))
        )
        for day, meter, channel, priority, item_type, total in rows:
            recorded[day, meter, channel, priority, item_type] += total
        deltas = [
            Usage(
                client_id=service.client_id,
                service_id=service.pk,
                day=key[0],
                meter=key[1],
                channel=key[2],
                priority=key[3],
                item_type=key[4],
                quantity=actual.get(key, Decimal(0)) - recorded.get(key, Decimal(0)),
                metered_at=now,
            )
            for key in sorted(set(actual) | set(recorded))
            if actual.get(key, Decimal(0)) != recorded.get(key, Decimal(0))
        ]
        Usage.objects.bulk_create(deltas, batch_size=2000)
    return len(deltas)


def measured(service: Service, window: Window, now: datetime) -> dict[Key, Decimal]:
    """What the operations data says the service consumed on each day of the window."""
    actual: dict[Key, Decimal] = {}
    item_types = priced_item_types(service)
    items = resolved_items(service, window)
    for item_type in ("", *item_types):
        chosen = items.filter(_tagged(item_type, "")) if item_type else items
        counted = (
            chosen.annotate(day=TruncDate("first_resolved_at", tzinfo=window.zone))
            .values_list("day", "channel", "priority")
            .annotate(count=Count("id"))
        )
        for day, channel, priority, count in counted:
            actual[day, Meter.RESOLVED_ITEMS, channel, priority, item_type] = Decimal(count)
    sessions = handled_sessions(service, window)
    for item_type in ("", *item_types):
        worked = sessions.filter(_tagged(item_type, "item__")) if item_type else sessions
        summed = (
            worked.annotate(day=TruncDate("ended_at", tzinfo=window.zone))
            .values_list("day", "item__channel", "item__priority")
            .annotate(handled=Sum(_duration()))
        )
        for day, channel, priority, handled in summed:
            minutes = _minutes(handled)
            if minutes:
                actual[day, Meter.HANDLED_MINUTES, channel, priority, item_type] = minutes
    for day, minutes in production_minutes(service, window, now).items():
        if minutes:
            actual[day, Meter.PRODUCTION_MINUTES, "", "", ""] = minutes
    return actual


def priced_item_types(service: Service) -> list[str]:
    """The item types any rate card of the service prices separately."""
    return sorted(
        set(
            Charge.objects.filter(client_id=service.client_id, rate_card__service=service)
            .exclude(item_type="")
            .values_list("item_type", flat=True)
        )
    )


def _tagged(item_type: str, prefix: str) -> Q:
    # Tags are a JSON list of strings: the quoted tag matches exactly one element.
    return Q(**{f"{prefix}tags__icontains": f'"{item_type}"'})


def _duration() -> ExpressionWrapper:
    return ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())


def _minutes(handled: timedelta | None) -> Decimal:
    if not handled:
        return Decimal(0)
    seconds = Decimal(handled.days * 86400 + handled.seconds) + Decimal(
        handled.microseconds
    ) / Decimal(1_000_000)
    return (seconds / SECONDS_PER_MINUTE).quantize(QUANTUM)


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


def production_minutes(service: Service, window: Window, now: datetime) -> dict[date, Decimal]:
    """Per day, the logged-in minutes of the agents who serve ``service``, each agent's day
    split between the services they served (see the module)."""
    agents = set(
        Certification.objects.filter(client_id=service.client_id, service=service).values_list(
            "user_id", flat=True
        )
    ) | set(handled_sessions(service, window).values_list("agent_id", flat=True).distinct())
    if not agents:
        return {}
    handled, certified = _agents_work(agents, window)
    minutes: dict[date, Decimal] = defaultdict(Decimal)
    for agent, day, logged_in in logged_in_minutes(agents, window, now):
        worked = handled.get((agent, day), {})
        total = sum(worked.values(), Decimal(0))
        if total:
            share = worked.get(service.pk, Decimal(0)) / total
        else:
            services = certified.get(agent, set())
            share = Decimal(1) / len(services) if service.pk in services else Decimal(0)
        minutes[day] += logged_in * share
    return {day: value.quantize(QUANTUM) for day, value in minutes.items()}


def _agents_work(
    agents: Iterable[int], window: Window
) -> tuple[dict[tuple[int, date], dict[int, Decimal]], dict[int, set[int]]]:
    """Per agent and day, their handled minutes per service, and per agent the services they
    are certified for, at every client: splitting an agent's time between clients needs to
    know how much of it each had (numbers only; nothing of the other clients is shown)."""
    handled: dict[tuple[int, date], dict[int, Decimal]] = defaultdict(dict)
    certified: dict[int, set[int]] = defaultdict(set)
    with all_clients_unscoped("an agent's time is split between every client they served"):
        rows = (
            WorkSession.objects.filter(
                agent_id__in=agents, ended_at__gte=window.start, ended_at__lt=window.end
            )
            .annotate(day=TruncDate("ended_at", tzinfo=window.zone))
            .values_list("agent_id", "day", "item__service_id")
            .annotate(handled=Sum(_duration()))
        )
        for agent, day, service_id, seconds in rows:
            handled[agent, day][service_id] = _minutes(seconds)
        for agent, service_id in Certification.objects.filter(user_id__in=agents).values_list(
            "user_id", "service_id"
        ):
            certified[agent].add(service_id)
    return handled, certified


def logged_in_minutes(
    agents: Iterable[int], window: Window, now: datetime
) -> list[tuple[int, date, Decimal]]:
    """Each agent's logged-in minutes on each day of the window (a span still open counts up
    to ``now``)."""
    spans = PresenceSpan.objects.filter(
        user_id__in=agents, presence__in=LOGGED_IN, started_at__lt=window.end
    ).filter(Q(ended_at__isnull=True) | Q(ended_at__gt=window.start))
    per_day: dict[tuple[int, date], Decimal] = defaultdict(Decimal)
    bounds = [
        (day, datetime.combine(day, time(), window.zone).astimezone(UTC)) for day in window.days()
    ]
    bounds.append((window.last + timedelta(days=1), window.end))
    for agent, started, ended in spans.values_list("user_id", "started_at", "ended_at"):
        ended = min(ended or now, now)
        for (day, day_start), (_, day_end) in itertools.pairwise(bounds):
            overlap = (min(ended, day_end) - max(started, day_start)).total_seconds()
            if overlap > 0:
                per_day[agent, day] += Decimal(str(overlap)) / SECONDS_PER_MINUTE
    return [(agent, day, minutes) for (agent, day), minutes in sorted(per_day.items())]
