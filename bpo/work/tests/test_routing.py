"""Routing: "get next" gives each waiting item to exactly one certified agent, best first."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from bpo.accounts.tests.factories import AssignmentFactory, MembershipFactory
from bpo.audit.models import AuditEntry
from bpo.contracts.models import ServiceTerms
from bpo.tenancy.context import acting_as, actor_for
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work import actions
from bpo.work.models import WorkItem
from bpo.work.tests.test_items_api import agreed_service, api_as, send
from bpo.workforce.actions import certification_grant
from bpo.workforce.models import AgentProfile


def certify(world, user, service):
    with acting_as(world.actor("manager")) as manager:
        return certification_grant(actor=manager, user=user, service=service)


def make_items(service, count, priority="normal"):
    with all_clients_unscoped("test setup"):
        terms = ServiceTerms.objects.get(service=service)
        return WorkItem.objects.bulk_create(
            WorkItem(
                client_id=service.client_id,
                service=service,
                terms=terms,
                title=f"Item {n}",
                priority=priority,
            )
            for n in range(count)
        )


def test_get_next_takes_the_highest_priority_then_the_oldest(world):
    service = agreed_service(world, world.own)
    agent = world.people["agent"]
    certify(world, agent, service)
    make_items(service, 2, "low")
    urgent = make_items(service, 2, "urgent")
    http = api_as(world, "agent")
    first = send(http, "POST", "/api/v1/work-items/next").json()
    second = send(http, "POST", "/api/v1/work-items/next").json()
    assert [first["id"], second["id"]] == [urgent[0].pk, urgent[1].pk]
    assert first["assignee_id"] == agent.pk
    assert first["timeline"][-1]["kind"] == "assigned"


def test_uncertified_agents_get_nothing(world):
    service = agreed_service(world, world.own)
    make_items(service, 3)
    response = send(api_as(world, "agent"), "POST", "/api/v1/work-items/next")
    assert response.status_code == 204


def test_capacity_is_respected(world):
    service = agreed_service(world, world.own)
    agent = world.people["agent"]
    certify(world, agent, service)
    AgentProfile.objects.filter(user=agent).update(capacity=2)
    make_items(service, 5)
    http = api_as(world, "agent")
    codes = [send(http, "POST", "/api/v1/work-items/next").status_code for _ in range(3)]
    assert codes == [200, 200, 204]


def test_manual_assignment_needs_certification_and_a_reason(world):
    service = agreed_service(world, world.own)
    item = make_items(service, 1)[0]
    manager = api_as(world, "manager")
    url = f"/api/v1/work-items/{item.pk}/assign"
    agent = world.people["agent"]
    refused = send(manager, "POST", url, {"agent_id": agent.pk, "reason": "skills"})
    assert refused.status_code == 422 and "not certified" in refused.content.decode()
    certify(world, agent, service)
    done = send(manager, "POST", url, {"agent_id": agent.pk, "reason": "knows the customer"})
    assert done.status_code == 200 and done.json()["assignee_id"] == agent.pk
    other_agent = world.other_people["agent"]
    hidden = send(manager, "POST", url, {"agent_id": other_agent.pk, "reason": "x"})
    assert hidden.status_code == 422
    assert hidden.json()["error"]["fields"][0]["path"] == "body.agent_id"


def test_certification_needs_an_agent_of_the_client(world):
    service = agreed_service(world, world.own)
    manager = api_as(world, "manager")
    ok = send(
        manager,
        "POST",
        "/api/v1/certifications",
        {"user_id": world.people["agent"].pk, "service_id": service.pk},
    )
    assert ok.status_code == 201
    assert AuditEntry.objects.filter(action="certification.granted").exists()
    stranger = send(
        manager,
        "POST",
        "/api/v1/certifications",
        {"user_id": world.other_people["agent"].pk, "service_id": service.pk},
    )
    assert stranger.status_code == 422


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="threads need a server database; SQLite serialises writers anyway",
)
def test_concurrent_agents_never_get_the_same_item(world):
    service = agreed_service(world, world.own)
    workers = 32
    items = 10_000  # the figure: every item assigned exactly once, none skipped
    agents = []
    for n in range(workers):
        member = MembershipFactory(role="agent")
        AssignmentFactory(user=member.user, client=world.own)
        certify(world, member.user, service)
        # Enough capacity for a fast agent to take far more than its share.
        AgentProfile.objects.filter(user=member.user).update(capacity=1000)
        agents.append(member.user)
    make_items(service, items)

    def pull(user):
        taken = []
        try:
            actor = actor_for(user)
            with acting_as(actor):
                while (item := actions.work_item_next(actor=actor)) is not None:
                    taken.append(item.pk)
        finally:
            connections.close_all()
        return taken

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(pull, agents))
    taken = [pk for batch in results for pk in batch]
    assert len(taken) == len(set(taken)) == items
    with all_clients_unscoped("test check"):
        assert not WorkItem.objects.filter(assignee__isnull=True).exists()
    assert connection.vendor == "postgresql"
