"""Demo intake: Northwind's customer-care address with two messages taken in through the real
pipeline (one a request, one an out-of-office answer that loop protection ignores), its public
request form, and a file of back-order questions imported from the web shop."""

from __future__ import annotations

import io
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone

from bpo.accounts.models import User
from bpo.contracts.models import Service
from bpo.intake import actions as intake
from bpo.intake import imports
from bpo.intake.models import Mailbox
from bpo.tenancy.context import acting_as, actor_for

ADDRESS = "care@northwind.example"
IMPORT_ROWS = 24
FIRST_NAMES = ["Lena", "Jonas", "Mia", "Paul", "Emma", "Ben", "Hannah", "Lukas"]


def _mail(sender: str, subject: str, body: str, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ADDRESS
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def _back_orders() -> bytes:
    lines = ["Reference,Subject,E-mail,Name,Order number,Reason"]
    for n in range(1, IMPORT_ROWS + 1):
        name = FIRST_NAMES[n % len(FIRST_NAMES)]
        lines.append(
            f"BO-2026-{n:04d},Back-order: when will order NW-{70000 + n} ship?,"
            f"{name.lower()}.{n}@customer.example,{name} Kunde,NW-{70000 + n},inquiry"
        )
    return ("\r\n".join(lines) + "\r\n").encode()


def seed_intake(*, admin: User, progress: Callable[[str], None]) -> None:
    """Give Northwind's service its address, form, first mail and an import (once)."""
    actor = actor_for(admin)
    with acting_as(actor):
        if Mailbox.objects.filter(address=ADDRESS).exists():
            progress("[6/9] intake: already there")
            return
        service = Service.objects.get(key="nw-customer-service")
        mailbox = intake.mailbox_save(
            actor=actor, service=service, address=ADDRESS, display_name="Northwind customer care"
        )
        intake.web_form_save(
            actor=actor,
            service=service,
            title="Contact Northwind customer care",
            intro="Questions about an order, a return or a refund: we answer within four "
            "business hours.",
        )
        for raw in (
            _mail(
                "sabine.krause@customer.example",
                "Rücksendung Bestellung NW-70412",
                "Guten Tag,\n\nich möchte die Jacke aus Bestellung NW-70412 zurückschicken; "
                "sie ist zu klein. Bekomme ich ein Rücksendeetikett?\n\nViele Grüße\nSabine Krause",
            ),
            _mail(
                "tom.baker@customer.example",
                "Out of office: Re: Your order NW-70388",
                "I am out of the office until Monday and will answer then.",
                Auto_Submitted="auto-replied",
            ),
        ):
            stored = intake.inbound_email_store(mailbox=mailbox, raw=raw, channel="smtp")
            intake.inbound_email_process(inbound_id=stored.pk)
        job = imports.import_upload(
            actor=actor,
            service=service,
            upload=io.BytesIO(_back_orders()),
            file_name="webshop-back-orders.csv",
        )
        imports.import_start(actor=actor, job=job, enqueue=False)
        job = imports.import_run(job_id=job.pk)
    progress(
        f"[6/9] intake: {ADDRESS}, a public form, 2 e-mails, "
        f"an import of {job.items_created} rows ({job.get_status_display().lower()})"
    )
