"""Reads of billing, scoped to what the actor may see: provider finance sees every invoice of
the clients they serve; a client's admin sees their invoices once issued, and the usage and
work behind each line."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db.models import Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from bpo.accounts.roles import Permission
from bpo.audit.log import record
from bpo.billing.metering import Window, handled_sessions, resolved_items
from bpo.billing.models import (
    CLIENT_VISIBLE,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Meter,
    Usage,
)
from bpo.contracts.models import Contract, ContractVersion, RateCard
from bpo.portal.queries import zone_of
from bpo.portal.reports import month_first
from bpo.tenancy.context import Actor
from bpo.work.models import WorkItem, WorkSession
from bpo.workforce.models import LOGGED_IN, PresenceSpan

# Invoices and credit notes that count as revenue: sent to the client and not cancelled.
BILLED = (InvoiceStatus.ISSUED, InvoiceStatus.PAID)


def _visible(actor: Actor, invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Narrow to the clients where the actor may see billing; drafts stay with finance."""
    seen = [c for c in actor.client_ids if actor.can(Permission.VIEW_BILLING, client_id=c)]
    hidden_drafts = [c for c in seen if not actor.can(Permission.MANAGE_BILLING, client_id=c)]
    return invoices.filter(client_id__in=seen).exclude(
        Q(client_id__in=hidden_drafts) & ~Q(status__in=CLIENT_VISIBLE)
    )


def invoices_of(
    *, actor: Actor, client_id: int | None = None, status: str | None = None
) -> QuerySet[Invoice]:
    """Invoices and credit notes the actor may see, newest month first."""
    actor.require(Permission.VIEW_BILLING)
    invoices = Invoice.objects.all()
    if client_id is not None:
        invoices = invoices.filter(client_id=client_id)
    if status:
        invoices = invoices.filter(status=status)
    return _visible(actor, invoices).select_related("contract__client", "corrects")


def invoice_of(*, actor: Actor, invoice_id: int) -> Invoice:
    """One invoice the actor may see (404 otherwise: not theirs to know of)."""
    invoice = (
        _visible(actor, Invoice.objects.filter(pk=invoice_id))
        .select_related("contract__client", "version", "corrects", "approved_by")
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


def invoice_export(*, actor: Actor, invoice_id: int, fmt: str) -> Invoice:
    """An invoice to download as ``fmt`` (pdf or csv): an export, so it is audited."""
    invoice = invoice_of(actor=actor, invoice_id=invoice_id)
    record("billing.exported", obj=invoice, after={"invoice": invoice.title, "format": fmt})
    return invoice


def lines_of(invoice: Invoice) -> QuerySet[InvoiceLine]:
    """An invoice's lines in order, with what they refer to."""
    return invoice.lines.select_related("service", "charge", "target").order_by("position")


def line_of(*, actor: Actor, line_id: int) -> InvoiceLine:
    """One line of an invoice the actor may see."""
    line = InvoiceLine.objects.filter(pk=line_id).select_related("invoice", "service").first()
    if line is None:
        raise Http404("No such invoice line.")
    invoice_of(actor=actor, invoice_id=line.invoice_id)
    return line


def _line_usage(line: InvoiceLine) -> QuerySet[Usage]:
    assert line.service_id is not None  # lines with usage belong to a service
    usage = Usage.objects.filter(
        client_id=line.client_id,
        invoice_id=line.invoice_id,
        service_id=line.service_id,
        meter=line.meter,
        item_type=line.item_type,
    )
    if line.channel:
        usage = usage.filter(channel=line.channel)
    if line.priority:
        usage = usage.filter(priority=line.priority)
    return usage


@dataclass(frozen=True)
class UsageDay:
    """A day of a line's usage: the quantity metered (the sum of the ledger's rows)."""

    day: date
    quantity: Decimal
    late: bool  # before the invoice's month: usage that came after that month was billed


def usage_days(*, actor: Actor, line_id: int) -> tuple[InvoiceLine, list[UsageDay]]:
    """The days behind an invoice line, with the quantity of each."""
    line = line_of(actor=actor, line_id=line_id)
    if not line.has_usage:
        return line, []
    rows = _line_usage(line).values_list("day").annotate(total=Sum("quantity")).order_by("day")
    return line, [
        UsageDay(day, total, day < line.invoice.period_start) for day, total in rows if total
    ]


def _day_window(line: InvoiceLine, day: date) -> Window:
    assert line.service is not None
    return Window(day, day, zone_of(line.service))


def usage_items(*, actor: Actor, line_id: int, day: date) -> tuple[InvoiceLine, QuerySet[WorkItem]]:
    """The resolved items a per-item line counted on ``day``."""
    line = line_of(actor=actor, line_id=line_id)
    if line.meter != Meter.RESOLVED_ITEMS or line.service is None:
        raise Http404("This line does not count items.")
    items = _narrowed(resolved_items(line.service, _day_window(line, day)), line, "")
    return line, items.order_by("first_resolved_at", "id")


def usage_sessions(
    *, actor: Actor, line_id: int, day: date
) -> tuple[InvoiceLine, QuerySet[WorkSession]]:
    """The work sessions a per-minute line counted on ``day``."""
    line = line_of(actor=actor, line_id=line_id)
    if line.meter != Meter.HANDLED_MINUTES or line.service is None:
        raise Http404("This line does not count handled minutes.")
    sessions = _narrowed(handled_sessions(line.service, _day_window(line, day)), line, "item__")
    return line, sessions.select_related("item", "agent").order_by("ended_at", "id")


def _narrowed(rows: Any, line: InvoiceLine, prefix: str) -> Any:
    if line.channel:
        rows = rows.filter(**{f"{prefix}channel": line.channel})
    if line.priority:
        rows = rows.filter(**{f"{prefix}priority": line.priority})
    if line.item_type:
        rows = rows.filter(**{f"{prefix}tags__icontains": f'"{line.item_type}"'})
    return rows


def usage_presence(
    *, actor: Actor, line_id: int, day: date
) -> tuple[InvoiceLine, QuerySet[PresenceSpan]]:
    """The logged-in stretches of the service's agents on ``day`` (production time)."""
    line = line_of(actor=actor, line_id=line_id)
    if line.meter != Meter.PRODUCTION_MINUTES or line.service is None:
        raise Http404("This line does not count production time.")
    window = _day_window(line, day)
    from bpo.workforce.models import Certification

    agents = set(
        Certification.objects.filter(client_id=line.client_id, service=line.service).values_list(
            "user_id", flat=True
        )
    ) | set(handled_sessions(line.service, window).values_list("agent_id", flat=True))
    spans = PresenceSpan.objects.filter(
        user_id__in=agents, presence__in=LOGGED_IN, started_at__lt=window.end
    ).filter(Q(ended_at__isnull=True) | Q(ended_at__gt=window.start))
    return line, spans.select_related("user").order_by("started_at", "id")


@dataclass
class Revenue:
    """Billed net amounts per client and service and month (issued and paid invoices less
    their credit notes), in each currency."""

    months: list[date]
    rows: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[tuple[str, date], Decimal] = field(default_factory=dict)


def revenue(*, actor: Actor, months: int = 12, today: date | None = None) -> Revenue:
    """The last ``months`` months of billed revenue of the clients the actor serves."""
    actor.require(Permission.MANAGE_BILLING)
    today = today or timezone.now().date()
    last = month_first(today)
    shown = [last - relativedelta(months=n) for n in range(months - 1, -1, -1)]
    lines = (
        InvoiceLine.objects.filter(
            client_id__in=[
                c for c in actor.client_ids if actor.can(Permission.MANAGE_BILLING, client_id=c)
            ],
            invoice__status__in=BILLED,
            invoice__period_start__gte=shown[0],
            invoice__period_start__lte=last,
        )
        .values_list(
            "invoice__contract__client__name",
            "service__name",
            "invoice__currency",
            "invoice__period_start",
        )
        .annotate(net=Sum("amount"))
    )
    table: dict[tuple[str, str, str], dict[date, Decimal]] = defaultdict(dict)
    totals: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for client, service, currency, month, net in lines:
        key = (client, service or "Contract-wide (credits, corrections)", currency)
        table[key][month] = table[key].get(month, Decimal(0)) + net
        totals[currency, month] += net
    result = Revenue(shown, totals=dict(totals))
    for (client, service, currency), by_month in sorted(table.items()):
        result.rows.append(
            {
                "client": client,
                "service": service,
                "currency": currency,
                "months": [by_month.get(m, Decimal(0)) for m in shown],
                "total": sum(by_month.values(), Decimal(0)),
            }
        )
    return result


def contracts_billable(*, actor: Actor) -> QuerySet[Contract]:
    """Contracts finance may invoice (of the clients the actor serves)."""
    actor.require(Permission.MANAGE_BILLING)
    served = [c for c in actor.client_ids if actor.can(Permission.MANAGE_BILLING, client_id=c)]
    return Contract.objects.filter(client_id__in=served).select_related("client")


def rate_cards_of(*, actor: Actor, version: ContractVersion) -> list[RateCard]:
    """A version's rate cards with their charges, for one who may see prices."""
    actor.require(Permission.VIEW_BILLING, client_id=version.client_id)
    return list(
        RateCard.objects.filter(client_id=version.client_id, version=version)
        .select_related("service")
        .prefetch_related("charges")
        .order_by("service__name")
    )
