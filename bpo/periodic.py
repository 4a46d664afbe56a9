"""Every periodic job of OpenBPO, declared in this one place.

``manage.py run_periodic`` enqueues each job on its interval (Django's Tasks API, database
backend) and ``manage.py db_worker`` runs them. A job is not enqueued again while an earlier run
is still waiting or running, unless that run has been "running" for longer than ``stale_after``
(its worker was killed): every periodic job is idempotent, so running it again is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bpo.billing.tasks import invoice_deliveries_job, invoices_monthly_job
from bpo.finance.tasks import daily_reports_job, obligations_schedule_job
from bpo.intake.tasks import (
    imap_poll_job,
    imports_resume_job,
    inbound_unfinished_job,
    outbox_send_job,
)
from bpo.portal.tasks import reports_monthly_job, rollups_refresh_job
from bpo.work.tasks import idempotency_purge_job, sla_sweep_job


@dataclass(frozen=True)
class Periodic:
    """A job and how often it runs."""

    name: str
    job: Any
    every: timedelta
    stale_after: timedelta = timedelta(minutes=15)


PERIODIC: tuple[Periodic, ...] = (
    Periodic("sla_sweep", sla_sweep_job, every=timedelta(minutes=1)),
    Periodic("idempotency_purge", idempotency_purge_job, every=timedelta(hours=1)),
    Periodic("outbox_send", outbox_send_job, every=timedelta(seconds=15)),
    Periodic("inbound_unfinished", inbound_unfinished_job, every=timedelta(minutes=1)),
    Periodic("imap_poll", imap_poll_job, every=timedelta(minutes=1)),
    Periodic("imports_resume", imports_resume_job, every=timedelta(minutes=1)),
    Periodic("rollups_refresh", rollups_refresh_job, every=timedelta(minutes=1)),
    Periodic("invoice_deliveries", invoice_deliveries_job, every=timedelta(minutes=1)),
    Periodic(
        "invoices_monthly",
        invoices_monthly_job,
        every=timedelta(hours=1),
        stale_after=timedelta(hours=2),
    ),
    Periodic("obligations_schedule", obligations_schedule_job, every=timedelta(minutes=30)),
    Periodic("daily_reports", daily_reports_job, every=timedelta(minutes=10)),
    Periodic(
        "reports_monthly",
        reports_monthly_job,
        every=timedelta(hours=1),
        stale_after=timedelta(hours=2),
    ),
)
