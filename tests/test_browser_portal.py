"""The client's window through a real Chromium: charts of their own services, nothing of others."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from bpo.portal.models import Survey
from bpo.tenancy.context import acting_as
from bpo.work import actions as work
from bpo.work.models import Channel, SlaClock, WorkItem
from bpo.work.tests.test_items_api import agreed_service
from tests.test_browser import browser, live_world, log_in, nav, page, shot  # noqa: F401

pytestmark = pytest.mark.browser


def _history(world) -> tuple[int, int]:
    """A month of work of the own client's service, and a service of the other client."""
    service = agreed_service(world, world.own)
    other = agreed_service(world, world.other, key="other-support")
    now = timezone.now()
    with acting_as(world.actor("admin")) as admin:
        for n in range(24):
            item = work.work_item_create(
                actor=admin,
                service=service,
                title=f"Order question {n}",
                contact_email=f"c{n % 7}@shop.example",
                custom_fields={"order": f"A-{n}"},
                channel=[Channel.EMAIL, Channel.FORM, Channel.API][n % 3],
            )
            created = now - timedelta(days=n % 12, hours=n % 5)
            WorkItem.objects.filter(pk=item.pk).update(created_at=created)
            clock = SlaClock.objects.filter(item=item)
            if n % 4 == 0:
                clock.update(breached_at=created + timedelta(hours=2))
            else:
                clock.update(stopped_at=created + timedelta(minutes=30), met=True)
            if n % 3 != 2:
                work.work_item_transition(actor=admin, item=item, state="resolved")
                WorkItem.objects.filter(pk=item.pk).update(resolved_at=created + timedelta(hours=3))
                survey = Survey.objects.get(item=item)
                Survey.objects.filter(pk=survey.pk).update(
                    rating=5 - n % 3, recommend=10 - n % 5, answered_at=created + timedelta(hours=5)
                )
        work.work_item_create(
            actor=admin, service=other, title="Other's item", custom_fields={"order": "X"}
        )
    return service.pk, other.pk


def test_client_user_sees_their_service_dashboard_and_nothing_of_another(
    live_world,  # noqa: F811
    page: Page,  # noqa: F811
    shot,  # noqa: F811
):
    service_id, other_id = _history(live_world)
    log_in(page, live_world.people["client_viewer"])
    nav(page).get_by_role("link", name="Service levels").click()
    expect(page.get_by_test_id("service-card")).to_have_count(1)
    expect(page.locator("body")).not_to_contain_text("Other Client Inc")
    shot("portal_client_services")

    page.get_by_role("link", name="Support").first.click()
    expect(page).to_have_url(re.compile(rf"/portal/services/{service_id}/$"))
    expect(page.get_by_test_id("sla-table")).to_contain_text("First response")
    # The charts are drawn (Chart.js sized each canvas), and their values are in tables.
    page.wait_for_function(
        "() => typeof Chart !== 'undefined' && [...document.querySelectorAll('canvas[data-chart]')]"
        ".every(c => c.width > 0 && Chart.getChart(c))"
    )
    expect(page.locator("canvas[data-chart]")).to_have_count(4)
    page.get_by_text("Values as a table").first.click()
    expect(page.get_by_test_id("chart-table-sla")).to_be_visible()
    expect(page.get_by_test_id("definitions")).to_contain_text("First-contact resolution")
    shot("portal_service_dashboard")

    response = page.goto(f"/portal/services/{other_id}/")
    assert response is not None and response.status == 404
    expect(page.locator("body")).not_to_contain_text("Other Client Inc")


def test_contact_rates_a_resolved_request(
    live_world,  # noqa: F811
    page: Page,  # noqa: F811
    shot,  # noqa: F811
):
    service = agreed_service(live_world, live_world.own)
    with acting_as(live_world.actor("admin")) as admin:
        item = work.work_item_create(
            actor=admin,
            service=service,
            title="Broken zip",
            contact_email="jane@shop.example",
            custom_fields={"order": "A-1"},
        )
        work.work_item_transition(actor=admin, item=item, state="resolved")
        token = Survey.objects.get(item=item).token
    page.goto(f"/portal/survey/{token}/")
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    page.locator("label[for=rating-4]").click()
    page.get_by_label(re.compile("recommend us")).select_option("9")
    shot("portal_survey")
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_test_id("survey-thanks")).to_contain_text("4 out of 5")


def test_manager_explains_a_breach_and_the_client_downloads_the_report(
    live_world,  # noqa: F811
    page: Page,  # noqa: F811
    shot,  # noqa: F811
):
    service_id, _ = _history(live_world)
    with acting_as(live_world.actor("admin")):
        late = (
            SlaClock.objects.filter(item__service_id=service_id, breached_at__isnull=False)
            .select_related("item")
            .first()
        )
        assert late is not None
        item_id = late.item_id
    log_in(page, live_world.people["manager"])
    page.goto(f"/work/items/{item_id}/")
    form = page.get_by_test_id("explain-form")
    form.get_by_label("Cause of the breach").select_option("volume")
    form.get_by_label("Note for the client").fill("Black Friday: three times the forecast.")
    shot("work_item_explain_breach")
    form.get_by_role("button", name="Save the explanation").click()
    expect(page.get_by_test_id("breach-explanation").first).to_contain_text(
        "Volume above forecast: Black Friday: three times the forecast."
    )
    page.context.clear_cookies()

    log_in(page, live_world.people["client_viewer"])
    page.goto(f"/portal/services/{service_id}/")
    page.get_by_test_id("reports-link").click()
    expect(page.get_by_test_id("report-table")).to_contain_text("No report yet")
    page.get_by_role("button", name="Make the report now").click()
    expect(page.get_by_test_id("report-row")).to_have_count(1)
    expect(page.get_by_test_id("report-row")).to_contain_text("preliminary")
    shot("portal_reports")
    with page.expect_download() as download:
        page.get_by_test_id("report-pdf").click()
    assert download.value.suggested_filename.endswith(".pdf")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    with page.expect_download() as download:
        page.get_by_test_id("report-csv").click()
    text = Path(download.value.path()).read_text()
    assert "Black Friday: three times the forecast." in text
