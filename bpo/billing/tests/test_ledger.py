"""The usage ledger: metering appends differences only, so it never counts twice; presence
spans follow the agent's presence; the monthly job drafts each contract's month once; mail is
retried until it goes out; the PDF and CSV say what the invoice says."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pypdfium2
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bpo.billing import actions as billing
from bpo.billing.delivery import deliveries_send
from bpo.billing.documents import CSV_COLUMNS, invoice_csv_rows, invoice_pdf
from bpo.billing.metering import Window, usage_meter
from bpo.billing.models import DeliveryStatus, Invoice, InvoiceDelivery, Meter, Usage
from bpo.billing.tests.test_invoices import (
    NOON,
    NOW,
    billed_contract,
    draft,
    per_item,
    resolve_items,
)
from bpo.intake.tests.conftest import free_port
from bpo.portal.queries import zone_of
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work import actions as work
from bpo.work.models import WorkItem
from bpo.workforce import actions as workforce
from bpo.workforce.models import Certification, PresenceSpan


def test_metering_again_appends_nothing_and_a_change_appends_its_difference(world):
    _, service = billed_contract(world, world.own, [per_item()])
    with acting_as(world.actor("admin")) as admin:
        items = resolve_items(admin, service, 3, NOON)
        window = Window(date(2026, 9, 1), date(2026, 9, 30), zone_of(service))
        assert usage_meter(service=service, window=window, now=NOW) == 1
        assert usage_meter(service=service, window=window, now=NOW) == 0
        # An item moved to another day: one row less there, one more on the new day.
        WorkItem.objects.filter(pk=items[0].pk).update(first_resolved_at=NOON + timedelta(days=1))
        assert usage_meter(service=service, window=window, now=NOW) == 2
        rows = Usage.objects.filter(service=service, meter=Meter.RESOLVED_ITEMS)
        by_day: dict[date, Decimal] = {}
        for row in rows:
            by_day[row.day] = by_day.get(row.day, Decimal(0)) + row.quantity
        assert by_day == {date(2026, 9, 10): 2, date(2026, 9, 11): 1}


def test_days_are_the_service_calendars(world):
    _, service = billed_contract(world, world.own, [per_item()])
    with acting_as(world.actor("admin")) as admin:
        # 23:30 UTC on Sep 9 is 01:30 on Sep 10 in Berlin.
        late = NOON.replace(day=9, hour=23, minute=30)
        resolve_items(admin, service, 1, late)
        usage_meter(
            service=service,
            window=Window(date(2026, 9, 1), date(2026, 9, 30), zone_of(service)),
            now=NOW,
        )
        (row,) = Usage.objects.filter(service=service)
        assert row.day == date(2026, 9, 10)


def test_presence_changes_are_kept_as_spans(world):
    agent = world.people["agent"]
    with acting_as(world.actor("agent")) as actor:
        workforce.agent_presence_set(actor=actor, presence="available")
        workforce.agent_presence_set(actor=actor, presence="busy")
        workforce.agent_presence_set(actor=actor, presence="offline")
    spans = list(PresenceSpan.objects.filter(user=agent).order_by("started_at", "id"))
    assert [span.presence for span in spans] == ["available", "busy"]
    assert all(span.ended_at is not None for span in spans)
    assert spans[0].ended_at == spans[1].started_at


def test_the_monthly_job_drafts_last_month_once_from_the_billing_day(world):
    contract, service = billed_contract(world, world.own, [per_item("2.00")], billing_day=3)
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 2, NOON)
    october_2 = timezone.make_aware(timezone.datetime(2026, 10, 2, 12))
    october_3 = october_2 + timedelta(days=1)
    assert billing.invoices_monthly(now=october_2) == 0  # before the billing day
    assert billing.invoices_monthly(now=october_3) == 1
    assert billing.invoices_monthly(now=october_3 + timedelta(hours=1)) == 0
    with all_clients_unscoped("test"):
        (invoice,) = Invoice.objects.filter(contract=contract)
        assert (invoice.period_start, invoice.net) == (date(2026, 9, 1), Decimal("4.00"))


def issued(world, contract) -> Invoice:
    with acting_as(world.actor("finance")) as finance:
        invoice = billing.invoice_approve(actor=finance, invoice=draft(world, contract))
        return billing.invoice_issue(actor=finance, invoice=invoice)


def test_mail_waits_while_the_server_is_away_and_goes_out_once_it_is_back(world, settings, peer):
    contract, service = billed_contract(world, world.own, [per_item("2.00")])
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 1, NOON)
    invoice = issued(world, contract)
    working = settings.OPENBPO_SMTP_URL
    settings.OPENBPO_SMTP_URL = f"smtp://127.0.0.1:{free_port()}"  # nobody listens there
    assert deliveries_send() == 0
    with all_clients_unscoped("test"):
        (delivery,) = InvoiceDelivery.objects.filter(invoice=invoice)
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
        assert delivery.last_error
    settings.OPENBPO_SMTP_URL = working
    assert deliveries_send() == 1
    assert len(peer.messages) == 1


@pytest.fixture
def september(world):
    contract, service = billed_contract(
        world,
        world.own,
        [per_item("1234.5", label="Überprüfte Bestellungen")],
        tax_rate_percent=Decimal("19"),
    )
    with acting_as(world.actor("admin")) as admin:
        resolve_items(admin, service, 2, NOON)
    return issued(world, contract)


def test_the_pdf_formats_money_for_the_locale(world, september):
    with acting_as(world.actor("finance")):
        pdf = invoice_pdf(september, "de_DE")
    document = pypdfium2.PdfDocument(pdf)
    text = "".join(page.get_textpage().get_text_range() for page in document)
    assert september.number in text
    assert "Überprüfte Bestellungen" in text
    # 2 × 1,234.50 = 2,469.00 net; 19 % VAT 469.11; total 2,938.11, written the German way.
    assert "2.469,00 €" in text and "469,11 €" in text and "2.938,11 €" in text
    with acting_as(world.actor("finance")):
        assert "$" not in text and "2,469.00" in "".join(
            page.get_textpage().get_text_range()
            for page in pypdfium2.PdfDocument(invoice_pdf(september, "en_US"))
        )


def test_the_csv_has_a_row_per_line_and_the_totals(world, september):
    with acting_as(world.actor("finance")):
        rows = invoice_csv_rows(september)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    parsed = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert [row["description"] for row in parsed][-3:] == ["net", "VAT 19%", "total"]
    assert parsed[0]["amount"] == "2469.0000" or Decimal(parsed[0]["amount"]) == Decimal("2469")
    assert Decimal(parsed[-1]["amount"]) == Decimal("2938.11")
    assert {row["document"] for row in parsed} == {september.number}


def test_a_reopened_item_resolved_next_month_is_not_billed_again(world):
    contract, service = billed_contract(world, world.own, [per_item("2.00")])
    with acting_as(world.actor("admin")) as admin:
        (item,) = resolve_items(admin, service, 1, NOON)
    with acting_as(world.actor("finance")) as finance:
        billing.invoice_approve(actor=finance, invoice=draft(world, contract))
    with acting_as(world.actor("admin")) as admin:
        work.work_item_transition(actor=admin, item=item, state="open")
        work.work_item_transition(actor=admin, item=item, state="resolved")
    october = draft(world, contract, date(2026, 10, 1))
    assert october.net == 0


def test_an_invoice_is_not_paid_before_it_was_issued(world, september):
    with acting_as(world.actor("finance")) as finance, pytest.raises(ValidationError) as raised:
        billing.invoice_mark_paid(
            actor=finance, invoice=september, paid_on=september.issued_at.date() - timedelta(days=1)
        )
    assert "before the invoice was issued" in raised.value.message_dict["paid_on"][0]


def test_an_invoice_with_credit_notes_is_not_voided(world, september):
    with acting_as(world.actor("finance")) as finance:
        billing.credit_note_create(actor=finance, invoice=september, reason="x", amount="1.00")
        with pytest.raises(ValidationError, match="has credit notes"):
            billing.invoice_void(actor=finance, invoice=september, reason="wrong")


def test_the_client_never_sees_a_draft_even_voided(world):
    from bpo.billing import queries

    contract, _ = billed_contract(world, world.own, [per_item()])
    invoice = draft(world, contract)
    with acting_as(world.actor("finance")) as finance:
        billing.invoice_void(actor=finance, invoice=invoice, reason="internal test")
    with acting_as(world.actor("client_admin")) as client_admin:
        assert not queries.invoices_of(actor=client_admin).exists()


def test_a_line_reads_quantity_times_price(world):
    fte = {"label": "FTE", "model": "per_fte", "unit_price": "4000.00", "fte_hours": "160"}
    contract, service = billed_contract(world, world.own, [fte])
    agent = world.people["agent"]
    with acting_as(world.actor("admin")):
        Certification.objects.create(client_id=service.client_id, user=agent, service=service)
        PresenceSpan.objects.create(
            user=agent,
            presence="available",
            started_at=NOON,
            ended_at=NOON + timedelta(minutes=100),
        )
    with acting_as(world.actor("admin")):
        (line,) = draft(world, contract).lines.all()
    # 100 min = 1.6667 h / 160 = 0.0104 FTE (shown) × 4000.00 = 41.60
    assert (line.quantity, line.amount) == (Decimal("0.0104"), Decimal("41.60"))


def test_a_day_far_from_the_invoice_has_no_usage(world, september):
    from django.http import Http404

    from bpo.billing import queries

    with acting_as(world.actor("finance")) as finance:
        line = september.lines.first()
        for day in (date(9999, 12, 31), date(1, 1, 1)):
            with pytest.raises(Http404):
                queries.usage_items(actor=finance, line_id=line.pk, day=day)
