"""The demo's agreements: each client's calendar, contract, services and SLA policy."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bpo.calendars import actions as calendars
from bpo.calendars.models import BusinessCalendar
from bpo.contracts import actions as contracts
from bpo.contracts.models import Contract
from bpo.tenancy.context import Actor
from bpo.tenancy.models import Client

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


# The service levels promised per metric: the share of items meeting the target in a month.
SERVICE_LEVELS = {"first_response": "90", "next_response": "85", "resolution": "80"}


def _targets(minutes: dict[str, tuple[int, int, int]]) -> list[dict[str, Any]]:
    """Response and resolution targets per priority: (first response, next response, resolution),
    each with the service level promised."""
    rows = []
    for priority, durations in minutes.items():
        rows += [
            {
                "priority": priority,
                "metric": metric,
                "duration_minutes": duration,
                "service_level_percent": Decimal(SERVICE_LEVELS[metric]),
            }
            for metric, duration in zip(SERVICE_LEVELS, durations, strict=True)
        ]
    return rows


AGREEMENTS: dict[str, dict[str, Any]] = {
    "northwind": {
        "calendar": {
            "name": "Customer service hours (Berlin)",
            "time_zone": "Europe/Berlin",
            "weekly": {
                **{d: ["08:00-13:00", "14:00-20:00"] for d in WEEKDAYS},
                "sat": ["09:00-14:00"],
            },
            "holiday_country": "DE",
            "holiday_subdivision": "BE",
            "holidays": [{"date": "2026-12-24", "name": "Christmas Eve"}],
            "exceptions": [
                {"date": "2026-12-31", "shifts": ["08:00-13:00"], "note": "New Year's Eve"}
            ],
        },
        "contract": {
            "reference": "NW-2026-01",
            "title": "Customer service outsourcing",
            "start_date": "2026-01-01",
            "currency": "EUR",
            "billing_day": 1,
            "retention_days": 730,
        },
        "policy": {
            "name": "Customer service standard",
            "pause_states": ["pending_contact"],
            "warning_percent": 75,
            "on_warning": [{"type": "notify_managers"}],
            "on_breach": [{"type": "notify_managers"}, {"type": "raise_priority"}],
            "targets": _targets(
                {
                    "urgent": (30, 60, 8 * 60),
                    "high": (120, 240, 16 * 60),
                    "normal": (240, 480, 3 * 13 * 60),
                    "low": (480, 960, 5 * 13 * 60),
                }
            ),
        },
        "services": [
            {
                "key": "nw-customer-service",
                "name": "Customer service: e-mail, web form and chat",
                "process_type": "customer_service",
                "scope_included": "Order status, returns and refunds, complaints, "
                "after-sales questions in German and English.",
                "scope_excluded": "Wholesale customers; legal disputes; payment fraud.",
                "deliverables": "Answers within the SLA; a monthly service report.",
                "custom_fields": [
                    {"name": "order_number", "label": "Order number", "type": "text"},
                    {
                        "name": "reason",
                        "label": "Reason",
                        "type": "choice",
                        "required": True,
                        "choices": ["inquiry", "complaint", "return", "after_sales"],
                    },
                ],
            }
        ],
    },
    "acme": {
        "calendar": {
            "name": "Finance office (Chicago)",
            "time_zone": "America/Chicago",
            "weekly": {d: ["08:00-12:00", "13:00-17:00"] for d in WEEKDAYS},
            "holiday_country": "US",
            "holiday_subdivision": "IL",
        },
        "contract": {
            "reference": "ACME-FA-2026",
            "title": "Finance and accounting outsourcing",
            "start_date": "2026-01-01",
            "currency": "USD",
            "billing_day": 5,
            "retention_days": 3650,
        },
        "policy": {
            "name": "Finance deliverables",
            "pause_states": ["pending_client"],
            "warning_percent": 80,
            "on_warning": [{"type": "notify_managers"}],
            "on_breach": [
                {"type": "notify_managers"},
                {"type": "move_to_queue", "queue": "Finance escalations"},
            ],
            "targets": [
                {
                    "priority": p,
                    "metric": "deadline",
                    "deadline": {"kind": "next_business_day", "at": "10:00"},
                }
                for p in ("low", "normal", "high", "urgent")
            ],
        },
        "services": [
            {
                "key": "acme-reconciliation",
                "name": "Bank reconciliation",
                "process_type": "reconciliation",
                "scope_included": "Daily reconciliation of the operating and payroll accounts.",
                "scope_excluded": "Intercompany accounts; investment accounts.",
                "deliverables": "Daily financial report by 10:00 on the next business day.",
            },
            {
                "key": "acme-close",
                "name": "Month-end close and tax filings",
                "process_type": "task",
                "scope_included": "Month-end close tasks, sales-tax returns, payroll filings.",
                "scope_excluded": "Annual audit support.",
                "deliverables": "Filed returns with confirmation documents.",
            },
        ],
    },
}


def seed_agreements(
    *, actor: Actor, clients: dict[str, Client], progress: Callable[[str], None]
) -> None:
    """Create each demo client's calendar and active contract unless they exist already."""
    for slug, spec in AGREEMENTS.items():
        client = clients[slug]
        calendar = BusinessCalendar.objects.filter(
            client=client, name=spec["calendar"]["name"]
        ).first() or calendars.calendar_create(actor=actor, client=client, **spec["calendar"])
        if not Contract.objects.filter(
            client=client, reference=spec["contract"]["reference"]
        ).exists():
            contract = contracts.contract_create(actor=actor, client=client, **spec["contract"])
            version = contract.versions.get()
            policy_spec = dict(spec["policy"])
            targets = policy_spec.pop("targets")
            policy = contracts.sla_policy_save(
                actor=actor, version=version, targets=targets, **policy_spec
            )
            for service in spec["services"]:
                contracts.service_add(
                    actor=actor,
                    version=version,
                    calendar=calendar,
                    sla_policy_id=policy.pk,
                    **service,
                )
            contracts.contract_version_activate(actor=actor, version=version)
        progress(f"[4/9] agreements of {client.name}: {spec['contract']['reference']}")
