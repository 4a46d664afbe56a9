"""Work items through the API: intake, life cycle, timeline, and what the client may see."""

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bpo.accounts import actions as people
from bpo.audit.models import AuditEntry
from bpo.calendars import actions as calendars
from bpo.contracts import actions as contracts
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.models import Queue, WorkItem

ORDER_AND_REASON = [
    {"name": "order", "type": "text", "required": True},
    {"name": "reason", "type": "choice", "choices": ["return", "complaint"]},
]


def agreed_service(world, client, key="support", custom_fields=ORDER_AND_REASON):
    """An active contract of the client with one service whose terms define custom fields."""
    with acting_as(world.actor("admin")) as admin:
        calendar = calendars.calendar_create(
            actor=admin,
            client=client,
            name=f"Hours {key}",
            time_zone="Europe/Berlin",
            weekly={d: ["08:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        )
        contract = contracts.contract_create(
            actor=admin,
            client=client,
            reference=f"C-{key}",
            title="Support",
            start_date="2026-01-01",
            currency="EUR",
        )
        version = contract.versions.get()
        policy = contracts.sla_policy_save(
            actor=admin,
            version=version,
            name="Standard",
            targets=[{"priority": "normal", "metric": "first_response", "duration_minutes": 60}],
        )
        terms = contracts.service_add(
            actor=admin,
            version=version,
            key=key,
            name="Support",
            process_type="customer_service",
            calendar=calendar,
            sla_policy_id=policy.pk,
            custom_fields=custom_fields,
        )
        contracts.contract_version_activate(actor=admin, version=version)
    return terms.service


def api_as(world, role, people_of="people"):
    person = getattr(world, people_of)[role]
    from bpo.tenancy.context import actor_for

    with acting_as(actor_for(person)) as actor:
        _, raw = people.api_token_create(actor=actor, name="t")
    return HttpClient(headers={"Authorization": f"Bearer {raw}"})


def send(http, method, url, body=None):
    return http.generic(
        method, url, data="" if body is None else json.dumps(body), content_type="application/json"
    )


def create(http, service, **extra):
    body = {
        "service_id": service.pk,
        "title": "Where is my order?",
        "contact_email": "Jane@Shop.example",
        "custom_fields": {"order": "A-1"},
        **extra,
    }
    return send(http, "POST", "/api/v1/work-items", body)


def test_life_cycle_on_the_timeline(world, service):
    agent = api_as(world, "agent")
    created = create(agent, service, external_ref="CRM-1")
    assert created.status_code == 201, created.content
    item = created.json()
    assert item["state"] == "new" and item["contract_version"] == 1
    assert item["contact_email"] == "Jane@Shop.example"
    url = f"/api/v1/work-items/{item['id']}"
    assert send(agent, "POST", f"{url}/notes", {"body": "Checked the carrier."}).status_code == 201
    assert send(agent, "POST", f"{url}/replies", {"body": "It ships today."}).status_code == 201
    resolved = send(agent, "POST", f"{url}/state", {"state": "resolved", "reason": "answered"})
    assert resolved.json()["state"] == "resolved" and resolved.json()["resolved_at"]
    # A new message from the client's side reopens it.
    client_user = api_as(world, "client_viewer")
    assert send(client_user, "POST", f"{url}/messages", {"body": "Not here yet"}).status_code == 201
    detail = send(agent, "GET", url).json()
    assert detail["state"] == "open"
    assert [e["kind"] for e in detail["timeline"]] == [
        "created",
        "note",
        "message_out",
        "state_changed",
        "state_changed",
        "message_in",
        "state_changed",
    ]
    assert {
        "work_item.created",
        "work_item.note_added",
        "work_item.replied",
        "work_item.state_changed",
        "work_item.message_received",
    } <= set(AuditEntry.objects.values_list("action", flat=True))


def test_the_client_never_sees_internal_notes(world, service):
    agent = api_as(world, "agent")
    item_id = create(agent, service).json()["id"]
    send(agent, "POST", f"/api/v1/work-items/{item_id}/notes", {"body": "Customer is difficult"})
    seen = send(api_as(world, "client_viewer"), "GET", f"/api/v1/work-items/{item_id}")
    assert "difficult" not in seen.content.decode()
    assert all(not e["internal"] for e in seen.json()["timeline"])


def test_forbidden_transitions_are_explained_and_change_nothing(world, service):
    agent = api_as(world, "agent")
    item_id = create(agent, service).json()["id"]
    url = f"/api/v1/work-items/{item_id}"
    send(agent, "POST", f"{url}/state", {"state": "cancelled"})
    refused = send(agent, "POST", f"{url}/state", {"state": "open"})
    assert refused.status_code == 422
    assert "cannot become 'open'" in refused.json()["error"]["fields"][0]["message"]
    assert send(agent, "GET", url).json()["state"] == "cancelled"


@pytest.mark.parametrize(
    "extra,path,message",
    [
        ({"custom_fields": {}}, "body.custom_fields.order", "required"),
        (
            {"custom_fields": {"order": "A", "reason": "praise"}},
            "body.custom_fields.reason",
            "not one of",
        ),
        (
            {"custom_fields": {"order": "A", "colour": "red"}},
            "body.custom_fields.colour",
            "no such field",
        ),
        ({"contact_email": "not an address"}, "body.contact_email", "valid email"),
        ({"priority": "whenever"}, "body.payload.priority", ""),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(world, service, extra, path, message):
    response = create(api_as(world, "agent"), service, **extra)
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert any(f["path"] == path and message in f["message"] for f in fields), fields
    assert send(api_as(world, "agent"), "GET", "/api/v1/work-items").json()["items"] == []


def test_another_clients_service_is_refused(world, service):
    other_service = agreed_service(world, world.other, key="elsewhere")
    response = create(api_as(world, "agent"), other_service)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "body.service_id"


def test_a_service_without_agreed_terms_takes_no_work(world, service):
    admin = api_as(world, "admin")
    contract_id = send(admin, "GET", "/api/v1/contracts").json()["items"][0]["id"]
    send(admin, "POST", f"/api/v1/contracts/{contract_id}/end", {"end_date": "2026-12-31"})
    response = create(api_as(world, "agent"), service)
    assert response.status_code == 422 and "no agreed terms" in response.content.decode()


def test_external_reference_is_unique_per_client(world, service):
    agent = api_as(world, "agent")
    assert create(agent, service, external_ref="CRM-7").status_code == 201
    again = create(agent, service, external_ref="CRM-7")
    assert again.status_code == 422
    assert "external reference" in again.content.decode()


def test_finance_cannot_take_in_work(world, service):
    assert create(api_as(world, "finance"), service).status_code == 403


def test_list_filters_and_constant_queries(world, service):
    agent = api_as(world, "agent")
    create(agent, service)
    with CaptureQueriesContext(connection) as small:
        assert send(agent, "GET", "/api/v1/work-items?limit=200").status_code == 200
    for n in range(12):
        create(agent, service, title=f"Item {n}", contact_email=f"c{n}@shop.example")
    with CaptureQueriesContext(connection) as large:
        page = send(agent, "GET", "/api/v1/work-items?limit=200").json()
    assert len(page["items"]) == 13 and len(large) == len(small)
    assert send(agent, "GET", "/api/v1/work-items?state=resolved").json()["items"] == []


def test_list_filters(world, service):
    with all_clients_unscoped("test setup"):
        queue = Queue.objects.create(client=world.own, service=service, name="Returns")
    agent = api_as(world, "agent")
    lost = create(
        agent,
        service,
        title="Parcel lost in transit",
        priority="high",
        tags=["vip", "carrier"],
        external_ref="CRM-100",
        queue_id=queue.pk,
    ).json()["id"]
    refund = create(
        agent, service, title="Refund please", tags=["returns"], contact_email="bob@shop.example"
    ).json()["id"]
    old = create(agent, service, title="Old question", external_ref="LEGACY-7").json()["id"]
    with all_clients_unscoped("test setup"):
        WorkItem.objects.filter(pk=refund).update(assignee=world.people["agent"])
        WorkItem.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(days=30))
    week_ago = (timezone.now() - timedelta(days=7)).isoformat()

    def ids(**params):
        response = send(agent, "GET", f"/api/v1/work-items?{urlencode(params)}")
        assert response.status_code == 200, response.content
        return sorted(item["id"] for item in response.json()["items"])

    assert ids(queue_id=queue.pk) == [lost]
    assert ids(assignee_id=world.people["agent"].pk) == [refund]
    assert ids(unassigned="true") == [lost, old]
    assert ids(priority="high") == [lost]
    assert ids(tag="vip") == [lost] and ids(tag="vi") == []
    assert ids(contact="BOB@shop.example") == [refund]
    assert ids(contact="jane@shop.example") == [lost, old]
    assert ids(external_ref="CRM-100") == [lost] and ids(external_ref="CRM") == []
    assert ids(created_after=week_ago) == [lost, refund]
    assert ids(created_before=week_ago) == [old]
    assert ids(q="PARCEL") == [lost] and ids(q="legacy") == [old]
    assert ids(q="refund", tag="returns", unassigned="false") == [refund]
    for bad in ({"created_after": "2026-01-01T00:00"}, {"created_after": "0.5"}, {"q": "a\x00"}):
        response = send(agent, "GET", f"/api/v1/work-items?{urlencode(bad)}")
        assert response.status_code == 422
        assert response.json()["error"]["fields"][0]["path"] == f"query.{next(iter(bad))}"


def test_filtered_lists_take_the_same_queries_at_any_size(world, service):
    agent = api_as(world, "agent")
    url = "/api/v1/work-items?limit=200&tag=vip&contact=jane@shop.example&q=order&unassigned=true"
    create(agent, service, tags=["vip"])
    send(agent, "GET", url)  # the token's first use of the minute records its last use
    with CaptureQueriesContext(connection) as small:
        assert len(send(agent, "GET", url).json()["items"]) == 1
    for n in range(12):
        create(agent, service, title=f"Order {n}", tags=["vip", f"t{n}"])
    with CaptureQueriesContext(connection) as large:
        assert len(send(agent, "GET", url).json()["items"]) == 13
    assert len(large) == len(small)
