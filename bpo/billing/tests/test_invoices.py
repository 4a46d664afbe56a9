"""A month's invoice from the work done: every charge model, tiers, true-up, baseline,
credits with the cap and earn-back, worked by hand; and the life of an invoice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from bpo.billing import actions as billing
from bpo.billing.metering import Window, usage_meter
from bpo.billing.models import Invoice, InvoiceStatus, LineKind, Meter, Usage
from bpo.calendars import actions as calendars
from bpo.contracts import actions as contracts
from bpo.contracts.models import ContractVersion, Service
from bpo.tenancy.context import acting_as
from bpo.work import actions as work
from bpo.work.models import WorkItem, WorkSession
from bpo.workforce.models import Certification, PresenceSpan

MONTH = date(2026, 9, 1)  # September 2026: Berlin is UTC+2 all month
NOON = datetime(2026, 9, 10, 10, 0, tzinfo=UTC)  # 12:00 in Berlin
NOW = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


def billed_contract(world, client, charges, *, key="support", minimum=None, **version_terms):
    """An agreed contract (from 2026-01-01, EUR) of one service priced by ``charges``."""
    with acting_as(world.actor("admin")) as admin:
        calendar = calendars.calendar_create(
            actor=admin,
            client=client,
            name=f"Hours {key}",
            time_zone="Europe/Berlin",
            weekly={d: ["08:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        )
        contract = contracts.contract_create(
            actor=admin,
            client=client,
            reference=f"C-{key}",
            title="Support",
            start_date="2026-01-01",
            currency="EUR",
        )
        version = contract.versions.get()
        if version_terms:
            contracts.contract_version_update(actor=admin, version=version, **version_terms)
        policy = contracts.sla_policy_save(
            actor=admin,
            version=version,
            name="Standard",
            targets=[{"priority": "normal", "metric": "first_response", "duration_minutes": 60}],
        )
        terms = contracts.service_add(
            actor=admin,
            version=version,
            key=key,
            name="Support",
            process_type="customer_service",
            calendar=calendar,
            sla_policy_id=policy.pk,
        )
        card = billing.rate_card_set(
            actor=admin, version=version, service=terms.service, minimum_commitment=minimum
        )
        for charge in charges:
            billing.charge_add(actor=admin, rate_card=card, **charge)
        contracts.contract_version_activate(actor=admin, version=version)
    return contract, terms.service


def resolve_items(admin, service: Service, count: int, at: datetime, **extra) -> list[WorkItem]:
    items = []
    for n in range(count):
        item = work.work_item_create(actor=admin, service=service, title=f"Order {n}", **extra)
        work.work_item_transition(actor=admin, item=item, state="resolved")
        WorkItem.objects.filter(pk=item.pk).update(first_resolved_at=at, resolved_at=at)
        items.append(item)
    return items


def draft(world, contract, month=MONTH) -> Invoice:
    with acting_as(world.actor("finance")) as finance:
        return billing.invoice_draft(actor=finance, contract=contract, month=month, now=NOW)


def lines(world, invoice):
    with acting_as(world.actor("admin")):
        return [(ln.kind, ln.quantity, ln.unit_price, ln.amount) for ln in invoice.lines.all()]


def test_per_resolved_item_flat_and_recompute_gives_the_same_lines(world):
    contract, service = billed_contract(
        world, world.own, [{"label": "Resolved", "model": "per_transaction", "unit_price": "2.50"}]
    )
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 3, NOON)
        resolve_items(admin, service, 2, NOON + timedelta(days=30))  # October: not billed
    invoice = draft(world, contract)
    assert lines(world, invoice) == [("charge", Decimal(3), Decimal("2.5"), Decimal("7.50"))]
    assert (invoice.net, invoice.tax, invoice.total) == (Decimal("7.5"), 0, Decimal("7.5"))
    again = draft(world, contract)
    assert again.pk == invoice.pk
    assert lines(world, again) == lines(world, invoice)
    with acting_as(world.actor("admin")):
        # Only August and September were metered; October waits for its own invoice.
        assert Usage.objects.filter(meter=Meter.RESOLVED_ITEMS).count() == 1
        assert sum(u.quantity for u in Usage.objects.filter(invoice=invoice)) == 3
