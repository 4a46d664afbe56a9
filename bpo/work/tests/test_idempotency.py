"""Idempotency-Key: a retried create replays its first answer and creates nothing."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test import Client as HttpClient
from django.utils import timezone

from bpo.accounts import actions as people
from bpo.audit.models import AuditEntry
from bpo.tenancy.context import acting_as, actor_for
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work import actions
from bpo.work.models import IdempotencyKey, WorkItem
from bpo.work.tests.test_bulk import good
from bpo.work.tests.test_items_api import api_as


def post(http, url, body, key):
    return http.post(
        url,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Idempotency-Key": key},
    )


def item_count():
    with all_clients_unscoped("test check"):
        return WorkItem.objects.count()


def test_a_retry_replays_the_first_answer_and_creates_nothing(world, service):
    agent = api_as(world, "agent")
    first = post(agent, "/api/v1/work-items", good(service, 1), "order-1-attempt")
    again = post(agent, "/api/v1/work-items", good(service, 1), "order-1-attempt")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert item_count() == 1
    assert AuditEntry.objects.filter(action="work_item.created").count() == 1


def test_the_same_key_with_another_body_is_refused(world, service):
    agent = api_as(world, "agent")
    post(agent, "/api/v1/work-items", good(service, 1), "k-1")
    refused = post(agent, "/api/v1/work-items", good(service, 2), "k-1")
    assert refused.status_code == 422
    field = refused.json()["error"]["fields"][0]
    assert field["path"] == "header.Idempotency-Key" and "different request" in field["message"]
    # Another endpoint is another request, too.
    bulk = post(agent, "/api/v1/work-items/bulk", {"items": [good(service, 1)]}, "k-1")
    assert bulk.status_code == 422
    assert item_count() == 1


def test_keys_belong_to_their_owner(world, service):
    post(api_as(world, "agent"), "/api/v1/work-items", good(service, 1), "shared-key")
    other = post(api_as(world, "manager"), "/api/v1/work-items", good(service, 1), "shared-key")
    assert other.status_code == 201 and "Idempotent-Replayed" not in other
    assert item_count() == 2


def test_a_failed_create_does_not_use_up_its_key(world, service):
    agent = api_as(world, "agent")
    bad = good(service, 1, custom_fields={})
    assert post(agent, "/api/v1/work-items", bad, "retry-me").status_code == 422
    assert not IdempotencyKey.objects.exists()
    fixed = post(agent, "/api/v1/work-items", good(service, 1), "retry-me")
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed


def test_a_bulk_retry_replays_its_results(world, service):
    agent = api_as(world, "agent")
    body = {"items": [good(service, 1), good(service, 2, custom_fields={})]}
    first = post(agent, "/api/v1/work-items/bulk", body, "batch-7")
    again = post(agent, "/api/v1/work-items/bulk", body, "batch-7")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert first.json()["created"] == 1 and item_count() == 1


def test_a_malformed_key_is_refused(world, service):
    response = post(api_as(world, "agent"), "/api/v1/work-items", good(service, 1), "two words")
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "header.Idempotency-Key"
    assert item_count() == 0


def test_keys_older_than_a_day_are_purged(world):
    user = world.people["agent"]
    old = IdempotencyKey.objects.create(user=user, key="old", fingerprint="0" * 64, status=201)
    fresh = IdempotencyKey.objects.create(user=user, key="new", fingerprint="0" * 64, status=201)
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert actions.idempotency_keys_purge() == 1
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [fresh.pk]
    entry = AuditEntry.objects.get(action="idempotency_keys.purged")
    assert entry.after["deleted"] == 1
    assert actions.idempotency_keys_purge() == 0  # nothing left to forget; nothing recorded
    assert AuditEntry.objects.filter(action="idempotency_keys.purged").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="threads need a server database; SQLite serialises writers anyway",
)
def test_two_concurrent_requests_with_one_key_create_once(world, service, monkeypatch):
    """The first request holds its key's row until it commits; the second waits on the unique
    index and then replays the first answer."""
    with acting_as(actor_for(world.people["agent"])) as actor:
        _, token = people.api_token_create(actor=actor, name="t")
    body = good(service, 1)
    create = actions.work_item_create
    first_inside = threading.Event()

    def create_then_wait_for_the_other(**kwargs):
        item = create(**kwargs)
        first_inside.set()
        # Hold the transaction open until the other request waits for our key (bounded).
        with connection.cursor() as cursor:
            for _ in range(200):
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
        return item

    monkeypatch.setattr(actions, "work_item_create", create_then_wait_for_the_other)

    def send(delay_until_first: bool):
        try:
            if delay_until_first:
                first_inside.wait(10)
            http = HttpClient(headers={"Authorization": f"Bearer {token}"})
            return post(http, "/api/v1/work-items", body, "same-key")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(send, [False, True]))
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].content == responses[1].content
    assert responses[1]["Idempotent-Replayed"] == "true"
    assert item_count() == 1
    assert connection.vendor == "postgresql"
