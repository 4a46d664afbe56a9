"""Get next keeps an agent's take statements while nothing they come from changes, and sees
every change at the very next take: the routing stamp, changed by database triggers."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work import actions
from bpo.work.models import Queue, RoutingStamp
from bpo.work.tests.slaworld import queue_of
from bpo.work.tests.test_push_and_skills import agent, get_next, service, submit
from bpo.workforce.actions import agent_profile_update
from bpo.workforce.models import AgentSkill, Certification

__all__ = ["service"]  # the fixture, imported for the tests below


def stamp() -> int | None:
    return RoutingStamp.objects.values_list("token", flat=True).first()


def reads_routing_facts(user) -> tuple[object, bool]:
    """Get next for the user, and whether it read their skills or certifications."""
    with CaptureQueriesContext(connection) as queries:
        item = get_next(user)
    facts = ("workforce_agentskill", "workforce_certification")
    return item, any(name in q["sql"] for q in queries.captured_queries for name in facts)


def test_the_stamp_changes_at_every_write_to_skills_certifications_and_queues(world, service):
    user = agent(world, 1, service)
    seen = {stamp()}
    AgentSkill.objects.create(user=user, skill="refunds", level=2)
    seen.add(stamp())
    AgentSkill.objects.filter(user=user).update(level=3)  # a bulk update: no signal, no save()
    seen.add(stamp())
    with all_clients_unscoped("test"):
        Queue.objects.filter(service=service).update(required_skills={"refunds": 1})
        seen.add(stamp())
        Certification.objects.filter(user=user).delete()
        seen.add(stamp())
    assert None not in seen and len(seen) == 5


def test_the_take_statements_are_built_once_and_rebuilt_after_a_change(world, service):
    user = agent(world, 1, service)
    first, second, third = (submit(world, service) for _ in range(3))
    item, built = reads_routing_facts(user)
    assert (item.pk, built) == (first.pk, True)
    item, built = reads_routing_facts(user)
    assert (item.pk, built) == (second.pk, False)  # the kept statements, nothing read again
    with acting_as(world.actor("manager")) as manager:
        agent_profile_update(actor=manager, agent=user, skills={"refunds": 2})
    item, built = reads_routing_facts(user)
    assert (item.pk, built) == (third.pk, True)


def test_a_certification_removed_behind_the_apps_back_holds_at_the_next_take(world, service):
    user = agent(world, 1, service)
    submit(world, service), submit(world, service)
    assert get_next(user) is not None
    with all_clients_unscoped("test"):
        Certification.objects.filter(user=user).delete()  # SQL of its own, no action
    assert get_next(user) is None


def test_a_queue_that_comes_to_require_a_skill_is_closed_to_agents_without_it(world, service):
    with acting_as(world.actor("manager")):
        refunds = queue_of(service, "Refunds")
    novice = agent(world, 1, service)
    submit(world, service, queue=refunds), submit(world, service, queue=refunds)
    assert get_next(novice) is not None
    with acting_as(world.actor("manager")) as manager:
        actions.queue_save(
            actor=manager, service=service, queue=refunds, required_skills={"refunds": 3}
        )
    assert get_next(novice) is None
