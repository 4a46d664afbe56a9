"""Intake writes: inbound e-mail stored and taken in, mailboxes, and the outbox.

An inbound message goes through two steps. ``inbound_email_store`` keeps the raw bytes (a file
in the "mail" storage and a row) before anything reads them; ``inbound_email_process`` parses
them and takes the message in, in one transaction: a new work item, or a message on the item it
answers. When processing fails the row says why (status failed) and the raw message is still
there, so an admin can retry it after a fix; the periodic job retries messages a crash left
unprocessed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import secrets
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from bpo.accounts.roles import Permission
from bpo.audit.log import record
from bpo.contracts.models import Service
from bpo.intake import credentials, mail
from bpo.intake.models import (
    ContactLink,
    FormSubmission,
    ImapSecurity,
    InboundEmail,
    InboundStatus,
    Mailbox,
    OutboundEmail,
    OutboundStatus,
    WebForm,
)
from bpo.tenancy.context import Actor
from bpo.tenancy.scoping import ensure_client_in_scope
from bpo.work import actions as work
from bpo.work.models import Attachment, Channel, Event, EventKind, State, WorkItem

logger = logging.getLogger(__name__)
NO_SUBJECT = "(no subject)"
# Outbox retries: after 1, 5, 15 minutes, 1, 2, 4, 8 hours; then the message has failed.
RETRY_DELAYS = [timedelta(minutes=m) for m in (1, 5, 15, 60, 120, 240, 480)]
# A message the SMTP receiver stored but did not finish (the process was killed) is taken
# up by the periodic job after this long.
STUCK_AFTER = timedelta(minutes=2)


def _origin(address: str) -> str:
    return f"email: {address or 'unknown sender'}"


# --- Inbound -----------------------------------------------------------------------------------


def inbound_email_store(
    *, mailbox: Mailbox, raw: bytes, channel: str, envelope_from: str = "", peer: str = ""
) -> InboundEmail:
    """Keep a message exactly as it arrived, before anything reads it. One larger than
    OPENBPO_MAX_EMAIL_BYTES (possible by IMAP; the SMTP receiver refuses it) is stored and
    flagged, never processed."""
    ensure_client_in_scope(mailbox.client_id)
    stored_name = storages["mail"].save(
        f"{mailbox.client_id}/{timezone.now():%Y-%m}/{uuid.uuid4().hex}.eml", ContentFile(raw)
    )
    limit = settings.OPENBPO_MAX_EMAIL_BYTES
    oversize = len(raw) > limit
    try:
        with transaction.atomic():
            message = InboundEmail.objects.create(
                client_id=mailbox.client_id,
                mailbox=mailbox,
                channel=channel,
                envelope_from=envelope_from[:320],
                peer=peer[:100],
                stored_name=stored_name,
                size=len(raw),
                sha256=hashlib.sha256(raw).hexdigest(),
                oversize=oversize,
                status=InboundStatus.FAILED if oversize else InboundStatus.RECEIVED,
                error=(
                    f"The message is {len(raw):,} bytes, above the limit of {limit:,}: stored, "
                    "not processed."
                    if oversize
                    else ""
                ),
            )
            record(
                "inbound_email.received",
                obj=message,
                after={"mailbox": mailbox.address, "size": len(raw), "channel": channel},
                actor_email=_origin(envelope_from),
            )
    except BaseException:
        storages["mail"].delete(stored_name)
        raise
    return message


def raw_of(message: InboundEmail) -> bytes:
    """The message's bytes as they arrived."""
    with storages["mail"].open(message.stored_name, "rb") as stored:
        data: bytes = stored.read()
        return data


def inbound_email_process(*, inbound_id: int) -> InboundEmail:
    """Read a stored message and take it in: a message on the item it answers, or a new item
    of the mailbox's service. Runs in the message's client scope. A duplicate Message-ID is
    ignored once; an automatic message (auto-reply, bounce, list) is never answered by us.
    Never raises for a bad message: a failure is kept on the row (status failed)."""
    made: list[str] = []
    try:
        with transaction.atomic():
            message = InboundEmail.objects.select_for_update().get(pk=inbound_id)
            if message.status not in (InboundStatus.RECEIVED, InboundStatus.FAILED):
                return message
            if message.oversize:
                return message
            _take_in(message, mail.parse(raw_of(message)), made)
            return message
    except Exception as exc:
        for name in made:
            storages["attachments"].delete(name)
        logger.warning("inbound e-mail %s failed: %s", inbound_id, exc, exc_info=True)
        reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else repr(exc)
        InboundEmail.objects.filter(pk=inbound_id).update(
            status=InboundStatus.FAILED,
            error=reason[:2000],
            attempts=F("attempts") + 1,
            processed_at=timezone.now(),
        )
        return InboundEmail.objects.get(pk=inbound_id)


def _take_in(message: InboundEmail, parsed: mail.ParsedEmail, made: list[str]) -> None:
    """Record what the message says and where it went; see inbound_email_process."""
    message.message_id = parsed.message_id
    message.subject = parsed.subject[:300]
    message.from_email = parsed.from_email[:320]
    message.automatic = parsed.automatic
    message.problems = parsed.problems
    message.attempts += 1
    message.processed_at = timezone.now()
    message.error = ""
    if parsed.message_id and _is_duplicate(message):
        message.status = InboundStatus.DUPLICATE
        message.save()
        return
    origin = _origin(parsed.from_email or message.envelope_from)
    item = _answered_item(message, parsed)
    is_new = False
    if parsed.automatic == "bounce":
        _bounced(message, parsed, item)
    elif item is not None and parsed.automatic:
        # An auto-reply on an item: worth seeing, not worth reopening the item for.
        message.event = work.system_event(
            item,
            EventKind.NOTE,
            body=f"Automatic reply from {parsed.from_email or 'the contact'}: "
            f"{parsed.subject or NO_SUBJECT}\n\n{parsed.text}",
        )
        message.item = item
        message.status = InboundStatus.PROCESSED
    elif item is not None and item.state not in (State.CLOSED, State.CANCELLED):
        message.event = work.channel_message_in(
            item=item,
            body=parsed.text or f"(an e-mail without text: {parsed.subject or NO_SUBJECT})",
            origin=origin,
            sender=parsed.from_email,
            email_id=message.pk,
        )
        message.item = item
        message.status = InboundStatus.PROCESSED
    elif parsed.automatic == "auto_reply":
        message.status = InboundStatus.IGNORED  # nobody to answer, nothing to do
    else:
        message.item = work.channel_item_create(
            service=message.mailbox.service,
            origin=origin,
            title=(parsed.subject or NO_SUBJECT)[:300],
            description=parsed.text,
            contact_email=parsed.from_email,
            contact_name=parsed.from_name[:200],
            channel=Channel.EMAIL,
            fields_required=False,  # the agent completes the service's fields
            tags=["mailing-list"] if parsed.automatic == "list" else [],
        )
        message.event = (
            Event.objects.filter(item=message.item, kind=EventKind.CREATED).order_by("id").first()
        )
        message.status = InboundStatus.PROCESSED
        is_new = True
        if previous := item:  # answered a closed item: the new one says which
            work.system_event(
                message.item, EventKind.NOTE, body=f"Follows up closed item #{previous.pk}."
            )
    if message.item is not None:
        _attach_parts(message, parsed, made, origin)
    message.save()
    if is_new and message.mailbox.acknowledge and not parsed.automatic and parsed.from_email:
        assert message.item is not None
        outbound_queue(item=message.item, kind="acknowledge", body=_acknowledgement(message))


def _is_duplicate(message: InboundEmail) -> bool:
    """Whether a message with the same Message-ID was already taken in for this client; if not,
    this one claims it."""
    try:
        with transaction.atomic():
            claimed = InboundEmail.objects.filter(pk=message.pk).update(
                dedupe_key=message.message_id
            )
    except IntegrityError:
        return True
    message.dedupe_key = message.message_id
    return not claimed


def _answered_item(message: InboundEmail, parsed: mail.ParsedEmail) -> WorkItem | None:
    """The item a message answers: by its threading headers (our replies' Message-IDs, or
    earlier messages of the thread), and failing those by the "[#123]" tag of its subject when
    the sender is that item's contact. Only items of the message's own client are found."""
    for mid in parsed.thread_ids:
        sent = OutboundEmail.objects.filter(message_id=mid).values_list("item_id", flat=True)
        earlier = InboundEmail.objects.filter(message_id=mid, item__isnull=False).exclude(
            pk=message.pk
        )
        item_id = sent.first() or earlier.values_list("item_id", flat=True).first()
        if item_id:
            return WorkItem.objects.filter(pk=item_id).first()
    number = parsed.subject_item
    if number is not None and parsed.from_email:
        return (
            WorkItem.objects.filter(pk=number, contact__email__iexact=parsed.from_email)
            .select_related("contact")
            .first()
        )
    return None


def _bounced(message: InboundEmail, parsed: mail.ParsedEmail, item: WorkItem | None) -> None:
    """A bounce: the replies it returns are marked bounced and their items say so."""
    returned = list(
        OutboundEmail.objects.filter(message_id__in=parsed.bounced).select_related("item")
    )
    for outbound in returned:
        outbound.status = OutboundStatus.BOUNCED
        outbound.last_error = (parsed.text or "returned by the recipient's server")[:2000]
        outbound.save(update_fields=["status", "last_error"])
        work.system_event(
            outbound.item,
            EventKind.NOTE,
            body=f"The e-mail to {outbound.to} came back undelivered:\n\n{parsed.text[:2000]}",
        )
        item = item or outbound.item
    message.item = item
    message.status = InboundStatus.PROCESSED if item else InboundStatus.IGNORED


def _attach_parts(
    message: InboundEmail, parsed: mail.ParsedEmail, made: list[str], origin: str
) -> None:
    assert message.item is not None
    skipped = []
    for part in parsed.parts:
        kept = work.channel_attach(
            item=message.item,
            event=message.event,
            filename=part.filename,
            content=part.data,
            origin=origin,
        )
        if isinstance(kept, Attachment):
            made.append(kept.stored_name)
        else:
            skipped.append(kept)
    if skipped:
        work.system_event(message.item, EventKind.NOTE, body="\n".join(skipped))


def _acknowledgement(message: InboundEmail) -> str:
    item = message.item
    assert item is not None
    return (
        f"Hello,\n\nthank you for your message. We have received it as request #{item.pk} "
        f"({item.title}) and will answer as soon as we can. Please keep [#{item.pk}] in the "
        "subject if you write to us about it again.\n\n"
        f"{message.mailbox.display_name or message.mailbox.service.name}"
    )


def inbound_email_retry(*, actor: Actor, message: InboundEmail) -> InboundEmail:
    """Process a failed message again (after a fix); the outcome is on the returned row."""
    actor.require(Permission.MANAGE_INTAKE, client_id=message.client_id)
    if message.status != InboundStatus.FAILED:
        raise ValidationError({"status": f"The message is {message.status}; only failed ones."})
    if message.oversize:
        limit = settings.OPENBPO_MAX_EMAIL_BYTES
        if message.size > limit:
            raise ValidationError(
                {
                    "status": f"The message has {message.size:,} bytes, above the limit of "
                    f"{limit:,}; raise OPENBPO_MAX_EMAIL_BYTES to take it in."
                }
            )
        # The limit was raised since it arrived: it is an ordinary message now.
        InboundEmail.objects.filter(pk=message.pk).update(oversize=False)
    record("inbound_email.retried", obj=message, after={"attempts": message.attempts})
    return inbound_email_process(inbound_id=message.pk)


def inbound_unfinished() -> list[tuple[int, int]]:
    """(id, client id) of messages stored but not processed for a while (their receiver was
    killed halfway), across clients: the periodic job processes them."""
    from bpo.tenancy.scoping import all_clients_unscoped

    with all_clients_unscoped("the intake job finds messages a crash left unprocessed"):
        return list(
            InboundEmail.objects.filter(
                status=InboundStatus.RECEIVED, received_at__lt=timezone.now() - STUCK_AFTER
            ).values_list("pk", "client_id")
        )


# --- Mailboxes ---------------------------------------------------------------------------------


def mailbox_save(
    *,
    actor: Actor,
    service: Service,
    address: str,
    mailbox: Mailbox | None = None,
    display_name: str = "",
    active: bool = True,
    acknowledge: bool = True,
    imap_host: str = "",
    imap_port: int | None = None,
    imap_security: str = ImapSecurity.SSL,
    imap_folder: str = "INBOX",
    imap_username: str = "",
    imap_password: str | None = None,
) -> Mailbox:
    """Create or change a service's inbound address (unique across the installation). With an
    IMAP host, mail is fetched from that mailbox (the password stored encrypted; None keeps the
    stored one); without, it arrives through the SMTP receiver."""
    actor.require(Permission.MANAGE_INTAKE, client_id=service.client_id)
    ensure_client_in_scope(service.client_id)
    if mailbox is not None and mailbox.client_id != service.client_id:
        raise ValidationError({"service_id": "The mailbox belongs to another client."})
    target = mailbox or Mailbox(client_id=service.client_id)
    before = _mailbox_facts(target) if mailbox else None
    target.service = service
    target.address = address.strip().lower()
    target.display_name = display_name.strip()
    target.active = active
    target.acknowledge = acknowledge
    target.imap_host = imap_host.strip()
    target.imap_port = imap_port
    target.imap_security = imap_security
    target.imap_folder = imap_folder.strip() or "INBOX"
    target.imap_username = imap_username.strip()
    if imap_password is not None:
        target.imap_password = credentials.encrypt(imap_password)
    problems: dict[str, str] = {}
    if target.imap_host:
        if not target.imap_username:
            problems["imap_username"] = "Name the user to log in to the IMAP mailbox as."
        if not target.imap_password:
            problems["imap_password"] = "Give the IMAP mailbox's password."
        if target.imap_security == ImapSecurity.NONE and not _loopback(target.imap_host):
            problems["imap_security"] = (
                "Without TLS the password would cross the network in clear: choose TLS or "
                "STARTTLS (no security is only for a server on this machine)."
            )
    if imap_port is not None and not 1 <= imap_port <= 65535:
        problems["imap_port"] = "A port is a number from 1 to 65535."
    if problems:
        raise ValidationError(problems)
    target.full_clean(exclude=["client", "service"], validate_constraints=False)
    try:
        with transaction.atomic():
            target.save()
            record("mailbox.saved", obj=target, before=before, after=_mailbox_facts(target))
    except IntegrityError as exc:
        raise ValidationError(
            {"address": f"{target.address} is already the address of a mailbox."}
        ) from exc
    return target


def _loopback(host: str) -> bool:
    """Whether a host name or address is this machine (where a plain connection is safe)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _mailbox_facts(mailbox: Mailbox) -> dict[str, object]:
    """What the audit log keeps of a mailbox (never its password)."""
    return {
        "address": mailbox.address,
        "service_id": mailbox.service_id,
        "active": mailbox.active,
        "imap_host": mailbox.imap_host,
        "imap_username": mailbox.imap_username,
        "imap_folder": mailbox.imap_folder,
    }


# --- Outbound ----------------------------------------------------------------------------------


def mail_domain() -> str:
    return settings.OPENBPO_MAIL_DOMAIN or socket.getfqdn() or "openbpo.invalid"


def mailbox_of(item: WorkItem) -> Mailbox | None:
    """Where mail about an item goes out from: the mailbox it came in by, else the service's
    first active mailbox."""
    came = InboundEmail.objects.filter(item=item).select_related("mailbox").order_by("id").first()
    if came is not None and came.mailbox.active:
        return came.mailbox
    return Mailbox.objects.filter(service_id=item.service_id, active=True).order_by("id").first()


def outbound_queue(
    *, item: WorkItem, body: str, kind: str = "reply", event: Event | None = None
) -> OutboundEmail | None:
    """Put a message to the item's contact in the outbox, in the caller's transaction, with
    the threading headers that make the contact's mail program show it in the conversation.
    None when there is no one to write to (no contact address, no mailbox)."""
    mailbox = mailbox_of(item)
    contact = item.contact
    if mailbox is None or contact is None or not contact.email:
        return None
    thread = list(
        InboundEmail.objects.filter(item=item)
        .exclude(message_id="")
        .order_by("id")
        .values_list("message_id", flat=True)
    )
    sent = list(
        OutboundEmail.objects.filter(item=item).order_by("id").values_list("message_id", flat=True)
    )
    references = (thread[:1] + (thread + sent)[-9:]) if thread or sent else []
    subject = item.title if item.title != NO_SUBJECT else f"Request #{item.pk}"
    return OutboundEmail.objects.create(
        client_id=item.client_id,
        mailbox=mailbox,
        item=item,
        event=event,
        kind=kind,
        to=contact.email,
        subject=f"Re: {subject} [#{item.pk}]"[:300],
        body=body,
        message_id=f"openbpo.{item.pk}.{secrets.token_hex(8)}@{mail_domain()}",
        in_reply_to=thread[-1] if thread else "",
        references=" ".join(f"<{m}>" for m in dict.fromkeys(references)),
        next_attempt_at=timezone.now(),
    )


def next_attempt(attempts: int, now: datetime) -> datetime | None:
    """When to try a failed send again, or None when it has failed for good."""
    if attempts > len(RETRY_DELAYS):
        return None
    return now + RETRY_DELAYS[attempts - 1]


# --- Web forms ---------------------------------------------------------------------------------


class RateLimited(Exception):
    """Too many submissions from one address to one form within the window."""

    def __init__(self, minutes: int) -> None:
        self.minutes = minutes
        super().__init__(
            f"Too many requests from your network in the last {minutes} minutes; "
            "please try again later."
        )


def web_form_save(
    *,
    actor: Actor,
    service: Service,
    title: str,
    intro: str = "",
    form: WebForm | None = None,
    active: bool = True,
) -> WebForm:
    """Publish a service's request form (its address is random and stays the same), or
    change or switch off an existing one."""
    actor.require(Permission.MANAGE_INTAKE, client_id=service.client_id)
    ensure_client_in_scope(service.client_id)
    if form is not None and form.client_id != service.client_id:
        raise ValidationError({"service_id": "The form belongs to another client."})
    target = form or WebForm(client_id=service.client_id, key=secrets.token_urlsafe(18))
    before = {"title": target.title, "active": target.active} if form else None
    target.service = service
    target.title = title.strip()
    target.intro = intro.strip()
    target.active = active
    if not target.title:
        raise ValidationError({"title": "Give the form a title, e.g. 'Contact customer care'."})
    target.full_clean(exclude=["client", "service"], validate_constraints=False)
    with transaction.atomic():
        target.save()
        record(
            "web_form.saved",
            obj=target,
            before=before,
            after={"title": target.title, "service_id": service.pk, "active": active},
        )
    return target


def _rate_check(form: WebForm, ip: str | None, now: datetime) -> None:
    window = settings.OPENBPO_FORM_RATE_WINDOW
    recent = FormSubmission.objects.filter(form=form, ip=ip, at__gte=now - window).count()
    if recent >= settings.OPENBPO_FORM_RATE_LIMIT:
        raise RateLimited(int(window.total_seconds() // 60))


def web_form_submit(
    *,
    form: WebForm,
    ip: str | None,
    name: str,
    email: str,
    subject: str,
    message: str,
    custom_fields: dict[str, object],
    honeypot: str = "",
    link_url: Callable[[str], str],
) -> tuple[WorkItem | None, str]:
    """A request sent through a public form: a new item of the form's service with its
    contact, and a private link (returned as its token, also mailed to the contact when the
    service has a mailbox) to follow it. Returns (None, "") for a submission the honeypot
    caught (the sender sees the same thank-you). RateLimited when the address sent too many;
    ValidationError for bad fields. ``link_url`` makes the link's address from the token."""
    ensure_client_in_scope(form.client_id)
    now = timezone.now()
    _rate_check(form, ip, now)
    if honeypot.strip():
        FormSubmission.objects.create(client_id=form.client_id, form=form, ip=ip, spam=True)
        logger.info("web form %s: a submission from %s filled the honeypot", form.pk, ip)
        return None, ""
    with transaction.atomic():
        item = work.channel_item_create(
            service=form.service,
            origin=f"web form: {email.strip().lower()}",
            title=subject.strip()[:300] or "Request from the web form",
            description=message,
            contact_email=email,
            contact_name=name,
            custom_fields=custom_fields,
            channel=Channel.FORM,
        )
        FormSubmission.objects.create(client_id=form.client_id, form=form, ip=ip, item=item)
        token = secrets.token_urlsafe(24)
        ContactLink.objects.create(
            client_id=form.client_id,
            item=item,
            form=form,
            token_digest=hashlib.sha256(token.encode()).hexdigest(),
        )
        outbound_queue(
            item=item,
            kind="notice",
            body=(
                f"Hello {name.strip() or ''},\n\nwe have received your request #{item.pk} "
                f"({item.title}). You can follow it and answer us here:\n\n{link_url(token)}\n\n"
                f"{form.title}"
            ),
        )
    return item, token


def contact_reply(*, link: ContactLink, ip: str | None, body: str) -> Event:
    """The contact answers on their item through its private link: a message from the
    contact (it reopens a resolved item). Rate-limited like the form."""
    ensure_client_in_scope(link.client_id)
    now = timezone.now()
    _rate_check(link.form, ip, now)
    item = link.item
    contact_email = item.contact.email if item.contact else ""
    with transaction.atomic():
        event = work.channel_message_in(
            item=item,
            body=body,
            origin=f"web link: {contact_email or 'contact'}",
            sender=contact_email,
        )
        FormSubmission.objects.create(client_id=link.client_id, form=link.form, ip=ip, item=item)
    return event
