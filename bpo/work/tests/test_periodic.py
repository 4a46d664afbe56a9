"""Periodic jobs: declared in bpo.periodic, enqueued on their interval, never piled up, run by
the database worker; a run whose worker died is presumed dead after a while."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from bpo.periodic import PERIODIC
from bpo.tenancy.management.commands.run_periodic import enqueue_due
from bpo.work.tests.slaworld import sla_service
from bpo.work.tests.test_sweep import ALWAYS, events, items_of


def test_each_job_is_enqueued_on_its_interval_and_not_while_a_run_waits(db):
    names = [p.name for p in PERIODIC]
    last: dict = {}
    now = timezone.now()
    assert enqueue_due(last, now) == names
    assert enqueue_due(last, now + timedelta(minutes=2)) == []  # the first runs still wait
    DBTaskResult.objects.update(status="SUCCESSFUL")
    # After three minutes the jobs of a shorter interval are due again; the hourly one is not.
    frequent = [p.name for p in PERIODIC if p.every <= timedelta(minutes=2)]
    assert "sla_sweep" in frequent and "idempotency_purge" not in frequent
    assert enqueue_due(last, now + timedelta(minutes=3)) == frequent
    DBTaskResult.objects.filter(status="READY").update(
        status="RUNNING", started_at=now - timedelta(hours=1)
    )
    # Running for an hour: its worker was killed; the job is idempotent, so it runs again.
    assert enqueue_due(last, now + timedelta(minutes=5)) == frequent


@pytest.mark.django_db(transaction=True)  # the worker closes its database connection
def test_the_worker_runs_the_sweep(world):
    service = sla_service(world, weekly=ALWAYS, on_warning=[], on_breach=[])
    items_of(world, service)
    from bpo.work.tasks import sla_sweep_job

    sla_sweep_job.enqueue()
    call_command("db_worker", batch=True, startup_delay=False, verbosity=0)
    result = DBTaskResult.objects.get()
    assert result.status == "SUCCESSFUL"
    assert result.return_value == {"warnings": 0, "breaches": 0, "sessions_closed": 0}
    assert events("sla_breach") == []
