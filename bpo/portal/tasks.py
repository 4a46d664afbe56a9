"""Background jobs of the portal."""

from __future__ import annotations

from django_tasks import task

from bpo.portal.actions import reports_monthly
from bpo.portal.rollups import rollups_refresh_all


@task()
def rollups_refresh_job() -> int:
    """Periodic: compute again the dashboard days that changed, for every client, so pages
    rarely wait for it. Idempotent; a killed run leaves its marks for the next one."""
    return rollups_refresh_all()


@task()
def reports_monthly_job() -> int:
    """Periodic: each service's report of the month that last ended in its calendar, once.
    Runs hourly so that a month is reported soon after it ends in every time zone."""
    return reports_monthly()
