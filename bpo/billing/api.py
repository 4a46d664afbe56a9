"""API: rate cards and their charges, invoices and credit notes, the usage behind each line,
and revenue. Money and quantities are decimal strings both ways (see bpo.billing.schemas)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Status

from bpo.apitypes import DbId, IsoDate, changes, month_of
from bpo.billing import actions, downloads, queries
from bpo.billing.models import Invoice
from bpo.billing.schemas import (
    CHARGE_NULLABLE,
    ChargeIn,
    ChargeOut,
    ChargePatch,
    CreditNoteIn,
    InvoiceDetailOut,
    InvoiceIn,
    InvoiceListParams,
    InvoicePage,
    LineUsageOut,
    PaidIn,
    PresenceSpanPage,
    RateCardIn,
    RateCardOut,
    RevenueOut,
    RevenueParams,
    UsageItemPage,
    UsageSessionPage,
    VoidIn,
)
from bpo.contracts import queries as contract_queries
from bpo.contracts.models import Charge, Contract, RateCard
from bpo.errors import FieldError, documented_errors
from bpo.paging import PageParams, page_of
from bpo.tenancy.context import request_actor

router = Router(tags=["billing"])

PDF = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
CSV = {"text/csv": {"schema": {"type": "string"}}}


def _tiers(data: dict[str, Any]) -> dict[str, Any]:
    """Tiers are stored as decimal strings, exactly as they came."""
    if data.get("tiers") is not None:
        data["tiers"] = [
            {
                "up_to": None if tier.get("up_to") is None else str(tier["up_to"]),
                "price": str(tier["price"]),
            }
            for tier in data["tiers"]
        ]
    return data


# --- Rate cards --------------------------------------------------------------------------------


@router.get(
    "/contract-versions/{version_id}/rate-cards",
    response={200: list[RateCardOut], **documented_errors(403, 404)},
    summary="A version's rate cards with their charges",
)
def list_rate_cards(request: HttpRequest, version_id: DbId) -> list[RateCard]:
    actor = request_actor(request)
    version = contract_queries.version_get(actor=actor, version_id=version_id)
    return queries.rate_cards_of(actor=actor, version=version)


@router.put(
    "/contract-versions/{version_id}/rate-cards/{service_id}",
    response={200: RateCardOut, **documented_errors(403, 404)},
    summary="Give a service a rate card in a draft version, or change its minimum commitment",
)
def set_rate_card(
    request: HttpRequest, version_id: DbId, service_id: DbId, payload: RateCardIn
) -> RateCard:
    actor = request_actor(request)
    version = contract_queries.version_get(actor=actor, version_id=version_id)
    service = queries.rate_card_service(actor=actor, version=version, service_id=service_id)
    card = actions.rate_card_set(
        actor=actor,
        version=version,
        service=service,
        minimum_commitment=payload.minimum_commitment,
    )
    return queries.rate_card_of(actor=actor, rate_card_id=card.pk)


@router.delete(
    "/contract-versions/{version_id}/rate-cards/{service_id}",
    response={204: None, **documented_errors(403, 404)},
    summary="Take a service's rate card (and its charges) out of a draft version",
)
def remove_rate_card(request: HttpRequest, version_id: DbId, service_id: DbId) -> Status[None]:
    actor = request_actor(request)
    version = contract_queries.version_get(actor=actor, version_id=version_id)
    card = queries.rate_card_in(actor=actor, version=version, service_id=service_id)
    actions.rate_card_remove(actor=actor, rate_card=card)
    return Status(204, None)


@router.post(
    "/rate-cards/{rate_card_id}/charges",
    response={201: ChargeOut, **documented_errors(403, 404)},
    summary="Add a charge to a rate card of a draft version",
)
def add_charge(request: HttpRequest, rate_card_id: DbId, payload: ChargeIn) -> Status[Charge]:
    actor = request_actor(request)
    card = queries.rate_card_of(actor=actor, rate_card_id=rate_card_id)
    fields = _tiers(payload.dict(exclude_none=True))
    return Status(201, actions.charge_add(actor=actor, rate_card=card, **fields))


@router.patch(
    "/charges/{charge_id}",
    response={200: ChargeOut, **documented_errors(403, 404)},
    summary="Change a charge of a draft version's rate card",
)
def update_charge(request: HttpRequest, charge_id: DbId, payload: ChargePatch) -> Charge:
    actor = request_actor(request)
    charge = queries.charge_of(actor=actor, charge_id=charge_id)
    fields = _tiers(changes(payload, nullable=CHARGE_NULLABLE))
    return actions.charge_update(actor=actor, charge=charge, **fields)


@router.delete(
    "/charges/{charge_id}",
    response={204: None, **documented_errors(403, 404)},
    summary="Take a charge off a draft version's rate card",
)
def remove_charge(request: HttpRequest, charge_id: DbId) -> Status[None]:
    actor = request_actor(request)
    actions.charge_remove(actor=actor, charge=queries.charge_of(actor=actor, charge_id=charge_id))
    return Status(204, None)


# --- Invoices ----------------------------------------------------------------------------------


@router.get(
    "/invoices",
    response={200: InvoicePage, **documented_errors(403)},
    summary="Invoices and credit notes (client admins see them once issued)",
)
def list_invoices(request: HttpRequest, params: Query[InvoiceListParams]) -> dict[str, Any]:
    rows = queries.invoices_of(
        actor=request_actor(request), client_id=params.client_id, status=params.status
    )
    return page_of(rows, params)


@router.post(
    "/invoices",
    response={200: InvoiceDetailOut, 201: InvoiceDetailOut, **documented_errors(403)},
    summary="Compute a contract's invoice of a month from its usage (201: a new draft; 200: "
    "the month's draft computed again)",
)
def draft_invoice(request: HttpRequest, payload: InvoiceIn) -> Status[Invoice]:
    actor = request_actor(request)
    try:
        contract = queries.contract_billable(actor=actor, contract_id=payload.contract_id)
    except Contract.DoesNotExist as exc:
        raise FieldError(
            "body.contract_id", f"There is no contract with id {payload.contract_id}."
        ) from exc
    started = timezone.now()
    invoice = actions.invoice_draft(actor=actor, contract=contract, month=month_of(payload.month))
    detail = queries.invoice_of(actor=actor, invoice_id=invoice.pk)
    return Status(201 if detail.created_at >= started else 200, detail)


@router.get(
    "/invoices/{invoice_id}",
    response={200: InvoiceDetailOut, **documented_errors(404)},
    summary="One invoice or credit note with its lines and totals",
)
def get_invoice(request: HttpRequest, invoice_id: DbId) -> Invoice:
    return queries.invoice_of(actor=request_actor(request), invoice_id=invoice_id)


def _invoice_step(request: HttpRequest, invoice_id: int, step: Any, **values: Any) -> Invoice:
    """Find the invoice, take it one step in its life, answer it as it is now."""
    actor = request_actor(request)
    invoice = queries.invoice_of(actor=actor, invoice_id=invoice_id)
    step(actor=actor, invoice=invoice, **values)
    return queries.invoice_of(actor=actor, invoice_id=invoice_id)


@router.post(
    "/invoices/{invoice_id}/recompute",
    response={200: InvoiceDetailOut, **documented_errors(403, 404)},
    summary="Compute a draft again from the usage as it is now",
)
def recompute_invoice(request: HttpRequest, invoice_id: DbId) -> Invoice:
    return _invoice_step(request, invoice_id, actions.invoice_recompute)


@router.post(
    "/invoices/{invoice_id}/approve",
    response={200: InvoiceDetailOut, **documented_errors(403, 404)},
    summary="Approve a draft: its lines and usage never change again",
)
def approve_invoice(request: HttpRequest, invoice_id: DbId) -> Invoice:
    return _invoice_step(request, invoice_id, actions.invoice_approve)


@router.post(
    "/invoices/{invoice_id}/issue",
    response={200: InvoiceDetailOut, **documented_errors(403, 404)},
    summary="Issue an approved invoice: numbered, mailed to the client's admins, in the portal",
)
def issue_invoice(request: HttpRequest, invoice_id: DbId) -> Invoice:
    return _invoice_step(request, invoice_id, actions.invoice_issue)


@router.post(
    "/invoices/{invoice_id}/paid",
    response={200: InvoiceDetailOut, **documented_errors(403, 404)},
    summary="Record that the client paid an issued invoice (body {} for today)",
)
def pay_invoice(request: HttpRequest, invoice_id: DbId, payload: PaidIn) -> Invoice:
    return _invoice_step(request, invoice_id, actions.invoice_mark_paid, paid_on=payload.paid_on)


@router.post(
    "/invoices/{invoice_id}/void",
    response={200: InvoiceDetailOut, **documented_errors(403, 404)},
    summary="Cancel an invoice that was not paid (its usage goes to be billed again)",
)
def void_invoice(request: HttpRequest, invoice_id: DbId, payload: VoidIn) -> Invoice:
    return _invoice_step(request, invoice_id, actions.invoice_void, reason=payload.reason)


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    response={201: InvoiceDetailOut, **documented_errors(403, 404)},
    summary="Correct an issued invoice with a draft credit note (all of it, or an amount)",
)
def create_credit_note(
    request: HttpRequest, invoice_id: DbId, payload: CreditNoteIn
) -> Status[Invoice]:
    actor = request_actor(request)
    invoice = queries.invoice_of(actor=actor, invoice_id=invoice_id)
    note = actions.credit_note_create(
        actor=actor, invoice=invoice, reason=payload.reason, amount=payload.amount
    )
    return Status(201, queries.invoice_of(actor=actor, invoice_id=note.pk))


@router.get(
    "/invoices/{invoice_id}/pdf",
    response={**documented_errors(404)},
    summary="An invoice as PDF, amounts in the reader's locale (Accept-Language)",
    openapi_extra={"responses": {"200": {"description": "The PDF.", "content": PDF}}},
)
def invoice_pdf(request: HttpRequest, invoice_id: DbId) -> HttpResponse:
    invoice = queries.invoice_export(actor=request_actor(request), invoice_id=invoice_id, fmt="pdf")
    return downloads.invoice_pdf_response(invoice)


@router.get(
    "/invoices/{invoice_id}/csv",
    response={**documented_errors(404)},
    summary="An invoice's lines and totals as CSV (plain decimal amounts)",
    openapi_extra={"responses": {"200": {"description": "The CSV.", "content": CSV}}},
)
def invoice_csv(request: HttpRequest, invoice_id: DbId) -> HttpResponse:
    invoice = queries.invoice_export(actor=request_actor(request), invoice_id=invoice_id, fmt="csv")
    return downloads.invoice_csv_response(invoice)


# --- The usage behind a line -------------------------------------------------------------------


@router.get(
    "/invoice-lines/{line_id}/usage",
    response={200: LineUsageOut, **documented_errors(404)},
    summary="The days of usage behind an invoice line, with the quantity of each",
)
def line_usage(request: HttpRequest, line_id: DbId) -> dict[str, Any]:
    line, days = queries.usage_days(actor=request_actor(request), line_id=line_id)
    return {"line": line, "meter": line.meter or None, "days": days}


@router.get(
    "/invoice-lines/{line_id}/usage/{day}/items",
    response={200: UsageItemPage, **documented_errors(404)},
    summary="The resolved items a per-item line counted on a day",
)
def line_usage_items(
    request: HttpRequest, line_id: DbId, day: IsoDate, params: Query[PageParams]
) -> dict[str, Any]:
    _, items = queries.usage_items(actor=request_actor(request), line_id=line_id, day=day)
    return page_of(items, params)


@router.get(
    "/invoice-lines/{line_id}/usage/{day}/sessions",
    response={200: UsageSessionPage, **documented_errors(404)},
    summary="The work sessions a per-minute line counted on a day",
)
def line_usage_sessions(
    request: HttpRequest, line_id: DbId, day: IsoDate, params: Query[PageParams]
) -> dict[str, Any]:
    _, sessions = queries.usage_sessions(actor=request_actor(request), line_id=line_id, day=day)
    return page_of(sessions, params)


@router.get(
    "/invoice-lines/{line_id}/usage/{day}/presence",
    response={200: PresenceSpanPage, **documented_errors(404)},
    summary="The agents' logged-in time behind a production-time line on a day",
)
def line_usage_presence(
    request: HttpRequest, line_id: DbId, day: IsoDate, params: Query[PageParams]
) -> dict[str, Any]:
    _, spans = queries.usage_presence(actor=request_actor(request), line_id=line_id, day=day)
    return page_of(spans, params)


# --- Revenue -----------------------------------------------------------------------------------


@router.get(
    "/revenue",
    response={200: RevenueOut, **documented_errors(403)},
    summary="Billed revenue per client and service over the last months (finance)",
)
def get_revenue(request: HttpRequest, params: Query[RevenueParams]) -> queries.Revenue:
    return queries.revenue(actor=request_actor(request), months=params.months)
