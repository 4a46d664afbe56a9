"""The agent workspace in the web UI: My work, Get next, an item's page, its details, and the
canned responses of a service; what client users see of an item."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bpo.accounts.models import User
from bpo.audit.models import AuditEntry
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work import actions
from bpo.work.models import CannedResponse, Event, WorkItem
from bpo.work.tests.test_items_api import agreed_service
from bpo.work.tests.test_routing import certify
from bpo.workforce.models import AgentProfile


@pytest.fixture
def service(world):
    return agreed_service(world, world.own)


@pytest.fixture
def certified(world, service):
    certify(world, world.people["agent"], service)
    return world.people["agent"]


def new_item(world, service, role="client_admin", **extra) -> WorkItem:
    """An item taken in as the client would submit it."""
    fields = {
        "title": "Where is my order?",
        "contact_email": "jane@shop.example",
        "contact_name": "Jane Doe",
        "custom_fields": {"order": "A-1"},
        **extra,
    }
    with acting_as(world.actor(role)) as actor:
        return actions.work_item_create(actor=actor, service=service, **fields)


def as_agent(world, fn, *args, role="agent", **kwargs):
    with acting_as(world.actor(role)) as actor:
        return fn(*args, actor=actor, **kwargs)


def page(response) -> str:
    return response.content.decode()


def textarea(html: str, name: str) -> str:
    match = re.search(
        rf'<textarea[^>]*name="{re.escape(name)}"[^>]*>\n?(.*?)</textarea>', html, re.S
    )
    assert match, f"no textarea {name}"
    return match[1]


# --- My work and Get next ------------------------------------------------------------------------


def test_get_next_takes_the_best_item_and_my_work_lists_it(world, service, certified):
    new_item(world, service, title="Low one", priority="low")
    urgent = new_item(world, service, title="Charged twice", priority="urgent")
    http = world.login("agent")
    empty = http.get("/work/")
    assert empty.status_code == 200
    assert "Nothing open is assigned to you" in page(empty)
    assert "2 waiting in the 1 service you are certified for" in page(empty)

    taken = http.post("/work/next/")
    assert taken.status_code == 302 and taken["Location"] == f"/work/items/{urgent.pk}/"
    mine = page(http.get("/work/"))
    row = re.search(r'<tr data-testid="open-item">(.*?)</tr>', mine, re.S)[1]
    for text in ("Charged twice", "Own Client GmbH", "Support", "Urgent", "New", "Get next"):
        assert text in row
    assert "1 open item of the 5 you take at once" in mine


def test_get_next_says_plainly_why_nothing_came(world, service):
    http = world.login("agent")
    refused = http.post("/work/next/", follow=True)
    assert "you are not certified for any service" in page(refused)

    certify(world, world.people["agent"], service)
    nothing = http.post("/work/next/", follow=True)
    assert "Nothing is waiting for you" in page(nothing)

    AgentProfile.objects.filter(user=world.people["agent"]).update(capacity=1)
    new_item(world, service)
    new_item(world, service)
    assert http.post("/work/next/").status_code == 302
    full = http.post("/work/next/", follow=True)
    assert "You are at capacity: you have 1 open items and take 1 at once" in page(full)


def test_my_work_and_its_menu_entry_are_for_those_who_handle_work(world):
    for role in ("agent", "manager", "qa", "admin"):
        assert world.login(role).get("/work/").status_code == 200, role
        assert 'href="/work/"' in page(world.login(role).get("/")), role
    for role in ("finance", "planner", "client_admin", "client_viewer"):
        assert world.login(role).get("/work/").status_code == 403, role
        assert world.login(role).post("/work/next/").status_code == 403, role
        assert 'href="/work/"' not in page(world.login(role).get("/")), role


def test_my_work_lists_recently_finished_items(world, service, certified):
    item = new_item(world, service, title="Done and dusted")
    http = world.login("agent")
    http.post("/work/next/")
    http.post(f"/work/items/{item.pk}/state/", {"state": "resolved"})
    html = page(http.get("/work/"))
    recent = re.search(r'data-testid="recent-items">(.*?)</table>', html, re.S)[1]
    assert "Done and dusted" in recent and "Resolved" in recent


def test_my_work_reads_the_same_number_of_queries_for_any_number_of_items(
    world, service, certified
):
    AgentProfile.objects.filter(user=certified).update(capacity=50)
    http = world.login("agent")
    new_item(world, service)
    http.post("/work/next/")
    with CaptureQueriesContext(connection) as one:
        assert http.get("/work/").status_code == 200
    for n in range(12):
        new_item(world, service, title=f"Item {n}")
        http.post("/work/next/")
    second_service = agreed_service(world, world.own, key="returns")
    certify(world, certified, second_service)
    new_item(world, second_service, title="Elsewhere")
    http.post("/work/next/")
    with CaptureQueriesContext(connection) as many:
        response = http.get("/work/")
    assert page(response).count('data-testid="open-item"') == 14
    assert len(many) == len(one), [q["sql"] for q in many.captured_queries]


# --- The item page -------------------------------------------------------------------------------


@pytest.fixture
def worked_item(world, service, certified):
    """An item the agent took, noted on and replied to."""
    item = new_item(world, service, tags=["vip"], external_ref="CRM-9")
    as_agent(world, actions.work_item_next)
    as_agent(world, actions.work_item_note, item=item, body="Customer called twice")
    as_agent(world, actions.work_item_reply, item=item, body="It ships today.")
    return item


def test_the_agent_sees_the_whole_item(world, worked_item):
    html = page(world.login("agent").get(f"/work/items/{worked_item.pk}/"))
    details = re.search(r'data-testid="item-details">(.*?)</dl>', html, re.S)[1]
    for text in ("Own Client GmbH", "Support", "C-support v1", "Jane Doe", "jane@shop.example"):
        assert text in details
    assert "Agent of own" in details and "CRM-9" in details and "vip" in details
    assert re.search(r"order</dt>\s*<dd[^>]*>A-1</dd>", details)
    kinds = re.findall(r'data-testid="timeline-entry" data-kind="(\w+)"', html)
    assert kinds == ["created", "assigned", "note", "message_out", "state_changed"]
    note = re.search(r'data-kind="note">(.*?)</li>', html, re.S)[1]
    assert "Customer called twice" in note and "Internal" in note
    assert 'data-testid="reply-form"' in html and 'data-testid="note-form"' in html
    assert 'data-testid="message-form"' not in html


def test_only_the_allowed_next_states_are_offered(world, worked_item):
    http = world.login("agent")

    def offered():
        return re.findall(
            r'name="state" value="(\w+)"', page(http.get(f"/work/items/{worked_item.pk}/"))
        )

    # open → pending (either), resolved, cancelled
    assert sorted(offered()) == ["cancelled", "pending_client", "pending_contact", "resolved"]
    assert (
        http.post(f"/work/items/{worked_item.pk}/state/", {"state": "resolved"}).status_code == 302
    )
    assert sorted(offered()) == ["closed", "open"]
    http.post(f"/work/items/{worked_item.pk}/state/", {"state": "closed"})
    assert offered() == []


def test_resolving_asks_nothing_more_and_pending_asks_which(world, worked_item):
    http = world.login("agent")
    url = f"/work/items/{worked_item.pk}/state/"
    pending = http.post(url, {"state": "pending_contact"}, follow=True)
    assert f"Item #{worked_item.pk} is waiting on the contact." in page(pending)
    resolved = http.post(url, {"state": "resolved"}, follow=True)
    assert f"Item #{worked_item.pk} is resolved." in page(resolved)
    refused = http.post(url, {"state": "pending_client"}, follow=True)
    assert "cannot become &#x27;pending_client&#x27;" in page(refused)
    with all_clients_unscoped("test check"):
        assert WorkItem.objects.get(pk=worked_item.pk).state == "resolved"


def test_a_reply_goes_on_the_timeline(world, service, certified):
    item = new_item(world, service)
    http = world.login("agent")
    response = http.post(f"/work/items/{item.pk}/reply/", {"reply-body": "Hello Jane"})
    assert response.status_code == 302
    assert response["Location"] == f"/work/items/{item.pk}/#timeline"
    with all_clients_unscoped("test check"):
        assert Event.objects.filter(item=item, kind="message_out", body="Hello Jane").exists()
        assert WorkItem.objects.get(pk=item.pk).state == "open"


def test_a_refused_reply_keeps_the_typed_text_next_to_the_reason(world, worked_item):
    http = world.login("agent")
    page_loaded = page(http.get(f"/work/items/{worked_item.pk}/"))
    assert 'data-testid="reply-form"' in page_loaded
    # Meanwhile a manager cancels the item.
    as_agent(
        world, actions.work_item_transition, item=worked_item, state="cancelled", role="manager"
    )
    response = http.post(
        f"/work/items/{worked_item.pk}/reply/", {"reply-body": "Dear Jane,\nyour parcel…"}
    )
    assert response.status_code == 400
    html = page(response)
    assert textarea(html, "reply-body") == "Dear Jane,\nyour parcel…"
    assert re.search(
        r'is-invalid.*?invalid-feedback d-block">The item is cancelled; it takes no replies',
        html,
        re.S,
    )
    assert textarea(html, "note-body") == ""


def test_an_empty_note_is_refused_and_the_reply_box_stays_fresh(world, worked_item):
    http = world.login("agent")
    response = http.post(f"/work/items/{worked_item.pk}/note/", {"note-body": "   "})
    assert response.status_code == 400
    assert "Write something." in page(response)
    with all_clients_unscoped("test check"):
        assert Event.objects.filter(item=worked_item, kind="note").count() == 1


def test_a_priority_change_shows_on_the_timeline(world, worked_item):
    http = world.login("agent")
    response = http.post(
        f"/work/items/{worked_item.pk}/priority/", {"priority": "high"}, follow=True
    )
    html = page(response)
    assert "The priority is high." in html
    assert "changed the priority: Normal → High" in html
    bad = http.post(f"/work/items/{worked_item.pk}/priority/", {"priority": "asap"}, follow=True)
    assert "Choose a priority" in page(bad)


def test_times_are_shown_in_the_persons_time_zone(world, worked_item):
    User.objects.filter(pk=world.people["agent"].pk).update(time_zone="Asia/Tokyo")
    with all_clients_unscoped("test setup"):
        note = Event.objects.get(item=worked_item, kind="note")
        Event.objects.filter(pk=note.pk).update(at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    html = page(world.login("agent").get(f"/work/items/{worked_item.pk}/"))
    assert "Times in Asia/Tokyo" in html
    assert re.search(r'data-kind="note">.*?2026-03-02 17:00', html, re.S)


def test_the_item_page_reads_the_same_number_of_queries_for_any_timeline(world, worked_item):
    http = world.login("agent")
    url = f"/work/items/{worked_item.pk}/"
    http.get(url)  # opens the agent's work session; later visits extend it
    with CaptureQueriesContext(connection) as short:
        assert http.get(url).status_code == 200
    for n in range(8):
        as_agent(world, actions.work_item_note, item=worked_item, body=f"Note {n}")
        as_agent(
            world,
            actions.work_item_message_in,
            item=worked_item,
            body=f"Msg {n}",
            role="client_admin",
        )
        as_agent(world, actions.work_item_update, item=worked_item, title=f"Title {n}")
    with acting_as(world.actor("manager")) as manager:
        for n in range(3):
            actions.canned_response_create(
                actor=manager, service=worked_item.service, title=f"R{n}", body="Hi {contact_name}"
            )
    with CaptureQueriesContext(connection) as long:
        response = http.get(url)
    assert page(response).count('data-testid="timeline-entry"') > 25
    # The canned responses, filled for the item, are one query however many there are.
    assert len(long) == len(short), [q["sql"] for q in long.captured_queries]


# --- Client users --------------------------------------------------------------------------------


def test_a_client_user_reads_the_item_without_internal_entries(world, worked_item):
    for role in ("client_admin", "client_viewer"):
        html = page(world.login(role).get(f"/work/items/{worked_item.pk}/"))
        assert "Where is my order?" in html and "It ships today." in html
        assert "Customer called twice" not in html
        assert 'data-testid="internal-badge"' not in html
        assert 'data-kind="assigned"' not in html
        assert 'data-testid="assignee"' not in html
        for form in ("reply-form", "note-form", "item-actions", "priority-form", "get-next"):
            assert f'data-testid="{form}"' not in html, (role, form)
        assert 'data-testid="message-form"' in html


def test_a_client_user_adds_a_message_and_may_not_reply(world, worked_item):
    http = world.login("client_viewer")
    as_agent(world, actions.work_item_transition, item=worked_item, state="resolved")
    sent = http.post(f"/work/items/{worked_item.pk}/message/", {"message-body": "Not here yet"})
    assert sent.status_code == 302
    with all_clients_unscoped("test check"):
        assert WorkItem.objects.get(pk=worked_item.pk).state == "open"
    assert http.post(f"/work/items/{worked_item.pk}/reply/", {"reply-body": "x"}).status_code == 403
    assert http.post(f"/work/items/{worked_item.pk}/note/", {"note-body": "x"}).status_code == 403
    assert http.post(f"/work/items/{worked_item.pk}/state/", {"state": "closed"}).status_code == 403
    assert http.get(f"/work/items/{worked_item.pk}/edit/").status_code == 403
    empty = http.post(f"/work/items/{worked_item.pk}/message/", {"message-body": ""})
    assert empty.status_code == 400 and "Write something." in page(empty)


def test_people_of_another_client_get_404(world, worked_item):
    for role in ("agent", "client_admin", "client_viewer"):
        http = HttpClientFor(world.other_people[role])
        assert http.get(f"/work/items/{worked_item.pk}/").status_code == 404, role
        assert (
            http.post(f"/work/items/{worked_item.pk}/message/", {"message-body": "x"}).status_code
            == 404
        )


def HttpClientFor(user):
    from django.test import Client

    http = Client()
    http.force_login(user)
    return http


# --- Details -------------------------------------------------------------------------------------


def test_details_are_edited_with_errors_next_to_the_field(world, worked_item):
    http = world.login("agent")
    url = f"/work/items/{worked_item.pk}/edit/"
    form = page(http.get(url))
    assert 'name="cf_order"' in form and 'name="cf_reason"' in form
    post = {
        "title": "Parcel lost in transit",
        "description": "",
        "tags": "vip, carrier",
        "external_ref": "CRM-9",
        "cf_order": "",
        "cf_reason": "complaint",
    }
    refused = http.post(url, post)
    assert refused.status_code == 400
    html = page(refused)
    assert 'value="Parcel lost in transit"' in html
    assert re.search(r'name="cf_order".*?invalid-feedback d-block">order is required', html, re.S)
    saved = http.post(url, {**post, "cf_order": "A-2"})
    assert saved.status_code == 302
    timeline = page(http.get(f"/work/items/{worked_item.pk}/"))
    assert "Where is my order?</del> → <strong>Parcel lost in transit" in timeline
    assert "A-1</del> → <strong>A-2" in timeline
    assert AuditEntry.objects.filter(action="work_item.updated").count() == 1


def test_a_final_item_has_no_edit_page(world, worked_item):
    as_agent(world, actions.work_item_transition, item=worked_item, state="cancelled")
    http = world.login("agent")
    response = http.get(f"/work/items/{worked_item.pk}/edit/", follow=True)
    assert "its details are final" in page(response)
    html = page(http.get(f"/work/items/{worked_item.pk}/"))
    assert 'data-testid="reply-form"' not in html and 'data-testid="item-actions"' not in html


# --- Canned responses ----------------------------------------------------------------------------


def test_a_manager_keeps_canned_responses_and_agents_insert_them(world, worked_item):
    service = worked_item.service
    manager = world.login("manager")
    url = f"/work/services/{service.pk}/responses/"
    index = page(manager.get("/work/responses/"))
    assert f'href="{url}"' in index
    empty_title = manager.post(url, {"title": "  ", "body": "Hello"})
    assert empty_title.status_code == 400
    created = manager.post(
        url,
        {"title": "Shipped", "body": "Hello {contact_name},\nitem {item_id} ships. {agent_name}"},
    )
    assert created.status_code == 302
    duplicate = manager.post(url, {"title": "shipped", "body": "Again"})
    assert duplicate.status_code == 400
    assert "Support already has a canned response titled &#x27;shipped&#x27;." in page(duplicate)

    with all_clients_unscoped("test check"):
        response = CannedResponse.objects.get()
    agent = world.login("agent")
    html = page(agent.get(f"/work/items/{worked_item.pk}/"))
    assert f'<option value="{response.pk}">Shipped</option>' in html
    filled = f"Hello Jane Doe,\nitem {worked_item.pk} ships. Agent of own"
    assert f'<template id="canned-{response.pk}">{filled}</template>' in html
    # Without JavaScript the picker asks the page to fill the reply box.
    prefilled = page(agent.get(f"/work/items/{worked_item.pk}/?canned={response.pk}"))
    assert textarea(prefilled, "reply-body") == filled

    # Agents read the service's responses, but only managers change them.
    read_only = page(agent.get(url))
    assert "Shipped" in read_only and "New canned response" not in read_only
    assert agent.post(url, {"title": "Mine", "body": "x"}).status_code == 403
    assert agent.get(f"/work/responses/{response.pk}/edit/").status_code == 403

    edited = manager.post(
        f"/work/responses/{response.pk}/edit/", {"title": "Shipped today", "body": "Hi"}
    )
    assert edited.status_code == 302 and edited["Location"] == url
    deleted = manager.post(f"/work/responses/{response.pk}/delete/", follow=True)
    assert "The canned response &#x27;Shipped today&#x27; is removed." in page(deleted)
    with all_clients_unscoped("test check"):
        assert not CannedResponse.objects.exists()


def test_client_users_never_see_canned_responses(world, worked_item):
    with acting_as(world.actor("manager")) as manager:
        response = actions.canned_response_create(
            actor=manager, service=worked_item.service, title="Internal wording", body="Hi"
        )
    for role in ("client_admin", "client_viewer"):
        http = world.login(role)
        assert "Internal wording" not in page(http.get(f"/work/items/{worked_item.pk}/"))
        assert http.get(f"/work/services/{worked_item.service_id}/responses/").status_code == 403
        assert http.get(f"/work/responses/{response.pk}/edit/").status_code == 404
        assert http.get("/work/responses/").status_code == 403
