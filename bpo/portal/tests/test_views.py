"""The client's window in the browser's terms: pages, exports, requests and surveys."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from bpo.portal.metrics import compute_days
from bpo.portal.models import Survey
from bpo.portal.queries import overview, service_dashboard
from bpo.portal.rollups import service_zones
from bpo.tenancy.context import acting_as, actor_for
from bpo.work import actions as work
from bpo.work.models import Channel, SlaClock, WorkItem
from bpo.work.tests.test_items_api import agreed_service


@pytest.fixture
def service(world):
    return agreed_service(world, world.own)


def browser(world, role, people="people"):
    http = HttpClient()
    http.force_login(getattr(world, people)[role])
    return http


def resolved_item(world, service, **extra):
    with acting_as(world.actor("admin")) as admin:
        item = work.work_item_create(
            actor=admin,
            service=service,
            title="Where is my order?",
            contact_email="jane@shop.example",
            custom_fields={"order": "A-1"},
            **extra,
        )
        work.work_item_transition(actor=admin, item=item, state="resolved")
    return item


def test_a_client_user_sees_their_services_and_nothing_of_another_client(world, service):
    resolved_item(world, service)
    other = agreed_service(world, world.other, key="other-support")
    viewer = browser(world, "client_viewer")
    home = viewer.get("/portal/")
    assert home.status_code == 200 and b"Support" in home.content
    page = viewer.get(f"/portal/clients/{world.own.pk}/")
    assert page.status_code == 200 and b"Support" in page.content
    board = viewer.get(f"/portal/services/{service.pk}/")
    assert board.status_code == 200
    data = json.loads(
        board.content.split(b'id="dashboard-data" type="application/json">')[1].split(b"</script>")[
            0
        ]
    )
    assert sum(sum(v) for v in data["created"].values()) == 1
    assert b"How these figures are counted" in board.content
    assert viewer.get(f"/portal/services/{other.pk}/").status_code == 404
    assert viewer.get(f"/portal/clients/{world.other.pk}/").status_code == 404
    assert viewer.get(f"/portal/services/{other.pk}/days.csv").status_code == 404


def test_agents_do_not_read_dashboards(world, service):
    assert browser(world, "agent").get(f"/portal/services/{service.pk}/").status_code == 403


def test_dashboard_numbers_are_those_of_the_items(world, service):
    """The month's figures on the page equal the same figures computed from the raw items."""
    for n in range(5):
        item = resolved_item(world, service, channel=Channel.EMAIL if n % 2 else Channel.API)
        if n == 3:
            with acting_as(world.actor("admin")) as admin:
                work.work_item_message_in(actor=admin, item=item, body="Not fixed")
    with acting_as(world.actor("client_viewer")) as viewer:
        board = service_dashboard(actor=viewer, service_id=service.pk)
        month = board.periods[-1]
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(service_zones(service.client_id)[service.pk])
        raw = compute_days(service.client_id, service.pk, zone, [(month.first, month.last)])
        expected = sum((c for c in raw.days.values()), start=type(board.totals["month"].counts)())
        assert board.totals["month"].counts == +expected
        assert board.totals["month"].counts["created"] == 5
        assert board.totals["month"].counts["resolved"] == 4  # one reopened
        assert WorkItem.objects.filter(service=service, reopened_count=1).count() == 1


def test_daily_csv(world, service):
    resolved_item(world, service)
    response = browser(world, "client_admin").get(f"/portal/services/{service.pk}/days.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 30
    assert rows[-1]["created"] == "1" and rows[-1]["resolved"] == "1"
    bad = browser(world, "client_admin").get(
        f"/portal/services/{service.pk}/days.csv?from=2026-13-01"
    )
    assert bad.status_code == 400 and b"YYYY-MM-DD" in bad.content


def test_a_client_user_submits_a_request(world, service):
    admin = browser(world, "client_admin")
    form = admin.get(f"/portal/services/{service.pk}/request/")
    assert form.status_code == 200 and b"cf_order" in form.content
    missing = admin.post(f"/portal/services/{service.pk}/request/", {"title": "Refund"})
    assert missing.status_code == 400
    sent = admin.post(
        f"/portal/services/{service.pk}/request/",
        {"title": "Refund", "description": "Twice charged", "priority": "high", "cf_order": "A-9"},
    )
    assert sent.status_code == 302
    with acting_as(world.actor("admin")):
        item = WorkItem.objects.get(title="Refund")
        assert item.channel == Channel.WEB and item.custom_fields["order"] == "A-9"
        assert item.contact.email == world.people["client_admin"].email


def test_the_contact_answers_the_survey_once(world, service):
    item = resolved_item(world, service)
    with acting_as(world.actor("admin")):
        survey = Survey.objects.get(item=item)
    public = HttpClient()
    page = public.get(f"/portal/survey/{survey.token}/")
    assert page.status_code == 200 and b"How did we do?" in page.content
    assert page["Cache-Control"] == "private, no-store"
    bad = public.post(f"/portal/survey/{survey.token}/", {"rating": "9"})
    assert bad.status_code == 400
    done = public.post(
        f"/portal/survey/{survey.token}/", {"rating": "5", "recommend": "10", "comment": "Great"}
    )
    assert done.status_code == 200 and b"Thank you" in done.content
    with acting_as(world.actor("admin")):
        survey.refresh_from_db()
        assert (survey.rating, survey.recommend, survey.comment) == (5, 10, "Great")
    again = public.post(f"/portal/survey/{survey.token}/", {"rating": "1"})
    assert b"Thank you" in again.content
    assert public.get("/portal/survey/not-a-token/").status_code == 404
    # Reopened and resolved again: still one survey, answered as before.
    with acting_as(world.actor("admin")) as admin:
        survey.refresh_from_db()
        assert survey.rating == 5
        work.work_item_message_in(actor=admin, item=item, body="again")
        work.work_item_transition(actor=admin, item=item, state="resolved")
        assert Survey.objects.filter(item=item).count() == 1


def test_the_provider_overview_ranks_clients_by_risk(world, service):
    other = agreed_service(world, world.other, key="other-support")
    with acting_as(world.actor("admin")) as admin:
        late = work.work_item_create(
            actor=admin, service=other, title="Late", custom_fields={"order": "B-1"}
        )
    from bpo.work.models import SlaClock

    with acting_as(world.actor("admin")):
        SlaClock.objects.filter(item=late).update(
            breached_at=timezone.now() - timedelta(minutes=5), warned_at=timezone.now()
        )
    page = browser(world, "admin").get("/portal/")
    assert page.status_code == 200
    text = page.content.decode()
    assert text.index("Other Client Inc") < text.index("Own Client GmbH")
    manager = browser(world, "manager").get("/portal/")
    assert "Other Client Inc" not in manager.content.decode()  # not assigned to them
    assert actor_for(world.people["manager"]).client_ids == {world.own.pk}


def test_the_overview_month_is_each_service_calendars_month(world, service):
    # 22:00 UTC on 30 November is 23:00 in Berlin, the service's zone: November there.
    decided = datetime(2026, 11, 30, 22, tzinfo=UTC)
    with acting_as(world.actor("admin")) as admin:
        item = work.work_item_create(
            actor=admin, service=service, title="Late", custom_fields={"order": "C-1"}
        )
        SlaClock.objects.filter(item=item).update(stopped_at=decided, met=True)
        # 22:30 UTC is still 30 November in Berlin: the clock is this month's.
        [own] = [
            r
            for r in overview(actor=admin, now=decided + timedelta(minutes=30))
            if r.client == world.own
        ]
        assert own.month.decided == 1
        # 23:30 UTC is already 1 December in Berlin (still November in UTC): a new month.
        [own] = [
            r
            for r in overview(actor=admin, now=decided + timedelta(minutes=90))
            if r.client == world.own
        ]
        assert own.month.decided == 0


def test_breached_items_are_counted_past_the_ones_listed(world, service):
    with acting_as(world.actor("admin")) as admin:
        for n in range(27):
            item = work.work_item_create(
                actor=admin, service=service, title=f"Late {n}", custom_fields={"order": "D"}
            )
            SlaClock.objects.filter(item=item).update(breached_at=timezone.now())
    client_page = browser(world, "client_viewer").get(f"/portal/clients/{world.own.pk}/")
    assert 'data-testid="at-risk-items">27<' in client_page.content.decode()
    page = browser(world, "client_viewer").get(f"/portal/services/{service.pk}/")
    assert "The 25 most urgent clocks" in page.content.decode()
