"""The live parts of the workspace in the web UI: the agent's presence switch, work sessions and
"another agent has this item open", SLA clocks on the item page and due times on My work, and
the manager's Queues & agents view (queues, agents, transfers, notifications)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bpo.accounts.tests.factories import AssignmentFactory, MembershipFactory, UserFactory
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work import actions
from bpo.work.models import Notification, Queue, SlaClock, WorkItem, WorkSession
from bpo.work.tests.test_items_api import agreed_service
from bpo.work.tests.test_routing import certify
from bpo.work.tests.test_views import new_item, page
from bpo.workforce.actions import agent_profile_update
from bpo.workforce.models import AgentProfile


@pytest.fixture
def certified(world, service):
    certify(world, world.people["agent"], service)
    return world.people["agent"]


def take_next(world, role="agent") -> WorkItem | None:
    with acting_as(world.actor(role)) as actor:
        return actions.work_item_next(actor=actor)


def unscoped_item(pk: int) -> WorkItem:
    with all_clients_unscoped("test check"):
        return WorkItem.objects.get(pk=pk)


# --- Presence ------------------------------------------------------------------------------------


def test_the_agent_sets_their_presence_and_sees_it(world, certified):
    http = world.login("agent")
    mine = page(http.get("/work/"))
    assert re.search(r'data-testid="presence">Offline<', mine)
    done = http.post("/work/presence/", {"presence": "away"}, follow=True)
    assert "You are away." in page(done)
    assert re.search(r'data-testid="presence">Away<', page(done))
    assert AgentProfile.objects.get(user=certified).presence == "away"


def test_going_offline_says_how_many_untouched_items_went_back(world, service, certified):
    untouched = new_item(world, service, title="Untouched")
    worked = new_item(world, service, title="Worked on")
    http = world.login("agent")
    http.post("/work/presence/", {"presence": "available"})
    take_next(world)
    take_next(world)
    http.get(f"/work/items/{worked.pk}/")  # opening it starts a work session: it is touched
    done = page(http.post("/work/presence/", {"presence": "offline"}, follow=True))
    assert "You are offline; 1 untouched item went back to its queue." in done
    assert unscoped_item(untouched.pk).assignee_id is None
    assert unscoped_item(worked.pk).assignee_id == certified.pk

    http.post("/work/presence/", {"presence": "busy"})
    again = page(http.post("/work/presence/", {"presence": "offline"}, follow=True))
    assert "no untouched items to give back" in again


def test_presence_is_for_those_who_handle_work(world):
    for role in ("finance", "client_admin", "client_viewer"):
        assert world.login(role).post("/work/presence/", {"presence": "busy"}).status_code == 403
    bad = world.login("agent").post("/work/presence/", {"presence": "asleep"}, follow=True)
    assert "Choose available, busy, away or offline." in page(bad)


# --- Work sessions -------------------------------------------------------------------------------


def test_opening_an_item_starts_a_session_and_others_see_who_has_it_open(world, service, certified):
    item = new_item(world, service)
    agent = world.login("agent")
    html = page(agent.get(f"/work/items/{item.pk}/"))
    assert f'hx-post="/work/items/{item.pk}/heartbeat/"' in html
    assert "also has this item open" not in html
    with all_clients_unscoped("test check"):
        assert WorkSession.objects.filter(item=item, agent=certified, ended_at=None).exists()

    manager = world.login("manager")
    seen = page(manager.get(f"/work/items/{item.pk}/"))
    assert "agent@own.test</strong> also has this item open" in seen
    # The agent's heartbeat now names the manager, in the banner fragment alone.
    beat = agent.post(f"/work/items/{item.pk}/heartbeat/")
    assert beat.status_code == 200
    assert "manager@own.test</strong> also has this item open" in page(beat)
    assert "<html" not in page(beat)

    assert agent.post(f"/work/items/{item.pk}/session-end/").status_code == 204
    with all_clients_unscoped("test check"):
        assert not WorkSession.objects.filter(item=item, agent=certified, ended_at=None).exists()
    after = page(manager.post(f"/work/items/{item.pk}/heartbeat/"))
    assert "also has this item open" not in after


def test_client_users_never_start_sessions_nor_see_them(world, service, certified):
    item = new_item(world, service)
    world.login("agent").get(f"/work/items/{item.pk}/")
    for role in ("client_admin", "client_viewer"):
        html = page(world.login(role).get(f"/work/items/{item.pk}/"))
        assert "heartbeat" not in html and "agent@own.test" not in html
        assert world.login(role).post(f"/work/items/{item.pk}/heartbeat/").status_code == 403
    with all_clients_unscoped("test check"):
        assert WorkSession.objects.filter(item=item).count() == 1


def test_heartbeat_and_session_end_are_posts(world, service, certified):
    item = new_item(world, service)
    agent = world.login("agent")
    assert agent.get(f"/work/items/{item.pk}/heartbeat/").status_code == 405
    assert agent.get(f"/work/items/{item.pk}/session-end/").status_code == 405


# --- SLA -----------------------------------------------------------------------------------------


def set_due(item: WorkItem, due_at) -> None:
    """Move the item's running clock (and so the item's due time) to ``due_at``."""
    with all_clients_unscoped("test setup"):
        SlaClock.objects.filter(item=item).update(due_at=due_at)
        WorkItem.objects.filter(pk=item.pk).update(due_at=due_at)


def test_the_item_page_shows_its_sla_clocks_to_staff_and_client(world, service, certified):
    item = new_item(world, service)
    set_due(item, timezone.now() - timedelta(hours=3, minutes=5))
    for role in ("agent", "client_viewer"):
        html = page(world.login(role).get(f"/work/items/{item.pk}/"))
        clocks = re.search(r'data-testid="sla-clocks">(.*?)</ul>', html, re.S)[1]
        assert "First response" in clocks and ">Running<" in clocks, role
        assert "3 h overdue" in clocks and 'data-tone="danger"' in clocks, role


def test_the_clock_due_time_is_in_the_persons_time_zone(world, service, certified):
    from bpo.accounts.models import User

    item = new_item(world, service)
    set_due(item, timezone.now().replace(year=2030, month=3, day=4, hour=8, minute=0))
    User.objects.filter(pk=certified.pk).update(time_zone="Asia/Tokyo")
    html = page(world.login("agent").get(f"/work/items/{item.pk}/"))
    clocks = re.search(r'data-testid="sla-clocks">(.*?)</ul>', html, re.S)[1]
    assert "2030-03-04 17:00" in clocks


def test_my_work_shows_due_times_coloured_by_urgency(world, service, certified):
    AgentProfile.objects.filter(user=certified).update(capacity=10)
    now = timezone.now()
    dues = {"Late": now - timedelta(hours=2), "Soon": now + timedelta(minutes=30)}
    dues["Later"] = now + timedelta(hours=5)
    for title, due_at in dues.items():
        set_due(new_item(world, service, title=title), due_at)
        take_next(world)
    html = page(world.login("agent").get("/work/"))
    tones = dict(
        re.findall(
            r'<a href="/work/items/\d+/">(\w+)</a>.*?data-testid="due" data-tone="(\w+)"',
            html,
            re.S,
        )
    )
    assert tones == {"Late": "danger", "Soon": "warning", "Later": "ok"}
    assert "2 h overdue" in html
    assert "in 30 min" in html or "in 29 min" in html


# --- Queues & agents -----------------------------------------------------------------------------


def test_queues_and_agents_is_for_managers_and_in_their_menu(world):
    for role in ("manager", "admin"):
        http = world.login(role)
        assert http.get("/work/manage/").status_code == 200, role
        assert http.get("/work/manage/board/").status_code == 200, role
        assert 'href="/work/manage/"' in page(http.get("/")), role
    for role in ("agent", "qa", "finance", "planner", "client_admin", "client_viewer"):
        http = world.login(role)
        assert http.get("/work/manage/").status_code == 403, role
        assert http.get("/work/manage/board/").status_code == 403, role
        assert 'href="/work/manage/"' not in page(http.get("/")), role


def test_only_the_page_s_own_menu_entry_is_active(world):
    html = page(world.login("manager").get("/work/manage/"))
    active = re.findall(r'class="nav-link active"[^>]*href="([^"]+)"', html)
    assert active == ["/work/manage/"]


def test_the_manager_sees_backlog_sla_risk_presence_and_load(world, service, certified):
    with acting_as(world.actor("manager")) as manager:
        agent_profile_update(
            actor=manager,
            agent=certified,
            capacity=4,
            languages=["de", "en"],
            skills={"refunds": 3},
        )
    late = new_item(world, service, title="Late")
    new_item(world, service, title="Waiting")
    set_due(late, timezone.now() - timedelta(minutes=10))
    new_item(world, service, title="Taken")
    take_next(world)  # the late one: the earliest due time goes first
    html = page(world.login("manager").get("/work/manage/"))
    row = re.search(r'<tr data-testid="queue-row"(.*?)</tr>', html, re.S)[1]
    assert re.search(r'data-testid="waiting">2<', row)
    assert re.search(r'data-testid="open">3<', row)
    assert "1 overdue" in row and "Own Client GmbH · Support" in row and ">Pull<" in row
    agent = re.search(
        r'<tr data-testid="agent-row" data-agent="agent@own.test">(.*?)</tr>', html, re.S
    )[1]
    assert re.search(r'data-testid="agent-load">1/4<', agent)
    assert "refunds 3" in agent and "de, en" in agent and "Support" in agent
    assert re.search(r'data-testid="agent-presence">Offline<', agent)
    assert "Other Client" not in html and "@other.test" not in html
    assert 'hx-trigger="every 20s"' in html


def test_the_manager_page_reads_the_same_number_of_queries_for_any_number_of_queues_and_agents(
    world, service, certified
):
    new_item(world, service)
    http = world.login("manager")
    http.get("/work/manage/")
    with CaptureQueriesContext(connection) as few:
        assert http.get("/work/manage/").status_code == 200
    second = agreed_service(world, world.own, key="returns")
    with all_clients_unscoped("test setup"):
        for n in range(4):
            Queue.objects.create(client=world.own, service=second, name=f"Line {n}")
    for n in range(5):
        person = UserFactory(email=f"extra{n}@own.test", full_name=f"Extra {n}")
        MembershipFactory(user=person, role="agent", client=None)
        AssignmentFactory(user=person, client=world.own)
        certify(world, person, second)
        with acting_as(world.actor("manager")) as manager:
            agent_profile_update(actor=manager, agent=person, skills={"billing": 2, "chat": 1})
    new_item(world, second)
    with all_clients_unscoped("test setup"):
        Notification.objects.create(
            client=world.own, recipient=world.people["manager"], kind="sla_breach", text="Late"
        )
    with CaptureQueriesContext(connection) as many:
        response = http.get("/work/manage/")
    assert page(response).count('data-testid="queue-row"') >= 6
    assert page(response).count('data-testid="agent-row"') >= 7
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_a_manager_sends_an_agent_offline(world, service, certified):
    new_item(world, service)
    take_next(world)
    http = world.login("manager")
    http.post(f"/work/manage/agents/{certified.pk}/presence/", {"presence": "busy"})
    done = page(
        http.post(
            f"/work/manage/agents/{certified.pk}/presence/", {"presence": "offline"}, follow=True
        )
    )
    assert "agent@own.test is offline; 1 untouched item went back to its queue." in done
    agent = world.login("agent")
    assert (
        agent.post(
            f"/work/manage/agents/{certified.pk}/presence/", {"presence": "away"}
        ).status_code
        == 403
    )
    other = world.other_people["agent"]
    assert (
        http.post(f"/work/manage/agents/{other.pk}/presence/", {"presence": "away"}).status_code
        == 404
    )


# --- Transfer ------------------------------------------------------------------------------------


def test_a_manager_transfers_an_item_to_another_agent_with_a_reason(world, service, certified):
    item = new_item(world, service)
    take_next(world)
    colleague = UserFactory(email="colleague@own.test", full_name="Colleague")
    MembershipFactory(user=colleague, role="agent", client=None)
    AssignmentFactory(user=colleague, client=world.own)
    certify(world, colleague, service)
    http = world.login("manager")
    html = page(http.get(f"/work/items/{item.pk}/"))
    form = re.search(r'data-testid="transfer-form">(.*?)</form>', html, re.S)[1]
    assert "Colleague · 0/5 · offline" in form and "Agent of own · 1/5 · offline" in form
    assert re.search(r"<option value=\"\d+\" >[^<]+ · 0 waiting</option>", form)

    refused = http.post(f"/work/items/{item.pk}/transfer/", {"transfer-agent": colleague.pk})
    assert refused.status_code == 400
    assert "Say why the item moves." in page(refused)

    moved = http.post(
        f"/work/items/{item.pk}/transfer/",
        {"transfer-agent": colleague.pk, "transfer-reason": "Speaks the customer's language"},
        follow=True,
    )
    assert f"Item #{item.pk} moved" in page(moved) and "colleague@own.test" in page(moved)
    assert unscoped_item(item.pk).assignee_id == colleague.pk
    assert "Speaks the customer&#x27;s language" in page(moved)

    nothing = http.post(f"/work/items/{item.pk}/transfer/", {"transfer-reason": "why not"})
    assert nothing.status_code == 400
    assert "Name the queue, the agent, or both" in page(nothing)


def test_only_managers_see_and_use_the_transfer_form(world, service, certified):
    item = new_item(world, service)
    for role in ("agent", "qa", "client_admin"):
        http = world.login(role)
        assert 'data-testid="transfer-form"' not in page(http.get(f"/work/items/{item.pk}/"))
        refused = http.post(
            f"/work/items/{item.pk}/transfer/",
            {"transfer-reason": "x", "transfer-agent": certified.pk},
        )
        assert refused.status_code == 403, role


# --- Notifications -------------------------------------------------------------------------------


def test_unread_notifications_show_in_the_menu_and_are_marked_read(world, service):
    item = new_item(world, service)
    with all_clients_unscoped("test setup"):
        note = Notification.objects.create(
            client=world.own,
            recipient=world.people["manager"],
            item=item,
            kind="sla_breach",
            text=f"Item #{item.pk} missed its first response",
        )
    http = world.login("manager")
    html = page(http.get("/work/manage/"))
    assert re.search(r'data-testid="unread-count">1<', html)
    assert f"Item #{item.pk} missed its first response" in html
    done = http.post(f"/work/notifications/{note.pk}/read/", {"next": "/work/manage/"})
    assert done.status_code == 302 and done["Location"] == "/work/manage/"
    after = page(http.get("/work/manage/"))
    assert 'data-testid="unread-count"' not in after and "No unread notifications" in after
    # Another person's notification is not there for anyone else.
    assert world.login("agent").post(f"/work/notifications/{note.pk}/read/").status_code == 404
    # An address elsewhere is not followed.
    evil = http.post(f"/work/notifications/{note.pk}/read/", {"next": "https://evil.example/"})
    assert evil["Location"] == "/work/manage/"


def test_client_users_have_no_notification_bell(world):
    html = page(world.login("client_admin").get("/"))
    assert 'data-testid="notifications-link"' not in html
