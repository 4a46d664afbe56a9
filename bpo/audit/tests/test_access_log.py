"""The access log: a client's admin sees what the provider's people viewed or changed of their
company's data, and nothing else: not another client's entries, not their own people's."""

import csv
import io
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bpo.accounts.tests.factories import MembershipFactory
from bpo.audit.log import record
from bpo.audit.models import AuditEntry
from bpo.audit.queries import AccessKind, access_kind, action_label
from bpo.tenancy.actions import client_update

PAGE = "/audit/access/"
EXPORT = "/audit/access/export.csv"
API = "/api/v1/access-log"


@pytest.fixture
def trail(world, as_actor):
    """Entries of both clients: the provider's reads and writes, and what should stay out."""
    own, other = world.own.pk, world.other.pk
    people, other_people = world.people, world.other_people
    t = SimpleNamespace()
    t.download = record(
        "attachment.downloaded",
        object_type="work.attachment",
        object_id="7",
        object_repr="delivery-note.pdf",
        client_id=own,
        actor=people["agent"],
        after={"item_id": 3, "filename": "delivery-note.pdf"},
    )
    t.raw_mail = record(
        "inbound_email.raw_viewed",
        object_type="intake.inboundemail",
        object_id="9",
        object_repr="Where is my order?",
        client_id=own,
        actor=people["manager"],
        after={"size": 2048},
    )
    with as_actor(world.actor("admin")) as admin:
        client_update(actor=admin, client=world.own, legal_name="Own Holding VALUESECRET GmbH")
        client_update(actor=admin, client=world.other, legal_name="OTHERSECRET Holding")
    t.update = AuditEntry.objects.get(action="client.updated", client_id=own)
    # Not the provider's access to this client's data:
    t.other_client = record(
        "attachment.downloaded",
        object_repr="OTHERSECRET plan.pdf",
        client_id=other,
        actor=other_people["agent"],
    )
    t.own_people = [
        record("work_item.created", object_repr="CLIENTSIDE request", client_id=own, actor=person)
        for person in (people["client_admin"], people["client_viewer"])
    ]
    t.denied = record(
        "permission.denied", object_id="GET /DENIEDPATH", client_id=own, actor=people["qa"]
    )
    t.system = record("sla.breached", object_repr="SYSTEMSIDE clock", client_id=own)
    # Mail taken in by a job that runs as a provider person is the sender's doing, not theirs.
    t.origin = record(
        "work_item.created",
        object_repr="ORIGINSIDE request",
        client_id=own,
        actor=people["manager"],
        actor_email="email: anna@shop.example",
    )
    return t


def page_text(http, url=PAGE, **params):
    response = http.get(url, params)
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


def api_items(http, client, **params):
    response = http.get(API, {"client": client.pk, **params})
    assert response.status_code == 200, response.content[:300]
    return response.json()["items"]


def test_client_admin_sees_the_providers_views_and_writes_of_their_company(world, trail):
    http = world.login("client_admin")
    text = page_text(http)
    assert text.count('data-testid="access-row"') == 3
    assert "delivery-note.pdf" in text and "Where is my order?" in text
    assert "Attachment: downloaded" in text and "Client: updated" in text
    assert "Agent of own" in text and "manager@own.test" in text
    assert "legal_name" in text  # what changed is named...
    assert "VALUESECRET" not in text  # ...but its values are not shown
    for absent in ("OTHERSECRET", "CLIENTSIDE", "DENIEDPATH", "SYSTEMSIDE", "ORIGINSIDE"):
        assert absent not in text
    assert trail.update.hash not in text and "127.0.0.1" not in text

    items = api_items(http, world.own)
    assert [i["id"] for i in items] == [trail.download.pk, trail.raw_mail.pk, trail.update.pk]
    assert [i["kind"] for i in items] == ["viewed", "viewed", "changed"]
    update = items[2]
    assert (
        update["person_email"] == "admin@own.test"
        and update["person_name"] == "Provider admin of own"
    )
    assert update["changed_fields"] == ["legal_name"]
    assert "VALUESECRET" not in json.dumps(items)
    assert set(update) == {
        "id", "at", "kind", "person_id", "person_name", "person_email", "action",
        "object_type", "object_id", "object", "changed_fields",
    }  # fmt: skip


def test_filters_narrow_the_list(world, trail):
    http = world.login("client_admin")
    viewed = api_items(http, world.own, kind="viewed")
    assert [i["id"] for i in viewed] == [trail.download.pk, trail.raw_mail.pk]
    changed = api_items(http, world.own, kind="changed")
    assert [i["id"] for i in changed] == [trail.update.pk]
    by_manager = api_items(http, world.own, person_id=world.people["manager"].pk)
    assert [i["id"] for i in by_manager] == [trail.raw_mail.pk]
    later = (trail.update.at + timedelta(seconds=1)).isoformat()
    assert api_items(http, world.own, since=later) == []
    assert len(api_items(http, world.own, until=later)) == 3

    assert page_text(http, kind="changed").count('data-testid="access-row"') == 1
    text = page_text(http, person=world.people["agent"].pk)
    assert text.count('data-testid="access-row"') == 1 and "delivery-note.pdf" in text


def test_days_and_times_are_the_viewers(world, trail):
    """Dates filter whole days of the viewer's zone; times show in it."""
    viewer = world.people["client_admin"]
    viewer.time_zone = "Pacific/Kiritimati"  # UTC+14: often another date than UTC's
    viewer.save()
    http = world.login("client_admin")
    local = timezone.localtime(trail.update.at, timezone=timezone.get_fixed_timezone(14 * 60))
    day = local.date()
    text = page_text(http, since=day.isoformat(), until=day.isoformat())
    assert text.count('data-testid="access-row"') == 3
    assert local.strftime("%Y-%m-%d %H:%M:%S") in text and "Pacific/Kiritimati" in text
    before = (day - timedelta(days=1)).isoformat()
    assert page_text(http, until=before).count('data-testid="access-row"') == 0
    text = page_text(http, since=day.isoformat(), until=before)
    assert "The period ends before it starts." in text


def test_another_clients_log_is_refused_and_leaks_nothing(world, trail):
    http = world.login("client_admin")
    for url in (PAGE, EXPORT, API):
        for client_id in (world.other.pk, 987654321):
            response = http.get(url, {"client": client_id})
            assert response.status_code == 403, (url, client_id)
            body = response.content.decode()
            assert "OTHERSECRET" not in body and "Other Client" not in body
    # Every other filter stays inside the client: the other client's agent has nothing here.
    assert api_items(http, world.own, person_id=world.other_people["agent"].pk) == []


@pytest.mark.parametrize("role", ["client_viewer", "agent", "manager"])
def test_viewers_agents_and_managers_may_not_read_it(world, trail, role):
    http = world.login(role)
    for url in (PAGE, EXPORT):
        assert http.get(url, {"client": world.own.pk}).status_code == 403
        assert http.get(url).status_code == 403
    response = http.get(API, {"client": world.own.pk})
    assert response.status_code == 403
    assert "see who at the provider" in response.json()["error"]["message"]


def test_reading_the_log_is_itself_recorded_and_shown_to_the_client(world, trail):
    page_text(world.login("client_admin"))
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.client_id) == ("audit.access_log_viewed", world.own.pk)
    assert entry.actor_id == world.people["client_admin"].pk

    # A provider admin reading the same log is the provider looking: the client sees it.
    page_text(world.login("admin"), client=world.own.pk)
    items = api_items(world.login("client_admin"), world.own, kind="viewed")
    assert items[-1]["action"] == "audit.access_log_viewed"
    assert items[-1]["person_email"] == "admin@own.test"


def test_csv_export_of_the_filtered_list(world, trail):
    record(
        "work_item.updated",
        object_repr="=HYPERLINK(1)",
        client_id=world.own.pk,
        actor=world.people["qa"],
        before={"priority": "normal", "title": "x"},
        after={"priority": "high", "title": "x"},
    )
    response = world.login("client_admin").get(EXPORT, {"kind": "changed"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["action"] for r in rows] == ["work_item.updated", "client.updated"]
    assert rows[0]["object"] == "'=HYPERLINK(1)"  # no formula for a spreadsheet to run
    assert rows[0]["changed_fields"] == "priority"
    assert rows[0]["person_email"] == "qa@own.test" and rows[0]["kind"] == "changed"
    assert rows[1]["changed_fields"] == "legal_name"
    for absent in ("OTHERSECRET", "VALUESECRET", "CLIENTSIDE", trail.update.hash):
        assert absent not in body
    exported = AuditEntry.objects.filter(action="audit.access_log_exported").get()
    assert exported.client_id == world.own.pk


def test_a_page_costs_the_same_queries_whatever_its_size(world, trail):
    """Names come with the entries (one query), never one query per row."""
    http = world.login("client_admin")
    with CaptureQueriesContext(connection) as few:
        page_text(http)
    with CaptureQueriesContext(connection) as few_api:
        api_items(http, world.own, limit=200)
    for n in range(60):
        record(
            "attachment.downloaded",
            object_repr=f"file-{n}.pdf",
            client_id=world.own.pk,
            actor=world.people["agent" if n % 2 else "manager"],
        )
    with CaptureQueriesContext(connection) as many:
        text = page_text(http)
    with CaptureQueriesContext(connection) as many_api:
        items = api_items(http, world.own, limit=200)
    assert text.count('data-testid="access-row"') == 50
    assert len(items) > 60
    assert len(many) == len(few)
    assert len(many_api) == len(few_api)


def test_older_entries_page_by_id(world, trail):
    for n in range(55):
        record("attachment.downloaded", object_repr=f"file-{n}.pdf", client_id=world.own.pk,
               actor=world.people["agent"])  # fmt: skip
    http = world.login("client_admin")
    first = http.get(PAGE)
    older = first.context["page"].older_before
    assert older is not None and "file-54.pdf" in first.content.decode()
    second = page_text(http, client=world.own.pk, before=older)
    assert second.count('data-testid="access-row"') == 8  # 58 in all
    assert "file-54.pdf" not in second and "delivery-note.pdf" in second
    assert 'data-testid="access-older"' not in second

    api = world.login("client_admin").get(API, {"client": world.own.pk, "limit": 50}).json()
    rest = api_items(http, world.own, after=api["next_cursor"])
    assert len(api["items"]) + len(rest) == 58


def test_a_client_admin_of_two_clients_picks_the_client(world, trail):
    MembershipFactory(user=world.people["client_admin"], role="client_admin", client=world.other)
    http = world.login("client_admin")
    text = page_text(http)  # the first by name: Other Client Inc
    assert "OTHERSECRET plan.pdf" in text and "delivery-note.pdf" not in text
    assert 'name="client"' in text and "Own Client GmbH" in text
    text = page_text(http, client=world.own.pk)
    assert "delivery-note.pdf" in text and "OTHERSECRET plan.pdf" not in text


def test_the_menu_offers_it_to_client_admins(world):
    def menu(role):
        return [item["label"] for item in world.login(role).get("/").context["nav_items"]]

    assert "Access log" in menu("client_admin")
    assert "Access log" not in menu("client_viewer")
    assert "Access log" not in menu("agent")
    assert "Audit log" in menu("admin") and "Access log" not in menu("admin")


def test_reads_and_writes_are_told_apart_by_the_recorded_actions():
    for action in (
        "personal_data.viewed",
        "attachment.downloaded",
        "inbound_email.raw_viewed",
        "import.previewed",
        "audit.exported",
        "audit.access_log_viewed",
        "audit.access_log_exported",
    ):
        assert access_kind(action) is AccessKind.VIEWED, action
    for action in ("work_item.state_changed", "client.updated", "import.uploaded"):
        assert access_kind(action) is AccessKind.CHANGED, action
    assert action_label("work_item.state_changed") == "Work item: state changed"
