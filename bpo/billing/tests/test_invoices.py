"""A month's invoice from the work done: every charge model, tiers, true-up, baseline,
credits with the cap and earn-back, worked by hand; and the life of an invoice."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from bpo.billing import actions as billing
from bpo.billing.delivery import deliveries_send
from bpo.billing.models import Invoice, InvoiceStatus, LineKind, Meter, Usage
from bpo.calendars import actions as calendars
from bpo.contracts import actions as contracts
from bpo.contracts.models import RateCard, Service
from bpo.tenancy.context import acting_as
from bpo.work import actions as work
from bpo.work.models import SlaClock, WorkItem, WorkSession
from bpo.workforce.models import Certification, PresenceSpan

MONTH = date(2026, 9, 1)  # September 2026: Berlin is UTC+2 all month
NOON = datetime(2026, 9, 10, 10, 0, tzinfo=UTC)  # 12:00 in Berlin
NOW = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


FIRST_RESPONSE = [{"priority": "normal", "metric": "first_response", "duration_minutes": 60}]


def billed_contract(
    world,
    client,
    charges,
    *,
    key="support",
    minimum=None,
    targets=None,
    activate=True,
    **version_terms,
):
    """An agreed contract (from 2026-01-01, EUR) of one service priced by ``charges`` (still a
    draft unless ``activate``)."""
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
            targets=targets or FIRST_RESPONSE,
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
        if activate:
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


def per_item(price="2.00", **extra):
    return {"label": "Resolved", "model": "per_transaction", "unit_price": price, **extra}


TIERS = [{"up_to": "3", "price": "2.00"}, {"up_to": None, "price": "1.50"}]


@pytest.mark.parametrize(
    ("tiering", "expected"),
    [
        # 5 items: 3 at 2.00 and 2 at 1.50 = 9.00, on a line per tier reached.
        (
            "graduated",
            [
                ("charge", Decimal(3), Decimal("2"), Decimal("6.00")),
                ("charge", Decimal(2), Decimal("1.5"), Decimal("3.00")),
            ],
        ),
        # 5 items reach the second tier: all 5 at 1.50 = 7.50.
        ("volume", [("charge", Decimal(5), Decimal("1.5"), Decimal("7.50"))]),
    ],
)
def test_tiers(world, tiering, expected):
    contract, service = billed_contract(
        world,
        world.own,
        [{"label": "Resolved", "model": "per_transaction", "tiering": tiering, "tiers": TIERS}],
    )
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 5, NOON)
    assert lines(world, draft(world, contract)) == expected


def test_items_priced_by_channel_and_type_each_once_however_often_resolved(world):
    contract, service = billed_contract(
        world,
        world.own,
        [
            per_item("3.00", label="E-mail", channel="email"),
            per_item("1.00", label="Complaints", item_type="complaint"),
        ],
    )
    with acting_as(world.actor("admin")) as admin:
        (mail,) = resolve_items(admin, service, 1, NOON, channel="email", tags=["complaint"])
        resolve_items(admin, service, 2, NOON, channel="api")
        resolve_items(admin, service, 1, NOON, channel="api", tags=["complaint", "vip"])
        # Reopened and resolved again: still one transaction, on its first day.
        work.work_item_transition(actor=admin, item=mail, state="open")
        work.work_item_transition(actor=admin, item=mail, state="resolved")
    assert lines(world, draft(world, contract)) == [
        ("charge", Decimal(1), Decimal("3"), Decimal("3.00")),
        ("charge", Decimal(2), Decimal("1"), Decimal("2.00")),
    ]


def test_minimum_commitment_trues_up_the_shortfall(world):
    contract, service = billed_contract(world, world.own, [per_item("2.50")], minimum="20.00")
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 3, NOON)
    invoice = draft(world, contract)
    # 3 × 2.50 = 7.50 charged; the commitment of 20.00 adds 12.50.
    assert lines(world, invoice)[1] == ("true_up", Decimal(1), Decimal("12.50"), Decimal("12.50"))
    assert invoice.net == Decimal("20.00")


@pytest.mark.parametrize(
    ("resolved", "adjustment"),
    [
        # Baseline 4 ± 25 % (1 item): 7 resolved is 2 beyond the band, at 12.00 each.
        (7, [("baseline", Decimal(2), Decimal("12"), Decimal("24.00"))]),
        # 5 is inside the band: nothing.
        (5, []),
        # 1 resolved is 2 below the band, credited at 8.00 each.
        (1, [("baseline", Decimal(2), Decimal("-8"), Decimal("-16.00"))]),
    ],
)
def test_baseline_with_deadband(world, resolved, adjustment):
    charge = per_item(
        "10.00",
        baseline="4",
        deadband_percent="25",
        additional_rate="12.00",
        reduced_rate="8.00",
    )
    contract, service = billed_contract(world, world.own, [charge])
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, resolved, NOON)
    base = ("charge", Decimal(4), Decimal("10"), Decimal("40.00"))
    assert lines(world, draft(world, contract)) == [base, *adjustment]


def session(item, agent, start: datetime, minutes: int) -> None:
    WorkSession.objects.create(
        client_id=item.client_id,
        item=item,
        agent=agent,
        started_at=start,
        last_seen_at=start + timedelta(minutes=minutes),
        ended_at=start + timedelta(minutes=minutes),
    )


def test_handled_minutes_from_work_sessions(world):
    contract, service = billed_contract(
        world,
        world.own,
        [{"label": "Handling", "model": "per_handled_minute", "unit_price": "0.80"}],
    )
    agent = world.people["agent"]
    with acting_as(world.actor("admin")) as admin:
        (item,) = resolve_items(admin, service, 1, NOON)
        session(item, agent, NOON, 30)
        session(item, agent, NOON + timedelta(hours=1), 15)
        # Still open: not yet handled time.
        WorkSession.objects.create(
            client_id=item.client_id, item=item, agent=agent, started_at=NOON, last_seen_at=NOON
        )
    # 45 minutes × 0.80 = 36.00
    assert lines(world, draft(world, contract)) == [
        ("charge", Decimal(45), Decimal("0.8"), Decimal("36.00"))
    ]


def test_production_hours_and_ftes_split_a_shared_agent_between_clients(world):
    hourly = {"label": "Agents", "model": "per_production_hour", "unit_price": "25.00"}
    fte = {"label": "FTE", "model": "per_fte", "unit_price": "4000.00", "fte_hours": "160"}
    contract, service = billed_contract(world, world.own, [hourly, fte])
    _, elsewhere = billed_contract(world, world.other, [per_item()], key="other-support")
    agent = world.people["agent"]
    with acting_as(world.actor("admin")) as admin:
        for certified in (service, elsewhere):
            Certification.objects.create(
                client_id=certified.client_id, user=agent, service=certified
            )
        # Sep 10, 08:00–16:00 Berlin logged in; 3 h handled for us, 1 h for the other client:
        # our share is 3/4 of 8 h = 6 h.
        PresenceSpan.objects.create(
            user=agent,
            presence="available",
            started_at=NOON - timedelta(hours=4),
            ended_at=NOON + timedelta(hours=4),
        )
        (ours,) = resolve_items(admin, service, 1, NOON)
        session(ours, agent, NOON - timedelta(hours=3), 180)
        (theirs,) = resolve_items(admin, elsewhere, 1, NOON)
        session(theirs, agent, NOON + timedelta(hours=1), 60)
        # Sep 11: 4 h logged in (2 h available, 2 h busy), nothing handled: split equally
        # between the two services the agent is certified for, 2 h each. Away is not counted.
        start = NOON + timedelta(days=1)
        for presence, hours in (("available", 2), ("busy", 2), ("away", 3)):
            PresenceSpan.objects.create(
                user=agent,
                presence=presence,
                started_at=start,
                ended_at=start + timedelta(hours=hours),
            )
            start += timedelta(hours=hours)
    # 8 h × 25.00 = 200.00; 8 h / 160 h = 0.05 FTE × 4000.00 = 200.00
    assert lines(world, draft(world, contract)) == [
        ("charge", Decimal(8), Decimal("25"), Decimal("200.00")),
        ("charge", Decimal("0.05"), Decimal("4000"), Decimal("200.00")),
    ]


@pytest.mark.parametrize(("rounding", "tax"), [("half_up", "1.43"), ("half_even", "1.42")])
def test_tax_rounded_by_the_contracts_rule(world, rounding, tax):
    contract, service = billed_contract(
        world,
        world.own,
        [per_item("2.50"), {"label": "Fee", "model": "fixed_fee", "unit_price": "0.00"}],
        tax_rate_percent=Decimal("19"),
        rounding=rounding,
    )
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 3, NOON)
    invoice = draft(world, contract)
    # 19 % of 7.50 = 1.425: half up 1.43, half to even 1.42.
    assert (invoice.net, invoice.tax, invoice.total) == (
        Decimal("7.50"),
        Decimal(tax),
        Decimal("7.50") + Decimal(tax),
    )


def test_yen_has_no_minor_unit(world):
    contract, service = billed_contract(world, world.own, [per_item("120.5")], currency="JPY")
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 3, NOON)
    # 3 × 120.5 = 361.5 → 362 yen (half up)
    assert draft(world, contract).net == Decimal("362")


def breach_in(
    admin, service, when: datetime, *, met: bool, count: int = 1, priority: str = "normal"
) -> None:
    """Items whose first-response clock was decided at ``when``: met or breached."""
    for n in range(count):
        item = work.work_item_create(
            actor=admin, service=service, title=f"Question {n}", priority=priority
        )
        WorkItem.objects.filter(pk=item.pk).update(created_at=when - timedelta(hours=1))
        clock = SlaClock.objects.get(item=item)
        if met:
            SlaClock.objects.filter(pk=clock.pk).update(stopped_at=when, met=True)
        else:
            SlaClock.objects.filter(pk=clock.pk).update(breached_at=when)


CRITICAL = [
    {
        "priority": "normal",
        "metric": "first_response",
        "duration_minutes": 60,
        "service_level_percent": Decimal("90"),
        "credit_share_percent": Decimal("50"),
    },
    {
        "priority": "high",
        "metric": "first_response",
        "duration_minutes": 30,
        "service_level_percent": Decimal("90"),
        "credit_share_percent": Decimal("50"),
    },
    # Reported, not critical: its misses earn nothing.
    {"priority": "low", "metric": "first_response", "duration_minutes": 240},
]
FEE = {"label": "Service fee", "model": "fixed_fee", "unit_price": "1000.00"}
CREDIT_TERMS = {"credit_at_risk_percent": Decimal("10"), "credit_pool_percent": Decimal("150")}


def test_a_missed_critical_level_earns_its_share_of_the_pool(world):
    contract, service = billed_contract(world, world.own, [FEE], targets=CRITICAL, **CREDIT_TERMS)
    with acting_as(world.actor("admin")) as admin:
        breach_in(admin, service, NOON, met=True, count=8)
        breach_in(admin, service, NOON, met=False, count=2)  # 8 of 10 met: 80 % < 90 %
        breach_in(admin, service, NOON, met=False, priority="low")
    invoice = draft(world, contract)
    # At risk: 10 % of 1000.00 = 100.00; pool 150 %; the level's share 50 %:
    # 100.00 × 1.5 × 0.5 = 75.00.
    assert lines(world, invoice) == [
        ("charge", Decimal(1), Decimal("1000"), Decimal("1000.00")),
        ("sla_credit", Decimal(1), Decimal("-75"), Decimal("-75.00")),
    ]
    assert invoice.net == Decimal("925.00")


def test_credits_are_capped_at_the_amount_at_risk(world):
    contract, service = billed_contract(world, world.own, [FEE], targets=CRITICAL, **CREDIT_TERMS)
    with acting_as(world.actor("admin")) as admin:
        breach_in(admin, service, NOON, met=False)
        breach_in(admin, service, NOON, met=False, priority="high")
    invoice = draft(world, contract)
    # Two misses: 75.00 + 75.00 = 150.00, capped at the 100.00 at risk (+50.00 back).
    assert [line[0] for line in lines(world, invoice)] == [
        "charge",
        "sla_credit",
        "sla_credit",
        "credit_cap",
    ]
    assert lines(world, invoice)[3] == ("credit_cap", Decimal(1), Decimal("50"), Decimal("50.00"))
    assert invoice.net == Decimal("900.00")


def approve(world, invoice) -> Invoice:
    with acting_as(world.actor("finance")) as finance:
        return billing.invoice_approve(actor=finance, invoice=invoice)


def test_earn_back_returns_a_credit_when_the_following_month_beats_the_target(world):
    contract, service = billed_contract(
        world, world.own, [FEE], targets=CRITICAL, earn_back_months=1, **CREDIT_TERMS
    )
    with acting_as(world.actor("admin")) as admin:
        breach_in(admin, service, NOON, met=False)
        breach_in(admin, service, NOON + timedelta(days=30), met=True, count=3)  # October
    september = approve(world, draft(world, contract))
    october = draft(world, contract, date(2026, 10, 1))
    assert lines(world, october) == [
        ("charge", Decimal(1), Decimal("1000"), Decimal("1000.00")),
        ("earn_back", Decimal(1), Decimal("75"), Decimal("75.00")),
    ]
    with acting_as(world.actor("admin")):
        (earned,) = october.lines.filter(kind=LineKind.EARN_BACK)
        assert earned.earns_back.invoice_id == september.pk


def test_no_earn_back_when_the_following_month_misses_too(world):
    contract, service = billed_contract(
        world, world.own, [FEE], targets=CRITICAL, earn_back_months=1, **CREDIT_TERMS
    )
    with acting_as(world.actor("admin")) as admin:
        breach_in(admin, service, NOON, met=False)
        breach_in(admin, service, NOON + timedelta(days=30), met=False)
    approve(world, draft(world, contract))
    october = draft(world, contract, date(2026, 10, 1))
    assert [line[0] for line in lines(world, october)] == ["charge", "sla_credit"]


def test_approved_invoice_never_changes_and_late_usage_goes_to_the_next(world):
    contract, service = billed_contract(world, world.own, [per_item("2.00")])
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 3, NOON)
    september = approve(world, draft(world, contract))
    with acting_as(world.actor("admin")) as admin:
        # Work of September that reaches the system after the invoice was approved.
        resolve_items(admin, service, 2, NOON + timedelta(days=5))
        resolve_items(admin, service, 1, NOON + timedelta(days=25))  # October 5
    with pytest.raises(ValidationError, match="never changes"):
        draft(world, contract)
    october = draft(world, contract, date(2026, 10, 1))
    assert lines(world, october) == [("charge", Decimal(3), Decimal("2"), Decimal("6.00"))]
    with acting_as(world.actor("admin")):
        september.refresh_from_db()
        assert september.net == Decimal("6.00")
        assert sorted(u.day.day for u in Usage.objects.filter(invoice=october)) == [5, 15]


def test_a_later_month_waits_for_the_open_draft_before_it(world):
    contract, _ = billed_contract(world, world.own, [per_item()])
    draft(world, contract)
    with pytest.raises(ValidationError, match="2026-09 is still a draft"):
        draft(world, contract, date(2026, 10, 1))


def test_void_releases_the_usage_to_a_new_invoice(world):
    contract, service = billed_contract(world, world.own, [per_item("2.00")])
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 3, NOON)
    first = approve(world, draft(world, contract))
    with acting_as(world.actor("finance")) as finance:
        billing.invoice_void(actor=finance, invoice=first, reason="Wrong rate card")
    again = draft(world, contract)
    assert again.pk != first.pk
    assert again.net == Decimal("6.00")


def test_issue_numbers_without_gaps_and_mails_the_client_admins(world, peer):
    contract, service = billed_contract(world, world.own, [per_item("2.00")])
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 3, NOON)
    september = approve(world, draft(world, contract))
    with acting_as(world.actor("finance")) as finance:
        issued = billing.invoice_issue(actor=finance, invoice=september)
    assert issued.number.startswith("INV-") and issued.number.endswith("-00001")
    assert issued.due_date == issued.issued_at.date() + timedelta(days=30)
    assert deliveries_send() == 1
    ((_, recipients, raw),) = peer.messages
    message = email.message_from_bytes(raw)
    assert recipients == ["client_admin@own.test"]
    assert issued.number in message["Subject"]
    (attachment,) = [part for part in message.walk() if part.get_filename()]
    assert attachment.get_payload(decode=True).startswith(b"%PDF")
    assert deliveries_send() == 0  # sent once
    with acting_as(world.actor("finance")) as finance:
        october = approve(world, draft(world, contract, date(2026, 10, 1)))
        assert billing.invoice_issue(actor=finance, invoice=october).number.endswith("-00002")
        paid = billing.invoice_mark_paid(actor=finance, invoice=issued)
        assert paid.status == InvoiceStatus.PAID


def test_credit_notes_never_exceed_the_invoice(world):
    contract, service = billed_contract(world, world.own, [per_item("2.00")])
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 3, NOON)
    with acting_as(world.actor("finance")) as finance:
        invoice = billing.invoice_issue(
            actor=finance, invoice=approve(world, draft(world, contract))
        )
        note = billing.credit_note_create(
            actor=finance, invoice=invoice, reason="One order was a test", amount="2.00"
        )
        assert (note.kind, note.net, note.corrects_id) == (
            "credit_note",
            Decimal("-2.00"),
            invoice.pk,
        )
        with pytest.raises(ValidationError, match=r"€4\.00 of the invoice"):
            billing.credit_note_create(actor=finance, invoice=invoice, reason="All", amount="5")
        rest = billing.credit_note_create(actor=finance, invoice=invoice, reason="Rest")
        assert rest.net == Decimal("-4.00")
        billing.invoice_approve(actor=finance, invoice=note)
        assert billing.invoice_issue(actor=finance, invoice=note).number.startswith("CN-")
        with pytest.raises(ValidationError, match="amount"):
            billing.credit_note_create(actor=finance, invoice=invoice, reason="x", amount=1.5)


@pytest.mark.parametrize(
    ("charge", "field", "message"),
    [
        (
            {
                "tiering": "graduated",
                "tiers": [
                    {"up_to": "10", "price": "1"},
                    {"up_to": "5", "price": "1"},
                    {"up_to": None, "price": "1"},
                ],
            },
            "tiers",
            "overlaps",
        ),
        ({"unit_price": "-1.00"}, "unit_price", ""),
        ({"tiering": "volume", "tiers": [{"up_to": "10", "price": "1"}]}, "tiers", "open-ended"),
        ({"unit_price": None}, "unit_price", "needs its unit price"),
        ({"baseline": "100"}, "additional_rate", "additional and reduced rates"),
    ],
)
def test_bad_charges_are_refused_with_the_field(world, charge, field, message):
    _, service = billed_contract(world, world.own, [], activate=False)
    with acting_as(world.actor("admin")) as admin:
        card = RateCard.objects.get(service=service)
        with pytest.raises(ValidationError) as raised:
            billing.charge_add(actor=admin, rate_card=card, **{**per_item(), **charge})
    assert field in raised.value.message_dict
    assert message in " ".join(raised.value.message_dict[field])


def test_activation_refuses_an_empty_rate_card_and_shares_above_the_pool(world):
    shares = [{**target, "credit_share_percent": Decimal("60")} for target in CRITICAL[:2]]
    contract, _ = billed_contract(world, world.own, [], targets=shares, activate=False)
    with acting_as(world.actor("admin")) as admin:
        version = contract.versions.get()
        with pytest.raises(ValidationError) as raised:
            contracts.contract_version_activate(actor=admin, version=version)
        text = " ".join(raised.value.messages)
        assert "The rate card of Support has no charges." in text
        assert "add up to 120.00%" in text
        assert "no share of the fees is at risk" in text
        with pytest.raises(ValidationError, match="credit share is above 0, at most 100"):
            contracts.sla_policy_save(
                actor=admin,
                version=version,
                name="Q",
                targets=[{**CRITICAL[0], "credit_share_percent": Decimal("120")}],
            )


def test_a_policy_two_services_share_counts_its_shares_for_each(world):
    shares = [{**CRITICAL[0], "credit_share_percent": Decimal("60")}]
    contract, _ = billed_contract(
        world, world.own, [FEE], targets=shares, activate=False, **CREDIT_TERMS
    )
    with acting_as(world.actor("admin")) as admin:
        version = contract.versions.get()
        terms = version.terms.get()
        contracts.service_add(
            actor=admin,
            version=version,
            key="second",
            name="Second",
            process_type="task",
            calendar=terms.calendar,
            sla_policy_id=terms.sla_policy_id,
        )
        with pytest.raises(ValidationError, match=r"add up to 120\.00%"):
            contracts.contract_version_activate(actor=admin, version=version)
