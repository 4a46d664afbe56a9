"""Billing in the web UI: finance drafts, approves, issues and corrects invoices; the client's
admin reads them and opens each line to the work behind it; rate cards and billing terms are
set on a draft contract version. Money is formatted for the reader's locale."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bpo.audit.models import AuditEntry
from bpo.billing import actions as billing
from bpo.billing.models import Invoice, InvoiceStatus
from bpo.billing.tests.test_invoices import (
    CREDIT_TERMS,
    CRITICAL,
    FEE,
    MONTH,
    NOON,
    approve,
    billed_contract,
    breach_in,
    draft,
    resolve_items,
    session,
)
from bpo.calendars import actions as calendars
from bpo.contracts import actions as contracts
from bpo.contracts.models import Charge, ContractVersion, RateCard, SlaTarget
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.models import WorkItem
from bpo.workforce.models import Certification, PresenceSpan

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}
NBSP = "\xa0"


def per_item(price: str = "1234.50") -> dict[str, str]:
    return {"label": "Resolved orders", "model": "per_transaction", "unit_price": price}


@pytest.fixture
def finance(world):
    return world.login("finance")


@pytest.fixture
def client_admin(world):
    return world.login("client_admin")


def issued_invoice(world, contract) -> Invoice:
    with acting_as(world.actor("finance")) as actor:
        return billing.invoice_issue(actor=actor, invoice=approve(world, draft(world, contract)))


def page(http, url: str, status: int = 200, **headers: str) -> str:
    response = http.get(url, **headers)
    assert response.status_code == status, response.content.decode()[:2000]
    return response.content.decode()


# --- Invoices --------------------------------------------------------------------------------


def test_finance_drafts_approves_and_issues_an_invoice_through_the_pages(
    world, finance, client_admin
):
    contract, service = billed_contract(
        world, world.own, [per_item()], tax_rate_percent=Decimal("19")
    )
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 1, NOON)
    listing = page(finance, "/billing/")
    assert "Draft a month's invoice" in listing and "C-support" in listing

    response = finance.post("/billing/draft/", {"contract": contract.pk, "month": "2026-09"})
    assert response.status_code == 302
    url = response["Location"]
    with all_clients_unscoped("test"):
        invoice = Invoice.objects.get(contract=contract)
    assert url == f"/billing/invoices/{invoice.pk}/"
    body = page(finance, url, **GERMAN)
    # 1 × 1.234,50 € net, 19 % tax 234,56 €, total 1.469,06 € (a German reader's formats).
    assert f"1.234,50{NBSP}€" in body
    assert f"234,56{NBSP}€" in body and f"1.469,06{NBSP}€" in body
    assert "Approve" in body and "Issue and send" not in body
    assert page(finance, url).count("€1,234.50") >= 2  # an English reader's
    # The client's admin does not see a draft at all.
    page(client_admin, url, status=404)
    assert "Invoice 2026-09" not in page(client_admin, "/billing/")

    assert finance.post(f"/billing/invoices/{invoice.pk}/approve/").status_code == 302
    body = page(finance, url)
    assert "Issue and send" in body and "Compute again" not in body
    assert finance.post(f"/billing/invoices/{invoice.pk}/issue/").status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED and invoice.number
    body = page(finance, url)
    assert invoice.number in body and "Mark as paid" in body and "client_admin@own.test" in body

    # The client's admin finds it in their list, opens it, and follows a line to its items.
    listing = page(client_admin, "/billing/", **GERMAN)
    assert invoice.number in listing and f"1.469,06{NBSP}€" in listing
    assert "Draft a month" not in listing and "Revenue" not in listing
    body = page(client_admin, url, **GERMAN)
    assert invoice.number in body and "Next steps" not in body
    with all_clients_unscoped("test"):
        line = invoice.lines.get()
    assert f'href="/billing/lines/{line.pk}/"' in body
    days = page(client_admin, f"/billing/lines/{line.pk}/")
    assert "2026-09-10" in days and 'data-testid="late"' not in days
    items = page(client_admin, f"/billing/lines/{line.pk}/2026-09-10/")
    with all_clients_unscoped("test"):
        item = WorkItem.objects.get(service=service)
    assert "Order 0" in items and f'href="/work/items/{item.pk}/"' in items


def test_draft_form_errors_are_shown_next_to_the_field_and_keep_the_input(world, finance):
    contract, _ = billed_contract(world, world.own, [per_item()])
    response = finance.post("/billing/draft/", {"contract": contract.pk, "month": "Sept"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Choose a month, written YYYY-MM" in body and 'value="Sept"' in body
    response = finance.post("/billing/draft/", {"contract": contract.pk, "month": "2031-01"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "2031-01 has not begun" in body and 'value="2031-01"' in body
    assert f'<option value="{contract.pk}" selected>' in body
    draft(world, contract)
    response = finance.post("/billing/draft/", {"contract": contract.pk, "month": "2026-10"})
    assert "The invoice for 2026-09 is still a draft" in response.content.decode()
    with all_clients_unscoped("test"):
        assert Invoice.objects.count() == 1


def test_void_and_credit_note_need_a_reason_and_keep_what_was_typed(world, finance):
    contract, service = billed_contract(world, world.own, [per_item("2.00")])
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 3, NOON)
    invoice = issued_invoice(world, contract)
    url = f"/billing/invoices/{invoice.pk}/"

    response = finance.post(url + "void/", {"void-reason": "  "})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()

    response = finance.post(
        url + "credit-note/", {"credit-reason": "A test order", "credit-amount": "50"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "cannot be credited" in body and "A test order" in body and 'value="50"' in body
    response = finance.post(
        url + "paid/", {"paid-paid_on": (NOON + timedelta(days=3650)).date().isoformat()}
    )
    assert response.status_code == 400 and "lies in the future" in response.content.decode()

    response = finance.post(
        url + "credit-note/", {"credit-reason": "A test order", "credit-amount": "2.00"}
    )
    assert response.status_code == 302
    with all_clients_unscoped("test"):
        note = Invoice.objects.get(kind="credit_note")
    assert response["Location"] == f"/billing/invoices/{note.pk}/"
    body = page(finance, response["Location"])
    assert "This credit note corrects" in body and "A test order" in body and "-€2.00" in body
    assert f"/billing/invoices/{note.pk}/" in page(finance, url)  # listed on the invoice

    # An invoice with a credit note is not voided behind the note's back.
    response = finance.post(url + "void/", {"void-reason": "Sent to the wrong company"})
    assert response.status_code == 400 and "has credit notes" in response.content.decode()
    response = finance.post(
        f"/billing/invoices/{note.pk}/void/", {"void-reason": "Credited the wrong invoice"}
    )
    assert response.status_code == 302
    response = finance.post(url + "void/", {"void-reason": "Sent to the wrong company"})
    assert response.status_code == 302
    body = page(finance, url)
    assert "Sent to the wrong company" in body and "Void" in body


def test_staff_without_billing_and_client_viewers_see_no_invoices(world):
    contract, _ = billed_contract(world, world.own, [FEE])
    invoice = issued_invoice(world, contract)
    for role in ("manager", "agent", "client_viewer"):
        http = world.login(role)
        assert http.get("/billing/").status_code == 403
        assert http.get(f"/billing/invoices/{invoice.pk}/").status_code == 403
    client_admin = world.login("client_admin")
    assert client_admin.post(f"/billing/invoices/{invoice.pk}/void/").status_code == 403


def test_downloads_are_audited_and_formatted_for_the_reader(world, client_admin):
    contract, _ = billed_contract(world, world.own, [FEE])
    invoice = issued_invoice(world, contract)
    response = client_admin.get(f"/billing/invoices/{invoice.pk}.pdf", **GERMAN)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response["Content-Type"] == "application/pdf"
    assert invoice.number in response["Content-Disposition"]
    response = client_admin.get(f"/billing/invoices/{invoice.pk}.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["document", "kind", "status"]
    assert rows[1][8] == "Support: Service fee" and Decimal(rows[1][12]) == 1000
    with all_clients_unscoped("test"):
        formats = sorted(
            e.after["format"] for e in AuditEntry.objects.filter(action="billing.exported")
        )
    assert formats == ["csv", "pdf"]
    body = page(client_admin, f"/billing/invoices/{invoice.pk}/")
    assert f'download href="/billing/invoices/{invoice.pk}.pdf"' in body


def test_sla_credits_are_marked_on_the_invoice(world, client_admin):
    contract, service = billed_contract(world, world.own, [FEE], targets=CRITICAL, **CREDIT_TERMS)
    with acting_as(world.actor("admin")) as admin:
        breach_in(admin, service, NOON, met=False)
    invoice = issued_invoice(world, contract)
    body = page(client_admin, f"/billing/invoices/{invoice.pk}/", **GERMAN)
    assert 'data-testid="sla-credits"' in body and "SLA credit" in body
    assert f"-75,00{NBSP}€" in body and f"925,00{NBSP}€" in body
    assert "missed in 2026-09" in body


def test_revenue_per_client_and_service_with_its_csv(world, finance, client_admin):
    contract, service = billed_contract(world, world.own, [per_item("2.00")])
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 3, NOON)
    issued_invoice(world, contract)
    body = page(finance, "/billing/", **GERMAN)
    assert 'data-testid="revenue-table"' in body and 'id="revenue-data"' in body
    assert f"6,00{NBSP}€" in body and "Own Client GmbH" in body
    response = finance.get("/billing/revenue.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["client", "service", "currency"] and "2026-09" in rows[0]
    assert rows[1][:3] == ["Own Client GmbH", "Support", "EUR"]
    assert rows[1][rows[0].index("2026-09")] == "6.00"
    assert client_admin.get("/billing/revenue.csv").status_code == 403


def test_the_list_filters_by_status_and_pages(world, finance):
    contract, _ = billed_contract(world, world.own, [FEE])
    issued_invoice(world, contract)
    draft(world, contract, MONTH.replace(month=10))
    assert page(finance, "/billing/?status=draft").count('data-testid="invoice-row"') == 1
    assert page(finance, "/billing/").count('data-testid="invoice-row"') == 2
    assert page(finance, "/billing/?status=bogus").count('data-testid="invoice-row"') == 2


def test_the_pages_cost_the_same_queries_however_many_invoices_and_lines(world, finance):
    def cost(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert finance.get(url).status_code == 200
        return len(queries)

    first, _ = billed_contract(world, world.own, [FEE])
    invoice = issued_invoice(world, first)
    few = cost("/billing/"), cost(f"/billing/invoices/{invoice.pk}/")
    for key in ("second", "third"):
        contract, _ = billed_contract(world, world.own, [FEE, FEE, FEE], key=key)
        invoice = issued_invoice(world, contract)
    assert (cost("/billing/"), cost(f"/billing/invoices/{invoice.pk}/")) == few


# --- The work behind a line ------------------------------------------------------------------


def test_late_usage_is_marked_on_the_days_of_the_next_invoice(world, finance):
    contract, service = billed_contract(world, world.own, [per_item("2.00")])
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 3, NOON)
    approve(world, draft(world, contract))
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 2, NOON + timedelta(days=5))  # September, after approval
    october = draft(world, contract, MONTH.replace(month=10))
    with all_clients_unscoped("test"):
        line = october.lines.get()
    body = page(finance, f"/billing/lines/{line.pk}/")
    assert body.count('data-testid="late"') == 1 and "2026-09-15" in body
    day = page(finance, f"/billing/lines/{line.pk}/2026-09-15/")
    assert day.count('data-testid="usage-row"') == 2
    page(finance, f"/billing/lines/{line.pk}/2026-13-45/", status=404)


def test_handled_minutes_open_to_sessions_with_agents_named_to_the_provider_only(
    world, finance, client_admin
):
    contract, service = billed_contract(
        world,
        world.own,
        [{"label": "Handling", "model": "per_handled_minute", "unit_price": "0.80"}],
    )
    agent = world.people["agent"]
    with acting_as(world.actor("admin")) as admin:
        (item,) = resolve_items(admin, service, 1, NOON)
        session(item, agent, NOON, 30)
    invoice = issued_invoice(world, contract)
    with all_clients_unscoped("test"):
        line = invoice.lines.get()
    url = f"/billing/lines/{line.pk}/2026-09-10/"
    body = page(finance, url)
    assert agent.full_name in body and "30" in body and f"/work/items/{item.pk}/" in body
    body = page(client_admin, url)
    assert agent.full_name not in body and "Agent 1" in body


def test_production_time_opens_to_the_logged_in_spans(world, finance):
    hourly = {"label": "Agents", "model": "per_production_hour", "unit_price": "25.00"}
    contract, service = billed_contract(world, world.own, [hourly])
    agent = world.people["agent"]
    with acting_as(world.actor("admin")):
        Certification.objects.create(client_id=service.client_id, user=agent, service=service)
        PresenceSpan.objects.create(
            user=agent,
            presence="available",
            started_at=NOON - timedelta(hours=4),
            ended_at=NOON + timedelta(hours=4),
        )
    invoice = draft(world, contract)
    with all_clients_unscoped("test"):
        line = invoice.lines.get()
    assert "480" in page(finance, f"/billing/lines/{line.pk}/")
    body = page(finance, f"/billing/lines/{line.pk}/2026-09-10/")
    assert 'data-testid="usage-presence"' in body and "480" in body


def test_a_fixed_fee_line_says_it_has_no_usage(world, finance):
    contract, _ = billed_contract(world, world.own, [FEE])
    invoice = draft(world, contract)
    with all_clients_unscoped("test"):
        line = invoice.lines.get()
    assert "not counted from usage" in page(finance, f"/billing/lines/{line.pk}/")
    page(finance, f"/billing/lines/{line.pk}/2026-09-10/", status=404)


# --- Rate cards and billing terms on a contract version --------------------------------------


@pytest.fixture
def draft_version(world) -> ContractVersion:
    """A draft contract version with one service and no rate card yet."""
    with acting_as(world.actor("admin")) as admin:
        calendar = calendars.calendar_create(
            actor=admin,
            client=world.own,
            name="H",
            time_zone="UTC",
            weekly={"mon": ["08:00-17:00"]},
        )
        made = contracts.contract_create(
            actor=admin,
            client=world.own,
            reference="C-1",
            title="Support",
            start_date="2026-01-01",
            currency="EUR",
        )
        version = made.versions.get()
        contracts.service_add(
            actor=admin,
            version=version,
            key="s",
            name="Chat",
            process_type="task",
            calendar=calendar,
        )
    return version


def test_finance_prices_a_draft_version_on_its_page(world, finance, draft_version):
    with all_clients_unscoped("test"):
        service = draft_version.terms.get().service
    url = f"/contracts/versions/{draft_version.pk}/"
    body = page(finance, url)
    assert "Rate cards" in body and "Add a rate card" in body
    card_url = f"/billing/versions/{draft_version.pk}/services/{service.pk}/rate-card/"
    response = finance.post(card_url, {"minimum_commitment": "-5"})
    assert response.status_code == 400 and 'value="-5"' in response.content.decode()
    assert finance.post(card_url, {"minimum_commitment": "500"}).status_code == 302
    with all_clients_unscoped("test"):
        card = RateCard.objects.get(version=draft_version)
    assert card.minimum_commitment == Decimal("500")

    charge_url = f"/billing/rate-cards/{card.pk}/charges/new/"
    assert "tier-grid" in page(finance, charge_url)
    # A negative price: the error is next to the price, the label typed stays.
    response = finance.post(
        charge_url,
        {"label": "Orders", "model": "per_transaction", "tiering": "flat", "unit_price": "-1"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "negative" in body and 'value="Orders"' in body
    # Overlapping tiers: the error is on the tier's cell.
    response = finance.post(
        charge_url,
        {
            "label": "Orders",
            "model": "per_transaction",
            "tiering": "graduated",
            "tier_1_up_to": "100",
            "tier_1_price": "2",
            "tier_2_up_to": "50",
            "tier_2_price": "1.5",
            "tier_3_price": "1",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Tier 2 up to: 50 overlaps the tier before it" in body
    assert 'name="tier_2_up_to" id="id_tier_2_up_to" value="50"' in body
    assert 'is-invalid" type="number" step="any" min="0" name="tier_2_up_to"' in body
    response = finance.post(
        charge_url,
        {
            "label": "Orders",
            "model": "per_transaction",
            "tiering": "graduated",
            "tier_1_up_to": "100",
            "tier_1_price": "2",
            "tier_2_price": "1.5",
        },
    )
    assert response.status_code == 302
    with all_clients_unscoped("test"):
        charge = Charge.objects.get()
    assert charge.tiers == [{"up_to": "100", "price": "2"}, {"up_to": None, "price": "1.5"}]
    body = page(finance, url, **GERMAN)
    assert "Orders" in body and f"500,00{NBSP}€" in body and f"1,50{NBSP}€" in body

    edit = page(finance, f"/billing/charges/{charge.pk}/edit/")
    assert 'value="100"' in edit and 'value="1.5"' in edit
    response = finance.post(
        f"/billing/charges/{charge.pk}/edit/",
        {"label": "Orders", "model": "per_transaction", "tiering": "flat", "unit_price": "2.5"},
    )
    assert response.status_code == 302
    charge.refresh_from_db()
    assert (charge.tiering, charge.unit_price, charge.tiers) == ("flat", Decimal("2.5"), [])
    assert finance.post(f"/billing/charges/{charge.pk}/remove/").status_code == 302
    assert "No charges yet" in page(finance, url)
    assert finance.post(f"/billing/rate-cards/{card.pk}/remove/").status_code == 302
    with all_clients_unscoped("test"):
        assert not RateCard.objects.exists()


def test_agreed_prices_are_read_not_changed(world, finance, client_admin):
    contract, _ = billed_contract(world, world.own, [FEE])
    with all_clients_unscoped("test"):
        version = contract.versions.get()
        charge = Charge.objects.get()
    body = page(client_admin, f"/contracts/versions/{version.pk}/", **GERMAN)
    assert "Service fee" in body and f"1.000,00{NBSP}€" in body and "Add charge" not in body
    assert "Rate cards" not in page(
        world.login("client_viewer"), f"/contracts/versions/{version.pk}/"
    )
    assert "Rate cards" not in page(world.login("manager"), f"/contracts/versions/{version.pk}/")
    response = finance.get(f"/billing/charges/{charge.pk}/edit/")
    assert response.status_code == 302
    assert client_admin.get(f"/billing/charges/{charge.pk}/edit/").status_code == 403


def test_billing_terms_in_the_version_form(world, draft_version):
    manager = world.login("manager")
    url = f"/contracts/versions/{draft_version.pk}/edit/"
    body = page(manager, url)
    assert "Billing terms" in body and 'name="credit_at_risk_percent"' in body
    form = {
        "start_date": "2026-01-01",
        "currency": "EUR",
        "billing_day": "1",
        "retention_days": "365",
        "tax_label": "USt",
        "tax_rate_percent": "150",
        "payment_days": "14",
        "credit_at_risk_percent": "12.5",
    }
    response = manager.post(url, form)
    assert response.status_code == 400
    body = response.content.decode()
    assert "less than or equal to 100" in body and 'value="USt"' in body
    assert manager.post(url, {**form, "tax_rate_percent": "19"}).status_code == 302
    draft_version.refresh_from_db()
    assert (draft_version.tax_label, draft_version.tax_rate_percent) == ("USt", Decimal("19"))
    assert (draft_version.payment_days, draft_version.credit_at_risk_percent) == (
        14,
        Decimal("12.5"),
    )
    assert draft_version.credit_pool_percent == Decimal(100)  # left empty: the default
    body = page(world.login("finance"), f"/contracts/versions/{draft_version.pk}/")
    assert "12.5% of the fees at risk" in body


def test_finance_sets_the_billing_terms_of_a_draft_alone(world, finance, draft_version):
    url = f"/billing/versions/{draft_version.pk}/terms/"
    assert "Billing terms" in page(finance, f"/contracts/versions/{draft_version.pk}/")
    response = finance.post(url, {"tax_rate_percent": "19", "earn_back_months": "13"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "less than or equal to 12" in body and 'value="19"' in body
    assert finance.post(url, {"tax_rate_percent": "19", "earn_back_months": "2"}).status_code == 302
    draft_version.refresh_from_db()
    assert (draft_version.tax_rate_percent, draft_version.earn_back_months) == (Decimal(19), 2)
    assert draft_version.tax_label == "VAT"  # left empty: the default
    # The rest of the version stays the contract managers'.
    assert finance.get(f"/contracts/versions/{draft_version.pk}/edit/").status_code == 403


def test_credit_shares_in_the_sla_policy_grid(world, draft_version):
    manager = world.login("manager")
    url = f"/contracts/versions/{draft_version.pk}/sla-policies/new/"
    base = {
        "name": "Standard",
        "warning_percent": "75",
        "normal_first_response": "60",
        "normal_first_response_clock": "business",
    }
    response = manager.post(url, {**base, "normal_first_response_share": "25"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Only a target with a promised service level can carry a credit" in body
    share = 'step="0.01" name="normal_first_response_share"'
    assert f'is-invalid" type="number" min="0.01" max="100" {share}' in body
    response = manager.post(
        url,
        {**base, "normal_first_response_level": "90", "normal_first_response_share": "25"},
    )
    assert response.status_code == 302
    with all_clients_unscoped("test"):
        target = SlaTarget.objects.get()
    assert (target.service_level_percent, target.credit_share_percent) == (
        Decimal("90"),
        Decimal("25"),
    )
    assert "critical: 25% of the credit pool" in page(
        manager, f"/contracts/versions/{draft_version.pk}/"
    )
    edit = page(manager, f"/contracts/sla-policies/{target.policy_id}/edit/")
    assert (
        'name="normal_first_response_share" id="id_normal_first_response_share" value="25' in edit
    )
