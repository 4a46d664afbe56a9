"""Background jobs of the portal."""

from __future__ import annotations

from django_tasks import task

from bpo.portal.rollups import rollups_refresh_all


@task()
def rollups_refresh_job() -> int:
    """Periodic: compute again the dashboard days that changed, for every client, so pages
    rarely wait for it. Idempotent; a killed run leaves its marks for the next one."""
    return rollups_refresh_all()
