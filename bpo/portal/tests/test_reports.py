"""The monthly service report: figures by hand, breaches with their causes, CSV, PDF, the job."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pypdfium2
import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.utils import timezone

from bpo.audit.models import AuditEntry
from bpo.contracts.models import SlaTarget
from bpo.portal import actions as portal
from bpo.portal.models import ServiceReport
from bpo.portal.queries import zone_of
from bpo.portal.reports import (
    CSV_COLUMNS,
    STATUS_ACHIEVED,
    STATUS_MISSED,
    month_first,
    report_csv_rows,
    report_pdf,
)
from bpo.tenancy.context import Forbidden, acting_as
from bpo.work import actions as work
from bpo.work.models import BreachExplanation, Channel, SlaClock, WorkItem
from bpo.work.tests.test_items_api import agreed_service, api_as

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def last_month() -> datetime:
    """Noon on the 10th of last month in Berlin (a day well inside it, whatever today is)."""
    today = timezone.localdate()
    first = month_first(month_first(today) - timedelta(days=1))
    return timezone.make_aware(
        datetime.combine(first.replace(day=10), datetime.min.time()).replace(hour=12),
        timezone.get_fixed_timezone(60),
    )


@pytest.fixture
def setting(world):
    service = agreed_service(world, world.own)
    with acting_as(world.actor("admin")) as admin:
        SlaTarget.objects.filter(client=world.own).update(service_level_percent=Decimal("75"))
        yield service, admin


def item_in(admin, service, when: datetime, n: int, **extra) -> WorkItem:
    item = work.work_item_create(
        actor=admin,
        service=service,
        title=f"Order {n} is late",
        contact_email=f"c{n}@shop.example",
        custom_fields={"order": f"A-{n}"},
        **extra,
    )
    WorkItem.objects.filter(pk=item.pk).update(created_at=when)
    return item


def decide(item: WorkItem, when: datetime, *, met: bool) -> SlaClock:
    clock = SlaClock.objects.get(item=item)
    if met:
        SlaClock.objects.filter(pk=clock.pk).update(stopped_at=when, met=True)
    else:
        SlaClock.objects.filter(pk=clock.pk).update(breached_at=when)
    clock.refresh_from_db()
    return clock


def test_a_month_by_hand(setting, world):
    service, admin = setting
    day = last_month()
    items = [
        item_in(admin, service, day, n, channel=Channel.EMAIL if n % 2 else Channel.API)
        for n in range(6)
    ]
    for n in range(3):
        decide(items[n], day + timedelta(hours=1), met=True)
    late = decide(items[3], day + timedelta(hours=2), met=False)
    # A spam item's breach is left out of the service level and out of the breaches.
    work.work_item_update(actor=admin, item=items[4], tags=["spam"])
    decide(items[4], day + timedelta(hours=2), met=False)
    with acting_as(world.actor("manager")) as manager:
        work.breach_explain(
            actor=manager, clock=late, cause="volume", note="Twice the forecast orders."
        )
    work.work_item_transition(actor=admin, item=items[0], state="resolved")
    WorkItem.objects.filter(pk=items[0].pk).update(resolved_at=day + timedelta(hours=3))

    report = portal.report_generate(actor=admin, service=service, month=day.date())
    figures = report.figures
    assert report.complete and figures["complete"]
    assert figures["month"] == f"{day:%Y-%m}"
    # 3 met, 1 missed: 75 % exactly reaches the 75 % promised.
    assert figures["overall"] == {"met": 3, "missed": 1, "percent": 75.0}
    [level] = figures["service_levels"]
    assert (level["metric"], level["priority"], level["target"]) == (
        "First response",
        "Normal",
        "1 h",
    )
    assert (level["promised"], level["status"]) == ("75.00", STATUS_ACHIEVED)
    assert figures["volumes"] == {
        "by_channel": [["API", 3, 1], ["E-mail", 3, 0]],
        "created": 6,
        "resolved": 1,
    }
    breaches = figures["breaches"]
    assert breaches["count"] == 1 and breaches["explained"] == 1
    assert breaches["by_cause"] == [["Volume above forecast", 1]]
    [listed] = breaches["listed"]
    assert listed["item_id"] == items[3].pk
    assert listed["cause"] == "Volume above forecast"
    assert listed["note"] == "Twice the forecast orders."
    # The trend: six months, the reported one last, with its figures; the others empty.
    assert len(figures["trend"]) == 6
    assert figures["trend"][-1]["month"] == figures["month"]
    assert figures["trend"][-1]["created"] == 6
    assert figures["trend"][-1]["sla_percent"] == 75.0
    assert all(row["created"] == 0 for row in figures["trend"][:-1])
    assert sum(d["created"] for d in figures["days"]) == 6

    # One more breach: 3 of 5 is 60 %, under the 75 % promised.
    decide(items[5], day + timedelta(hours=4), met=False)
    again = portal.report_generate(actor=admin, service=service, month=day.date())
    assert again.figures["service_levels"][0]["status"] == STATUS_MISSED
    assert again.figures["breaches"]["explained"] == 1
    assert ["Not explained", 1] in again.figures["breaches"]["by_cause"]
    # The first report kept its figures.
    report.refresh_from_db()
    assert report.figures["overall"]["missed"] == 1


def test_the_csv_is_one_value_a_row_and_safe_in_a_spreadsheet(setting):
    service, admin = setting
    day = last_month()
    item = item_in(admin, service, day, 1)
    WorkItem.objects.filter(pk=item.pk).update(title="=HYPERLINK(evil)")
    decide(item, day + timedelta(hours=2), met=False)
    report = portal.report_generate(actor=admin, service=service, month=day.date())
    rows = report_csv_rows(report.figures)
    assert all(len(row) == len(CSV_COLUMNS) for row in rows)
    title = next(r for r in rows if r[0] == "breach" and r[6] == "title")
    assert title[7] == "'=HYPERLINK(evil)"
    assert title[5] == item.pk
    missed = next(r for r in rows if r[0] == "service_level" and r[6] == "missed" and r[3])
    assert missed[2:4] == ["First response", "Normal"] and missed[7] == 1


def pdf_text(pdf: bytes) -> list[str]:
    """The text of each page of a PDF, as a reader would copy it (and each page as a PNG in
    test-artifacts/, to look at)."""
    document = pypdfium2.PdfDocument(pdf)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    texts = []
    for n, page in enumerate(document, start=1):
        page.render(scale=1.5).to_pil().save(ARTIFACTS / f"service_report_page{n}.png")
        texts.append(page.get_textpage().get_text_range())
    return texts


def test_the_pdf_says_what_the_figures_say(setting):
    service, admin = setting
    day = last_month()
    items = [item_in(admin, service, day, n) for n in range(40)]
    clocks = [  # enough breaches for a second page
        decide(item, day + timedelta(minutes=n), met=n % 3 == 0) for n, item in enumerate(items)
    ]
    clock = clocks[-2]
    work.breach_explain(actor=admin, clock=clock, cause="system", note="Shop down, 2 hours.")
    WorkItem.objects.filter(pk=items[1].pk).update(title="Übergröße: Kundin wartet — 返品")
    report = portal.report_generate(actor=admin, service=service, month=day.date())
    pages = pdf_text(report_pdf(report.figures))
    assert len(pages) >= 2
    text = " ".join(" ".join(pages).split())  # lines wrapped in cells read as one
    for words in (
        f"Service report {day:%Y-%m}",
        "Service levels against targets",
        "First response",
        "75%",  # promised
        "Trend against the previous months",
        "Breaches (26)",
        "System outage: Shop down, 2 hours.",
        "Not explained",
        "Übergröße: Kundin wartet",
        "How the figures are counted",
    ):
        assert words in text, words


def test_a_month_not_begun_cannot_be_reported(setting):
    service, admin = setting
    next_month = month_first(timezone.localdate()) + timedelta(days=40)
    with pytest.raises(ValidationError, match="has not begun"):
        portal.report_generate(actor=admin, service=service, month=next_month)


def test_this_month_is_reported_as_preliminary(setting):
    service, admin = setting
    today = timezone.now().astimezone(zone_of(service)).date()
    report = portal.report_generate(actor=admin, service=service, month=today)
    assert report.month == month_first(today) and not report.complete


def test_the_monthly_job_makes_each_report_once(setting, world):
    service, _ = setting
    assert portal.reports_monthly() == 1
    assert portal.reports_monthly() == 0
    report = ServiceReport.objects.get(service=service)
    assert report.generated_by is None and report.complete
    today = timezone.now().astimezone(zone_of(service)).date()
    assert report.month == month_first(month_first(today) - timedelta(days=1))
    assert AuditEntry.objects.filter(action="portal.report_generated").count() == 1


def test_only_missed_clocks_are_explained_and_only_by_managers(setting, world):
    service, admin = setting
    item = item_in(admin, service, last_month(), 1)
    clock = decide(item, last_month(), met=True)
    with pytest.raises(ValidationError, match="did not miss"):
        work.breach_explain(actor=admin, clock=clock, cause="volume")
    SlaClock.objects.filter(pk=clock.pk).update(met=False, breached_at=last_month())
    clock.refresh_from_db()
    with pytest.raises(ValidationError, match="not one of"):
        work.breach_explain(actor=admin, clock=clock, cause="weather")
    with acting_as(world.actor("agent")) as agent, pytest.raises(Forbidden):
        work.breach_explain(actor=agent, clock=clock, cause="volume")
    work.breach_explain(actor=admin, clock=clock, cause="system", note="Order system down.")
    work.breach_explain(actor=admin, clock=clock, cause="third_party", note="The carrier.")
    explanation = BreachExplanation.objects.get(clock=clock)
    assert (explanation.cause, explanation.note) == ("third_party", "The carrier.")
    entries = AuditEntry.objects.filter(action="sla_breach.explained").order_by("id")
    assert entries.count() == 2
    assert entries.last().before == {"cause": "system", "note": "Order system down."}
    kinds = list(item.events.values_list("kind", flat=True))
    assert kinds.count("breach_explained") == 2


def test_the_reports_page_generates_and_downloads(setting, world):
    service, admin = setting
    day = last_month()
    decide(item_in(admin, service, day, 1), day, met=False)
    browser = HttpClient()
    browser.force_login(world.people["client_viewer"])
    page = browser.get(f"/portal/services/{service.pk}/reports/")
    assert page.status_code == 200 and b"No report yet" in page.content
    bad = browser.post(f"/portal/services/{service.pk}/reports/", {"month": "last month"})
    assert bad.status_code == 400 and b"YYYY-MM" in bad.content
    made = browser.post(f"/portal/services/{service.pk}/reports/", {"month": f"{day:%Y-%m}"})
    assert made.status_code == 302
    report = ServiceReport.objects.get(service=service)
    assert report.generated_by == world.people["client_viewer"]
    page = browser.get(f"/portal/services/{service.pk}/reports/")
    assert f"/portal/reports/{report.pk}.pdf".encode() in page.content
    pdf = browser.get(f"/portal/reports/{report.pk}.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert f"-{day:%Y-%m}-report-{report.pk}.pdf" in pdf["Content-Disposition"]
    answer = browser.get(f"/portal/reports/{report.pk}.csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    assert rows[0] == CSV_COLUMNS
    assert ["breaches", f"{day:%Y-%m}", "", "", "", "", "count", "1"] in rows
    exports = AuditEntry.objects.filter(action="portal.exported", object_id=str(report.pk))
    assert sorted(e.after["format"] for e in exports) == ["csv", "pdf"]


def test_reports_by_api(setting, world):
    service, admin = setting
    day = last_month()
    decide(item_in(admin, service, day, 1), day, met=False)
    http = api_as(world, "client_viewer")
    made = http.post(
        "/api/v1/service-reports",
        data={"service_id": service.pk, "month": f"{day:%Y-%m}"},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    report = made.json()
    assert report["complete"] and report["figures"]["breaches"]["count"] == 1
    listed = http.get(f"/api/v1/service-reports?service_id={service.pk}").json()
    assert [r["id"] for r in listed["items"]] == [report["id"]]
    pdf = http.get(f"/api/v1/service-reports/{report['id']}/pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    rows = http.get(f"/api/v1/service-reports/{report['id']}/csv").content.decode()
    assert rows.startswith(",".join(CSV_COLUMNS))
    # A month before any contract, or one not begun: a clear error on the month.
    for month, message in (("1999-05", "No agreed contract version"), ("2999-01", "not begun")):
        refused = http.post(
            "/api/v1/service-reports",
            data={"service_id": service.pk, "month": month},
            content_type="application/json",
        )
        assert refused.status_code == 422 and message in refused.content.decode(), month
