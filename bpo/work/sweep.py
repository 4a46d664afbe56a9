"""The SLA sweep: marks clocks that reached their warning or breach time, writes them on the
item's timeline and runs the policy's actions (notify managers, raise priority, move to queue).

Each clock is handled in its own transaction that first claims it with a conditional UPDATE
(``warned_at``/``breached_at`` still empty), so the sweep is idempotent: running it twice, or
concurrently, or again after it was killed halfway, marks every warning and breach exactly once.
A warning whose breach time has also passed (the sweep was down) is marked without being
announced: the breach says it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bpo.accounts.models import Assignment, Membership
from bpo.accounts.roles import Role
from bpo.audit.context import request_context
from bpo.audit.log import record
from bpo.contracts.models import Metric, Priority
from bpo.tenancy.scoping import all_clients_unscoped, client_scope
from bpo.work import actions, clocks
from bpo.work.actions import SESSION_IDLE
from bpo.work.models import (
    OPEN_STATES,
    EventKind,
    Notification,
    Queue,
    SlaClock,
    WorkItem,
    WorkSession,
)

logger = logging.getLogger(__name__)
ESCALATION = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


def running_past_due(now: datetime) -> Q:
    """A running clock whose due time has passed."""
    return Q(resumed_at__isnull=False, due_at__lte=now)


# A clock stopped after its time ran out but before a sweep saw it (the item was resolved
# late between two sweeps): missed all the same, so its breach is marked too.
STOPPED_MISSED = Q(stopped_at__isnull=False, met=False)


@dataclass
class SweepReport:
    """What one sweep did."""

    warnings: int = 0
    breaches: int = 0
    sessions_closed: int = 0


def sla_sweep(*, now: datetime | None = None) -> SweepReport:
    """Mark every due warning and breach of every client once, then end idle work sessions."""
    now = now or timezone.now()
    report = SweepReport()
    with all_clients_unscoped("the SLA sweep looks for due clocks of every client"):
        warnings = list(
            SlaClock.objects.filter(
                resumed_at__isnull=False, warned_at__isnull=True, warn_at__lte=now
            ).values_list("pk", "client_id")
        )
        breaches = list(
            SlaClock.objects.filter(
                running_past_due(now) | STOPPED_MISSED, breached_at__isnull=True
            ).values_list("pk", "client_id")
        )
        client_ids = set(
            WorkSession.objects.filter(ended_at__isnull=True, last_seen_at__lt=now - SESSION_IDLE)
            .values_list("client_id", flat=True)
            .distinct()
            .order_by()
        )
    with request_context(request_id="job-sla-sweep"):
        for breach, due in ((True, breaches), (False, warnings)):
            for pk, client_id in due:
                try:
                    with client_scope([client_id]):
                        marked = _mark(pk, breach=breach, now=now)
                except Exception:  # one broken clock must not stop every later mark
                    logger.exception("SLA sweep: clock %s of client %s failed", pk, client_id)
                    continue
                if breach:
                    report.breaches += marked
                else:
                    report.warnings += marked
        for client_id in sorted(client_ids):
            with client_scope([client_id]):
                report.sessions_closed += actions.work_sessions_close_idle(now=now)
    return report


def _mark(pk: int, *, breach: bool, now: datetime) -> bool:
    field = "breached_at" if breach else "warned_at"
    when = "due_at" if breach else "warn_at"
    with transaction.atomic():
        clock = SlaClock.objects.filter(pk=pk).first()
        if clock is None:
            return False
        # The item first, then its clock: the order every user action locks them in.
        WorkItem.objects.select_for_update().filter(pk=clock.item_id).first()
        clock = SlaClock.objects.select_related("target", "item").get(pk=pk)
        at = getattr(clock, when)
        # Claimed only if still due now: not paused, resumed or re-targeted meanwhile.
        due_now = (
            running_past_due(now) | STOPPED_MISSED
            if breach
            else Q(resumed_at__isnull=False, warn_at__lte=now)
        )
        claimed = SlaClock.objects.filter(due_now, pk=pk, **{f"{field}__isnull": True}).update(
            **{field: at or clock.stopped_at}
        )
        if not claimed:  # another sweep got there first
            return False
        if not breach and clock.due_at is not None and clock.due_at <= now:
            return False  # the breach announces it
        item = WorkItem.objects.select_for_update().get(pk=clock.item_id)
        policy = clocks.policy_of(item)
        label = Metric(clock.metric).label
        due = f"{clock.due_at or clock.stopped_at:%Y-%m-%d %H:%M} UTC"
        text = (
            f"{label} target missed on #{item.pk} (was due {due})"
            if breach
            else f"{label} target at risk on #{item.pk}: due {due}"
        )
        kind = EventKind.SLA_BREACH if breach else EventKind.SLA_WARNING
        actions.system_event(
            item, kind, body=text, metric=clock.metric, cycle=clock.cycle, due_at=due
        )
        steps = (policy.on_breach if breach else policy.on_warning) if policy else []
        if item.state not in OPEN_STATES:  # resolved late: tell people, move nothing
            steps = [step for step in steps if step.get("type") == "notify_managers"]
        done = [_run(step, item, kind, text) for step in steps]
        record(
            "sla.breached" if breach else "sla.warned",
            obj=item,
            after={"metric": clock.metric, "due_at": clock.due_at, "actions": done},
            actor_email="system: SLA sweep",
        )
    return True


def _run(step: dict[str, Any], item: WorkItem, kind: str, text: str) -> str:
    """Carry out one action of the policy; say what was done."""
    what = step.get("type")
    if what == "notify_managers":
        managers = Membership.objects.filter(role=Role.MANAGER, client__isnull=True).values(
            "user_id"
        )
        recipients = (
            Assignment.objects.filter(client_id=item.client_id, user_id__in=managers)
            .values_list("user_id", flat=True)
            .distinct()
        )
        Notification.objects.bulk_create(
            Notification(
                client_id=item.client_id, recipient_id=uid, item=item, kind=kind, text=text
            )
            for uid in recipients
        )
        return f"notified {len(recipients)} manager(s)"
    if what == "raise_priority":
        position = ESCALATION.index(Priority(item.priority))
        if position + 1 >= len(ESCALATION):
            return "priority already urgent"
        actions.system_set_priority(item, ESCALATION[position + 1], reason=text)
        return f"priority raised to {item.priority}"
    if what == "move_to_queue":
        queue = Queue.objects.filter(service_id=item.service_id, name=step.get("queue")).first()
        if queue is None:
            return f"no queue named {step.get('queue')!r} in this service"
        actions.system_move(item, queue, reason=text)
        return f"moved to {queue.name}"
    return f"unknown action {what!r}"
