"""Sending the outbox: due messages go out through SMTP (OPENBPO_SMTP_URL), each claimed
first so two workers never send the same message, failures retried with back-off and, when
retries are spent or the recipient is refused, written on the item's timeline."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bpo.audit.log import record
from bpo.intake.actions import next_attempt
from bpo.intake.models import OutboundEmail, OutboundStatus
from bpo.tenancy.scoping import all_clients_unscoped, client_scope
from bpo.work import actions as work
from bpo.work.models import EventKind

logger = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)  # a claimed message is not claimed again for this long
UNCONFIGURED_WAIT = timedelta(minutes=5)
BATCH = 200


@dataclass
class OutboxReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


class Transport:
    """One SMTP connection for a batch, opened when the first message needs it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        if self.client is None:
            self.client = _connect(self.url)
        self.client.send_message(message)

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (smtplib.SMTPException, OSError):
                self.client.close()
            self.client = None


def _connect(url: str) -> smtplib.SMTP:
    """An SMTP session for smtp://, smtp+starttls:// or smtps:// (user:password@host:port)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or "localhost"
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if scheme == "smtps":
        client = smtplib.SMTP_SSL(host, parts.port or 465, timeout=30, context=context)
    elif scheme in ("smtp", "smtp+starttls"):
        client = smtplib.SMTP(host, parts.port or (587 if "starttls" in scheme else 25), timeout=30)
        if scheme == "smtp+starttls":
            client.starttls(context=context)
    else:
        raise ValueError(
            f"OPENBPO_SMTP_URL: unknown scheme {scheme!r} (smtp, smtp+starttls, smtps)"
        )
    if parts.username:
        client.login(unquote(parts.username), unquote(parts.password or ""))
    return client


def message_of(outbound: OutboundEmail) -> EmailMessage:
    """The e-mail as it goes out: from the service's address, threaded into the conversation."""
    mailbox = outbound.mailbox
    message = EmailMessage()
    message["From"] = formataddr((mailbox.display_name, mailbox.address))
    message["To"] = outbound.to
    message["Subject"] = outbound.subject
    message["Date"] = format_datetime(outbound.created_at)
    message["Message-ID"] = f"<{outbound.message_id}>"
    if outbound.in_reply_to:
        message["In-Reply-To"] = f"<{outbound.in_reply_to}>"
    if outbound.references:
        message["References"] = outbound.references
    if outbound.kind != "reply":
        # Written by a machine: other machines must not answer it (RFC 3834).
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    message.set_content(outbound.body)
    return message


def outbox_send(*, now: datetime | None = None) -> OutboxReport:
    """Send every due message of every client (at most a batch); see the module."""
    now = now or timezone.now()
    report = OutboxReport()
    with all_clients_unscoped("the outbox job sends every client's due mail"):
        due = list(
            OutboundEmail.objects.filter(status=OutboundStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("pk", "client_id")[:BATCH]
        )
    if not due:
        return report
    transport = Transport(settings.OPENBPO_SMTP_URL)
    try:
        for pk, client_id in due:
            with client_scope([client_id]):
                outcome = _send_one(pk, transport, now)
            if outcome == "sent":
                report.sent += 1
            elif outcome == "failed":
                report.failed += 1
            elif outcome == "retrying":
                report.retrying += 1
    finally:
        transport.close()
    return report


def _send_one(pk: int, transport: Transport, now: datetime) -> str:
    claimed = OutboundEmail.objects.filter(
        pk=pk, status=OutboundStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + LEASE)
    if not claimed:
        return "taken"
    outbound = OutboundEmail.objects.select_related("mailbox", "item").get(pk=pk)
    if not settings.OPENBPO_SMTP_URL:
        outbound.last_error = "OPENBPO_SMTP_URL is not set: there is nowhere to send mail."
        outbound.next_attempt_at = now + UNCONFIGURED_WAIT
        outbound.save(update_fields=["last_error", "next_attempt_at"])
        return "retrying"
    try:
        transport.send(message_of(outbound))
    except smtplib.SMTPRecipientsRefused as exc:
        transport.close()
        return _failed(outbound, now, _describe(exc), permanent=_permanent(exc))
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        transport.close()
        return _failed(outbound, now, _describe(exc), permanent=False)
    outbound.status = OutboundStatus.SENT
    outbound.sent_at = timezone.now()
    outbound.attempts += 1
    outbound.last_error = ""
    outbound.save(update_fields=["status", "sent_at", "attempts", "last_error"])
    return "sent"


def _permanent(exc: smtplib.SMTPRecipientsRefused) -> bool:
    return all(code >= 500 for code, _ in exc.recipients.values())


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{to}: {code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
            for to, (code, text) in exc.recipients.items()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        return (
            f"{exc.smtp_code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
        )
    return f"{type(exc).__name__}: {exc}"


def _failed(outbound: OutboundEmail, now: datetime, error: str, *, permanent: bool) -> str:
    outbound.attempts += 1
    outbound.last_error = error[:2000]
    retry_at = None if permanent else next_attempt(outbound.attempts, now)
    if retry_at is not None:
        outbound.next_attempt_at = retry_at
        outbound.save(update_fields=["attempts", "last_error", "next_attempt_at"])
        logger.info("outbox: %s to %s failed, retrying at %s", outbound.pk, outbound.to, retry_at)
        return "retrying"
    with transaction.atomic():
        _give_up(outbound, error)
    return "failed"


def _give_up(outbound: OutboundEmail, error: str) -> None:
    outbound.status = OutboundStatus.FAILED
    outbound.save(update_fields=["status", "attempts", "last_error"])
    work.system_event(
        outbound.item,
        EventKind.NOTE,
        body=f"The e-mail to {outbound.to} could not be sent "
        f"({outbound.attempts} attempt{'s' if outbound.attempts != 1 else ''}): {error}",
        outbound_email=outbound.pk,
    )
    record(
        "outbound_email.failed",
        obj=outbound,
        after={"to": outbound.to, "attempts": outbound.attempts, "error": error[:500]},
        actor_email="system: outbox",
    )
