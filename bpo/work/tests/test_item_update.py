"""Changing an item's details: PATCH /api/v1/work-items/{id} and the work_item_update action."""

from datetime import date

import pytest

from bpo.audit.models import AuditEntry
from bpo.contracts import actions as contracts
from bpo.contracts.models import ContractVersion, ServiceTerms
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.tests.test_items_api import agreed_service, api_as, create, send


@pytest.fixture
def service(world):
    return agreed_service(world, world.own)


@pytest.fixture
def agent(world):
    return api_as(world, "agent")


@pytest.fixture
def item(agent, service):
    created = create(agent, service, external_ref="CRM-1", tags=["vip"])
    assert created.status_code == 201, created.content
    return created.json()


def patch(http, item, body):
    return send(http, "PATCH", f"/api/v1/work-items/{item['id']}", body)


def fields_of(response):
    return {f["path"]: f["message"] for f in response.json()["error"]["fields"]}


def test_changes_land_on_the_timeline_with_before_and_after(agent, item):
    response = patch(
        agent,
        item,
        {
            "title": "  Parcel lost  ",
            "priority": "high",
            "tags": ["vip", "carrier", "vip", " "],
            "custom_fields": {"reason": "complaint"},
        },
    )
    assert response.status_code == 200, response.content
    changed = response.json()
    assert changed["title"] == "Parcel lost" and changed["priority"] == "high"
    assert changed["tags"] == ["vip", "carrier"]
    # Merged: the order number the item had is kept.
    assert changed["custom_fields"] == {"order": "A-1", "reason": "complaint"}
    priority, details = changed["timeline"][-2:]
    assert priority["kind"] == "priority_changed"
    assert priority["data"] == {"before": "normal", "after": "high"}
    assert details["kind"] == "fields_changed"
    assert details["data"]["changes"] == {
        "title": {"before": "Where is my order?", "after": "Parcel lost"},
        "tags": {"before": ["vip"], "after": ["vip", "carrier"]},
        "custom_fields": {
            "before": {"order": "A-1"},
            "after": {"order": "A-1", "reason": "complaint"},
        },
    }
    entry = AuditEntry.objects.get(action="work_item.updated")
    assert entry.before["priority"] == "normal" and entry.after["priority"] == "high"


def test_a_custom_field_set_to_null_is_cleared(agent, item):
    patch(agent, item, {"custom_fields": {"reason": "return"}})
    cleared = patch(agent, item, {"custom_fields": {"reason": None}})
    assert cleared.json()["custom_fields"] == {"order": "A-1"}


def test_nothing_changed_writes_nothing(agent, item):
    events = len(send(agent, "GET", f"/api/v1/work-items/{item['id']}").json()["timeline"])
    same = patch(agent, item, {"title": "Where is my order?", "priority": "normal"})
    assert same.status_code == 200
    assert len(same.json()["timeline"]) == events
    assert not AuditEntry.objects.filter(action="work_item.updated").exists()


@pytest.mark.parametrize(
    "body,path,message",
    [
        ({"custom_fields": {"order": None}}, "body.custom_fields.order", "required"),
        ({"custom_fields": {"reason": "praise"}}, "body.custom_fields.reason", "not one of"),
        ({"custom_fields": {"colour": "red"}}, "body.custom_fields.colour", "no such field"),
        ({"title": "   "}, "body.title", "Give the item a title"),
        ({"title": ""}, "body.payload.title", ""),
        ({"tags": ["x" * 61]}, "body.tags", "at most 60"),
        ({"priority": "whenever"}, "body.payload.priority", ""),
        ({"assignee_id": 1}, "body.payload.assignee_id", ""),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(agent, item, body, path, message):
    response = patch(agent, item, body)
    assert response.status_code == 422, response.content
    fields = fields_of(response)
    assert path in fields and message in fields[path], fields
    after = send(agent, "GET", f"/api/v1/work-items/{item['id']}").json()
    assert after["title"] == item["title"] and after["custom_fields"] == item["custom_fields"]


def test_external_reference_stays_unique_per_client(world, agent, service, item):
    second = create(agent, service, title="Another").json()
    taken = patch(agent, second, {"external_ref": " CRM-1 "})
    assert taken.status_code == 422
    assert fields_of(taken) == {
        "body.external_ref": f"Item #{item['id']} of this client already has the external "
        "reference 'CRM-1'."
    }
    # Another client may use the same reference.
    elsewhere = agreed_service(world, world.other, key="elsewhere")
    other_item = create(api_as(world, "agent", "other_people"), elsewhere, external_ref="CRM-2")
    assert patch(agent, second, {"external_ref": "CRM-2"}).status_code == 200
    assert other_item.status_code == 201
    # '' clears the reference (several items may have none).
    assert patch(agent, item, {"external_ref": ""}).json()["external_ref"] == ""


@pytest.mark.parametrize("final", ["cancelled", "closed"])
def test_closed_and_cancelled_items_refuse_changes(agent, item, final):
    url = f"/api/v1/work-items/{item['id']}/state"
    if final == "closed":
        send(agent, "POST", url, {"state": "resolved"})
    assert send(agent, "POST", url, {"state": final}).status_code == 200
    refused = patch(agent, item, {"priority": "urgent"})
    assert refused.status_code == 422
    assert fields_of(refused) == {
        "body": f"Item #{item['id']} is {final}: its details are final and no longer change."
    }


def test_who_may_change_an_item(world, item):
    assert patch(api_as(world, "client_admin"), item, {"title": "Mine"}).status_code == 403
    assert patch(api_as(world, "finance"), item, {"title": "Mine"}).status_code == 403
    stranger = api_as(world, "agent", "other_people")
    assert patch(stranger, item, {"title": "Mine"}).status_code == 404
    assert patch(api_as(world, "qa"), item, {"priority": "low"}).status_code == 200


def test_custom_fields_follow_the_terms_the_item_started_under(world, agent, service, item):
    """A later contract version with other fields does not change what an older item carries."""
    with acting_as(world.actor("admin")) as admin, all_clients_unscoped("test setup"):
        version = ContractVersion.objects.get(client=world.own, number=1)
        draft = contracts.contract_version_draft(actor=admin, contract=version.contract)
        contracts.contract_version_update(actor=admin, version=draft, start_date=date(2026, 6, 1))
        terms = ServiceTerms.objects.get(version=draft)
        contracts.service_terms_update(
            actor=admin, terms=terms, custom_fields=[{"name": "ticket", "type": "text"}]
        )
        contracts.contract_version_activate(actor=admin, version=draft)
    assert patch(agent, item, {"custom_fields": {"reason": "return"}}).status_code == 200
    refused = patch(agent, item, {"custom_fields": {"ticket": "T-1"}})
    assert fields_of(refused) == {"body.custom_fields.ticket": "This service has no such field."}
    newer = create(agent, service, custom_fields={"ticket": "T-2"}).json()
    assert newer["contract_version"] == 2
    assert patch(agent, newer, {"custom_fields": {"ticket": "T-3"}}).status_code == 200
