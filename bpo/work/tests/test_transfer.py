"""Transfer: a manager moves an item to another queue of its service and/or another agent."""

import pytest

from bpo.audit.models import AuditEntry
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.models import Queue
from bpo.work.tests.test_items_api import agreed_service, api_as, create, send
from bpo.work.tests.test_routing import certify


def make_queue(service, name):
    with all_clients_unscoped("test setup"):
        return Queue.objects.create(client_id=service.client_id, service=service, name=name)


@pytest.fixture
def item(world, service):
    """An item waiting in first line, assigned to the own client's agent."""
    first_line = make_queue(service, "First line")
    agent = world.people["agent"]
    certify(world, agent, service)
    created = create(api_as(world, "agent"), service, queue_id=first_line.pk).json()
    send(
        api_as(world, "manager"),
        "POST",
        f"/api/v1/work-items/{created['id']}/assign",
        {"agent_id": agent.pk, "reason": "start"},
    )
    return created


def transfer(world, item, body, role="manager"):
    return send(api_as(world, role), "POST", f"/api/v1/work-items/{item['id']}/transfer", body)


def test_moving_to_another_queue_unassigns_and_says_why(world, service, item):
    second_line = make_queue(service, "Second line")
    response = transfer(world, item, {"queue_id": second_line.pk, "reason": "needs a specialist"})
    assert response.status_code == 200, response.content
    moved = response.json()
    assert moved["queue_id"] == second_line.pk and moved["assignee_id"] is None
    event = moved["timeline"][-1]
    assert event["kind"] == "transferred" and event["internal"]
    assert event["body"] == "needs a specialist" and event["data"]["queue"] == "Second line"
    entry = AuditEntry.objects.get(action="work_item.transferred")
    assert entry.before == {"queue_id": item["queue_id"], "assignee_id": world.people["agent"].pk}
    assert entry.after["assignee_id"] is None and entry.after["reason"] == "needs a specialist"
    # The client sees neither the transfer nor its reason.
    seen = send(api_as(world, "client_viewer"), "GET", f"/api/v1/work-items/{item['id']}")
    assert "specialist" not in seen.content.decode()


def test_moving_to_a_queue_and_an_agent_at_once(world, service, item):
    second_line = make_queue(service, "Second line")
    specialist = world.people["manager"]
    certify(world, specialist, service)
    response = transfer(
        world, item, {"queue_id": second_line.pk, "agent_id": specialist.pk, "reason": "expert"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["queue_id"] == second_line.pk
    assert response.json()["assignee_id"] == specialist.pk


def test_a_reason_is_required(world, item, service):
    second_line = make_queue(service, "Second line")
    missing = transfer(world, item, {"queue_id": second_line.pk})
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["path"].endswith("reason")
    blank = transfer(world, item, {"queue_id": second_line.pk, "reason": "   "})
    assert blank.status_code == 422
    assert blank.json()["error"]["fields"][0]["path"] == "body.reason"
    nowhere = transfer(world, item, {"reason": "just because"})
    assert nowhere.status_code == 422
    assert nowhere.json()["error"]["fields"][0]["path"] == "body.queue_id"


def test_queues_of_other_services_and_clients_are_refused(world, service, item):
    other_service = agreed_service(world, world.own, key="billing")
    elsewhere = make_queue(other_service, "Billing")
    foreign_service = agreed_service(world, world.other, key="foreign")
    foreign = make_queue(foreign_service, "Foreign")
    for queue, role, message in [
        (elsewhere, "manager", "belongs to another service"),
        (foreign, "manager", f"There is no queue with id {foreign.pk}"),  # not in scope
        (foreign, "admin", "belongs to another service"),  # in scope, still not this service
    ]:
        response = transfer(world, item, {"queue_id": queue.pk, "reason": "x"}, role=role)
        assert response.status_code == 422, (role, response.content)
        field = response.json()["error"]["fields"][0]
        assert field["path"] == "body.queue_id" and message in field["message"], field
    assert "Foreign" not in str(send(api_as(world, "manager"), "GET", "/api/v1/work-items").json())


def test_agents_must_be_certified_and_of_the_client(world, item):
    stranger = world.other_people["agent"]
    response = transfer(world, item, {"agent_id": stranger.pk, "reason": "x"})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "body.agent_id"
    uncertified = transfer(world, item, {"agent_id": world.people["qa"].pk, "reason": "x"})
    assert uncertified.status_code == 422 and "not certified" in uncertified.content.decode()


def test_only_managers_transfer(world, service, item):
    second_line = make_queue(service, "Second line")
    body = {"queue_id": second_line.pk, "reason": "I want to"}
    assert transfer(world, item, body, role="agent").status_code == 403
    assert transfer(world, item, body, role="client_admin").status_code == 403


def test_a_closed_item_stays_where_it_is(world, service, item):
    url = f"/api/v1/work-items/{item['id']}/state"
    send(api_as(world, "agent"), "POST", url, {"state": "cancelled"})
    second_line = make_queue(service, "Second line")
    response = transfer(world, item, {"queue_id": second_line.pk, "reason": "late"})
    assert response.status_code == 422 and "cancelled" in response.content.decode()
