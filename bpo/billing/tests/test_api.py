"""Billing through the API: rate cards on a draft version, the life of an invoice from draft
to paid or void, credit notes, documents, the usage behind a line, and bad input refused with
the field that was wrong."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from bpo.accounts import actions as people
from bpo.audit.models import AuditEntry
from bpo.billing import documents
from bpo.billing.tests.test_invoices import billed_contract, resolve_items, session
from bpo.calendars import actions as calendars
from bpo.contracts import actions as contracts
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.workforce.models import Certification, PresenceSpan

NOON = datetime(2026, 9, 10, 10, 0, tzinfo=UTC)  # 12:00 in Berlin, a Thursday
PER_ITEM = {"label": "Resolved", "model": "per_transaction", "unit_price": "2.50"}


def api_as(world, role: str) -> HttpClient:
    with acting_as(world.actor(role)) as actor:
        _, raw = people.api_token_create(actor=actor, name="t")
    return HttpClient(headers={"Authorization": f"Bearer {raw}"})


def send(http, method, url, body=None):
    return http.generic(
        method, url, data="" if body is None else json.dumps(body), content_type="application/json"
    )


def field_error(response, path: str, words: str) -> None:
    """A 422 whose fields name ``path`` with a message containing ``words``."""
    assert response.status_code == 422, response.content
    fields = response.json()["error"]["fields"]
    assert any(f["path"] == path and words in f["message"] for f in fields), fields


def drop_ids(lines: list[dict]) -> list[dict]:
    return [{k: v for k, v in line.items() if k != "id"} for line in lines]


@pytest.fixture
def finance(world):
    return api_as(world, "finance")


@pytest.fixture
def draft_version(world):
    """A contract of the own client whose first version is a draft with one service."""
    with acting_as(world.actor("admin")) as admin:
        calendar = calendars.calendar_create(
            actor=admin,
            client=world.own,
            name="Berlin hours",
            time_zone="Europe/Berlin",
            weekly={d: ["08:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        )
        contract = contracts.contract_create(
            actor=admin,
            client=world.own,
            reference="API-1",
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
            key="support",
            name="Support",
            process_type="customer_service",
            calendar=calendar,
            sla_policy_id=policy.pk,
        )
    return version, terms.service


def priced_card(finance, version, service, *charges) -> dict:
    """Give the service a rate card with ``charges`` through the API; the card as listed."""
    url = f"/api/v1/contract-versions/{version.pk}/rate-cards/{service.pk}"
    card = send(finance, "PUT", url, {"minimum_commitment": None})
    assert card.status_code == 200, card.content
    for charge in charges:
        added = send(finance, "POST", f"/api/v1/rate-cards/{card.json()['id']}/charges", charge)
        assert added.status_code == 201, added.content
    (listed,) = send(finance, "GET", f"/api/v1/contract-versions/{version.pk}/rate-cards").json()
    return listed


# --- The whole life ---------------------------------------------------------------------------


def test_the_life_of_an_invoice_through_the_api(world, finance, draft_version):
    version, service = draft_version
    admin = api_as(world, "admin")
    # Finance prices the draft: per resolved item, and a volume-tiered fixed commitment.
    card = priced_card(
        finance,
        version,
        service,
        PER_ITEM,
        {
            "label": "Handling",
            "model": "per_handled_minute",
            "tiering": "graduated",
            "tiers": [{"up_to": "30", "price": "1.00"}, {"up_to": None, "price": "0.50"}],
        },
    )
    assert [c["label"] for c in card["charges"]] == ["Resolved", "Handling"]
    assert card["charges"][0]["unit_price"] == "2.5"
    assert card["charges"][1]["tiers"] == [
        {"up_to": "30", "price": "1"},
        {"up_to": None, "price": "0.5"},
    ]
    minimum = send(
        finance,
        "PUT",
        f"/api/v1/contract-versions/{version.pk}/rate-cards/{service.pk}",
        {"minimum_commitment": "20.00"},
    )
    assert minimum.json()["minimum_commitment"] == "20"
    # ... and sets the billing terms of the version, which are finance's to set.
    terms = send(
        finance,
        "PATCH",
        f"/api/v1/contract-versions/{version.pk}",
        {"tax_rate_percent": "19.00", "tax_label": "USt.", "payment_days": 14},
    )
    assert terms.status_code == 200, terms.content
    assert (terms.json()["tax_rate_percent"], terms.json()["payment_days"]) == ("19.00", 14)
    # The rest of the contract is not finance's.
    assert (
        send(finance, "PATCH", f"/api/v1/contract-versions/{version.pk}", {"billing_day": 5})
    ).status_code == 403
    activated = send(admin, "POST", f"/api/v1/contract-versions/{version.pk}/activate")
    assert activated.status_code == 200, activated.content
    # Agreed prices never change.
    field_error(
        send(finance, "POST", f"/api/v1/rate-cards/{card['id']}/charges", PER_ITEM),
        "body",
        "were agreed",
    )

    with acting_as(world.actor("admin")) as actor:
        items = resolve_items(actor, service, 3, NOON)
        session(items[0], world.people["agent"], NOON, 40)
    made = send(
        finance,
        "POST",
        "/api/v1/invoices",
        {"contract_id": version.contract_id, "month": "2026-09"},
    )
    assert made.status_code == 201, made.content
    invoice = made.json()
    # 3 items × 2.50 = 7.50; 40 handled minutes: 30 × 1.00 + 10 × 0.50 = 35.00; net 42.50 is
    # above the minimum of 20; 19% tax = 8.08 (8.075 rounded half up).
    assert [
        (ln["kind"], ln["quantity"], ln["unit_price"], ln["amount"]) for ln in invoice["lines"]
    ] == [
        ("charge", "3", "2.5", "7.50"),
        ("charge", "30", "1", "30.00"),
        ("charge", "10", "0.5", "5.00"),
    ]
    assert (invoice["net"], invoice["tax"], invoice["total"]) == ("42.50", "8.08", "50.58")
    assert (invoice["status"], invoice["number"], invoice["tax_label"]) == ("draft", None, "USt.")
    # Asking again computes the same draft again.
    again = send(
        finance,
        "POST",
        "/api/v1/invoices",
        {"contract_id": version.contract_id, "month": "2026-09"},
    )
    assert again.status_code == 200 and again.json()["id"] == invoice["id"]
    assert drop_ids(again.json()["lines"]) == drop_ids(invoice["lines"])
    recomputed = send(finance, "POST", f"/api/v1/invoices/{invoice['id']}/recompute")
    assert recomputed.status_code == 200 and recomputed.json()["total"] == "50.58"

    # The line opens to its days, and a day to the items counted on it (a draft's lines are
    # new ones each time it is computed).
    invoice = recomputed.json()
    line = invoice["lines"][0]
    usage = send(finance, "GET", f"/api/v1/invoice-lines/{line['id']}/usage").json()
    assert usage["meter"] == "resolved_items"
    assert usage["days"] == [{"day": "2026-09-10", "quantity": "3", "late": False}]
    counted = send(finance, "GET", f"/api/v1/invoice-lines/{line['id']}/usage/2026-09-10/items")
    assert sorted(i["id"] for i in counted.json()["items"]) == sorted(i.pk for i in items)
    paged = send(
        finance, "GET", f"/api/v1/invoice-lines/{line['id']}/usage/2026-09-10/items?limit=2"
    ).json()
    assert len(paged["items"]) == 2 and paged["next_cursor"] is not None
    handled = invoice["lines"][1]
    sessions = send(
        finance, "GET", f"/api/v1/invoice-lines/{handled['id']}/usage/2026-09-10/sessions"
    ).json()["items"]
    assert [(s["item_id"], s["seconds"]) for s in sessions] == [(items[0].pk, 2400)]
    # A per-item line has no sessions to show.
    wrong = send(finance, "GET", f"/api/v1/invoice-lines/{line['id']}/usage/2026-09-10/sessions")
    assert wrong.status_code == 404

    # The client's admin does not see the draft.
    client_admin = api_as(world, "client_admin")
    assert send(client_admin, "GET", f"/api/v1/invoices/{invoice['id']}").status_code == 404
    assert send(client_admin, "GET", "/api/v1/invoices").json()["items"] == []

    approved = send(finance, "POST", f"/api/v1/invoices/{invoice['id']}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    field_error(
        send(finance, "POST", f"/api/v1/invoices/{invoice['id']}/recompute"),
        "body.status",
        "never changes",
    )
    issued = send(finance, "POST", f"/api/v1/invoices/{invoice['id']}/issue").json()
    assert issued["status"] == "issued" and issued["number"].startswith("INV-")
    due = date.fromisoformat(issued["due_date"]) - date.fromisoformat(issued["issued_at"][:10])
    assert timedelta(days=13) <= due <= timedelta(days=15)  # 14 days in the provider's zone
    # Now the client's admin sees it, its lines and the usage behind them.
    mine = send(client_admin, "GET", "/api/v1/invoices").json()["items"]
    assert [i["number"] for i in mine] == [issued["number"]]
    assert send(client_admin, "GET", f"/api/v1/invoice-lines/{line['id']}/usage").status_code == 200
    assert (
        send(client_admin, "POST", f"/api/v1/invoices/{invoice['id']}/paid", {}).status_code == 403
    )

    pdf = send(finance, "GET", f"/api/v1/invoices/{invoice['id']}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert issued["number"] in pdf["Content-Disposition"]
    exported = send(client_admin, "GET", f"/api/v1/invoices/{invoice['id']}/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0] == documents.CSV_COLUMNS
    assert Decimal(rows[-1][documents.CSV_COLUMNS.index("amount")]) == Decimal("50.58")
    with all_clients_unscoped("test check"):
        exports = AuditEntry.objects.filter(action="billing.exported").count()
    assert exports == 2

    before_issue = str(date.fromisoformat(issued["issued_at"][:10]) - timedelta(days=1))
    early = send(
        finance, "POST", f"/api/v1/invoices/{invoice['id']}/paid", {"paid_on": before_issue}
    )
    assert early.status_code == 422 and "before the invoice was issued" in early.content.decode()
    paid_on = issued["issued_at"][:10]
    paid = send(finance, "POST", f"/api/v1/invoices/{invoice['id']}/paid", {"paid_on": paid_on})
    assert paid.status_code == 200, paid.content
    assert paid.json()["status"] == "paid" and paid.json()["paid_at"].startswith(paid_on)

    # A credit note corrects the paid invoice: part of it, then what is left.
    field_error(
        send(
            finance,
            "POST",
            f"/api/v1/invoices/{invoice['id']}/credit-notes",
            {"reason": "Goodwill", "amount": 5.5},
        ),
        "body.payload.amount",
        "decimal string",
    )
    note = send(
        finance,
        "POST",
        f"/api/v1/invoices/{invoice['id']}/credit-notes",
        {"reason": "Goodwill", "amount": "5.50"},
    )
    assert note.status_code == 201, note.content
    assert (note.json()["kind"], note.json()["corrects_id"]) == ("credit_note", invoice["id"])
    assert (note.json()["net"], note.json()["tax"], note.json()["total"]) == (
        "-5.50",
        "-1.05",
        "-6.55",
    )
    field_error(
        send(
            finance,
            "POST",
            f"/api/v1/invoices/{invoice['id']}/credit-notes",
            {"reason": "Too much", "amount": "40.00"},
        ),
        "body.amount",
        "37.00",
    )
    rest = send(
        finance, "POST", f"/api/v1/invoices/{invoice['id']}/credit-notes", {"reason": "Refund"}
    )
    assert rest.status_code == 201 and rest.json()["net"] == "-37.00"
    field_error(
        send(finance, "POST", f"/api/v1/invoices/{invoice['id']}/credit-notes", {"reason": "x"}),
        "body.amount",
        "left to credit",
    )
    # A paid invoice is not void.
    field_error(
        send(finance, "POST", f"/api/v1/invoices/{invoice['id']}/void", {"reason": "x"}),
        "body.status",
        "paid",
    )


def test_void_releases_the_month_for_a_new_draft(world, finance):
    contract, service = billed_contract(world, world.own, [PER_ITEM])
    with acting_as(world.actor("admin")) as actor:
        resolve_items(actor, service, 2, NOON)
    body = {"contract_id": contract.pk, "month": "2026-09"}
    first = send(finance, "POST", "/api/v1/invoices", body).json()
    field_error(
        send(finance, "POST", f"/api/v1/invoices/{first['id']}/void", {"reason": ""}),
        "body.payload.reason",
        "at least 1 character",
    )
    void = send(finance, "POST", f"/api/v1/invoices/{first['id']}/void", {"reason": "Wrong month"})
    assert void.status_code == 200 and void.json()["status"] == "void"
    assert void.json()["reason"] == "Wrong month"
    second = send(finance, "POST", "/api/v1/invoices", body)
    assert second.status_code == 201 and second.json()["id"] != first["id"]
    assert second.json()["net"] == "5.00"
    voided = send(finance, "GET", "/api/v1/invoices?status=void").json()["items"]
    assert [i["id"] for i in voided] == [first["id"]]


def test_presence_behind_a_production_hour_line(world, finance):
    contract, service = billed_contract(
        world,
        world.own,
        [{"label": "Agents", "model": "per_production_hour", "unit_price": "25.00"}],
    )
    agent = world.people["agent"]
    with acting_as(world.actor("admin")) as actor:
        Certification.objects.create(client=world.own, user=agent, service=service)
        (item,) = resolve_items(actor, service, 1, NOON)
        session(item, agent, NOON - timedelta(hours=1), 60)
        PresenceSpan.objects.create(
            user=agent,
            presence="available",
            started_at=NOON - timedelta(hours=2),
            ended_at=NOON + timedelta(hours=2),
        )
    invoice = send(
        finance, "POST", "/api/v1/invoices", {"contract_id": contract.pk, "month": "2026-09"}
    ).json()
    (line,) = invoice["lines"]
    assert (line["quantity"], line["unit"], line["amount"]) == ("4", "hours", "100.00")
    days = send(finance, "GET", f"/api/v1/invoice-lines/{line['id']}/usage").json()["days"]
    assert days == [{"day": "2026-09-10", "quantity": "240", "late": False}]
    spans = send(
        finance, "GET", f"/api/v1/invoice-lines/{line['id']}/usage/2026-09-10/presence"
    ).json()["items"]
    assert [(s["agent_id"], s["presence"]) for s in spans] == [(agent.pk, "available")]


def test_revenue_counts_issued_invoices_per_client_and_service(world, finance):
    contract, service = billed_contract(world, world.own, [PER_ITEM])
    with acting_as(world.actor("admin")) as actor:
        resolve_items(actor, service, 4, NOON)
    invoice = send(
        finance, "POST", "/api/v1/invoices", {"contract_id": contract.pk, "month": "2026-09"}
    ).json()
    empty = send(finance, "GET", "/api/v1/revenue?months=3").json()
    assert len(empty["months"]) == 3
    assert empty["rows"] == []
    for step in ("approve", "issue"):
        assert send(finance, "POST", f"/api/v1/invoices/{invoice['id']}/{step}").status_code == 200
    revenue = send(finance, "GET", "/api/v1/revenue?months=12").json()
    (row,) = revenue["rows"]
    assert (row["client"], row["service"], row["currency"], row["total"]) == (
        "Own Client GmbH",
        "Support",
        "EUR",
        "10.00",
    )
    assert "10.00" in row["months"]
    assert revenue["totals"] == [{"currency": "EUR", "month": "2026-09-01", "net": "10.00"}]
    assert send(api_as(world, "client_admin"), "GET", "/api/v1/revenue").status_code == 403


# --- Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charge", "path", "words"),
    [
        (
            {
                "label": "Tiered",
                "model": "per_transaction",
                "tiering": "graduated",
                "tiers": [
                    {"up_to": "100", "price": "1.00"},
                    {"up_to": "50", "price": "0.90"},
                    {"up_to": None, "price": "0.80"},
                ],
            },
            "body.tiers",
            "overlaps",
        ),
        ({**PER_ITEM, "unit_price": "-1.00"}, "body.unit_price", "negative"),
        (
            {**PER_ITEM, "unit_price": 2.5},
            "body.payload.unit_price",
            'as a decimal string, e.g. "2.5"',
        ),
        ({**PER_ITEM, "unit_price": "2,50"}, "body.payload.unit_price", "not a decimal number"),
        ({**PER_ITEM, "unit_price": None}, "body.unit_price", "needs its unit price"),
        ({**PER_ITEM, "model": "fixed_fee", "channel": "email"}, "body.channel", "narrowed"),
        (
            {"label": "FTE", "model": "per_fte", "unit_price": "4000.00"},
            "body.fte_hours",
            "FTE stands for",
        ),
    ],
)
def test_bad_charges_are_refused_with_the_field(world, finance, draft_version, charge, path, words):
    version, service = draft_version
    card = priced_card(finance, version, service)
    field_error(
        send(finance, "POST", f"/api/v1/rate-cards/{card['id']}/charges", charge), path, words
    )


def test_a_charge_is_changed_and_removed(world, finance, draft_version):
    version, service = draft_version
    card = priced_card(finance, version, service, PER_ITEM)
    (charge,) = card["charges"]
    changed = send(
        finance,
        "PATCH",
        f"/api/v1/charges/{charge['id']}",
        {
            "tiering": "volume",
            "unit_price": None,
            "tiers": [{"up_to": "1000", "price": "2.50"}, {"up_to": None, "price": "2.00"}],
        },
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["tiering"], changed.json()["unit_price"]) == ("volume", None)
    field_error(
        send(finance, "PATCH", f"/api/v1/charges/{charge['id']}", {"tiers": None}),
        "body.tiers",
        "at least one tier",
    )
    assert send(finance, "DELETE", f"/api/v1/charges/{charge['id']}").status_code == 204
    assert send(finance, "PATCH", f"/api/v1/charges/{charge['id']}", {}).status_code == 404
    url = f"/api/v1/contract-versions/{version.pk}/rate-cards/{service.pk}"
    assert send(finance, "DELETE", url).status_code == 204
    assert send(finance, "DELETE", url).status_code == 404
    # A rate card with no charges keeps the version from being agreed.
    send(finance, "PUT", url, {})
    refused = send(
        api_as(world, "admin"), "POST", f"/api/v1/contract-versions/{version.pk}/activate"
    )
    field_error(refused, "body", "has no charges")


def test_a_commitment_is_a_positive_amount_in_text(world, finance, draft_version):
    version, service = draft_version
    url = f"/api/v1/contract-versions/{version.pk}/rate-cards/{service.pk}"
    field_error(
        send(finance, "PUT", url, {"minimum_commitment": "-5"}), "body.minimum_commitment", "0"
    )
    field_error(
        send(finance, "PUT", url, {"minimum_commitment": 5}),
        "body.payload.minimum_commitment",
        "decimal string",
    )
    # A service of another client's contract is not this version's to price.
    _, elsewhere = billed_contract(world, world.other, [PER_ITEM], key="elsewhere")
    assert (
        send(
            api_as(world, "admin"),
            "PUT",
            f"/api/v1/contract-versions/{version.pk}/rate-cards/{elsewhere.pk}",
            {},
        ).status_code
        == 404
    )


def test_credit_terms_and_shares_are_checked(world, draft_version):
    version, _ = draft_version
    admin = api_as(world, "admin")
    field_error(
        send(admin, "PATCH", f"/api/v1/contract-versions/{version.pk}", {"tax_rate_percent": 19}),
        "body.payload.tax_rate_percent",
        "decimal string",
    )
    field_error(
        send(
            admin, "PATCH", f"/api/v1/contract-versions/{version.pk}", {"tax_rate_percent": "119"}
        ),
        "body.tax_rate_percent",
        "100",
    )
    ok = send(
        admin,
        "PATCH",
        f"/api/v1/contract-versions/{version.pk}",
        {"credit_at_risk_percent": "10.00", "credit_pool_percent": "200", "earn_back_months": 2},
    )
    assert ok.status_code == 200, ok.content
    assert (ok.json()["credit_at_risk_percent"], ok.json()["credit_pool_percent"]) == (
        "10.00",
        "200.00",
    )
    off = send(
        admin, "PATCH", f"/api/v1/contract-versions/{version.pk}", {"credit_at_risk_percent": None}
    )
    assert off.json()["credit_at_risk_percent"] is None and off.json()["earn_back_months"] == 2
    policy_id = ok.json()["sla_policies"][0]["id"]
    target = {
        "priority": "normal",
        "metric": "first_response",
        "duration_minutes": 60,
        "service_level_percent": "90",
    }
    field_error(
        send(
            admin,
            "PATCH",
            f"/api/v1/sla-policies/{policy_id}",
            {"targets": [{**target, "credit_share_percent": "150.00"}]},
        ),
        "body.targets[0].credit_share_percent",
        "at most 100",
    )
    field_error(
        send(
            admin,
            "PATCH",
            f"/api/v1/sla-policies/{policy_id}",
            {"targets": [{**target, "credit_share_percent": 50}]},
        ),
        "body.payload.targets.0.credit_share_percent",
        "decimal string",
    )
    shared = send(
        admin,
        "PATCH",
        f"/api/v1/sla-policies/{policy_id}",
        {"targets": [{**target, "credit_share_percent": "50"}]},
    )
    assert shared.status_code == 200, shared.content
    assert shared.json()["targets"][0]["credit_share_percent"] == "50.00"


def test_contract_ids_in_the_body_are_checked_against_the_scope(world, finance):
    _, _ = billed_contract(world, world.own, [PER_ITEM])
    theirs, _ = billed_contract(world, world.other, [PER_ITEM], key="theirs")
    # Finance serves the own client only: the other client's contract does not exist for them.
    refused = send(
        finance, "POST", "/api/v1/invoices", {"contract_id": theirs.pk, "month": "2026-09"}
    )
    field_error(refused, "body.contract_id", f"no contract with id {theirs.pk}")
    assert "Other Client" not in refused.content.decode()
    missing = send(finance, "POST", "/api/v1/invoices", {"contract_id": 987654, "month": "2026-09"})
    field_error(missing, "body.contract_id", "no contract")
    field_error(
        send(finance, "POST", "/api/v1/invoices", {"contract_id": theirs.pk, "month": "2026-13"}),
        "body.payload.month",
        "pattern",
    )
    assert (
        send(
            api_as(world, "client_admin"),
            "POST",
            "/api/v1/invoices",
            {"contract_id": theirs.pk, "month": "2026-09"},
        ).status_code
        == 403
    )


def test_a_later_month_waits_for_the_open_draft_before_it(world, finance):
    contract, _ = billed_contract(world, world.own, [PER_ITEM])
    september = send(
        finance, "POST", "/api/v1/invoices", {"contract_id": contract.pk, "month": "2026-09"}
    )
    assert september.status_code == 201
    october = send(
        finance, "POST", "/api/v1/invoices", {"contract_id": contract.pk, "month": "2026-10"}
    )
    field_error(october, "body.month", "2026-09 is still a draft")
    future = send(
        finance, "POST", "/api/v1/invoices", {"contract_id": contract.pk, "month": "2099-01"}
    )
    field_error(future, "body.month", "has not begun")


def test_invoice_list_costs_the_same_queries_for_one_or_many(world, finance):
    fee = {"label": "Fee", "model": "fixed_fee", "unit_price": "100.00"}
    contract, _ = billed_contract(world, world.own, [fee])
    body = {"contract_id": contract.pk, "month": "2026-01"}
    invoice = send(finance, "POST", "/api/v1/invoices", body).json()
    with CaptureQueriesContext(connection) as few:
        assert len(send(finance, "GET", "/api/v1/invoices?limit=200").json()["items"]) == 1
    for month in range(2, 7):
        for step in ("approve", "issue"):
            send(finance, "POST", f"/api/v1/invoices/{invoice['id']}/{step}")
        send(finance, "POST", f"/api/v1/invoices/{invoice['id']}/credit-notes", {"reason": "x"})
        body["month"] = f"2026-{month:02d}"
        invoice = send(finance, "POST", "/api/v1/invoices", body).json()
    with CaptureQueriesContext(connection) as many:
        page = send(finance, "GET", "/api/v1/invoices?limit=200").json()
    assert len(page["items"]) == 11
    assert len(many) == len(few)
    # The client's admin sees the issued invoices, not the drafts (nor the draft notes).
    mine = send(api_as(world, "client_admin"), "GET", "/api/v1/invoices").json()["items"]
    assert [(i["status"], i["period_start"][:7]) for i in mine] == [
        ("issued", f"2026-{month:02d}") for month in range(1, 6)
    ]
