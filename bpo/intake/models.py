"""Where work comes in by e-mail, and where replies go out: mailboxes, the raw inbound
messages (stored before anything else), and the outbox."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from bpo.tenancy.models import ClientOwnedModel


class ImapSecurity(models.TextChoices):
    SSL = "ssl", "TLS from the start (port 993)"
    STARTTLS = "starttls", "STARTTLS (port 143)"
    NONE = "none", "None (loopback and tests only)"


class Mailbox(ClientOwnedModel):
    """An inbound address of a service: mail to it becomes the service's work, and replies on
    that work go out from it. Mail arrives through the SMTP receiver (``manage.py
    smtp_receive``), or is fetched from an IMAP mailbox when one is configured."""

    service = models.ForeignKey(
        "contracts.Service", on_delete=models.PROTECT, related_name="mailboxes"
    )
    address = models.EmailField(help_text="The address people write to, e.g. help@shop.example.")
    display_name = models.CharField(
        max_length=120, blank=True, help_text="Shown as the sender of replies, e.g. 'Shop support'."
    )
    active = models.BooleanField(default=True)
    acknowledge = models.BooleanField(
        default=True,
        help_text="Answer a new request with its number (never to auto-replies, bounces or lists).",
    )
    imap_host = models.CharField(
        max_length=253, blank=True, help_text="Empty: mail arrives through the SMTP receiver."
    )
    imap_port = models.PositiveIntegerField(null=True, blank=True)
    imap_security = models.CharField(
        max_length=8, choices=ImapSecurity.choices, default=ImapSecurity.SSL
    )
    imap_folder = models.CharField(max_length=200, default="INBOX")
    imap_username = models.CharField(max_length=200, blank=True)
    imap_password = models.TextField(
        blank=True, help_text="Encrypted (bpo.intake.credentials); never shown or logged."
    )
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_poll_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "address"]
        constraints = [
            # One address, one client: mail for it can never land in another client's service.
            models.UniqueConstraint(Lower("address"), name="mailbox_unique_address"),
        ]

    def __str__(self) -> str:
        return self.address


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received, not yet processed"
    PROCESSED = "processed", "Processed"
    DUPLICATE = "duplicate", "Duplicate (same Message-ID), ignored"
    IGNORED = "ignored", "Ignored (an automatic message with nothing to answer)"
    FAILED = "failed", "Failed: waits for a retry"


class InboundEmail(ClientOwnedModel):
    """One message as it arrived, stored raw before it is parsed, so nothing is lost when
    parsing fails: a failed message is listed for an admin and can be processed again."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="messages")
    channel = models.CharField(max_length=4, choices=[("smtp", "SMTP"), ("imap", "IMAP")])
    received_at = models.DateTimeField(auto_now_add=True)
    envelope_from = models.CharField(max_length=320, blank=True)
    peer = models.CharField(max_length=100, blank=True, help_text="Where it came from.")
    stored_name = models.CharField(max_length=300, help_text="The raw message in mail storage.")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    message_id = models.CharField(max_length=255, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    from_email = models.CharField(max_length=320, blank=True)
    status = models.CharField(
        max_length=10, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    automatic = models.CharField(max_length=10, blank=True, help_text="auto_reply, bounce, list")
    oversize = models.BooleanField(
        default=False, help_text="Larger than the limit: stored and flagged, not processed."
    )
    problems = models.JSONField(default=list, blank=True, help_text="What could not be read.")
    error = models.TextField(blank=True, help_text="Why processing failed.")
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    item = models.ForeignKey(
        "work.WorkItem", on_delete=models.PROTECT, null=True, blank=True, related_name="emails"
    )
    event = models.ForeignKey(
        "work.Event", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Set on the message that was taken in: a second copy with the same Message-ID is a
    # duplicate (the unique constraint decides under concurrency).
    dedupe_key = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["client", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="inbound_once_per_message_id",
            )
        ]
        indexes = [
            models.Index(fields=["client", "status", "id"], name="inbound_status"),
            models.Index(fields=["client", "message_id"], name="inbound_message_id"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject or '(no subject)'} from {self.from_email or '?'}"


class OutboundStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed: no more retries"
    BOUNCED = "bounced", "Bounced: the recipient's server returned it"


class OutboundEmail(ClientOwnedModel):
    """A message in the outbox: written in the same transaction as the reply it carries, sent
    by the outbox job with retries and back-off, so a restart loses nothing."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(
        "work.WorkItem", on_delete=models.PROTECT, related_name="outbound_emails"
    )
    event = models.ForeignKey(
        "work.Event", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(
        max_length=12,
        choices=[
            ("reply", "Reply"),
            ("acknowledge", "Acknowledgement"),
            ("notice", "Notice"),
            ("survey", "Satisfaction survey"),
        ],
        default="reply",
    )
    to = models.CharField(max_length=320)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    message_id = models.CharField(max_length=255, unique=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    status = models.CharField(
        max_length=8, choices=OutboundStatus.choices, default=OutboundStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["client", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}: {self.subject}"


class WebForm(ClientOwnedModel):
    """A service's public request form: anyone with its address can submit work to the
    service, and follows it by a private link afterwards."""

    service = models.ForeignKey(
        "contracts.Service", on_delete=models.PROTECT, related_name="web_forms"
    )
    key = models.CharField(max_length=40, unique=True, help_text="In the form's public address.")
    title = models.CharField(max_length=200)
    intro = models.TextField(blank=True, help_text="Shown above the form.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "title"]

    def __str__(self) -> str:
        return self.title


class FormSubmission(ClientOwnedModel):
    """One submission of a public form (or a reply through a contact link): what the rate
    limit counts, per address and form, across every server process."""

    form = models.ForeignKey(WebForm, on_delete=models.PROTECT, related_name="submissions")
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    item = models.ForeignKey(
        "work.WorkItem", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    spam = models.BooleanField(default=False, help_text="Caught by the honeypot; not taken in.")

    class Meta:
        indexes = [models.Index(fields=["form", "ip", "at"], name="submission_rate")]


class ContactLink(ClientOwnedModel):
    """A contact's private link to one item: its status and public timeline, and a box to
    answer. Only a digest of the token is kept."""

    item = models.ForeignKey("work.WorkItem", on_delete=models.PROTECT, related_name="+")
    form = models.ForeignKey(WebForm, on_delete=models.PROTECT, related_name="+")
    token_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded: map its columns"
    INVALID = "invalid", "Has errors: fix the file or the mapping"
    READY = "ready", "Checked: ready to import"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Stopped with an error"


class ImportJob(ClientOwnedModel):
    """A CSV or XLSX file of work for a service: stored as uploaded, its columns mapped to work
    item fields, every row checked before anything is written, then taken in batch by batch.

    ``rows_done`` moves in the transaction that writes each batch's items, so an import killed
    halfway resumes after its last written batch and ends with exactly the rows of the file;
    rows whose external reference the client already has are skipped, so a file imported twice
    creates nothing twice."""

    service = models.ForeignKey(
        "contracts.Service", on_delete=models.PROTECT, related_name="imports"
    )
    queue = models.ForeignKey(
        "work.Queue", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", help_text="Who imports."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=255, help_text="The name it was uploaded with.")
    stored_name = models.CharField(max_length=300, help_text="The file in import storage.")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    kind = models.CharField(max_length=4, choices=[("csv", "CSV"), ("xlsx", "Excel (XLSX)")])
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    headers = models.JSONField(default=list)
    # One target per column, in the columns' order: a work item field, "cf:<name>" for a
    # custom field, or "" for a column left out.
    mapping = models.JSONField(default=list)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    rows_total = models.PositiveIntegerField(default=0, help_text="Rows after the header.")
    rows_existing = models.PositiveIntegerField(
        default=0, help_text="Rows whose external reference the client had when they were checked."
    )
    errors = models.JSONField(default=list, blank=True, help_text="The first errors found.")
    error_count = models.PositiveIntegerField(default=0)
    checked_at = models.DateTimeField(null=True, blank=True)
    # Progress, written with each batch.
    rows_done = models.PositiveIntegerField(default=0, help_text="Rows taken in (or blank).")
    items_created = models.PositiveIntegerField(default=0)
    items_skipped = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    failure = models.TextField(blank=True, help_text="Why the import stopped.")
    # The process importing now, and when it last wrote: a run that stops writing for longer
    # than the lease was killed, and another takes over where it left off.
    runner = models.CharField(max_length=40, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["client", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="import_running")]

    def __str__(self) -> str:
        return f"Import #{self.pk} {self.file_name}"

    @property
    def percent(self) -> int:
        """How far the import is, in whole percent of the file's rows."""
        if self.status == ImportStatus.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(100, self.rows_done * 100 // max(1, self.rows_total))
