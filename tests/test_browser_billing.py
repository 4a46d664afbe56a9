"""Billing through a real Chromium: finance drafts, approves and issues a month's invoice; the
client's admin opens it from their portal and follows a line down to the items behind it."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bpo.billing.tests.test_invoices import (
    CREDIT_TERMS,
    CRITICAL,
    NOON,
    billed_contract,
    breach_in,
    resolve_items,
)
from bpo.contracts import actions as contracts
from bpo.tenancy.context import acting_as
from tests.test_browser import assert_styled, browser, live_world, log_in, nav, page, shot  # noqa: F401

pytestmark = pytest.mark.browser

ORDERS = {"label": "Resolved orders", "model": "per_transaction", "unit_price": "1234.50"}
FEE = {"label": "Service fee", "model": "fixed_fee", "unit_price": "1000.00"}


def _september(world):
    """A contract of the own client priced per resolved order and a monthly fee, with 19 % VAT
    and SLA credits; in September three orders were resolved and a critical level was missed."""
    contract, service = billed_contract(
        world,
        world.own,
        [ORDERS, FEE],
        targets=CRITICAL,
        tax_rate_percent=Decimal("19"),
        **CREDIT_TERMS,
    )
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 3, NOON)
        breach_in(admin, service, NOON, met=False)
    return contract


def test_finance_issues_an_invoice_and_the_client_admin_drills_down_to_the_items(
    live_world,  # noqa: F811
    page: Page,  # noqa: F811
    shot,  # noqa: F811
):
    contract = _september(live_world)
    page.set_extra_http_headers({"Accept-Language": "de-DE,de;q=0.9"})
    log_in(page, live_world.people["finance"])
    nav(page).get_by_role("link", name="Billing").click()
    expect(page).to_have_url(re.compile(r"/billing/$"))
    form = page.get_by_test_id("draft-form")
    form.get_by_label("Contract").select_option(str(contract.pk))
    form.get_by_label("Month").fill("2031-01")
    form.get_by_role("button", name="Draft the invoice").click()
    # A month that has not begun: said next to the field, the choice kept.
    expect(page.get_by_test_id("month-error")).to_contain_text("2031-01 has not begun")
    expect(form.get_by_label("Month")).to_have_value("2031-01")
    shot("billing_draft_error")
    form.get_by_label("Month").fill("2026-09")
    form.get_by_role("button", name="Draft the invoice").click()

    expect(page).to_have_url(re.compile(r"/billing/invoices/\d+/$"))
    lines = page.get_by_test_id("invoice-lines")
    # 3 orders × 1.234,50 € = 3.703,50 €; fee 1.000,00 €; the missed level's credit:
    # 10 % of 4.703,50 € at risk × pool 150 % × share 50 % = 352,76 € (German reader).
    expect(lines).to_contain_text("3.703,50\xa0€")
    expect(lines).to_contain_text("-352,76\xa0€")
    expect(page.get_by_test_id("credit-badge")).to_be_visible()
    expect(page.get_by_test_id("sla-credits")).to_contain_text("-352,76\xa0€")
    assert_styled(page)
    shot("billing_invoice_draft")
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("issue")).to_be_visible()
    page.get_by_test_id("issue").click()
    expect(page.get_by_test_id("invoice-title")).to_contain_text("INV-")
    expect(page.get_by_test_id("due-date")).not_to_contain_text("set when issued")
    number = page.get_by_test_id("invoice-title").locator("code").inner_text()
    shot("billing_invoice_issued")

    nav(page).get_by_role("link", name="Billing").click()
    expect(page.get_by_test_id("invoice-row")).to_have_count(1)
    expect(page.get_by_test_id("invoice-row")).to_contain_text(number)
    # The revenue of the month is drawn and tabled.
    page.wait_for_function(
        "() => typeof Chart !== 'undefined' && Chart.getChart(document.getElementById"
        "('revenue-chart'))"
    )
    expect(page.get_by_test_id("revenue-table")).to_contain_text("Own Client GmbH")
    shot("billing_list_finance")
    with page.expect_download() as download:
        page.get_by_test_id("revenue-csv").click()
    assert "Own Client GmbH" in Path(download.value.path()).read_text()
    page.context.clear_cookies()

    log_in(page, live_world.people["client_admin"])
    nav(page).get_by_role("link", name="Service levels").click()
    page.get_by_test_id("invoices-link").click()
    expect(page.get_by_test_id("draft-form")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("Revenue")
    shot("billing_list_client_admin")
    page.get_by_role("link", name=number).click()
    expect(page.get_by_test_id("total")).to_contain_text("€")
    expect(page.get_by_test_id("invoice-steps")).to_have_count(0)
    expect(page.get_by_test_id("sla-credits")).to_be_visible()
    shot("billing_invoice_client_admin")
    with page.expect_download() as download:
        page.get_by_test_id("invoice-pdf").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")

    page.get_by_test_id("line-link").first.click()
    expect(page.get_by_test_id("usage-day")).to_have_count(1)
    expect(page.get_by_test_id("usage-days")).to_contain_text("2026-09-10")
    shot("billing_line_days")
    page.get_by_test_id("usage-day").get_by_role("link").first.click()
    expect(page.get_by_test_id("usage-row")).to_have_count(3)
    shot("billing_line_day_items")
    page.get_by_test_id("usage-row").first.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/work/items/\d+/$"))
    expect(page.locator("body")).to_contain_text("Order")
    expect(page.locator("body")).not_to_contain_text("Other Client Inc")


def test_finance_prices_a_new_version_with_tiers(
    live_world,  # noqa: F811
    page: Page,  # noqa: F811
    shot,  # noqa: F811
):
    contract = _september(live_world)
    with acting_as(live_world.actor("admin")) as admin:
        draft = contracts.contract_version_draft(actor=admin, contract=contract)
    log_in(page, live_world.people["finance"])
    page.goto(f"/contracts/versions/{draft.pk}/")
    cards = page.get_by_test_id("rate-card")
    expect(cards).to_have_count(1)
    expect(cards.get_by_test_id("charge")).to_have_count(2)
    shot("billing_rate_cards")
    cards.get_by_test_id("add-charge").click()
    form = page.get_by_test_id("charge-form")
    form.get_by_label("Label").fill("Complaints")
    form.get_by_label("Charge model").select_option("per_transaction")
    form.get_by_label("Item type").fill("complaint")
    form.get_by_label("Pricing").select_option("volume")
    form.get_by_label("Tier 1 up to").fill("100")
    form.get_by_label("Tier 1 price").fill("4")
    form.get_by_label("Tier 2 up to").fill("80")
    form.get_by_label("Tier 2 price").fill("3")
    form.get_by_label("Tier 3 price").fill("2.5")
    form.get_by_role("button", name="Save the charge").click()
    # The overlap is named on its cell; everything typed is still there.
    expect(page.get_by_test_id("tier-errors")).to_contain_text("Tier 2 up to: 80 overlaps")
    expect(form.get_by_label("Tier 2 up to")).to_have_class(re.compile("is-invalid"))
    expect(form.get_by_label("Label")).to_have_value("Complaints")
    expect(form.get_by_label("Tier 3 price")).to_have_value("2.5")
    shot("billing_charge_error")
    form.get_by_label("Tier 2 up to").fill("500")
    form.get_by_role("button", name="Save the charge").click()
    expect(page).to_have_url(re.compile(rf"/contracts/versions/{draft.pk}/#rate-cards$"))
    expect(page.get_by_test_id("charge")).to_have_count(3)
    expect(page.get_by_test_id("charges")).to_contain_text("Complaints")
