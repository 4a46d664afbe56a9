"""Agents: how much work they take at once, whether they are available, and the services they
are certified for (an agent never receives work of a service they are not certified for)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from bpo.tenancy.models import ClientOwnedModel


class Presence(models.TextChoices):
    AVAILABLE = "available", "Available"
    BUSY = "busy", "Busy"
    AWAY = "away", "Away"
    OFFLINE = "offline", "Offline"


class AgentProfile(models.Model):
    """A provider staff member's working profile (provider-wide, not client data)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    capacity = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="How many open items the agent works at once.",
    )
    presence = models.CharField(max_length=10, choices=Presence.choices, default=Presence.OFFLINE)
    presence_since = models.DateTimeField(auto_now_add=True)
    languages = models.JSONField(
        default=list, blank=True, help_text="Languages the agent works in (ISO 639-1 codes)."
    )
    waiting_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the agent last became available or last received work: push routing "
        "gives the next item to the available agent who has waited longest.",
    )

    def __str__(self) -> str:
        return f"{self.user.email} ({self.presence})"


class AgentSkill(models.Model):
    """A skill an agent has, at a level from 1 (basic) to 5 (expert); provider-wide."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skills"
    )
    skill = models.SlugField(max_length=60)
    level = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )

    class Meta:
        ordering = ["user", "skill"]
        constraints = [
            models.UniqueConstraint(fields=["user", "skill"], name="agent_skill_unique"),
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=5), name="agent_skill_level_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.skill} {self.level}"


class Certification(ClientOwnedModel):
    """An agent trained and certified on one of a client's services."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certifications"
    )
    service = models.ForeignKey(
        "contracts.Service", on_delete=models.CASCADE, related_name="certifications"
    )
    certified_at = models.DateTimeField(auto_now_add=True)
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["client", "service", "user"]
        constraints = [
            models.UniqueConstraint(fields=["service", "user"], name="certification_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} certified for {self.service_id}"


# Presences in which an agent is logged in and at the provider's disposal (idle included):
# production time, billed per production hour and per FTE.
LOGGED_IN = (Presence.AVAILABLE, Presence.BUSY)


class PresenceSpan(models.Model):
    """A stretch of time an agent held one presence (provider-wide: an agent may serve several
    clients; billing splits their logged-in time between the services they worked for)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence_spans"
    )
    presence = models.CharField(max_length=10, choices=Presence.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True, help_text="Empty: still in it.")

    class Meta:
        ordering = ["user", "started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(ended_at__isnull=True), name="span_one_open"
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True)
                | models.Q(ended_at__gte=models.F("started_at")),
                name="span_ordered",
            ),
        ]
        indexes = [models.Index(fields=["started_at", "user"], name="span_started")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.presence} from {self.started_at:%Y-%m-%d %H:%M}"
