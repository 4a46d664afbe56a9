"""Work items of a client's services, the queues they wait in, and their append-only timelines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce, Lower

from bpo.contracts.models import Priority
from bpo.tenancy.models import ClientOwnedModel

# Stands in for "no due time" in the routing order (after every real due time).
NO_DUE_TIME = datetime(9999, 12, 31, tzinfo=UTC)


class State(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING_CONTACT = "pending_contact", "Waiting on the contact"
    PENDING_CLIENT = "pending_client", "Waiting on the client"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


# The life cycle: which states an item may move to from each state.
TRANSITIONS: dict[str, frozenset[str]] = {
    State.NEW: frozenset(
        {State.OPEN, State.PENDING_CONTACT, State.PENDING_CLIENT, State.RESOLVED, State.CANCELLED}
    ),
    State.OPEN: frozenset(
        {State.PENDING_CONTACT, State.PENDING_CLIENT, State.RESOLVED, State.CANCELLED}
    ),
    State.PENDING_CONTACT: frozenset(
        {State.OPEN, State.PENDING_CLIENT, State.RESOLVED, State.CANCELLED}
    ),
    State.PENDING_CLIENT: frozenset(
        {State.OPEN, State.PENDING_CONTACT, State.RESOLVED, State.CANCELLED}
    ),
    State.RESOLVED: frozenset({State.OPEN, State.CLOSED}),
    State.CLOSED: frozenset(),
    State.CANCELLED: frozenset(),
}
OPEN_STATES = frozenset({State.NEW, State.OPEN, State.PENDING_CONTACT, State.PENDING_CLIENT})


class Contact(ClientOwnedModel):
    """A person on the client's side who asks for work: the client's customer or employee."""

    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "email"]
        constraints = [
            models.UniqueConstraint("client", Lower("email"), name="contact_unique_email")
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class Channel(models.TextChoices):
    """How an item reached the provider (volumes by channel are part of the client's view)."""

    API = "api", "API"
    EMAIL = "email", "E-mail"
    FORM = "form", "Web form"
    IMPORT = "import", "File import"
    WEB = "web", "Web UI"


class Routing(models.TextChoices):
    PULL = "pull", "Pull: agents press Get next"
    PUSH = "push", "Push: offered to the agent who has waited longest"


class Queue(ClientOwnedModel):
    """Where a service's work items wait for an agent."""

    service = models.ForeignKey(
        "contracts.Service", on_delete=models.PROTECT, related_name="queues"
    )
    name = models.CharField(max_length=120)
    routing = models.CharField(max_length=4, choices=Routing.choices, default=Routing.PULL)
    required_skills = models.JSONField(
        default=dict,
        blank=True,
        help_text='Skills (with minimum levels) an agent needs for this queue: {"refunds": 2}.',
    )
    is_default = models.BooleanField(
        default=False, help_text="Where the service's work goes when no queue is named."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="queue_unique_name"),
            models.UniqueConstraint(
                fields=["service"], condition=Q(is_default=True), name="queue_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RoutingStamp(models.Model):
    """One row whose token the database changes at every write to what an agent's routing
    facts come from: skills, certifications and queues (triggers, migration 0009). "Get next"
    keeps an agent's facts, and the statements built from them, while the token stays the same
    (bpo/work/routing.py), so a change made by any process, even by hand in SQL, reaches every
    process at its next routing decision."""

    token = models.BigIntegerField()

    def __str__(self) -> str:
        return f"routing stamp {self.token}"


class WorkItem(ClientOwnedModel):
    """One unit of work for a service, under the contract terms it started with."""

    service = models.ForeignKey("contracts.Service", on_delete=models.PROTECT, related_name="items")
    terms = models.ForeignKey(
        "contracts.ServiceTerms",
        on_delete=models.PROTECT,
        related_name="items",
        help_text="The agreed terms (contract version) the work started under.",
    )
    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, null=True, blank=True, related_name="items"
    )
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    contact = models.ForeignKey(
        Contact, on_delete=models.PROTECT, null=True, blank=True, related_name="items"
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    # Routing order: 0 for urgent to 3 for low, kept by the database so an index can serve it.
    rank = models.GeneratedField(
        expression=Case(
            When(priority=Priority.URGENT, then=Value(0)),
            When(priority=Priority.HIGH, then=Value(1)),
            When(priority=Priority.NORMAL, then=Value(2)),
            default=Value(3),
        ),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.NEW)
    required_skills = models.JSONField(
        default=dict, blank=True, help_text='Skills this item needs beyond its queue\'s: {"de": 3}.'
    )
    language = models.CharField(
        max_length=8, blank=True, help_text="The language the contact writes in, if known."
    )
    due_at = models.DateTimeField(
        null=True, blank=True, help_text="The earliest due time of the item's running SLA clocks."
    )
    # The due time for ordering: items without one come last on every database (SQLite sorts
    # NULLs first), so one index serves the routing order everywhere.
    due_sort = models.GeneratedField(
        expression=Coalesce(F("due_at"), Value(NO_DUE_TIME)),
        output_field=models.DateTimeField(),
        db_persist=True,
    )
    deadline_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A deadline the work itself states (a filing's due date): the service's "
        "deadline target is measured against it instead of the target's rule.",
    )
    custom_fields = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    external_ref = models.CharField(max_length=120, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.API)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_items",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    first_resolved_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the item was first resolved: it is billed once, on that day, however "
        "often it is reopened and resolved again.",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    # A database default too: rows inserted by SQL that leaves the column out (a bulk load,
    # the benchmarks' COPY) are items never reopened.
    reopened_count = models.PositiveIntegerField(
        default=0,
        db_default=0,
        help_text="Times the item was reopened after a resolution (FCR counts it).",
    )

    class Meta:
        ordering = ["client", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "external_ref"],
                condition=~Q(external_ref=""),
                name="item_unique_external_ref",
                violation_error_message="Another item of this client has this external reference.",
            ),
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in State]), name="item_known_state"
            ),
        ]
        indexes = [
            # Get next and push routing: a queue's waiting items in routing order.
            models.Index(
                fields=["client", "queue", "rank", "due_sort", "id"],
                condition=Q(assignee__isnull=True, state__in=["new", "open"]),
                name="item_queue_waiting",
            ),
            models.Index(fields=["client", "queue", "state"], name="item_queue"),
            models.Index(fields=["client", "assignee", "state"], name="item_assignee"),
            # An agent's load (their open items at every client), counted at each routing
            # decision: only open items, so the count stays small however long they have worked.
            models.Index(
                fields=["assignee"],
                condition=Q(state__in=sorted(OPEN_STATES)),
                name="item_assignee_open",
            ),
            # The portal: a service's items by creation and by resolution (its days' figures),
            # and its backlog (open items by state and age).
            models.Index(fields=["client", "service", "created_at"], name="item_service_created"),
            models.Index(
                fields=["client", "service", "resolved_at"],
                condition=Q(resolved_at__isnull=False),
                name="item_service_resolved",
            ),
            models.Index(
                fields=["client", "service", "state", "created_at"],
                condition=Q(state__in=sorted(OPEN_STATES)),
                name="item_service_open",
            ),
            # Billing: a service's items by the day they were first resolved.
            models.Index(
                fields=["client", "service", "first_resolved_at"],
                condition=Q(first_resolved_at__isnull=False),
                name="item_service_billed",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    STATE = "state_changed", "State changed"
    PRIORITY = "priority_changed", "Priority changed"
    FIELDS = "fields_changed", "Details changed"
    NOTE = "note", "Internal note"
    MESSAGE_IN = "message_in", "Message from the contact"
    MESSAGE_OUT = "message_out", "Reply to the contact"
    ASSIGNED = "assigned", "Assigned"
    RELEASED = "released", "Released to the queue"
    QUEUE = "queue_changed", "Moved to another queue"
    TRANSFERRED = "transferred", "Transferred"
    SLA_WARNING = "sla_warning", "SLA warning"
    SLA_BREACH = "sla_breach", "SLA breach"
    BREACH_EXPLAINED = "breach_explained", "SLA breach explained"


INTERNAL_KINDS = frozenset(
    {
        EventKind.NOTE,
        EventKind.ASSIGNED,
        EventKind.RELEASED,
        EventKind.QUEUE,
        EventKind.TRANSFERRED,
        EventKind.SLA_WARNING,
        EventKind.SLA_BREACH,
        EventKind.BREACH_EXPLAINED,
    }
)


class Event(ClientOwnedModel):
    """An entry on a work item's timeline; never changed once written."""

    item = models.ForeignKey(WorkItem, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    internal = models.BooleanField(
        default=False, help_text="Internal entries are never shown to the client."
    )
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["item", "id"]
        indexes = [models.Index(fields=["client", "item", "id"], name="event_timeline")]

    def __str__(self) -> str:
        return f"{self.kind} on item {self.item_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("Timeline events are append-only.")
        super().save(*args, **kwargs)


class SlaClock(ClientOwnedModel):
    """One SLA target measured on one work item: it runs, pauses, resumes and stops.

    Business seconds are counted on the item's calendar (or plain seconds for calendar-time
    targets). While running, ``resumed_at`` is when counting (re)started and ``due_at`` when the
    target's time runs out; ``elapsed_seconds`` holds what was counted before ``resumed_at``.
    Deadline targets have a fixed ``due_at`` and never pause.
    """

    item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="clocks")
    target = models.ForeignKey("contracts.SlaTarget", on_delete=models.PROTECT, related_name="+")
    metric = models.CharField(max_length=20)
    cycle = models.PositiveIntegerField(
        default=1, help_text="Next-response clocks start again with each message of the contact."
    )
    target_seconds = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    resumed_at = models.DateTimeField(null=True, blank=True)
    elapsed_seconds = models.PositiveIntegerField(default=0)
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    met = models.BooleanField(null=True, help_text="Set when the clock stops; empty if excluded.")
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["item", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "metric", "cycle"], name="clock_unique_metric_cycle"
            ),
        ]
        indexes = [
            models.Index(
                fields=["warn_at"],
                condition=Q(resumed_at__isnull=False, warned_at__isnull=True),
                name="clock_warning_due",
            ),
            models.Index(
                fields=["due_at"],
                condition=Q(resumed_at__isnull=False, breached_at__isnull=True),
                name="clock_breach_due",
            ),
            # The portal: clocks decided in a period, and the running ones at risk.
            models.Index(
                fields=["client", "stopped_at"],
                condition=Q(stopped_at__isnull=False),
                name="clock_stopped",
            ),
            models.Index(
                fields=["client", "breached_at"],
                condition=Q(breached_at__isnull=False),
                name="clock_breached",
            ),
            models.Index(
                fields=["client", "due_at"],
                condition=Q(stopped_at__isnull=True),
                name="clock_running",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric} on item {self.item_id}"

    @property
    def status(self) -> str:
        """running, paused, met, missed or cancelled, as shown to people."""
        if self.stopped_at is not None:
            return {True: "met", False: "missed"}.get(self.met, "cancelled")  # type: ignore[arg-type]
        return "running" if self.resumed_at is not None else "paused"

    @property
    def missed(self) -> bool:
        """Breached (even while still running) or stopped late: a breach to explain."""
        return self.breached_at is not None or self.met is False


class BreachCause(models.TextChoices):
    """Why a target was missed, in the words of a governance review."""

    VOLUME = "volume", "Volume above forecast"
    STAFFING = "staffing", "Staffing shortfall"
    CLIENT = "client", "Waiting on the client"
    THIRD_PARTY = "third_party", "Third party"
    SYSTEM = "system", "System outage"
    PROCESS = "process", "Process or procedure gap"
    AGENT = "agent", "Agent error"
    OTHER = "other", "Other"


class BreachExplanation(ClientOwnedModel):
    """The provider's account of why a clock missed its target, shown in the client's monthly
    service report. Kept apart from the clock, whose table carries the rollup triggers."""

    clock = models.OneToOneField(SlaClock, on_delete=models.CASCADE, related_name="explanation")
    cause = models.CharField(max_length=20, choices=BreachCause.choices)
    note = models.TextField(
        max_length=2000, blank=True, help_text="For the client: what happened, what was done."
    )
    explained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    explained_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.get_cause_display()} ({self.clock})"


class WorkSession(ClientOwnedModel):
    """A stretch of time an agent actually worked on an item (handle time; AHT; billing)."""

    item = models.ForeignKey(WorkItem, on_delete=models.PROTECT, related_name="sessions")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="work_sessions"
    )
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["item", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "agent"],
                condition=Q(ended_at__isnull=True),
                name="session_one_open_per_agent_item",
            ),
            models.CheckConstraint(
                condition=Q(last_seen_at__gte=F("started_at")), name="session_ordered"
            ),
        ]
        indexes = [
            models.Index(fields=["client", "agent", "started_at"], name="session_agent"),
            models.Index(
                fields=["last_seen_at"], condition=Q(ended_at__isnull=True), name="session_open"
            ),
            # Billing: a client's handled time by the day sessions ended.
            models.Index(
                fields=["client", "ended_at"],
                condition=Q(ended_at__isnull=False),
                name="session_ended",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} on item {self.item_id} from {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def seconds(self) -> int:
        return int(((self.ended_at or self.last_seen_at) - self.started_at).total_seconds())


class Notification(ClientOwnedModel):
    """A message to one person about a client's work (SLA warnings and breaches, for now)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    item = models.ForeignKey(
        WorkItem, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["recipient", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return self.text


class CannedResponse(ClientOwnedModel):
    """A prepared reply of one service; placeholders such as {contact_name} are filled in when an
    agent inserts it into a reply."""

    service = models.ForeignKey(
        "contracts.Service", on_delete=models.PROTECT, related_name="canned_responses"
    )
    title = models.CharField(max_length=120)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client", "service", "title"]
        constraints = [
            # Led by the client, as every tenant key is (a future distribution by client).
            models.UniqueConstraint(
                "client", "service", Lower("title"), name="canned_response_unique_title"
            )
        ]

    def __str__(self) -> str:
        return self.title


class Attachment(ClientOwnedModel):
    """A file on a work item, kept in the attachments storage under its client's directory."""

    item = models.ForeignKey(WorkItem, on_delete=models.PROTECT, related_name="attachments")
    event = models.ForeignKey(
        Event,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attachments",
        help_text="The note or message the file came with, if any.",
    )
    internal = models.BooleanField(
        default=False, help_text="Internal files are never shown to the client."
    )
    filename = models.CharField(max_length=255, help_text="The uploaded name, made safe.")
    content_type = models.CharField(
        max_length=127, help_text="Sniffed from the bytes, never taken from the uploader."
    )
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    stored_name = models.CharField(
        max_length=300, unique=True, help_text="The file's name in the attachments storage."
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "id"]
        constraints = [models.CheckConstraint(condition=Q(size__gt=0), name="attachment_not_empty")]
        indexes = [models.Index(fields=["client", "item", "id"], name="attachment_item")]

    def __str__(self) -> str:
        return f"{self.filename} on item {self.item_id}"


class IdempotencyKey(models.Model):
    """A create request's Idempotency-Key and the response it got, replayed to a retry.

    Keys belong to a person (the API token's owner), not to a client: one bulk request may
    create work for several clients. The unique constraint is what makes two concurrent
    requests with one key create once: the second waits for the first's row and replays it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 of the method, path and body of the first request."
    )
    status = models.PositiveSmallIntegerField(default=0)
    # The rendered JSON text, so a replay is byte for byte the first response.
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_age")]

    def __str__(self) -> str:
        return f"{self.key} of user {self.user_id}"
