"""Mailing issued invoices to the client's admins: one delivery per recipient, sent with the
PDF attached through the same SMTP transport as the outbox, retried until it goes out."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bpo.audit.log import record
from bpo.billing import documents
from bpo.billing.models import DeliveryStatus, Invoice, InvoiceDelivery
from bpo.intake.actions import mail_domain
from bpo.intake.outbox import Transport
from bpo.tenancy.models import Provider
from bpo.tenancy.scoping import all_clients_unscoped, client_scope
from bpo.web.formatting import format_money

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
BATCH = 100


def invoice_message(invoice: Invoice, to: str) -> EmailMessage:
    """The e-mail that carries an issued invoice to one of the client's admins."""
    provider = Provider.current()
    sender = settings.OPENBPO_BILLING_FROM or f"billing@{mail_domain()}"
    link = settings.OPENBPO_BASE_URL + reverse("billing:invoice", args=[invoice.pk])
    message = EmailMessage()
    message["From"] = formataddr((provider.name, sender))
    message["To"] = to
    what = invoice.get_kind_display()
    message["Subject"] = f"{what} {invoice.number} from {provider.name}"
    message["Message-ID"] = make_msgid(domain=mail_domain())
    message["Auto-Submitted"] = "auto-generated"
    money = format_money(invoice.total, invoice.currency, documents.mailing_locale(invoice))
    due = f", due {invoice.due_date:%Y-%m-%d}" if invoice.due_date else ""
    message.set_content(
        f"Hello,\n\n{what.lower()} {invoice.number} of {provider.name} for "
        f"{invoice.contract.reference} ({invoice.period_start:%B %Y}) is attached: "
        f"{money}{due}.\n\nIts lines, the usage behind them and the service-level credits are "
        f"in your portal:\n\n{link}\n"
    )
    message.add_attachment(
        documents.invoice_pdf(invoice),
        maintype="application",
        subtype="pdf",
        filename=f"{invoice.number}.pdf",
    )
    return message


def deliveries_send() -> int:
    """Send every pending delivery (at most a batch); returns how many went out."""
    with all_clients_unscoped("the invoice mail job sends every client's issued invoices"):
        pending = list(
            InvoiceDelivery.objects.filter(status=DeliveryStatus.PENDING)
            .order_by("id")
            .values_list("pk", "client_id")[:BATCH]
        )
    if not pending or not settings.OPENBPO_SMTP_URL:
        return 0
    transport = Transport(settings.OPENBPO_SMTP_URL)
    sent = 0
    try:
        for pk, client_id in pending:
            with client_scope([client_id]):
                sent += _send_one(pk, transport)
    finally:
        transport.close()
    return sent


def _send_one(pk: int, transport: Transport) -> int:
    with transaction.atomic():
        delivery = (
            InvoiceDelivery.objects.select_for_update(skip_locked=True)
            .select_related("invoice__contract", "invoice__version")
            .filter(pk=pk, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None:  # another worker has it, or it went out meanwhile
            return 0
        delivery.attempts += 1
        try:
            transport.send(invoice_message(delivery.invoice, delivery.to))
        except (smtplib.SMTPException, OSError) as error:
            transport.close()
            delivery.last_error = str(error)[:2000]
            if delivery.attempts >= MAX_ATTEMPTS or isinstance(
                error, smtplib.SMTPRecipientsRefused
            ):
                delivery.status = DeliveryStatus.FAILED
            delivery.save(update_fields=["attempts", "last_error", "status"])
            logger.warning("invoice %s to %s not sent: %s", delivery.invoice_id, delivery.to, error)
            return 0
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = timezone.now()
        delivery.save(update_fields=["attempts", "status", "sent_at", "last_error"])
        record(
            "invoice.mailed",
            obj=delivery.invoice,
            after={"to": delivery.to},
            actor_email="system: invoice mail",
        )
    return 1
