"""insert_many writes exactly what bulk_create writes, and gives each object its own key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bpo.bulk import COPY_FROM_ROWS, insert_many, insert_rows
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.models import Event, WorkItem
from bpo.work.tests.slaworld import sla_service

SKIP = {"id", "created_at", "updated_at"}


DUE = timezone.now() + timedelta(hours=3)


def rows(world, prefix: str, count: int = 60) -> list[WorkItem]:
    service = sla_service(world, key=prefix)
    terms, queue = service.terms.get(), service.queues.get()
    return [
        WorkItem(
            client=world.own,
            service=service,
            terms=terms,
            queue=queue if n % 2 else None,
            title=f"{prefix} {n} — Überweisung «fehlt»",
            priority=("low", "high")[n % 2],
            custom_fields={"order": f"A-{n}", "amount": "12.50", "nested": {"ok": n % 3 == 0}},
            tags=["parcel", f"n{n}"] if n % 3 else [],
            external_ref=f"{prefix}-{n}" if n % 4 else "",
            due_at=DUE if n % 2 else None,
        )
        for n in range(count)
    ]


def values(item: WorkItem) -> dict:
    return {
        f.attname: getattr(item, f.attname)
        for f in WorkItem._meta.concrete_fields
        if f.attname not in SKIP | {"service_id", "terms_id", "queue_id"}
    }


@pytest.mark.parametrize("count", [1, 60, COPY_FROM_ROWS + 1])  # PostgreSQL: INSERT, then COPY
def test_insert_many_writes_what_bulk_create_writes(world, count):
    with all_clients_unscoped("test"):
        ours = insert_many(rows(world, "ours", count))
        theirs = WorkItem.objects.bulk_create(rows(world, "theirs", count))
        assert all(item.pk for item in ours) and len({item.pk for item in ours}) == count
        by_pk = WorkItem.objects.in_bulk([item.pk for item in ours])
        reference = WorkItem.objects.in_bulk([item.pk for item in theirs])
        for mine, other in zip(ours, theirs, strict=True):
            stored, expected = values(by_pk[mine.pk]), values(reference[other.pk])
            assert stored["title"] == mine.title  # each object got its own row's key
            stored["title"] = stored["title"].replace("ours", "theirs")
            stored["external_ref"] = stored["external_ref"].replace("ours", "theirs")
            assert stored == expected
            assert by_pk[mine.pk].created_at is not None  # auto_now_add set as bulk_create does


def test_insert_many_writes_json_and_foreign_keys_of_events(world):
    with all_clients_unscoped("test"):
        items = insert_many(rows(world, "ev"))
        now = timezone.now()
        events = insert_many(
            [
                Event(client=world.own, item=item, kind="created", at=now, data={"n": item.pk})
                for item in items
            ]
        )
        stored = Event.objects.in_bulk([e.pk for e in events])
        assert [stored[e.pk].data for e in events] == [{"n": i.pk} for i in items]
        assert [stored[e.pk].item_id for e in events] == [i.pk for i in items]
        assert insert_many([]) == []


def test_insert_rows_fills_defaults_as_the_model_does(world):
    with all_clients_unscoped("test"):
        (item,) = insert_many(rows(world, "rw")[:1])
        now = timezone.now()
        given = {"client_id": world.own.pk, "item_id": item.pk, "kind": "note", "at": now}
        keys = insert_rows(Event, [given, {**given, "body": "second", "data": {"x": [1, 2]}}])
        saved = Event.objects.create(**given)
        first, second = (Event.objects.get(pk=key) for key in keys)
        skip = {"id", "at"}  # auto_now_add: the time of writing, as create() sets it
        fields = [f.attname for f in Event._meta.concrete_fields if f.attname not in skip]
        assert {f: getattr(first, f) for f in fields} == {f: getattr(saved, f) for f in fields}
        assert (second.body, second.data) == ("second", {"x": [1, 2]})
        assert now <= first.at <= timezone.now()
        assert insert_rows(Event, []) == []
