"""Contracts in the web UI: a manager records and activates one; a client user reads it."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bpo.audit.models import AuditEntry
from bpo.calendars.models import BusinessCalendar
from bpo.contracts.models import Contract, ContractVersion, ServiceTerms, SlaPolicy
from bpo.tenancy.scoping import all_clients_unscoped

WORKDAYS = {day: "08:00-12:00, 13:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}
CUSTOM_FIELDS = [
    {"name": "order_number", "label": "Order number", "type": "text", "required": True},
    {"name": "channel", "type": "choice", "choices": ["email", "chat"]},
]


def policy_post(**overrides: object) -> dict[str, object]:
    """The SLA policy form as a manager fills it in: normal and urgent rows, one deadline."""
    return {
        "name": "Standard",
        "warning_percent": "75",
        "pause_states": ["pending_contact"],
        "on_warning": ["notify_managers"],
        "on_breach": ["raise_priority"],
        "on_breach_queue": "Escalations",
        "normal_first_response": "240",
        "normal_first_response_clock": "business",
        "normal_resolution": "2880",
        "normal_resolution_clock": "calendar",
        "normal_deadline_kind": "next_business_day",
        "normal_deadline_at": "10:00",
        "urgent_first_response": "30",
        "urgent_first_response_clock": "business",
        "urgent_resolution": "90",
        "urgent_resolution_clock": "business",
        **overrides,
    }


def calendar_of(client) -> BusinessCalendar:
    with all_clients_unscoped("test setup"):
        return BusinessCalendar.objects.get(client=client)


def version_of(reference: str, number: int = 1) -> ContractVersion:
    with all_clients_unscoped("test"):
        return ContractVersion.objects.get(contract__reference=reference, number=number)


@pytest.fixture
def manager(world):
    return world.login("manager")


@pytest.fixture
def agreed(world, manager):
    """A contract a manager recorded and activated through the forms; its version 1."""
    created = manager.post(
        "/calendars/new/",
        {
            "client": world.own.pk,
            "name": "Berlin office",
            "time_zone": "Europe/Berlin",
            **WORKDAYS,
            "holiday_country": "DE",
            "holiday_subdivision": "BE",
        },
    )
    assert created.status_code == 302, created.content.decode()
    response = manager.post(
        "/contracts/new/",
        {
            "client": world.own.pk,
            "reference": "OWN-2026-01",
            "title": "Customer service",
            "start_date": "2026-01-01",
            "currency": "eur",
            "billing_day": "1",
            "retention_days": "730",
            "notes": "Signed in Berlin.",
        },
    )
    assert response.status_code == 302, response.content.decode()
    version = version_of("OWN-2026-01")
    assert response["Location"] == f"/contracts/versions/{version.pk}/"
    assert version.status == "draft" and version.currency == "EUR"

    response = manager.post(f"/contracts/versions/{version.pk}/sla-policies/new/", policy_post())
    assert response.status_code == 302, response.content.decode()
    with all_clients_unscoped("test"):
        policy = SlaPolicy.objects.get(version=version)
    response = manager.post(
        f"/contracts/versions/{version.pk}/services/new/",
        {
            "name": "E-mail support",
            "key": "email-support",
            "process_type": "customer_service",
            "calendar_id": calendar_of(world.own).pk,
            "sla_policy_id": policy.pk,
            "scope_included": "Orders, returns",
            "scope_excluded": "Wholesale",
            "deliverables": "Answers within the SLA",
            "custom_fields": json.dumps(CUSTOM_FIELDS),
        },
    )
    assert response.status_code == 302, response.content.decode()
    response = manager.post(f"/contracts/versions/{version.pk}/activate/", follow=True)
    assert "is now the contract&#x27;s terms" in response.content.decode()
    version.refresh_from_db()
    assert version.status == "active"
    return version


def test_a_manager_records_a_contract_and_activates_it(world, manager, agreed):
    with all_clients_unscoped("test"):
        policy = SlaPolicy.objects.get(version=agreed)
        targets = {(t.priority, t.metric): t for t in policy.targets.all()}
        terms = ServiceTerms.objects.get(version=agreed)
    assert policy.pause_states == ["pending_contact"]
    assert policy.on_breach == [
        {"type": "raise_priority"},
        {"type": "move_to_queue", "queue": "Escalations"},
    ]
    assert targets["normal", "first_response"].duration_minutes == 240
    assert targets["normal", "resolution"].clock == "calendar"
    assert targets["normal", "deadline"].deadline == {"kind": "next_business_day", "at": "10:00"}
    assert len(targets) == 5
    assert terms.custom_fields[0]["name"] == "order_number" and terms.sla_policy_id == policy.pk
    assert AuditEntry.objects.filter(action="contract_version.activated").exists()

    page = manager.get(f"/contracts/versions/{agreed.pk}/").content.decode()
    assert "Active" in page and "E-mail support" in page and "Orders, returns" in page
    assert "4 h" in page and "48 h (calendar time)" in page and "1 h 30 min" in page
    assert "by 10:00 on the next business day" in page
    assert "order_number" in page and "email, chat" in page
    assert "move to the queue “Escalations”" in page
    # Agreed: nothing on the page offers to change it.
    assert 'data-testid="draft-actions"' not in page
    assert f"/contracts/service-terms/{terms.pk}/edit/" not in page

    contract_page = manager.get(f"/contracts/{agreed.contract_id}/").content.decode()
    assert 'data-testid="new-version"' in contract_page
    assert 'data-testid="end-contract"' in contract_page
    listing = manager.get(f"/contracts/?client={world.own.pk}").content.decode()
    assert "OWN-2026-01" in listing and "Customer service" in listing


def test_an_agreed_version_cannot_be_edited_in_the_ui(world, manager, agreed):
    response = manager.get(f"/contracts/versions/{agreed.pk}/edit/", follow=True)
    assert "what was agreed is not rewritten" in response.content.decode()
    response = manager.post(
        f"/contracts/versions/{agreed.pk}/edit/",
        {"start_date": "2026-01-01", "currency": "USD", "billing_day": 1, "retention_days": 9},
    )
    assert response.status_code == 302
    agreed.refresh_from_db()
    assert agreed.currency == "EUR"


def test_a_change_is_a_new_version_copied_from_the_agreed_one(world, manager, agreed):
    response = manager.post(f"/contracts/{agreed.contract_id}/versions/new/")
    draft = version_of("OWN-2026-01", 2)
    assert response["Location"] == f"/contracts/versions/{draft.pk}/"
    page = manager.get(response["Location"]).content.decode()
    assert 'data-testid="draft-actions"' in page and "E-mail support" in page

    form = manager.get(f"/contracts/versions/{draft.pk}/edit/").content.decode()
    assert 'value="2026-01-01"' in form and 'value="EUR"' in form
    response = manager.post(
        f"/contracts/versions/{draft.pk}/edit/",
        {"start_date": "2026-07-01", "currency": "EUR", "billing_day": 15, "retention_days": 730},
    )
    assert response.status_code == 302
    with all_clients_unscoped("test"):
        policy = SlaPolicy.objects.get(version=draft)
        terms = ServiceTerms.objects.get(version=draft)
    # The policy form shows the copied targets, and saving it replaces them.
    form = manager.get(f"/contracts/sla-policies/{policy.pk}/edit/").content.decode()
    assert 'name="normal_first_response" id="id_normal_first_response" value="240"' in form
    assert 'value="10:00"' in form and 'value="Escalations"' in form
    response = manager.post(
        f"/contracts/sla-policies/{policy.pk}/edit/",
        policy_post(
            normal_first_response="120",
            normal_first_response_level="92.5",
            normal_deadline_level="99",
            urgent_resolution="",
        ),
    )
    assert response.status_code == 302, response.content.decode()
    with all_clients_unscoped("test"):
        minutes = {(t.priority, t.metric): t.duration_minutes for t in policy.targets.all()}
        levels = {(t.priority, t.metric): t.service_level_percent for t in policy.targets.all()}
    assert minutes[("normal", "first_response")] == 120
    assert ("urgent", "resolution") not in minutes
    assert levels[("normal", "first_response")] == Decimal("92.5")
    assert levels[("normal", "deadline")] == Decimal("99")
    assert levels[("urgent", "first_response")] is None
    form = manager.get(f"/contracts/sla-policies/{policy.pk}/edit/").content.decode()
    assert (
        'name="normal_first_response_level" id="id_normal_first_response_level" value="92.50"'
        in form
    )
    page = manager.get(f"/contracts/versions/{draft.pk}/").content.decode()
    assert "2 h, 92.5% of items" in page

    form = manager.get(f"/contracts/service-terms/{terms.pk}/edit/").content.decode()
    assert "&quot;order_number&quot;" in form
    response = manager.post(
        f"/contracts/service-terms/{terms.pk}/edit/",
        {
            "calendar_id": terms.calendar_id,
            "sla_policy_id": policy.pk,
            "scope_included": "Orders, returns, vouchers",
            "custom_fields": "[]",
        },
    )
    assert response.status_code == 302, response.content.decode()
    manager.post(f"/contracts/versions/{draft.pk}/activate/")
    agreed.refresh_from_db()
    draft.refresh_from_db()
    assert (agreed.status, draft.status, draft.billing_day) == ("superseded", "active", 15)
    with all_clients_unscoped("test"):
        assert ServiceTerms.objects.get(version=agreed).scope_included == "Orders, returns"


def test_a_client_viewer_reads_the_agreed_version_but_not_the_draft(world, manager, agreed):
    manager.post(f"/contracts/{agreed.contract_id}/versions/new/")
    draft = version_of("OWN-2026-01", 2)
    viewer = world.login("client_viewer")

    page = viewer.get(f"/contracts/versions/{agreed.pk}/").content.decode()
    assert "E-mail support" in page and "by 10:00 on the next business day" in page
    assert 'data-testid="draft-actions"' not in page and "/edit/" not in page
    assert viewer.get(f"/contracts/versions/{draft.pk}/").status_code == 404
    assert viewer.get(f"/contracts/versions/{draft.pk}/edit/").status_code == 404

    contract_page = viewer.get(f"/contracts/{agreed.contract_id}/").content.decode()
    assert "Version 1" in contract_page and "Version 2" not in contract_page
    assert 'data-testid="contract-actions"' not in contract_page
    assert viewer.post(f"/contracts/{agreed.contract_id}/versions/new/").status_code == 403
    assert viewer.get("/contracts/new/").status_code == 403
    assert "OWN-2026-01" in viewer.get("/contracts/").content.decode()


def test_a_contract_still_in_draft_shows_no_terms_to_the_client(world, manager):
    manager.post(
        "/contracts/new/",
        {
            "client": world.own.pk,
            "reference": "OWN-DRAFT",
            "title": "Payroll",
            "start_date": "2026-01-01",
            "currency": "EUR",
            "billing_day": "1",
            "retention_days": "730",
        },
    )
    draft = version_of("OWN-DRAFT")
    viewer = world.login("client_admin")
    page = viewer.get(f"/contracts/{draft.contract_id}/").content.decode()
    assert "still being agreed" in page and f"/contracts/versions/{draft.pk}/" not in page
    assert viewer.get(f"/contracts/versions/{draft.pk}/").status_code == 404


def test_contract_form_errors_are_shown_and_nothing_is_saved(world, manager):
    contract = {
        "client": world.own.pk,
        "reference": "OWN-1",
        "title": "Customer service",
        "start_date": "2026-01-01",
        "currency": "EUR",
        "billing_day": "1",
        "retention_days": "730",
    }
    response = manager.post("/contracts/new/", {**contract, "currency": "EURO"})
    assert response.status_code == 400 and "currency" in response.context["form"].errors
    response = manager.post("/contracts/new/", {**contract, "reference": "bad ref!"})
    assert response.status_code == 400
    assert "Letters, digits" in " ".join(response.context["form"].errors["reference"])
    assert "Letters, digits" in response.content.decode()
    with all_clients_unscoped("test"):
        assert not Contract.objects.exists()


def test_the_first_version_is_checked_by_the_action(world, manager):
    response = manager.post(
        "/contracts/new/",
        {
            "client": world.own.pk,
            "reference": "OWN-1",
            "title": "Customer service",
            "start_date": "2026-01-01",
            "end_date": "2025-01-01",
            "currency": "EUR",
            "billing_day": "31",
            "retention_days": "730",
        },
    )
    assert response.status_code == 400
    assert "less than or equal to 28" in " ".join(response.context["form"].errors["billing_day"])
    with all_clients_unscoped("test"):
        assert not Contract.objects.exists()


def test_a_manager_cannot_record_a_contract_for_another_client(world, manager):
    response = manager.post(
        "/contracts/new/",
        {
            "client": world.other.pk,
            "reference": "X-1",
            "title": "Sneaky",
            "start_date": "2026-01-01",
            "currency": "EUR",
            "billing_day": "1",
            "retention_days": "730",
        },
    )
    assert response.status_code == 400 and "client" in response.context["form"].errors
    assert "Other Client Inc" not in response.content.decode()
    with all_clients_unscoped("test"):
        assert not Contract.objects.exists()


@pytest.fixture
def draft(world, manager):
    manager.post(
        "/calendars/new/",
        {"client": world.own.pk, "name": "Office", "time_zone": "Europe/Berlin", **WORKDAYS},
    )
    manager.post(
        "/contracts/new/",
        {
            "client": world.own.pk,
            "reference": "OWN-2",
            "title": "Finance",
            "start_date": "2026-01-01",
            "currency": "EUR",
            "billing_day": "1",
            "retention_days": "730",
        },
    )
    return version_of("OWN-2")


def test_policy_errors_are_shown_on_the_cell_and_nothing_is_saved(world, manager, draft):
    url = f"/contracts/versions/{draft.pk}/sla-policies/new/"
    response = manager.post(
        url,
        policy_post(
            normal_first_response="0",
            urgent_deadline_kind="business_day_of_month",
            urgent_deadline_n="30",
            urgent_deadline_at="12:00",
        ),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    # The action checks one target after the other: the first wrong one is named.
    assert "zero is no target" in " ".join(errors["normal_first_response"])
    assert 'data-testid="grid-errors"' in response.content.decode()

    response = manager.post(
        url,
        policy_post(
            urgent_deadline_kind="business_day_of_month",
            urgent_deadline_n="30",
            urgent_deadline_at="12:00",
        ),
    )
    assert response.status_code == 400
    assert "from 1 to 23" in " ".join(response.context["form"].errors["urgent_deadline_kind"])

    response = manager.post(url, policy_post(low_deadline_kind="next_business_day"))
    assert response.status_code == 400
    assert "low_deadline_at" in response.context["form"].errors

    response = manager.post(url, policy_post(warning_percent="100"))
    assert response.status_code == 400
    assert "warning_percent" in response.context["form"].errors
    with all_clients_unscoped("test"):
        assert not SlaPolicy.objects.exists()

    assert manager.post(url, policy_post()).status_code == 302
    response = manager.post(url, policy_post())
    assert response.status_code == 400 and "already exists" in response.content.decode()
    with all_clients_unscoped("test"):
        assert SlaPolicy.objects.count() == 1


def test_service_errors_are_shown_and_nothing_is_saved(world, manager, draft):
    url = f"/contracts/versions/{draft.pk}/services/new/"
    service = {
        "name": "Reconciliation",
        "key": "bank-rec",
        "process_type": "reconciliation",
        "calendar_id": calendar_of(world.own).pk,
    }
    response = manager.post(url, {**service, "custom_fields": '[{"name": "x",}]'})
    assert response.status_code == 400
    assert "not valid JSON" in " ".join(response.context["form"].errors["custom_fields"])
    assert "[{&quot;name&quot;: &quot;x&quot;,}]" in response.content.decode()

    response = manager.post(
        url, {**service, "custom_fields": '[{"name": "colour", "type": "colour"}]'}
    )
    assert response.status_code == 400
    assert "is not one of text" in " ".join(response.context["form"].errors["custom_fields"])

    response = manager.post(url, {**service, "key": "Not a slug"})
    assert response.status_code == 400 and "key" in response.context["form"].errors

    with all_clients_unscoped("test"):
        other_calendar = BusinessCalendar.objects.create(
            client=world.other, name="Other", time_zone="UTC", weekly={"mon": ["09:00-17:00"]}
        )
    response = manager.post(url, {**service, "calendar_id": other_calendar.pk})
    assert response.status_code == 400 and "calendar_id" in response.context["form"].errors
    with all_clients_unscoped("test"):
        assert not ServiceTerms.objects.exists()


def test_activation_explains_what_is_missing(world, manager, draft):
    response = manager.post(f"/contracts/versions/{draft.pk}/activate/", follow=True)
    assert "Not activated: The version has no service" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_a_manager_ends_a_contract(world, manager, agreed):
    url = f"/contracts/{agreed.contract_id}/end/"
    response = manager.post(url, {"end_date": "2025-12-31"})
    assert response.status_code == 400
    assert "before the start date" in " ".join(response.context["form"].errors["end_date"])
    response = manager.post(url, {"end_date": "2026-12-31"}, follow=True)
    assert "Version 1 ends on 2026-12-31" in response.content.decode()
    agreed.refresh_from_db()
    assert agreed.status == "ended"
    page = world.login("client_viewer").get(f"/contracts/{agreed.contract_id}/").content.decode()
    assert "Ended" in page


def test_staff_without_the_permission_read_but_do_not_change(world, agreed):
    agent = world.login("agent")
    page = agent.get(f"/contracts/versions/{agreed.pk}/").content.decode()
    assert "E-mail support" in page and 'data-testid="draft-actions"' not in page
    assert agent.get(f"/contracts/{agreed.contract_id}/end/").status_code == 403
