"""The demo's history: nine weeks of Northwind customer service, so the client's window has
trends to show and last month a service report.

Items are taken in and resolved through the app's actions, then moved back to the day they
belong to (as an import of history would): creation, resolution, SLA clock outcomes, agents'
work sessions and survey answers. The rollups pick every change up (their triggers fire on
these writes too). A share of the breaches carries a manager's explanation.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from django.utils import timezone

from bpo.accounts.models import User
from bpo.contracts.models import Service
from bpo.portal.actions import reports_monthly
from bpo.portal.models import Survey
from bpo.tenancy.context import Actor, acting_as, actor_for
from bpo.work import actions as work
from bpo.work.models import Channel, SlaClock, WorkItem, WorkSession

SERVICE_KEY = "nw-customer-service"
WEEKS = 9
SEED = 20261123
TOPICS = [
    ("Where is my order?", "inquiry"),
    ("Parcel arrived damaged", "complaint"),
    ("Return label needed", "return"),
    ("Refund not received yet", "complaint"),
    ("Change my delivery address", "inquiry"),
    ("Coffee machine leaks", "after_sales"),
    ("Invoice copy, please", "inquiry"),
]
CAUSES = [
    ("volume", "Twice the forecast volume after the newsletter went out."),
    ("staffing", "Two agents off sick; the backlog was cleared the next day."),
    ("client", "Waited for Northwind's warehouse to confirm the stock."),
    ("system", "The order system was down for two hours."),
]


def seed_history(*, admin: User, progress: Callable[[str], None]) -> None:
    """Nine weeks of resolved Northwind items before today, once (skipped if there is history)."""
    with acting_as(actor_for(admin)) as actor:
        service = Service.objects.get(key=SERVICE_KEY)
        now = timezone.now()
        start = now - timedelta(weeks=WEEKS)
        if WorkItem.objects.filter(
            service=service, created_at__lt=now - timedelta(days=1)
        ).exists():
            progress("[7/9] history: already there")
            return
        rng = random.Random(SEED)  # noqa: S311 (demo data, not secrets)
        agent = User.objects.get(email="agent@meridian.example")
        days = [start + timedelta(days=n) for n in range(WEEKS * 7)]
        workdays = [d for d in days if d.weekday() < 6]  # Monday to Saturday, as the calendar
        made = 0
        for number, day in enumerate(workdays, start=1):
            # A busier fortnight in the middle: the newsletter's effect on volume and service.
            busy = len(workdays) // 2 <= number < len(workdays) // 2 + 12
            for _ in range(rng.randint(10, 16) if busy else rng.randint(5, 9)):
                _one_item(actor, service, agent, day, rng, busy=busy)
                made += 1
            if number % 7 == 0 or number == len(workdays):
                progress(f"[7/9] history: {made} items over {number}/{len(workdays)} days")
        made_reports = reports_monthly()
        progress(f"[7/9] history: {made} items; {made_reports} monthly report(s) made")


def _one_item(
    actor: Actor, service: Service, agent: User, day: datetime, rng: random.Random, *, busy: bool
) -> None:
    title, reason = rng.choice(TOPICS)
    item = work.work_item_create(
        actor=actor,
        service=service,
        title=title,
        priority=rng.choices(["low", "normal", "high", "urgent"], [2, 12, 4, 1])[0],
        contact_email=f"customer{rng.randint(1, 600)}@example.net",
        custom_fields={"reason": reason},
        tags=[reason],  # the item's type: complaints are priced with a supplement
        channel=rng.choice([Channel.API, Channel.WEB]),  # no mail goes out for history
    )
    created = day.replace(hour=rng.randint(8, 18), minute=rng.randint(0, 59), second=0)
    handled_minutes = rng.randint(3, 25)
    resolved = created + timedelta(hours=rng.uniform(0.5, 30 if busy else 10))
    work.work_item_transition(actor=actor, item=item, state="resolved")
    WorkItem.objects.filter(pk=item.pk).update(
        created_at=created, resolved_at=resolved, first_resolved_at=resolved
    )
    late_share = 0.35 if busy else 0.08
    for clock in SlaClock.objects.filter(item=item):
        target = timedelta(seconds=clock.target_seconds or 3600)
        if rng.random() < late_share:
            stopped = created + target * rng.uniform(1.1, 2.5)
            SlaClock.objects.filter(pk=clock.pk).update(
                started_at=created,
                due_at=created + target,
                stopped_at=stopped,
                met=False,
                breached_at=created + target,
            )
            if rng.random() < 0.4:
                clock.refresh_from_db()
                cause, note = rng.choice(CAUSES)
                work.breach_explain(actor=actor, clock=clock, cause=cause, note=note)
        else:
            stopped = created + target * rng.uniform(0.1, 0.9)
            SlaClock.objects.filter(pk=clock.pk).update(
                started_at=created,
                due_at=created + target,
                stopped_at=stopped,
                met=True,
                breached_at=None,
            )
    session_start = resolved - timedelta(minutes=handled_minutes)
    WorkSession.objects.create(
        client_id=item.client_id,
        item=item,
        agent=agent,
        started_at=session_start,
        last_seen_at=resolved,
        ended_at=resolved,
    )
    if rng.random() < 0.3:
        rating = rng.choices([1, 2, 3, 4, 5], [1, 1, 2, 5, 6] if not busy else [2, 2, 3, 4, 4])[0]
        Survey.objects.filter(item=item).update(
            rating=rating,
            recommend=min(10, max(0, rating * 2 + rng.randint(-1, 1))),
            answered_at=resolved + timedelta(hours=rng.uniform(1, 20)),
        )
