"""SLA clocks: each work item is measured against every target of its service's SLA policy.

A clock per item and target starts when the item arrives, pauses while the item waits on the
contact or the client (when the policy says so), resumes, and stops when the target is met
(first response: the first public reply; next response: the reply after a contact's message;
resolution: resolved; deadline: resolved by the deadline). Reopening a resolved item resumes its
resolution clock. Durations count business time on the item's calendar unless the target says
calendar time; deadlines are instants computed by the contract's deadline rule.

These functions change clock rows and the item's ``due_at`` (the earliest due time of its
running clocks, which routing orders by); the caller owns the transaction and the timeline.
The periodic sweep that marks warnings and breaches lives in :mod:`bpo.work.sweep`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.forms.models import model_to_dict

from bpo.bulk import insert_rows
from bpo.calendars.engine import BusinessClock
from bpo.calendars.models import BusinessCalendar
from bpo.contracts.deadlines import deadline_due
from bpo.contracts.models import ClockKind, Metric, SlaPolicy, SlaTarget
from bpo.work.models import SlaClock, WorkItem

# Metrics whose clocks stop with a public reply, and those that pause while the item waits.
REPLY_METRICS = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE)
PAUSABLE = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.RESOLUTION)


@functools.lru_cache(maxsize=256)
def _compiled(key: tuple[int, str]) -> BusinessClock:
    calendar = BusinessCalendar(**json.loads(key[1]))
    return calendar.clock


def business_clock(calendar: BusinessCalendar) -> BusinessClock:
    """The calendar's arithmetic, compiled once per version of its rules in this process."""
    rules = model_to_dict(calendar, exclude=["id", "client"])
    return _compiled((calendar.pk, json.dumps(rules, sort_keys=True, default=str)))


class Measure:
    """How one item's clocks count time: business time on its calendar, or plain time."""

    def __init__(self, item: WorkItem) -> None:
        self.calendar: BusinessCalendar = item.terms.calendar
        self._business: BusinessClock | None = None

    @property
    def business(self) -> BusinessClock:
        if self._business is None:
            self._business = business_clock(self.calendar)
        return self._business

    def between(self, clock: SlaClock, start: datetime, end: datetime) -> int:
        if clock.target.clock == ClockKind.CALENDAR:
            return max(0, int((end - start).total_seconds()))
        return max(0, int(self.business.between(start, end).total_seconds()))

    def add(self, clock: SlaClock, start: datetime, seconds: int) -> datetime:
        if clock.target.clock == ClockKind.CALENDAR:
            return start + timedelta(seconds=seconds)
        return self.business.add(start, timedelta(seconds=seconds))


def policy_of(item: WorkItem) -> SlaPolicy | None:
    return item.terms.sla_policy


def _targets(item: WorkItem) -> dict[str, SlaTarget]:
    policy = policy_of(item)
    if policy is None:
        return {}
    return {t.metric: t for t in policy.targets.all() if t.priority == item.priority}


def _schedule(clock: SlaClock, measure: Measure, item: WorkItem) -> None:
    """Set warn_at and due_at of a running clock from what is left of its target."""
    if clock.metric == Metric.DEADLINE:
        return
    policy = policy_of(item)
    assert clock.resumed_at is not None and clock.target_seconds is not None
    left = clock.target_seconds - clock.elapsed_seconds
    clock.due_at = measure.add(clock, clock.resumed_at, max(0, left))
    warn_after = clock.target_seconds * (policy.warning_percent if policy else 75) // 100
    clock.warn_at = measure.add(clock, clock.resumed_at, max(0, warn_after - clock.elapsed_seconds))


def _new_clock(item: WorkItem, target: SlaTarget, now: datetime, cycle: int = 1) -> SlaClock:
    clock = SlaClock(
        client_id=item.client_id,
        item=item,
        target=target,
        metric=target.metric,
        cycle=cycle,
        started_at=now,
        resumed_at=now,
    )
    measure = Measure(item)
    if target.metric == Metric.DEADLINE:
        assert target.deadline is not None
        # A deadline the work states itself (a filing's due date) wins over the service's rule.
        clock.due_at = item.deadline_at or deadline_due(
            target.deadline, now, measure.business, measure.calendar.time_zone
        )
        policy = policy_of(item)
        span = (clock.due_at - now).total_seconds()
        percent = policy.warning_percent if policy else 75
        clock.warn_at = now + timedelta(seconds=max(0.0, span) * percent / 100)
    else:
        clock.target_seconds = int(target.duration_minutes or 0) * 60
        _schedule(clock, measure, item)
    return clock


def refresh_due(item: WorkItem) -> None:
    """Keep the item's ``due_at`` equal to the earliest due time of its running clocks."""
    due = (
        SlaClock.objects.filter(item=item, resumed_at__isnull=False)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )
    if due != item.due_at:
        item.due_at = due
        WorkItem.objects.filter(pk=item.pk).update(due_at=due)


def start(item: WorkItem, now: datetime) -> list[SlaClock]:
    """Start the clocks of a new item: first response, resolution and deadline targets."""
    targets = _targets(item)
    clocks = [
        _new_clock(item, target, now)
        for metric, target in targets.items()
        if metric != Metric.NEXT_RESPONSE
    ]
    SlaClock.objects.bulk_create(clocks)
    policy = policy_of(item)
    if policy is not None and item.state in policy.pause_states:
        pause(item, now)
    refresh_due(item)
    return clocks


def prepare_many(items: list[WorkItem], now: datetime) -> list[tuple[WorkItem, list[SlaClock]]]:
    """The clocks of many new items of one service arriving at ``now``, before they are saved:
    what start() would give each, computed once per priority (items of one priority and terms
    get the same due times). Sets each item's ``due_at``; start_many saves the clocks once the
    items have their ids."""
    templates: dict[tuple[int, str, datetime | None], list[SlaClock]] = {}
    prepared = []
    for item in items:
        key = (item.terms_id, item.priority, item.deadline_at)
        if key not in templates:
            clocks = [
                _new_clock(item, target, now)
                for metric, target in _targets(item).items()
                if metric != Metric.NEXT_RESPONSE
            ]
            policy = policy_of(item)
            if policy is not None and item.state in policy.pause_states:
                for clock in clocks:  # paused from the start, as pause() at ``now`` leaves them
                    if clock.metric in PAUSABLE:
                        clock.resumed_at = None
            templates[key] = clocks
        clocks = templates[key]
        running = [c.due_at for c in clocks if c.resumed_at is not None and c.due_at is not None]
        item.due_at = min(running) if running else None
        prepared.append((item, clocks))
    return prepared


def start_many(prepared: list[tuple[WorkItem, list[SlaClock]]]) -> None:
    """Save the clocks prepare_many computed, each bound to its (now saved) item."""
    fields = [f.attname for f in SlaClock._meta.concrete_fields if not f.primary_key]
    shapes: dict[int, dict[str, object]] = {}  # the items share a few template clocks
    for _, clocks in prepared:
        for clock in clocks:
            if id(clock) not in shapes:
                shapes[id(clock)] = {name: getattr(clock, name) for name in fields}
    insert_rows(
        SlaClock,
        [
            {**shapes[id(clock)], "item_id": item.pk}
            for item, clocks in prepared
            for clock in clocks
        ],
    )


def _running(item: WorkItem, metrics: Iterable[str]) -> list[SlaClock]:
    return list(
        SlaClock.objects.select_related("target")
        .select_for_update()
        .filter(item=item, metric__in=list(metrics), stopped_at__isnull=True)
    )


def _stop(clock: SlaClock, measure: Measure, now: datetime, met: bool | None) -> None:
    if clock.resumed_at is not None and clock.metric != Metric.DEADLINE:
        clock.elapsed_seconds += measure.between(clock, clock.resumed_at, now)
    clock.resumed_at = None
    clock.stopped_at = now
    clock.met = met
    clock.save(update_fields=["elapsed_seconds", "resumed_at", "stopped_at", "met"])


def _met(clock: SlaClock, measure: Measure, now: datetime) -> bool:
    if clock.metric == Metric.DEADLINE:
        return clock.due_at is not None and now <= clock.due_at
    assert clock.target_seconds is not None
    counted = clock.elapsed_seconds
    if clock.resumed_at is not None:
        counted += measure.between(clock, clock.resumed_at, now)
    return counted <= clock.target_seconds


def replied(item: WorkItem, now: datetime) -> None:
    """A public reply meets the running first- and next-response clocks."""
    measure = Measure(item)
    for clock in _running(item, REPLY_METRICS):
        _stop(clock, measure, now, _met(clock, measure, now))
    refresh_due(item)


def contact_wrote(item: WorkItem, now: datetime) -> None:
    """A message from the contact starts a next-response clock, unless one is running."""
    target = _targets(item).get(Metric.NEXT_RESPONSE)
    # While the first response is still owed, that clock measures the wait.
    if target is None or _running(item, REPLY_METRICS):
        return
    last = (
        SlaClock.objects.filter(item=item, metric=Metric.NEXT_RESPONSE)
        .order_by("-cycle")
        .values_list("cycle", flat=True)
        .first()
    )
    clock = _new_clock(item, target, now, cycle=(last or 0) + 1)
    clock.save()
    policy = policy_of(item)
    if policy is not None and item.state in policy.pause_states:
        pause(item, now)
    refresh_due(item)


def pause(item: WorkItem, now: datetime) -> None:
    """The item waits on the contact or the client: duration clocks stop counting."""
    measure = Measure(item)
    for clock in _running(item, PAUSABLE):
        if clock.resumed_at is None:
            continue
        clock.elapsed_seconds += measure.between(clock, clock.resumed_at, now)
        clock.resumed_at = None
        clock.save(update_fields=["elapsed_seconds", "resumed_at"])
    refresh_due(item)


def resume(item: WorkItem, now: datetime) -> None:
    """Counting goes on where it paused; the due time moves by the paused time."""
    measure = Measure(item)
    for clock in _running(item, PAUSABLE):
        if clock.resumed_at is not None:
            continue
        clock.resumed_at = now
        _schedule(clock, measure, item)
        clock.save(update_fields=["resumed_at", "due_at", "warn_at"])
    refresh_due(item)


def resolved(item: WorkItem, now: datetime) -> None:
    """Every running clock stops, met when within its target (a resolution answers too)."""
    measure = Measure(item)
    for clock in _running(item, [m.value for m in Metric]):
        _stop(clock, measure, now, _met(clock, measure, now))
    refresh_due(item)


def reopened(item: WorkItem, now: datetime) -> None:
    """Reopening resumes the same resolution clock (its counted time kept)."""
    measure = Measure(item)
    clock = (
        SlaClock.objects.select_related("target")
        .select_for_update()
        .filter(item=item, metric=Metric.RESOLUTION)
        .order_by("-cycle")
        .first()
    )
    target = _targets(item).get(Metric.RESOLUTION)
    if clock is None or clock.stopped_at is None or clock.met is None or target is None:
        return  # none, still running, cancelled, or the item's priority has no such target now
    clock.target = target
    clock.target_seconds = int(target.duration_minutes or 0) * 60
    clock.stopped_at = None
    clock.met = None
    clock.resumed_at = now
    _schedule(clock, measure, item)
    clock.save(
        update_fields=[
            "target",
            "target_seconds",
            "stopped_at",
            "met",
            "resumed_at",
            "due_at",
            "warn_at",
        ]
    )
    refresh_due(item)


def cancelled(item: WorkItem, now: datetime) -> None:
    """A cancelled or closed item's running clocks stop, counted neither met nor missed."""
    measure = Measure(item)
    for clock in _running(item, [m.value for m in Metric]):
        _stop(clock, measure, now, None)
    refresh_due(item)


def reprioritised(item: WorkItem, now: datetime) -> None:
    """A new priority means new targets: running clocks keep their counted time and take the
    new priority's target; metrics the new priority has no target for stop uncounted."""
    measure = Measure(item)
    targets = _targets(item)
    for clock in _running(item, [m.value for m in Metric]):
        target = targets.get(clock.metric)
        if target is None:
            _stop(clock, measure, now, None)
            continue
        if clock.resumed_at is not None and clock.metric != Metric.DEADLINE:
            clock.elapsed_seconds += measure.between(clock, clock.resumed_at, now)
            clock.resumed_at = now
        clock.target = target
        if clock.metric == Metric.DEADLINE:
            fresh = _new_clock(item, target, clock.started_at, clock.cycle)
            clock.due_at, clock.warn_at = fresh.due_at, fresh.warn_at
        else:
            clock.target_seconds = int(target.duration_minutes or 0) * 60
            if clock.resumed_at is not None:
                _schedule(clock, measure, item)
        # Warnings and breaches already written stay: they happened.
        clock.save()
    refresh_due(item)


def state_changed(item: WorkItem, before: str, after: str, now: datetime) -> None:
    """Follow the item's life cycle: pause, resume, stop or resume-after-reopen its clocks."""
    policy = policy_of(item)
    pausing = set(policy.pause_states) if policy else set()
    if after in ("closed", "cancelled"):
        cancelled(item, now)
    elif after == "resolved":
        resolved(item, now)
    elif before == "resolved":
        reopened(item, now)
        if after in pausing:
            pause(item, now)
    elif after in pausing and before not in pausing:
        pause(item, now)
    elif before in pausing and after not in pausing:
        resume(item, now)
