"""The client's window: satisfaction surveys, and the daily rollups its dashboards read.

Rollups are a cache of what ``bpo.portal.metrics`` computes from the items themselves, kept
exact by database triggers: every write that can change a figure (an item created, resolved,
reopened, re-tagged or cancelled; an SLA clock stopped or breached; a work session of a resolved
item; a survey answered) leaves a :class:`RollupMark` with the service and the instant it
touches, in the writer's own transaction. ``bpo.portal.rollups.rollups_refresh`` turns marks
into the days of the service's calendar they fall on and computes those days again.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from bpo.tenancy.models import ClientOwnedModel


class Survey(ClientOwnedModel):
    """The satisfaction survey offered to an item's contact when the item is resolved."""

    item = models.OneToOneField("work.WorkItem", on_delete=models.PROTECT, related_name="survey")
    service = models.ForeignKey("contracts.Service", on_delete=models.PROTECT, related_name="+")
    token = models.CharField(max_length=64, unique=True, help_text="The secret in the link.")
    created_at = models.DateTimeField(auto_now_add=True)
    emailed = models.BooleanField(default=False, help_text="The link went out by e-mail.")
    answered_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    recommend = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(10)],
        help_text="How likely the contact is to recommend the service, 0 to 10 (NPS).",
    )
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["client", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="survey_rating_range",
            ),
            models.CheckConstraint(
                condition=models.Q(recommend__isnull=True) | models.Q(recommend__lte=10),
                name="survey_recommend_range",
            ),
        ]
        indexes = [
            models.Index(fields=["client", "service", "answered_at"], name="survey_answered")
        ]

    def __str__(self) -> str:
        return f"Survey of item {self.item_id}"


class ServiceDay(ClientOwnedModel):
    """One service's figures of one day (in its calendar's zone) for items of one channel."""

    service = models.ForeignKey("contracts.Service", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    channel = models.CharField(max_length=8)
    created = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    handled = models.PositiveIntegerField(
        default=0, help_text="Counted resolved items with any work session (AHT's divisor)."
    )
    handle_seconds = models.PositiveBigIntegerField(default=0)
    fcr_counted = models.PositiveIntegerField(default=0)
    fcr_first = models.PositiveIntegerField(default=0)
    surveys = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    nps_answers = models.PositiveIntegerField(default=0)
    promoters = models.PositiveIntegerField(default=0)
    detractors = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["client", "service", "day", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "service", "day", "channel"], name="serviceday_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.day} {self.channel}"


class ServiceDaySla(ClientOwnedModel):
    """SLA clocks of one service decided on one day, per target (metric and priority)."""

    service = models.ForeignKey("contracts.Service", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    metric = models.CharField(max_length=20)
    priority = models.CharField(max_length=10)
    met = models.PositiveIntegerField(default=0)
    missed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["client", "service", "day", "metric", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "service", "day", "metric", "priority"],
                name="servicedaysla_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.day} {self.metric}/{self.priority}"


class ServiceRollup(ClientOwnedModel):
    """The time zone a service's rollups were computed in; none yet, or another zone, means
    they are computed again from the start (a service's calendar may change with a version)."""

    service = models.OneToOneField("contracts.Service", on_delete=models.CASCADE, related_name="+")
    time_zone = models.CharField(max_length=64)
    built_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"rollups of {self.service_id} in {self.time_zone}"


class RollupMark(ClientOwnedModel):
    """An instant of a service whose day must be computed again (written by triggers only).

    ``repeat`` marks a new item of a known contact: it may make earlier resolutions of that
    contact repeats, so the days of the repeat-contact window before it are computed too.
    """

    # No foreign key constraints: a mark is a note that outlives nothing (a refresh reads the
    # marks of one client and deletes them), and deleting a client's rows in any order (a
    # flush) must not trip over the marks its triggers leave behind.
    client = models.ForeignKey(
        "tenancy.Client", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    service = models.ForeignKey(
        "contracts.Service", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    at = models.DateTimeField()
    repeat = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["client", "service"], name="rollupmark_service")]

    def __str__(self) -> str:
        return f"{self.service_id} at {self.at:%Y-%m-%d %H:%M}"


class ServiceReport(ClientOwnedModel):
    """A monthly service report as it was generated: its figures frozen in ``figures``, so the
    report a governance review discussed reads the same later. The PDF and the CSV are drawn from
    them (``bpo.portal.reports``). The monthly job makes one per service and month; anyone who
    reads the dashboards can generate another at any time (``generated_by`` says who)."""

    service = models.ForeignKey("contracts.Service", on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="The first day of the month reported on.")
    generated_at = models.DateTimeField()
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: the monthly job.",
    )
    complete = models.BooleanField(
        help_text="The month had ended in the service's calendar when the report was generated."
    )
    figures = models.JSONField()

    class Meta:
        ordering = ["client", "service", "-month", "-generated_at"]
        indexes = [models.Index(fields=["client", "service", "month"], name="report_month")]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "month"],
                condition=models.Q(generated_by__isnull=True),
                name="report_one_monthly_per_service",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} report of service {self.service_id}"
