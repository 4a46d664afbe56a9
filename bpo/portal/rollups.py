"""Keeping the rollups exact: the days that marks point at are computed again from the items.

:func:`rollups_refresh` runs before a dashboard or report of a client is read (three
queries when nothing changed, for one client or many) and every minute as a periodic job. A
service whose rollups were never built, or were built in another time zone than its calendar's
now, is built again from its first item. Refreshes of one client take turns (an advisory lock
on PostgreSQL; SQLite's IMMEDIATE transactions already do).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from bpo.contracts.models import ContractVersion, ServiceTerms, VersionStatus
from bpo.portal.metrics import Figures, compute_days, runs_of
from bpo.portal.models import RollupMark, ServiceDay, ServiceDaySla, ServiceRollup, Survey
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import all_clients_unscoped, client_scope
from bpo.work.models import SlaClock, WorkItem

MARKS_PER_PASS = 20_000
_PG_ROLLUP_LOCK = 0x726F6C6C  # "roll": the advisory lock namespace of rollup refreshes


def service_zones(client_id: int) -> dict[int, str]:
    """Each service of the client and its calendar's zone (see :func:`zones_of`)."""
    return zones_of([client_id]).get(client_id, {})


def zones_of(client_ids: Iterable[int]) -> dict[int, dict[int, str]]:
    """Per client, each service and its calendar's zone: that of its terms in the active
    version, or (before any is active, or after the contract ended) in its latest version."""
    rows = (
        ServiceTerms.objects.filter(client_id__in=client_ids)
        .order_by("service_id", "version__number")
        .values_list("client_id", "service_id", "version__status", "calendar__time_zone")
    )
    zones: defaultdict[int, dict[int, str]] = defaultdict(dict)
    active: set[int] = set()
    for client_id, service_id, status, zone in rows:
        if service_id in active:
            continue
        zones[client_id][service_id] = zone
        if status == VersionStatus.ACTIVE:
            active.add(service_id)
    return zones


def _built_zones(client_ids: Iterable[int]) -> dict[int, dict[int, str]]:
    """Per client, the zone each service's rollups were computed in."""
    built: defaultdict[int, dict[int, str]] = defaultdict(dict)
    rows = ServiceRollup.objects.filter(client_id__in=client_ids).values_list(
        "client_id", "service_id", "time_zone"
    )
    for client_id, service_id, zone in rows:
        built[client_id][service_id] = zone
    return built


def stale_clients(client_ids: Iterable[int]) -> set[int]:
    """Those of the clients whose rollups need computing: three queries however many."""
    ids = set(client_ids)
    marked = set(
        RollupMark.objects.filter(client_id__in=ids).values_list("client_id", flat=True).distinct()
    )
    zones, built = zones_of(ids), _built_zones(ids)
    return {c for c in ids if c in marked or built.get(c, {}) != zones.get(c, {})}


def rollups_refresh(*, client_id: int) -> int:
    """Bring the client's rollups up to date; returns the number of service days computed."""
    return rollups_refresh_many([client_id])


def rollups_refresh_many(client_ids: Iterable[int]) -> int:
    """Bring the rollups of the clients (all in the active scope) up to date."""
    computed = 0
    for client_id in sorted(stale_clients(client_ids)):
        while True:  # passes of MARKS_PER_PASS marks, each its own short transaction
            with transaction.atomic():
                _lock(client_id)
                days, marks = _one_pass(client_id)
            computed += days
            if marks < MARKS_PER_PASS:
                break
    return computed


def _lock(client_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_PG_ROLLUP_LOCK, client_id % 2**31]
            )


def _one_pass(client_id: int) -> tuple[int, int]:
    """Rebuild what needs it, then compute the days of one batch of marks: (days, marks)."""
    computed = 0
    zones = service_zones(client_id)
    built = _built_zones([client_id]).get(client_id, {})
    for service_id, zone in zones.items():
        if built.get(service_id) != zone:
            computed += _rebuild(client_id, service_id, ZoneInfo(zone))
    marks = list(
        RollupMark.objects.filter(client_id=client_id)
        .order_by("id")
        .values_list("id", "service_id", "at", "repeat")[:MARKS_PER_PASS]
    )
    days: defaultdict[int, set[date]] = defaultdict(set)
    windows = _repeat_windows(client_id)
    for _, service_id, at, repeat in marks:
        if service_id not in zones:
            continue
        day = at.astimezone(ZoneInfo(zones[service_id])).date()
        days[service_id].add(day)
        if repeat:  # earlier resolutions of this contact may now be repeats
            window = windows.get(service_id, 0)
            days[service_id].update(day - timedelta(days=n) for n in range(1, window + 1))
    for service_id, wanted in days.items():
        runs = runs_of(wanted)
        _store(
            client_id,
            service_id,
            runs,
            compute_days(client_id, service_id, ZoneInfo(zones[service_id]), runs),
        )
        computed += len(wanted)
    ids = [mark[0] for mark in marks]
    for offset in range(0, len(ids), 1000):
        RollupMark.objects.filter(id__in=ids[offset : offset + 1000]).delete()
    return computed, len(ids)


def _repeat_windows(client_id: int) -> dict[int, int]:
    """The widest repeat-contact window (days) of each service's contract versions."""
    rows = ContractVersion.objects.filter(client_id=client_id).values_list(
        "terms__service_id", "fcr_window_days"
    )
    widest: dict[int, int] = {}
    for service_id, window in rows:
        if service_id is not None:
            widest[service_id] = max(widest.get(service_id, 0), window)
    return widest


def _rebuild(client_id: int, service_id: int, zone: ZoneInfo) -> int:
    """Compute every day of the service from its first item to today, in ``zone``."""
    # Marks first: a change committed after this statement keeps its mark for the next pass,
    # and one committed before it is seen by the reads below.
    RollupMark.objects.filter(client_id=client_id, service_id=service_id).delete()
    of = {"client_id": client_id, "service_id": service_id}
    instants = [
        *WorkItem.objects.filter(**of)
        .aggregate(Min("created_at"), Max("updated_at"), Min("resolved_at"), Max("resolved_at"))
        .values(),
        *SlaClock.objects.filter(client_id=client_id, item__service_id=service_id)
        .aggregate(Min("stopped_at"), Min("breached_at"), Max("stopped_at"), Max("breached_at"))
        .values(),
        *Survey.objects.filter(**of).aggregate(Min("answered_at"), Max("answered_at")).values(),
    ]
    known = [t for t in instants if t is not None]
    runs: list[tuple[date, date]] = []
    if known:
        last = max([*known, timezone.now()]).astimezone(zone).date()
        runs = [(min(known).astimezone(zone).date(), last)]
    ServiceDay.objects.filter(client_id=client_id, service_id=service_id).delete()
    ServiceDaySla.objects.filter(client_id=client_id, service_id=service_id).delete()
    _store(client_id, service_id, [], compute_days(client_id, service_id, zone, runs))
    ServiceRollup.objects.update_or_create(
        client_id=client_id,
        service_id=service_id,
        defaults={"time_zone": str(zone), "built_at": timezone.now()},
    )
    return sum((last - first).days + 1 for first, last in runs)


def _store(
    client_id: int, service_id: int, runs: list[tuple[date, date]], figures: Figures
) -> None:
    """Replace the rollup rows of the days in ``runs`` with ``figures``."""
    for first, last in runs:
        ServiceDay.objects.filter(
            client_id=client_id, service_id=service_id, day__gte=first, day__lte=last
        ).delete()
        ServiceDaySla.objects.filter(
            client_id=client_id, service_id=service_id, day__gte=first, day__lte=last
        ).delete()
    ServiceDay.objects.bulk_create(
        (
            ServiceDay(
                client_id=client_id, service_id=service_id, day=day, channel=channel, **counters
            )
            for (day, channel), counters in figures.days.items()
            if any(counters.values())
        ),
        batch_size=2000,
    )
    ServiceDaySla.objects.bulk_create(
        (
            ServiceDaySla(
                client_id=client_id,
                service_id=service_id,
                day=day,
                metric=metric,
                priority=priority,
                met=counters["met"],
                missed=counters["missed"],
            )
            for (day, metric, priority), counters in figures.sla.items()
            if counters["met"] or counters["missed"]
        ),
        batch_size=2000,
    )


def rollups_refresh_all() -> int:
    """Bring every active client's rollups up to date, each inside its own scope (periodic)."""
    with all_clients_unscoped("the rollup refresh finds the active clients with changes"):
        active = Client.objects.filter(is_active=True).values_list("pk", flat=True)
        stale = stale_clients(list(active))
    computed = 0
    for client_id in sorted(stale):
        with client_scope([client_id]):
            computed += rollups_refresh(client_id=client_id)
    return computed
