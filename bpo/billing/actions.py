"""Writes of billing: rate cards on a draft contract version, and the life of an invoice
(draft, approved, issued, paid or void) and of the credit notes that correct one."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from bpo.accounts.roles import Permission, Role
from bpo.audit.log import record, snapshot
from bpo.billing import invoicing, rating
from bpo.billing.metering import Window, usage_meter_all
from bpo.billing.models import (
    Invoice,
    InvoiceDelivery,
    InvoiceKind,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    LineKind,
    Usage,
)
from bpo.billing.pricing import charge_problems
from bpo.billing.rating import Priced, RatingError
from bpo.contracts.models import (
    Charge,
    Contract,
    ContractVersion,
    RateCard,
    Service,
    VersionStatus,
)
from bpo.portal.queries import zone_of
from bpo.portal.reports import month_first, month_last
from bpo.portal.rollups import rollups_refresh
from bpo.tenancy.context import Actor
from bpo.tenancy.models import Client, Provider
from bpo.tenancy.scoping import all_clients_unscoped, client_scope
from bpo.web.formatting import format_money

CHARGE_FIELDS = (
    "position",
    "label",
    "model",
    "channel",
    "priority",
    "item_type",
    "tiering",
    "unit_price",
    "tiers",
    "fte_hours",
    "baseline",
    "deadband_percent",
    "additional_rate",
    "reduced_rate",
)
PREFIX = {InvoiceKind.INVOICE: "INV", InvoiceKind.CREDIT_NOTE: "CN"}


# --- Rate cards ------------------------------------------------------------------------------


def _require_draft(version: ContractVersion) -> None:
    if not version.is_editable:
        raise ValidationError(
            f"Version {version.number} is {version.get_status_display().lower()}: its prices "
            "were agreed. Start a new version of the contract to change them."
        )


def rate_card_set(
    *,
    actor: Actor,
    version: ContractVersion,
    service: Service,
    minimum_commitment: Any = None,
) -> RateCard:
    """Give a service a rate card in a draft version (or change its minimum commitment)."""
    actor.require(Permission.MANAGE_BILLING, client_id=version.client_id)
    _require_draft(version)
    if service.client_id != version.client_id or service.contract_id != version.contract_id:
        raise ValidationError({"service_id": "The service is not under this contract."})
    with transaction.atomic():
        card = RateCard.objects.filter(version=version, service=service).first()
        before = None if card is None else {"minimum_commitment": card.minimum_commitment}
        card = card or RateCard(client_id=version.client_id, version=version, service=service)
        card.minimum_commitment = None if minimum_commitment in (None, "") else minimum_commitment
        card.full_clean(exclude=["version", "service"], validate_constraints=False)
        card.save()
        record(
            "rate_card.set",
            obj=card,
            before=before,
            after={
                "version": version.number,
                "service_id": service.pk,
                "minimum_commitment": card.minimum_commitment,
            },
        )
    return card


def rate_card_remove(*, actor: Actor, rate_card: RateCard) -> None:
    """Take a service's rate card (and its charges) out of a draft version."""
    actor.require(Permission.MANAGE_BILLING, client_id=rate_card.client_id)
    _require_draft(rate_card.version)
    with transaction.atomic():
        record(
            "rate_card.removed",
            obj=rate_card,
            before={"service_id": rate_card.service_id, "charges": rate_card.charges.count()},
        )
        rate_card.delete()


def charge_add(*, actor: Actor, rate_card: RateCard, **fields: Any) -> Charge:
    """Add a charge to a rate card of a draft version."""
    actor.require(Permission.MANAGE_BILLING, client_id=rate_card.client_id)
    _require_draft(rate_card.version)
    charge = Charge(client_id=rate_card.client_id, rate_card=rate_card)
    if "position" not in fields:
        fields["position"] = rate_card.charges.count() + 1
    return _charge_save(charge, fields, "charge.added", before=None)


def charge_update(*, actor: Actor, charge: Charge, **changes: Any) -> Charge:
    """Change a charge of a draft version's rate card."""
    actor.require(Permission.MANAGE_BILLING, client_id=charge.client_id)
    _require_draft(charge.rate_card.version)
    return _charge_save(charge, changes, "charge.updated", before=snapshot(charge, CHARGE_FIELDS))


def charge_remove(*, actor: Actor, charge: Charge) -> None:
    """Take a charge off a draft version's rate card."""
    actor.require(Permission.MANAGE_BILLING, client_id=charge.client_id)
    _require_draft(charge.rate_card.version)
    with transaction.atomic():
        record("charge.removed", obj=charge, before=snapshot(charge, CHARGE_FIELDS))
        charge.delete()


def _charge_save(
    charge: Charge, fields: dict[str, Any], action: str, before: dict[str, Any] | None
) -> Charge:
    unknown = set(fields) - set(CHARGE_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    for name, value in fields.items():
        if name in ("channel", "priority", "item_type", "label") and value is None:
            value = ""
        if name == "tiers" and value is None:
            value = []
        setattr(charge, name, value)
    charge.full_clean(exclude=["rate_card"])
    with transaction.atomic():
        charge.save()
        record(action, obj=charge, before=before, after=snapshot(charge, CHARGE_FIELDS))
    return charge


def rate_cards_copy(*, source: ContractVersion, draft: ContractVersion) -> None:
    """A new draft version starts with the rate cards of the version it was copied from."""
    for card in source.rate_cards.prefetch_related("charges"):
        copy = RateCard.objects.create(
            client_id=card.client_id,
            version=draft,
            service_id=card.service_id,
            minimum_commitment=card.minimum_commitment,
        )
        Charge.objects.bulk_create(
            Charge(
                client_id=charge.client_id,
                rate_card=copy,
                **{name: getattr(charge, name) for name in CHARGE_FIELDS},
            )
            for charge in card.charges.all()
        )


def version_billing_problems(version: ContractVersion) -> list[str]:
    """What keeps a version's prices and credits from billing a month (activation refuses)."""
    problems = []
    for card in version.rate_cards.select_related("service").prefetch_related("charges"):
        charges = list(card.charges.all())
        if not charges:
            problems.append(f"The rate card of {card.service.name} has no charges.")
        for charge in charges:
            for field, problem in charge_problems(charge).items():
                problems.append(f"{card.service.name}, {charge.label}: {field}: {problem}")
    # Counted as the invoice counts them: a policy two services share is two sets of levels.
    shares = [target.credit_share_percent for _, target in invoicing.critical_levels(version)]
    total = sum((share for share in shares if share is not None), Decimal(0))
    if total > 100:
        problems.append(
            f"The critical service levels' credit shares add up to {total}%, more than the "
            "whole pool (100%)."
        )
    if shares and version.credit_at_risk_percent is None:
        problems.append(
            "Service levels carry credit shares, but no share of the fees is at risk: set the "
            "percentage at risk."
        )
    return problems


# --- Invoices --------------------------------------------------------------------------------


def version_for_month(contract: Contract, month: date) -> ContractVersion:
    """The agreed version whose prices bill ``month``: the latest in force during it."""
    last = month_last(month)
    version = (
        ContractVersion.objects.filter(contract=contract, start_date__lte=last)
        .exclude(status=VersionStatus.DRAFT)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=month))
        .order_by("-number")
        .first()
    )
    if version is None:
        raise ValidationError(
            {"month": f"No agreed version of {contract.reference} covered {month:%Y-%m}."}
        )
    return version


def invoice_draft(
    *, actor: Actor, contract: Contract, month: date, now: datetime | None = None
) -> Invoice:
    """The contract's invoice for ``month``, computed from the metered usage: a new draft, or
    the month's draft computed again (approved invoices are never touched)."""
    actor.require(Permission.MANAGE_BILLING, client_id=contract.client_id)
    return _draft(contract, month, now or timezone.now())


def _draft(contract: Contract, month: date, now: datetime, actor_email: str = "") -> Invoice:
    month = month_first(month)
    zone = ZoneInfo(contract.client.time_zone)
    if month > month_first(now.astimezone(zone).date()):
        raise ValidationError({"month": f"{month:%Y-%m} has not begun: nothing to bill yet."})
    with transaction.atomic():
        Contract.objects.select_for_update().filter(pk=contract.pk).first()
        earlier = (
            Invoice.objects.filter(
                contract=contract,
                kind=InvoiceKind.INVOICE,
                status=InvoiceStatus.DRAFT,
                period_start__lt=month,
            )
            .order_by("period_start")
            .first()
        )
        if earlier is not None:
            raise ValidationError(
                {
                    "month": f"The invoice for {earlier.period_start:%Y-%m} is still a draft: "
                    "approve or void it first, so that its usage is billed in order."
                }
            )
        invoice = (
            Invoice.objects.filter(contract=contract, kind=InvoiceKind.INVOICE, period_start=month)
            .exclude(status=InvoiceStatus.VOID)
            .first()
        )
        if invoice is not None and invoice.is_frozen:
            raise ValidationError(
                {
                    "month": f"The invoice for {month:%Y-%m} is "
                    f"{invoice.get_status_display().lower()}: it never changes. Correct it "
                    "with a credit note; usage that came late goes to the next month's invoice."
                }
            )
        version = version_for_month(contract, month)
        before = None
        if invoice is None:
            invoice = Invoice.objects.create(
                client_id=contract.client_id,
                contract=contract,
                version=version,
                period_start=month,
                period_end=month_last(month),
                currency=version.currency,
                tax_label=version.tax_label,
                tax_rate_percent=version.tax_rate_percent,
                computed_at=now,
            )
        else:
            before = {"net": invoice.net, "total": invoice.total, "lines": invoice.lines.count()}
        _compute(invoice, version, now)
        record(
            "invoice.computed",
            obj=invoice,
            before=before,
            after={
                "month": f"{month:%Y-%m}",
                "version": version.number,
                "net": invoice.net,
                "total": invoice.total,
                "lines": invoice.lines.count(),
            },
            actor_email=actor_email,
        )
    return invoice


def _compute(invoice: Invoice, version: ContractVersion, now: datetime) -> None:
    """Meter the usage, claim what is unbilled up to the month's end, and price it."""
    cards = list(version.rate_cards.select_related("service"))
    if not cards:
        raise ValidationError(
            {
                "month": f"Version {version.number} of the contract has no rate card: "
                "nothing to price."
            }
        )
    Usage.objects.filter(client_id=invoice.client_id, invoice=invoice).update(invoice=None)
    services = [card.service for card in cards]
    by_zone: dict[ZoneInfo, list[Service]] = {}
    for service in services:
        by_zone.setdefault(zone_of(service), []).append(service)
    for zone, metered in by_zone.items():
        # The month and the one before: late changes to last month's work are caught too.
        # The services of one zone are metered together: their sessions are read once.
        window = Window(invoice.period_start - relativedelta(months=1), invoice.period_end, zone)
        usage_meter_all(services=metered, window=window, now=now)
    Usage.objects.filter(
        client_id=invoice.client_id,
        service__in=services,
        invoice__isnull=True,
        day__lte=invoice.period_end,
    ).update(invoice=invoice)
    if version.credit_at_risk_percent is not None:
        rollups_refresh(client_id=invoice.client_id)
    invoice.lines.all().delete()
    try:
        lines = invoicing.build_lines(invoice, version)
    except RatingError as error:
        raise ValidationError({"rate_card": str(error)}) from error
    InvoiceLine.objects.bulk_create(lines)
    invoice.version = version
    invoice.currency = version.currency
    invoice.tax_label = version.tax_label
    invoice.tax_rate_percent = version.tax_rate_percent
    _totals(invoice, lines, version.rounding)
    invoice.computed_at = now
    invoice.save()


def _totals(invoice: Invoice, lines: list[InvoiceLine], rounding: str) -> None:
    invoice.net = sum((line.amount for line in lines), Decimal(0))
    invoice.tax = rating.round_money(
        invoice.net * invoice.tax_rate_percent / 100, invoice.currency, rounding
    )
    invoice.total = invoice.net + invoice.tax


def _locked(invoice: Invoice, *allowed: str) -> Invoice:
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if locked.status not in allowed:
        names = " or ".join(InvoiceStatus(s).label.lower() for s in allowed)
        raise ValidationError(
            {
                "status": f"{locked.title} is {locked.get_status_display().lower()}; only a "
                f"{names} one can be."
            }
        )
    return locked


def invoice_recompute(*, actor: Actor, invoice: Invoice) -> Invoice:
    """Compute a draft again from the usage as it is now."""
    actor.require(Permission.MANAGE_BILLING, client_id=invoice.client_id)
    if invoice.kind != InvoiceKind.INVOICE:
        raise ValidationError({"status": "A credit note is written, not computed."})
    if invoice.status != InvoiceStatus.DRAFT:
        raise ValidationError(
            {
                "status": f"{invoice.title} is {invoice.get_status_display().lower()}: it "
                "never changes."
            }
        )
    return invoice_draft(actor=actor, contract=invoice.contract, month=invoice.period_start)


def invoice_approve(*, actor: Actor, invoice: Invoice) -> Invoice:
    """Freeze a draft: its lines and the usage it claims never change again."""
    actor.require(Permission.MANAGE_BILLING, client_id=invoice.client_id)
    with transaction.atomic():
        locked = _locked(invoice, InvoiceStatus.DRAFT)
        if not locked.lines.exists():
            raise ValidationError({"status": "An invoice without lines is not approved."})
        today = timezone.now().astimezone(ZoneInfo(locked.contract.client.time_zone)).date()
        if locked.kind == InvoiceKind.INVOICE and locked.period_end >= today:
            raise ValidationError(
                {
                    "status": f"{locked.period_start:%B %Y} has not ended: its draft can be "
                    "looked at and computed again, and approved from the first of next month."
                }
            )
        locked.status = InvoiceStatus.APPROVED
        locked.approved_at = timezone.now()
        locked.approved_by = actor.user
        locked.save(update_fields=["status", "approved_at", "approved_by"])
        record(
            "invoice.approved",
            obj=locked,
            before={"status": InvoiceStatus.DRAFT},
            after={"status": locked.status, "total": locked.total},
        )
    return locked


def invoice_issue(*, actor: Actor, invoice: Invoice) -> Invoice:
    """Number an approved invoice, make it visible in the client's portal and mail it to the
    client's admins."""
    actor.require(Permission.MANAGE_BILLING, client_id=invoice.client_id)
    with transaction.atomic():
        locked = _locked(invoice, InvoiceStatus.APPROVED)
        now = timezone.now()
        today = now.astimezone(ZoneInfo(Provider.current().time_zone)).date()
        locked.number = _next_number(PREFIX[InvoiceKind(locked.kind)], today.year)
        locked.status = InvoiceStatus.ISSUED
        locked.issued_at = now
        locked.due_date = today + timedelta(days=locked.version.payment_days)
        locked.save(update_fields=["number", "status", "issued_at", "due_date"])
        recipients = client_admin_emails(locked.client_id)
        InvoiceDelivery.objects.bulk_create(
            InvoiceDelivery(client_id=locked.client_id, invoice=locked, to=to) for to in recipients
        )
        record(
            "invoice.issued",
            obj=locked,
            before={"status": InvoiceStatus.APPROVED},
            after={
                "status": locked.status,
                "number": locked.number,
                "due_date": locked.due_date,
                "sent_to": recipients,
            },
        )
        transaction.on_commit(_enqueue_deliveries)
    return locked


def _enqueue_deliveries() -> None:
    from bpo.billing.tasks import invoice_deliveries_job

    invoice_deliveries_job.enqueue()


def _next_number(prefix: str, year: int) -> str:
    """The next number of the year, without gaps (the sequence row is locked till commit)."""
    InvoiceSequence.objects.get_or_create(prefix=prefix, year=year)
    sequence = InvoiceSequence.objects.select_for_update().get(prefix=prefix, year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{prefix}-{year}-{sequence.last:05d}"


def client_admin_emails(client_id: int) -> list[str]:
    """Where the client's invoices go: its admins' addresses."""
    from bpo.accounts.models import Membership

    return sorted(
        set(
            Membership.objects.filter(
                client_id=client_id, role=Role.CLIENT_ADMIN, user__is_active=True
            ).values_list("user__email", flat=True)
        )
    )


def invoice_mark_paid(*, actor: Actor, invoice: Invoice, paid_on: date | None = None) -> Invoice:
    """Record that the client paid an issued invoice."""
    actor.require(Permission.MANAGE_BILLING, client_id=invoice.client_id)
    with transaction.atomic():
        locked = _locked(invoice, InvoiceStatus.ISSUED)
        now = timezone.now()
        if paid_on is not None and paid_on > now.date() + timedelta(days=1):
            raise ValidationError({"paid_on": f"{paid_on} lies in the future."})
        issued_on = locked.issued_at.date() if locked.issued_at else None
        if paid_on is not None and issued_on is not None and paid_on < issued_on:
            raise ValidationError(
                {"paid_on": f"{paid_on} lies before the invoice was issued ({issued_on})."}
            )
        locked.status = InvoiceStatus.PAID
        locked.paid_at = (
            datetime.combine(paid_on, datetime.min.time(), ZoneInfo("UTC")) if paid_on else now
        )
        locked.save(update_fields=["status", "paid_at"])
        record(
            "invoice.paid",
            obj=locked,
            before={"status": InvoiceStatus.ISSUED},
            after={"status": locked.status, "paid_at": locked.paid_at},
        )
    return locked


def invoice_void(*, actor: Actor, invoice: Invoice, reason: str) -> Invoice:
    """Cancel an invoice that was not paid. Its usage goes back to be billed again (by a new
    invoice for the month, or the next month's); an issued invoice keeps its number."""
    actor.require(Permission.MANAGE_BILLING, client_id=invoice.client_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the invoice is void; the client may read it."})
    with transaction.atomic():
        locked = _locked(invoice, InvoiceStatus.DRAFT, InvoiceStatus.APPROVED, InvoiceStatus.ISSUED)
        notes = [n.title for n in locked.credit_notes.exclude(status=InvoiceStatus.VOID)]
        if notes:
            raise ValidationError(
                {
                    "status": f"{locked.title} has credit notes ({', '.join(notes)}): void "
                    "them first, or correct the invoice with a further credit note."
                }
            )
        before = locked.status
        locked.status = InvoiceStatus.VOID
        locked.voided_at = timezone.now()
        locked.reason = reason
        locked.save(update_fields=["status", "voided_at", "reason"])
        released = Usage.objects.filter(client_id=locked.client_id, invoice=locked).update(
            invoice=None
        )
        record(
            "invoice.voided",
            obj=locked,
            before={"status": before},
            after={"status": locked.status, "reason": reason, "usage_released": released},
        )
    return locked


def credit_note_create(
    *, actor: Actor, invoice: Invoice, reason: str, amount: Any = None
) -> Invoice:
    """A draft credit note correcting an issued (or paid) invoice: all of it (what earlier
    credit notes left) when no amount is given, else that net amount. Credit notes of an
    invoice never exceed its net amount."""
    actor.require(Permission.MANAGE_BILLING, client_id=invoice.client_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say what the credit note corrects."})
    if invoice.kind != InvoiceKind.INVOICE or invoice.status not in (
        InvoiceStatus.ISSUED,
        InvoiceStatus.PAID,
    ):
        raise ValidationError(
            {"invoice": "Only an issued or paid invoice is corrected by a credit note."}
        )
    version = invoice.version
    credit = _amount(amount, invoice.currency, version.rounding) if amount is not None else None
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        credited = -sum(
            (note.net for note in locked.credit_notes.exclude(status=InvoiceStatus.VOID)),
            Decimal(0),
        )
        left = locked.net - credited
        wanted = left if credit is None else credit
        if wanted <= 0 or wanted > left:
            raise ValidationError(
                {
                    "amount": f"{format_money(wanted, locked.currency)} cannot be credited: "
                    f"{format_money(left, locked.currency)} of the invoice's net "
                    f"{format_money(locked.net, locked.currency)} is left to credit."
                }
            )
        note = Invoice.objects.create(
            client_id=locked.client_id,
            contract_id=locked.contract_id,
            version=version,
            kind=InvoiceKind.CREDIT_NOTE,
            corrects=locked,
            period_start=locked.period_start,
            period_end=locked.period_end,
            currency=locked.currency,
            tax_label=locked.tax_label,
            tax_rate_percent=locked.tax_rate_percent,
            reason=reason,
            computed_at=timezone.now(),
        )
        draft = invoicing.Draft(note, version, [])
        if credit is None and not credited:  # all of it: every line reversed
            for line in locked.lines.all():
                draft.add(
                    LineKind.CORRECTION,
                    f"Reversal: {line.description}",
                    Priced(line.quantity, -line.unit_price if line.unit_price else Decimal(0)),
                    line.unit,
                    service_id=line.service_id,
                )
                # The reversal is the line's rounded amount exactly, whatever its price.
                draft.lines[-1].amount = -line.amount
        else:
            draft.add(
                LineKind.CORRECTION,
                f"Correction of {locked.title}: {reason}",
                Priced(Decimal(1), -wanted),
            )
        InvoiceLine.objects.bulk_create(draft.lines)
        _totals(note, draft.lines, version.rounding)
        note.save()
        record(
            "credit_note.created",
            obj=note,
            after={"corrects": locked.title, "net": note.net, "reason": reason},
        )
    return note


def _amount(value: Any, currency: str, rounding: str) -> Decimal:
    if isinstance(value, (float, bool)):
        raise ValidationError({"amount": f'Write {value!r} as a decimal string, e.g. "120.50".'})
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError({"amount": f"{value!r} is not an amount."}) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError({"amount": f"{value!r}: an amount to credit is above zero."})
    if rating.round_money(amount, currency, rounding) != amount:
        raise ValidationError(
            {"amount": f"{amount} has more decimals than {currency} has minor units."}
        )
    return amount


def invoices_monthly(now: datetime | None = None) -> int:
    """Periodic: from each contract's billing day on, the draft of the month before (once:
    a month with an invoice, even a void one, is left to finance). Returns how many."""
    now = now or timezone.now()
    with all_clients_unscoped("the monthly invoices go through every active client"):
        clients = list(Client.objects.filter(is_active=True).values_list("pk", "time_zone"))
    made = 0
    for client_id, zone in clients:
        today = now.astimezone(ZoneInfo(zone)).date()
        month = month_first(month_first(today) - timedelta(days=1))
        with client_scope([client_id]):
            for contract in _contracts_due(client_id, month, today):
                try:
                    with transaction.atomic():
                        _draft(contract, month, now, actor_email="system: monthly invoices")
                except (ValidationError, IntegrityError):
                    continue  # an earlier draft is open, or no terms: finance sees it listed
                made += 1
    return made


def _contracts_due(client_id: int, month: date, today: date) -> list[Contract]:
    invoiced = set(
        Invoice.objects.filter(
            client_id=client_id, kind=InvoiceKind.INVOICE, period_start=month
        ).values_list("contract_id", flat=True)
    )
    due = []
    for contract in Contract.objects.filter(client_id=client_id).exclude(pk__in=invoiced):
        try:
            version = version_for_month(contract, month)
        except ValidationError:
            continue
        if today.day >= version.billing_day and version.rate_cards.exists():
            due.append(contract)
    return due
