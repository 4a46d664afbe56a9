"""An invoice's lines from the contract version's terms and the usage it claims.

For each service's rate card: its charges priced on the month's metered quantities (one line,
or one per graduated tier reached), baseline adjustments, and a true-up to the minimum
commitment. Then the contract's service-level credits on the month's fees (capped at the amount
at risk) and earn-backs of earlier credits. Line amounts are rounded to the currency by the
contract's rule; unit prices and quantities are kept exact.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db.models import Sum

from bpo.billing import pricing, rating
from bpo.billing.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Usage,
)
from bpo.billing.rating import Priced, RatingError, ServiceLevelOutcome
from bpo.contracts.models import (
    Charge,
    ContractVersion,
    RateCard,
    Service,
    ServiceTerms,
    SlaTarget,
)
from bpo.portal.queries import attainment_of, service_sla_days
from bpo.portal.reports import STATUS_ACHIEVED, STATUS_MISSED, month_last, service_level_status

ZERO = Decimal(0)
# Usage totals an invoice claims: (service, meter, channel, priority, item type) -> quantity.
UsageKey = tuple[int, str, str, str, str]


@dataclass
class Draft:
    """The lines being built, each amount rounded as it is added."""

    invoice: Invoice
    version: ContractVersion
    lines: list[InvoiceLine]

    def add(self, kind: str, description: str, priced: Priced, unit: str = "", **refs: Any) -> None:
        # The amount is the quantity shown times the unit price, so the line checks out.
        quantity = priced.quantity.quantize(Decimal("0.0001"))
        amount = rating.round_money(
            quantity * priced.unit_price, self.invoice.currency, self.version.rounding
        )
        self.lines.append(
            InvoiceLine(
                client_id=self.invoice.client_id,
                invoice=self.invoice,
                position=len(self.lines) + 1,
                kind=kind,
                description=description[:300],
                quantity=quantity,
                unit=unit,
                unit_price=priced.unit_price,
                amount=amount,
                **refs,
            )
        )

    def total(self, *kinds: str) -> Decimal:
        return sum((line.amount for line in self.lines if line.kind in kinds), ZERO)


def claimed_usage(invoice: Invoice) -> dict[UsageKey, Decimal]:
    """The invoice's usage, summed per service, meter, channel, priority and item type."""
    rows = (
        Usage.objects.filter(client_id=invoice.client_id, invoice=invoice)
        .values_list("service_id", "meter", "channel", "priority", "item_type")
        .annotate(total=Sum("quantity"))
    )
    return {(s, m, c, p, t): total for s, m, c, p, t, total in rows}


def metered_for(charge: Charge, service_id: int, usage: dict[UsageKey, Decimal]) -> Decimal:
    """The month's total of the charge's meter, narrowed as the charge says."""
    meter = pricing.METER_OF[charge.model]
    return sum(
        (
            quantity
            for (service, m, channel, priority, item_type), quantity in usage.items()
            if service == service_id
            and m == meter
            and item_type == charge.item_type
            and (not charge.channel or channel == charge.channel)
            and (not charge.priority or priority == charge.priority)
        ),
        ZERO,
    )


def build_lines(invoice: Invoice, version: ContractVersion) -> list[InvoiceLine]:
    """Every line of a month's invoice (unsaved), see the module."""
    draft = Draft(invoice, version, [])
    usage = claimed_usage(invoice)
    cards = list(
        RateCard.objects.filter(client_id=invoice.client_id, version=version)
        .select_related("service")
        .prefetch_related("charges")
        .order_by("service__name", "pk")
    )
    for card in cards:
        _price_card(draft, card, usage)
    _credits(draft)
    return draft.lines


def _price_card(draft: Draft, card: RateCard, usage: dict[UsageKey, Decimal]) -> None:
    first = len(draft.lines)
    charges = list(card.charges.all())
    if not charges:
        raise RatingError(f"The rate card of {card.service.name} has no charges.")
    for charge in charges:
        metered = metered_for(charge, card.service_id, usage)
        quantity = pricing.quantity_of(charge, metered)
        unit = pricing.UNIT_OF[charge.model]
        refs = {
            "service_id": card.service_id,
            "charge": charge,
            "meter": pricing.METER_OF[charge.model],
            "channel": charge.channel,
            "priority": charge.priority,
            "item_type": charge.item_type,
        }
        parts = pricing.price(charge, quantity)
        if not parts:  # graduated tiers and nothing counted: say so at the first tier's price
            parts = [("charge", Priced(ZERO, pricing.tiers_of(charge.tiers)[0].price))]
        for kind, priced in parts:
            label = f"{card.service.name}: {charge.label}"
            if priced.label:
                label += f" ({priced.label})"
            draft.add(kind, label, priced, unit, **refs)
    if card.minimum_commitment is not None:
        charged = sum((line.amount for line in draft.lines[first:]), ZERO)
        shortfall = rating.true_up(charged, card.minimum_commitment)
        if shortfall:
            draft.add(
                LineKind.TRUE_UP,
                f"{card.service.name}: minimum commitment of {card.minimum_commitment} "
                f"(charged {charged})",
                Priced(Decimal(1), shortfall),
                "month",
                service_id=card.service_id,
            )


def _credits(draft: Draft) -> None:
    """Service-level credits of the month and earn-backs of earlier ones."""
    version, invoice = draft.version, draft.invoice
    if version.credit_at_risk_percent is None:
        return
    month = invoice.period_start
    fees = draft.total(LineKind.CHARGE, LineKind.BASELINE, LineKind.TRUE_UP)
    levels = critical_levels(version)
    outcomes = [
        (
            terms,
            target,
            level_status(terms.service, target, month) == STATUS_MISSED,
        )
        for terms, target in levels
    ]
    credits = rating.sla_credits(
        monthly_fees=fees,
        at_risk_percent=version.credit_at_risk_percent,
        pool_percent=version.credit_pool_percent,
        levels=[
            ServiceLevelOutcome(_level_name(terms, target), target.credit_share_percent, missed)
            for terms, target, missed in outcomes
            if target.credit_share_percent is not None
        ],
    )
    for terms, target, missed in outcomes:
        if not missed:
            continue
        name = _level_name(terms, target)
        credit = rating.round_money(credits.per_level[name], invoice.currency, version.rounding)
        draft.add(
            LineKind.SLA_CREDIT,
            f"Service-level credit: {name} missed in {month:%Y-%m} "
            f"({target.credit_share_percent}% of the pool)",
            Priced(Decimal(1), -credit),
            service_id=terms.service_id,
            target=target,
            level_month=month,
        )
    credited = -draft.total(LineKind.SLA_CREDIT)
    at_risk = rating.round_money(credits.at_risk, invoice.currency, version.rounding)
    if credited > at_risk:
        draft.add(
            LineKind.CREDIT_CAP,
            f"Credits capped at the amount at risk ({version.credit_at_risk_percent}% of "
            f"{fees} = {at_risk})",
            Priced(Decimal(1), credited - at_risk),
        )
    if version.earn_back_months:
        _earn_backs(draft, version.earn_back_months)


def critical_levels(version: ContractVersion) -> list[tuple[ServiceTerms, SlaTarget]]:
    """The version's critical service levels: each service's targets with a credit share."""
    terms = list(
        ServiceTerms.objects.filter(client_id=version.client_id, version=version)
        .exclude(sla_policy__isnull=True)
        .select_related("service")
        .order_by("service__name")
    )
    targets = defaultdict(list)
    for target in SlaTarget.objects.filter(
        policy_id__in=[t.sla_policy_id for t in terms], credit_share_percent__isnull=False
    ).order_by("metric", "priority"):
        targets[target.policy_id].append(target)
    return [(term, target) for term in terms for target in targets[term.sla_policy_id or 0]]


def _level_name(terms: ServiceTerms, target: SlaTarget) -> str:
    return (
        f"{terms.service.name} {target.get_metric_display().lower()} "
        f"{target.get_priority_display().lower()} ≥ {target.service_level_percent}%"
    )


def level_status(service: Service, target: SlaTarget, month: date) -> str:
    """Whether the service achieved ``target``'s service level over ``month`` (the portal's
    rollups must be fresh)."""
    last = month_last(month)
    rows = [
        row
        for row in service_sla_days(service, month, last)
        if row["metric"] == target.metric and row["priority"] == target.priority
    ]
    return service_level_status(attainment_of(rows, month, last), target.service_level_percent)


def _earn_backs(draft: Draft, months: int) -> None:
    """An earlier credit comes back once the level was achieved in each of the ``months``
    months after the miss, the last of which is this invoice's month."""
    invoice = draft.invoice
    missed_in = invoice.period_start - relativedelta(months=months)
    credited = (
        InvoiceLine.objects.filter(
            client_id=invoice.client_id,
            invoice__contract_id=invoice.contract_id,
            kind=LineKind.SLA_CREDIT,
            level_month=missed_in,
            invoice__status__in=[InvoiceStatus.APPROVED, InvoiceStatus.ISSUED, InvoiceStatus.PAID],
        )
        .exclude(
            earned_back_by__invoice__status__in=[
                InvoiceStatus.APPROVED,
                InvoiceStatus.ISSUED,
                InvoiceStatus.PAID,
            ]
        )
        .select_related("target", "service", "invoice")
    )
    for credit in credited:
        assert credit.target is not None and credit.service is not None
        later = [missed_in + relativedelta(months=n) for n in range(1, months + 1)]
        beat = [
            level_status(credit.service, credit.target, month) == STATUS_ACHIEVED for month in later
        ]
        returned = rating.earn_back(-_capped(credit), beat, months)
        if returned:
            draft.add(
                LineKind.EARN_BACK,
                f"Earn-back: the credit for {credit.service.name if credit.service else ''} in "
                f"{missed_in:%Y-%m} ({credit.invoice.title}) returns, the level was achieved "
                f"in the {months} months after",
                Priced(Decimal(1), returned),
                service_id=credit.service_id,
                target=credit.target,
                level_month=missed_in,
                earns_back=credit,
            )


def _capped(credit: InvoiceLine) -> Decimal:
    """A credit line's amount after its invoice's cap (the cap shared in proportion)."""
    lines = list(credit.invoice.lines.filter(kind__in=[LineKind.SLA_CREDIT, LineKind.CREDIT_CAP]))
    credited = sum((line.amount for line in lines if line.kind == LineKind.SLA_CREDIT), ZERO)
    cap = sum((line.amount for line in lines if line.kind == LineKind.CREDIT_CAP), ZERO)
    if not cap or not credited:
        return credit.amount
    return rating.round_money(
        credit.amount * (credited + cap) / credited,
        credit.invoice.currency,
        credit.invoice.version.rounding,
    )
