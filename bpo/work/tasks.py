"""Background jobs of the work app."""

from __future__ import annotations

from django_tasks import task

from bpo.work import actions, sweep


@task()
def sla_sweep_job() -> dict[str, int]:
    """Periodic: mark due SLA warnings and breaches, run the policies' actions, end idle
    work sessions. Idempotent; safe to run again after being killed."""
    report = sweep.sla_sweep()
    return {
        "warnings": report.warnings,
        "breaches": report.breaches,
        "sessions_closed": report.sessions_closed,
    }


@task()
def idempotency_purge_job() -> int:
    """Periodic: forget Idempotency-Keys older than 24 hours."""
    return actions.idempotency_keys_purge()
