"""Enqueue the periodic jobs of bpo.periodic on their intervals (run beside db_worker)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from bpo.periodic import PERIODIC, Periodic


def _busy(periodic: Periodic, now: datetime) -> bool:
    """An earlier run is still waiting, or running and not yet presumed dead."""
    path = periodic.job.module_path
    waiting = DBTaskResult.objects.filter(task_path=path, status="READY").exists()
    running = DBTaskResult.objects.filter(
        task_path=path, status="RUNNING", started_at__gt=now - periodic.stale_after
    ).exists()
    return waiting or running


def enqueue_due(last: dict[str, datetime], now: datetime) -> list[str]:
    """Enqueue every periodic job whose interval has passed; return their names."""
    started = []
    for periodic in PERIODIC:
        previous = last.get(periodic.name)
        if previous is not None and now - previous < periodic.every:
            continue
        last[periodic.name] = now
        if _busy(periodic, now):
            continue
        periodic.job.enqueue()
        started.append(periodic.name)
    return started


class Command(BaseCommand):
    help = "Enqueue the periodic jobs (SLA sweep, ...) on their intervals; db_worker runs them."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Enqueue what is due and stop.")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        last: dict[str, datetime] = {}
        for periodic in PERIODIC:
            self.stdout.write(f"{periodic.name}: every {periodic.every}")
        while True:
            for name in enqueue_due(last, timezone.now()):
                self.stdout.write(f"{timezone.now():%Y-%m-%d %H:%M:%S} enqueued {name}")
            if once:
                return
            time.sleep(1)
