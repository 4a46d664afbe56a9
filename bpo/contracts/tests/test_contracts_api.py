"""Contracts through the API: versions, services, SLA policies, validation and history."""

import json
from datetime import date

import pytest
from django.test import Client as HttpClient

from bpo.accounts import actions as people
from bpo.audit.models import AuditEntry
from bpo.contracts.models import ContractVersion
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped

WEEKLY = {d: ["08:00-12:00", "13:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def api_as(world, role: str) -> HttpClient:
    with acting_as(world.actor(role)) as actor:
        _, raw = people.api_token_create(actor=actor, name="t")
    return HttpClient(headers={"Authorization": f"Bearer {raw}"})


def send(http, method, url, body=None):
    return http.generic(
        method, url, data="" if body is None else json.dumps(body), content_type="application/json"
    )


@pytest.fixture
def manager(world):
    return api_as(world, "manager")


@pytest.fixture
def calendar_id(world, manager):
    response = send(
        manager,
        "POST",
        "/api/v1/calendars",
        {
            "client_id": world.own.pk,
            "name": "Berlin office",
            "time_zone": "Europe/Berlin",
            "weekly": WEEKLY,
            "holiday_country": "DE",
            "holiday_subdivision": "BE",
            "holidays": [{"date": "2026-12-24", "name": "Christmas Eve"}],
            "exceptions": [
                {"date": "2026-12-31", "shifts": ["08:00-12:00"], "note": "early close"}
            ],
        },
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def make_contract(world, http, calendar_id):
    contract = send(
        http,
        "POST",
        "/api/v1/contracts",
        {
            "client_id": world.own.pk,
            "reference": "OWN-2026-01",
            "title": "Customer service",
            "start_date": "2026-01-01",
            "currency": "EUR",
            "billing_day": 1,
            "retention_days": 730,
        },
    )
    assert contract.status_code == 201, contract.content
    version_id = contract.json()["versions"][0]["id"]
    policy = send(
        http,
        "POST",
        f"/api/v1/contract-versions/{version_id}/sla-policies",
        {
            "name": "Standard",
            "pause_states": ["pending_contact"],
            "warning_percent": 75,
            "on_warning": [{"type": "notify_managers"}],
            "on_breach": [
                {"type": "raise_priority"},
                {"type": "move_to_queue", "queue": "Escalations"},
            ],
            "targets": [
                {
                    "priority": "normal",
                    "metric": "first_response",
                    "duration_minutes": 240,
                    "service_level_percent": "95.5",
                },
                {
                    "priority": "normal",
                    "metric": "resolution",
                    "duration_minutes": 2880,
                    "clock": "calendar",
                },
                {
                    "priority": "normal",
                    "metric": "deadline",
                    "deadline": {"kind": "next_business_day", "at": "10:00"},
                },
            ],
        },
    )
    assert policy.status_code == 201, policy.content
    service = send(
        http,
        "POST",
        f"/api/v1/contract-versions/{version_id}/services",
        {
            "key": "email-support",
            "name": "E-mail support",
            "process_type": "customer_service",
            "calendar_id": calendar_id,
            "sla_policy_id": policy.json()["id"],
            "scope_included": "Orders, returns",
            "scope_excluded": "Wholesale",
            "custom_fields": [
                {"name": "order_number", "type": "text", "required": True},
                {"name": "channel", "type": "choice", "choices": ["email", "chat"]},
            ],
        },
    )
    assert service.status_code == 201, service.content
    return contract.json()["id"], version_id


def test_contract_life_cycle_keeps_history(world, manager, calendar_id):
    contract_id, v1 = make_contract(world, manager, calendar_id)
    assert (
        send(manager, "POST", f"/api/v1/contract-versions/{v1}/activate").json()["status"]
        == "active"
    )
    # An active version is never rewritten.
    refused = send(manager, "PATCH", f"/api/v1/contract-versions/{v1}", {"currency": "USD"})
    assert refused.status_code == 422
    assert "not rewritten" in refused.json()["error"]["fields"][0]["message"]
    # A change is a new version, copied from the active one.
    v2 = send(manager, "POST", f"/api/v1/contracts/{contract_id}/versions").json()
    assert v2["number"] == 2 and v2["status"] == "draft"
    detail = send(manager, "GET", f"/api/v1/contract-versions/{v2['id']}").json()
    assert [s["service"]["key"] for s in detail["services"]] == ["email-support"]
    assert len(detail["sla_policies"][0]["targets"]) == 3
    # The service level promised travels to the new version with its target.
    levels = {t["metric"]: t["service_level_percent"] for t in detail["sla_policies"][0]["targets"]}
    assert levels == {"first_response": "95.50", "resolution": None, "deadline": None}
    assert detail["services"][0]["sla_policy_id"] == detail["sla_policies"][0]["id"]
    assert (
        send(
            manager, "PATCH", f"/api/v1/contract-versions/{v2['id']}", {"billing_day": 15}
        ).status_code
        == 200
    )
    send(manager, "POST", f"/api/v1/contract-versions/{v2['id']}/activate")
    old = send(manager, "GET", f"/api/v1/contract-versions/{v1}").json()
    assert old["status"] == "superseded" and old["billing_day"] == 1
    assert send(manager, "GET", f"/api/v1/contract-versions/{v2['id']}").json()["billing_day"] == 15
    actions = set(
        AuditEntry.objects.filter(client_id=world.own.pk).values_list("action", flat=True)
    )
    assert {
        "contract.created",
        "contract_version.activated",
        "contract_version.superseded",
        "contract_version.drafted",
        "sla_policy.created",
        "service.created",
    } <= actions


def test_a_new_version_cannot_start_before_the_agreed_one(world, manager, calendar_id):
    contract_id, v1 = make_contract(world, manager, calendar_id)
    send(manager, "POST", f"/api/v1/contract-versions/{v1}/activate")
    v2 = send(manager, "POST", f"/api/v1/contracts/{contract_id}/versions").json()["id"]
    send(manager, "PATCH", f"/api/v1/contract-versions/{v2}", {"start_date": "2025-06-01"})
    refused = send(manager, "POST", f"/api/v1/contract-versions/{v2}/activate")
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["path"] == "body.start_date"


def test_client_users_read_agreed_versions_but_not_drafts(world, manager, calendar_id):
    contract_id, v1 = make_contract(world, manager, calendar_id)
    viewer = api_as(world, "client_viewer")
    assert send(viewer, "GET", f"/api/v1/contracts/{contract_id}").json()["versions"] == []
    assert send(viewer, "GET", f"/api/v1/contract-versions/{v1}").status_code == 404
    send(manager, "POST", f"/api/v1/contract-versions/{v1}/activate")
    version = send(viewer, "GET", f"/api/v1/contract-versions/{v1}").json()
    assert version["services"][0]["scope_included"] == "Orders, returns"
    assert (
        send(viewer, "PATCH", f"/api/v1/contract-versions/{v1}", {"notes": "x"}).status_code == 403
    )
    other_viewer = api_as(world, "client_admin")
    assert send(other_viewer, "GET", f"/api/v1/contracts/{contract_id}").status_code == 200


@pytest.mark.parametrize(
    "change,path,message",
    [
        ({"end_date": "2025-01-01"}, "body", "end date lies before"),
        ({"currency": "euro"}, "body.payload.currency", "String should match"),
    ],
)
def test_version_validation(world, manager, calendar_id, change, path, message):
    _, v1 = make_contract(world, manager, calendar_id)
    response = send(manager, "PATCH", f"/api/v1/contract-versions/{v1}", change)
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert any(f["path"].startswith(path) and message in f["message"] for f in fields), fields


@pytest.mark.parametrize(
    "policy,message",
    [
        ({"pause_states": ["lunch_break"]}, "pause states are chosen from"),
        (
            {"targets": [{"priority": "high", "metric": "resolution", "duration_minutes": 0}]},
            "A target of zero is no target",
        ),
        (
            {
                "targets": [
                    {
                        "priority": "high",
                        "metric": "deadline",
                        "deadline": {"kind": "someday", "at": "25:00"},
                    }
                ]
            },
            "is not one of",
        ),
        ({"on_breach": [{"type": "move_to_queue"}]}, "needs the queue"),
        (
            {
                "targets": [
                    {
                        "priority": "high",
                        "metric": "resolution",
                        "duration_minutes": 60,
                        "service_level_percent": 100.5,
                    }
                ]
            },
            "less than or equal to 100",
        ),
        (
            {
                "targets": [
                    {
                        "priority": "high",
                        "metric": "resolution",
                        "duration_minutes": 60,
                        "service_level_percent": 0,
                    }
                ]
            },
            "greater than 0",
        ),
        (
            {
                "targets": [
                    {"priority": "high", "metric": "resolution", "duration_minutes": 60},
                    {"priority": "high", "metric": "resolution", "duration_minutes": 90},
                ]
            },
            "given twice",
        ),
    ],
)
def test_policy_validation_names_the_problem(world, manager, calendar_id, policy, message):
    _, v1 = make_contract(world, manager, calendar_id)
    response = send(
        manager,
        "POST",
        f"/api/v1/contract-versions/{v1}/sla-policies",
        {"name": "Broken", **policy},
    )
    assert response.status_code == 422
    assert message in json.dumps(response.json()["error"]["fields"])


def test_custom_field_schema_is_validated(world, manager, calendar_id):
    _, v1 = make_contract(world, manager, calendar_id)
    terms_id = send(manager, "GET", f"/api/v1/contract-versions/{v1}").json()["services"][0]["id"]
    response = send(
        manager,
        "PATCH",
        f"/api/v1/service-terms/{terms_id}",
        {
            "custom_fields": [
                {"name": "Bad Name", "type": "colour"},
                {"name": "size", "type": "choice"},
            ]
        },
    )
    assert response.status_code == 422
    text = json.dumps(response.json())
    assert "[0].name" in text and "[0].type" in text and "[1].choices" in text


def test_another_clients_calendar_is_refused(world, calendar_id):
    admin = api_as(world, "admin")
    other_calendar = send(
        admin,
        "POST",
        "/api/v1/calendars",
        {"client_id": world.other.pk, "name": "Other", "time_zone": "UTC", "weekly": WEEKLY},
    )
    assert other_calendar.status_code == 201
    _, v1 = make_contract(world, admin, calendar_id)
    response = send(
        admin,
        "POST",
        f"/api/v1/contract-versions/{v1}/services",
        {
            "key": "sneaky",
            "name": "Sneaky",
            "process_type": "task",
            "calendar_id": other_calendar.json()["id"],
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "body.calendar_id"


def test_activation_needs_services_with_policies(world, manager):
    contract = send(
        manager,
        "POST",
        "/api/v1/contracts",
        {
            "client_id": world.own.pk,
            "reference": "EMPTY-1",
            "title": "Nothing yet",
            "start_date": "2026-01-01",
            "currency": "EUR",
        },
    ).json()
    response = send(
        manager, "POST", f"/api/v1/contract-versions/{contract['versions'][0]['id']}/activate"
    )
    assert response.status_code == 422 and "no service" in response.content.decode()


def test_ending_a_contract(world, manager, calendar_id):
    contract_id, v1 = make_contract(world, manager, calendar_id)
    send(manager, "POST", f"/api/v1/contract-versions/{v1}/activate")
    ended = send(
        manager, "POST", f"/api/v1/contracts/{contract_id}/end", {"end_date": "2026-12-31"}
    )
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    with all_clients_unscoped("test"):
        assert ContractVersion.objects.get(pk=v1).end_date == date(2026, 12, 31)


@pytest.mark.parametrize(
    "calendar,field,message",
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not a known IANA time zone"),
        ({"weekly": {}}, "weekly", ""),
        ({"weekly": {"mon": ["09:00-17:00", "16:00-18:00"]}}, "weekly", ""),
        ({"weekly": {"funday": ["09:00-17:00"]}}, "weekly", "not a weekday"),
        ({"weekly": {"mon": ["9 to 5"]}}, "weekly", "not a shift like"),
        ({"holiday_country": "XX"}, "holiday_country", "not a country"),
        (
            {"holiday_country": "DE", "holiday_subdivision": "ZZ"},
            "holiday_subdivision",
            "not a subdivision",
        ),
        ({"holidays": [{"date": "2026-02-30"}]}, "holidays", "not a date"),
    ],
)
def test_calendar_validation(world, manager, calendar, field, message):
    body = {
        "client_id": world.own.pk,
        "name": "Cal",
        "time_zone": "Europe/Berlin",
        "weekly": WEEKLY,
        **calendar,
    }
    response = send(manager, "POST", "/api/v1/calendars", body)
    assert response.status_code == 422, response.content
    fields = response.json()["error"]["fields"]
    assert any(f["path"] == f"body.{field}" and message in f["message"] for f in fields), fields


def test_business_time_endpoint(world, manager, calendar_id):
    # Christmas Eve is a holiday on this calendar and 25/26 are public holidays in Berlin.
    response = manager.get(
        f"/api/v1/calendars/{calendar_id}/business-time",
        {"start": "2026-12-23T15:00:00+01:00", "minutes": 240},
    )
    assert response.status_code == 200, response.content
    assert response.json()["due"].startswith("2026-12-28T09:00")  # 2 h on the 23rd, 2 h on the 28th


def test_business_time_outside_supported_years_is_a_clear_422(world, manager, calendar_id):
    response = manager.get(
        f"/api/v1/calendars/{calendar_id}/business-time",
        {"start": "0001-01-01T00:00:01Z", "minutes": 100},
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "query.start"
