"""The figures of a service's days, computed from the items themselves.

This is the one definition of every indicator the portal shows (the contract version's
``metric_definitions`` says the same in words): the rollups hold what :func:`compute_days`
returns, and tests and the dashboard benchmark compare the two. Days are days of the service's
calendar zone; each figure is counted on one day only, so days, weeks and months add up:

- ``created``: items created that day (every item, by channel);
- ``resolved``: items whose (last) resolution fell that day, every item;
- ``handled`` and ``handle_seconds``: of those, the counted ones with work sessions, and the
  sessions' seconds (AHT = handle_seconds / handled);
- ``fcr_counted`` and ``fcr_first``: counted resolved items, and those never reopened and with
  no new item of the same contact for the service within the version's window after it;
- ``surveys``, ``satisfied``, ``rating_sum``: ratings (1–5) answered that day, those at or
  above the version's good rating; ``nps_answers``, ``promoters`` (9–10), ``detractors`` (0–6);
- per SLA target (metric and priority): clocks met (stopped in time, on the stop's day) and
  missed (on the breach's day, or the late stop's when no breach was marked).

"Counted" leaves out what the item's contract version excludes (tags, cancelled items).
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from bpo.contracts.models import ContractVersion
from bpo.portal.models import Survey
from bpo.work.models import SlaClock, State, WorkItem, WorkSession

CHUNK = 5000  # rows fetched at a time: a rebuild reads a service's whole history

DAY_FIELDS = (
    "created",
    "resolved",
    "handled",
    "handle_seconds",
    "fcr_counted",
    "fcr_first",
    "surveys",
    "satisfied",
    "rating_sum",
    "nps_answers",
    "promoters",
    "detractors",
)


@dataclass(frozen=True)
class Definition:
    """What one contract version counts (see ContractVersion.metric_definitions)."""

    excluded_tags: frozenset[str]
    exclude_cancelled: bool
    fcr_window: timedelta
    good_rating: int

    def excludes(self, tags: Iterable[str], state: str) -> bool:
        return bool(self.excluded_tags.intersection(tags or ())) or (
            self.exclude_cancelled and state == State.CANCELLED
        )


@dataclass
class Figures:
    """Counters by (day, channel) and SLA outcomes by (day, metric, priority)."""

    days: defaultdict[tuple[date, str], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    sla: defaultdict[tuple[date, str, str], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )


def definitions_of(service_id: int) -> dict[int, Definition]:
    """Each contract version's definition, for the versions the service has terms in."""
    rows = ContractVersion.objects.filter(terms__service_id=service_id).values_list(
        "id", "excluded_tags", "exclude_cancelled", "fcr_window_days", "csat_good_rating"
    )
    return {
        pk: Definition(frozenset(tags or ()), cancelled, timedelta(days=window), good)
        for pk, tags, cancelled, window, good in rows
    }


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The instant a calendar day begins in ``zone``."""
    return datetime.combine(day, time.min, tzinfo=zone)


def runs_of(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days grouped into (first, last) runs, so each run is one range query."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def compute_days(
    client_id: int, service_id: int, zone: ZoneInfo, runs: list[tuple[date, date]]
) -> Figures:
    """Every figure of the service's days in ``runs``, from items, clocks, sessions, surveys."""
    figures = Figures()
    definitions = definitions_of(service_id)
    of = {"client_id": client_id, "service_id": service_id}
    for first, last in runs:
        start, end = day_start(first, zone), day_start(last + timedelta(days=1), zone)
        _created(figures, of, zone, start, end)
        _resolved(figures, of, zone, start, end, definitions)
        _surveys(figures, of, zone, start, end, definitions)
        _clocks(figures, of, zone, start, end, definitions)
    return figures


def _created(
    figures: Figures, of: dict[str, int], zone: ZoneInfo, start: datetime, end: datetime
) -> None:
    rows = WorkItem.objects.filter(**of, created_at__gte=start, created_at__lt=end).values_list(
        "created_at", "channel"
    )
    for created_at, channel in rows.iterator(chunk_size=CHUNK):
        figures.days[created_at.astimezone(zone).date(), channel]["created"] += 1


def _resolved(
    figures: Figures,
    of: dict[str, int],
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    definitions: dict[int, Definition],
) -> None:
    in_range = {"resolved_at__gte": start, "resolved_at__lt": end}
    items = list(
        WorkItem.objects.filter(**of, **in_range)
        .values_list(
            "id",
            "resolved_at",
            "channel",
            "tags",
            "state",
            "reopened_count",
            "contact_id",
            "terms__version_id",
        )
        .iterator(chunk_size=CHUNK)
    )
    if not items:
        return
    seconds: Counter[int] = Counter()
    sessions = WorkSession.objects.filter(
        client_id=of["client_id"],
        item__service_id=of["service_id"],
        **{f"item__{k}": v for k, v in in_range.items()},
    ).values_list("item_id", "started_at", "last_seen_at", "ended_at")
    for item_id, started, seen, ended in sessions.iterator(chunk_size=CHUNK):
        seconds[item_id] += int(((ended or seen) - started).total_seconds())
    widest = max((d.fcr_window for d in definitions.values()), default=timedelta(0))
    later = _requests_by_contact(of, start, end + widest)
    for pk, resolved_at, channel, tags, state, reopened, contact_id, version_id in items:
        if resolved_at is None:  # filtered on; said for the type checker
            continue
        counters = figures.days[resolved_at.astimezone(zone).date(), channel]
        counters["resolved"] += 1
        definition = definitions[version_id]
        if definition.excludes(tags, state):
            continue
        if pk in seconds:
            counters["handled"] += 1
            counters["handle_seconds"] += seconds[pk]
        counters["fcr_counted"] += 1
        if not reopened and not _repeated(later.get(contact_id), resolved_at, definition):
            counters["fcr_first"] += 1


def _requests_by_contact(
    of: dict[str, int], start: datetime, end: datetime
) -> dict[int, list[datetime]]:
    """When each contact created items of the service in [start, end), sorted."""
    found: defaultdict[int, list[datetime]] = defaultdict(list)
    rows = WorkItem.objects.filter(
        **of, contact__isnull=False, created_at__gte=start, created_at__lt=end
    ).values_list("contact_id", "created_at")
    for contact_id, created_at in rows.iterator(chunk_size=CHUNK):
        found[contact_id].append(created_at)
    for times in found.values():
        times.sort()
    return found


def _repeated(times: list[datetime] | None, resolved_at: datetime, definition: Definition) -> bool:
    """Whether the contact asked again within the window after this resolution."""
    if not times:
        return False
    after = bisect.bisect_right(times, resolved_at)
    return after < len(times) and times[after] <= resolved_at + definition.fcr_window


def _surveys(
    figures: Figures,
    of: dict[str, int],
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    definitions: dict[int, Definition],
) -> None:
    rows = Survey.objects.filter(**of, answered_at__gte=start, answered_at__lt=end).values_list(
        "answered_at", "rating", "recommend", "item__channel", "item__terms__version_id"
    )
    for answered_at, rating, recommend, channel, version_id in rows.iterator(chunk_size=CHUNK):
        if answered_at is None:  # filtered on; said for the type checker
            continue
        counters = figures.days[answered_at.astimezone(zone).date(), channel]
        if rating is not None:
            counters["surveys"] += 1
            counters["rating_sum"] += rating
            counters["satisfied"] += rating >= definitions[version_id].good_rating
        if recommend is not None:
            counters["nps_answers"] += 1
            counters["promoters"] += recommend >= 9
            counters["detractors"] += recommend <= 6


def _clocks(
    figures: Figures,
    of: dict[str, int],
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    definitions: dict[int, Definition],
) -> None:
    decided = Q(stopped_at__gte=start, stopped_at__lt=end, met__isnull=False) | Q(
        breached_at__gte=start, breached_at__lt=end
    )
    clocks = (
        SlaClock.objects.filter(client_id=of["client_id"], item__service_id=of["service_id"])
        .filter(decided)
        .values_list(
            "metric",
            "target__priority",
            "met",
            "stopped_at",
            "breached_at",
            "item__tags",
            "item__state",
            "item__terms__version_id",
        )
    )
    rows = clocks.iterator(chunk_size=CHUNK)
    for metric, priority, met, stopped_at, breached_at, tags, state, version_id in rows:
        outcome = decision(met, stopped_at, breached_at)
        if outcome is None or definitions[version_id].excludes(tags, state):
            continue
        at, was_met = outcome
        if not start <= at < end:
            continue  # decided outside this run (the other instant fell in it)
        figures.sla[at.astimezone(zone).date(), metric, priority][
            "met" if was_met else "missed"
        ] += 1


def decision(
    met: bool | None, stopped_at: datetime | None, breached_at: datetime | None
) -> tuple[datetime, bool] | None:
    """When a clock's outcome was decided and whether it was met; None while undecided."""
    if breached_at is not None:
        return breached_at, False
    if met is True and stopped_at is not None:
        return stopped_at, True
    if met is False and stopped_at is not None:
        return stopped_at, False
    return None
