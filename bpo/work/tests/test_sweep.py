"""The SLA sweep marks each warning and breach once, runs the policy's actions, and survives
being run twice, concurrently, or killed halfway."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from bpo.audit.models import AuditEntry
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work import actions, clocks, sweep
from bpo.work.models import Event, Notification, SlaClock, WorkItem
from bpo.work.tests.slaworld import queue_of, sla_service

ALWAYS = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def items_of(world, service, count=1):
    with acting_as(world.actor("client_admin")) as client:
        return [
            actions.work_item_create(actor=client, service=service, title=f"Item {n}")
            for n in range(count)
        ]


def events(kind):
    with all_clients_unscoped("test"):
        return list(Event.objects.filter(kind=kind).order_by("id"))


def test_warning_then_breach_each_marked_once_with_the_policys_actions(world):
    service = sla_service(world, weekly=ALWAYS)
    (item,) = items_of(world, service)
    with all_clients_unscoped("test"):
        first = SlaClock.objects.get(item=item, metric="first_response")
    assert sweep.sla_sweep().warnings == 0
    report = sweep.sla_sweep(now=first.warn_at + timedelta(seconds=1))
    assert (report.warnings, report.breaches) == (1, 0)
    assert sweep.sla_sweep(now=first.warn_at + timedelta(seconds=2)).warnings == 0
    (warning,) = events("sla_warning")
    assert warning.internal and "First response target at risk" in warning.body
    with all_clients_unscoped("test"):
        notes = list(Notification.objects.all())
    assert [n.recipient for n in notes] == [world.people["manager"]]

    due = first.due_at
    report = sweep.sla_sweep(now=due + timedelta(minutes=1))
    assert report.breaches == 1
    assert sweep.sla_sweep(now=first.due_at + timedelta(minutes=2)).breaches == 0
    (breach,) = events("sla_breach")
    assert "missed" in breach.body
    with all_clients_unscoped("test"):
        item.refresh_from_db()
        first.refresh_from_db()
    assert item.priority == "high"  # raise_priority ran once
    assert first.breached_at == due  # the breach happened when the time ran out
    assert AuditEntry.objects.filter(action="sla.breached").count() == 1


def test_a_sweep_that_was_down_announces_the_breach_not_the_stale_warning(world):
    service = sla_service(world, weekly=ALWAYS, on_breach=[])
    items_of(world, service)
    report = sweep.sla_sweep(now=timezone.now() + timedelta(days=3))
    assert report.breaches == 2 and report.warnings == 0
    assert len(events("sla_warning")) == 0 and len(events("sla_breach")) == 2


def test_move_to_queue_on_breach(world):
    service = sla_service(
        world,
        weekly=ALWAYS,
        on_warning=[],
        on_breach=[{"type": "move_to_queue", "queue": "Escalations"}],
    )
    with all_clients_unscoped("test"):
        escalations = queue_of(service, "Escalations")
    (item,) = items_of(world, service)
    sweep.sla_sweep(now=timezone.now() + timedelta(hours=3))
    with all_clients_unscoped("test"):
        item.refresh_from_db()
    assert item.queue_id == escalations.pk
    assert len(events("queue_changed")) == 1


def test_paused_and_stopped_clocks_never_breach(world):
    service = sla_service(world, weekly=ALWAYS)
    paused, resolved = items_of(world, service, 2)
    with acting_as(world.actor("agent")) as agent:
        actions.work_item_transition(actor=agent, item=paused, state="pending_contact")
        actions.work_item_transition(actor=agent, item=resolved, state="resolved")
    report = sweep.sla_sweep(now=timezone.now() + timedelta(days=2))
    assert (report.warnings, report.breaches) == (0, 0)


def waiting_items(service, count):
    """Many items with running clocks, made quickly."""
    with all_clients_unscoped("test setup"):
        queue = actions.queue_default(service)
        made = WorkItem.objects.bulk_create(
            WorkItem(
                client_id=service.client_id,
                service=service,
                queue=queue,
                terms=service.terms.get(),
                title=f"Item {n}",
            )
            for n in range(count)
        )
        for item in made:
            clocks.start(item, timezone.now())
    return made


def test_a_sweep_interrupted_halfway_marks_everything_exactly_once_when_run_again(
    world, monkeypatch
):
    service = sla_service(world, weekly=ALWAYS, on_warning=[], on_breach=[])
    waiting_items(service, 10)
    later = timezone.now() + timedelta(days=3)
    real = actions.system_event
    calls = {"n": 0}

    def dies_on_the_seventh(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(actions, "system_event", dies_on_the_seventh)
    with pytest.raises(KeyboardInterrupt):
        sweep.sla_sweep(now=later)
    assert len(events("sla_breach")) == 6
    monkeypatch.setattr(actions, "system_event", real)
    assert sweep.sla_sweep(now=later).breaches == 14
    assert len(events("sla_breach")) == 20


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="the subprocess needs a database it can share (the SQLite test database is in memory)",
)
def test_a_sweep_killed_with_sigkill_loses_nothing_and_repeats_nothing(world):
    service = sla_service(world, weekly=ALWAYS, on_warning=[], on_breach=[])
    waiting_items(service, 300)
    later = timezone.now() + timedelta(days=3)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bpo.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    script = (
        "import django, datetime; django.setup();"
        "from bpo.work import sweep;"
        f"sweep.sla_sweep(now=datetime.datetime.fromisoformat({later.isoformat()!r}))"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=Path(settings.BASE_DIR))
    try:
        while len(events("sla_breach")) < 20:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    halfway = len(events("sla_breach"))
    assert halfway < 600
    sweep.sla_sweep(now=later)
    breaches = events("sla_breach")
    assert len(breaches) == 600
    assert len({(e.item_id, e.data["metric"]) for e in breaches}) == 600


def test_an_item_resolved_late_between_two_sweeps_still_has_its_breach(world):
    service = sla_service(
        world,
        weekly=ALWAYS,
        on_breach=[
            {"type": "notify_managers"},
            {"type": "move_to_queue", "queue": "Escalations"},
        ],
    )
    with all_clients_unscoped("test"):
        queue_of(service, "Escalations")
    (item,) = items_of(world, service)
    with all_clients_unscoped("test"):
        first = SlaClock.objects.get(item=item, metric="first_response")
    late = first.due_at + timedelta(minutes=5)
    with acting_as(world.actor("agent")), transaction.atomic():
        clocks.resolved(WorkItem.objects.get(pk=item.pk), late)
        WorkItem.objects.filter(pk=item.pk).update(state="resolved")
    report = sweep.sla_sweep(now=late + timedelta(seconds=30))
    assert report.breaches >= 1
    assert sweep.sla_sweep(now=late + timedelta(minutes=1)).breaches == 0
    with all_clients_unscoped("test"):
        first.refresh_from_db()
        item.refresh_from_db()
        notified = Notification.objects.filter(item=item).count()
    assert first.met is False and first.breached_at == first.due_at
    assert "First response target missed" in events("sla_breach")[0].body
    assert notified >= 1  # managers are told...
    assert item.queue.name != "Escalations"  # ...but a resolved item is not moved
