"""What a client's services consumed and what the provider billed for it.

Usage is a ledger: metering compares what the operations data says a service consumed on a
day with what the ledger already holds and appends the difference, so metering again never
counts anything twice. An invoice claims the usage rows it bills; rows it never claimed (late
usage, or usage released by a voided invoice) go to the next invoice, so nothing is lost.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from bpo.tenancy.models import ClientOwnedModel


class Meter(models.TextChoices):
    RESOLVED_ITEMS = "resolved_items", "Resolved items"
    HANDLED_MINUTES = "handled_minutes", "Handled minutes"
    PRODUCTION_MINUTES = "production_minutes", "Production minutes"


class Usage(ClientOwnedModel):
    """A metered quantity of one service on one day of its calendar, narrowed by channel,
    priority and item type (blank: all). Rows are appended, never changed, except that an
    invoice claims them (and a voided one releases them)."""

    service = models.ForeignKey("contracts.Service", on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    meter = models.CharField(max_length=20, choices=Meter.choices)
    channel = models.CharField(max_length=8, blank=True)
    priority = models.CharField(max_length=10, blank=True)
    item_type = models.CharField(max_length=60, blank=True)
    quantity = models.DecimalField(max_digits=18, decimal_places=4)
    metered_at = models.DateTimeField()
    invoice = models.ForeignKey(
        "Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="usage"
    )

    class Meta:
        ordering = ["client", "service", "day", "id"]
        indexes = [
            models.Index(fields=["client", "service", "day"], name="usage_service_day"),
            models.Index(fields=["client", "invoice"], name="usage_invoice"),
        ]

    def __str__(self) -> str:
        return f"{self.meter} {self.quantity} on {self.day}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


# What the client sees: an invoice once it was sent to them.
CLIENT_VISIBLE = (InvoiceStatus.ISSUED, InvoiceStatus.PAID, InvoiceStatus.VOID)


class Invoice(ClientOwnedModel):
    """A contract's invoice for one month, or a credit note correcting an issued invoice.

    A draft is recomputed at will; approval freezes its lines and the usage it claims; issue
    gives it a number and sends it to the client's admins; then it is paid, or void."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="invoices"
    )
    version = models.ForeignKey(
        "contracts.ContractVersion",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The contract version whose rate cards and terms priced the invoice.",
    )
    kind = models.CharField(max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        help_text="Credit notes: the invoice they correct.",
    )
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(
        max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    number = models.CharField(max_length=30, null=True, blank=True, unique=True)
    currency = models.CharField(max_length=3)
    tax_label = models.CharField(max_length=30)
    tax_rate_percent = models.DecimalField(max_digits=5, decimal_places=2)
    net = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    tax = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    total = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    reason = models.TextField(blank=True, help_text="Credit notes and voids: why.")
    computed_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "period_start"],
                condition=Q(kind="invoice") & ~Q(status="void"),
                name="invoice_one_per_month",
                violation_error_message="The contract has an invoice for this month already.",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="invoice_period"
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", corrects__isnull=True)
                | Q(kind="credit_note", corrects__isnull=False),
                name="invoice_credit_note_corrects",
            ),
        ]
        indexes = [models.Index(fields=["client", "status"], name="invoice_status")]

    def __str__(self) -> str:
        return self.number or f"{self.get_kind_display()} {self.period_start:%Y-%m} (draft)"

    @property
    def is_frozen(self) -> bool:
        """Approved or later: its lines and usage never change again."""
        return self.status != InvoiceStatus.DRAFT

    @property
    def title(self) -> str:
        """How people name it: its number, or what it is while it has none."""
        if self.number:
            return self.number
        return f"{self.get_kind_display()} {self.period_start:%Y-%m} ({self.get_status_display()})"


class LineKind(models.TextChoices):
    CHARGE = "charge", "Charge"
    BASELINE = "baseline", "Baseline adjustment"
    TRUE_UP = "true_up", "Minimum commitment true-up"
    SLA_CREDIT = "sla_credit", "Service-level credit"
    CREDIT_CAP = "credit_cap", "Credits capped at the amount at risk"
    EARN_BACK = "earn_back", "Earn-back of an earlier credit"
    CORRECTION = "correction", "Correction"


class InvoiceLine(ClientOwnedModel):
    """One line of an invoice: a quantity at a unit price, its amount rounded to the currency."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=LineKind.choices)
    service = models.ForeignKey(
        "contracts.Service", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    charge = models.ForeignKey(
        "contracts.Charge", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    meter = models.CharField(max_length=20, choices=Meter.choices, blank=True)
    channel = models.CharField(max_length=8, blank=True)
    priority = models.CharField(max_length=10, blank=True)
    item_type = models.CharField(max_length=60, blank=True)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=18, decimal_places=4)
    unit = models.CharField(max_length=20, blank=True)
    unit_price = models.DecimalField(max_digits=18, decimal_places=6)
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    target = models.ForeignKey(
        "contracts.SlaTarget", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    level_month = models.DateField(
        null=True, blank=True, help_text="Credits and earn-backs: the month the level was missed."
    )
    earns_back = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="earned_back_by",
        help_text="Earn-back lines: the credit line they return.",
    )

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="line_unique_position")
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def has_usage(self) -> bool:
        """Whether the line was counted from metered usage (and so opens to it)."""
        return bool(self.meter) and self.kind in (LineKind.CHARGE, LineKind.BASELINE)


class InvoiceSequence(models.Model):
    """The last number given to an invoice or credit note of a year: numbers have no gaps."""

    prefix = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="sequence_unique_year")
        ]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class InvoiceDelivery(ClientOwnedModel):
    """An issued invoice mailed to one of the client's admins (retried until sent)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="deliveries")
    to = models.EmailField()
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["invoice", "to"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "to"], name="delivery_unique_recipient")
        ]

    def __str__(self) -> str:
        return f"{self.invoice} to {self.to} ({self.status})"
