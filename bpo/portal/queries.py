"""Reads of the portal: a service's dashboard, a client's services, the providers' overview.

Every read first brings the client's rollups up to date (:func:`rollups_refresh`), so the
figures are exactly those of the items at the moment of reading.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from bpo.accounts.roles import Permission
from bpo.audit.log import record
from bpo.contracts.models import Metric, Priority, Service
from bpo.portal.metrics import DAY_FIELDS
from bpo.portal.models import ServiceDay, ServiceDaySla, ServiceReport, Survey
from bpo.portal.rollups import rollups_refresh, rollups_refresh_many, service_zones, zones_of
from bpo.tenancy.context import Actor
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.models import OPEN_STATES, Channel, SlaClock, State, WorkItem

TREND_DAYS = 30
AGE_BUCKETS = (("< 1 day", 0, 1), ("1–3 days", 1, 3), ("3–7 days", 3, 7), ("> 7 days", 7, None))
OPEN_ORDER = [State.NEW, State.OPEN, State.PENDING_CONTACT, State.PENDING_CLIENT]
AT_RISK_SHOWN = 25


@dataclass(frozen=True)
class Attainment:
    """Clocks met and missed over a period; ``percent`` is None when none was decided."""

    met: int = 0
    missed: int = 0

    @property
    def decided(self) -> int:
        return self.met + self.missed

    @property
    def percent(self) -> float | None:
        return round(100 * self.met / self.decided, 1) if self.decided else None


@dataclass(frozen=True)
class Period:
    """A named stretch of days of the service's calendar, both ends included."""

    key: str
    label: str
    first: date
    last: date


@dataclass
class Totals:
    """The additive figures of a period, and the indicators made of them."""

    counts: Counter[str] = field(default_factory=Counter)

    def _share(self, part: str, whole: str) -> float | None:
        return (
            round(100 * self.counts[part] / self.counts[whole], 1) if self.counts[whole] else None
        )

    @property
    def aht_seconds(self) -> int | None:
        handled = self.counts["handled"]
        return round(self.counts["handle_seconds"] / handled) if handled else None

    @property
    def fcr(self) -> float | None:
        return self._share("fcr_first", "fcr_counted")

    @property
    def csat(self) -> float | None:
        return self._share("satisfied", "surveys")

    @property
    def average_rating(self) -> float | None:
        surveys = self.counts["surveys"]
        return round(self.counts["rating_sum"] / surveys, 2) if surveys else None

    @property
    def nps(self) -> int | None:
        answers = self.counts["nps_answers"]
        if not answers:
            return None
        return round(100 * (self.counts["promoters"] - self.counts["detractors"]) / answers)


@dataclass
class ServiceDashboard:
    """Everything the client's window shows of one service."""

    service: Service
    zone: str
    today: date
    periods: list[Period]
    totals: dict[str, Totals]
    sla: list[dict[str, Any]]  # per metric: label and an Attainment per period
    targets: list[dict[str, Any]]  # per metric and priority: Attainment this month
    trend_days: list[date]
    trend: dict[str, Any]
    backlog: dict[str, Any]
    at_risk: list[SlaClock]  # the first AT_RISK_SHOWN clocks
    at_risk_items: int  # every open item breached or at risk


def services_of(*, actor: Actor, client_id: int) -> QuerySet[Service]:
    """The client's services, for one who may see its dashboards."""
    client_of(actor=actor, client_id=client_id)
    return Service.objects.filter(client_id=client_id).order_by("name")


def client_of(*, actor: Actor, client_id: int) -> Client:
    """A client whose dashboards the actor may see (404 otherwise: not theirs to know of)."""
    if client_id not in actor.client_ids:
        raise Http404("No such client.")
    actor.require(Permission.VIEW_DASHBOARDS, client_id=client_id)
    client = Client.objects.filter(pk=client_id).first()
    if client is None:
        raise Http404("No such client.")
    return client


def service_of(*, actor: Actor, service_id: int) -> Service:
    """A service whose dashboard the actor may see."""
    service = Service.objects.filter(pk=service_id).select_related("client").first()
    if service is None:
        raise Http404("No such service.")
    actor.require(Permission.VIEW_DASHBOARDS, client_id=service.client_id)
    return service


def zone_of(service: Service) -> ZoneInfo:
    """The zone of the service's calendar, whose days the figures count in."""
    return ZoneInfo(service_zones(service.client_id).get(service.pk, "UTC"))


def service_today(service: Service) -> date:
    """Today in the service's calendar."""
    return timezone.now().astimezone(zone_of(service)).date()


def periods_of(today: date) -> list[Period]:
    """Today, this week (from Monday) and this month, in the service's calendar."""
    return [
        Period("today", "Today", today, today),
        Period("week", "This week", today - timedelta(days=today.weekday()), today),
        Period("month", "This month", today.replace(day=1), today),
    ]


def service_dashboard(
    *, actor: Actor, service_id: int, now: datetime | None = None
) -> ServiceDashboard:
    """The live figures of one service: service levels, volumes, AHT, FCR, CSAT, backlog, risk."""
    service = service_of(actor=actor, service_id=service_id)
    rollups_refresh(client_id=service.client_id)
    return _dashboard(service, now or timezone.now())


def client_dashboards(*, actor: Actor, client_id: int) -> list[ServiceDashboard]:
    """The dashboard of each of the client's services (rollups refreshed once for all)."""
    services = list(services_of(actor=actor, client_id=client_id))
    rollups_refresh(client_id=client_id)
    now = timezone.now()
    return [_dashboard(service, now) for service in services]


def _dashboard(service: Service, now: datetime) -> ServiceDashboard:
    zone = zone_of(service)
    today = now.astimezone(zone).date()
    periods = periods_of(today)
    trend_days = [today - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    first = min(trend_days[0], periods[-1].first)
    days = service_days(service, first, today)
    sla_rows = service_sla_days(service, first, today)
    return ServiceDashboard(
        service=service,
        zone=str(zone),
        today=today,
        periods=periods,
        totals={p.key: totals_of(days, p.first, p.last) for p in periods},
        sla=_sla_by_metric(sla_rows, periods),
        targets=_sla_by_target(sla_rows, periods[-1]),
        trend_days=trend_days,
        trend=_trend(days, sla_rows, trend_days),
        backlog=backlog_of(service, now),
        at_risk=at_risk_of(service),
        at_risk_items=at_risk_items(service),
    )


def service_days(service: Service, first: date, last: date) -> list[dict[str, Any]]:
    """The service's rollup rows (a day and channel each) from ``first`` to ``last``."""
    return list(
        ServiceDay.objects.filter(
            client_id=service.client_id, service_id=service.pk, day__gte=first, day__lte=last
        ).values("day", "channel", *DAY_FIELDS)
    )


def service_sla_days(service: Service, first: date, last: date) -> list[dict[str, Any]]:
    """The service's SLA rollup rows (a day, metric and priority each), ``first`` to ``last``."""
    rows = ServiceDaySla.objects.filter(
        client_id=service.client_id, service_id=service.pk, day__gte=first, day__lte=last
    ).values("day", "metric", "priority", "met", "missed")
    return [dict(row) for row in rows]


def totals_of(days: list[dict[str, Any]], first: date, last: date) -> Totals:
    """The additive figures of the rollup rows of the days from ``first`` to ``last``."""
    totals = Totals()
    for row in days:
        if first <= row["day"] <= last:
            totals.counts.update({name: row[name] for name in DAY_FIELDS})
    return totals


def attainment_of(rows: list[dict[str, Any]], first: date, last: date) -> Attainment:
    """Clocks met and missed in the SLA rollup rows of the days from ``first`` to ``last``."""
    met = sum(r["met"] for r in rows if first <= r["day"] <= last)
    missed = sum(r["missed"] for r in rows if first <= r["day"] <= last)
    return Attainment(met, missed)


def _sla_by_metric(rows: list[dict[str, Any]], periods: list[Period]) -> list[dict[str, Any]]:
    by_metric: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_metric[row["metric"]].append(row)
    return [
        {
            "metric": metric,
            "label": Metric(metric).label,
            **{p.key: attainment_of(by_metric[metric], p.first, p.last) for p in periods},
        }
        for metric in Metric.values
        if metric in by_metric
    ]


def _sla_by_target(rows: list[dict[str, Any]], month: Period) -> list[dict[str, Any]]:
    by_target: defaultdict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_target[row["metric"], row["priority"]].append(row)
    return [
        {
            "metric": Metric(metric).label,
            "priority": Priority(priority).label,
            "month": attainment_of(by_target[metric, priority], month.first, month.last),
        }
        for metric in Metric.values
        for priority in reversed(Priority.values)
        if (metric, priority) in by_target
    ]


def _trend(
    days: list[dict[str, Any]], sla_rows: list[dict[str, Any]], trend_days: list[date]
) -> dict[str, Any]:
    """Daily series for the charts (None where a day has nothing to measure)."""
    per_day: defaultdict[date, Totals] = defaultdict(Totals)
    created: defaultdict[str, Counter[date]] = defaultdict(Counter)
    for row in days:
        per_day[row["day"]].counts.update({name: row[name] for name in DAY_FIELDS})
        created[row["channel"]][row["day"]] += row["created"]
    sla: dict[str, list[float | None]] = {}
    for metric in Metric.values:
        rows = [r for r in sla_rows if r["metric"] == metric]
        if rows:
            sla[Metric(metric).label] = [attainment_of(rows, d, d).percent for d in trend_days]
    return {
        "sla": sla,
        "created": {
            Channel(channel).label: [created[channel][d] for d in trend_days]
            for channel in Channel.values
            if any(created[channel].values())
        },
        "aht_minutes": [
            round(s / 60, 1) if (s := per_day[d].aht_seconds) is not None else None
            for d in trend_days
        ],
        "fcr": [per_day[d].fcr for d in trend_days],
        "csat": [per_day[d].csat for d in trend_days],
    }


def backlog_of(service: Service, now: datetime) -> dict[str, Any]:
    """Open items now by state and age since creation (one grouped query)."""
    buckets = {
        f"age{n}": Count(
            "id",
            filter=Q(
                created_at__lte=now - timedelta(days=low),
                **({"created_at__gt": now - timedelta(days=high)} if high is not None else {}),
            ),
        )
        for n, (_, low, high) in enumerate(AGE_BUCKETS)
    }
    rows = {
        row["state"]: row
        for row in WorkItem.objects.filter(
            client_id=service.client_id, service_id=service.pk, state__in=OPEN_ORDER
        )
        .values("state")
        .annotate(**buckets)
    }
    counts = {
        State(state).label: [rows.get(state, {}).get(f"age{n}", 0) for n in range(len(AGE_BUCKETS))]
        for state in OPEN_ORDER
    }
    return {
        "ages": [label for label, _, _ in AGE_BUCKETS],
        "counts": counts,
        "total": sum(sum(c) for c in counts.values()),
    }


def _at_risk(service: Service) -> QuerySet[SlaClock]:
    """Running clocks of the service's open items that breached or passed their warning."""
    return SlaClock.objects.filter(
        client_id=service.client_id,
        item__service_id=service.pk,
        stopped_at__isnull=True,
        item__state__in=sorted(OPEN_STATES),
    ).filter(Q(breached_at__isnull=False) | Q(warned_at__isnull=False))


def at_risk_of(service: Service) -> list[SlaClock]:
    """The first running clocks breached or at risk, most urgent first (a page shows them)."""
    return list(
        _at_risk(service).select_related("item", "target").order_by("due_at", "id")[:AT_RISK_SHOWN]
    )


def at_risk_items(service: Service) -> int:
    """How many open items of the service have a clock breached or at risk (all of them)."""
    return _at_risk(service).values("item_id").distinct().count()


@dataclass
class ClientRisk:
    """One client's standing in the providers' overview."""

    client: Client
    breached: int
    at_risk: int
    month: Attainment
    backlog: int


def overview(*, actor: Actor, now: datetime | None = None) -> list[ClientRisk]:
    """The actor's clients ranked by SLA risk: open items breached, then at risk, then the
    month's attainment (lowest first)."""
    actor.require(Permission.VIEW_DASHBOARDS)
    now = now or timezone.now()
    ids = sorted(c for c in actor.client_ids if actor.can(Permission.VIEW_DASHBOARDS, client_id=c))
    rollups_refresh_many(ids)
    clients = {c.pk: c for c in Client.objects.filter(pk__in=ids, is_active=True)}
    running = (
        SlaClock.objects.filter(
            client_id__in=clients, stopped_at__isnull=True, item__state__in=sorted(OPEN_STATES)
        )
        .values("client_id")
        .annotate(
            breached=Count("item_id", filter=Q(breached_at__isnull=False), distinct=True),
            at_risk=Count(
                "item_id",
                filter=Q(breached_at__isnull=True, warned_at__isnull=False),
                distinct=True,
            ),
        )
    )
    risk = {row["client_id"]: row for row in running}
    backlog = dict(
        WorkItem.objects.filter(client_id__in=clients, state__in=sorted(OPEN_STATES))
        .values("client_id")
        .annotate(n=Count("id"))
        .values_list("client_id", "n")
    )
    month = _month_attainment(list(clients), now)
    ranked = [
        ClientRisk(
            client=client,
            breached=risk.get(pk, {}).get("breached", 0),
            at_risk=risk.get(pk, {}).get("at_risk", 0),
            month=month.get(pk, Attainment()),
            backlog=backlog.get(pk, 0),
        )
        for pk, client in clients.items()
    ]
    ranked.sort(
        key=lambda r: (
            -r.breached,
            -r.at_risk,
            r.month.percent if r.month.percent is not None else 101,
            r.client.name,
        )
    )
    return ranked


def _month_attainment(client_ids: list[int], now: datetime) -> dict[int, Attainment]:
    """Each client's SLA attainment this month, each service's month in its calendar's zone:
    one query per distinct first day (services in zones on either side of midnight differ)."""
    services_from: defaultdict[date, list[int]] = defaultdict(list)
    for zones in zones_of(client_ids).values():
        for service_id, zone in zones.items():
            first = now.astimezone(ZoneInfo(zone)).date().replace(day=1)
            services_from[first].append(service_id)
    met: Counter[int] = Counter()
    missed: Counter[int] = Counter()
    for first, service_ids in services_from.items():
        rows = (
            ServiceDaySla.objects.filter(
                client_id__in=client_ids, service_id__in=service_ids, day__gte=first
            )
            .values("client_id")
            .annotate(met=Sum("met"), missed=Sum("missed"))
        )
        for row in rows:
            met[row["client_id"]] += row["met"] or 0
            missed[row["client_id"]] += row["missed"] or 0
    return {pk: Attainment(met[pk], missed[pk]) for pk in set(met) | set(missed)}


def survey_by_token(token: str) -> Survey | None:
    """The survey a link's token opens, whatever its client (only the link's owner has it)."""
    with all_clients_unscoped("a survey is found by its token, before any scope"):
        return Survey.objects.filter(token=token).select_related("item", "service").first()


DAILY_COLUMNS = [
    "day",
    "created",
    "resolved",
    "aht_seconds",
    "fcr_percent",
    "csat_percent",
    "nps",
    "sla_met",
    "sla_missed",
    "sla_percent",
    *(f"created_{channel}" for channel in Channel.values),
]


def daily_rows(*, service: Service, first: date, last: date) -> list[list[Any]]:
    """One CSV row per day of the service from ``first`` to ``last`` (an export: audited)."""
    rollups_refresh(client_id=service.client_id)
    record(
        "portal.exported",
        obj=service,
        after={"from": first.isoformat(), "to": last.isoformat(), "format": "csv"},
    )
    days = service_days(service, first, last)
    sla_rows = service_sla_days(service, first, last)
    rows = []
    day = first
    while day <= last:
        totals = totals_of(days, day, day)
        sla = attainment_of(sla_rows, day, day)
        created = Counter({r["channel"]: r["created"] for r in days if r["day"] == day})

        def blank(value: object) -> object:
            return "" if value is None else value

        rows.append(
            [
                day.isoformat(),
                totals.counts["created"],
                totals.counts["resolved"],
                blank(totals.aht_seconds),
                blank(totals.fcr),
                blank(totals.csat),
                blank(totals.nps),
                sla.met,
                sla.missed,
                blank(sla.percent),
                *(created[channel] for channel in Channel.values),
            ]
        )
        day += timedelta(days=1)
    return rows


def reports_of(*, actor: Actor, service_id: int) -> tuple[Service, QuerySet[ServiceReport]]:
    """A service and its reports, newest month first (the latest generated first in a month)."""
    service = service_of(actor=actor, service_id=service_id)
    reports = ServiceReport.objects.filter(
        client_id=service.client_id, service_id=service.pk
    ).select_related("generated_by")
    return service, reports.order_by("-month", "-generated_at", "-id")


def report_of(*, actor: Actor, report_id: int, fmt: str) -> ServiceReport:
    """A report to download as ``fmt`` (csv or pdf): a download is an export, so it is audited."""
    report = ServiceReport.objects.filter(pk=report_id).select_related("service").first()
    if report is None:
        raise Http404("No such report.")
    actor.require(Permission.VIEW_DASHBOARDS, client_id=report.client_id)
    record(
        "portal.exported",
        obj=report,
        after={"report": report.pk, "month": f"{report.month:%Y-%m}", "format": fmt},
    )
    return report
