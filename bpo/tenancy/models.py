"""Client, the tenant boundary, and the base class of every client-owned model."""

from __future__ import annotations

import functools
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from bpo.tenancy.scoping import TenantManager


@functools.cache
def known_time_zones() -> frozenset[str]:
    """The IANA time zone names this Python knows, read once (a walk of the tz database)."""
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    """Accept only IANA time zone names known to this Python."""
    if value not in known_time_zones():
        raise ValidationError(f"{value!r} is not a known IANA time zone (e.g. Europe/Berlin).")


class Provider(models.Model):
    """The BPO company operating this installation: exactly one row."""

    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=300, blank=True)
    country = models.CharField(max_length=2, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="provider_singleton")]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def current(cls) -> Provider:
        """The provider of this installation (a neutral default until one is configured)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1, name="OpenBPO")


class Client(models.Model):
    """A company that outsources processes to the provider; the tenant boundary."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(
        max_length=60,
        unique=True,
        validators=[
            RegexValidator(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", "Lowercase letters, digits, '-'.")
        ],
        help_text="Short stable key used in commands and URLs, e.g. 'northwind'.",
    )
    legal_name = models.CharField(max_length=300, blank=True)
    country = models.CharField(
        max_length=2,
        blank=True,
        validators=[RegexValidator(r"^[A-Z]{2}$", "Two-letter ISO 3166 country code, e.g. DE.")],
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    is_active = models.BooleanField("Active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager(lookup="pk")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ClientOwnedModel(models.Model):
    """Base class of all client-owned data: a ``client`` key and a scope-enforcing manager.

    Tables lead with the client so that indexes and a future distribution by client (Citus) fit.
    """

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")

    objects = TenantManager()

    class Meta:
        abstract = True
