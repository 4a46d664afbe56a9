"""Reads of billing, scoped to what the actor may see: provider finance sees every invoice of
the clients they serve; a client's admin sees their invoices once issued, and the usage and
work behind each line."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
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
    InvoiceDelivery,
    InvoiceLine,
    InvoiceStatus,
    Meter,
    Usage,
)
from bpo.billing.rating import round_money
from bpo.contracts.models import Charge, Contract, ContractVersion, RateCard, Service
from bpo.contracts.queries import versions_visible
from bpo.portal.queries import zone_of
from bpo.portal.reports import month_first
from bpo.tenancy.context import Actor
from bpo.work.models import WorkItem, WorkSession
from bpo.workforce.models import LOGGED_IN, PresenceSpan

# How far before its month a line's late usage can lie (drafts meter the month before theirs;
# an invoice voided and billed again later can carry a little older usage).
LATE_MONTHS = 12
# Invoices and credit notes that count as revenue: sent to the client and not cancelled.
BILLED = (InvoiceStatus.ISSUED, InvoiceStatus.PAID)


def _visible(actor: Actor, invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Narrow to the clients where the actor may see billing; drafts stay with finance."""
    seen = [c for c in actor.client_ids if actor.can(Permission.VIEW_BILLING, client_id=c)]
    hidden_drafts = [c for c in seen if not actor.can(Permission.MANAGE_BILLING, client_id=c)]
    # The client sees what was sent to them: a void invoice only if it had been issued.
    sent = Q(status__in=CLIENT_VISIBLE, issued_at__isnull=False)
    return invoices.filter(client_id__in=seen).exclude(Q(client_id__in=hidden_drafts) & ~sent)


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
    # Usage of a line lies in its month or, late, in the months just before it.
    earliest = line.invoice.period_start - relativedelta(months=LATE_MONTHS)
    if not earliest <= day <= line.invoice.period_end:
        raise Http404(f"The line has no usage on {day}.")
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
    for client, service, currency, month, summed in lines:
        # SQLite sums decimals without their scale: the currency's minor units again.
        net = round_money(summed, currency)
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


def contract_billable(*, actor: Actor, contract_id: int) -> Contract:
    """One contract finance may invoice; raises Contract.DoesNotExist."""
    return contracts_billable(actor=actor).get(pk=contract_id)


def rate_card_service(*, actor: Actor, version: ContractVersion, service_id: int) -> Service:
    """A service of the version's contract, to give a rate card in that version (404 else)."""
    service = Service.objects.filter(
        pk=service_id, client_id=version.client_id, contract_id=version.contract_id
    ).first()
    if service is None:
        raise Http404("The contract has no such service.")
    return service


def rate_card_in(*, actor: Actor, version: ContractVersion, service_id: int) -> RateCard:
    """A service's rate card in a version, for one who may see prices (404 when it has none)."""
    actor.require(Permission.VIEW_BILLING, client_id=version.client_id)
    card = (
        RateCard.objects.filter(client_id=version.client_id, version=version, service_id=service_id)
        .select_related("version", "service")
        .first()
    )
    if card is None:
        raise Http404("The service has no rate card in this version.")
    return card


# --- Pages of the web UI -----------------------------------------------------------------------


@dataclass(frozen=True)
class InvoicePage:
    """One page of invoices, newest month first, and the cursor of the next (None: last)."""

    invoices: list[Invoice]
    next_cursor: str | None


def invoices_page(
    *,
    actor: Actor,
    client_id: int | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> InvoicePage:
    """A page of :func:`invoices_of`, newest month first; ``cursor`` ('2026-09-01.42', from
    the page before) continues after it (keyset: stable while invoices are added)."""
    invoices = invoices_of(actor=actor, client_id=client_id, status=status)
    if cursor:
        try:
            month, _, pk = cursor.partition(".")
            after = (date.fromisoformat(month), int(pk))
        except ValueError:
            after = None
        if after is not None:
            invoices = invoices.filter(
                Q(period_start__lt=after[0]) | Q(period_start=after[0], pk__lt=after[1])
            )
    rows = list(invoices.order_by("-period_start", "-pk")[: limit + 1])
    last = rows[limit - 1] if len(rows) > limit else None
    return InvoicePage(
        rows[:limit], f"{last.period_start.isoformat()}.{last.pk}" if last is not None else None
    )


def credit_notes_of(*, actor: Actor, invoice: Invoice) -> list[Invoice]:
    """The credit notes correcting an invoice that the actor may see (drafts: finance)."""
    return list(_visible(actor, invoice.credit_notes.all()).order_by("pk"))


def deliveries_of(*, actor: Actor, invoice: Invoice) -> list[InvoiceDelivery]:
    """To whom an issued invoice was mailed and how that went (finance's to follow)."""
    actor.require(Permission.MANAGE_BILLING, client_id=invoice.client_id)
    return list(invoice.deliveries.order_by("to"))


def rate_card_of(*, actor: Actor, rate_card_id: int) -> RateCard:
    """One rate card of a version the actor may see, for one who may see prices."""
    card = (
        RateCard.objects.filter(pk=rate_card_id, version__in=versions_visible(actor=actor))
        .select_related("version__contract__client", "service")
        .first()
    )
    if card is None or not actor.can(Permission.VIEW_BILLING, client_id=card.client_id):
        raise Http404("No such rate card.")
    return card


def charge_of(*, actor: Actor, charge_id: int) -> Charge:
    """One charge of a rate card the actor may see."""
    charge = Charge.objects.filter(pk=charge_id).select_related("rate_card").first()
    if charge is None:
        raise Http404("No such charge.")
    charge.rate_card = rate_card_of(actor=actor, rate_card_id=charge.rate_card_id)
    return charge


def revenue_export(*, actor: Actor) -> Revenue:
    """The revenue table to download: an export of several clients' figures, so audited."""
    table = revenue(actor=actor)
    record(
        "billing.revenue_exported",
        object_type="revenue",
        object_repr=f"{table.months[0]:%Y-%m} to {table.months[-1]:%Y-%m}",
        after={"rows": len(table.rows)},
    )
    return table


def day_bounds(line: InvoiceLine, day: date) -> tuple[datetime, datetime]:
    """The UTC instants a day of the line's service calendar runs between."""
    window = _day_window(line, day)
    return window.start, window.end
