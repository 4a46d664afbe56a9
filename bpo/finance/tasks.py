"""Background jobs of finance: they take ids (or nothing), re-enter the scope, call one action."""

from __future__ import annotations

from django_tasks import task

from bpo.finance import actions
from bpo.finance.models import BankAccount
from bpo.tenancy.scoping import client_scope


@task()
def reconcile_job(account_id: int, client_id: int) -> dict[str, int]:
    """Reconcile an account after a file came in (again is harmless: a run over settled rows
    changes nothing)."""
    with client_scope([client_id]):
        account = BankAccount.objects.get(pk=account_id)
        run = actions.reconciliation_run(actor=None, account=account)
    return {"accepted": run.accepted, "proposed": run.proposed, "opened": run.opened}


@task()
def obligations_schedule_job() -> int:
    """Periodic: due dates of the close and filing calendar within their lead time become
    work items."""
    return actions.obligations_schedule()


@task()
def daily_reports_job() -> int:
    """Periodic: the daily financial reports due this morning are made and delivered."""
    return actions.daily_reports_deliver()
