"""SLA clocks: start, pause, resume, stop, reopen and re-target, counted in business time."""

from datetime import UTC, datetime

import pytest

from bpo.tenancy.context import acting_as
from bpo.work import actions, clocks
from bpo.work.models import SlaClock, WorkItem
from bpo.work.tests.slaworld import sla_service

MON_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def item(world):
    service = sla_service(world)
    with acting_as(world.actor("client_admin")) as client:
        made = actions.work_item_create(actor=client, service=service, title="Broken kettle")
        # Replace the clocks started "now" by clocks started at a known instant.
        SlaClock.objects.filter(item=made).delete()
        clocks.start(made, MON_10)
    return made


def clock(item, metric):
    return SlaClock.objects.get(item=item, metric=metric)


def test_clocks_start_per_target_of_the_items_priority_with_business_due_times(world, item):
    with acting_as(world.actor("agent")):
        assert {c.metric for c in SlaClock.objects.filter(item=item)} == {
            "first_response",
            "resolution",
        }
        # 2 business hours from Monday 10:00 → 12:00; 8 hours → Tuesday 10:00.
        assert clock(item, "first_response").due_at == at(23, 12)
        assert clock(item, "first_response").warn_at == at(23, 11, 30)
        assert clock(item, "resolution").due_at == at(24, 10)
        item.refresh_from_db()
        assert item.due_at == at(23, 12)


def test_a_new_item_gets_running_clocks_and_a_due_time(world):
    service = sla_service(world)
    with acting_as(world.actor("client_admin")) as client:
        made = actions.work_item_create(actor=client, service=service, title="x")
        assert SlaClock.objects.filter(item=made, resumed_at__isnull=False).count() == 2
        assert WorkItem.objects.get(pk=made.pk).due_at is not None


def test_waiting_on_the_contact_pauses_and_the_due_time_moves_by_the_pause(world, item):
    with acting_as(world.actor("agent")):
        clocks.state_changed(item, "new", "pending_contact", at(23, 11))  # 1 h counted
        paused = clock(item, "resolution")
        assert paused.status == "paused" and paused.elapsed_seconds == 3600
        WorkItem.objects.filter(pk=item.pk).update(state="pending_contact")
        item.refresh_from_db()
        assert item.due_at is None  # nothing runs while it waits
        # Resumed Tuesday 09:00: 7 business hours left → Tuesday 16:00.
        clocks.state_changed(item, "pending_contact", "open", at(24, 9))
        resumed = clock(item, "resolution")
        assert resumed.status == "running" and resumed.due_at == at(24, 16)


def test_a_reply_meets_the_first_response_and_resolving_stops_the_rest(world, item):
    with acting_as(world.actor("agent")):
        clocks.replied(item, at(23, 11, 59))
        assert clock(item, "first_response").met is True
        clocks.state_changed(item, "open", "resolved", at(24, 10, 1))  # one minute late
        late = clock(item, "resolution")
        assert late.status == "missed" and late.elapsed_seconds == 8 * 3600 + 60


def test_reopening_resumes_the_same_resolution_clock(world, item):
    with acting_as(world.actor("agent")):
        clocks.state_changed(item, "open", "resolved", at(23, 12))  # 2 h counted, met
        assert clock(item, "resolution").met is True
        clocks.state_changed(item, "resolved", "open", at(23, 14))
        again = clock(item, "resolution")
        assert again.status == "running" and again.elapsed_seconds == 7200
        assert again.due_at == at(23, 14) + (at(24, 10) - at(23, 12)) - (at(23, 14) - at(23, 14))
        assert SlaClock.objects.filter(item=item, metric="resolution").count() == 1


def test_each_message_of_the_contact_starts_a_next_response_cycle(world, item):
    with acting_as(world.actor("agent")):
        clocks.replied(item, at(23, 10, 30))
        clocks.contact_wrote(item, at(23, 13))
        clocks.contact_wrote(item, at(23, 13, 5))  # one is running: no second clock
        clocks.replied(item, at(23, 13, 30))
        clocks.contact_wrote(item, at(23, 16, 30))
        cycles = SlaClock.objects.filter(item=item, metric="next_response").order_by("cycle")
        assert [(c.cycle, c.status) for c in cycles] == [(1, "met"), (2, "running")]
        # 30 business minutes on Monday, 30 more from Tuesday 09:00.
        assert cycles[1].due_at == at(24, 9, 30)


def test_a_higher_priority_takes_its_shorter_target_keeping_the_time_counted(world, item):
    with acting_as(world.actor("agent")):
        WorkItem.objects.filter(pk=item.pk).update(priority="high")
        item.refresh_from_db()
        clocks.reprioritised(item, at(23, 10, 20))
        first = clock(item, "first_response")
        assert first.target_seconds == 30 * 60 and first.due_at == at(23, 10, 30)
        WorkItem.objects.filter(pk=item.pk).update(priority="urgent")
        item.refresh_from_db()
        clocks.reprioritised(item, at(23, 10, 25))
        # Urgent has no resolution target: that clock stops, counted neither way.
        assert clock(item, "resolution").status == "cancelled"
        # 25 minutes counted, 15 allowed: the shorter target has run out; it is due at once.
        assert clock(item, "first_response").due_at == at(23, 10, 25)


def test_cancelling_stops_every_clock_uncounted(world, item):
    with acting_as(world.actor("agent")):
        clocks.state_changed(item, "new", "cancelled", at(23, 11))
        assert {c.status for c in SlaClock.objects.filter(item=item)} == {"cancelled"}


def test_calendar_time_targets_count_nights_and_weekends(world):
    service = sla_service(
        world,
        key="night",
        targets=[
            {
                "priority": "normal",
                "metric": "resolution",
                "duration_minutes": 24 * 60,
                "clock": "calendar",
            }
        ],
    )
    with acting_as(world.actor("client_admin")) as client:
        made = actions.work_item_create(actor=client, service=service, title="x")
        SlaClock.objects.filter(item=made).delete()
        clocks.start(made, at(27, 16))  # Friday 16:00
        assert clock(made, "resolution").due_at == at(28, 16)


def test_deadline_targets_follow_the_contract_rule(world):
    service = sla_service(
        world,
        key="close",
        targets=[
            {
                "priority": "normal",
                "metric": "deadline",
                "deadline": {"kind": "next_business_day", "at": "10:00"},
            }
        ],
    )
    with acting_as(world.actor("client_admin")) as client:
        made = actions.work_item_create(actor=client, service=service, title="x")
        SlaClock.objects.filter(item=made).delete()
        clocks.start(made, at(27, 16))  # Friday → Monday 10:00
        deadline = clock(made, "deadline")
        assert deadline.due_at == at(30, 10)
        clocks.state_changed(made, "new", "pending_client", at(28, 9))  # deadlines never pause
        assert clock(made, "deadline").status == "running"
