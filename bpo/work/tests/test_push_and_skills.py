"""Routing rules beyond certification: skills with levels, languages, push queues, presence,
and releasing an offline agent's untouched items; work sessions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bpo.accounts.tests.factories import AssignmentFactory, MembershipFactory
from bpo.tenancy.context import acting_as, actor_for
from bpo.work import actions
from bpo.work.models import Event, WorkItem, WorkSession
from bpo.work.tests.slaworld import queue_of, sla_service
from bpo.workforce.actions import agent_presence_set, agent_profile_update, certification_grant
from bpo.workforce.models import AgentProfile


def agent(world, n, service, *, presence="offline", **profile):
    """Another certified agent of the own client."""
    member = MembershipFactory(role="agent", client=None)
    AssignmentFactory(user=member.user, client=world.own)
    with acting_as(world.actor("manager")) as manager:
        certification_grant(actor=manager, user=member.user, service=service)
        if profile:
            agent_profile_update(actor=manager, agent=member.user, **profile)
    if presence != "offline":
        with acting_as(actor_for(member.user)) as me:
            agent_presence_set(actor=me, presence=presence)
    return member.user


def submit(world, service, **fields):
    with acting_as(world.actor("client_admin")) as client:
        return actions.work_item_create(actor=client, service=service, title="Help", **fields)


def get_next(user):
    with acting_as(actor_for(user)) as me:
        return actions.work_item_next(actor=me)


@pytest.fixture
def service(world):
    return sla_service(world)


def test_queue_skills_and_levels_decide_who_may_take_the_work(world, service):
    with acting_as(world.actor("manager")):
        refunds = queue_of(service, "Refunds", required_skills={"refunds": 3})
    novice = agent(world, 1, service, skills={"refunds": 2})
    expert = agent(world, 2, service, skills={"refunds": 4})
    item = submit(world, service, queue=refunds)
    assert get_next(novice) is None
    assert get_next(expert).pk == item.pk


def test_an_items_own_skills_and_language_are_checked_by_the_database(world, service):
    german = agent(world, 1, service, languages=["de"], skills={"warranty": 2})
    english = agent(world, 2, service, languages=["en"], skills={"warranty": 5})
    needs = submit(world, service, language="de", required_skills={"warranty": 2})
    plain = submit(world, service)
    assert get_next(english).pk == plain.pk  # the German item is not theirs
    assert get_next(german).pk == needs.pk
    with acting_as(world.actor("client_admin")) as client, pytest.raises(Exception, match="level"):
        actions.work_item_create(
            actor=client, service=service, title="x", required_skills={"warranty": 9}
        )


def test_push_gives_new_work_to_the_available_agent_who_waited_longest(world, service):
    with acting_as(world.actor("manager")):
        push = queue_of(service, "Chat", routing="push")
    first = agent(world, 1, service, presence="available")
    second = agent(world, 2, service, presence="available")
    away = agent(world, 3, service, presence="away")
    AgentProfile.objects.filter(user=second).update(
        waiting_since=timezone.now() - timedelta(hours=1)
    )
    a = submit(world, service, queue=push)
    b = submit(world, service, queue=push)
    assert (a.assignee, b.assignee) == (second, first)
    c = submit(world, service, queue=push)
    assert c.assignee == second  # waited longest again (took a before first took b)
    with acting_as(world.actor("manager")):
        assert not WorkItem.objects.filter(assignee=away).exists()


def test_push_respects_capacity_and_fills_it_again_when_an_agent_finishes(world, service):
    with acting_as(world.actor("manager")):
        push = queue_of(service, "Chat", routing="push")
    only = agent(world, 1, service, presence="available", capacity=1)
    a = submit(world, service, queue=push)
    b = submit(world, service, queue=push)
    assert a.assignee == only and b.assignee is None
    with acting_as(actor_for(only)) as me:
        actions.work_item_transition(actor=me, item=a, state="resolved")
        b.refresh_from_db()
        assert b.assignee == only


def test_going_offline_releases_untouched_items_and_keeps_touched_ones(world, service):
    worker = agent(world, 1, service)
    touched, untouched, worked = (submit(world, service) for _ in range(3))
    for _ in range(3):
        get_next(worker)
    with acting_as(actor_for(worker)) as me:
        actions.work_item_note(actor=me, item=touched, body="Called the customer")
        actions.work_session_touch(actor=me, item=worked)
        agent_presence_set(actor=me, presence="available")
        agent_presence_set(actor=me, presence="offline")
        assert set(WorkItem.objects.filter(assignee=worker)) == {touched, worked}
        untouched.refresh_from_db()
        assert untouched.assignee is None
        released = Event.objects.get(item=untouched, kind="released")
        assert released.internal and "went offline" in released.body


def test_work_sessions_extend_while_heard_from_and_end_when_idle(world, service):
    worker = agent(world, 1, service)
    item = submit(world, service)
    with acting_as(actor_for(worker)) as me:
        first = actions.work_session_touch(actor=me, item=item)
        again = actions.work_session_touch(actor=me, item=item)
        assert again.pk == first.pk and again.last_seen_at >= first.last_seen_at
        WorkSession.objects.filter(pk=first.pk).update(
            started_at=timezone.now() - timedelta(minutes=10),
            last_seen_at=timezone.now() - timedelta(minutes=5),
        )
        assert actions.work_sessions_close_idle() == 1
        ended = WorkSession.objects.get(pk=first.pk)
        assert ended.ended_at == ended.last_seen_at and ended.seconds == 300
        fresh = actions.work_session_touch(actor=me, item=item)
        assert fresh.pk != first.pk
        done = actions.work_session_end(actor=me, item=item)
        assert done is not None and done.ended_at is not None
