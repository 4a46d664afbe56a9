"""What the provider and a client agreed: contracts and their versions, services, SLA policies.

A contract's terms live in versions. A draft version is edited freely; activating it makes it the
contract's terms and supersedes the version before, which stays readable forever. An active
version never changes (a change means a new draft copied from it), so work keeps the terms it
started under. Services have a stable identity across versions; what a version says about a
service (scope, calendar, SLA policy, custom fields) is its ``ServiceTerms``.
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from bpo.contracts import deadlines
from bpo.tenancy.models import ClientOwnedModel
from bpo.web.formatting import format_minutes


class ProcessType(models.TextChoices):
    CUSTOMER_SERVICE = "customer_service", "Customer service"
    TECH_SUPPORT = "tech_support", "Technical support"
    RECONCILIATION = "reconciliation", "Reconciliation"
    PAYROLL = "payroll", "Payroll"
    DATA_ENTRY = "data_entry", "Data entry"
    TASK = "task", "Back-office task"


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    SUPERSEDED = "superseded", "Superseded"
    ENDED = "ended", "Ended"


class Rounding(models.TextChoices):
    HALF_UP = "half_up", "Half up (commercial)"
    HALF_EVEN = "half_even", "Half to even (banker's)"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Metric(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_RESPONSE = "next_response", "Next response"
    RESOLUTION = "resolution", "Resolution"
    DEADLINE = "deadline", "Deadline"


class ClockKind(models.TextChoices):
    BUSINESS = "business", "Business time"
    CALENDAR = "calendar", "Calendar time"


# Work item states that may pause an SLA clock (the life cycle of #4: pending on whom).
PAUSE_STATES = ("pending_contact", "pending_client")
# What a policy may do on warning or breach.
SLA_ACTIONS = ("notify_managers", "raise_priority", "move_to_queue")


def validate_tag_list(value: object) -> None:
    """A list of distinct, non-empty tags of at most 60 characters."""
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
        raise ValidationError('A list of tags, e.g. ["spam", "duplicate"].')
    if any(len(t) > 60 for t in value):
        raise ValidationError("A tag has at most 60 characters.")


def default_excluded_tags() -> list[str]:
    """Tags that take an item out of the service levels unless a contract says otherwise."""
    return ["spam", "duplicate"]


class Contract(ClientOwnedModel):
    """The agreement with a client; its terms are in its versions."""

    reference = models.CharField(
        max_length=40,
        validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", "Letters, digits, . _ / -")],
        help_text="The contract's number as both parties know it, e.g. NW-2026-01.",
    )
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "reference"]
        constraints = [
            models.UniqueConstraint(fields=["client", "reference"], name="contract_unique_ref")
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"


class ContractVersion(ClientOwnedModel):
    """One version of a contract's terms: draft, then active, then superseded or ended."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="Empty: open-ended.")
    currency = models.CharField(
        max_length=3,
        validators=[RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 currency code, e.g. EUR.")],
    )
    billing_day = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="Day of the month the invoice is made (1–28).",
    )
    retention_days = models.PositiveIntegerField(
        default=365 * 7,
        validators=[MinValueValidator(1)],
        help_text="How long the client's work data is kept after it is closed, in days.",
    )
    notes = models.TextField(blank=True)
    # Metric definitions: how this version's service levels and indicators are counted. They
    # belong to the version, so a new agreement never rewrites the history measured under the
    # one before (bpo.portal.metrics reads them and writes them out in words).
    excluded_tags = models.JSONField(
        default=default_excluded_tags,
        blank=True,
        validators=[validate_tag_list],
        help_text="Items carrying any of these tags count in volumes only, not in service levels.",
    )
    exclude_cancelled = models.BooleanField(
        default=True,
        help_text="Cancelled items are left out of SLA attainment (their clocks count nowhere).",
    )
    fcr_window_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="A new request of the same contact within this many days after a resolution is "
        "a repeat contact: that item was not resolved at first contact.",
    )
    csat_good_rating = models.PositiveSmallIntegerField(
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Survey ratings from this value up (out of 5) count as satisfied.",
    )
    # Billing terms (issue #7): how the month's invoice is taxed and rounded, what share of the
    # fees is at risk for missed critical service levels, and whether credits can be earned back.
    tax_label = models.CharField(
        max_length=30, default="VAT", help_text="The tax's name on the invoice, e.g. VAT."
    )
    tax_rate_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        help_text="Tax on the invoice's net amount, in percent (0 when none is charged).",
    )
    rounding = models.CharField(
        max_length=10,
        choices=Rounding.choices,
        default=Rounding.HALF_UP,
        help_text="How amounts are rounded to the currency's smallest unit.",
    )
    payment_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MaxValueValidator(365)],
        help_text="Days from issue to the invoice's due date.",
    )
    credit_at_risk_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        help_text="Share of the month's fees at risk for missed critical service levels, e.g. "
        "10.00. Empty: no service-level credits.",
    )
    credit_pool_percent = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal(100),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1000))],
        help_text="Pool allocation: the at-risk amount times this percentage is divided among "
        "the critical service levels by their shares (often above 100%, so that one miss alone "
        "cannot take the whole amount at risk, and several can).",
    )
    earn_back_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text="A credit is returned to the provider when the service level is achieved in "
        "each of this many following months. Empty: no earn-back.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Superseded or ended.")

    class Meta:
        ordering = ["contract", "number"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "number"], name="version_unique_number"),
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(status="active"),
                name="version_one_active",
                violation_error_message="A contract has at most one active version.",
            ),
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(status="draft"),
                name="version_one_draft",
                violation_error_message="A contract has at most one draft version.",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="version_end_after_start",
                violation_error_message="The end date lies before the start date.",
            ),
            models.CheckConstraint(
                condition=Q(billing_day__gte=1, billing_day__lte=28),
                name="version_billing_day_range",
            ),
            models.CheckConstraint(
                condition=Q(tax_rate_percent__gte=0, tax_rate_percent__lte=100),
                name="version_tax_rate_range",
                violation_error_message="A tax rate is a percentage from 0 to 100.",
            ),
            models.CheckConstraint(
                condition=Q(credit_at_risk_percent__isnull=True)
                | Q(credit_at_risk_percent__gte=0, credit_at_risk_percent__lte=100),
                name="version_at_risk_range",
                violation_error_message="The share at risk is a percentage from 0 to 100.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract.reference} v{self.number} ({self.status})"

    @property
    def is_editable(self) -> bool:
        return self.status == VersionStatus.DRAFT

    def metric_definitions(self) -> list[tuple[str, str]]:
        """How this version's indicators are counted, in words (bpo.portal.metrics counts so)."""
        left_out = [f"items tagged {', '.join(self.excluded_tags)}"] if self.excluded_tags else []
        if self.exclude_cancelled:
            left_out.append("cancelled items")
        excluded = f" Left out: {' and '.join(left_out)}." if left_out else ""
        return [
            (
                "SLA attainment",
                "The share of SLA clocks decided in the period that were met. A clock is met when "
                "it stops (first public reply, resolution, deadline reached) before its due time "
                "on the service's calendar, and missed when it breaches or stops late. A met clock "
                "counts on the day it stopped, a missed one on the day it breached. Next-response "
                f"clocks count once per message of the contact.{excluded}",
            ),
            (
                "Volumes",
                "Items created per day and channel, every item included.",
            ),
            (
                "Average handle time (AHT)",
                "Agents' time in work sessions on the items resolved in the period, divided by "
                "the number of those items with any work session, on the day of resolution."
                + excluded,
            ),
            (
                "First-contact resolution (FCR)",
                "The share of items resolved in the period that were never reopened and whose "
                "contact made no new request to the same service within "
                f"{self.fcr_window_days} days after the resolution. For items resolved in the "
                f"last {self.fcr_window_days} days the figure can still fall if a repeat comes."
                + excluded,
            ),
            (
                "Satisfaction (CSAT)",
                f"The share of survey answers rating {self.csat_good_rating} or more out of 5, on "
                "the day of the answer. Each resolved item's contact is asked once.",
            ),
            (
                "Net promoter score (NPS)",
                'Percent of answers of 9 or 10 minus percent of answers from 0 to 6 to "How '
                'likely are you to recommend us?" (0 to 10).',
            ),
            (
                "Backlog and age",
                "Items open now (new, open, waiting on the contact or on the client) by state, "
                "and their age since they were created.",
            ),
            (
                "Time buckets",
                "Days, weeks (Monday to Sunday) and months in the time zone of the service's "
                "business calendar.",
            ),
        ]


class Service(ClientOwnedModel):
    """One outsourced business process under a contract, stable across the contract's versions."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="services")
    key = models.SlugField(max_length=60, help_text="Short stable key, e.g. 'email-support'.")
    name = models.CharField(max_length=200)
    process_type = models.CharField(max_length=20, choices=ProcessType.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "name"]
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="service_unique_key")]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(ClientOwnedModel):
    """Service levels of one contract version: targets per priority, pauses, warning, actions."""

    version = models.ForeignKey(ContractVersion, on_delete=models.PROTECT, related_name="policies")
    name = models.CharField(max_length=120)
    pause_states = models.JSONField(default=list, blank=True)
    warning_percent = models.PositiveSmallIntegerField(
        default=75, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )
    on_warning = models.JSONField(default=list, blank=True)
    on_breach = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["version", "name"]
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="policy_unique_name"),
            models.CheckConstraint(
                condition=Q(warning_percent__gte=1, warning_percent__lte=99),
                name="policy_warning_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SlaTarget(ClientOwnedModel):
    """One target of a policy: for a priority and a metric, a duration or a deadline rule."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(max_length=10, choices=Priority.choices)
    metric = models.CharField(max_length=20, choices=Metric.choices)
    clock = models.CharField(max_length=10, choices=ClockKind.choices, default=ClockKind.BUSINESS)
    duration_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="For response and resolution targets."
    )
    deadline = models.JSONField(
        null=True, blank=True, help_text="For deadline targets: a rule, see contracts.deadlines."
    )
    service_level_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The service level promised: the share of items that must meet this target "
        "over a month, e.g. 95.00. Empty: measured and reported, not promised.",
    )
    credit_share_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Marks a critical service level: its share of the contract's credit pool, "
        "e.g. 25.00. Empty: a key measurement, reported but carrying no credit.",
    )

    class Meta:
        ordering = ["policy", "priority", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "priority", "metric"], name="target_unique_priority_metric"
            ),
            models.CheckConstraint(
                condition=(
                    Q(metric="deadline", deadline__isnull=False, duration_minutes__isnull=True)
                    | (~Q(metric="deadline") & Q(duration_minutes__gt=0, deadline__isnull=True))
                ),
                name="target_duration_or_deadline",
                violation_error_message=(
                    "Response and resolution targets need a duration above zero; deadline "
                    "targets need a deadline rule."
                ),
            ),
            models.CheckConstraint(
                condition=Q(service_level_percent__isnull=True)
                | Q(service_level_percent__gt=0, service_level_percent__lte=100),
                name="target_service_level_percent",
                violation_error_message="A service level is a percentage above 0, at most 100.",
            ),
            models.CheckConstraint(
                condition=Q(credit_share_percent__isnull=True)
                | Q(
                    credit_share_percent__gt=0,
                    credit_share_percent__lte=100,
                    service_level_percent__isnull=False,
                ),
                name="target_credit_share",
                violation_error_message="A credit share is a percentage above 0, at most 100, "
                "of a target with a promised service level.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.priority} {self.metric}"

    def describe(self) -> str:
        """The target in words: '4 h', '30 min (calendar time)', 'by 10:00 on the next
        business day' (a deadline rule the describer cannot read is shown as stored)."""
        if self.metric == Metric.DEADLINE:
            try:
                return deadlines.describe(self.deadline or {})
            except (KeyError, TypeError):
                return json.dumps(self.deadline)
        text = format_minutes(self.duration_minutes or 0)
        return text + (" (calendar time)" if self.clock == ClockKind.CALENDAR else "")


class ServiceTerms(ClientOwnedModel):
    """What one contract version says about one service."""

    version = models.ForeignKey(ContractVersion, on_delete=models.PROTECT, related_name="terms")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="terms")
    scope_included = models.TextField(blank=True)
    scope_excluded = models.TextField(blank=True)
    deliverables = models.TextField(blank=True)
    calendar = models.ForeignKey(
        "calendars.BusinessCalendar", on_delete=models.PROTECT, related_name="+"
    )
    sla_policy = models.ForeignKey(
        SlaPolicy, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    custom_fields = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["version", "service__name"]
        constraints = [
            models.UniqueConstraint(fields=["version", "service"], name="terms_unique_service")
        ]
        verbose_name_plural = "service terms"

    def __str__(self) -> str:
        return f"{self.service} in {self.version}"


class ChargeModel(models.TextChoices):
    PER_TRANSACTION = "per_transaction", "Per resolved item"
    PER_HANDLED_MINUTE = "per_handled_minute", "Per handled minute"
    PER_PRODUCTION_HOUR = "per_production_hour", "Per production hour"
    PER_FTE = "per_fte", "Per FTE per month"
    FIXED_FEE = "fixed_fee", "Fixed monthly fee"


class Tiering(models.TextChoices):
    FLAT = "flat", "One price"
    GRADUATED = "graduated", "Graduated tiers (each unit by its tier)"
    VOLUME = "volume", "Volume tiers (all units by the tier reached)"


def channel_choices() -> list[tuple[str, str]]:
    """The work item channels (read late: the work app builds on this one)."""
    from bpo.work.models import Channel

    return list(Channel.choices)


class RateCard(ClientOwnedModel):
    """How one contract version prices one service: its charges and a minimum commitment."""

    version = models.ForeignKey(
        ContractVersion, on_delete=models.PROTECT, related_name="rate_cards"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="rate_cards")
    minimum_commitment = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="The least the service is billed a month: a true-up line adds the shortfall "
        "of its charges. Empty: none.",
    )

    class Meta:
        ordering = ["version", "service__name"]
        constraints = [
            models.UniqueConstraint(fields=["version", "service"], name="rate_card_unique_service"),
            models.CheckConstraint(
                condition=Q(minimum_commitment__isnull=True) | Q(minimum_commitment__gte=0),
                name="rate_card_minimum_positive",
                violation_error_message="A minimum commitment cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"Rate card of {self.service} in {self.version}"


class Charge(ClientOwnedModel):
    """One priced line of a rate card: what is counted (the model, narrowed by channel,
    priority or item type) and how it is priced (one price, tiers, or a baseline)."""

    rate_card = models.ForeignKey(RateCard, on_delete=models.CASCADE, related_name="charges")
    position = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(max_length=120, help_text="The line's text on the invoice.")
    model = models.CharField(max_length=20, choices=ChargeModel.choices)
    channel = models.CharField(
        max_length=8,
        choices=channel_choices,
        blank=True,
        help_text="Per resolved item or handled minute: count only this channel.",
    )
    priority = models.CharField(
        max_length=10,
        choices=Priority.choices,
        blank=True,
        help_text="Per resolved item or handled minute: count only this priority.",
    )
    item_type = models.SlugField(
        max_length=60,
        blank=True,
        help_text="Per resolved item or handled minute: count only items carrying this tag "
        "(their type, e.g. complaint).",
    )
    tiering = models.CharField(max_length=10, choices=Tiering.choices, default=Tiering.FLAT)
    unit_price = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="The price of one unit (one price, or the base price with a baseline).",
    )
    tiers = models.JSONField(
        default=list,
        blank=True,
        help_text='Graduated or volume tiers, ascending: [{"up_to": "1000", "price": "1.20"}, '
        '{"up_to": null, "price": "1.00"}].',
    )
    fte_hours = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Per FTE: the production hours one full-time equivalent stands for in a month.",
    )
    baseline = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The baseline volume billed at the unit price; units outside the deadband "
        "are charged (above) or credited (below) at the additional and reduced rates.",
    )
    deadband_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal("99.99"))],
        help_text="Around the baseline, ± this percentage is neither charged nor credited.",
    )
    additional_rate = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="Price of each unit above the deadband.",
    )
    reduced_rate = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="Credit for each unit below the deadband.",
    )

    class Meta:
        ordering = ["rate_card", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_price__isnull=True) | Q(unit_price__gte=0),
                name="charge_price_positive",
                violation_error_message="A unit price cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(deadband_percent__gte=0, deadband_percent__lt=100),
                name="charge_deadband_range",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def counts_items(self) -> bool:
        """Whether the charge counts something of the items (and so may be narrowed)."""
        return self.model in (ChargeModel.PER_TRANSACTION, ChargeModel.PER_HANDLED_MINUTE)

    def clean(self) -> None:
        """Each model and pricing needs its own terms, and only those (see the field help)."""
        from bpo.billing.pricing import charge_problems

        numbers = ["unit_price", "fte_hours", "baseline", "deadband_percent"]
        numbers += ["additional_rate", "reduced_rate"]
        if not all(isinstance(getattr(self, name), Decimal | None) for name in numbers):
            return  # a number did not parse: its field says so already
        problems = charge_problems(self)
        if problems:
            raise ValidationError(problems)
