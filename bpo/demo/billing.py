"""The demo's prices and invoices: Northwind's rate card (per resolved contact by channel,
graduated, with handled minutes, a platform fee and a minimum commitment), its critical
service levels with credits, and the invoices of the months its history covers: September
issued and paid, October issued and waiting for payment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from bpo.accounts.models import User
from bpo.billing import actions as billing
from bpo.billing.models import Invoice, InvoiceStatus
from bpo.contracts import actions as contracts
from bpo.contracts.models import Contract, SlaTarget, VersionStatus
from bpo.tenancy.context import acting_as, actor_for
from bpo.web.formatting import format_money as money

CONTRACT = "NW-2026-01"
TERMS = {
    "tax_label": "VAT",
    "tax_rate_percent": Decimal("19"),
    "payment_days": 30,
    "credit_at_risk_percent": Decimal("10"),
    "credit_pool_percent": Decimal("150"),
    "earn_back_months": 2,
}
# The critical service levels and their shares of the credit pool; the others are reported.
CRITICAL = {("urgent", "first_response"): "40", ("high", "first_response"): "30"}
CRITICAL[("normal", "resolution")] = "30"
CHARGES: list[dict[str, Any]] = [
    {
        "label": "Resolved contacts by e-mail",
        "model": "per_transaction",
        "channel": "email",
        "tiering": "graduated",
        "tiers": [{"up_to": "200", "price": "3.20"}, {"up_to": None, "price": "2.80"}],
    },
    {
        "label": "Resolved contacts by web form",
        "model": "per_transaction",
        "unit_price": "2.60",
        "channel": "form",
    },
    {
        "label": "Resolved contacts from the client's portal",
        "model": "per_transaction",
        "tiering": "graduated",
        "tiers": [{"up_to": "100", "price": "2.60"}, {"up_to": None, "price": "2.20"}],
        "channel": "web",
    },
    {
        "label": "Resolved contacts by API",
        "model": "per_transaction",
        "unit_price": "2.40",
        "channel": "api",
    },
    {
        "label": "Complaint handling supplement",
        "model": "per_transaction",
        "unit_price": "1.50",
        "item_type": "complaint",
    },
    {"label": "Handled minutes", "model": "per_handled_minute", "unit_price": "0.35"},
    {"label": "Platform and reporting", "model": "fixed_fee", "unit_price": "450.00"},
]
MINIMUM = Decimal("900.00")


def seed_billing(*, admin: User, progress: Callable[[str], None]) -> None:
    """Northwind's prices (a second contract version) and its invoices, once."""
    with acting_as(actor_for(admin)) as actor:
        contract = Contract.objects.get(reference=CONTRACT)
        if Invoice.objects.filter(contract=contract).exists():
            progress("[8/9] billing: already there")
            return
        active = contract.versions.get(status=VersionStatus.ACTIVE)
        if not active.rate_cards.exists():
            version = contracts.contract_version_draft(actor=actor, contract=contract)
            contracts.contract_version_update(
                actor=actor, version=version, start_date=active.start_date, **TERMS
            )
            for target in SlaTarget.objects.filter(policy__version=version):
                share = CRITICAL.get((target.priority, target.metric))
                if share:
                    SlaTarget.objects.filter(pk=target.pk).update(credit_share_percent=share)
            for terms in version.terms.select_related("service"):
                card = billing.rate_card_set(
                    actor=actor, version=version, service=terms.service, minimum_commitment=MINIMUM
                )
                for charge in CHARGES:
                    billing.charge_add(actor=actor, rate_card=card, **charge)
            contracts.contract_version_activate(actor=actor, version=version)
        progress(f"[8/9] billing: {CONTRACT} priced by its rate card, credits on 3 levels")
        today = timezone.localdate()
        this_month = today.replace(day=1)
        for month in (this_month - relativedelta(months=2), this_month - relativedelta(months=1)):
            invoice = billing.invoice_draft(actor=actor, contract=contract, month=month)
            invoice = billing.invoice_approve(actor=actor, invoice=invoice)
            invoice = billing.invoice_issue(actor=actor, invoice=invoice)
            if month < this_month - relativedelta(months=1):
                invoice = billing.invoice_mark_paid(actor=actor, invoice=invoice)
            progress(f"[8/9] billing: {_describe(invoice, month)}")


def _describe(invoice: Invoice, month: date) -> str:
    state = "paid" if invoice.status == InvoiceStatus.PAID else "issued"
    return f"invoice {invoice.number} for {month:%B %Y}, {money(invoice.total, 'EUR')}, {state}"
