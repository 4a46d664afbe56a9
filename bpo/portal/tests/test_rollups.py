"""The rollups hold exactly what the items say, however the items change."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from bpo.portal import actions as portal
from bpo.portal.metrics import DAY_FIELDS, compute_days, runs_of
from bpo.portal.models import RollupMark, ServiceDay, ServiceDaySla, Survey
from bpo.portal.rollups import rollups_refresh
from bpo.tenancy.context import acting_as
from bpo.work import actions as work
from bpo.work.models import Channel, SlaClock, WorkItem, WorkSession
from bpo.work.tests.test_items_api import agreed_service

BERLIN = ZoneInfo("Europe/Berlin")


def stored(service) -> tuple[dict, dict]:
    days = {
        (r["day"], r["channel"]): {k: r[k] for k in DAY_FIELDS}
        for r in ServiceDay.objects.filter(service=service).values("day", "channel", *DAY_FIELDS)
    }
    sla = {
        (r["day"], r["metric"], r["priority"]): {"met": r["met"], "missed": r["missed"]}
        for r in ServiceDaySla.objects.filter(service=service).values(
            "day", "metric", "priority", "met", "missed"
        )
    }
    return days, sla


def computed(service, first: date, last: date) -> tuple[dict, dict]:
    figures = compute_days(service.client_id, service.pk, BERLIN, [(first, last)])
    days = {
        key: {k: counters[k] for k in DAY_FIELDS}
        for key, counters in figures.days.items()
        if any(counters.values())
    }
    sla = {
        key: {"met": c["met"], "missed": c["missed"]}
        for key, c in figures.sla.items()
        if c["met"] or c["missed"]
    }
    return days, sla


@pytest.fixture
def setting(world):
    service = agreed_service(world, world.own)
    with acting_as(world.actor("admin")) as admin:
        yield service, admin


def make(admin, service, email="jane@shop.example", **extra):
    return work.work_item_create(
        actor=admin,
        service=service,
        title="Where is my order?",
        contact_email=email,
        custom_fields={"order": "A-1"},
        **extra,
    )


def at(item, **instants):
    """Move an item's instants into the past (history), as a bulk UPDATE would."""
    WorkItem.objects.filter(pk=item.pk).update(**instants)


def test_the_figures_of_a_day_by_hand(setting):
    service, admin = setting
    # 23:30 UTC on 2 November is 00:30 on 3 November in Berlin: the item counts on the 3rd.
    late = make(admin, service)
    at(late, created_at=datetime(2026, 11, 2, 23, 30, tzinfo=UTC))
    early = make(admin, service, email="joe@shop.example", channel=Channel.EMAIL)
    at(early, created_at=datetime(2026, 11, 2, 22, 30, tzinfo=UTC))  # 23:30 on the 2nd
    work.work_item_transition(actor=admin, item=late, state="resolved")
    at(late, resolved_at=datetime(2026, 11, 3, 10, 0, tzinfo=UTC))
    WorkSession.objects.create(
        client_id=late.client_id,
        item=late,
        agent=admin.user,
        started_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
        last_seen_at=datetime(2026, 11, 3, 9, 5, tzinfo=UTC),
        ended_at=datetime(2026, 11, 3, 9, 6, tzinfo=UTC),
    )
    survey = Survey.objects.get(item=late)
    portal.survey_answer(survey=survey, rating=4, recommend=10, comment="quick")
    Survey.objects.filter(pk=survey.pk).update(answered_at=datetime(2026, 11, 3, 12, tzinfo=UTC))
    rollups_refresh(client_id=service.client_id)
    days, _ = stored(service)
    third = days[date(2026, 11, 3), Channel.API]
    assert third["created"] == 1 and third["resolved"] == 1
    assert third["handled"] == 1 and third["handle_seconds"] == 360
    assert third["fcr_counted"] == 1 and third["fcr_first"] == 1  # no repeat, never reopened
    assert (third["surveys"], third["satisfied"], third["rating_sum"]) == (1, 1, 4)
    assert (third["nps_answers"], third["promoters"], third["detractors"]) == (1, 1, 0)
    assert days[date(2026, 11, 2), Channel.EMAIL]["created"] == 1
    # Jane asks again within the repeat window (7 days): her resolution was no first-contact one.
    again = make(admin, service)
    at(again, created_at=datetime(2026, 11, 6, 8, tzinfo=UTC))
    rollups_refresh(client_id=service.client_id)
    days, _ = stored(service)
    assert days[date(2026, 11, 3), Channel.API]["fcr_first"] == 0
    # Tagged spam afterwards: out of the service levels, still in the volumes.
    work.work_item_update(actor=admin, item=late, tags=["spam"])
    rollups_refresh(client_id=service.client_id)
    days, _ = stored(service)
    assert days[date(2026, 11, 3), Channel.API]["created"] == 1
    assert days[date(2026, 11, 3), Channel.API]["fcr_counted"] == 0
    assert days[date(2026, 11, 3), Channel.API]["handled"] == 0


def test_sla_outcomes_count_on_the_day_they_were_decided(setting):
    service, admin = setting
    met = make(admin, service)
    missed = make(admin, service, email="joe@shop.example")
    SlaClock.objects.filter(item=met).update(
        stopped_at=datetime(2026, 11, 10, 9, tzinfo=UTC), met=True
    )
    SlaClock.objects.filter(item=missed).update(
        breached_at=datetime(2026, 11, 10, 23, 30, tzinfo=UTC)  # the 11th in Berlin
    )
    rollups_refresh(client_id=service.client_id)
    _, sla = stored(service)
    assert sla[date(2026, 11, 10), "first_response", "normal"] == {"met": 1, "missed": 0}
    assert sla[date(2026, 11, 11), "first_response", "normal"] == {"met": 0, "missed": 1}
    # Cancelled: left out by the version's definition.
    work.work_item_transition(actor=admin, item=missed, state="cancelled")
    rollups_refresh(client_id=service.client_id)
    _, sla = stored(service)
    assert (date(2026, 11, 11), "first_response", "normal") not in sla


def test_rollups_follow_random_changes_exactly(setting):
    service, admin = setting
    rng = random.Random(20261123)
    base = datetime(2026, 10, 20, tzinfo=UTC)
    items: list[WorkItem] = []

    def instant() -> datetime:
        return base + timedelta(minutes=rng.randrange(0, 30 * 24 * 60))

    def change(choice: float) -> None:
        if choice < 0.3 or not items:
            item = make(
                admin,
                service,
                email=rng.choice(["a@x.example", "b@x.example", "c@x.example"]),
                channel=rng.choice([Channel.API, Channel.EMAIL, Channel.FORM]),
            )
            at(item, created_at=instant())
            items.append(item)
            return
        item = WorkItem.objects.get(pk=rng.choice(items).pk)
        if choice < 0.45 and item.state in ("new", "open"):
            work.work_item_transition(actor=admin, item=item, state="resolved")
            at(item, resolved_at=max(item.created_at, instant()))
        elif choice < 0.55 and item.state == "resolved":
            work.work_item_message_in(actor=admin, item=item, body="It broke again.")
        elif choice < 0.6 and item.state not in ("closed", "cancelled"):
            work.work_item_update(actor=admin, item=item, tags=rng.choice([["spam"], ["vip"], []]))
        elif choice < 0.65 and item.state in ("new", "open"):
            work.work_item_transition(actor=admin, item=item, state="cancelled")
        elif choice < 0.8:
            clock = SlaClock.objects.filter(item=item).first()
            if clock is not None:
                if rng.random() < 0.5:
                    SlaClock.objects.filter(pk=clock.pk).update(stopped_at=instant(), met=True)
                else:
                    SlaClock.objects.filter(pk=clock.pk).update(breached_at=instant())
        elif choice < 0.9:
            started = instant()
            WorkSession.objects.create(
                client_id=item.client_id,
                item=item,
                agent=admin.user,
                started_at=started,
                last_seen_at=started + timedelta(minutes=rng.randrange(1, 30)),
                ended_at=started + timedelta(minutes=30),
            )
        else:
            survey = Survey.objects.filter(item=item, answered_at__isnull=True).first()
            if survey is not None:
                portal.survey_answer(
                    survey=survey, rating=rng.randrange(1, 6), recommend=rng.randrange(0, 11)
                )
                Survey.objects.filter(pk=survey.pk).update(answered_at=instant())

    for step in range(120):
        change(rng.random())
        if step % 15 == 14:
            rollups_refresh(client_id=service.client_id)
            assert stored(service) == computed(service, date(2026, 10, 1), date(2026, 12, 31))
            assert not RollupMark.objects.filter(client_id=service.client_id).exists()
    days, sla = stored(service)
    assert sum(v["created"] for v in days.values()) == len(items)
    assert sla, "some clocks were decided"


def test_triggers_survive_the_migrations(db):
    """A later migration that rebuilds a table on SQLite drops its triggers: this notices."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_trigger "
                "WHERE tgname LIKE '%%_rollup_%%' AND NOT tgisinternal"
            )
            assert cursor.fetchone()[0] == 8
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master "
                "WHERE type = 'trigger' AND name LIKE '%_rollup_%'"
            )
            assert cursor.fetchone()[0] == 12


def test_runs_group_consecutive_days():
    days = [date(2026, 1, 3), date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 9)]
    assert runs_of(days) == [
        (date(2026, 1, 1), date(2026, 1, 3)),
        (date(2026, 1, 9), date(2026, 1, 9)),
    ]


def test_the_periodic_refresh_visits_every_client(setting):
    service, admin = setting
    make(admin, service)
    from bpo.portal.rollups import rollups_refresh_all
    from bpo.tenancy.scoping import all_clients_unscoped

    assert rollups_refresh_all() >= 1
    with all_clients_unscoped("test"):
        assert not RollupMark.objects.exists()
        assert ServiceDay.objects.filter(service=service).exists()
    assert rollups_refresh_all() == 0
