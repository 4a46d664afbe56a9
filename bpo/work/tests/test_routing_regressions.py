"""Regressions found in review: capacity across clients, who push routing may choose, items
that wait again, and clocks after a priority change or while the first response is owed."""

from bpo.accounts.models import Assignment
from bpo.accounts.tests.factories import AssignmentFactory, MembershipFactory
from bpo.tenancy.context import acting_as, actor_for
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work import actions
from bpo.work.models import SlaClock
from bpo.work.tests.slaworld import queue_of, sla_service
from bpo.workforce.actions import agent_presence_set, agent_profile_update, certification_grant


def mk_agent(world, services, capacity=1):
    member = MembershipFactory(role="agent", client=None)
    for s in services:
        AssignmentFactory(user=member.user, client_id=s.client_id)
    with acting_as(world.actor("admin")) as admin:
        for s in services:
            certification_grant(actor=admin, user=member.user, service=s)
        agent_profile_update(actor=admin, agent=member.user, capacity=capacity)
    with acting_as(actor_for(member.user)) as me:
        agent_presence_set(actor=me, presence="available")
    return member.user


def test_capacity_across_clients(world):
    own = sla_service(world)
    other = sla_service(world, client=world.other, key="oth")
    with acting_as(world.actor("admin")):
        p1 = queue_of(own, "Chat", routing="push")
        p2 = queue_of(other, "Chat2", routing="push")
    a = mk_agent(world, [own, other], capacity=1)
    with acting_as(actor_for(world.people["client_admin"])) as c:
        i1 = actions.work_item_create(actor=c, service=own, title="x", queue=p1)
    with acting_as(actor_for(world.other_people["client_admin"])) as c:
        i2 = actions.work_item_create(actor=c, service=other, title="y", queue=p2)
    assert not (i1.assignee_id == a.pk and i2.assignee_id == a.pk), "capacity 1 overrun"


def test_next_response_runs_beside_first_response(world):
    own = sla_service(world)
    with acting_as(actor_for(world.people["client_admin"])) as c:
        item = actions.work_item_create(actor=c, service=own, title="x")
        actions.work_item_message_in(actor=c, item=item, body="any news?")
        running = sorted(
            SlaClock.objects.filter(item=item, stopped_at__isnull=True).values_list(
                "metric", flat=True
            )
        )
    assert "next_response" not in running


def test_pending_to_open_not_pushed(world):
    own = sla_service(world)
    with acting_as(world.actor("admin")):
        p1 = queue_of(own, "Chat", routing="push")
    with acting_as(actor_for(world.people["client_admin"])) as c:
        item = actions.work_item_create(actor=c, service=own, title="x", queue=p1)
    assert item.assignee_id is None
    with acting_as(world.actor("manager")) as m:
        actions.work_item_transition(actor=m, item=item, state="pending_contact")
    a = mk_agent(world, [own], capacity=3)
    with acting_as(actor_for(world.people["client_admin"])) as c:
        actions.work_item_message_in(actor=c, item=item, body="here is the info")
        item.refresh_from_db()
    assert item.assignee_id == a.pk, "open waiting item in push queue not offered to free agent"


def test_unassigned_agent_still_pushed(world):
    own = sla_service(world)
    with acting_as(world.actor("admin")):
        p1 = queue_of(own, "Chat", routing="push")
    a = mk_agent(world, [own], capacity=3)
    with all_clients_unscoped("t"):
        Assignment.objects.filter(user=a).delete()
    with acting_as(actor_for(world.people["client_admin"])) as c:
        item = actions.work_item_create(actor=c, service=own, title="x", queue=p1)
    assert item.assignee_id != a.pk, "pushed to agent no longer assigned to the client"


def test_inactive_agent_still_pushed(world):
    own = sla_service(world)
    with acting_as(world.actor("admin")):
        p1 = queue_of(own, "Chat", routing="push")
    a = mk_agent(world, [own], capacity=3)
    a.is_active = False
    a.save()
    with acting_as(actor_for(world.people["client_admin"])) as c:
        item = actions.work_item_create(actor=c, service=own, title="x", queue=p1)
    assert item.assignee_id != a.pk, "pushed to deactivated agent"


def test_reopen_resurrects_cancelled_resolution_clock(world):
    own = sla_service(world)
    with acting_as(actor_for(world.people["client_admin"])) as c:
        item = actions.work_item_create(actor=c, service=own, title="x")
    with acting_as(world.actor("manager")) as m:
        actions.work_item_update(
            actor=m, item=item, priority="urgent"
        )  # urgent: no resolution target
        res = SlaClock.objects.get(item=item, metric="resolution")
        assert res.status == "cancelled"
        actions.work_item_transition(actor=m, item=item, state="resolved")
        actions.work_item_transition(actor=m, item=item, state="open")
        res = SlaClock.objects.get(item=item, metric="resolution")
        assert res.status != "running", (
            "urgent item has a running resolution clock with normal's target"
        )
