"""Metering counts each instant on its day of the service's calendar, as the calendar's zone
reads it, across clock changes and in zones whose offsets are not whole hours; and handled time
to the microsecond. The database computes the days (see bpo.billing.metering): these tests hold
its answers against Python's ``astimezone(zone).date()`` and Django's ``TruncDate``."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Sum
from django.db.models.functions import TruncDate

from bpo.billing.metering import (
    QUANTUM,
    EpochMicroseconds,
    Window,
    day_numbered,
    local_day,
    usage_meter,
)
from bpo.billing.models import Meter, Usage
from bpo.calendars import actions as calendars
from bpo.contracts import actions as contracts
from bpo.contracts.models import Service
from bpo.tenancy.context import acting_as
from bpo.work import actions as work
from bpo.work.models import WorkItem, WorkSession
from bpo.workforce import actions as workforce
from bpo.workforce.models import PresenceSpan

# Windows of two months, each with a clock change or an offset that is not whole hours.
WINDOWS = [
    ("Europe/Berlin", date(2026, 9, 1), date(2026, 10, 31)),  # back to UTC+1 on Oct 25
    ("Europe/Berlin", date(2026, 3, 1), date(2026, 4, 30)),  # forward to UTC+2 on Mar 29
    ("America/New_York", date(2026, 10, 1), date(2026, 11, 30)),
    ("Asia/Kathmandu", date(2026, 9, 1), date(2026, 10, 31)),  # UTC+05:45
    ("America/St_Johns", date(2026, 10, 1), date(2026, 11, 30)),  # UTC-02:30, then -03:30
    ("Australia/Lord_Howe", date(2026, 9, 1), date(2026, 10, 31)),  # half-hour DST
    ("Pacific/Chatham", date(2026, 9, 1), date(2026, 10, 31)),  # UTC+12:45, then +13:45
    ("America/Santiago", date(2026, 8, 1), date(2026, 9, 30)),  # a day without midnight
    ("UTC", date(2026, 9, 1), date(2026, 10, 31)),
]


def instants_of(window: Window) -> list[datetime]:
    """Each local midnight and clock change of the window, a microsecond and a second either
    side, and random instants in between."""
    edges = [*window.day_starts()[:-1], *(until for until, _ in window.offsets()[:-1])]
    near = [
        edge + timedelta(microseconds=step)
        for edge in edges
        for step in (-1_000_000, -1, 0, 1, 1_000_000)
        if window.start <= edge + timedelta(microseconds=step) < window.end
    ]
    rng = random.Random(str(window))
    span = int((window.end - window.start).total_seconds() * 1_000_000)
    return near + [window.start + timedelta(microseconds=rng.randrange(span)) for _ in range(200)]


@pytest.mark.parametrize(("zone", "first", "last"), WINDOWS)
def test_the_database_finds_the_calendar_day_of_every_instant(world, zone, first, last):
    window = Window(first, last, ZoneInfo(zone))
    if zone != "UTC":
        assert len(window.offsets()) > 1 or zone == "Asia/Kathmandu"
    agent = world.people["agent"]
    instants = instants_of(window)
    PresenceSpan.objects.bulk_create(
        PresenceSpan(user=agent, presence="available", started_at=at, ended_at=at)
        for at in instants
    )
    rows = PresenceSpan.objects.filter(user=agent).annotate(
        day=local_day("started_at", window),
        truncated=TruncDate("started_at", tzinfo=window.zone),
    )
    found = [(span.started_at, day_numbered(span.day), span.truncated) for span in rows]
    assert len(found) == len(instants)
    wrong = [
        (at, day, truncated)
        for at, day, truncated in found
        if not day == truncated == at.astimezone(window.zone).date()
    ]
    assert wrong == []


def test_a_day_without_midnight_still_starts_the_window():
    # In Santiago the clocks went from 23:59:59 on Sep 5 to 01:00 on Sep 6, 2026.
    window = Window(date(2026, 9, 6), date(2026, 9, 6), ZoneInfo("America/Santiago"))
    assert window.start == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)
    assert window.start.astimezone(window.zone).date() == date(2026, 9, 6)
    assert (window.start - timedelta(microseconds=1)).astimezone(window.zone).date() == date(
        2026, 9, 5
    )


def test_handled_time_is_summed_to_the_microsecond(world):
    agent = world.people["agent"]
    start = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    lengths = [
        timedelta(microseconds=1),
        timedelta(seconds=59, microseconds=999_999),
        timedelta(minutes=7, microseconds=500_000),
        timedelta(hours=2),
        timedelta(days=1, seconds=3),
    ]
    spans = []
    for n, length in enumerate(lengths):
        begins = start + timedelta(hours=n, microseconds=n * 123_457)
        spans.append(
            PresenceSpan(user=agent, presence="busy", started_at=begins, ended_at=begins + length)
        )
    spans.append(PresenceSpan(user=agent, presence="busy", started_at=start, ended_at=start))
    PresenceSpan.objects.bulk_create(spans)
    total = PresenceSpan.objects.filter(user=agent).aggregate(
        total=Sum(EpochMicroseconds("ended_at") - EpochMicroseconds("started_at"))
    )["total"]
    assert total == sum(length // timedelta(microseconds=1) for length in lengths)


def metered_service(world, zone: str) -> Service:
    """An agreed contract with one service on a calendar in ``zone``."""
    with acting_as(world.actor("admin")) as admin:
        calendar = calendars.calendar_create(
            actor=admin,
            client=world.own,
            name="Hours",
            time_zone=zone,
            weekly={d: ["08:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        )
        contract = contracts.contract_create(
            actor=admin,
            client=world.own,
            reference="C-metering",
            title="Support",
            start_date="2026-01-01",
            currency="EUR",
        )
        version = contract.versions.get()
        policy = contracts.sla_policy_save(
            actor=admin,
            version=version,
            name="Standard",
            targets=[{"priority": "normal", "metric": "first_response", "duration_minutes": 60}],
        )
        terms = contracts.service_add(
            actor=admin,
            version=version,
            key="support",
            name="Support",
            process_type="customer_service",
            calendar=calendar,
            sla_policy_id=policy.pk,
        )
        contracts.contract_version_activate(actor=admin, version=version)
        workforce.certification_grant(
            actor=admin, user=world.people["agent"], service=terms.service
        )
    return terms.service


@pytest.mark.parametrize(
    ("zone", "edges"),
    [
        # Berlin's clocks went back at 01:00 UTC on Oct 25, 2026: that day has 25 hours.
        (
            "Europe/Berlin",
            [
                datetime(2026, 10, 24, 22, 0, tzinfo=UTC),  # midnight of Oct 25 (UTC+2)
                datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # the change
                datetime(2026, 10, 25, 23, 0, tzinfo=UTC),  # midnight of Oct 26 (UTC+1)
            ],
        ),
        (
            "Asia/Kathmandu",  # UTC+05:45
            [
                datetime(2026, 10, 14, 18, 15, tzinfo=UTC),  # midnight of Oct 15
                datetime(2026, 10, 15, 18, 15, tzinfo=UTC),  # midnight of Oct 16
            ],
        ),
    ],
)
def test_usage_lands_on_the_days_the_calendar_reads(world, zone, edges):
    service = metered_service(world, zone)
    tz = ZoneInfo(zone)
    agent = world.people["agent"]
    resolved: list[datetime] = []
    sessions: list[tuple[datetime, datetime]] = []
    with acting_as(world.actor("admin")) as admin:
        for n, edge in enumerate(edges):
            for step in (-1_000_000, -1, 0, 1, 1_000_000):
                at = edge + timedelta(microseconds=step)
                item = work.work_item_create(actor=admin, service=service, title=f"Order {n}")
                work.work_item_transition(actor=admin, item=item, state="resolved")
                WorkItem.objects.filter(pk=item.pk).update(first_resolved_at=at, resolved_at=at)
                resolved.append(at)
                began = at - timedelta(minutes=5 + n, microseconds=333_333 + step % 7)
                WorkSession.objects.create(
                    client=world.own,
                    item=item,
                    agent=agent,
                    started_at=began,
                    last_seen_at=at,
                    ended_at=at,
                )
                sessions.append((began, at))
        # Logged in from four hours before the first edge to four hours after the last.
        PresenceSpan.objects.create(
            user=agent,
            presence="available",
            started_at=edges[0] - timedelta(hours=4),
            ended_at=edges[-1] + timedelta(hours=4, microseconds=250_000),
        )
        window = Window(date(2026, 9, 1), date(2026, 10, 31), tz)
        now = datetime(2026, 11, 5, tzinfo=UTC)
        usage_meter(service=service, window=window, now=now)
        usage: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
        for row in Usage.objects.filter(service=service):
            usage[row.day, row.meter] += row.quantity

    def local(at: datetime) -> date:
        return at.astimezone(tz).date()

    expected: dict[tuple[date, str], Decimal] = {}
    for day, count in Counter(local(at) for at in resolved).items():
        expected[day, Meter.RESOLVED_ITEMS] = Decimal(count)
    handled: dict[date, timedelta] = defaultdict(timedelta)
    for began, ended in sessions:
        handled[local(ended)] += ended - began
    for day, length in handled.items():
        minutes = Decimal(length // timedelta(microseconds=1)) / Decimal(60_000_000)
        expected[day, Meter.HANDLED_MINUTES] = minutes.quantize(QUANTUM)
    logged_in: dict[date, Decimal] = defaultdict(Decimal)
    at, until = edges[0] - timedelta(hours=4), edges[-1] + timedelta(hours=4, microseconds=250_000)
    while at < until:  # a microsecond-exact walk, an hour at a time, cut at local midnights
        midnight = datetime.combine(local(at) + timedelta(days=1), datetime.min.time(), tz)
        step = min(until, at + timedelta(hours=1), midnight.astimezone(UTC))
        logged_in[local(at)] += Decimal((step - at) // timedelta(microseconds=1)) / 60_000_000
        at = step
    for day, minutes in logged_in.items():
        expected[day, Meter.PRODUCTION_MINUTES] = minutes.quantize(QUANTUM)
    assert dict(usage) == expected
    assert len({day for day, _ in expected}) == 3  # the instants straddle two local midnights
