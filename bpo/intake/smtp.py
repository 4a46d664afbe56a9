"""The built-in SMTP receiver (``manage.py smtp_receive``): mail for the services' addresses
arrives here, is stored raw and then taken in.

The conversation answers as a mail server should: an address that is no mailbox of ours is
refused at RCPT (550), a message above OPENBPO_MAX_EMAIL_BYTES at DATA (552, by aiosmtpd's size
limit, which it also announces in EHLO), and a message that could not be stored gets a
temporary error (451) so the sending server keeps it and tries again. Once stored, the message
is OpenBPO's: it is accepted (250) whether or not processing succeeds, and a failure is listed
for an admin with the raw message kept for a retry.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection

from bpo.audit.context import request_context
from bpo.intake.actions import inbound_email_process, inbound_email_store
from bpo.intake.models import Mailbox
from bpo.tenancy.scoping import all_clients_unscoped, client_scope

logger = logging.getLogger(__name__)


def mailbox_for(address: str) -> Mailbox | None:
    """The active mailbox of an address, whatever its client: mail is routed by its address."""
    with all_clients_unscoped("the SMTP receiver routes mail by the address it is sent to"):
        return (
            Mailbox.objects.filter(address__iexact=address.strip(), active=True)
            .select_related("service")
            .first()
        )


def receive(raw: bytes, recipients: list[str], mail_from: str, peer: str) -> list[int]:
    """Store and take in one message for each of our mailboxes it was sent to (each client
    gets its own copy). Returns the stored messages' ids."""
    close_old_connections()
    try:
        stored = []
        mailboxes = {m.pk: m for r in recipients if (m := mailbox_for(r)) is not None}
        with request_context(request_id=f"smtp-{uuid.uuid4().hex[:12]}", ip=_ip(peer)):
            for mailbox in mailboxes.values():
                with client_scope([mailbox.client_id]):
                    message = inbound_email_store(
                        mailbox=mailbox,
                        raw=raw,
                        channel="smtp",
                        envelope_from=mail_from,
                        peer=peer,
                    )
                    stored.append(message.pk)
            for mailbox, pk in zip(mailboxes.values(), stored, strict=True):
                with client_scope([mailbox.client_id]):
                    inbound_email_process(inbound_id=pk)
        return stored
    finally:
        connection.close()  # this worker thread's own connection


class IntakeHandler:
    """aiosmtpd hooks; the database work runs in a worker thread, off the event loop."""

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        mailbox = await sync_to_async(_mailbox_exists, thread_sensitive=False)(address)
        if not mailbox:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer or "")
        try:
            ids = await sync_to_async(receive, thread_sensitive=False)(
                raw, list(envelope.rcpt_tos), envelope.mail_from or "", peer
            )
        except Exception:
            logger.exception("SMTP receiver: a message from %s could not be stored", peer)
            return "451 4.3.0 The message could not be stored; please try again later"
        return f"250 2.0.0 OK: stored as {', '.join(f'#{i}' for i in ids)}"


def _ip(peer: str) -> str | None:
    try:
        return str(ipaddress.ip_address(peer))
    except ValueError:
        return None


def _mailbox_exists(address: str) -> bool:
    try:
        return mailbox_for(address) is not None
    finally:
        connection.close()


def controller(host: str, port: int) -> Controller:
    """The receiver on host:port (started with .start(), stopped with .stop())."""
    return Controller(
        IntakeHandler(),
        hostname=host,
        port=port,
        data_size_limit=settings.OPENBPO_MAX_EMAIL_BYTES,
        enable_SMTPUTF8=True,
        decode_data=False,
        ident="OpenBPO intake",
    )
