"""Finance through a real Chromium: an agent imports October's bank statement and ledger of the
own client's operating account, runs the engine and reads its result, matches the two bank fee
lines the ledger books as one entry by hand; a second agent approves the match, and the client's
viewer reads the account from their side."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from bpo.accounts.roles import Role
from bpo.finance import actions
from bpo.finance.tests.conftest import SAMPLES, finance_books, upload
from bpo.tenancy.context import acting_as
from conftest import make_person
from tests.test_browser import assert_styled, browser, live_world, log_in, nav, page, shot  # noqa: F401

pytestmark = pytest.mark.browser


def test_an_agent_reconciles_an_account_and_a_second_agent_approves_the_manual_match(
    live_world,  # noqa: F811
    page: Page,  # noqa: F811
    shot,  # noqa: F811
):
    books = finance_books(live_world, live_world.own)
    checker = make_person(Role.AGENT, live_world.own, email="agent2@own.test")
    page.set_extra_http_headers({"Accept-Language": "de-DE,de;q=0.9"})

    log_in(page, live_world.people["agent"])
    nav(page).get_by_role("link", name="Finance").click()
    expect(page).to_have_url(re.compile(r"/finance/$"))
    expect(page.get_by_test_id("account-row")).to_have_count(1)
    shot("finance_overview_empty")
    page.get_by_role("link", name="Operating account").click()
    expect(page.get_by_test_id("account-name")).to_have_text("Operating account")

    # A file that is not a statement: refused next to the field, the page keeps its place.
    form = page.get_by_test_id("statement-form")
    form.get_by_label("Statement file").set_input_files(str(SAMPLES / "statement_bad61.mt940"))
    form.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("statement-error")).to_contain_text("statement_bad61.mt940")
    assert_styled(page)
    shot("finance_statement_error")

    form = page.get_by_test_id("statement-form")
    form.get_by_label("Statement file").set_input_files(str(SAMPLES / "bank_sparkasse.csv"))
    form.get_by_role("button", name="Import").click()
    expect(page.locator(".alert-success")).to_contain_text("31 bank lines imported")
    expect(page.get_by_test_id("reconcile-waiting")).to_be_visible()
    ledger = page.get_by_test_id("ledger-form")
    ledger.get_by_label("Ledger file").set_input_files(str(SAMPLES / "ledger.csv"))
    ledger.get_by_role("button", name="Import").click()
    expect(page.locator(".alert-success")).to_contain_text("30 ledger entries imported")

    page.get_by_test_id("reconcile").click()
    expect(page.locator(".alert-success")).to_contain_text("Reconciled 31 open lines")
    expect(page.get_by_test_id("reconcile-waiting")).to_have_count(0)
    expect(page.get_by_test_id("balance")).to_contain_text("79.299,42\xa0€")
    open_lines = page.get_by_test_id("line-row")
    expect(open_lines.first).to_be_visible()
    remaining = open_lines.count()
    assert 0 < remaining < 31
    assert_styled(page)
    shot("finance_account_reconciled")
    page.get_by_test_id("tab-accepted").click()
    expect(page.get_by_test_id("match").first).to_contain_text("by the engine")
    shot("finance_account_accepted")
    page.get_by_test_id("tab-lines").click()

    # The bank fees of October (-42,80 €) and of September (-12,50 €) are booked as one ledger
    # entry of -55,30 €: the engine has no candidate; the agent matches them by hand.
    fees = page.get_by_test_id("line-row").filter(has_text="Entgelte Zahlungsverkehr")
    fees.get_by_test_id("open-line").click()
    expect(page.get_by_test_id("line-title")).to_contain_text("-42,80\xa0€")
    expect(page.get_by_test_id("line-status")).to_have_text("Open")
    # The line is a work item in the service's queue; its page shows the line and a way back.
    page.get_by_test_id("work-item-link").click()
    panel = page.get_by_test_id("finance-line-panel")
    expect(panel).to_contain_text("-42,80\xa0€")
    expect(panel.get_by_test_id("panel-candidates")).to_contain_text("BK-2026-10")
    shot("finance_work_item_open_line")
    panel.get_by_test_id("panel-line-link").click()
    search = page.get_by_test_id("entry-search")
    search.get_by_label("Text").fill("Bankgebühren")
    expect(page.get_by_test_id("entry-choice")).to_have_count(1)
    choices = page.get_by_test_id("entry-choice")
    choices.first.get_by_role("checkbox").check()
    expect(page.get_by_test_id("match-sum")).to_contain_text("apart")
    page.get_by_test_id("other-lines").locator("summary").click()
    page.get_by_test_id("line-choice").filter(has_text="Kontofuehrung").get_by_role(
        "checkbox"
    ).check()
    expect(page.get_by_test_id("match-sum")).to_contain_text("exactly")
    page.get_by_label("Note for the approver").fill("Fees of September and October, booked once.")
    assert_styled(page)
    shot("finance_line_manual_match")
    page.get_by_test_id("match-submit").click()
    expect(page.locator(".alert-success")).to_contain_text("awaits another agent's approval")
    expect(page.get_by_test_id("line-status")).to_have_text("Awaiting approval")
    expect(page.get_by_test_id("awaiting-other")).to_be_visible()
    expect(page.get_by_test_id("approve")).to_have_count(0)
    shot("finance_line_awaiting_approval")
    page.context.clear_cookies()

    log_in(page, checker)
    nav(page).get_by_role("link", name="Finance").click()
    expect(page.get_by_test_id("account-row")).to_contain_text("1 to approve")
    page.get_by_test_id("account-row").get_by_role("link", name="1 to approve").click()
    match = page.get_by_test_id("match")
    expect(match).to_have_count(1)
    expect(match).to_contain_text("-55,30\xa0€")
    expect(match).to_contain_text("Fees of September and October")
    shot("finance_pending_for_the_checker")
    match.get_by_test_id("approve").click()
    expect(page.locator(".alert-success")).to_contain_text("is approved")
    page.get_by_test_id("tab-lines").click()
    expect(page.get_by_test_id("line-row")).to_have_count(remaining - 2)
    expect(page.get_by_test_id("line-row").filter(has_text="Kontofuehrung")).to_have_count(0)
    page.get_by_test_id("tab-accepted").click()
    manual = page.get_by_test_id("match").filter(has_text="Fees of September")
    expect(manual).to_contain_text("approved by")
    expect(manual).to_contain_text("-55,30\xa0€")
    shot("finance_account_after_approval")
    page.context.clear_cookies()

    log_in(page, live_world.people["client_viewer"])
    nav(page).get_by_role("link", name="Finance").click()
    expect(page.get_by_test_id("balance")).to_contain_text("79.299,42\xa0€")
    page.wait_for_function(
        "() => typeof Chart !== 'undefined' && Chart.getChart(document.querySelector"
        "('canvas[data-chart]'))"
    )
    expect(page.locator("body")).not_to_contain_text("Other Client Inc")
    assert_styled(page)
    shot("finance_overview_client_viewer")
    page.get_by_role("link", name="Operating account").click()
    expect(page.get_by_test_id("statement-form")).to_have_count(0)
    expect(page.get_by_test_id("reconcile")).to_have_count(0)
    shot("finance_account_client_viewer")
    assert books.account.pk


def test_a_manager_sets_up_a_mapping_and_an_obligation_and_reads_a_daily_report(
    live_world,  # noqa: F811
    page: Page,  # noqa: F811
    shot,  # noqa: F811
):
    books = finance_books(live_world, live_world.own)
    with acting_as(live_world.actor("agent")) as agent:
        actions.statement_import(
            actor=agent,
            account=books.account,
            upload=upload("bank_sparkasse.csv"),
            reconcile_after=False,
        )
        actions.ledger_import(
            actor=agent, account=books.account, upload=upload("ledger.csv"), reconcile_after=False
        )
        actions.reconciliation_run(actor=agent, account=books.account)
    log_in(page, live_world.people["manager"])
    nav(page).get_by_role("link", name="Finance").click()
    page.get_by_test_id("setup-menu").click()
    page.get_by_role("link", name="Column mappings").click()
    expect(page.get_by_test_id("mapping-row")).to_have_count(2)
    page.get_by_test_id("new-bank-mapping").click()
    form = page.get_by_test_id("mapping-form")
    form.get_by_label("Name", exact=True).fill("Sparkasse CSV-CAMT V2")
    form.get_by_label("Sample file").set_input_files(str(SAMPLES / "bank_sparkasse.csv"))
    page.get_by_test_id("read-sample").click()
    expect(page.get_by_test_id("headers-read")).to_contain_text("18 columns read")
    expect(page.get_by_test_id("column-booking_date")).to_have_value("Buchungstag")
    expect(page.get_by_test_id("sample-rows")).to_contain_text("RE-2026-10474")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Sparkasse CSV-CAMT V2")
    assert_styled(page)
    shot("finance_mapping_from_sample")
    page.get_by_test_id("save-mapping").click()
    expect(page.locator(".alert-success")).to_contain_text("Sparkasse CSV-CAMT V2")
    expect(page.get_by_test_id("mapping-row")).to_have_count(3)

    nav(page).get_by_role("link", name="Finance").click()
    page.get_by_role("link", name="Close & filing calendar").click()
    page.get_by_test_id("new-obligation").click()
    form = page.get_by_test_id("obligation-form")
    form.get_by_label("Service").select_option(label="Own Client GmbH · Close and filings")
    form.get_by_label("Name").fill("VAT return (UStVA)")
    form.get_by_label("Kind").select_option("tax_return")
    form.get_by_label("Recurrence (RFC 5545 rule)").fill("FREQ=MONTHLY;BYMONTHDAY=10")
    form.get_by_label("Authority").fill("Finanzamt Köln-Mitte")
    page.get_by_test_id("preview").click()
    expect(page.get_by_test_id("planned-date").first).to_be_visible()
    expect(page.get_by_test_id("recurrence-words")).to_contain_text("10")
    shot("finance_obligation_preview")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("obligation-row")).to_contain_text("VAT return (UStVA)")
    # The periodic job makes the December return's work item; the manager files it.
    actions.obligations_schedule(now=datetime(2026, 12, 6, 6, 0, tzinfo=UTC))
    page.reload()
    expect(page.get_by_test_id("due-row")).to_have_count(1)
    shot("finance_calendar")
    page.get_by_test_id("due-row").get_by_role("link").first.click()
    expect(page.get_by_test_id("occurrence-title")).to_contain_text("VAT return (UStVA)")
    page.get_by_test_id("work-item-link").click()
    panel = page.get_by_test_id("finance-occurrence-panel")
    expect(panel).to_contain_text("Finanzamt Köln-Mitte")
    form = panel.get_by_test_id("evidence-form")
    form.get_by_role("button", name="Attach").click()
    expect(page.get_by_test_id("evidence-form").locator(".invalid-feedback").first).to_be_visible()
    shot("finance_evidence_error")
    form = page.get_by_test_id("evidence-form")
    form.get_by_label("Confirmation reference").fill("ELSTER-TT-2026-12-884211")
    form.get_by_label("Confirmation document").set_input_files(
        files=[{"name": "elster.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 ok"}]
    )
    form.get_by_role("button", name="Attach").click()
    panel = page.get_by_test_id("finance-occurrence-panel")
    expect(panel.get_by_test_id("panel-evidence")).to_contain_text("ELSTER-TT-2026-12-884211")
    page.get_by_test_id("item-actions").get_by_role("button", name=re.compile("Resolve")).click()
    expect(page.locator("[data-testid=item-title] ~ div [data-testid=state]")).to_have_text(
        "Resolved"
    )
    shot("finance_work_item_filing_resolved")

    nav(page).get_by_role("link", name="Finance").click()
    page.get_by_role("link", name="Daily reports").click()
    form = page.get_by_test_id("report-make-form")
    form.get_by_label("Business day").fill("2026-10-30")
    form.get_by_role("button", name="Make the report").click()
    expect(page.get_by_test_id("report-title")).to_contain_text("2026-10-30")
    expect(page.get_by_test_id("cash")).to_contain_text("Operating account")
    assert_styled(page)
    shot("finance_daily_report")
    page.goto(f"/finance/services/{books.reconciliation.pk}/rules/")
    expect(page.get_by_test_id("policy-form")).to_be_visible()
    shot("finance_rules")
