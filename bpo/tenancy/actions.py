"""Writes about clients."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from bpo.accounts.roles import Permission
from bpo.audit.log import record, snapshot
from bpo.tenancy.context import Actor
from bpo.tenancy.models import Client

CLIENT_FIELDS = ("name", "slug", "legal_name", "country", "time_zone", "is_active")


def client_create(*, actor: Actor, **fields: Any) -> Client:
    """Take on a new client company (provider admins only)."""
    actor.require(Permission.MANAGE_CLIENTS)
    client = Client(**{k: v for k, v in fields.items() if k in CLIENT_FIELDS})
    client.full_clean()
    with transaction.atomic():
        client.save()
        record(
            "client.created", obj=client, client_id=client.pk, after=snapshot(client, CLIENT_FIELDS)
        )
    return client


def client_update(*, actor: Actor, client: Client, **changes: Any) -> Client:
    """Change a client's details (provider admins only)."""
    actor.require(Permission.MANAGE_CLIENTS, client_id=client.pk)
    before = snapshot(client, CLIENT_FIELDS)
    for name, value in changes.items():
        if name not in CLIENT_FIELDS:
            raise TypeError(f"client_update got an unknown field {name!r}")
        setattr(client, name, value)
    client.full_clean()
    with transaction.atomic():
        client.save()
        record(
            "client.updated",
            obj=client,
            client_id=client.pk,
            before=before,
            after=snapshot(client, CLIENT_FIELDS),
        )
    return client
