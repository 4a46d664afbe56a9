"""Bulk intake: each item is created or reported on its own, in one transaction."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bpo.audit.models import AuditEntry
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.models import Queue, WorkItem
from bpo.work.tests.test_items_api import agreed_service, api_as, send

URL = "/api/v1/work-items/bulk"


def good(service, n, **extra):
    return {
        "service_id": service.pk,
        "title": f"Order question {n}",
        "custom_fields": {"order": f"A-{n}"},
        **extra,
    }


def items_in_db():
    with all_clients_unscoped("test check"):
        return list(WorkItem.objects.order_by("id").values_list("title", flat=True))


def test_good_items_are_created_and_bad_ones_reported_by_index_and_path(world, service):
    other_service = agreed_service(world, world.other, key="elsewhere")
    with all_clients_unscoped("test setup"):
        foreign_queue = Queue.objects.create(client=world.other, service=other_service, name="Q")
    items = [
        good(service, 0),
        good(service, 1, custom_fields={"order": "A", "reason": "praise"}),
        {"service_id": service.pk, "custom_fields": {"order": "A"}},  # no title
        good(other_service, 3),  # another client's service: not in the agent's scope
        good(service, 4, external_ref="CRM-1"),
        good(service, 5, queue_id=foreign_queue.pk),
        good(service, 6, external_ref="CRM-1"),  # taken by item 4 of this very request
        good(service, 7, tags=["vip", 5]),
        good(service, 8, title="Nul\x00byte"),
    ]
    response = send(api_as(world, "agent"), "POST", URL, {"items": items})
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["created"] == 2 and answer["failed"] == 7
    results = answer["results"]
    assert [r["index"] for r in results] == list(range(9))
    assert [r["ok"] for r in results] == [True, False, False, False, True] + [False] * 4
    paths = {r["index"]: [e["path"] for e in r["errors"]] for r in results if not r["ok"]}
    assert paths == {
        1: ["items[1].custom_fields.reason"],
        2: ["items[2].title"],
        3: ["items[3].service_id"],
        5: ["items[5].queue_id"],
        6: ["items[6].external_ref"],
        7: ["items[7].tags[1]"],
        8: ["items[8].title"],
    }
    assert "not one of" in results[1]["errors"][0]["message"]
    assert items_in_db() == ["Order question 0", "Order question 4"]
    assert results[0]["id"] and results[4]["id"] and results[1]["id"] is None
    assert AuditEntry.objects.filter(action="work_item.created").count() == 2


def test_more_than_a_thousand_items_are_refused_whole(world, service):
    response = send(api_as(world, "agent"), "POST", URL, {"items": [good(service, 0)] * 1001})
    assert response.status_code == 422
    field = response.json()["error"]["fields"][0]
    assert field["path"].endswith("items") and "1000" in field["message"]
    assert items_in_db() == []


def test_an_empty_or_malformed_batch_is_refused(world, service):
    agent = api_as(world, "agent")
    assert send(agent, "POST", URL, {"items": []}).status_code == 422
    assert (
        send(agent, "POST", URL, {"items": [good(service, 0), "not an object"]}).status_code == 422
    )
    assert items_in_db() == []


def test_roles_that_may_not_submit_work_are_refused_whole(world, service):
    response = send(api_as(world, "finance"), "POST", URL, {"items": [good(service, 0)]})
    assert response.status_code == 403
    assert items_in_db() == []


def test_lookups_are_made_once_per_request_not_per_item(world, service):
    agent = api_as(world, "agent")

    def run(count, start):
        items = [good(service, start + n) for n in range(count)]
        with CaptureQueriesContext(connection) as queries:
            assert send(agent, "POST", URL, {"items": items}).json()["created"] == count
        return [q["sql"] for q in queries.captured_queries]

    run(1, 1000)  # the token's first use of the minute records its last use
    small, large = run(5, 0), run(15, 100)
    for sql in (small, large):
        assert sum('FROM "contracts_service"' in q for q in sql) == 1
        assert sum('FROM "contracts_serviceterms"' in q for q in sql) == 1
    # Each further item costs the same fixed number of statements.
    per_item = (len(large) - len(small)) / 10
    assert per_item == int(per_item)
    assert len(small) - 5 * per_item < 20
