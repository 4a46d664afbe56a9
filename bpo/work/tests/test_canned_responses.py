"""Canned responses: managers prepare them per service, agents insert them with placeholders
filled in; client users never see them."""

import pytest

from bpo.audit.models import AuditEntry
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work import actions, queries
from bpo.work.models import CannedResponse, WorkItem
from bpo.work.placeholders import fill
from bpo.work.tests.test_items_api import agreed_service, api_as, create, send

URL = "/api/v1/canned-responses"


@pytest.fixture
def service(world):
    return agreed_service(world, world.own)


@pytest.fixture
def manager(world):
    return api_as(world, "manager")


def make(http, service, title="Where is my parcel", body="Hello {contact_name}, …", **extra):
    return send(
        http, "POST", URL, {"service_id": service.pk, "title": title, "body": body, **extra}
    )


def fields_of(response):
    return {f["path"]: f["message"] for f in response.json()["error"]["fields"]}


def test_a_manager_keeps_the_responses_of_a_service(world, manager, service):
    created = make(manager, service)
    assert created.status_code == 201, created.content
    response = created.json()
    assert response["service_id"] == service.pk and response["client_id"] == world.own.pk
    second_service = agreed_service(world, world.own, key="returns")
    make(manager, second_service, title="Return label")

    listed = send(manager, "GET", f"{URL}?service_id={service.pk}").json()
    assert [r["title"] for r in listed["items"]] == ["Where is my parcel"]
    assert len(send(manager, "GET", URL).json()["items"]) == 2

    url = f"{URL}/{response['id']}"
    changed = send(manager, "PATCH", url, {"body": "Dear {contact_name}, your item {item_id}"})
    assert changed.status_code == 200
    assert changed.json()["title"] == "Where is my parcel"
    assert changed.json()["body"] == "Dear {contact_name}, your item {item_id}"
    assert send(manager, "DELETE", url).status_code == 204
    assert send(manager, "GET", url).status_code == 404
    assert list(
        AuditEntry.objects.filter(action__startswith="canned_response.")
        .order_by("id")
        .values_list("action", flat=True)
    ) == [
        "canned_response.created",
        "canned_response.created",
        "canned_response.updated",
        "canned_response.deleted",
    ]


def test_agents_read_them_and_client_users_never_do(world, manager, service):
    response_id = make(manager, service).json()["id"]
    agent = api_as(world, "agent")
    assert send(agent, "GET", URL).json()["items"][0]["id"] == response_id
    assert send(agent, "GET", f"{URL}/{response_id}").status_code == 200
    assert make(agent, service, title="Mine").status_code == 403
    assert send(agent, "DELETE", f"{URL}/{response_id}").status_code == 403
    for role in ("client_admin", "client_viewer", "finance"):
        refused = send(api_as(world, role), "GET", URL)
        assert refused.status_code == 403, role
        assert "Where is my parcel" not in refused.content.decode()


def test_another_clients_service_in_the_body_is_refused(world, manager, service):
    elsewhere = agreed_service(world, world.other, key="elsewhere")
    refused = make(manager, elsewhere)
    assert refused.status_code == 422
    assert fields_of(refused) == {"body.service_id": f"There is no service with id {elsewhere.pk}."}
    missing = send(manager, "POST", URL, {"service_id": 987654, "title": "T", "body": "B"})
    assert fields_of(missing) == {"body.service_id": "There is no service with id 987654."}
    with all_clients_unscoped("test check"):
        assert not CannedResponse.objects.exists()


def test_another_clients_response_is_not_found(world, service):
    elsewhere = agreed_service(world, world.other, key="elsewhere")
    with acting_as(world.actor("admin")) as admin:
        theirs = actions.canned_response_create(
            actor=admin, service=elsewhere, title="Secret", body="OTHERSECRET"
        )
    manager = api_as(world, "manager")
    for method, body in (("GET", None), ("PATCH", {"title": "Mine"}), ("DELETE", None)):
        assert send(manager, method, f"{URL}/{theirs.pk}", body).status_code == 404
    assert send(manager, "GET", f"{URL}?service_id={elsewhere.pk}").json()["items"] == []


def test_unknown_placeholders_are_fine(manager, service):
    created = make(manager, service, body="Hi {nickname}, see {item_id} {")
    assert created.status_code == 201
    assert created.json()["body"] == "Hi {nickname}, see {item_id} {"


@pytest.mark.parametrize(
    "body,path,message",
    [
        ({"title": ""}, "body.payload.title", ""),
        ({"title": "   "}, "body.title", "Give the response a title"),
        ({"body": " \n "}, "body.body", "Write the response"),
        ({"title": "x" * 121}, "body.payload.title", ""),
        ({"colour": "red"}, "body.payload.colour", ""),
        ({"service_id": "1"}, "body.payload.service_id", ""),
    ],
)
def test_bad_input_names_the_field(manager, service, body, path, message):
    refused = make(manager, service, **body)
    assert refused.status_code == 422
    fields = fields_of(refused)
    assert path in fields and message in fields[path], fields


def test_titles_are_unique_per_service_whatever_the_case(world, manager, service):
    make(manager, service, title="Refund")
    again = make(manager, service, title="  refund ")
    assert again.status_code == 422
    assert fields_of(again) == {
        "body.title": "Support already has a canned response titled 'refund'."
    }
    other_service = agreed_service(world, world.own, key="returns")
    assert make(manager, other_service, title="Refund").status_code == 201
    second = make(manager, service, title="Refund later").json()
    renamed = send(manager, "PATCH", f"{URL}/{second['id']}", {"title": "REFUND"})
    assert renamed.status_code == 422 and "body.title" in fields_of(renamed)


def test_placeholders_are_filled_for_the_item(world, manager, service):
    make(
        manager,
        service,
        title="Greeting",
        body="Hello {contact_name}, {agent_name} here ({item_id}).",
    )
    agent = api_as(world, "agent")
    named = create(agent, service, contact_name="Jane Doe").json()
    nameless = create(agent, service, contact_email="x@shop.example").json()
    actor = world.actor("agent")
    with acting_as(actor):
        for item_id, expected in (
            (named["id"], f"Hello Jane Doe, Agent of own here ({named['id']})."),
            # Without a value the placeholder stays, so the agent sees what to fill in.
            (nameless["id"], f"Hello {{contact_name}}, Agent of own here ({nameless['id']})."),
        ):
            item = WorkItem.objects.select_related("contact", "service", "client").get(pk=item_id)
            [filled] = queries.canned_responses_for(actor=actor, item=item)
            assert filled.title == "Greeting" and filled.text == expected
    with acting_as(world.actor("client_admin")) as client_user:
        assert queries.canned_responses_for(actor=client_user, item=item) == []


def test_fill_replaces_known_names_only():
    values = {"contact_name": "Jane", "item_id": "7", "agent_name": ""}
    assert fill("{contact_name}/{item_id}/{agent_name}/{other}/{ contact_name }/{{x}}", values) == (
        "Jane/7/{agent_name}/{other}/{ contact_name }/{{x}}"
    )
