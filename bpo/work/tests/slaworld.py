"""A service with a full SLA policy, for the clock, sweep and routing tests."""

from __future__ import annotations

from typing import Any

from bpo.calendars import actions as calendars
from bpo.contracts import actions as contracts
from bpo.contracts.models import Service
from bpo.tenancy.context import acting_as
from bpo.work import actions
from bpo.work.models import Queue

WEEKDAYS_9_TO_5 = {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
TARGETS = [
    {"priority": "normal", "metric": "first_response", "duration_minutes": 120},
    {"priority": "normal", "metric": "next_response", "duration_minutes": 60},
    {"priority": "normal", "metric": "resolution", "duration_minutes": 480},
    {"priority": "high", "metric": "first_response", "duration_minutes": 30},
    {"priority": "high", "metric": "resolution", "duration_minutes": 240},
    {"priority": "urgent", "metric": "first_response", "duration_minutes": 15},
]


def sla_service(
    world: Any,
    client: Any = None,
    *,
    key: str = "care",
    targets: list[dict[str, Any]] | None = None,
    weekly: dict[str, list[str]] | None = None,
    **policy: Any,
) -> Service:
    """An active contract with one service under an SLA policy on a UTC calendar."""
    client = client or world.own
    policy = {
        "pause_states": ["pending_contact", "pending_client"],
        "warning_percent": 75,
        "on_warning": [{"type": "notify_managers"}],
        "on_breach": [{"type": "notify_managers"}, {"type": "raise_priority"}],
        **policy,
    }
    with acting_as(world.actor("admin")) as admin:
        calendar = calendars.calendar_create(
            actor=admin,
            client=client,
            name=f"Hours {key}",
            time_zone="UTC",
            weekly=weekly or WEEKDAYS_9_TO_5,
        )
        contract = contracts.contract_create(
            actor=admin,
            client=client,
            reference=f"SLA-{key}",
            title="Care",
            start_date="2026-01-01",
            currency="EUR",
        )
        version = contract.versions.get()
        sla = contracts.sla_policy_save(
            actor=admin, version=version, name="Standard", targets=targets or TARGETS, **policy
        )
        terms = contracts.service_add(
            actor=admin,
            version=version,
            key=key,
            name=f"Care {key}",
            process_type="customer_service",
            calendar=calendar,
            sla_policy_id=sla.pk,
        )
        contracts.contract_version_activate(actor=admin, version=version)
        actions.queue_default(terms.service)
    return terms.service


def queue_of(service: Service, name: str, **fields: Any) -> Queue:
    return Queue.objects.create(client_id=service.client_id, service=service, name=name, **fields)
