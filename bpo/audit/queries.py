"""Reads of the audit log."""

from __future__ import annotations

from django.db.models import QuerySet

from bpo.accounts.roles import Permission
from bpo.audit.models import AuditEntry
from bpo.tenancy.context import Actor


def audit_entries(
    *,
    actor: Actor,
    action: str = "",
    client_id: int | None = None,
    actor_email: str = "",
    before_id: int | None = None,
) -> QuerySet[AuditEntry]:
    """The log, newest first, for provider admins; filters narrow it, ``before_id`` pages it."""
    actor.require(Permission.VIEW_AUDIT)
    entries = AuditEntry.objects.order_by("-id")
    if action:
        entries = entries.filter(action__startswith=action)
    if client_id is not None:
        entries = entries.filter(client_id=client_id)
    if actor_email:
        entries = entries.filter(actor_email__iexact=actor_email.strip())
    if before_id is not None:
        entries = entries.filter(id__lt=before_id)
    return entries
