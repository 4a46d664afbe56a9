"""Background jobs of billing: they take ids (or nothing), re-enter the scope, call one action."""

from __future__ import annotations

from django_tasks import task

from bpo.billing import actions, delivery


@task()
def invoices_monthly_job() -> int:
    """Periodic: each contract's draft invoice of the month before, from its billing day."""
    return actions.invoices_monthly()


@task()
def invoice_deliveries_job() -> int:
    """Mail issued invoices to the client's admins (retried; idempotent)."""
    return delivery.deliveries_send()
