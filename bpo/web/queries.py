"""Reads for the home page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from bpo.accounts.models import User
from bpo.accounts.roles import Permission
from bpo.audit.models import AuditEntry
from bpo.tenancy.context import Actor
from bpo.tenancy.models import Client


@dataclass(frozen=True)
class AdminSummary:
    """Counts a provider admin wants at a glance on the home page."""

    clients_active: int
    people_active: int
    people_without_role: int
    denials_last_day: int


def admin_summary(*, actor: Actor) -> AdminSummary:
    """Active clients and people, people with no role yet, permission denials in the last day."""
    actor.require(Permission.MANAGE_PEOPLE)
    since = timezone.now() - timedelta(days=1)
    return AdminSummary(
        clients_active=Client.objects.filter(is_active=True).count(),
        people_active=User.objects.filter(is_active=True).count(),
        people_without_role=User.objects.filter(is_active=True, memberships__isnull=True).count(),
        denials_last_day=AuditEntry.objects.filter(
            action="permission.denied", at__gte=since
        ).count(),
    )
