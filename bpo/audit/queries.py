"""Reads of the audit log."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery

from bpo.accounts.models import User
from bpo.accounts.queries import provider_people_with_access, provider_staff_ids
from bpo.accounts.roles import Permission
from bpo.audit.log import record
from bpo.audit.models import AuditEntry
from bpo.tenancy import queries as client_queries
from bpo.tenancy.context import Actor
from bpo.tenancy.models import Client


def audit_entries(
    *,
    actor: Actor,
    action: str = "",
    client_id: int | None = None,
    actor_email: str = "",
    before_id: int | None = None,
) -> QuerySet[AuditEntry]:
    """The log, newest first, for provider admins; filters narrow it, ``before_id`` pages it."""
    actor.require(Permission.VIEW_AUDIT)
    entries = AuditEntry.objects.order_by("-id")
    if action:
        entries = entries.filter(action__startswith=action)
    if client_id is not None:
        entries = entries.filter(client_id=client_id)
    if actor_email:
        entries = entries.filter(actor_email__iexact=actor_email.strip())
    if before_id is not None:
        entries = entries.filter(id__lt=before_id)
    return entries


CSV_COLUMNS = [
    "id",
    "at_utc",
    "actor_email",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "client_id",
    "ip",
    "request_id",
    "before",
    "after",
    "hash",
]


def audit_csv_rows(
    *, actor: Actor, action: str = "", client_id: int | None = None, actor_email: str = ""
) -> Iterator[str]:
    """The filtered log as CSV lines, oldest first, for streaming.

    Permission is checked and the export recorded now, before the first line is produced.
    """
    entries = audit_entries(
        actor=actor, action=action, client_id=client_id, actor_email=actor_email
    ).order_by("id")
    record(
        "audit.exported",
        object_type="audit.auditentry",
        object_repr="audit log CSV",
        client_id=client_id,
        after={"action": action, "actor_email": actor_email},
    )
    return _csv_lines(entries)


def csv_stream(header: Sequence[object], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """CSV text line by line (a header, then the rows), for a streaming response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for values in itertools.chain([header], rows):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        yield buffer.getvalue()


def _csv_lines(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    return csv_stream(CSV_COLUMNS, (_csv_row(e) for e in entries.iterator(chunk_size=2000)))


def _csv_row(e: AuditEntry) -> list[object]:
    return [
        e.pk,
        e.at.isoformat(),
        e.actor_email,
        e.action,
        e.object_type,
        e.object_id,
        e.object_repr,
        e.client_id or "",
        e.ip or "",
        e.request_id,
        json.dumps(e.before) if e.before is not None else "",
        json.dumps(e.after) if e.after is not None else "",
        e.hash,
    ]


# --- The access log: what the provider's people viewed or changed of one client's data ---------


class AccessKind(StrEnum):
    """What a provider person did with a client's data: looked at it, or changed it."""

    VIEWED = "viewed"
    CHANGED = "changed"


# Reads are recorded under actions ending in one of these words (personal_data.viewed,
# inbound_email.raw_viewed, attachment.downloaded, import.previewed, audit.exported); every
# other action of a client's chain is a write.
READ_SUFFIXES = ("viewed", "downloaded", "exported", "previewed")
# Signing in and out, and refused requests, touch no data of the client.
NOT_ACCESS = Q(action__startswith="auth.") | Q(action="permission.denied")
# What a contact or the system did while a job or command ran as someone is recorded under its
# origin instead of that person's e-mail ('email: anna@shop.example', 'system: SLA sweep'): not
# the person's doing. No valid e-mail address starts like these, so none can hide behind them.
ORIGIN_PREFIXES = ("email: ", "web form: ", "web link: ", "system: ")
ACCESS_FIELDS = (
    "id",
    "at",
    "actor_id",
    "actor_email",
    "client_id",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
)
ACCESS_LOG_CSV_COLUMNS = [
    "id",
    "at_utc",
    "kind",
    "person_name",
    "person_email",
    "action",
    "object_type",
    "object_id",
    "object",
    "changed_fields",
]


def access_kind(action: str) -> AccessKind:
    """Whether an audited action read the client's data or changed it."""
    return AccessKind.VIEWED if action.endswith(READ_SUFFIXES) else AccessKind.CHANGED


def _reads() -> Q:
    """The condition that an entry is a read (see READ_SUFFIXES)."""
    condition = Q()
    for suffix in READ_SUFFIXES:
        condition |= Q(action__endswith=suffix)
    return condition


def _origins() -> Q:
    """The condition that an entry names an origin, not a person (see ORIGIN_PREFIXES)."""
    condition = Q()
    for prefix in ORIGIN_PREFIXES:
        condition |= Q(actor_email__startswith=prefix)
    return condition


def changed_fields(entry: AuditEntry) -> list[str]:
    """The names, never the values, of what a write changed: keys that differ before and after."""
    if access_kind(entry.action) is AccessKind.VIEWED:
        return []
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def action_label(action: str) -> str:
    """An action name for people: 'work_item.state_changed' → 'Work item: state changed'."""
    noun, _, verb = action.partition(".")
    label = noun.replace("_", " ").capitalize()
    return f"{label}: {verb.replace('_', ' ')}" if verb else label


def _provider_access(
    *,
    actor: Actor,
    client_id: int,
    kind: AccessKind | None = None,
    person_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
) -> QuerySet[AuditEntry]:
    """The access log's rows (see provider_access_entries), without recording the read."""
    actor.require(Permission.VIEW_ACCESS_LOG, client_id=client_id)
    entries = (
        AuditEntry.objects.filter(client_id=client_id, actor_id__in=provider_staff_ids())
        .exclude(NOT_ACCESS)
        .exclude(_origins())
        # What the access log shows and summarises: never the hashes, IPs or request ids.
        .only(*ACCESS_FIELDS)
        .annotate(
            actor_name=Subquery(
                User.objects.filter(pk=OuterRef("actor_id")).order_by().values("full_name")
            )
        )
        .order_by("-id")
    )
    if kind == AccessKind.VIEWED:
        entries = entries.filter(_reads())
    elif kind == AccessKind.CHANGED:
        entries = entries.exclude(_reads())
    if person_id is not None:
        entries = entries.filter(actor_id=person_id)
    if since is not None:
        entries = entries.filter(at__gte=since)
    if until is not None:
        entries = entries.filter(at__lt=until)
    if before_id is not None:
        entries = entries.filter(id__lt=before_id)
    return entries


def provider_access_entries(
    *,
    actor: Actor,
    client_id: int,
    kind: AccessKind | None = None,
    person_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
) -> QuerySet[AuditEntry]:
    """What people of the provider viewed or changed of one client's data, newest first.

    For the client's admins and provider admins. Only entries of exactly this client whose actor
    holds a provider role: the client's own people are not listed. ``since`` is inclusive,
    ``until`` exclusive; ``before_id`` pages. Each call is itself a read of the audit log and is
    recorded as one. Rows carry ``actor_name`` (the person's current name, empty once deleted).
    """
    entries = _provider_access(
        actor=actor,
        client_id=client_id,
        kind=kind,
        person_id=person_id,
        since=since,
        until=until,
        before_id=before_id,
    )
    record(
        "audit.access_log_viewed",
        object_type="audit.auditentry",
        object_repr="access log",
        client_id=client_id,
        after=_filters_of(kind, person_id, since, until),
    )
    return entries


def _filters_of(
    kind: AccessKind | None, person_id: int | None, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    """The filters of an access log read, for its audit entry."""
    return {"kind": kind or "", "person_id": person_id, "since": since, "until": until}


def access_log_clients(*, actor: Actor) -> list[Client]:
    """The clients whose access log the actor may read, by name (a client admin: their own)."""
    actor.require(Permission.VIEW_ACCESS_LOG)
    return [
        client
        for client in client_queries.clients_visible(actor=actor)
        if actor.can(Permission.VIEW_ACCESS_LOG, client_id=client.pk)
    ]


def access_log_people(*, actor: Actor, client_id: int) -> list[User]:
    """The provider's people who may open the client's data now (the person filter's choices)."""
    actor.require(Permission.VIEW_ACCESS_LOG, client_id=client_id)
    return list(provider_people_with_access(client_id=client_id))


@dataclass(frozen=True)
class AccessRow:
    """One line of the access log as people read it: no hashes, IPs or raw before/after values."""

    id: int
    at: datetime
    kind: AccessKind
    person_id: int | None
    person_name: str
    person_email: str
    action: str
    action_label: str
    object_type: str
    object_id: str
    object_repr: str
    changed_fields: list[str]


def access_row(entry: AuditEntry) -> AccessRow:
    """The readable line of an entry of provider_access_entries."""
    return AccessRow(
        id=entry.pk,
        at=entry.at,
        kind=access_kind(entry.action),
        person_id=entry.actor_id,
        person_name=getattr(entry, "actor_name", None) or "",
        person_email=entry.actor_email,
        action=entry.action,
        action_label=action_label(entry.action),
        object_type=entry.object_type,
        object_id=entry.object_id,
        object_repr=entry.object_repr,
        changed_fields=changed_fields(entry),
    )


@dataclass(frozen=True)
class AccessLogPage:
    """One page of the access log, newest first, and the id the next (older) page starts before."""

    rows: list[AccessRow]
    older_before: int | None


def access_log_page(
    *,
    actor: Actor,
    client_id: int,
    limit: int,
    kind: AccessKind | None = None,
    person_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
) -> AccessLogPage:
    """``limit`` lines of the access log before ``before_id`` (newest first), read in one query."""
    entries = list(
        provider_access_entries(
            actor=actor,
            client_id=client_id,
            kind=kind,
            person_id=person_id,
            since=since,
            until=until,
            before_id=before_id,
        )[: limit + 1]
    )
    has_more = len(entries) > limit
    entries = entries[:limit]
    return AccessLogPage(
        rows=[access_row(entry) for entry in entries],
        older_before=entries[-1].pk if has_more else None,
    )


def access_log_csv_rows(
    *,
    actor: Actor,
    client_id: int,
    kind: AccessKind | None = None,
    person_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[str]:
    """The filtered access log as CSV lines, newest first, for streaming.

    Permission is checked and the export recorded now, before the first line is produced.
    """
    entries = _provider_access(
        actor=actor, client_id=client_id, kind=kind, person_id=person_id, since=since, until=until
    )
    record(
        "audit.access_log_exported",
        object_type="audit.auditentry",
        object_repr="access log CSV",
        client_id=client_id,
        after=_filters_of(kind, person_id, since, until),
    )
    return _access_csv_lines(entries)


def spreadsheet_safe(value: str) -> str:
    """Text a spreadsheet will not run as a formula (object names come from anyone's input)."""
    return f"'{value}" if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def _access_csv_lines(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    """The header and one CSV line per entry, read in chunks."""
    rows = (access_row(entry) for entry in entries.iterator(chunk_size=2000))
    return csv_stream(ACCESS_LOG_CSV_COLUMNS, (_access_csv_row(row) for row in rows))


def _access_csv_row(row: AccessRow) -> list[object]:
    return [
        row.id,
        row.at.isoformat(),
        row.kind.value,
        spreadsheet_safe(row.person_name),
        spreadsheet_safe(row.person_email),
        row.action,
        row.object_type,
        spreadsheet_safe(row.object_id),
        spreadsheet_safe(row.object_repr),
        " ".join(row.changed_fields),
    ]
