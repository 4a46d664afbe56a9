"""Writing to the audit log and verifying its hash chain."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from bpo.audit.context import current_request_context
from bpo.audit.models import AuditEntry
from bpo.bulk import insert_many

GENESIS = "0" * 64
# The first key of the chains' advisory locks (the second is the client): any 32-bit number
# will do, as long as nothing else in the database takes locks in the same class.
_PG_CHAIN_LOCK = 0x0B90A0D1
# Never written to the log, whatever model they are on.
SECRET_FIELDS = frozenset({"password", "digest", "security_stamp"})


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The JSON-safe values of a model's concrete fields (or of ``fields``), secrets left out."""
    names = list(fields) if fields is not None else [f.attname for f in obj._meta.concrete_fields]
    values = {name: getattr(obj, name) for name in names if name not in SECRET_FIELDS}
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def record(
    action: str,
    *,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    client_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor: Any = None,
    actor_email: str = "",
) -> AuditEntry:
    """Append one entry to the audit log, chained to the previous entry of the same client (or,
    for entries of no client, to the previous entry of the provider's own chain).

    One chain per client lets audited writes of different clients commit side by side instead
    of queueing behind one installation-wide lock. Call it inside the transaction of the write
    it describes, so both commit or neither does. ``actor`` defaults to the current Actor's
    user; request id and IP come from the request context. ``client_id`` defaults to
    ``obj.client_id`` when the object has one.
    """
    from bpo.tenancy.context import current_actor

    if actor is None and (current := current_actor()) is not None:
        actor = current.user
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:300]
        if client_id is None:
            client_id = getattr(obj, "client_id", None)
    ctx = current_request_context()
    # Part of the caller's transaction (no savepoint of its own): if the entry cannot be
    # written, the write it describes must not commit either.
    with transaction.atomic(savepoint=False):
        previous = _locked_chain_head(client_id)
        entry = AuditEntry(
            at=timezone.now(),
            actor_id=getattr(actor, "pk", None),
            actor_email=actor_email or getattr(actor, "email", ""),
            client_id=client_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_repr=object_repr[:300],
            before=_json_safe(before),
            after=_json_safe(after),
            ip=ctx.ip if ctx else None,
            request_id=ctx.request_id if ctx else "",
            prev_hash=previous,
        )
        entry.hash = entry.compute_hash()
        insert_many([entry])  # one INSERT; every write pays for its entry, so no ORM compiling
    return entry


def _json_safe(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _locked_chain_head(client_id: int | None) -> str:
    """Serialise the writers of one chain until their transaction ends, and return the hash of
    the chain's head, which the previous writer committed. SQLite needs no lock: OpenBPO opens
    its transactions IMMEDIATE, which already takes the database's single write lock."""
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Client ids beyond 2**31 would share a lock with another client: slower, never wrong.
            key = (client_id or 0) % 2**31
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_PG_CHAIN_LOCK, key])
        # A statement after the lock, so it reads the head the previous holder committed.
        chain = "client_id IS NULL" if client_id is None else "client_id = %s"
        cursor.execute(
            f"SELECT hash FROM {table} WHERE {chain} ORDER BY id DESC LIMIT 1",  # noqa: S608
            [] if client_id is None else [client_id],
        )
        head = cursor.fetchone()
    return head[0] if head else GENESIS


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a chain verification: entries checked, and the first broken one if any."""

    checked: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the log in order and report the first entry whose hash or link does not hold.

    Each entry links to the previous entry of its own chain (its client's, or the provider's for
    entries of no client). Logs written before the chains were split per client form one
    chain over every entry, so an entry may also link to the entry just before it in the log.
    Either way, an entry deleted from the middle of its chain leaves its successor linked to
    neither, and a changed entry no longer matches its hash."""
    heads: dict[int | None, tuple[str, int]] = {}  # chain -> (hash, id) of its newest entry
    previous: tuple[str, int] | None = None  # the entry just before, in the whole log
    checked = 0
    last_id = 0
    while True:
        batch = list(AuditEntry.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            return ChainReport(checked=checked)
        for entry in batch:
            head = heads.get(entry.client_id)
            links = {head[0] if head else GENESIS}
            if previous is not None:
                links.add(previous[0])
            if entry.prev_hash not in links:
                after = f"entry #{head[1]}" if head else "the start of its chain"
                return ChainReport(
                    checked,
                    entry.pk,
                    f"entry #{entry.pk} does not follow {after}: an entry between them was "
                    "deleted, or the previous entry was changed",
                )
            if entry.compute_hash() != entry.hash:
                return ChainReport(
                    checked,
                    entry.pk,
                    f"entry #{entry.pk} ({entry.action} at {entry.at:%Y-%m-%d %H:%M:%S} UTC) was "
                    "changed after it was written: its content no longer matches its hash",
                )
            heads[entry.client_id] = previous = (entry.hash, entry.pk)
            checked += 1
        last_id = batch[-1].pk
