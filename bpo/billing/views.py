"""Web UI of billing: invoices, the usage and work behind their lines, revenue, rate cards.

*Invoices* (``/billing/``) lists the invoices and credit notes the actor may see: finance
sees every one of the clients they serve, drafts a contract's invoice for a month there and
reads the revenue of the last twelve months per client and service (a chart, a table, a CSV);
a client's admin sees their company's invoices once issued. An invoice's page shows its lines
formatted for the reader's locale, its SLA credits, its credit notes, the PDF and CSV, and to
finance the steps its status allows. Each line opens to its usage per day, and each day to the
items, work sessions or logged-in time behind it. Rate cards are set on a draft contract
version (the version's page shows them).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from bpo.accounts.forms import add_validation_errors
from bpo.accounts.roles import Permission
from bpo.audit.queries import spreadsheet_safe
from bpo.billing import actions, downloads, queries
from bpo.billing.forms import (
    ChargeForm,
    CreditNoteForm,
    DraftForm,
    InvoiceFilterForm,
    PaidForm,
    RateCardForm,
    VoidForm,
    add_charge_errors,
)
from bpo.billing.models import (
    CLIENT_VISIBLE,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Meter,
)
from bpo.contracts import actions as contract_actions
from bpo.contracts import queries as contract_queries
from bpo.contracts.forms import BillingTermsForm
from bpo.contracts.models import ContractVersion, RateCard, Service
from bpo.paging import keyset_page
from bpo.tenancy import queries as client_queries
from bpo.tenancy.context import Actor, request_actor
from bpo.web.formatting import browser_locale
from bpo.web.params import int_or_none, query_without

PAGE_SIZE = 50
DAY_PAGE_SIZE = 50
CREDIT_KINDS = (LineKind.SLA_CREDIT, LineKind.CREDIT_CAP, LineKind.EARN_BACK)


# --- Invoices --------------------------------------------------------------------------------


@login_required
@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    """Invoices the actor may see; for finance, the draft form and the revenue."""
    actor = request_actor(request)
    actor.require(Permission.VIEW_BILLING)
    return _render_list(request, actor, None)


@login_required
@require_POST
def invoice_draft(request: HttpRequest) -> HttpResponse:
    """Draft a contract's invoice for a month (or compute that month's draft again)."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_BILLING)
    contracts = list(queries.contracts_billable(actor=actor))
    form = DraftForm(request.POST, contracts=_contract_choices(contracts))
    if form.is_valid():
        contract = next(c for c in contracts if c.pk == form.cleaned_data["contract"])
        try:
            invoice = actions.invoice_draft(
                actor=actor, contract=contract, month=form.cleaned_data["month"]
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(
                request,
                f"The invoice of {contract.reference} for {invoice.period_start:%B %Y} is "
                "computed from the usage as it is now. Check its lines, then approve it.",
            )
            return redirect("billing:invoice", invoice_id=invoice.pk)
    return _render_list(request, actor, form, status=400)


def _contract_choices(contracts: list[Any]) -> list[tuple[int, str]]:
    return [(c.pk, f"{c.client.name} · {c.reference} {c.title}") for c in contracts]


def _render_list(
    request: HttpRequest, actor: Actor, draft_form: DraftForm | None, status: int = 200
) -> HttpResponse:
    clients = [
        (c.pk, c.name)
        for c in client_queries.clients_visible(actor=actor)
        if actor.can(Permission.VIEW_BILLING, client_id=c.pk)
    ]
    filter_form = InvoiceFilterForm(request.GET or None, clients=clients)
    filters = filter_form.filters()
    page = queries.invoices_page(
        actor=actor, **filters, cursor=request.GET.get("after"), limit=PAGE_SIZE
    )
    can_manage = actor.can(Permission.MANAGE_BILLING)
    context: dict[str, Any] = {
        "page": page,
        "filter_form": filter_form,
        "filters": filters,
        "show_client": len(clients) > 1,
        "clients": clients,
        "can_manage": can_manage,
        "query": query_without(request, "after"),
    }
    if can_manage:
        if draft_form is None:
            contracts = list(queries.contracts_billable(actor=actor))
            last_month = timezone.localdate().replace(day=1) - relativedelta(months=1)
            draft_form = DraftForm(
                contracts=_contract_choices(contracts), initial={"month": last_month}
            )
        revenue = queries.revenue(actor=actor)
        context |= {
            "draft_form": draft_form,
            "revenue": revenue,
            "revenue_totals": _revenue_totals(revenue),
            "revenue_chart": _revenue_chart(revenue),
        }
    return render(request, "billing/list.html", context, status=status)


def _revenue_totals(revenue: queries.Revenue) -> list[dict[str, Any]]:
    """The total row of each currency: its months and their sum."""
    currencies = sorted({currency for currency, _ in revenue.totals})
    return [
        {
            "currency": currency,
            "months": [revenue.totals.get((currency, m), 0) for m in revenue.months],
            "total": sum(revenue.totals.get((currency, m), 0) for m in revenue.months),
        }
        for currency in currencies
    ]


def _revenue_chart(revenue: queries.Revenue) -> dict[str, Any]:
    """The chart's series, read by billing/revenue.js: a bar per month, stacked by client and
    service, a stack per currency (amounts of different currencies never add up)."""
    return {
        "locale": browser_locale(),
        "labels": [f"{m:%Y-%m}" for m in revenue.months],
        "datasets": [
            {
                "label": f"{row['client']} · {row['service']} ({row['currency']})",
                "stack": row["currency"],
                "data": [str(v) for v in row["months"]],
            }
            for row in revenue.rows
        ],
    }


@login_required
@require_GET
def revenue_csv(request: HttpRequest) -> HttpResponse:
    """The revenue table as CSV: plain decimal amounts with their currency."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_BILLING)
    revenue = queries.revenue_export(actor=actor)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    first, last = revenue.months[0], revenue.months[-1]
    response["Content-Disposition"] = (
        f'attachment; filename="revenue-{first:%Y-%m}-to-{last:%Y-%m}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(["client", "service", "currency", *(f"{m:%Y-%m}" for m in revenue.months)])
    for row in revenue.rows:
        writer.writerow(
            [
                spreadsheet_safe(row["client"]),
                spreadsheet_safe(row["service"]),
                row["currency"],
                *row["months"],
            ]
        )
    return response


@login_required
@require_GET
def invoice_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """One invoice or credit note: header, lines, totals, credits; finance's next steps."""
    actor = request_actor(request)
    actor.require(Permission.VIEW_BILLING)
    return _render_invoice(request, actor, queries.invoice_of(actor=actor, invoice_id=invoice_id))


def _render_invoice(
    request: HttpRequest,
    actor: Actor,
    invoice: Invoice,
    bound: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    lines = list(queries.lines_of(invoice))
    can_manage = actor.can(Permission.MANAGE_BILLING, client_id=invoice.client_id)
    forms = {
        "void_form": VoidForm(prefix="void"),
        "credit_form": CreditNoteForm(prefix="credit"),
        "paid_form": PaidForm(prefix="paid"),
        **(bound or {}),
    }
    credits = [line for line in lines if line.kind in CREDIT_KINDS]
    is_invoice = invoice.kind == InvoiceKind.INVOICE
    steps = {
        "recompute": is_invoice and invoice.status == InvoiceStatus.DRAFT,
        "approve": invoice.status == InvoiceStatus.DRAFT,
        "issue": invoice.status == InvoiceStatus.APPROVED,
        "mark_paid": invoice.status == InvoiceStatus.ISSUED,
        "void": invoice.status
        in (InvoiceStatus.DRAFT, InvoiceStatus.APPROVED, InvoiceStatus.ISSUED),
        "credit": is_invoice and invoice.status in (InvoiceStatus.ISSUED, InvoiceStatus.PAID),
    }
    return render(
        request,
        "billing/invoice.html",
        {
            "invoice": invoice,
            "contract": invoice.contract,
            "lines": lines,
            "credits": credits,
            "credit_total": sum((line.amount for line in credits), 0),
            "credit_notes": queries.credit_notes_of(actor=actor, invoice=invoice),
            "deliveries": queries.deliveries_of(actor=actor, invoice=invoice)
            if can_manage and invoice.issued_at
            else [],
            "can_manage": can_manage,
            "steps": steps if can_manage else {},
            "client_sees_it": invoice.status in CLIENT_VISIBLE,
            **forms,
        },
        status=status,
    )


def _managed_invoice(request: HttpRequest, invoice_id: int) -> tuple[Actor, Invoice]:
    """An invoice finance acts on: the permission first (403), then the lookup (404)."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_BILLING)
    return actor, queries.invoice_of(actor=actor, invoice_id=invoice_id)


def _step(
    request: HttpRequest,
    invoice_id: int,
    do: Callable[[Actor, Invoice], Invoice],
    done: Callable[[Invoice], str],
) -> HttpResponse:
    """A step without input: done, or the reason it was refused, back on the invoice."""
    actor, invoice = _managed_invoice(request, invoice_id)
    try:
        invoice = do(actor, invoice)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done(invoice))
    return redirect("billing:invoice", invoice_id=invoice.pk)


@login_required
@require_POST
def invoice_recompute(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Compute a draft again from the usage as it is now."""
    return _step(
        request,
        invoice_id,
        lambda actor, invoice: actions.invoice_recompute(actor=actor, invoice=invoice),
        lambda invoice: "Computed again from the usage as it is now.",
    )


@login_required
@require_POST
def invoice_approve(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Freeze a draft."""
    return _step(
        request,
        invoice_id,
        lambda actor, invoice: actions.invoice_approve(actor=actor, invoice=invoice),
        lambda invoice: (
            "Approved: its lines and the usage it bills no longer change. Issue it "
            "to number it and send it to the client."
        ),
    )


@login_required
@require_POST
def invoice_issue(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Number an approved invoice and send it to the client's admins."""
    return _step(
        request,
        invoice_id,
        lambda actor, invoice: actions.invoice_issue(actor=actor, invoice=invoice),
        lambda invoice: (
            f"Issued as {invoice.number}, due {invoice.due_date:%Y-%m-%d}: the "
            "client's admins receive it by e-mail and see it in their portal."
        ),
    )


@login_required
@require_POST
def invoice_mark_paid(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Record the client's payment of an issued invoice."""
    actor, invoice = _managed_invoice(request, invoice_id)
    form = PaidForm(request.POST, prefix="paid")
    if form.is_valid():
        try:
            invoice = actions.invoice_mark_paid(
                actor=actor, invoice=invoice, paid_on=form.cleaned_data["paid_on"]
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"{invoice.title} is paid.")
            return redirect("billing:invoice", invoice_id=invoice.pk)
    return _render_invoice(request, actor, invoice, {"paid_form": form}, status=400)


@login_required
@require_POST
def invoice_void(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Cancel an unpaid invoice, saying why; its usage goes back to be billed again."""
    actor, invoice = _managed_invoice(request, invoice_id)
    form = VoidForm(request.POST, prefix="void")
    if form.is_valid():
        try:
            invoice = actions.invoice_void(
                actor=actor, invoice=invoice, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(
                request,
                f"{invoice.title} is void. Its usage is free to be billed again: draft the "
                "month anew, or it goes to the next month's invoice.",
            )
            return redirect("billing:invoice", invoice_id=invoice.pk)
    return _render_invoice(request, actor, invoice, {"void_form": form}, status=400)


@login_required
@require_POST
def credit_note_create(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Correct an issued invoice with a draft credit note (all of it, or a net amount)."""
    actor, invoice = _managed_invoice(request, invoice_id)
    form = CreditNoteForm(request.POST, prefix="credit")
    if form.is_valid():
        try:
            note = actions.credit_note_create(
                actor=actor,
                invoice=invoice,
                reason=form.cleaned_data["reason"],
                amount=form.cleaned_data["amount"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(
                request,
                f"A credit note correcting {invoice.title} is drafted: approve and issue it "
                "to send it to the client.",
            )
            return redirect("billing:invoice", invoice_id=note.pk)
    return _render_invoice(request, actor, invoice, {"credit_form": form}, status=400)


@login_required
@require_GET
def invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The invoice as PDF, its amounts formatted for the reader (an audited export)."""
    actor = request_actor(request)
    actor.require(Permission.VIEW_BILLING)
    invoice = queries.invoice_export(actor=actor, invoice_id=invoice_id, fmt="pdf")
    return downloads.invoice_pdf_response(invoice)


@login_required
@require_GET
def invoice_csv(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The invoice's lines and totals as CSV (an audited export)."""
    actor = request_actor(request)
    actor.require(Permission.VIEW_BILLING)
    invoice = queries.invoice_export(actor=actor, invoice_id=invoice_id, fmt="csv")
    return downloads.invoice_csv_response(invoice)


# --- The usage and work behind a line --------------------------------------------------------

METER_WORDS = {
    Meter.RESOLVED_ITEMS: ("Resolved items", "items resolved for the first time that day"),
    Meter.HANDLED_MINUTES: ("Handled minutes", "minutes agents worked on the items that day"),
    Meter.PRODUCTION_MINUTES: (
        "Production minutes",
        "this service's share of its agents' logged-in minutes that day",
    ),
}


@login_required
@require_GET
def line_detail(request: HttpRequest, line_id: int) -> HttpResponse:
    """The days of usage behind an invoice line, each opening to the work of that day."""
    actor = request_actor(request)
    actor.require(Permission.VIEW_BILLING)
    line, days = queries.usage_days(actor=actor, line_id=line_id)
    return render(
        request,
        "billing/line.html",
        {
            "line": line,
            "invoice": line.invoice,
            "days": days,
            "total": sum((d.quantity for d in days), 0),
            "meter": METER_WORDS.get(Meter(line.meter)) if line.meter else None,
            "late_days": sum(1 for d in days if d.late),
        },
    )


@login_required
@require_GET
def line_day(request: HttpRequest, line_id: int, day: str) -> HttpResponse:
    """The items, work sessions or logged-in time behind a line on one day, a page at a time."""
    actor = request_actor(request)
    actor.require(Permission.VIEW_BILLING)
    try:
        on = date.fromisoformat(day)
    except ValueError:
        raise Http404("A day is written YYYY-MM-DD.") from None
    line = queries.line_of(actor=actor, line_id=line_id)
    after = int_or_none(request.GET.get("after"))
    rows: Any
    if line.meter == Meter.RESOLVED_ITEMS:
        line, rows = queries.usage_items(actor=actor, line_id=line_id, day=on)
    elif line.meter == Meter.HANDLED_MINUTES:
        line, rows = queries.usage_sessions(actor=actor, line_id=line_id, day=on)
    elif line.meter == Meter.PRODUCTION_MINUTES:
        line, rows = queries.usage_presence(actor=actor, line_id=line_id, day=on)
    else:
        raise Http404("This line is not counted from usage.")
    page = keyset_page(rows, after=after, limit=DAY_PAGE_SIZE)
    return render(
        request,
        "billing/line_day.html",
        {
            "line": line,
            "invoice": line.invoice,
            "day": on,
            "page": page,
            "rows": _day_rows(actor, line, on, page.items),
            "meter": METER_WORDS[Meter(line.meter)],
            "late": on < line.invoice.period_start,
            "first_page": after is None,
        },
    )


def _day_rows(actor: Actor, line: InvoiceLine, day: date, items: list[Any]) -> list[Any]:
    """What the template shows of each row: presence spans clipped to the day, and agents
    named only to the provider's staff (the client reads who by a number)."""
    if line.meter == Meter.RESOLVED_ITEMS:
        return items
    named = actor.can(Permission.VIEW_AGENTS, client_id=line.client_id)
    aliases: dict[int, str] = {}

    def who(user: Any) -> str:
        if named:
            return str(user.full_name or user.email)
        return aliases.setdefault(user.pk, f"Agent {len(aliases) + 1}")

    if line.meter == Meter.HANDLED_MINUTES:
        return [
            {
                "session": session,
                "agent": who(session.agent),
                "minutes": _minutes(session.seconds),
            }
            for session in items
        ]
    assert line.service is not None
    day_start, day_end = queries.day_bounds(line, day)
    now = timezone.now()
    rows = []
    for span in items:
        start = max(span.started_at, day_start)
        end = min(span.ended_at or now, day_end)
        rows.append(
            {
                "span": span,
                "agent": who(span.user),
                "start": start,
                "end": end,
                "open": span.ended_at is None,
                "minutes": _minutes(max((end - start).total_seconds(), 0)),
            }
        )
    return rows


def _minutes(seconds: float) -> Decimal:
    return (Decimal(seconds) / 60).quantize(Decimal("0.1"))


# --- Rate cards ------------------------------------------------------------------------------


def _draft_version(actor: Actor, version_id: int) -> ContractVersion:
    """A version finance may price: the permission first (403), then the lookup (404)."""
    actor.require(Permission.MANAGE_BILLING)
    try:
        version = contract_queries.version_get(actor=actor, version_id=version_id)
    except ContractVersion.DoesNotExist as exc:
        raise Http404 from exc
    actor.require(Permission.MANAGE_BILLING, client_id=version.client_id)
    return version


def _version_page(version_id: int) -> str:
    return reverse("contracts:version", kwargs={"version_id": version_id}) + "#rate-cards"


def _service_of(version: ContractVersion, service_id: int) -> Service | None:
    """A service of the version (its terms come prefetched)."""
    return next((t.service for t in version.terms.all() if t.service_id == service_id), None)


def _agreed(request: HttpRequest, version: ContractVersion) -> HttpResponse | None:
    if version.is_editable:
        return None
    messages.info(
        request,
        f"Version {version.number} is {version.get_status_display().lower()}: its prices were "
        "agreed. Start a new version of the contract to change them.",
    )
    return redirect(_version_page(version.pk))


@login_required
def rate_card_set(request: HttpRequest, version_id: int, service_id: int) -> HttpResponse:
    """Give a service of a draft version a rate card, or change its minimum commitment."""
    actor = request_actor(request)
    version = _draft_version(actor, version_id)
    service = _service_of(version, service_id)
    if service is None:
        raise Http404("The service is not part of this version.")
    if agreed := _agreed(request, version):
        return agreed
    cards = queries.rate_cards_of(actor=actor, version=version)
    card = next((c for c in cards if c.service_id == service_id), None)
    form = RateCardForm(
        request.POST or None,
        initial={"minimum_commitment": card.minimum_commitment if card else None},
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.rate_card_set(
                actor=actor,
                version=version,
                service=service,
                minimum_commitment=form.cleaned_data["minimum_commitment"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(
                request,
                f"{service.name} has a rate card."
                + ("" if card else " Add its charges: a rate card without charges bills nothing."),
            )
            return redirect(_version_page(version.pk))
    return _render_card_form(
        request,
        "billing/rate_card_form.html",
        version,
        {"form": form, "service": service, "card": card},
        title=f"Rate card of {service.name}",
    )


@login_required
def terms_edit(request: HttpRequest, version_id: int) -> HttpResponse:
    """Change the billing terms of a draft version: tax, rounding, payment, SLA credits."""
    actor = request_actor(request)
    version = _draft_version(actor, version_id)
    if agreed := _agreed(request, version):
        return agreed
    form = BillingTermsForm(request.POST or None, initial=BillingTermsForm.initial_from(version))
    if request.method == "POST" and form.is_valid():
        try:
            contract_actions.contract_version_update(
                actor=actor, version=version, **form.cleaned_data
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "The billing terms are saved.")
            return redirect(_version_page(version.pk))
    return _render_card_form(
        request,
        "billing/terms_form.html",
        version,
        {"form": form},
        title=f"Billing terms of version {version.number}",
    )


@login_required
@require_POST
def rate_card_remove(request: HttpRequest, rate_card_id: int) -> HttpResponse:
    """Take a service's rate card and its charges out of a draft version."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_BILLING)
    card = queries.rate_card_of(actor=actor, rate_card_id=rate_card_id)
    try:
        actions.rate_card_remove(actor=actor, rate_card=card)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The rate card of {card.service.name} is removed.")
    return redirect(_version_page(card.version_id))


@login_required
def charge_add(request: HttpRequest, rate_card_id: int) -> HttpResponse:
    """Add a charge to a rate card of a draft version."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_BILLING)
    card = queries.rate_card_of(actor=actor, rate_card_id=rate_card_id)
    if agreed := _agreed(request, card.version):
        return agreed
    form = ChargeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            charge = actions.charge_add(actor=actor, rate_card=card, **form.charge_fields())
        except ValidationError as exc:
            add_charge_errors(form, exc)
        else:
            messages.success(request, f"{charge.label} is added to {card.service.name}.")
            return redirect(_version_page(card.version_id))
    return _charge_form(request, card, form, title=f"New charge of {card.service.name}")


@login_required
def charge_edit(request: HttpRequest, charge_id: int) -> HttpResponse:
    """Change a charge of a draft version's rate card."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_BILLING)
    charge = queries.charge_of(actor=actor, charge_id=charge_id)
    card = charge.rate_card
    if agreed := _agreed(request, card.version):
        return agreed
    form = ChargeForm(request.POST or None, initial=ChargeForm.initial_from(charge))
    if request.method == "POST" and form.is_valid():
        try:
            actions.charge_update(actor=actor, charge=charge, **form.charge_fields())
        except ValidationError as exc:
            add_charge_errors(form, exc)
        else:
            messages.success(request, f"{charge.label} is saved.")
            return redirect(_version_page(card.version_id))
    return _charge_form(request, card, form, title=f"{charge.label} ({card.service.name})")


@login_required
@require_POST
def charge_remove(request: HttpRequest, charge_id: int) -> HttpResponse:
    """Take a charge off a draft version's rate card."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_BILLING)
    charge = queries.charge_of(actor=actor, charge_id=charge_id)
    try:
        actions.charge_remove(actor=actor, charge=charge)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{charge.label} is removed.")
    return redirect(_version_page(charge.rate_card.version_id))


def _charge_form(
    request: HttpRequest, card: RateCard, form: ChargeForm, *, title: str
) -> HttpResponse:
    return _render_card_form(
        request, "billing/charge_form.html", card.version, {"form": form, "card": card}, title=title
    )


def _render_card_form(
    request: HttpRequest,
    template: str,
    version: ContractVersion,
    context: dict[str, Any],
    *,
    title: str,
) -> HttpResponse:
    form = context["form"]
    return render(
        request,
        template,
        {**context, "version": version, "contract": version.contract, "title": title},
        status=400 if form.errors else 200,
    )
