"""Reads of the audit log."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence

from django.db.models import QuerySet

from bpo.accounts.roles import Permission
from bpo.audit.log import record
from bpo.audit.models import AuditEntry
from bpo.tenancy.context import Actor


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


def _csv_lines(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Sequence[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    for e in entries.iterator(chunk_size=2000):
        yield line(
            [
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
        )
