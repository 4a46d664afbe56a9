"""The operations API: queues with their backlog, agents' presence and profile, work sessions
with the "someone else has it open" signal, handle time, SLA clocks on the item, notifications."""

from datetime import timedelta

from django.utils import timezone

from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work import actions, sweep
from bpo.work.models import WorkSession
from bpo.work.tests.slaworld import sla_service
from bpo.work.tests.test_items_api import api_as, send
from bpo.workforce.actions import certification_grant


def test_queues_show_backlog_and_sla_risk_and_managers_configure_them(world):
    service = sla_service(world)
    manager = api_as(world, "manager")
    made = send(
        manager,
        "POST",
        "/api/v1/queues",
        {"service_id": service.pk, "name": "Refunds", "required_skills": {"refunds": 2}},
    )
    assert made.status_code == 201, made.content
    queue = made.json()
    bad = send(manager, "PATCH", f"/api/v1/queues/{queue['id']}", {"required_skills": {"x": 9}})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["path"] == "body.required_skills"
    with acting_as(world.actor("client_admin")) as client:
        for _ in range(2):
            actions.work_item_create(actor=client, service=service, title="Refund please")
    rows = send(manager, "GET", f"/api/v1/queues?service_id={service.pk}").json()["items"]
    default = next(r for r in rows if r["is_default"])
    assert (default["waiting"], default["open"], default["overdue"]) == (2, 2, 0)
    assert default["oldest_waiting"] is not None
    duplicate = send(
        manager, "POST", "/api/v1/queues", {"service_id": service.pk, "name": "Refunds"}
    )
    assert duplicate.status_code == 422


def test_presence_profile_and_the_agents_list(world):
    service = sla_service(world)
    agent = world.people["agent"]
    with acting_as(world.actor("manager")) as manager:
        certification_grant(actor=manager, user=agent, service=service)
    me = send(api_as(world, "agent"), "PUT", "/api/v1/agents/me/presence", {"presence": "away"})
    assert me.status_code == 200 and me.json()["presence"] == "away"
    manager = api_as(world, "manager")
    changed = send(
        manager,
        "PATCH",
        f"/api/v1/agents/{agent.pk}",
        {"capacity": 3, "languages": ["de", "en"], "skills": {"refunds": 4}},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["skills"] == {"refunds": 4} and changed.json()["capacity"] == 3
    bad = send(manager, "PATCH", f"/api/v1/agents/{agent.pk}", {"languages": ["German"]})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["path"] == "body.languages"
    listed = send(manager, "GET", "/api/v1/agents").json()["items"]
    row = next(r for r in listed if r["user_id"] == agent.pk)
    assert row["certified_service_ids"] == [service.pk] and row["load"] == 0
    refused = send(api_as(world, "client_admin"), "GET", "/api/v1/agents")
    assert refused.status_code == 403


def test_sessions_tell_who_else_has_the_item_open_and_feed_handle_time(world):
    service = sla_service(world)
    with acting_as(world.actor("client_admin")) as client:
        item = actions.work_item_create(actor=client, service=service, title="x")
    url = f"/api/v1/work-items/{item.pk}/sessions"
    first = send(api_as(world, "agent"), "POST", url).json()
    assert first["others"] == []
    second = send(api_as(world, "manager"), "POST", url).json()
    assert second["others"] == [world.people["agent"].email]
    with all_clients_unscoped("test"):
        WorkSession.objects.filter(pk=first["id"]).update(
            started_at=timezone.now() - timedelta(minutes=6),
            last_seen_at=timezone.now() - timedelta(minutes=1),
        )
    ended = send(api_as(world, "agent"), "POST", f"{url}/end")
    assert ended.status_code == 200 and ended.json()["seconds"] >= 300
    assert send(api_as(world, "agent"), "POST", f"{url}/end").status_code == 204
    since = (timezone.now() - timedelta(days=1)).isoformat()
    until = (timezone.now() + timedelta(days=1)).isoformat()
    rows = send(
        api_as(world, "manager"),
        "GET",
        f"/api/v1/handle-time?by=agent&since={since.replace('+', '%2B')}"
        f"&until={until.replace('+', '%2B')}",
    ).json()
    agent_row = next(r for r in rows if r["agent"] == world.people["agent"].email)
    assert agent_row["items"] == 1 and agent_row["aht_seconds"] == agent_row["handle_seconds"]
    assert 300 <= agent_row["handle_seconds"] < 400
    backwards = send(
        api_as(world, "manager"),
        "GET",
        f"/api/v1/handle-time?since={until.replace('+', '%2B')}&until={since.replace('+', '%2B')}",
    )
    assert backwards.status_code == 422


def test_the_item_shows_its_clocks_and_breaches_notify_managers(world):
    service = sla_service(
        world,
        weekly={d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    )
    with acting_as(world.actor("client_admin")) as client:
        item = actions.work_item_create(actor=client, service=service, title="x")
    detail = send(api_as(world, "client_viewer"), "GET", f"/api/v1/work-items/{item.pk}").json()
    assert {c["metric"]: c["status"] for c in detail["clocks"]} == {
        "first_response": "running",
        "resolution": "running",
    }
    assert detail["due_at"] == detail["clocks"][0]["due_at"]
    sweep.sla_sweep(now=timezone.now() + timedelta(hours=3))
    manager = api_as(world, "manager")
    inbox = send(manager, "GET", "/api/v1/notifications?unread=true").json()["items"]
    assert inbox and "missed" in inbox[0]["text"]
    read = send(manager, "POST", f"/api/v1/notifications/{inbox[0]['id']}/read")
    assert read.status_code == 200 and read.json()["read_at"]
    assert send(api_as(world, "agent"), "GET", "/api/v1/notifications").json()["items"] == []
